"""Batch grading of the course's notebooks, outside the student's kernel.

    python -m initcourse.grading SUBMISSION.ipynb [SUBMISSION.ipynb ...] \\
        --csv grades.csv [--feedback DIR] [--timeout SECONDS] [--jobs N] \\
        [--expect CHAPTER] [--gradescope results.json]

Each submission is recognised by its content (:mod:`~initcourse.grading.manifest`), its
code is run in a fresh Python process (:mod:`~initcourse.grading.sandbox`) and its
functions are checked from this process by the course's checkers
(:mod:`~initcourse.grading.grade`). The capstone's network and the Keras side of its
grading are in :mod:`initcourse.grading.capstone` (imported only when a capstone is
graded). ``book/instructors.md`` describes the whole workflow.

Importing this package does not import TensorFlow.
"""

from __future__ import annotations

from .grade import (
    ItemResult,
    SubmissionResult,
    course_functions_for,
    extract_code,
    feedback_text,
    grade_batch,
    grade_submission,
    gradescope_results,
    write_csv,
    write_feedback,
)
from .manifest import build_manifest, identify_chapter, load_manifest

__all__ = [
    "ItemResult",
    "SubmissionResult",
    "build_manifest",
    "course_functions_for",
    "extract_code",
    "feedback_text",
    "grade_batch",
    "grade_submission",
    "gradescope_results",
    "identify_chapter",
    "load_manifest",
    "main",
    "write_csv",
    "write_feedback",
]


def main(argv=None) -> int:
    """The command line (see the module docstring); returns the exit code."""
    from .cli import main as _main

    return _main(argv)
