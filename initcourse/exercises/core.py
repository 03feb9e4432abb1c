"""The grading core: results, errors, the check session, shared array checks and
:class:`Grader`.

Every topic module of :mod:`initcourse.exercises` builds its checkers from these pieces:
a :class:`_Session` runs a fixed series of named checks on the student's function,
``s.fail`` raises :class:`ExerciseError` (with the checks passed so far, for partial
credit) and ``s.success`` prints one ``✓`` line and returns a :class:`CheckResult`.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np


# --------------------------------------------------------------------------------------
# Results and errors
# --------------------------------------------------------------------------------------
class ExerciseError(AssertionError):
    """A student function failed a check; the message says which mistake and how to fix
    it.

    Attributes
    ----------
    exercise : str
        The exercise name, e.g. ``"glorot_uniform"``.
    check : str
        The name of the check that failed, e.g. ``"variance"``.
    passed : tuple of str
        The checks passed before the failure (for partial credit).
    total : int
        How many checks the checker runs in all.
    fraction : float or None
        The share of the points earned, when the checker grades independent parts (the
        capstone); ``None`` means the weighted share of ``checks`` passed
        (:attr:`earned`).
    checks : tuple of str
        All the checks of the checker, in order.
    """

    def __init__(
        self,
        message: str,
        *,
        exercise: str = "",
        check: str = "",
        passed: Sequence[str] = (),
        total: int = 0,
        fraction: float | None = None,
        checks: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.checks = tuple(checks)
        self.exercise = exercise
        self.check = check
        self.passed = tuple(passed)
        self.total = int(total)
        self.fraction = (
            None if fraction is None else min(1.0, max(0.0, float(fraction)))
        )

    @property
    def earned(self) -> float:
        """The share of the points earned, in [0, 1].

        ``fraction`` when the checker set it; otherwise the checks passed, each weighted
        by :func:`check_weight`: a check of the form of the result (it returns, has the
        right shape and dtype, ...) counts a quarter of a check of its substance, so
        that an array of zeros of the right shape earns little.
        """
        if self.fraction is not None:
            return self.fraction
        if self.checks:
            total = sum(check_weight(c) for c in self.checks)
            return sum(check_weight(c) for c in self.passed) / total if total else 0.0
        return len(self.passed) / self.total if self.total else 0.0


#: Checks of the *form* of a result, not of its substance (see
#: :attr:`ExerciseError.earned`).
FORM_CHECKS = frozenset(
    {
        "called",
        "returns an array",
        "returns a pair",
        "returns a dict",
        "returns a History",
        "shape",
        "dtype",
        "finite",
        "length",
        "report",
    }
)


def check_weight(check: str) -> float:
    """Weight of a check in the partial credit: 0.25 for a form check, 1 otherwise."""
    return 0.25 if check in FORM_CHECKS else 1.0


@dataclass(frozen=True)
class CheckResult:
    """What a checker returns on success.

    Attributes
    ----------
    exercise : str
        The exercise name.
    passed : tuple of str
        The checks passed, in order.
    points : float
        Points earned: one per check passed.
    max_points : float
        Points available: the number of checks.
    message : str
        The line the checker printed (without the leading ``✓``).
    """

    exercise: str
    passed: tuple[str, ...]
    points: float
    max_points: float
    message: str

    @property
    def ok(self) -> bool:
        """``True`` when every check passed."""
        return self.points == self.max_points


def success_line(message: str) -> str:
    """The printed form of a passed check: ``✓ message`` wrapped to 88 columns.

    Continuation lines are indented by two spaces; words (URLs, formulas) are never
    broken, so a line may exceed 88 columns only for a single word longer than that.
    """
    return textwrap.fill(
        f"✓ {message}",
        width=88,
        subsequent_indent="  ",
        break_long_words=False,
        break_on_hyphens=False,
    )


class _Session:
    """Book-keeping of one checker run: the checks passed so far and how to fail."""

    def __init__(
        self, exercise: str, fn: Callable[..., Any], checks: Sequence[str]
    ) -> None:
        if not callable(fn):
            raise TypeError(
                "fn: expected your function (a callable), got "
                f"{type(fn).__name__} {fn!r}"
            )
        self.exercise = exercise
        self.fn = fn
        self.checks = tuple(checks)
        self.passed: list[str] = []
        self.current = self.checks[0]

    def step(self, check: str) -> None:
        """Mark the current check passed and move on to ``check``.

        Stepping back to an earlier check (a loop over several inputs) passes nothing:
        the current check is only passed once a later one is reached.
        """
        if check not in self.checks:  # a bug in this module, not in the student's code
            raise RuntimeError(f"{self.exercise}: unknown check {check!r}")
        forward = self.checks.index(check) > self.checks.index(self.current)
        if forward and self.current not in self.passed:
            self.passed.append(self.current)
        self.current = check

    def fail(self, message: str) -> NoReturn:
        raise ExerciseError(
            f"{self.exercise}: {message}",
            exercise=self.exercise,
            check=self.current,
            passed=self.passed,
            total=len(self.checks),
            checks=self.checks,
        )

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """Call the student function; turn its exceptions into helpful
        ExerciseErrors."""
        shown = ", ".join(
            [_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()]
        )
        try:
            return self.fn(*args, **kwargs)
        except NotImplementedError as exc:
            hint = f" (hint: {exc})" if str(exc) else ""
            self.fail(
                "not implemented yet: replace the `raise "
                f"NotImplementedError` line with your code{hint}"
            )
        except ExerciseError:
            raise
        except Exception as exc:  # the student's code crashed: say where and how
            self.fail(
                f"calling {self.exercise}({shown}) raised {type(exc).__name__}: {exc}"
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def success(self, summary: str) -> CheckResult:
        self.passed = list(self.checks)  # every check ran and passed
        line = f"{self.exercise}: {summary}"
        print(success_line(line))
        n = float(len(self.checks))
        return CheckResult(self.exercise, tuple(self.passed), n, n, line)


def _short(value: Any) -> str:
    if isinstance(value, np.random.Generator):
        return "rng"
    if isinstance(value, np.ndarray):
        return f"<array {value.shape}>"
    if isinstance(value, float):
        return f"{value:.4g}"
    return repr(value)


def _g(x: float) -> str:
    """A number for a message: 4 significant digits."""
    return f"{x:.4g}"


# --------------------------------------------------------------------------------------
# Shared checks on returned arrays
# --------------------------------------------------------------------------------------
def _array(s: _Session, value: Any, call: str) -> np.ndarray:
    if value is None:
        s.fail(f"{call} returned None: did you forget the `return` statement?")
    if not isinstance(value, np.ndarray):
        s.fail(
            f"{call} returned a {type(value).__name__}; return a numpy array "
            "(np.ndarray)"
        )
    return value


def _shape(
    s: _Session, w: np.ndarray, shape: tuple[int, ...], call: str, layout_hint: str = ""
) -> None:
    if w.shape == shape:
        return
    if len(shape) >= 2 and w.shape == shape[::-1]:
        s.fail(
            f"{call} returned shape {w.shape}, the reverse of shape={shape}: "
            "the Keras layout is (fan_in, fan_out) for a dense kernel and "
            "(*kernel_size, in, out) for a convolution kernel; return an "
            f"array of exactly `shape`{layout_hint}"
        )
    s.fail(
        f"{call} returned shape {w.shape}; expected exactly shape={shape}{layout_hint}"
    )


def _float32(s: _Session, w: np.ndarray, call: str) -> None:
    if w.dtype == np.float32:
        return
    if w.dtype == np.float64:
        s.fail(
            f"{call} returned float64; Keras weights are float32, the dtype "
            "the initializer must return"
        )
    s.fail(f"{call} returned dtype {w.dtype}; Keras weights are float32")


def _finite(s: _Session, w: np.ndarray, call: str) -> None:
    if not np.all(np.isfinite(w)):
        bad = int(np.size(w) - np.count_nonzero(np.isfinite(w)))
        s.fail(f"{call} returned {bad} NaN or infinite values")


def _seeding(s: _Session, draw: Callable[[np.random.Generator], Any]) -> None:
    """Same seed -> same array, different seeds -> different arrays."""
    a = np.asarray(draw(np.random.default_rng(123)))
    b = np.asarray(draw(np.random.default_rng(123)))
    c = np.asarray(draw(np.random.default_rng(124)))
    if a.shape != b.shape or not np.array_equal(a, b):
        s.fail(
            "the same rng seed gave different arrays: draw every random "
            "number from the rng you are given (rng.uniform, rng.normal, "
            "...), not from np.random.* or a new default_rng()"
        )
    if a.shape == c.shape and np.array_equal(a, c):
        s.fail(
            "different rng seeds gave identical arrays: you are not using "
            "the rng you are given (a fixed seed inside your function?)"
        )


def _one_blas_thread() -> Any:
    """Small matrix products run faster on one BLAS thread (and do not fight other
    processes)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


