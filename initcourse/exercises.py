"""Checkers for the implementation exercises (numpy, scipy and PyWavelets only; never imports TensorFlow).

A chapter's implementation exercise asks the student to write a function; the untagged code cell
right after the solution calls the matching checker on it, e.g. ``check_glorot_uniform(glorot_uniform)``
(see ``CONTRIBUTING.md``, "Exercises and solutions").

Every checker runs a fixed series of checks on the student's function. On the first failure it
raises :class:`ExerciseError` (an ``AssertionError``) whose message names the kind of mistake and
shows the numbers, e.g. *"values reach 0.153 but the limit for shape (256, 128) is
√(6/(256+128)) = 0.125 — did you use fan_in only?"*. On success it prints one deterministic line,
``✓ name: ...``, and returns a :class:`CheckResult`.

The reference values are computed here with independent numpy code (and PyWavelets for the
wavelet matrix), never with :mod:`initcourse.initializers`: a checker must not share a bug with
the course's own implementation.

Conventions the student functions follow (each checker's docstring gives the exact signature):

- Keras layout: a dense kernel is ``(fan_in, fan_out)``, a convolution kernel is
  ``(*kernel_size, in_channels, out_channels)``.
- Random initializers are called as ``fn(shape, rng)`` with a :class:`numpy.random.Generator`,
  draw every random number from that ``rng`` and return a ``float32`` array of ``shape``.

:class:`Grader` collects partial credit from several checkers for a capstone notebook, and
:data:`CHECKERS` maps exercise names to checkers.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

__all__ = [
    "CHECKERS",
    "CheckResult",
    "ExerciseError",
    "GradeItem",
    "Grader",
    "check_compute_fans",
    "check_delta_orthogonal",
    "check_forward_std",
    "check_gain",
    "check_glorot_normal",
    "check_glorot_uniform",
    "check_he_normal",
    "check_he_uniform",
    "check_lecun_normal",
    "check_lsuv_scale",
    "check_orthogonal",
    "check_sparse",
    "check_variance_recursion",
    "check_wavelet_matrix",
    "check_zero_hadamard",
]

#: Standard deviation of N(0, 1) truncated to [-2, 2] (computed independently of ``theory``).
_TRUNC_STD = math.sqrt(
    1.0 - 4.0 * math.exp(-2.0) / math.sqrt(2.0 * math.pi) / math.erf(2.0 / math.sqrt(2.0))
)


# --------------------------------------------------------------------------------------------
# Results and errors
# --------------------------------------------------------------------------------------------
class ExerciseError(AssertionError):
    """A student function failed a check; the message says which mistake and how to fix it.

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
    """

    def __init__(
        self,
        message: str,
        *,
        exercise: str = "",
        check: str = "",
        passed: Sequence[str] = (),
        total: int = 0,
    ) -> None:
        super().__init__(message)
        self.exercise = exercise
        self.check = check
        self.passed = tuple(passed)
        self.total = int(total)


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


class _Session:
    """Book-keeping of one checker run: the checks passed so far and how to fail."""

    def __init__(self, exercise: str, fn: Callable[..., Any], checks: Sequence[str]) -> None:
        if not callable(fn):
            raise TypeError(
                f"fn: expected your function (a callable), got {type(fn).__name__} {fn!r}"
            )
        self.exercise = exercise
        self.fn = fn
        self.checks = tuple(checks)
        self.passed: list[str] = []
        self.current = self.checks[0]

    def step(self, check: str) -> None:
        """Mark the current check passed and move on to ``check``."""
        if check not in self.checks:  # a bug in this module, not in the student's code
            raise RuntimeError(f"{self.exercise}: unknown check {check!r}")
        if self.current not in self.passed:
            self.passed.append(self.current)
        self.current = check

    def fail(self, message: str) -> None:
        raise ExerciseError(
            f"{self.exercise}: {message}",
            exercise=self.exercise,
            check=self.current,
            passed=self.passed,
            total=len(self.checks),
        )

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """Call the student function; turn its exceptions into helpful ExerciseErrors."""
        shown = ", ".join([_short(a) for a in args] + [f"{k}={_short(v)}" for k, v in kwargs.items()])
        try:
            return self.fn(*args, **kwargs)
        except NotImplementedError as exc:
            hint = f" (hint: {exc})" if str(exc) else ""
            self.fail(f"not implemented yet: replace the `raise NotImplementedError` line with your code{hint}")
        except ExerciseError:
            raise
        except Exception as exc:  # the student's code crashed: say where and how
            self.fail(f"calling {self.exercise}({shown}) raised {type(exc).__name__}: {exc}")
        raise AssertionError("unreachable")  # pragma: no cover

    def success(self, summary: str) -> CheckResult:
        self.step(self.current)
        line = f"{self.exercise}: {summary}"
        print(f"✓ {line}")
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


# --------------------------------------------------------------------------------------------
# Shared checks on returned arrays
# --------------------------------------------------------------------------------------------
def _array(s: _Session, value: Any, call: str) -> np.ndarray:
    if value is None:
        s.fail(f"{call} returned None: did you forget the `return` statement?")
    if not isinstance(value, np.ndarray):
        s.fail(f"{call} returned a {type(value).__name__}; return a numpy array (np.ndarray)")
    return value


def _shape(s: _Session, w: np.ndarray, shape: tuple[int, ...], call: str, layout_hint: str = "") -> None:
    if w.shape == shape:
        return
    if len(shape) >= 2 and w.shape == shape[::-1]:
        s.fail(
            f"{call} returned shape {w.shape}, the reverse of shape={shape}: the Keras layout is "
            f"(fan_in, fan_out) for a dense kernel and (*kernel_size, in, out) for a convolution "
            f"kernel; return an array of exactly `shape`{layout_hint}"
        )
    s.fail(f"{call} returned shape {w.shape}; expected exactly shape={shape}{layout_hint}")


def _float32(s: _Session, w: np.ndarray, call: str) -> None:
    if w.dtype == np.float32:
        return
    if w.dtype == np.float64:
        s.fail(f"{call} returned float64; cast to float32 (`.astype(np.float32)`), the dtype of Keras weights")
    s.fail(f"{call} returned dtype {w.dtype}; return float32 weights (`.astype(np.float32)`)")


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
            "the same rng seed gave different arrays: draw every random number from the rng you "
            "are given (rng.uniform, rng.normal, ...), not from np.random.* or a new default_rng()"
        )
    if a.shape == c.shape and np.array_equal(a, c):
        s.fail(
            "different rng seeds gave identical arrays: you are not using the rng you are given "
            "(a fixed seed inside your function?)"
        )


# --------------------------------------------------------------------------------------------
# compute_fans
# --------------------------------------------------------------------------------------------
def _ref_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = int(np.prod(shape[:-2]))
    return shape[-2] * rf, shape[-1] * rf


def check_compute_fans(fn: Callable[[tuple[int, ...]], tuple[int, int]]) -> CheckResult:
    """Check ``fn(shape) -> (fan_in, fan_out)`` against Keras' rule.

    Expected: rank 0 → ``(1, 1)``; rank 1 ``(n,)`` → ``(n, n)``; dense ``(a, b)`` → ``(a, b)``;
    convolution ``(*k, c_in, c_out)`` → ``(c_in·r, c_out·r)`` with the receptive field
    :math:`r = \\prod k` :cite:`glorot2010understanding`.
    """
    s = _Session("compute_fans", fn, ("called", "returns a pair", "dense", "conv1d", "conv2d", "conv3d", "1-D", "scalar"))
    cases = [
        ("dense", (256, 128)),
        ("conv1d", (5, 16, 32)),
        ("conv2d", (3, 3, 16, 32)),
        ("conv3d", (3, 3, 3, 8, 4)),
        ("1-D", (7,)),
        ("scalar", ()),
    ]
    for i, (kind, shape) in enumerate(cases):
        call = f"compute_fans({shape})"
        out = s.call(shape)
        if i == 0:
            s.step("returns a pair")
        try:
            fi, fo = out
            fi_f, fo_f = float(fi), float(fo)
        except (TypeError, ValueError):
            s.fail(f"{call} returned {out!r}; return a pair (fan_in, fan_out) of numbers")
        if i == 0:
            s.step("dense")
        want = _ref_fans(shape)
        got = (fi_f, fo_f)
        if got == tuple(float(x) for x in want):
            s.step(cases[i + 1][0] if i + 1 < len(cases) else "scalar")
            continue
        if kind == "dense" and got == (float(want[1]), float(want[0])):
            s.fail(
                f"{call} returned {(fi, fo)}: fan_in and fan_out are swapped; a Keras dense kernel "
                f"is (fan_in, units), so fan_in = shape[0] = {want[0]}"
            )
        if len(shape) >= 3:
            rf = int(np.prod(shape[:-2]))
            torch_rf = int(np.prod(shape[2:]))
            if got == (float(shape[-2]), float(shape[-1])):
                s.fail(
                    f"{call} returned {(fi, fo)}: you forgot the receptive field; multiply the "
                    f"channels by prod(shape[:-2]) = {rf}, giving {want}"
                )
            if got == (float(shape[1] * torch_rf), float(shape[0] * torch_rf)):
                s.fail(
                    f"{call} returned {(fi, fo)}: that is PyTorch's (out, in, *kernel) layout; Keras "
                    f"kernels are (*kernel_size, in, out), so fan_in = shape[-2] * prod(shape[:-2]) = {want[0]}"
                )
            if got == (float(shape[0]), float(shape[1])):
                s.fail(
                    f"{call} returned {(fi, fo)}: you applied the dense rule to a convolution kernel; "
                    f"for rank ≥ 3 use (shape[-2] * r, shape[-1] * r) with r = prod(shape[:-2]) = {rf}"
                )
            if got == (float(shape[-1] * rf), float(shape[-2] * rf)):
                s.fail(f"{call} returned {(fi, fo)}: fan_in and fan_out are swapped; in_channels is shape[-2]")
        if kind == "1-D":
            s.fail(f"{call} returned {(fi, fo)}; Keras gives a 1-D shape (n,) fan_in = fan_out = n = {shape[0]}")
        if kind == "scalar":
            s.fail(f"{call} returned {(fi, fo)}; Keras gives a scalar (shape ()) fan_in = fan_out = 1")
        s.fail(f"{call} returned {(fi, fo)}; expected {want}")
    return s.success("dense, conv1d/2d/3d, 1-D and scalar shapes all correct")


# --------------------------------------------------------------------------------------------
# Variance-scaling initializers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Mistake:
    message: str
    variance: Callable[[tuple[int, ...]], float]


@dataclass(frozen=True)
class _Spec:
    name: str
    family: str  # "uniform" | "normal"
    variance: Callable[[int, int], float]
    formula: Callable[[int, int], str]  # the limit (uniform) or std (normal), with numbers
    mistakes: tuple[_Mistake, ...]


def _fans_mistakes(spec_var: Callable[[int, int], float]) -> tuple[_Mistake, ...]:
    """Right formula, wrong fans: the layout mistakes."""

    def swapped(shape: tuple[int, ...]) -> float:
        fi, fo = _ref_fans(shape)
        return spec_var(fo, fi)

    def no_rf(shape: tuple[int, ...]) -> float:
        return spec_var(shape[-2], shape[-1]) if len(shape) >= 3 else spec_var(*_ref_fans(shape))

    def torch(shape: tuple[int, ...]) -> float:
        if len(shape) < 3:
            return spec_var(shape[1], shape[0])
        r = int(np.prod(shape[2:]))
        return spec_var(shape[1] * r, shape[0] * r)

    return (
        _Mistake("fan_in and fan_out are swapped? In the Keras layout fan_in = shape[-2]·r, fan_out = shape[-1]·r", swapped),
        _Mistake("did you forget the receptive field? For a conv kernel fan_in = in_channels · prod(kernel_size)", no_rf),
        _Mistake("did you use PyTorch's (out, in, *kernel) layout? Keras kernels are (*kernel_size, in, out)", torch),
    )


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    return _ref_fans(shape)


def _with_fans(f: Callable[[int, int], float]) -> Callable[[tuple[int, ...]], float]:
    return lambda shape: f(*_fans(shape))


_LIMIT_AS_STD = "you used the uniform limit √3·σ as the std? For a normal the std itself is σ"
_VAR_AS_STD = "you passed the variance as the std? rng.normal(0, scale) takes the standard deviation: scale = √(variance)"
_STD_AS_LIMIT = "you used the std σ as the limit? U(−a, a) has variance a²/3, so a = √3·σ"
_UNCORRECTED = (
    "you truncated at 2σ without Keras' correction? Truncation shrinks the std by 0.8796: divide σ by "
    "0.87962566 before truncating (or draw an untruncated normal)"
)


def _specs() -> dict[str, _Spec]:
    glorot = lambda fi, fo: 2.0 / (fi + fo)  # noqa: E731
    he = lambda fi, fo: 2.0 / fi  # noqa: E731
    lecun = lambda fi, fo: 1.0 / fi  # noqa: E731

    def normal_mistakes(v: Callable[[int, int], float]) -> tuple[_Mistake, ...]:
        return (
            _Mistake(_LIMIT_AS_STD, _with_fans(lambda fi, fo: 3.0 * v(fi, fo))),
            _Mistake(_VAR_AS_STD, _with_fans(lambda fi, fo: v(fi, fo) ** 2)),
            _Mistake(_UNCORRECTED, _with_fans(lambda fi, fo: v(fi, fo) * _TRUNC_STD**2)),
            _Mistake(
                "did you put the square root only on the numerator? The std is √(k/n), not √k/n",
                _with_fans(lambda fi, fo: v(fi, fo) / _n(v, fi, fo)),
            ),
        )

    def uniform_mistakes(v: Callable[[int, int], float]) -> tuple[_Mistake, ...]:
        return (
            _Mistake(_STD_AS_LIMIT, _with_fans(lambda fi, fo: v(fi, fo) / 3.0)),
            _Mistake(
                "did you put the square root only on the numerator? The limit is √(k/n), not √k/n",
                _with_fans(lambda fi, fo: v(fi, fo) / _n(v, fi, fo)),
            ),
            _Mistake("did you forget the square root? The limit is √(k/n), not k/n", _with_fans(lambda fi, fo: (3.0 * v(fi, fo)) ** 2 / 3.0)),
        )

    def glorot_specific() -> tuple[_Mistake, ...]:
        return (
            _Mistake("did you use fan_in only? Glorot uses fan_in + fan_out", _with_fans(lambda fi, fo: 2.0 / fi)),
            _Mistake("did you use fan_out only? Glorot uses fan_in + fan_out", _with_fans(lambda fi, fo: 2.0 / fo)),
            _Mistake(
                "did you divide by the average (fan_in+fan_out)/2 and keep the 6 (or 2)? The formula "
                "already contains the 1/2: use fan_in + fan_out",
                _with_fans(lambda fi, fo: 4.0 / (fi + fo)),
            ),
        )

    def he_specific() -> tuple[_Mistake, ...]:
        return (
            _Mistake("did you forget the ReLU factor 2? Without it this is LeCun's 1/fan_in", _with_fans(lambda fi, fo: 1.0 / fi)),
            _Mistake("did you use fan_in + fan_out (Glorot)? He uses fan_in only", _with_fans(lambda fi, fo: 2.0 / (fi + fo))),
            _Mistake("did you use fan_out? He (mode fan_in) divides by fan_in", _with_fans(lambda fi, fo: 2.0 / fo)),
        )

    def lecun_specific() -> tuple[_Mistake, ...]:
        return (
            _Mistake("did you add the ReLU factor 2 (that is He)? LeCun's variance is 1/fan_in", _with_fans(lambda fi, fo: 2.0 / fi)),
            _Mistake("did you use fan_in + fan_out (Glorot)? LeCun uses fan_in only", _with_fans(lambda fi, fo: 2.0 / (fi + fo))),
            _Mistake("did you use fan_out? LeCun divides by fan_in", _with_fans(lambda fi, fo: 1.0 / fo)),
        )

    return {
        "glorot_uniform": _Spec(
            "glorot_uniform", "uniform", glorot,
            lambda fi, fo: f"√(6/({fi}+{fo})) = {_g(math.sqrt(6.0 / (fi + fo)))}",
            glorot_specific() + uniform_mistakes(glorot) + _fans_mistakes(glorot),
        ),
        "glorot_normal": _Spec(
            "glorot_normal", "normal", glorot,
            lambda fi, fo: f"√(2/({fi}+{fo})) = {_g(math.sqrt(2.0 / (fi + fo)))}",
            glorot_specific() + normal_mistakes(glorot) + _fans_mistakes(glorot),
        ),
        "he_normal": _Spec(
            "he_normal", "normal", he,
            lambda fi, fo: f"√(2/{fi}) = {_g(math.sqrt(2.0 / fi))}",
            he_specific() + normal_mistakes(he) + _fans_mistakes(he),
        ),
        "he_uniform": _Spec(
            "he_uniform", "uniform", he,
            lambda fi, fo: f"√(6/{fi}) = {_g(math.sqrt(6.0 / fi))}",
            he_specific() + uniform_mistakes(he) + _fans_mistakes(he),
        ),
        "lecun_normal": _Spec(
            "lecun_normal", "normal", lecun,
            lambda fi, fo: f"√(1/{fi}) = {_g(math.sqrt(1.0 / fi))}",
            lecun_specific() + normal_mistakes(lecun) + _fans_mistakes(lecun),
        ),
    }


def _n(v: Callable[[int, int], float], fi: int, fo: int) -> float:
    """The denominator n of a variance k/n (for the misplaced-square-root mistake)."""
    if v(1, 3) == v(3, 1):  # symmetric in the fans: fan_in + fan_out
        return float(fi + fo)
    return float(fi)


_DENSE = (256, 128)
_CONV = (3, 3, 16, 32)


def _check_variance_scaling(spec: _Spec, fn: Callable[..., Any]) -> CheckResult:
    quantity = "limit" if spec.family == "uniform" else "std"
    s = _Session(
        spec.name, fn,
        ("called", "returns an array", "shape", "dtype", "finite", "mean", "distribution", "scale", "range", "seeding"),
    )
    results: dict[tuple[int, ...], np.ndarray] = {}
    for shape in (_DENSE, _CONV):
        call = f"{spec.name}(shape={shape}, rng)"
        out = s.call(shape, np.random.default_rng(0))
        s.step("returns an array")
        w = _array(s, out, call)
        s.step("shape")
        _shape(s, w, shape, call)
        s.step("dtype")
        _float32(s, w, call)
        s.step("finite")
        _finite(s, w, call)
        s.step("mean")
        results[shape] = w.astype(np.float64)

    for shape, w in results.items():
        n = w.size
        sd = float(w.std())
        if sd == 0.0:
            s.fail(f"{spec.name}(shape={shape}, rng) returned a constant array ({_g(float(w.flat[0]))}): the weights must be random")
        if w.min() >= 0:
            s.fail(
                f"all values returned for shape={shape} are ≥ 0: the weights must be centred on 0 "
                + ("(draw from U(−limit, limit), not U(0, limit))" if spec.family == "uniform" else "(no abs())")
            )
        if abs(float(w.mean())) > 6.0 * sd / math.sqrt(n):
            s.fail(f"the mean of the values for shape={shape} is {_g(float(w.mean()))}, far from 0 (std {_g(sd)}): centre the distribution on 0")
    s.step("distribution")

    w = results[_DENSE]
    ratio = float(np.abs(w).max() / w.std())
    if spec.family == "uniform" and ratio > 1.9:
        s.fail(
            f"your values look normally distributed (max|w|/std = {ratio:.2f}; a uniform gives √3 ≈ 1.73): "
            f"{spec.name} draws from U(−limit, limit), e.g. rng.uniform(-limit, limit, size=shape)"
        )
    if spec.family == "normal" and ratio < 1.9:
        s.fail(
            f"your values look uniformly distributed (max|w|/std = {ratio:.2f}; a normal gives ≈ 4, a "
            f"Keras truncated normal ≈ 2.27): {spec.name} draws from a normal, e.g. rng.normal(0, std, size=shape)"
        )
    s.step("scale")

    # Scale: the sample variance against the expected one, on both shapes; diagnose the mistake.
    observed = {shape: float(w.var()) for shape, w in results.items()}
    tol = {shape: 6.0 * math.sqrt(2.0 / w.size) for shape, w in results.items()}

    def matches(v_obs: float, v_ref: float, shape: tuple[int, ...]) -> bool:
        return math.isfinite(v_ref) and v_ref > 0 and abs(v_obs / v_ref - 1.0) <= tol[shape]

    bad = [sh for sh in results if not matches(observed[sh], spec.variance(*_fans(sh)), sh)]
    if bad:
        shape = bad[0]
        fi, fo = _fans(shape)
        v = spec.variance(fi, fo)
        diagnosis = ""
        for mistake in spec.mistakes:
            if all(matches(observed[sh], mistake.variance(sh), sh) for sh in results):
                if not all(matches(mistake.variance(sh), spec.variance(*_fans(sh)), sh) for sh in results):
                    diagnosis = mistake.message
                    break
        w = results[shape]
        if spec.family == "uniform":
            head = (
                f"values reach {_g(float(np.abs(w).max()))} but the limit for shape {shape} "
                f"(fan_in={fi}, fan_out={fo}) is {spec.formula(fi, fo)}"
            )
        else:
            head = (
                f"sample std {_g(math.sqrt(observed[shape]))} but the std for shape {shape} "
                f"(fan_in={fi}, fan_out={fo}) is {spec.formula(fi, fo)} "
                f"(sample variance {_g(observed[shape])} = {observed[shape] / v:.2f} × the expected {_g(v)})"
            )
        s.fail(f"{head} — {diagnosis}" if diagnosis else f"{head}; check your {quantity} formula")
    s.step("range")

    for shape, w in results.items():
        fi, fo = _fans(shape)
        if spec.family == "uniform":
            limit = math.sqrt(3.0 * spec.variance(fi, fo))
            top = float(np.abs(w).max())
            if top > limit * (1 + 1e-6):
                s.fail(f"values reach {_g(top)}, beyond the limit {spec.formula(fi, fo)} for shape {shape}")
            if top < 0.97 * limit:
                s.fail(
                    f"values only reach {_g(top)} while the limit for shape {shape} is {spec.formula(fi, fo)}: "
                    "draw from the whole interval U(−limit, limit)"
                )
    s.step("seeding")
    _seeding(s, lambda r: s.call(_DENSE, r))
    checks = "range" if spec.family == "uniform" else "std"
    return s.success(f"shape, dtype, {checks}, variance and seeding all correct")


def check_glorot_uniform(fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` drawn from Glorot's uniform distribution.

    :math:`W \\sim U(-a, a)` with :math:`a = \\sqrt{6/(\\text{fan\\_in}+\\text{fan\\_out})}`, i.e.
    :math:`\\mathrm{Var}(W) = 2/(\\text{fan\\_in}+\\text{fan\\_out})` :cite:`glorot2010understanding`;
    fans in the Keras layout. Checked on a dense ``(256, 128)`` and a conv ``(3, 3, 16, 32)`` shape.
    """
    return _check_variance_scaling(_specs()["glorot_uniform"], fn)


