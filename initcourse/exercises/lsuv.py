"""Chapter 5: ``lsuv_init`` (layer-sequential unit-variance initialization of a whole
network) and ``lsuv_scale`` (one layer)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .core import CheckResult, _array, _finite, _g, _Session, _shape

__all__ = ["check_lsuv_init", "check_lsuv_scale"]


# --------------------------------------------------------------------------------------
# LSUV
# --------------------------------------------------------------------------------------
def check_lsuv_scale(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> CheckResult:
    """Check ``fn(weights, x) -> weights``: the LSUV rescaling of one linear layer.

    Return :math:`W / \\sqrt{\\mathrm{Var}(xW)}` so that the output ``x @ W`` has
    variance 1 (within the tolerance 0.1 of :cite:`mishkin2016all`); only the scale of
    ``W`` may change.
    """
    s = _Session(
        "lsuv_scale",
        fn,
        (
            "called",
            "returns an array",
            "shape",
            "finite",
            "proportional",
            "variance",
            "small variance",
        ),
    )
    rng = np.random.default_rng(7)
    cases = [
        (
            "variance",
            2.5 * rng.standard_normal((512, 64)),
            0.3 * rng.standard_normal((64, 32)),
        ),
        (
            "small variance",
            0.5 * rng.standard_normal((256, 100)),
            0.01 * rng.standard_normal((100, 50)),
        ),
    ]
    for i, (_label, x, w0) in enumerate(cases):
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
            s.fail(
                f"{call}: LSUV only rescales the weights (W ← W / √Var(x @ "
                "W)); your result is not a multiple of the weights you were "
                "given"
            )
        if i == 0:
            s.step("variance")
        var0 = float((x @ w0).var())
        var = float((x @ w).var())
        if abs(var - 1.0) > 0.1:
            msg = (
                f"{call}: Var(x @ W) = {_g(var)} after your rescaling (it was "
                f"{_g(var0)}); expected 1 ± 0.1"
            )
            close = lambda a: math.isclose(c, a, rel_tol=1e-3)  # noqa: E731, B023
            if close(1.0):
                msg += ": you returned the weights unchanged"
            elif close(1.0 / var0):
                msg += (
                    ": you divided by the variance; a factor c on W multiplies "
                    "Var(x @ W) by c², so dividing by the variance overshoots"
                )
            elif close(math.sqrt(var0)):
                msg += ": you multiplied by the std; divide by it"
            elif close(1.0 / float(x.std())):
                msg += (
                    ": you divided by the std of the input x; measure the output x @ W"
                )
            s.fail(msg)
        if i + 1 < len(cases):
            s.step(cases[i + 1][0])
    return s.success("weights rescaled so that Var(x @ W) = 1, direction unchanged")


# --------------------------------------------------------------------------------------
# LSUV for a whole network (chapter 5)
# --------------------------------------------------------------------------------------
_LSUV_ACTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda h: np.maximum(h, 0.0),
    "tanh": np.tanh,
    "linear": lambda h: h,
}


def _lsuv_reference(
    kernels: list[np.ndarray],
    biases: list[np.ndarray],
    x: np.ndarray,
    activation: str,
    tol: float,
    max_iter: int,
    variant: str = "",
) -> list[np.ndarray]:
    """Mishkin & Matas' loop, layer by layer; ``variant`` reproduces a mistake."""
    phi = _LSUV_ACTS[activation]
    out, h_in = [], x
    original_in = x
    for w, b in zip(kernels, biases):
        w = w.astype(np.float64).copy()
        source = original_in if variant == "all at once" else h_in
        for _ in range(max_iter if variant != "one step" else 1):
            v = float(np.var(source @ w + b))
            if abs(v - 1.0) < tol and variant != "one step":
                break
            w = w / (v if variant == "variance" else math.sqrt(v))
        out.append(w)
        h_in = phi(h_in @ w + b)
        original_in = phi(original_in @ kernels[len(out) - 1] + b)
    return out


def _lsuv_case(seed: int, widths: list[int], scale: float, bias_std: float):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((256, widths[0]))
    kernels = [
        scale * rng.standard_normal((m, n)) / math.sqrt(m)
        for m, n in zip(widths[:-1], widths[1:])
    ]
    biases = [bias_std * rng.standard_normal(n) for n in widths[1:]]
    return kernels, biases, x