# --------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GradeItem:
    """One graded exercise: ``(name, points, max_points, message)``."""

    name: str
    points: float
    max_points: float
    message: str


class Grader:
    """Collect partial credit from several checkers (for a capstone notebook).

    Examples
    --------
    >>> grader = Grader()                                        # doctest: +SKIP
    >>> grader.check("glorot_uniform", glorot_uniform, points=2)  # doctest: +SKIP
    >>> print(grader.summary())                                  # doctest: +SKIP

    A failed checker earns ``points × (checks passed before the failure) / (checks in
    all)``, rounded to 0.01.
    """

    def __init__(self) -> None:
        self.items: list[GradeItem] = []

    def add(
        self, name: str, points: float, max_points: float, message: str = ""
    ) -> GradeItem:
        """Record an item graded by hand (e.g. a conceptual answer)."""
        if (
            not isinstance(max_points, (int, float))
            or isinstance(max_points, bool)
            or not max_points > 0
        ):
            raise ValueError(f"max_points: must be a number > 0, got {max_points!r}")
        if (
            not isinstance(points, (int, float))
            or isinstance(points, bool)
            or not 0 <= points <= max_points
        ):
            raise ValueError(
                f"points: must be a number in [0, max_points={max_points}], "
                f"got {points!r}"
            )
        item = GradeItem(name, float(points), float(max_points), message)
        self.items.append(item)
        return item

    def check(
        self,
        name: str,
        fn: Callable[..., Any],
        checker: Callable[[Callable[..., Any]], CheckResult] | None = None,
        *,
        points: float = 1.0,
    ) -> GradeItem:
        """Run ``checker(fn)`` (default ``CHECKERS[name]``) quietly and record the
        credit earned."""
        if checker is None:
            from . import (
                CHECKERS,
            )  # the registry is assembled in the package's __init__

            if name not in CHECKERS:
                raise ValueError(
                    f"name: no checker named {name!r}; known names are "
                    f"{', '.join(sorted(CHECKERS))} (or pass checker=)"
                )
            checker = CHECKERS[name]
        buf = io.StringIO()
        try:
            with redirect_stdout(buf):
                result = checker(fn)
        except ExerciseError as exc:
            return self.add(name, round(points * exc.earned, 2), points, f"✗ {exc}")
        except (
            Exception
        ) as exc:  # a crash of the student's code outside the checker's guard
            return self.add(name, 0.0, points, f"✗ {type(exc).__name__}: {exc}")
        return self.add(name, float(points), points, f"✓ {result.message}")

    @property
    def total(self) -> float:
        """Points earned in all."""
        return round(sum(i.points for i in self.items), 2)

    @property
    def max_total(self) -> float:
        """Points available in all."""
        return round(sum(i.max_points for i in self.items), 2)

    def summary(self) -> str:
        """A deterministic text table: one row per item, then the total and
        percentage."""
        width = max([len("Exercise"), len("Total")] + [len(i.name) for i in self.items])
        lines = [f"{'Exercise':<{width}}  {'Points':^13}  Result"]
        lines.append("-" * len(lines[0]) + "-" * 20)
        for i in self.items:
            first = i.message.splitlines()[0] if i.message else ""
            lines.append(
                f"{i.name:<{width}}  {i.points:>6.2f} / {i.max_points:<4g}  {first}"
            )
        lines.append("-" * len(lines[0]) + "-" * 20)
        pct = 100.0 * self.total / self.max_total if self.max_total else 0.0
        lines.append(
            f"{'Total':<{width}}  {self.total:>6.2f} / {self.max_total:<4g}  "
            f"({pct:.0f}%)"
        )
        return "\n".join(lines)
