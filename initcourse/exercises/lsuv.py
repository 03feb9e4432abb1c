"""Chapter 5: ``lsuv_scale`` (one layer of layer-sequential unit-variance initialization)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .core import CheckResult, _array, _finite, _g, _Session, _shape

__all__ = ["check_lsuv_scale"]


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