def check_glorot_normal(fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` with std :math:`\\sqrt{2/(\\text{fan\\_in}+\\text{fan\\_out})}`.

    Either an untruncated normal or Keras' truncated normal (std divided by 0.8796, cut at 2σ)
    passes :cite:`glorot2010understanding`.
    """
    return _check_variance_scaling(_specs()["glorot_normal"], fn)


def check_he_normal(fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` with std :math:`\\sqrt{2/\\text{fan\\_in}}` :cite:`he2015delving`.

    Untruncated or Keras-truncated normals both pass.
    """
    return _check_variance_scaling(_specs()["he_normal"], fn)


def check_he_uniform(fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` drawn from :math:`U(-a, a)`, :math:`a = \\sqrt{6/\\text{fan\\_in}}`.

    :cite:`he2015delving`
    """
    return _check_variance_scaling(_specs()["he_uniform"], fn)


def check_lecun_normal(fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` with std :math:`\\sqrt{1/\\text{fan\\_in}}` :cite:`lecun1998efficient`.

    Untruncated or Keras-truncated normals both pass.
    """
    return _check_variance_scaling(_specs()["lecun_normal"], fn)


# --------------------------------------------------------------------------------------------
# gain
# --------------------------------------------------------------------------------------------
def check_gain(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(nonlinearity, param=None) -> float``: the recommended gain (PyTorch's table).

    ``linear`` 1, ``sigmoid`` 1, ``tanh`` 5/3, ``relu`` √2, ``leaky_relu`` √(2/(1+a²)) with the
    negative slope ``a = param`` (default 0.01), ``selu`` 3/4 :cite:`he2015delving`.
    """
    cases: list[tuple[str, tuple[Any, ...], float]] = [
        ("linear", ("linear",), 1.0),
        ("sigmoid", ("sigmoid",), 1.0),
        ("tanh", ("tanh",), 5.0 / 3.0),
        ("relu", ("relu",), math.sqrt(2.0)),
        ("leaky_relu", ("leaky_relu", 0.2), math.sqrt(2.0 / (1.0 + 0.2**2))),
        ("leaky_relu default", ("leaky_relu",), math.sqrt(2.0 / (1.0 + 0.01**2))),
        ("selu", ("selu",), 0.75),
    ]
    s = _Session("gain", fn, ("called",) + tuple(c[0] for c in cases))
    for i, (label, args, want) in enumerate(cases):
        call = "gain(" + ", ".join(map(repr, args)) + ")"
        out = s.call(*args)
        if i == 0:
            s.step(label)
        try:
            got = float(out)
        except (TypeError, ValueError):
            s.fail(f"{call} returned {out!r}; return a number")
        if math.isclose(got, want, rel_tol=1e-9):
            if i + 1 < len(cases):
                s.step(cases[i + 1][0])
            continue
        close = lambda x: math.isclose(got, x, rel_tol=1e-6)  # noqa: E731
        msg = f"{call} returned {_g(got)}; expected {_g(want)}"
        if label == "relu" and close(2.0):
            msg += ": 2 is the variance factor of He init; the gain is its square root √2"
        elif label == "tanh" and abs(got - want) < 0.1:
            msg += ": use exactly 5/3, not a rounded value"
        elif label == "tanh" and close(math.sqrt(5.0 / 3.0)):
            msg += ": the gain of tanh is 5/3 itself, not √(5/3)"
        elif label == "leaky_relu" and close(math.sqrt(2.0 / 1.2)):
            msg += ": square the slope: √(2/(1 + a²))"
        elif label == "leaky_relu" and close(math.sqrt(2.0 / (1.0 + 0.01**2))):
            msg += ": you ignored param; it is the negative slope a in √(2/(1 + a²))"
        elif label == "leaky_relu" and close(math.sqrt(2.0)):
            msg += ": you ignored param (slope 0 gives √2); use √(2/(1 + a²)) with a = param"
        elif label == "leaky_relu default" and close(math.sqrt(2.0)):
            msg += ": without param the negative slope is 0.01 (PyTorch's default), not 0: √(2/(1 + 0.01²))"
        elif label == "selu":
            msg += ": PyTorch's gain for selu is the empirical value 3/4"
        elif label in ("linear", "sigmoid"):
            msg += f": {label} gets gain 1 in PyTorch's table"
        s.fail(msg)
    return s.success("linear, sigmoid, tanh, relu, leaky_relu and selu gains all correct")


# --------------------------------------------------------------------------------------------
# orthogonal
# --------------------------------------------------------------------------------------------
def _gram_error(flat: np.ndarray, scale: float) -> tuple[float, np.ndarray]:
    """max |G − scale·I| where G is the Gram matrix of the smaller side's vectors."""
    g = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    return float(np.abs(g - scale * np.eye(g.shape[0])).max()), g


def _diagnose_gram(s: _Session, g: np.ndarray, what: str, gain: float, call: str) -> None:
    diag = np.diag(g)
    off = np.abs(g - np.diag(diag)).max()
    if off < 1e-3 * max(1.0, float(diag.mean())) and np.allclose(diag, diag.mean(), rtol=1e-3):
        c = float(diag.mean())
        if gain != 1.0 and math.isclose(c, 1.0, rel_tol=1e-3):
            s.fail(f"{call}: the {what} are orthonormal but gain={gain} was ignored: multiply Q by gain")
        if gain != 1.0 and math.isclose(c, gain, rel_tol=1e-3):
            s.fail(f"{call}: the {what} have norm √gain = {_g(math.sqrt(gain))}; multiply Q by gain itself (norm {_g(gain)})")
        s.fail(
            f"{call}: the {what} are orthogonal but have norm {_g(math.sqrt(c))} instead of gain = {_g(gain)}: "
            "do not rescale Q except by gain"
        )
    s.fail(
        f"{call}: the {what} are not orthonormal (max |Gram − gain²·I| = {_g(float(np.abs(g - gain**2 * np.eye(len(g))).max()))}): "
        "a random Gaussian matrix is only roughly orthogonal; take Q from np.linalg.qr of one"
    )


def check_orthogonal(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, gain=1.0) -> float32 array``: a (semi-)orthogonal matrix times ``gain``.

    Keras' rule :cite:`saxe2014exact`: flatten ``shape`` to ``(prod(shape[:-1]), shape[-1])``; a tall
    matrix has orthonormal columns (:math:`W^TW = \\text{gain}^2 I`), a wide one orthonormal rows.
    The matrix must be uniformly (Haar) distributed: after ``q, r = np.linalg.qr(a)`` apply the
    sign correction ``q *= np.sign(np.diag(r))`` :cite:`mezzadri2007generate`.
    """
    s = _Session("orthogonal", fn, ("called", "returns an array", "shape", "dtype", "square", "tall", "wide", "conv", "gain", "haar", "seeding"))
    cases = [("square", (64, 64)), ("tall", (128, 32)), ("wide", (32, 128)), ("conv", (3, 3, 8, 16))]
    for i, (kind, shape) in enumerate(cases):
        call = f"orthogonal(shape={shape}, rng)"
        out = s.call(shape, np.random.default_rng(1))
        if i == 0:
            s.step("returns an array")
        w = _array(s, out, call)
        if i == 0:
            s.step("shape")
        hint = ""
        if kind == "wide":
            hint = " (for a wide matrix do the QR of the transpose, shape (cols, rows), and transpose Q back)"
        _shape(s, w, shape, call, hint)
        if i == 0:
            s.step("dtype")
        _float32(s, w, call)
        _finite(s, w, call)
        if i == 0:
            s.step("square")
        flat = w.astype(np.float64).reshape(-1, shape[-1])
        err, g = _gram_error(flat, 1.0)
        if err > 1e-4:
            what = {"square": "columns", "tall": "columns", "wide": "rows", "conv": "columns of the flattened kernel"}[kind]
            if kind == "conv":
                other = w.astype(np.float64).reshape(shape[0], -1)
                if _gram_error(other, 1.0)[0] < 1e-4:
                    s.fail(
                        f"{call}: you flattened the kernel to {other.shape}; Keras flattens to "
                        f"(prod(shape[:-1]), shape[-1]) = {flat.shape} and makes its columns orthonormal"
                    )
            _diagnose_gram(s, g, what, 1.0, call)
        s.step(cases[i + 1][0] if i + 1 < len(cases) else "gain")

    gain = 2.0
    call = f"orthogonal(shape=(64, 64), rng, gain={gain})"
    w = _array(s, s.call((64, 64), np.random.default_rng(2), gain=gain), call)
    _shape(s, w, (64, 64), call)
    err, g = _gram_error(w.astype(np.float64), gain**2)
    if err > 4e-4:
        _diagnose_gram(s, g, "columns", gain, call)
    s.step("haar")

    signs = []
    for seed in range(20):
        w = np.asarray(s.call((8, 8), np.random.default_rng(1000 + seed)))
        signs.append(bool(w[0, 0] > 0))
    if all(signs) or not any(signs):
        s.fail(
            "W[0, 0] had the same sign in 20 draws of shape (8, 8): without the sign correction "
            "q *= np.sign(np.diag(r)) after np.linalg.qr, Q is not uniformly (Haar) distributed"
        )
    s.step("seeding")
    _seeding(s, lambda r: s.call((16, 16), r))
    return s.success("square, tall, wide and conv shapes orthonormal; gain, sign correction and seeding all correct")


# --------------------------------------------------------------------------------------------
# sparse
# --------------------------------------------------------------------------------------------
def check_sparse(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, nonzero=15) -> float32 array``: Martens' sparse initialization.

    For a dense kernel ``(fan_in, units)`` every unit (column) is connected to exactly
    ``min(nonzero, fan_in)`` inputs chosen at random, with unit-Gaussian weights; all other
    weights are 0 :cite:`martens2010deep`.
    """
    s = _Session("sparse", fn, ("called", "returns an array", "shape", "dtype", "per column", "random positions", "values", "nonzero", "small fan_in", "seeding"))
    shape = (256, 64)
    call = f"sparse(shape={shape}, rng)"
    out = s.call(shape, np.random.default_rng(0))
    s.step("returns an array")
    w = _array(s, out, call)
    s.step("shape")
    _shape(s, w, shape, call)
    s.step("dtype")
    _float32(s, w, call)
    _finite(s, w, call)
    s.step("per column")
    nz = w != 0
    per_col = nz.sum(axis=0)
    per_row = nz.sum(axis=1)
    if not np.all(per_col == 15):
        if np.all(per_row == 15):
            s.fail(
                f"{call}: each row has 15 nonzeros; a unit is a column in the Keras layout (fan_in, units): "
                "each column must have 15 nonzero weights"
            )
        if np.all(per_col == shape[0] - 15):
            s.fail(f"{call}: each column has {shape[0] - 15} nonzeros: keep 15 weights per column and zero the rest, not the other way round")
        if per_col.min() != per_col.max():
            s.fail(
                f"{call}: columns have between {per_col.min()} and {per_col.max()} nonzeros: choose exactly 15 "
                "inputs per unit, e.g. rng.choice(fan_in, size=15, replace=False), instead of zeroing at random"
            )
        s.fail(f"{call}: each column has {per_col[0]} nonzeros; expected exactly min(nonzero, fan_in) = 15")
    s.step("random positions")
    if all(np.array_equal(nz[:, 0], nz[:, j]) for j in range(1, shape[1])):
        s.fail(f"{call}: every column uses the same 15 inputs: choose the inputs independently for each unit")
    if np.all(nz[:15, :]):
        s.fail(f"{call}: the nonzeros are always the first 15 rows: choose the inputs at random")
    s.step("values")
    vals = w[nz].astype(np.float64)
    sd = float(vals.std())
    if vals.min() >= 0:
        s.fail(f"{call}: all nonzero weights are ≥ 0: draw them from N(0, 1)")
    if not 0.85 <= sd <= 1.15:
        s.fail(f"{call}: the nonzero weights have std {_g(sd)}; Martens draws them from a unit Gaussian N(0, 1), std 1")
    s.step("nonzero")
    call = "sparse(shape=(128, 32), rng, nonzero=5)"
    w = _array(s, s.call((128, 32), np.random.default_rng(1), nonzero=5), call)
    _shape(s, w, (128, 32), call)
    counts = (w != 0).sum(axis=0)
    if not np.all(counts == 5):
        s.fail(f"{call}: columns have {counts.min()}..{counts.max()} nonzeros; expected exactly nonzero = 5 (did you ignore `nonzero`?)")
    s.step("small fan_in")
    call = "sparse(shape=(10, 8), rng, nonzero=15)"
    w = _array(s, s.call((10, 8), np.random.default_rng(2), nonzero=15), call)
    _shape(s, w, (10, 8), call)
    counts = (w != 0).sum(axis=0)
    if not np.all(counts == 10):
        s.fail(f"{call}: columns have {counts.min()}..{counts.max()} nonzeros; with fan_in = 10 < 15 connect each unit to all 10 inputs: k = min(nonzero, fan_in)")
    s.step("seeding")
    _seeding(s, lambda r: s.call((64, 16), r))
    return s.success("exactly min(nonzero, fan_in) unit-Gaussian weights per column at random positions; seeding correct")


# --------------------------------------------------------------------------------------------
# LSUV
# --------------------------------------------------------------------------------------------
def check_lsuv_scale(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> CheckResult:
    """Check ``fn(weights, x) -> weights``: the LSUV rescaling of one linear layer.

    Return :math:`W / \\sqrt{\\mathrm{Var}(xW)}` so that the output ``x @ W`` has variance 1
    (within the tolerance 0.1 of :cite:`mishkin2016all`); only the scale of ``W`` may change.
    """
    s = _Session("lsuv_scale", fn, ("called", "returns an array", "shape", "finite", "proportional", "variance", "small variance"))
    rng = np.random.default_rng(7)
    cases = [
        ("variance", 2.5 * rng.standard_normal((512, 64)), 0.3 * rng.standard_normal((64, 32))),
        ("small variance", 0.5 * rng.standard_normal((256, 100)), 0.01 * rng.standard_normal((100, 50))),
    ]
    for i, (label, x, w0) in enumerate(cases):
        call = f"lsuv_scale(weights {w0.shape}, x {x.shape})"
        out = s.call(w0.copy(), x.copy())
        if i == 0:
            s.step("returns an array")
        w = _array(s, out, call)
        if i == 0:
            s.step("shape")
        _shape(s, w, w0.shape, call)
        if i == 0:
            s.step("finite")
        _finite(s, w, call)
        if i == 0:
            s.step("proportional")
        w = w.astype(np.float64)
        c = float(np.sum(w * w0) / np.sum(w0 * w0))
        if np.linalg.norm(w - c * w0) > 1e-4 * np.linalg.norm(w):
            s.fail(f"{call}: LSUV only rescales the weights (W ← W / √Var(x @ W)); your result is not a multiple of the weights you were given")
        if i == 0:
            s.step("variance")
        var0 = float((x @ w0).var())
        var = float((x @ w).var())
        if abs(var - 1.0) > 0.1:
            msg = f"{call}: Var(x @ W) = {_g(var)} after your rescaling (it was {_g(var0)}); expected 1 ± 0.1"
            close = lambda a: math.isclose(c, a, rel_tol=1e-3)  # noqa: E731
            if close(1.0):
                msg += ": you returned the weights unchanged"
            elif close(1.0 / var0):
                msg += ": you divided by the variance; divide by the standard deviation √Var(x @ W)"
            elif close(math.sqrt(var0)):
                msg += ": you multiplied by the std; divide by it"
            elif close(1.0 / float(x.std())):
                msg += ": you divided by the std of the input x; measure the output x @ W"
            s.fail(msg)
        if i + 1 < len(cases):
            s.step(cases[i + 1][0])
    return s.success("weights rescaled so that Var(x @ W) = 1, direction unchanged")


# --------------------------------------------------------------------------------------------
# Mean-field variance recursion
# --------------------------------------------------------------------------------------------
def _recursion(q0: float, sw2: float, sb2: float, depth: int, act: str, first_linear: bool = False) -> np.ndarray:
    out, q = [], q0
    for layer in range(depth):
        factor = 0.5 if (act == "relu" and not (first_linear and layer == 0)) else 1.0
        q = sw2 * factor * q + sb2
        out.append(q)
    return np.array(out)


def check_variance_recursion(fn: Callable[[float, float, float, int, str], Sequence[float]]) -> CheckResult:
    """Check ``fn(q0, sigma_w2, sigma_b2, depth, activation) -> array of length depth``.

    The mean-field length map :cite:`poole2016exponential` for the pre-activations
    :math:`h^l = W^l\\,\\phi(h^{l-1}) + b^l` of an infinitely wide network, starting from
    :math:`q^0 = \\mathrm{Var}(h^0)`:

    .. math:: q^l = \\sigma_w^2\\,\\mathbb{E}[\\phi(h^{l-1})^2] + \\sigma_b^2, \\qquad l = 1, \\dots, \\text{depth},

    with the closed forms :math:`\\mathbb{E}[\\phi^2] = q^{l-1}` for ``"linear"`` and
    :math:`q^{l-1}/2` for ``"relu"`` :cite:`he2015delving`. Return :math:`[q^1, \\dots, q^{\\text{depth}}]`.
    """
    cases = [
        ("linear", (1.5, 0.9, 0.05, 8, "linear")),
        ("relu", (1.0, 1.5, 0.1, 8, "relu")),
        ("relu at He", (1.0, 2.0, 0.0, 10, "relu")),
    ]
    s = _Session("variance_recursion", fn, ("called", "length") + tuple(c[0] for c in cases))
    for i, (label, args) in enumerate(cases):
        q0, sw2, sb2, depth, act = args
        call = f"variance_recursion(q0={q0}, sigma_w2={sw2}, sigma_b2={sb2}, depth={depth}, activation={act!r})"
        out = s.call(*args)
        if i == 0:
            s.step("length")
        try:
            q = np.asarray(out, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            s.fail(f"{call} returned {out!r}; return a sequence of numbers")
        want = _recursion(*args)
        if q.size == depth + 1 and math.isclose(float(q[0]), q0):
            s.fail(f"{call} returned {depth + 1} values starting with q0; return only q¹ … q^depth (length depth = {depth})")
        if q.size != depth:
            s.fail(f"{call} returned {q.size} values; expected one per layer, length depth = {depth}")
        if i == 0:
            s.step(label)
        if np.allclose(q, want, rtol=1e-6, atol=1e-12):
            if i + 1 < len(cases):
                s.step(cases[i + 1][0])
            continue
        msg = f"{call} returned q = [{', '.join(_g(v) for v in q[:3])}, …]; expected [{', '.join(_g(v) for v in want[:3])}, …]"
        alternatives = [
            (_recursion(q0, sw2, sb2, depth, "linear"), ": ReLU keeps half the second moment, E[relu(h)²] = q/2: multiply by ½"),
            (_recursion(q0, sw2, 0.0, depth, act), ": you forgot to add sigma_b2"),
            (_recursion(q0, sw2**2, sb2, depth, act), ": sigma_w2 is already the variance σ_w²; do not square it"),
            (_recursion(q0, math.sqrt(sw2), sb2, depth, act), ": multiply by sigma_w2 = σ_w² itself, not its square root"),
            (_recursion(q0, sw2, sb2, depth, act, first_linear=True),
             ": q0 is the variance of the pre-activations h⁰, so the activation applies from the first step: q¹ = σ_w² q⁰/2 + σ_b²"),
            (_recursion(q0, sw2, sb2**2, depth, act), ": sigma_b2 is already the variance σ_b²; do not square it"),
        ]
        for alt, why in alternatives:
            if not np.allclose(alt, want, rtol=1e-6) and np.allclose(q, alt, rtol=1e-6, atol=1e-12):
                msg += why
                break
        s.fail(msg)
    return s.success("linear and relu recursions, bias and length all correct")


# --------------------------------------------------------------------------------------------
# Forward-pass simulation
# --------------------------------------------------------------------------------------------
_ACTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda h: h,
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
}
_BATCH = 256


def _simulate(depth: int, width: int, init_std: float, act: str, rng: np.random.Generator, variant: str = "") -> np.ndarray:
    phi = _ACTS[act]
    x = rng.standard_normal((_BATCH, width))
    out = []
    for _ in range(depth):
        w = rng.normal(0.0, init_std, size=(width, width))
        if variant == "act first":
            h = phi(x) @ w
            x = h
        else:
            h = x @ w
            x = phi(h)
        out.append((h if variant == "pre" else x).std())
    return np.log(np.array(out))


def _one_blas_thread() -> Any:
    """Small matrix products run faster on one BLAS thread (and do not fight other processes)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def check_forward_std(fn: Callable[[int, int, float, str, np.random.Generator], np.ndarray]) -> CheckResult:
    """Check ``fn(depth, width, init_std, activation, rng) -> array of length depth``.

    The numpy forward pass the chapter simulates: an input batch
    ``x = rng.standard_normal((256, width))``; for each of ``depth`` layers draw
    ``W = rng.normal(0, init_std, size=(width, width))`` (no bias) and set ``x = act(x @ W)``
    with ``act`` one of ``"linear"``, ``"relu"``, ``"tanh"``; return ``np.std(x)`` after every layer.
    Compared in log scale with 12 reference simulations, within 6 of their standard deviations
    :cite:`glorot2010understanding`.
    """
    with _one_blas_thread():
        return _check_forward_std(fn)


def _check_forward_std(fn: Callable[..., Any]) -> CheckResult:
    configs = [
        ("relu, He std", (12, 128, math.sqrt(2.0 / 128), "relu")),
        ("relu, LeCun std", (12, 128, math.sqrt(1.0 / 128), "relu")),
        ("tanh", (8, 64, math.sqrt(1.0 / 64), "tanh")),
        ("linear, growing", (6, 64, 1.5 / math.sqrt(64), "linear")),
    ]
    s = _Session("forward_std", fn, ("called", "length") + tuple(c[0] for c in configs) + ("seeding",))
    for i, (label, args) in enumerate(configs):
        depth, width, init_std, act = args
        call = f"forward_std(depth={depth}, width={width}, init_std={init_std:.4g}, activation={act!r}, rng)"
        out = s.call(depth, width, init_std, act, np.random.default_rng(5))
        if i == 0:
            s.step("length")
        try:
            got = np.asarray(out, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            s.fail(f"{call} returned {out!r}; return an array of numbers")
        if got.size == depth + 1:
            s.fail(f"{call} returned {depth + 1} values; return one std per layer (length depth = {depth}), without the input")
        if got.size != depth:
            s.fail(f"{call} returned {got.size} values; expected one std per layer, length depth = {depth}")
        if not np.all(np.isfinite(got)) or np.any(got <= 0):
            s.fail(f"{call} returned non-positive or non-finite stds: [{', '.join(_g(v) for v in got[:4])}, …]")
        if i == 0:
            s.step(label)

        def reference(variant: str = "", std: float = init_std, a: str = act) -> tuple[np.ndarray, np.ndarray]:
            runs = np.array([_simulate(depth, width, std, a, np.random.default_rng(900 + k), variant) for k in range(12)])
            return runs.mean(axis=0), 6.0 * runs.std(axis=0) + 0.02

        mean, tol = reference()
        log_got = np.log(got)
        if np.all(np.abs(log_got - mean) <= tol):
            if i + 1 < len(configs):
                s.step(configs[i + 1][0])
            continue
        want = np.exp(mean)
        msg = (
            f"{call} returned stds [{', '.join(_g(v) for v in got[:3])}, …, {_g(got[-1])}]; a reference "
            f"simulation gives [{', '.join(_g(v) for v in want[:3])}, …, {_g(want[-1])}]"
        )
        alternatives = [
            (("", math.sqrt(init_std), act), ": init_std is the standard deviation of the weights; you used it as the variance"),
            (("", init_std / math.sqrt(width), act), ": init_std is already the std of each weight; do not divide by √width again"),
            (("pre", init_std, act), ": return the std of the activations act(x @ W), not of the pre-activations x @ W"),
            (("act first", init_std, act), ": each layer computes x = act(x @ W): multiply first, then apply the activation"),
            (("", init_std, "linear"), f": you did not apply the activation {act!r}"),
        ]
        for (variant, std, a), why in alternatives:
            if variant == "act first" and act == "linear":
                continue
            if a == act and variant == "" and math.isclose(std, init_std):
                continue
            alt_mean, alt_tol = reference(variant, std, a)
            if np.all(np.abs(log_got - alt_mean) <= alt_tol) and not np.all(np.abs(alt_mean - mean) <= tol):
                msg += why
                break
        else:
            msg += " (see the docstring for the exact forward pass: batch of 256 N(0, 1) inputs, no bias, std after each layer)"
        s.fail(msg)
    s.step("seeding")
    _seeding(s, lambda r: s.call(4, 32, 0.2, "tanh", r))
    return s.success("per-layer stds match the reference simulation for relu, tanh and linear nets; seeding correct")


# --------------------------------------------------------------------------------------------
# delta-orthogonal
# --------------------------------------------------------------------------------------------
def check_delta_orthogonal(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, gain=1.0) -> float32 array``: the delta-orthogonal convolution kernel.

    For a kernel ``(*kernel_size, c_in, c_out)`` with odd kernel sizes and ``c_in ≤ c_out``: zero
    everywhere except the center tap ``[k//2 for k in kernel_size]``, which holds ``gain`` times a
    ``(c_in, c_out)`` matrix with orthonormal rows (the first ``c_in`` rows of a random orthogonal
    ``c_out × c_out`` matrix) :cite:`xiao2018dynamical`. ``c_in > c_out`` raises ``ValueError``.
    """
    cases = [("conv2d", (3, 3, 16, 32)), ("conv1d", (5, 8, 8)), ("conv3d", (3, 3, 3, 4, 8))]
    s = _Session(
        "delta_orthogonal", fn,
        ("called", "returns an array", "shape", "dtype", "only center tap") + tuple(c[0] for c in cases) + ("gain", "in > out", "seeding"),
    )
    for i, (kind, shape) in enumerate(cases):
        call = f"delta_orthogonal(shape={shape}, rng)"
        out = s.call(shape, np.random.default_rng(3))
        if i == 0:
            s.step("returns an array")
        w = _array(s, out, call)
        if i == 0:
            s.step("shape")
        _shape(s, w, shape, call)
        if i == 0:
            s.step("dtype")
        _float32(s, w, call)
        _finite(s, w, call)
        if i == 0:
            s.step("only center tap")
        w = w.astype(np.float64)
        center = tuple(k // 2 for k in shape[:-2])
        taps = np.abs(w).reshape(-1, shape[-2] * shape[-1]).max(axis=1).reshape(shape[:-2])
        nonzero_taps = [tuple(int(t) for t in idx) for idx in np.argwhere(taps > 0)]
        if nonzero_taps != [center]:
            if len(nonzero_taps) == 1:
                s.fail(f"{call}: the orthogonal matrix sits at tap {nonzero_taps[0]}; the center tap is {center} (k // 2 in every spatial dimension)")
            if not nonzero_taps:
                s.fail(f"{call}: the kernel is all zeros; the center tap {center} must hold gain × an orthogonal matrix")
            others = [t for t in nonzero_taps if t != center]
            s.fail(
                f"{call}: tap {others[0]} has nonzero weights (max |w| = {_g(float(taps[others[0]]))}); delta-orthogonal "
                f"kernels are zero everywhere except the center tap {center}"
            )
        if i == 0:
            s.step(kind)
        c = w[center]
        err, g = _gram_error(c, 1.0)
        if err > 1e-4:
            _diagnose_gram(s, g, f"rows of the center tap {c.shape}", 1.0, call)
        s.step(cases[i + 1][0] if i + 1 < len(cases) else "gain")
    gain = 1.5
    call = f"delta_orthogonal(shape=(3, 3, 16, 32), rng, gain={gain})"
    w = _array(s, s.call((3, 3, 16, 32), np.random.default_rng(4), gain=gain), call)
    _shape(s, w, (3, 3, 16, 32), call)
    err, g = _gram_error(w[1, 1].astype(np.float64), gain**2)
    if err > 4e-4:
        _diagnose_gram(s, g, "rows of the center tap", gain, call)
    s.step("in > out")
    call = "delta_orthogonal(shape=(3, 3, 32, 16), rng)"
    try:
        fn((3, 3, 32, 16), np.random.default_rng(0))
    except ValueError:
        pass
    except Exception as exc:
        s.fail(f"{call} raised {type(exc).__name__}: {exc}; check the shape first and raise ValueError (in_channels > out_channels)")
    else:
        s.fail(
            f"{call} returned a kernel: with in_channels = 32 > out_channels = 16 no center matrix has orthonormal rows, "
            "so the convolution cannot preserve norms; raise ValueError naming the shape"
        )
    s.step("seeding")
    _seeding(s, lambda r: s.call((3, 3, 4, 8), r))
    return s.success("zero except the center tap, orthonormal center rows, gain, in > out check and seeding all correct")


# --------------------------------------------------------------------------------------------
# Wavelet analysis matrix
# --------------------------------------------------------------------------------------------
def _dwt_matrix(n: int, wavelet: str, level: int) -> np.ndarray:
    import pywt

    cols = [np.concatenate(pywt.wavedec(np.eye(n)[i], wavelet, mode="periodization", level=level)) for i in range(n)]
    return np.stack(cols, axis=1)


def check_wavelet_matrix(fn: Callable[[int, str], np.ndarray]) -> CheckResult:
    """Check ``fn(n, wavelet) -> (n, n) array``: the periodized DWT analysis matrix.

    ``A @ x`` must equal ``np.concatenate(pywt.wavedec(x, wavelet, mode="periodization", level=L))``
    (coefficients ordered ``[cA_L, cD_L, …, cD_1]``) for one level ``L`` (PyWavelets' default is
    the maximum level); for an orthogonal wavelet ``A`` is orthogonal, :math:`AA^T = I`
    :cite:`mallat2009wavelet,lee2019pywavelets`.
    """
    import pywt

    cases = [(64, "haar"), (64, "db2"), (64, "db4"), (32, "sym4")]
    s = _Session("wavelet_matrix", fn, ("called", "returns an array", "shape", "finite", "orthogonal", "matches PyWavelets") + tuple(w for _, w in cases[1:]))
    for i, (n, wav) in enumerate(cases):
        call = f"wavelet_matrix({n}, {wav!r})"
        out = s.call(n, wav)
        if i == 0:
            s.step("returns an array")
        a = _array(s, out, call)
        if i == 0:
            s.step("shape")
        if a.ndim == 2 and a.shape[1] == n and a.shape[0] > n:
            s.fail(f"{call} returned shape {a.shape}: more coefficients than samples; use mode='periodization' for a square, orthogonal matrix")
        _shape(s, a, (n, n), call)
        if i == 0:
            s.step("finite")
        _finite(s, a, call)
        if i == 0:
            s.step("orthogonal")
        a = a.astype(np.float64)
        atol = 1e-5 if out.dtype == np.float32 else 1e-8
        g = a @ a.T
        if np.abs(g - np.eye(n)).max() > 10 * atol:
            d = np.diag(g)
            if np.abs(g - np.diag(d)).max() < 10 * atol:
                s.fail(f"{call}: the rows are orthogonal but their squared norms range {_g(float(d.min()))}..{_g(float(d.max()))}, not 1: use the orthonormal filters (pywt.Wavelet(w).dec_lo / dec_hi)")
            s.fail(f"{call}: the matrix is not orthogonal (max |A Aᵀ − I| = {_g(float(np.abs(g - np.eye(n)).max()))}): build it from pywt.wavedec of the unit vectors with mode='periodization'")
        if i == 0:
            s.step("matches PyWavelets")
        max_level = pywt.dwt_max_level(n, pywt.Wavelet(wav).dec_len)
        refs = {lev: _dwt_matrix(n, wav, lev) for lev in range(1, max_level + 1)}
        if not any(np.allclose(a, r, atol=atol) for r in refs.values()):
            if any(np.allclose(a.T, r, atol=atol) for r in refs.values()):
                s.fail(f"{call} returned the transpose (the synthesis matrix, or a Keras kernel): rows of A are the analysis functions, A @ x = wavedec(x)")
            for lev, r in refs.items():
                rows = {tuple(np.round(row, 6)) for row in r}
                if {tuple(np.round(row, 6)) for row in a} == rows:
                    s.fail(f"{call}: your rows are PyWavelets' rows in another order; order them like pywt.wavedec: [cA_{lev}, cD_{lev}, …, cD_1]")
            s.fail(f"{call} does not match pywt.wavedec(x, {wav!r}, mode='periodization') at any level 1..{max_level}")
        if i + 1 < len(cases):
            s.step(cases[i + 1][1])
    return s.success("square, orthogonal and equal to pywt.wavedec(..., mode='periodization') for haar, db2, db4 and sym4")


# --------------------------------------------------------------------------------------------
# ZerO (identity + Hadamard)
# --------------------------------------------------------------------------------------------
def _zero_ref(shape: tuple[int, int]) -> np.ndarray:
    from scipy.linalg import hadamard

    n, m = shape  # Keras kernel (fan_in, fan_out); the paper's W is (m, n) = (out, in)
    if m <= n:
        w = np.eye(m, n)
    else:
        p = 2 ** math.ceil(math.log2(m))
        w = np.eye(m, p) @ (hadamard(p) / math.sqrt(p)) @ np.eye(p, n)
    return w.T


def check_zero_hadamard(fn: Callable[[tuple[int, int]], np.ndarray]) -> CheckResult:
    """Check ``fn(shape) -> float32 array``: ZerO's deterministic initialization of a dense kernel.

    ``shape = (fan_in, fan_out)`` (Keras layout). With the paper's :math:`W \\in \\mathbb{R}^{m\\times n}`,
    :math:`m` = fan_out, :math:`n` = fan_in (the kernel is :math:`W^T`): for :math:`m \\le n` the partial
    identity :math:`I_{m,n}`; for :math:`m > n`, :math:`I_{m,p}\\,H_p/\\sqrt{p}\\,I_{p,n}` with the
    Hadamard matrix :math:`H_p`, :math:`p = 2^{\\lceil\\log_2 m\\rceil}` :cite:`zhao2022zero`.
    """
    cases = [("square", (64, 64)), ("shrinking", (128, 32)), ("expanding", (32, 100)), ("expanding (power of 2)", (16, 64))]
    s = _Session("zero_hadamard", fn, ("called", "returns an array", "shape", "dtype") + tuple(c[0] for c in cases) + ("deterministic",))
    for i, (kind, shape) in enumerate(cases):
        call = f"zero_hadamard(shape={shape})"
        out = s.call(shape)
        if i == 0:
            s.step("returns an array")
        w = _array(s, out, call)
        if i == 0:
            s.step("shape")
        if w.shape == shape[::-1] and shape[0] != shape[1]:
            s.fail(f"{call} returned shape {w.shape}: that is the paper's (out, in) matrix W; a Keras kernel is its transpose, shape (fan_in, fan_out) = {shape}")
        _shape(s, w, shape, call)
        if i == 0:
            s.step("dtype")
        _float32(s, w, call)
        _finite(s, w, call)
        if i == 0:
            s.step(kind)
        w = w.astype(np.float64)
        ref = _zero_ref(shape)
        if np.allclose(w, ref, atol=1e-6):
            s.step(cases[i + 1][0] if i + 1 < len(cases) else "deterministic")
            continue
        n, m = shape
        msg = f"{call} differs from ZerO's matrix (max deviation {_g(float(np.abs(w - ref).max()))})"
        if m > n:
            p = 2 ** math.ceil(math.log2(m))
            if np.allclose(w, np.eye(n, m), atol=1e-6):
                msg += (f": when fan_out = {m} > fan_in = {n}, ZerO does not pad the identity with zeros (the extra "
                        f"{m - n} units would output 0: the degeneracy the paper warns about); it uses I_(m,p) · H_p/√p · I_(p,n) with p = {p}")
            elif np.allclose(w, ref * math.sqrt(p), atol=1e-6):
                msg += f": divide the Hadamard matrix by √p = √{p} so that it is orthogonal"
        else:
            msg += f": for fan_out = {m} ≤ fan_in = {n} the kernel is the partial identity np.eye({n}, {m})"
        s.fail(msg)
    a = np.asarray(s.call((32, 100)))
    b = np.asarray(s.call((32, 100)))
    if not np.array_equal(a, b):
        s.fail("two calls with the same shape gave different arrays: ZerO is deterministic, use no randomness")
    return s.success("identity and Hadamard cases, Keras layout and dtype all correct")


# --------------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------------
CHECKERS: dict[str, Callable[[Callable[..., Any]], CheckResult]] = {
    "compute_fans": check_compute_fans,
    "gain": check_gain,
    "lecun_normal": check_lecun_normal,
    "glorot_uniform": check_glorot_uniform,
    "glorot_normal": check_glorot_normal,
    "he_normal": check_he_normal,
    "he_uniform": check_he_uniform,
    "orthogonal": check_orthogonal,
    "sparse": check_sparse,
    "lsuv_scale": check_lsuv_scale,
    "variance_recursion": check_variance_recursion,
    "forward_std": check_forward_std,
    "delta_orthogonal": check_delta_orthogonal,
    "wavelet_matrix": check_wavelet_matrix,
    "zero_hadamard": check_zero_hadamard,
}
"""Exercise name → checker. :meth:`Grader.check` looks checkers up here."""


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

    A failed checker earns ``points × (checks passed before the failure) / (checks in all)``,
    rounded to 0.01.
    """

    def __init__(self) -> None:
        self.items: list[GradeItem] = []

    def add(self, name: str, points: float, max_points: float, message: str = "") -> GradeItem:
        """Record an item graded by hand (e.g. a conceptual answer)."""
        if not isinstance(max_points, (int, float)) or isinstance(max_points, bool) or not max_points > 0:
            raise ValueError(f"max_points: must be a number > 0, got {max_points!r}")
        if not isinstance(points, (int, float)) or isinstance(points, bool) or not 0 <= points <= max_points:
            raise ValueError(f"points: must be a number in [0, max_points={max_points}], got {points!r}")
        item = GradeItem(name, float(points), float(max_points), message)
        self.items.append(item)
        return item

    def check(
        self,
        name: str,
        fn: Callable[..., Any],
        checker: Optional[Callable[[Callable[..., Any]], CheckResult]] = None,
        *,
        points: float = 1.0,
    ) -> GradeItem:
        """Run ``checker(fn)`` (default ``CHECKERS[name]``) quietly and record the credit earned."""
        if checker is None:
            if name not in CHECKERS:
                raise ValueError(f"name: no checker named {name!r}; known names are {', '.join(sorted(CHECKERS))} (or pass checker=)")
            checker = CHECKERS[name]
        buf = io.StringIO()
        try:
            with redirect_stdout(buf):
                result = checker(fn)
        except ExerciseError as exc:
            frac = len(exc.passed) / exc.total if exc.total else 0.0
            return self.add(name, round(points * frac, 2), points, f"✗ {exc}")
        except Exception as exc:  # a crash of the student's code outside the checker's guard
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
        """A deterministic text table: one row per item, then the total and percentage."""
        width = max([len("Exercise"), len("Total")] + [len(i.name) for i in self.items])
        lines = [f"{'Exercise':<{width}}  {'Points':^13}  Result"]
        lines.append("-" * len(lines[0]) + "-" * 20)
        for i in self.items:
            first = i.message.splitlines()[0] if i.message else ""
            lines.append(f"{i.name:<{width}}  {i.points:>6.2f} / {i.max_points:<4g}  {first}")
        lines.append("-" * len(lines[0]) + "-" * 20)
        pct = 100.0 * self.total / self.max_total if self.max_total else 0.0
        lines.append(f"{'Total':<{width}}  {self.total:>6.2f} / {self.max_total:<4g}  ({pct:.0f}%)")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Capstone: initialize an unfamiliar network (chapter 10)
# --------------------------------------------------------------------------------------------
# The capstone's graded tasks need more than the student's function (a model factory, data), so
# their checkers are called ``grade_*`` and take those extra arguments; bind them with
# ``functools.partial`` to use them with :meth:`Grader.check`. Like the ``check_*`` functions they
# raise :class:`ExerciseError` naming the mistake, print one ``✓`` line and return a
# :class:`CheckResult`. Models are only duck-typed here (``model.layers``, ``layer.kernel``,
# ``layer.activation.__name__``): this module still never imports TensorFlow.

CAPSTONE_ACTIVATIONS = ("relu", "tanh", "selu")
"""Activations the capstone's residual blocks may use."""
CAPSTONE_ROLES = ("embed", "residual_out", "head")
"""Layer roles of the capstone network besides one role per block activation."""

_PRESETS = {  # name -> (variance scale, mode, family), as in keras.initializers
    "he_normal": (2.0, "fan_in", "normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "normal"),
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "xavier_normal": (1.0, "fan_avg", "normal"),
    "xavier_uniform": (1.0, "fan_avg", "uniform"),
}
_FIXED = ("random_normal", "random_uniform", "truncated_normal", "ones", "constant")
_SUGGEST = {"relu": "he_normal", "tanh": "glorot_normal", "selu": "lecun_normal"}


@dataclass(frozen=True)
class _InitSpec:
    """What an initializer does, as far as the capstone cares.

    ``kind`` is ``"variance_scaling"``, ``"orthogonal"``, ``"zeros"`` or ``"fixed"`` (a scale
    that ignores the fans); ``scale`` is the variance factor (``VarianceScaling.scale``, the
    square of an orthogonal gain, 0 for zeros).
    """

    kind: str
    scale: float
    mode: str
    family: str
    label: str


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and (name[i - 1].islower() or name[i - 1].isdigit()):
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("-", "_").strip()


def _family(distribution: str) -> str:
    return "uniform" if "uniform" in distribution else "normal"


def _describe_initializer(value: Any) -> Optional[_InitSpec]:
    """Interpret a Keras initializer name or object (duck-typed); ``None`` if unrecognised."""
    if isinstance(value, str):
        name = _snake(value)
        if name in _PRESETS:
            scale, mode, family = _PRESETS[name]
            return _InitSpec("variance_scaling", scale, mode, family, repr(value))
        if name in ("zeros", "zero"):
            return _InitSpec("zeros", 0.0, "", "", repr(value))
        if name in ("orthogonal", "identity"):
            return _InitSpec("orthogonal", 1.0, "", "orthogonal", repr(value))
        if name in _FIXED:
            return _InitSpec("fixed", float("nan"), "", "", repr(value))
        return None
    cls = _snake(type(value).__name__)
    scale, mode, dist = (getattr(value, a, None) for a in ("scale", "mode", "distribution"))
    if isinstance(scale, (int, float)) and not isinstance(scale, bool) and isinstance(mode, str) and isinstance(dist, str):
        label = f"{type(value).__name__}(scale={_g(float(scale))}, mode={mode!r}, distribution={dist!r})"
        return _InitSpec("variance_scaling", float(scale), mode, _family(dist), label)
    if cls in ("orthogonal", "identity", "orthogonal_initializer"):
        gain = getattr(value, "gain", 1.0)
        gain = float(gain) if isinstance(gain, (int, float)) else 1.0
        return _InitSpec("orthogonal", gain**2, "", "orthogonal", f"{type(value).__name__}(gain={_g(gain)})")
    if cls in ("zeros", "zero"):
        return _InitSpec("zeros", 0.0, "", "", f"{type(value).__name__}()")
    if cls == "constant" and getattr(value, "value", None) == 0:
        return _InitSpec("zeros", 0.0, "", "", f"{type(value).__name__}(0)")
    if cls in _FIXED:
        return _InitSpec("fixed", float("nan"), "", "", f"{type(value).__name__}()")
    return None


def _close(a: float, b: float, rel: float = 0.05) -> bool:
    return abs(a - b) <= rel * abs(b)


def _judge_hidden(act: str, spec: _InitSpec) -> Optional[str]:
    """None if ``spec`` suits a square hidden layer followed by ``act``, else what is wrong."""
    want = _SUGGEST[act]
    if spec.kind == "zeros":
        return (
            f"{spec.label} for the {act} layers: a zero kernel makes every unit compute the same "
            f"thing and get the same gradient (symmetry is never broken); use {want}"
        )
    if spec.kind == "fixed":
        return (
            f"{spec.label} for the {act} layers has a fixed scale that ignores the fan-in; use a "
            f"variance-scaling initializer ({want})"
        )
    s = spec.scale
    if act == "relu":
        if _close(s, 2.0):
            return None
        if _close(s, 1.0):
            return (
                f"{spec.label} for the relu layers has variance scale 1: ReLU sets half of its inputs "
                f"to 0 and halves the second moment at every layer; He et al. double the variance to "
                f"compensate (he_normal: variance 2/fan_in)"
            )
        return f"{spec.label} for the relu layers has variance scale {_g(s)}; ReLU needs 2/fan_in (he_normal)"
    if act == "tanh":
        if _close(s, 1.0) or _close(s, 25.0 / 9.0):
            return None
        if _close(s, 2.0):
            return (
                f"{spec.label} for the tanh layers has He's factor 2: tanh is close to the identity "
                f"near 0 (slope 1) and does not zero half of its inputs, so it needs no factor 2; use "
                f"glorot_normal or lecun_normal (variance 1/fan_in)"
            )
        return (
            f"{spec.label} for the tanh layers has variance scale {_g(s)}; tanh keeps the signal with "
            f"variance 1/fan_in (glorot_normal or lecun_normal; PyTorch's gain 5/3 gives 25/9)"
        )
    # selu
    if spec.kind == "orthogonal":
        return (
            f"{spec.label} for the selu layers: SELU's self-normalizing fixed point (mean 0, "
            f"variance 1) is derived for i.i.d. normal weights N(0, 1/fan_in) (Klambauer et al.); "
            f"use lecun_normal"
        )
    if _close(s, 1.0):
        if spec.family == "normal":
            return None
        return (
            f"{spec.label} for the selu layers has the right variance but a uniform distribution; "
            f"SELU's self-normalizing fixed point is derived for normal weights N(0, 1/fan_in) "
            f"(Klambauer et al.), which is why Keras pairs selu with lecun_normal"
        )
    if _close(s, 2.0):
        return (
            f"{spec.label} for the selu layers has He's factor 2: SELU's constants λ and α already "
            f"assume weights of variance 1/fan_in, so scale 2 pushes the variance away from the "
            f"fixed point 1; use lecun_normal"
        )
    return f"{spec.label} for the selu layers has variance scale {_g(s)}; SELU needs 1/fan_in (lecun_normal)"


def _judge_residual(spec: _InitSpec, n_blocks: int) -> Optional[str]:
    limit = 1.0 / n_blocks
    if spec.kind == "zeros":
        return None
    if spec.kind == "fixed":
        return (
            f"{spec.label} for residual_out has a fixed scale that ignores the fan-in and the depth; "
            f"use 'zeros' or a variance scale <= 1/L"
        )
    if spec.scale <= limit * (1.0 + 1e-9):
        return None
    return (
        f"{spec.label} for residual_out with L = {n_blocks} blocks: each residual branch adds about "
        f"{_g(spec.scale)}× the stream's variance, so the residual stream grows block after block "
        f"(roughly (1 + {_g(spec.scale)})^L in variance); start each branch at 0 ('zeros', so that "
        f"every block starts as the identity, as in Fixup, SkipInit or ReZero) or use a variance "
        f"scale <= 1/L = {_g(limit)} that shrinks with the depth"
    )


def _judge_embed(spec: _InitSpec) -> Optional[str]:
    if spec.kind == "zeros":
        return "'zeros' for embed: a zero input projection sends 0 into every block, so the network starts dead"
    if spec.kind == "fixed":
        return f"{spec.label} for embed has a fixed scale that ignores the fan-in; use lecun_normal or glorot_uniform"
    if _close(spec.scale, 1.0):
        return None
    return (
        f"{spec.label} for embed has variance scale {_g(spec.scale)}: the input projection is linear "
        f"(no activation to compensate), so keep the variance with scale 1 (lecun_normal, "
        f"glorot_uniform or orthogonal)"
    )


def _judge_head(spec: _InitSpec) -> Optional[str]:
    if spec.kind == "zeros":
        return None
    if spec.kind == "fixed":
        return f"{spec.label} for head has a fixed scale that ignores the fan-in; use glorot_uniform or zeros"
    if spec.scale <= 1.0 * 1.05:
        return None
    return (
        f"{spec.label} for head has variance scale {_g(spec.scale)}: the head outputs logits (no "
        f"activation), so a factor > 1 only makes the first predictions overconfident; use "
        f"glorot_uniform (the Keras default), lecun_normal or zeros"
    )


def grade_initializer_choice(fn: Callable[[Sequence[str]], dict[str, Any]]) -> CheckResult:
    """Check ``fn(block_activations) -> {role: initializer}`` for the capstone's residual MLP.

    The network (chapter 10): a linear input projection ``embed``; ``L = len(block_activations)``
    residual blocks :math:`h \\leftarrow h + W_2^\\top \\phi(W_1^\\top h)` with :math:`\\phi` from
    :data:`CAPSTONE_ACTIVATIONS`; a linear classifier ``head``. All hidden layers are square
    (64 × 64), so ``fan_in = fan_out = fan_avg`` there and only the variance factor matters.

    The returned dict maps each role to a Keras initializer name (``"he_normal"``) or object
    (``keras.initializers.HeNormal()``, ``VarianceScaling(...)``, ``Orthogonal()``, ``Zeros()``):

    * ``"relu"``: variance 2/fan_in, He {cite}`he2015delving`;
    * ``"tanh"``: variance 1/fan_in or 1/fan_avg (Glorot, LeCun) {cite}`glorot2010understanding`,
      or PyTorch's gain 5/3 (scale 25/9), or orthogonal with gain 1 or 5/3;
    * ``"selu"``: LeCun *normal*, N(0, 1/fan_in) {cite}`klambauer2017self`;
    * ``"residual_out"`` (the second kernel :math:`W_2` of every block): zeros, or a variance
      scale at most :math:`1/L`, so the residual stream does not grow with depth
      {cite}`zhang2019fixup`;
    * ``"embed"``: variance scale 1 (LeCun, Glorot or orthogonal);
    * ``"head"``: variance scale at most 1, or zeros.

    Only the activations present need a key (extra keys for the other capstone activations are
    allowed). The function is also called for ``["selu"] * 48`` and ``["relu", "tanh"]``: the
    residual scale must shrink with the depth.
    """
    checks = ("called", "returns a dict", "roles", "recognised", "relu", "tanh", "selu",
              "residual_out", "embed", "head", "other depths")  # fmt: skip
    s = _Session("choose_initializers", fn, checks)
    main = ["relu", "tanh", "selu"] * 4

    def judge(acts: Sequence[str], full: bool) -> None:
        call = f"choose_initializers({_short(list(acts)) if len(acts) <= 4 else repr(acts[0]) + ' × ' + str(len(acts))})"
        out = s.call(list(acts))
        if full:
            s.step("returns a dict")
        if out is None:
            s.fail(f"{call} returned None: did you forget the `return` statement?")
        if not isinstance(out, dict) or not all(isinstance(k, str) for k in out):
            s.fail(f"{call} returned a {type(out).__name__}; return a dict {{role name: initializer}}")
        if full:
            s.step("roles")
        needed = list(CAPSTONE_ROLES) + sorted(set(acts), key=list(CAPSTONE_ACTIVATIONS).index)
        missing = [k for k in needed if k not in out]
        if missing:
            s.fail(f"{call} has no initializer for {', '.join(map(repr, missing))}; the roles are {', '.join(map(repr, needed))}")
        unknown = [k for k in out if k not in CAPSTONE_ROLES and k not in CAPSTONE_ACTIVATIONS]
        if unknown:
            s.fail(
                f"{call} has unknown key(s) {', '.join(map(repr, unknown))} that the model builder would "
                f"ignore (a typo?); the roles are {', '.join(map(repr, needed))}"
            )
        if full:
            s.step("recognised")
        specs: dict[str, _InitSpec] = {}
        for role in needed:
            spec = _describe_initializer(out[role])
            if spec is None:
                s.fail(
                    f"{role}: cannot interpret {out[role]!r}; use a Keras initializer name such as "
                    f"'he_normal' or an object such as keras.initializers.HeNormal(), "
                    f"VarianceScaling(...), Orthogonal() or Zeros()"
                )
            specs[role] = spec
        order = [a for a in CAPSTONE_ACTIVATIONS if a in acts] + ["residual_out", "embed", "head"]
        for role in order:
            if full and role in s.checks:
                s.step(role)
            if role in CAPSTONE_ACTIVATIONS:
                problem = _judge_hidden(role, specs[role])
            elif role == "residual_out":
                problem = _judge_residual(specs[role], len(acts))
            elif role == "embed":
                problem = _judge_embed(specs[role])
            else:
                problem = _judge_head(specs[role])
            if problem is not None:
                where = "" if full else f" (for the network with blocks {call.split('(', 1)[1][:-1]})"
                s.fail(problem + where)

    judge(main, full=True)
    s.step("other depths")
    for acts in (["selu"] * 48, ["relu", "tanh"]):
        judge(acts, full=False)
    return s.success("He for relu, Glorot/LeCun for tanh, LeCun normal for selu, a depth-aware residual branch, embed and head all fit")


def _layer_activation(layer: Any) -> Optional[str]:
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    return getattr(fn, "__name__", type(fn).__name__)


def _has_kernel(layer: Any) -> bool:
    try:
        return getattr(layer, "kernel", None) is not None
    except Exception:  # noqa: BLE001 - a property that raises means no kernel
        return False


def _leaves(model: Any) -> list[Any]:
    out = []
    for layer in getattr(model, "layers", []):
        if not _has_kernel(layer) and getattr(layer, "layers", None):
            out.extend(_leaves(layer))
        else:
            out.append(layer)
    return out


def capstone_hidden_layers(model: Any) -> list[str]:
    """Names of the hidden layers of a (duck-typed) Keras model: layers with a kernel and a nonlinear activation.

    Linear layers (an input projection, the last kernel of a residual branch, the classifier
    head) are not hidden layers in this sense. Nested models are opened.
    """
    return [
        layer.name
        for layer in _leaves(model)
        if _has_kernel(layer) and _layer_activation(layer) not in (None, "linear")
    ]


def _build(s: _Session, build: Callable[[], Any], what: str) -> Any:
    try:
        return build()
    except NotImplementedError:
        s.fail(f"building {what} failed: a function it needs (your choose_initializers?) is not implemented yet; finish task (a) first")
    except ExerciseError:
        raise
    except Exception as exc:
        s.fail(f"building {what} raised {type(exc).__name__}: {exc}")
    raise AssertionError("unreachable")  # pragma: no cover


def _check_factory(value: Any, name: str) -> None:
    if not callable(value):
        raise TypeError(f"{name}: expected a function with no arguments that builds the model, got {type(value).__name__} {value!r}")


def grade_layer_report(
    fn: Callable[[Any, np.ndarray], dict[str, float]],
    build: Callable[[], Any],
    x: np.ndarray,
    *,
    low: float = 0.5,
    high: float = 2.0,
) -> CheckResult:
    """Check ``fn(model, x) -> {layer name: activation std}`` on the model ``build()`` makes.

    Checks, in order (partial credit counts the ones passed): the call works; the report is a
    dict with one finite std per hidden layer; it is measured; the hidden layers' stds are in
    range in the first, middle and last third of the network.

    The report must have one entry per hidden layer (:func:`capstone_hidden_layers`: a kernel
    and a nonlinear activation), each the standard deviation of that layer's output on the batch
    ``x`` at initialization (what :func:`initcourse.diagnostics.layer_stats` reports as
    ``out_std``); on an all-zero batch every entry must be 0 (zero biases and
    :math:`\\phi(0) = 0` for relu, tanh and selu), which tells a measured report from one computed
    from the weights or made up. Finally every std must lie in ``[low, high]``: the
    initialization keeps the forward signal at a usable scale in every block
    {cite}`glorot2010understanding,he2015delving`.

    Parameters
    ----------
    fn : callable
        The student's ``init_report(model, x)``.
    build : callable
        ``build()`` returns the freshly initialized model (built with the student's initializers).
    x : numpy.ndarray
        A batch of at least 2 inputs.
    low, high : float
        The accepted range of every hidden layer's std.
    """
    _check_factory(build, "build")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or x.shape[0] < 2:
        raise ValueError(f"x: expected a batch of at least 2 examples, got shape {x.shape}")
    if not 0 < low < high:
        raise ValueError(f"low, high: expected 0 < low < high, got low={low!r}, high={high!r}")
    thirds = ("early layers in range", "middle layers in range", "late layers in range")
    s = _Session("init_report", fn, ("called", "report", "measured") + thirds)
    model = _build(s, build, "the model")  # a failure here fails "called": no credit without a model
    hidden = capstone_hidden_layers(model)
    if not hidden:
        raise ValueError("build: the model has no hidden layer (a layer with a kernel and a nonlinear activation)")
    acts = {layer.name: _layer_activation(layer) for layer in _leaves(model)}
    report = s.call(model, x)
    s.step("report")
    if report is None:
        s.fail("init_report(model, x) returned None: did you forget the `return` statement?")
    if not isinstance(report, dict):
        s.fail(f"init_report(model, x) returned a {type(report).__name__}; return a dict {{layer name: std}}")
    missing = [n for n in hidden if n not in report]
    extra = [n for n in report if n not in hidden]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        s.fail(
            f"the report has no entry for {', '.join(map(repr, missing[:3]))}{more}; report every layer "
            f"with a kernel and a nonlinear activation ({len(hidden)} layers: {hidden[0]!r} ... {hidden[-1]!r})"
        )
    if extra:
        more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
        s.fail(
            f"{', '.join(map(repr, extra[:3]))}{more} are not hidden layers (linear layers such as the input "
            f"projection, the residual outputs and the head, or unknown names); keep only the layers whose "
            f"activation is nonlinear (row['activation'] not in (None, 'linear'))"
        )
    values: dict[str, float] = {}
    for name in hidden:
        try:
            v = float(report[name])
        except (TypeError, ValueError):
            s.fail(f"report[{name!r}] is {report[name]!r}; expected a number (the std of the layer's output)")
        if not math.isfinite(v) or v < 0:
            s.fail(f"report[{name!r}] = {_g(v)}; a standard deviation is a finite number >= 0")
        values[name] = v
    s.step("measured")
    zero_report = s.call(model, np.zeros_like(x))
    if not isinstance(zero_report, dict):
        s.fail(f"init_report(model, zeros) returned a {type(zero_report).__name__}; return a dict {{layer name: std}}")
    for name in hidden:
        try:
            v0 = float(zero_report.get(name, float("nan")))
        except (TypeError, ValueError):
            v0 = float("nan")
        if not abs(v0) <= 1e-6:
            s.fail(
                f"on an all-zero batch the report gives {_g(v0)} for {name!r}, but there every activation "
                f"is exactly 0 (zero biases, φ(0) = 0): measure the layer outputs on the batch x "
                f"(initcourse.diagnostics.layer_stats), do not compute the std from the weights or set it by hand"
            )
    bad = [(n, v) for n, v in values.items() if not low <= v <= high]
    groups = np.array_split(np.arange(len(hidden)), 3)
    for check, group in zip(thirds, groups):
        s.step(check)
        if any(hidden[i] in dict(bad) for i in group):
            worst = max(bad, key=lambda nv: abs(math.log(max(nv[1], 1e-12) / math.sqrt(low * high))))
            name, v = worst
            act = acts.get(name)
            if v > high:
                why = (
                    f"the signal grows along the residual stream; initialize the last kernel of each residual "
                    f"branch with zeros or a variance scale <= 1/L, and use {_SUGGEST.get(act, 'a variance-preserving initializer')} "
                    f"for the {act} layers"
                )
            else:
                why = f"the signal shrinks; use {_SUGGEST.get(act, 'a variance-preserving initializer')} for the {act} layers"
            listed = ", ".join(f"{n} {_g(val)}" for n, val in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            s.fail(
                f"at initialization {len(bad)} of {len(hidden)} hidden layers have an activation std outside "
                f"[{_g(low)}, {_g(high)}] ({listed}); the furthest is {name} ({_g(v)}): {why}"
            )
    lo, hi = min(values.values()), max(values.values())
    return s.success(
        f"all {len(hidden)} hidden layers have an activation std in [{lo:.3f}, {hi:.3f}] ⊂ [{_g(low)}, {_g(high)}]"
    )


def _final_accuracy(s: _Session, history: Any, what: str) -> tuple[int, float]:
    steps = getattr(history, "steps", None)
    accs = getattr(history, "test_accuracy", None)
    if history is None:
        s.fail(f"{what} returned None: return the History that initcourse.training.train returns")
    if not isinstance(steps, (list, tuple)) or not isinstance(accs, (list, tuple)) or not steps or not accs:
        s.fail(
            f"{what} returned a {type(history).__name__} without recorded steps and test accuracies; "
            f"return the History that initcourse.training.train returns"
        )
    try:
        acc = float(accs[-1])
        last = int(steps[-1])
    except (TypeError, ValueError):
        s.fail(f"{what}: the history's last step/test accuracy are not numbers ({steps[-1]!r}, {accs[-1]!r})")
    return last, acc


def grade_training_run(
    fn: Callable[[Any, Any, int], Any],
    build: Callable[[], Any],
    data: Any,
    *,
    baseline_build: Callable[[], Any],
    budget: int,
    threshold: float,
    tolerance: float = 0.01,
) -> CheckResult:
    """Check a short training run ``fn(model, data, steps) -> History`` of the capstone network.

    ``fn`` trains the model ``build()`` (the student's initialization) for at most ``budget``
    optimizer steps and returns its :class:`initcourse.training.History`. Graded: the budget is
    kept (last recorded step <= ``budget``); the final test accuracy reaches ``threshold``; and
    it is at least the accuracy that the *same* function reaches from the default
    initialization (``baseline_build()``) minus ``tolerance``. Only the initialization differs
    between the two runs: same training code, data, budget and seed.

    Parameters
    ----------
    fn : callable
        The student's ``train_capstone(model, data, steps)``.
    build, baseline_build : callable
        Zero-argument factories of the freshly initialized model: the student's initialization
        and the default one.
    data : initcourse.data.Dataset
        Passed to ``fn`` unchanged.
    budget : int
        Maximum number of optimizer steps (passed to ``fn`` as ``steps``).
    threshold : float
        Final test accuracy required.
    tolerance : float
        How far below the baseline's accuracy the run may end.
    """
    _check_factory(build, "build")
    _check_factory(baseline_build, "baseline_build")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget: expected an int >= 1, got {budget!r}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold: expected an accuracy in (0, 1], got {threshold!r}")
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance: expected a number in [0, 1), got {tolerance!r}")
    s = _Session("train_capstone", fn, ("called", "returns a History", "budget", "threshold", "baseline"))
    model = _build(s, build, "the model")  # a failure here fails "called": no credit without a model
    history = s.call(model, data, budget)
    s.step("returns a History")
    last, acc = _final_accuracy(s, history, "train_capstone(model, data, steps)")
    s.step("budget")
    if last > budget:
        s.fail(f"the run took {last} steps; the budget is {budget} steps (train with steps=steps)")
    s.step("threshold")
    if not acc >= threshold:
        why = (
            "the run diverged (NaN): lower the learning rate or fix the initialization"
            if math.isnan(acc)
            else "check the initialization (task (b)) and the learning rate"
        )
        s.fail(f"final test accuracy {acc:.3f} after {last} steps is below the threshold {threshold:.3f}: {why}")
    s.step("baseline")
    base_model = _build(s, baseline_build, "the default-initialized model")
    base_last, base_acc = _final_accuracy(s, s.call(base_model, data, budget), "train_capstone(default model, data, steps)")
    base = 0.0 if math.isnan(base_acc) else base_acc
    if acc < base - tolerance:
        s.fail(
            f"with the same training the default initialization reaches {base:.3f}, yours {acc:.3f} "
            f"(tolerance {tolerance:.3f}): your initialization should not train worse than the default"
        )
    return s.success(
        f"test accuracy {acc:.3f} after {last} steps (threshold {threshold:.3f}); the default "
        f"initialization reaches {base_acc:.3f} with the same training"
    )


__all__ += [  # noqa: PLE0604 - appended for the capstone
    "CAPSTONE_ACTIVATIONS",
    "CAPSTONE_ROLES",
    "capstone_hidden_layers",
    "grade_initializer_choice",
    "grade_layer_report",
    "grade_training_run",
]
