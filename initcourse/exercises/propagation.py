"""Chapters 1 and 4: signal propagation (``forward_std`` simulation,
``variance_recursion`` and ``edge_of_chaos`` of mean-field theory)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np

from .core import CheckResult, ExerciseError, _g, _one_blas_thread, _seeding, _Session

__all__ = ["check_edge_of_chaos", "check_forward_std", "check_variance_recursion"]


# --------------------------------------------------------------------------------------
# Mean-field variance recursion
# --------------------------------------------------------------------------------------
def _recursion(
    q0: float, sw2: float, sb2: float, depth: int, act: str, first_linear: bool = False
) -> np.ndarray:
    out, q = [], q0
    for layer in range(depth):
        factor = 0.5 if (act == "relu" and not (first_linear and layer == 0)) else 1.0
        q = sw2 * factor * q + sb2
        out.append(q)
    return np.array(out)


def check_variance_recursion(
    fn: Callable[[float, float, float, int, str], Sequence[float]],
) -> CheckResult:
    """Check ``fn(q0, sigma_w2, sigma_b2, depth, activation) -> array of length depth``.

    The mean-field length map :cite:`poole2016exponential` for the pre-activations
    :math:`h^l = W^l\\,\\phi(h^{l-1}) + b^l` of an infinitely wide network, starting
    from :math:`q^0 = \\mathrm{Var}(h^0)`:

    .. math::

        q^l = \\sigma_w^2\\,\\mathbb{E}[\\phi(h^{l-1})^2] + \\sigma_b^2, \\qquad
        l = 1, \\dots, \\text{depth},

    with the closed forms :math:`\\mathbb{E}[\\phi^2] = q^{l-1}` for ``"linear"`` and
    :math:`q^{l-1}/2` for ``"relu"`` :cite:`he2015delving`. Return :math:`[q^1, \\dots,
    q^{\\text{depth}}]`.
    """
    cases = [
        ("linear", (1.5, 0.9, 0.05, 8, "linear")),
        ("relu", (1.0, 1.5, 0.1, 8, "relu")),
        ("relu at He", (1.0, 2.0, 0.0, 10, "relu")),
    ]
    s = _Session(
        "variance_recursion", fn, ("called", "length") + tuple(c[0] for c in cases)
    )
    for i, (label, args) in enumerate(cases):
        q0, sw2, sb2, depth, act = args
        call = (
            f"variance_recursion(q0={q0}, sigma_w2={sw2}, sigma_b2={sb2}, "
            f"depth={depth}, activation={act!r})"
        )
        out = s.call(*args)
        if i == 0:
            s.step("length")
        try:
            q = np.asarray(out, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            s.fail(f"{call} returned {out!r}; return a sequence of numbers")
        want = _recursion(*args)
        if q.size == depth + 1 and math.isclose(float(q[0]), q0):
            s.fail(
                f"{call} returned {depth + 1} values starting with q0; "
                f"return only q¹ … q^depth (length depth = {depth})"
            )
        if q.size != depth:
            s.fail(
                f"{call} returned {q.size} values; expected one per layer, "
                f"length depth = {depth}"
            )
        if i == 0:
            s.step(label)
        if np.allclose(q, want, rtol=1e-6, atol=1e-12):
            if i + 1 < len(cases):
                s.step(cases[i + 1][0])
            continue
        msg = (
            f"{call} returned q = [{', '.join(_g(v) for v in q[:3])}, …]; "
            f"expected [{', '.join(_g(v) for v in want[:3])}, …]"
        )
        alternatives = [
            (
                _recursion(q0, sw2, sb2, depth, "linear"),
                ": ReLU keeps half the second moment, E[relu(h)²] = q/2: multiply by ½",
            ),
            (_recursion(q0, sw2, 0.0, depth, act), ": you forgot to add sigma_b2"),
            (
                _recursion(q0, sw2**2, sb2, depth, act),
                ": sigma_w2 is already the variance σ_w²; do not square it",
            ),
            (
                _recursion(q0, math.sqrt(sw2), sb2, depth, act),
                ": multiply by sigma_w2 = σ_w² itself, not its square root",
            ),
            (
                _recursion(q0, sw2, sb2, depth, act, first_linear=True),
                ": q0 is the variance of the pre-activations h⁰, so the "
                "activation applies from the first step: q¹ = σ_w² q⁰/2 + "
                "σ_b²",
            ),
            (
                _recursion(q0, sw2, sb2**2, depth, act),
                ": sigma_b2 is already the variance σ_b²; do not square it",
            ),
        ]
        for alt, why in alternatives:
            if not np.allclose(alt, want, rtol=1e-6) and np.allclose(
                q, alt, rtol=1e-6, atol=1e-12
            ):
                msg += why
                break
        s.fail(msg)
    return s.success("linear and relu recursions, bias and length all correct")


# --------------------------------------------------------------------------------------
# Forward-pass simulation
# --------------------------------------------------------------------------------------
_ACTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda h: h,
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
}
_BATCH = 256


def _simulate(
    depth: int,
    width: int,
    init_std: float,
    act: str,
    rng: np.random.Generator,
    variant: str = "",
) -> np.ndarray:
    phi = _ACTS[act]
    x = rng.standard_normal((_BATCH, width))
    out = []
    for layer in range(depth):
        w = rng.normal(0.0, init_std, size=(width, width))
        if variant == "act first":
            h = phi(x) @ w
            x = h
        else:
            h = x @ w
            x = phi(h)
        last_pre = variant == "last pre" and layer == depth - 1
        out.append((h if variant == "pre" or last_pre else x).std())
    return np.log(np.array(out))


def check_forward_std(
    fn: Callable[[int, int, float, str, np.random.Generator], np.ndarray],
) -> CheckResult:
    """Check ``fn(depth, width, init_std, activation, rng) -> array of length depth``.

    The numpy forward pass the chapter simulates: an input batch ``x =
    rng.standard_normal((256, width))``; for each of ``depth`` layers draw ``W =
    rng.normal(0, init_std, size=(width, width))`` (no bias) and set ``x = act(x @ W)``
    with ``act`` one of ``"linear"``, ``"relu"``, ``"tanh"``; return ``np.std(x)`` after
    every layer. The draws must come in that order (the batch, then one ``W`` per
    layer), so that the same seed gives the same network: the result is compared with
    the checker's own simulation of that seed (relative tolerance 1e-3, which float32
    rounding stays well within) :cite:`glorot2010understanding`. Common mistakes are
    recognised against 12 reference simulations.
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
    s = _Session(
        "forward_std",
        fn,
        ("called", "length") + tuple(c[0] for c in configs) + ("seeding",),
    )
    for i, (label, args) in enumerate(configs):
        depth, width, init_std, act = args
        call = (
            f"forward_std(depth={depth}, width={width}, init_std={init_std:.4g}, "
            f"activation={act!r}, rng)"
        )
        out = s.call(depth, width, init_std, act, np.random.default_rng(5))
        if i == 0:
            s.step("length")
        try:
            got = np.asarray(out, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            s.fail(f"{call} returned {out!r}; return an array of numbers")
        if got.size == depth + 1:
            s.fail(
                f"{call} returned {depth + 1} values; return one std per "
                f"layer (length depth = {depth}), without the input"
            )
        if got.size != depth:
            s.fail(
                f"{call} returned {got.size} values; expected one std per "
                f"layer, length depth = {depth}"
            )
        if not np.all(np.isfinite(got)) or np.any(got <= 0):
            s.fail(
                f"{call} returned non-positive or non-finite stds: "
                f"[{', '.join(_g(v) for v in got[:4])}, …]"
            )
        if i == 0:
            s.step(label)

        def reference(
            variant: str = "", std: float = init_std, a: str = act
        ) -> tuple[np.ndarray, np.ndarray]:
            runs = np.array(
                [
                    _simulate(
                        depth,  # noqa: B023 (reference is called in this iteration only)
                        width,  # noqa: B023
                        std,
                        a,
                        np.random.default_rng(900 + k),
                        variant,
                    )
                    for k in range(12)
                ]
            )
            return runs.mean(axis=0), 6.0 * runs.std(axis=0) + 0.02

        # The exercise fixes the order of the draws, so the same seed must give the same
        # network: compare exactly (up to float32 rounding) with the simulation of that
        # seed.
        exact = np.exp(_simulate(depth, width, init_std, act, np.random.default_rng(5)))
        if np.allclose(got, exact, rtol=1e-3, atol=0.0):
            if i + 1 < len(configs):
                s.step(configs[i + 1][0])
            continue
        mean, tol = reference()
        log_got = np.log(got)
        want = np.exp(mean)
        msg = (
            f"{call} returned stds [{', '.join(_g(v) for v in got[:3])}, …, "
            f"{_g(got[-1])}]; a reference simulation gives "
            f"[{', '.join(_g(v) for v in want[:3])}, …, {_g(want[-1])}]"
        )
        alternatives = [
            (
                ("", math.sqrt(init_std), act),
                ": init_std is the standard deviation of the weights; you "
                "used it as the variance",
            ),
            (
                ("", init_std / math.sqrt(width), act),
                ": init_std is already the std of each weight; do not divide "
                "by √width again",
            ),
            (
                ("pre", init_std, act),
                ": return the std of the activations act(x @ W), not of the "
                "pre-activations x @ W",
            ),
            (
                ("act first", init_std, act),
                ": each layer computes x = act(x @ W): multiply first, then "
                "apply the activation",
            ),
            (("", init_std, "linear"), f": you did not apply the activation {act!r}"),
            (
                ("last pre", init_std, act),
                ": the last layer's std is that of x @ W: apply the "
                "activation after every layer, the last one included",
            ),
        ]
        for (variant, std, a), why in alternatives:  # the same network with one mistake
            if (
                variant == "act first"
                and act == "linear"
                or variant == "last pre"
                and act == "linear"
            ):
                continue
            alt_exact = np.exp(
                _simulate(depth, width, std, a, np.random.default_rng(5), variant)
            )
            if np.allclose(got, alt_exact, rtol=1e-3, atol=0.0):
                s.fail(msg + why)
        for (variant, std, a), why in alternatives:
            if variant == "act first" and act == "linear":
                continue
            if a == act and variant == "" and math.isclose(std, init_std):
                continue
            alt_mean, alt_tol = reference(variant, std, a)
            if np.all(np.abs(log_got - alt_mean) <= alt_tol) and not np.all(
                np.abs(alt_mean - mean) <= tol
            ):
                msg += why
                break
        else:
            if np.all(np.abs(log_got - mean) <= tol):
                _seeding(s, lambda r: s.call(depth, width, init_std, act, r))  # noqa: B023
                msg = (
                    f"{call} returned stds "
                    f"[{', '.join(_g(v) for v in got[:3])}, …, "
                    f"{_g(got[-1])}] of the right size, but not those of the "
                    "network the rng draws when the random numbers are "
                    "taken in the exercise's order (the input batch first, "
                    "then one weight matrix per layer), which gives "
                    f"[{', '.join(_g(v) for v in exact[:3])}, …, "
                    f"{_g(exact[-1])}]: the checker compares with that "
                    "network, so a different order, an extra draw or a "
                    "missing step shows here"
                )
            else:
                msg += (
                    " (see the docstring for the exact forward pass: batch of "
                    "256 N(0, 1) inputs, no bias, std after each layer)"
                )
        s.fail(msg)
    s.step("seeding")
    _seeding(s, lambda r: s.call(4, 32, 0.2, "tanh", r))
    return s.success(
        "per-layer stds match the reference simulation for relu, tanh and "
        "linear nets; seeding correct"
    )


# --------------------------------------------------------------------------------------
# Mean-field edge of chaos (chapter 4)
# --------------------------------------------------------------------------------------
def _softsign(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.abs(x))


def _softsign_d1(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.abs(x)) ** 2


def _tanh_d1(x: np.ndarray) -> np.ndarray:
    return 1.0 / np.cosh(x) ** 2


def _expit(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # the logistic sigmoid, without scipy


def _expit_d1(x: np.ndarray) -> np.ndarray:
    s = _expit(x)
    return s * (1.0 - s)


_Z = np.linspace(-10.0, 10.0, 8001)
_P = (
    np.exp(-0.5 * _Z**2) / np.exp(-0.5 * _Z**2).sum()
)  # E[f(z)] = sum(_P * f(_Z)), z ~ N(0, 1)


def _q_star(phi: Callable, sw2: float, sb2: float) -> float:
    """Fixed point of q -> sw2 E[phi(sqrt(q) z)^2] + sb2 (bisection on V(q) - q)."""

    def excess(q: float) -> float:
        return sw2 * float(np.dot(_P, phi(math.sqrt(q) * _Z) ** 2)) + sb2 - q

    lo, hi = 1e-12, 1.0
    while excess(hi) > 0.0:  # V is bounded for bounded phi: the excess turns negative
        lo, hi = hi, 2.0 * hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if excess(mid) > 0.0 else (lo, mid)
    return 0.5 * (lo + hi)


@cache
def _edge(case: int, variant: str = "") -> float:
    """sigma_w^2 with chi_1 = sw2 E[phi'(sqrt(q*) z)^2] = 1 for ``_EDGE_CASES[case]``,
    by bisection in its bracket; NaN if chi_1 - 1 does not change sign there.

    ``variant`` reproduces a common mistake (for the checker's diagnosis).
    """
    _, phi, dphi, sb2, bracket = _EDGE_CASES[case]

    def chi1_minus_1(sw2: float) -> float:
        if variant == "q = 1":
            q = 1.0
        elif variant == "no bias":
            q = _q_star(phi, sw2, 0.0) if abs(float(phi(np.array(0.0)))) > 0 else 0.0
        else:
            q = _q_star(phi, sw2, sb2)
        arg = math.sqrt(q) * _Z
        if variant == "mean squared":
            return sw2 * float(np.dot(_P, dphi(arg))) ** 2 - 1.0
        return sw2 * float(np.dot(_P, dphi(arg) ** 2)) - 1.0

    lo, hi = bracket
    f_lo, f_hi = chi1_minus_1(lo), chi1_minus_1(hi)
    if f_lo * f_hi > 0.0:
        return math.nan
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        f_mid = chi1_minus_1(mid)
        lo, f_lo, hi = (mid, f_mid, hi) if f_mid * f_lo > 0.0 else (lo, f_lo, mid)
    return 0.5 * (lo + hi)


_EDGE_CASES = (
    # label, phi, phi', sigma_b2, bracket
    ("tanh, sigma_b2 = 0.05", np.tanh, _tanh_d1, 0.05, (0.5, 4.0)),
    ("tanh, sigma_b2 = 0.3", np.tanh, _tanh_d1, 0.3, (0.5, 4.0)),
    ("softsign, sigma_b2 = 0.05", _softsign, _softsign_d1, 0.05, (0.5, 6.0)),
    ("logistic sigmoid, sigma_b2 = 0", _expit, _expit_d1, 0.0, (10.0, 300.0)),
)


def check_edge_of_chaos(
    fn: Callable[[Callable, Callable, float, tuple[float, float]], float],
) -> CheckResult:
    """Check ``fn(phi, dphi, sigma_b2, bracket) -> sigma_w2``: the edge of chaos.

    Mean-field theory of a wide network with :math:`\\mathrm{Var}[w] = \\sigma_w^2/n`
    and biases of variance :math:`\\sigma_b^2`
    :cite:`poole2016exponential,schoenholz2017deep`: the pre-activation variance
    settles at the fixed point :math:`q^*` of
    :math:`q \\mapsto \\sigma_w^2\\,\\mathbb E_z[\\phi(\\sqrt q\\, z)^2] + \\sigma_b^2`
    (:math:`z \\sim N(0, 1)`), and gradients keep their size when

    .. math:: \\chi_1 = \\sigma_w^2\\, \\mathbb E_z[\\phi'(\\sqrt{q^*} z)^2] = 1.

    ``phi`` and ``dphi`` are numpy functions (the activation and its derivative); return
    the :math:`\\sigma_w^2` in ``bracket = (lo, hi)`` at which :math:`\\chi_1 = 1`,
    within 0.2 %. The cases have :math:`q^* > 0` (a bias, or :math:`\\phi(0) \\ne 0`):
    tanh and softsign with a bias, and the logistic sigmoid without one.
    """
    names = ("called", "returns a number") + tuple(c[0] for c in _EDGE_CASES)
    s = _Session("edge_of_chaos", fn, names)
    for i, (label, phi, dphi, sb2, bracket) in enumerate(_EDGE_CASES):
        name = label.split(",")[0]
        call = f"edge_of_chaos(phi, dphi, sigma_b2={sb2}, bracket={bracket}) for {name}"
        try:
            out = s.call(phi, dphi, sb2, bracket)
        except ExerciseError as err:
            if "different signs" not in str(err):
                raise
            s.fail(
                f"{err} (in {label}). With the correct chi_1 = sigma_w2 "
                f"E[phi'(sqrt(q*) z)^2], chi_1 - 1 is negative at the left end of the "
                f"bracket and positive at the right end: check your chi_1 (the square "
                f"of phi', averaged; q* the fixed point of the variance map with "
                f"sigma_b2)"
            )
        if i == 0:
            s.step("returns a number")
        try:
            got = float(out)
        except (TypeError, ValueError):
            s.fail(f"{call} returned {out!r}; return sigma_w2 as a float")
        if not math.isfinite(got):
            s.fail(f"{call} returned {got}; return a finite sigma_w2 in the bracket")
        if i == 0:
            s.step(label)
        want = _edge(i)
        if math.isclose(got, want, rel_tol=2e-3):
            if i + 1 < len(_EDGE_CASES):
                s.step(_EDGE_CASES[i + 1][0])
            continue
        msg = (
            f"{call} returned {_g(got)}; the edge of chaos (chi_1 = 1) is at "
            f"sigma_w2 = {_g(want)}"
        )
        diagnoses = [
            (
                math.sqrt(want),
                ": you returned sigma_w = sqrt(sigma_w2); return the variance sigma_w2",
            ),
            (
                want**2,
                ": you returned sigma_w2 squared; sigma_w2 is already the variance",
            ),
            (
                _edge(i, "q = 1"),
                ": chi_1 must be evaluated at the fixed point q* of the variance map, "
                "not at q = 1",
            ),
            (
                _edge(i, "no bias"),
                ": the variance map adds sigma_b2: "
                "q = sigma_w2 E[phi(sqrt(q) z)^2] + sigma_b2",
            ),
            (
                _edge(i, "mean squared"),
                ": chi_1 averages the square of phi', E[phi'(...)^2], not the square "
                "of the average",
            ),
        ]
        for alt, why in diagnoses:
            if (
                math.isfinite(alt)
                and not math.isclose(alt, want, rel_tol=0.05)
                and math.isclose(got, alt, rel_tol=0.03)
            ):
                msg += why
                break
        else:
            if abs(got / want - 1) < 0.2:
                msg += (
                    ": close, but not within 0.2 %. Is your expectation E[f(z)] "
                    "accurate? phi' has a kink (softsign) or, at a large q* (about 46 "
                    "for the sigmoid), a narrow bump in z that a coarse quadrature "
                    "such as 100 Gauss-Hermite nodes misses: use a fine grid of z "
                    "values"
                )
        s.fail(msg)
    return s.success(
        "edge of chaos found for tanh, softsign (with bias) and the sigmoid (without)"
    )
