"""Chapters 1, 3, 5 and 7: the variance-scaling initializers (Glorot, He, LeCun; uniform
and normal)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .core import CheckResult, _array, _finite, _float32, _g, _seeding, _Session, _shape
from .fans import _ref_fans

__all__ = [
    "check_glorot_normal",
    "check_glorot_uniform",
    "check_he_normal",
    "check_he_uniform",
    "check_lecun_normal",
]

#: Standard deviation of N(0, 1) truncated to [-2, 2] (computed independently of
#: ``theory``).
_TRUNC_STD = math.sqrt(
    1.0
    - 4.0 * math.exp(-2.0) / math.sqrt(2.0 * math.pi) / math.erf(2.0 / math.sqrt(2.0))
)


# --------------------------------------------------------------------------------------
# Variance-scaling initializers
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Mistake:
    message: str
    variance: Callable[[tuple[int, ...]], float]


@dataclass(frozen=True)
class _Spec:
    name: str
    family: str  # "uniform" | "normal"
    variance: Callable[[int, int], float]
    formula: Callable[
        [int, int], str
    ]  # the limit (uniform) or std (normal), with numbers
    mistakes: tuple[_Mistake, ...]


def _fans_mistakes(spec_var: Callable[[int, int], float]) -> tuple[_Mistake, ...]:
    """Right formula, wrong fans: the layout mistakes."""

    def swapped(shape: tuple[int, ...]) -> float:
        fi, fo = _ref_fans(shape)
        return spec_var(fo, fi)

    def no_rf(shape: tuple[int, ...]) -> float:
        return (
            spec_var(shape[-2], shape[-1])
            if len(shape) >= 3
            else spec_var(*_ref_fans(shape))
        )

    def torch(shape: tuple[int, ...]) -> float:
        if len(shape) < 3:
            return spec_var(shape[1], shape[0])
        r = int(np.prod(shape[2:]))
        return spec_var(shape[1] * r, shape[0] * r)

    return (
        _Mistake(
            "fan_in and fan_out are swapped? In the Keras layout fan_in = "
            "shape[-2]·r, fan_out = shape[-1]·r",
            swapped,
        ),
        _Mistake(
            "did you forget the receptive field? For a conv kernel fan_in = "
            "in_channels · prod(kernel_size)",
            no_rf,
        ),
        _Mistake(
            "did you use PyTorch's (out, in, *kernel) layout? Keras kernels "
            "are (*kernel_size, in, out)",
            torch,
        ),
    )


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    return _ref_fans(shape)


def _with_fans(f: Callable[[int, int], float]) -> Callable[[tuple[int, ...]], float]:
    return lambda shape: f(*_fans(shape))


_LIMIT_AS_STD = (
    "you used the uniform limit √3·σ as the std? For a normal the std itself is σ"
)
_VAR_AS_STD = (
    "you passed the variance where the standard deviation goes? The scale of a "
    "normal draw is its standard deviation, the square root of the variance"
)
_STD_AS_LIMIT = (
    "you used the std σ as the limit? U(−a, a) has variance a²/3, so a = √3·σ"
)
_UNCORRECTED = (
    "you truncated at 2σ without Keras' correction? Truncation shrinks the "
    "std by 0.8796: divide σ by 0.87962566 before truncating (or draw an "
    "untruncated normal)"
)


def _specs() -> dict[str, _Spec]:
    glorot = lambda fi, fo: 2.0 / (fi + fo)  # noqa: E731
    he = lambda fi, fo: 2.0 / fi  # noqa: E731
    lecun = lambda fi, fo: 1.0 / fi  # noqa: E731

    def normal_mistakes(v: Callable[[int, int], float]) -> tuple[_Mistake, ...]:
        return (
            _Mistake(_LIMIT_AS_STD, _with_fans(lambda fi, fo: 3.0 * v(fi, fo))),
            _Mistake(_VAR_AS_STD, _with_fans(lambda fi, fo: v(fi, fo) ** 2)),
            _Mistake(
                _UNCORRECTED, _with_fans(lambda fi, fo: v(fi, fo) * _TRUNC_STD**2)
            ),
            _Mistake(
                "did you put the square root only on the numerator? The std "
                "is √(k/n), not √k/n",
                _with_fans(lambda fi, fo: v(fi, fo) / _n(v, fi, fo)),
            ),
        )

    def uniform_mistakes(v: Callable[[int, int], float]) -> tuple[_Mistake, ...]:
        return (
            _Mistake(_STD_AS_LIMIT, _with_fans(lambda fi, fo: v(fi, fo) / 3.0)),
            _Mistake(
                "did you put the square root only on the numerator? The "
                "limit is √(k/n), not √k/n",
                _with_fans(lambda fi, fo: v(fi, fo) / _n(v, fi, fo)),
            ),
            _Mistake(
                "did you forget the square root? The limit is √(k/n), not k/n",
                _with_fans(lambda fi, fo: (3.0 * v(fi, fo)) ** 2 / 3.0),
            ),
        )

    def glorot_specific() -> tuple[_Mistake, ...]:
        return (
            _Mistake(
                "did you use fan_in only? Glorot uses fan_in + fan_out",
                _with_fans(lambda fi, fo: 2.0 / fi),
            ),
            _Mistake(
                "did you use fan_out only? Glorot uses fan_in + fan_out",
                _with_fans(lambda fi, fo: 2.0 / fo),
            ),
            _Mistake(
                "did you divide by the average (fan_in+fan_out)/2 and keep "
                "the 6 (or 2)? The formula already contains the 1/2: use "
                "fan_in + fan_out",
                _with_fans(lambda fi, fo: 4.0 / (fi + fo)),
            ),
        )

    def he_specific() -> tuple[_Mistake, ...]:
        return (
            _Mistake(
                "did you forget the ReLU factor 2? Without it this is LeCun's 1/fan_in",
                _with_fans(lambda fi, fo: 1.0 / fi),
            ),
            _Mistake(
                "did you use fan_in + fan_out (Glorot)? He uses fan_in only",
                _with_fans(lambda fi, fo: 2.0 / (fi + fo)),
            ),
            _Mistake(
                "did you use fan_out? He (mode fan_in) divides by fan_in",
                _with_fans(lambda fi, fo: 2.0 / fo),
            ),
        )

    def lecun_specific() -> tuple[_Mistake, ...]:
        return (
            _Mistake(
                "did you add the ReLU factor 2 (that is He)? LeCun's "
                "variance is 1/fan_in",
                _with_fans(lambda fi, fo: 2.0 / fi),
            ),
            _Mistake(
                "did you use fan_in + fan_out (Glorot)? LeCun uses fan_in only",
                _with_fans(lambda fi, fo: 2.0 / (fi + fo)),
            ),
            _Mistake(
                "did you use fan_out? LeCun divides by fan_in",
                _with_fans(lambda fi, fo: 1.0 / fo),
            ),
        )

    return {
        "glorot_uniform": _Spec(
            "glorot_uniform",
            "uniform",
            glorot,
            lambda fi, fo: f"√(6/({fi}+{fo})) = {_g(math.sqrt(6.0 / (fi + fo)))}",
            glorot_specific() + uniform_mistakes(glorot) + _fans_mistakes(glorot),
        ),
        "glorot_normal": _Spec(
            "glorot_normal",
            "normal",
            glorot,
            lambda fi, fo: f"√(2/({fi}+{fo})) = {_g(math.sqrt(2.0 / (fi + fo)))}",
            glorot_specific() + normal_mistakes(glorot) + _fans_mistakes(glorot),
        ),
        "he_normal": _Spec(
            "he_normal",
            "normal",
            he,
            lambda fi, fo: f"√(2/{fi}) = {_g(math.sqrt(2.0 / fi))}",
            he_specific() + normal_mistakes(he) + _fans_mistakes(he),
        ),
        "he_uniform": _Spec(
            "he_uniform",
            "uniform",
            he,
            lambda fi, fo: f"√(6/{fi}) = {_g(math.sqrt(6.0 / fi))}",
            he_specific() + uniform_mistakes(he) + _fans_mistakes(he),
        ),
        "lecun_normal": _Spec(
            "lecun_normal",
            "normal",
            lecun,
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
        spec.name,
        fn,
        (
            "called",
            "returns an array",
            "shape",
            "dtype",
            "finite",
            "mean",
            "distribution",
            "scale",
            "range",
            "seeding",
        ),
    )
    results: dict[tuple[int, ...], np.ndarray] = {}
    shape: tuple[int, ...]
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
            s.fail(
                f"{spec.name}(shape={shape}, rng) returned a constant array "
                f"({_g(float(w.flat[0]))}): the weights must be random"
            )
        if w.min() >= 0:
            s.fail(
                f"all values returned for shape={shape} are ≥ 0: the weights "
                "must be centred on 0 "
                + (
                    "(draw from U(−limit, limit), not U(0, limit))"
                    if spec.family == "uniform"
                    else "(no abs())"
                )
            )
        if abs(float(w.mean())) > 6.0 * sd / math.sqrt(n):
            s.fail(
                f"the mean of the values for shape={shape} is "
                f"{_g(float(w.mean()))}, far from 0 (std {_g(sd)}): centre "
                "the distribution on 0"
            )
    s.step("distribution")

    w = results[_DENSE]
    ratio = float(np.abs(w).max() / w.std())
    if spec.family == "uniform" and ratio > 1.9:
        s.fail(
            "your values look normally distributed (max|w|/std = "
            f"{ratio:.2f}; a uniform gives √3 ≈ 1.73): {spec.name} draws "
            "from a uniform distribution U(−limit, limit)"
        )
    if spec.family == "normal" and ratio < 1.9:
        s.fail(
            "your values look uniformly distributed (max|w|/std = "
            f"{ratio:.2f}; a normal gives ≈ 4, a Keras truncated normal ≈ "
            f"2.27): {spec.name} draws from a normal distribution"
        )
    s.step("scale")

    # Scale: the sample variance against the expected one, on both shapes; diagnose the
    # mistake.
    observed = {shape: float(w.var()) for shape, w in results.items()}
    tol = {shape: 6.0 * math.sqrt(2.0 / w.size) for shape, w in results.items()}

    def matches(v_obs: float, v_ref: float, shape: tuple[int, ...]) -> bool:
        return (
            math.isfinite(v_ref)
            and v_ref > 0
            and abs(v_obs / v_ref - 1.0) <= tol[shape]
        )

    bad = [
        sh for sh in results if not matches(observed[sh], spec.variance(*_fans(sh)), sh)
    ]
    if bad:
        shape = bad[0]
        fi, fo = _fans(shape)
        v = spec.variance(fi, fo)
        diagnosis = ""
        for mistake in spec.mistakes:
            if all(matches(observed[sh], mistake.variance(sh), sh) for sh in results):
                if not all(
                    matches(mistake.variance(sh), spec.variance(*_fans(sh)), sh)
                    for sh in results
                ):
                    diagnosis = mistake.message
                    break
        w = results[shape]
        if spec.family == "uniform":
            head = (
                f"values reach {_g(float(np.abs(w).max()))} but the limit "
                f"for shape {shape} (fan_in={fi}, fan_out={fo}) is "
                f"{spec.formula(fi, fo)}"
            )
        else:
            head = (
                f"sample std {_g(math.sqrt(observed[shape]))} but the std "
                f"for shape {shape} (fan_in={fi}, fan_out={fo}) is "
                f"{spec.formula(fi, fo)} (sample variance "
                f"{_g(observed[shape])} = {observed[shape] / v:.2f} × the "
                f"expected {_g(v)})"
            )
        s.fail(
            f"{head} — {diagnosis}"
            if diagnosis
            else f"{head}; check your {quantity} formula"
        )
    s.step("range")

    for shape, w in results.items():
        fi, fo = _fans(shape)
        if spec.family == "uniform":
            limit = math.sqrt(3.0 * spec.variance(fi, fo))
            top = float(np.abs(w).max())
            if top > limit * (1 + 1e-6):
                s.fail(
                    f"values reach {_g(top)}, beyond the limit "
                    f"{spec.formula(fi, fo)} for shape {shape}"
                )
            if top < 0.97 * limit:
                s.fail(
                    f"values only reach {_g(top)} while the limit for shape "
                    f"{shape} is {spec.formula(fi, fo)}: draw from the whole "
                    "interval U(−limit, limit)"
                )
    s.step("seeding")
    _seeding(s, lambda r: s.call(_DENSE, r))
    checks = "range" if spec.family == "uniform" else "std"
    return s.success(f"shape, dtype, {checks}, variance and seeding all correct")


def check_glorot_uniform(
    fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray],
) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` drawn from Glorot's uniform
    distribution.

    :math:`W \\sim U(-a, a)` with :math:`a =
    \\sqrt{6/(\\text{fan\\_in}+\\text{fan\\_out})}`, i.e. :math:`\\mathrm{Var}(W) =
    2/(\\text{fan\\_in}+\\text{fan\\_out})` :cite:`glorot2010understanding`; fans in the
    Keras layout. Checked on a dense ``(256, 128)`` and a conv ``(3, 3, 16, 32)`` shape.
    """
    return _check_variance_scaling(_specs()["glorot_uniform"], fn)


