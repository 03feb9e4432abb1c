"""Checkers for the implementation exercises (numpy, scipy and PyWavelets only; never
imports TensorFlow).

A chapter's implementation exercise asks the student to write a function; the untagged
code cell right after the solution calls the matching checker on it, e.g.
``check_glorot_uniform(glorot_uniform)`` (see ``CONTRIBUTING.md``, "Exercises and
solutions").

Every checker runs a fixed series of checks on the student's function. On the first
failure it raises :class:`ExerciseError` (an ``AssertionError``) whose message names the
kind of mistake and shows the numbers, e.g. *"values reach 0.153 but the limit for shape
(256, 128) is √(6/(256+128)) = 0.125 — did you use fan_in only?"*. On success it prints
the deterministic line ``✓ name: ...`` (wrapped to 88 columns, continuation lines
indented by two spaces) and returns a :class:`CheckResult`.

The reference values are computed here with independent numpy code (and PyWavelets for
the wavelet matrix), never with :mod:`initcourse.initializers`: a checker must not share
a bug with the course's own implementation.

Conventions the student functions follow (each checker's docstring gives the exact
signature):

- Keras layout: a dense kernel is ``(fan_in, fan_out)``, a convolution kernel is
  ``(*kernel_size, in_channels, out_channels)``.
- Random initializers are called as ``fn(shape, rng)`` with a
:class:`numpy.random.Generator`,
  draw every random number from that ``rng`` and return a ``float32`` array of
  ``shape``.

:class:`Grader` collects partial credit from several checkers for a capstone notebook,
and :data:`CHECKERS` maps exercise names to checkers.

Where to find a checker (one module per topic)
----------------------------------------------
=================================  ============================================
============ module                             checkers
chapters =================================  ============================================
============ ``exercises/core.py``              the grading core:
:class:`ExerciseError`,     all
                                   :class:`CheckResult`, the check session,
                                   shared array checks, :class:`Grader`
``exercises/fans.py``              ``check_compute_fans``                        2
``exercises/variance_scaling.py``  ``check_glorot_uniform``, ``_normal``,        1, 3,
5, 7
                                   ``check_he_normal``, ``check_he_uniform``,
                                   ``check_lecun_normal``
``exercises/gain.py``              ``check_gain``                                3
``exercises/propagation.py``       ``check_forward_std``,                        1, 4
                                   ``check_variance_recursion``
``exercises/lsuv.py``              ``check_lsuv_scale``                          5
``exercises/orthogonal.py``        ``check_orthogonal``,                         6, 9
                                   ``check_delta_orthogonal``
``exercises/wavelet.py``           ``check_wavelet_matrix``                      7
``exercises/zero.py``              ``check_zero_hadamard``                       8
``exercises/sparse.py``            ``check_sparse``                              9
``exercises/modern.py``            ``check_gpt2_init``, ``check_chrono_bias``    9a, 9b
``exercises/capstone.py``          ``grade_initializer_choice``,                 10
                                   ``grade_layer_report``, ``grade_training_run``
=================================  ============================================
============

To add a checker: write ``check_<exercise>(fn)`` in the topic module it belongs to (or a
new module), list it in that module's ``__all__``, and register it in :data:`CHECKERS`
below under the name of the function the students write. Everything the topic modules
list in ``__all__`` is importable from ``initcourse.exercises``, so notebooks keep
``from initcourse.exercises import check_xxx``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import (
    capstone,
    fans,
    gain,
    lsuv,
    modern,
    orthogonal,
    propagation,
    sparse,
    variance_scaling,
    wavelet,
    zero,
)
from .capstone import *  # noqa: F401,F403
from .core import CheckResult, ExerciseError, GradeItem, Grader  # noqa: F401
from .fans import *  # noqa: F401,F403
from .gain import *  # noqa: F401,F403
from .lsuv import *  # noqa: F401,F403
from .modern import *  # noqa: F401,F403
from .orthogonal import *  # noqa: F401,F403
from .propagation import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403
from .variance_scaling import *  # noqa: F401,F403
from .wavelet import *  # noqa: F401,F403
from .zero import *  # noqa: F401,F403

_TOPICS = (
    fans,
    variance_scaling,
    gain,
    propagation,
    lsuv,
    orthogonal,
    wavelet,
    zero,
    sparse,
    modern,
)

CHECKERS: dict[str, Callable[[Callable[..., Any]], CheckResult]] = {
    name[len("check_") :]: globals()[name]
    for module in _TOPICS
    for name in module.__all__
    if name.startswith("check_")
}
"""Exercise name → checker (every ``check_<name>`` of the topic modules).
:meth:`Grader.check` looks checkers up here."""

__all__ = sorted(
    ["CHECKERS", "CheckResult", "ExerciseError", "GradeItem", "Grader"]
    + [name for module in _TOPICS for name in module.__all__]
) + list(capstone.__all__)
