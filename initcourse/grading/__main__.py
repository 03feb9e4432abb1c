"""``python -m initcourse.grading``: see :mod:`initcourse.grading.cli`."""

import sys

from initcourse.grading.cli import main

sys.exit(main())