def check_glorot_normal(
    fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray],
) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` with std
    :math:`\\sqrt{2/(\\text{fan\\_in}+\\text{fan\\_out})}`.

    Either an untruncated normal or Keras' truncated normal (std divided by 0.8796, cut
    at 2σ) passes :cite:`glorot2010understanding`.
    """
    return _check_variance_scaling(_specs()["glorot_normal"], fn)


def check_he_normal(
    fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray],
) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` with std
    :math:`\\sqrt{2/\\text{fan\\_in}}` :cite:`he2015delving`.

    Untruncated or Keras-truncated normals both pass.
    """
    return _check_variance_scaling(_specs()["he_normal"], fn)


def check_he_uniform(
    fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray],
) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` drawn from :math:`U(-a, a)`, :math:`a =
    \\sqrt{6/\\text{fan\\_in}}`.

    :cite:`he2015delving`
    """
    return _check_variance_scaling(_specs()["he_uniform"], fn)


def check_lecun_normal(
    fn: Callable[[tuple[int, ...], np.random.Generator], np.ndarray],
) -> CheckResult:
    """Check ``fn(shape, rng) -> float32 array`` with std
    :math:`\\sqrt{1/\\text{fan\\_in}}` :cite:`lecun1998efficient`.

    Untruncated or Keras-truncated normals both pass.
    """
    return _check_variance_scaling(_specs()["lecun_normal"], fn)
