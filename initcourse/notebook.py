"""Helpers for the chapter notebooks (numpy-free, TensorFlow-free).

:func:`glue` stores a value in a cell output under a name, so the prose can quote it
with ``{glue:text}`name:.3f` `` and every number in the text is a number the cell
computed. It writes the same output as ``myst_nb.glue`` (which is not installed on
Colab).

Glued floats are rounded to ``sig`` significant digits first: the stored output is
compared by strict nbval on every machine, and the last digits of a float computed with
BLAS differ between CPUs (``2.7947300747035786e-13`` on one, ``2.794730074703579e-13``
on another).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

GLUE_PREFIX = "application/papermill.record/"
#: The marker (first line of a code cell) that leaves the cell's text out of nbval's
#: comparison. Only for numbers that cannot be the same on every CPU (one training run's
#: loss); the claim such a cell supports is an ``assert`` in it. See CONTRIBUTING.md.
UNCOMPARED_MARKER = "# NBVAL_IGNORE_OUTPUT"


def round_sig(value: float, sig: int) -> float:
    """``value`` rounded to ``sig`` significant digits.

    For example ``round_sig(2.79473e-13, 3) == 2.79e-13``."""
    if (
        isinstance(sig, bool)
        or not isinstance(sig, numbers.Integral)
        or not 1 <= sig <= 15
    ):
        raise ValueError(f"sig: expected an int in 1..15, got {sig!r}")
    value = float(value)
    if value == 0.0 or not math.isfinite(value):
        return value
    return float(f"{value:.{int(sig) - 1}e}")


def glue(name: str, value: Any, display: bool = False, sig: int = 4) -> None:
    """Record ``value`` under ``name`` for the book's ``{glue}`` roles (myst-nb format).

    With ``display=False`` (the default) nothing shows in the notebook; the website
    substitutes the value where the prose names it. A float (Python or numpy) is rounded
    to ``sig`` significant digits before it is stored; ints, strings and other values
    are stored as they are.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    if not isinstance(name, str) or not name:
        raise ValueError(f"name: must be a non-empty str, got {name!r}")
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        # numpy 2 prints scalars as `np.float64(0.5)`, which the book's format specs
        # cannot parse
        value = value.item()
    if isinstance(value, float):
        value = round_sig(value, sig)
    mimebundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata = dict(metadata)
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display(
        {prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata
    )