def check_lsuv_init(fn: Callable[..., list[np.ndarray]]) -> CheckResult:
    """Check ``fn(kernels, biases, x, activation, tol=0.1, max_iter=10) -> kernels``.

    Layer-sequential unit-variance initialization (Mishkin & Matas 2016, Algorithm 1,
    :cite:`mishkin2016all`) on a stack of dense layers
    :math:`x_{l} = \\phi(x_{l-1} W_l + b_l)`: from the first layer to the last, compute
    the pre-activation :math:`h_l = x_{l-1} W_l + b_l` with the layers below rescaled,
    and while :math:`|\\mathrm{Var}(h_l) - 1| \\ge` ``tol`` and fewer than ``max_iter``
    rescalings were done, replace :math:`W_l` by
    :math:`W_l / \\sqrt{\\mathrm{Var}(h_l)}`
    (variance over the whole batch and all units). Return the new kernels, without
    changing the arrays passed in. ``activation`` is ``"relu"``, ``"tanh"`` or
    ``"linear"``. With nonzero biases one rescaling is not enough.
    """
    checks = (
        "called",
        "returns the kernels",
        "unit variance",
        "layer by layer",
        "biases need the loop",
        "max_iter",
        "inputs unchanged",
    )
    s = _Session("lsuv_init", fn, checks)
    cases = [
        (
            "unit variance",
            "relu",
            _lsuv_case(0, [32, 64, 64, 64, 64, 10], 0.3, 0.0),
            10,
        ),
        ("layer by layer", "tanh", _lsuv_case(1, [48, 64, 64, 64, 64], 3.0, 0.0), 10),
        (
            "biases need the loop",
            "tanh",
            _lsuv_case(2, [32, 64, 64, 64], 0.1, 0.55),
            10,
        ),
        ("max_iter", "relu", _lsuv_case(3, [32, 48, 48], 0.5, 1.3), 3),
    ]
    for label, act, (kernels, biases, x), max_iter in cases:
        copies = [k.copy() for k in kernels]
        call = (
            f"lsuv_init({len(kernels)} kernels, biases, x {x.shape}, {act!r}, tol=0.1, "
            f"max_iter={max_iter})"
        )
        out = s.call(kernels, biases, x, act, tol=0.1, max_iter=max_iter)
        if label == "unit variance":
            s.step("returns the kernels")
        if out is None:
            s.fail(f"{call} returned None: return the list of rescaled kernels")
        try:
            got = [np.asarray(k, dtype=np.float64) for k in out]
        except (TypeError, ValueError):
            s.fail(f"{call} returned {type(out).__name__}; return a list of arrays")
        if len(got) != len(kernels) or any(
            g.shape != k.shape for g, k in zip(got, kernels)
        ):
            s.fail(
                f"{call} returned {len(got)} arrays of shapes "
                f"{[g.shape for g in got]}; "
                f"expected one kernel per layer, shapes {[k.shape for k in kernels]}"
            )
        for j, (g, k) in enumerate(zip(got, copies)):
            c = float(np.sum(g * k) / np.sum(k * k))
            if c <= 0 or np.linalg.norm(g - c * k) > 1e-6 * np.linalg.norm(g):
                s.fail(
                    f"{call}: kernel {j} is not a positive multiple of the kernel you "
                    "were given; LSUV only rescales (W <- W / sqrt(Var(h)))"
                )
        if label == "unit variance":
            s.step("unit variance")
        want = _lsuv_reference(copies, biases, x, act, 0.1, max_iter)
        if all(np.allclose(g, w, rtol=1e-4, atol=0) for g, w in zip(got, want)):
            nxt = checks.index(label) + 1
            if nxt < len(checks) - 1:
                s.step(checks[nxt])
            if not all(np.array_equal(k, c) for k, c in zip(kernels, copies)):
                s.step("inputs unchanged")
                s.fail(
                    f"{call} changed the kernels it was given (in place): work on "
                    "copies and return new arrays"
                )
            continue
        phi = _LSUV_ACTS[act]
        h, variances = x, []
        for g, b in zip(got, biases):
            pre = h @ g + b
            variances.append(float(np.var(pre)))
            h = phi(pre)
        shown = ", ".join(_g(v) for v in variances)
        msg = (
            f"{call}: with your kernels the pre-activation variances are [{shown}]; "
            "LSUV's are not the same"
        )
        diagnoses = [
            ("variance", ": you divided by Var(h); divide by its square root"),
            (
                "all at once",
                ": each layer must be measured after the layers below it "
                "have been rescaled (layer-sequential): propagate x through the new "
                "kernels",
            ),
            (
                "one step",
                ": with nonzero biases Var(xW/c + b) is not Var(xW + b)/c^2, so "
                "one rescaling is not enough: repeat until |Var - 1| < tol, at most "
                "max_iter "
                "times",
            ),
        ]
        for variant, why in diagnoses:
            alt = _lsuv_reference(copies, biases, x, act, 0.1, max_iter, variant)
            if all(np.allclose(g, a, rtol=1e-4, atol=0) for g, a in zip(got, alt)):
                msg += why
                break
        else:
            if label == "max_iter":
                msg += (
                    ": here Var(h) cannot reach 1 (the biases alone have variance "
                    "above 1); stop after max_iter rescalings"
                )
            elif any(abs(v - 1) >= 0.1 for v in variances):
                msg += ": some layer is not within tol of variance 1"
        s.fail(msg)
    s.step("inputs unchanged")
    return s.success(
        "every layer rescaled in order to unit pre-activation variance, the loop stops "
        "at tol or max_iter, inputs untouched"
    )
