"""Chapters 9 and 10 (modern architectures): ``gpt2_init`` and ``chrono_bias``.

The references are computed here with plain numpy, independently of
:mod:`initcourse.modern`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .core import CheckResult, _array, _finite, _float32, _g, _seeding, _Session, _shape

__all__ = ["check_chrono_bias", "check_gpt2_init"]


# ----------------------------------------------------------------------------------
# GPT-2: N(0, 0.02^2), residual output projections divided by sqrt(2 n_layers)
# ----------------------------------------------------------------------------------
def check_gpt2_init(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, n_layers, residual) -> float32 array``: GPT-2's init.

    Every kernel is drawn from :math:`\\mathcal N(0, 0.02^2)` (GPT-1's scale, kept by
    GPT-2);
    a kernel that writes into the residual stream (``residual=True``) has its standard
    deviation divided by :math:`\\sqrt N`, :math:`N = 2\\,n_\\text{layers}` residual
    layers
    (GPT-2 scales by :math:`1/\\sqrt N`; the count :math:`2 n_\\text{layers}` is
    Megatron-LM's
    and Hugging Face's). ``shape`` is a Keras layout, e.g. ``(768, 3072)``.
    """
    checks = (
        "called",
        "returns an array",
        "shape",
        "dtype",
        "base scale",
        "residual scale",
        "scale with depth",
        "normal distribution",
        "zero mean",
        "seeding",
    )
    s = _Session("gpt2_init", fn, checks)
    shape = (512, 256)
    call = f"gpt2_init({shape}, rng, n_layers=12, residual=False)"
    w = _array(s, s.call(shape, np.random.default_rng(0), 12, False), call)
    s.step("returns an array")
    _shape(s, w, shape, call)
    s.step("shape")
    _float32(s, w, call)
    _finite(s, w, call)
    s.step("dtype")
    std = float(np.std(w.astype(np.float64)))
    if abs(std / 0.02 - 1) > 0.02:
        msg = f"{call} has standard deviation {_g(std)}; GPT-2's kernels start at 0.02"
        if abs(std / 0.02**2 - 1) < 0.05:
            msg += " (you used the variance 0.02² = 0.0004 as the standard deviation)"
        elif abs(std / (0.02 / math.sqrt(3)) - 1) < 0.05:
            msg += (
                " (a uniform distribution on [-0.02, 0.02] has standard "
                "deviation 0.02/√3)"
            )
        elif abs(std / (0.02 / math.sqrt(24)) - 1) < 0.05:
            msg += (
                " (you divided a non-residual kernel by √(2·n_layers); only "
                "residual=True kernels are scaled)"
            )
        s.fail(msg)
    s.step("residual scale")
    for n_layers in (12, 48):
        call = f"gpt2_init({shape}, rng, n_layers={n_layers}, residual=True)"
        w = _array(s, s.call(shape, np.random.default_rng(1), n_layers, True), call)
        _shape(s, w, shape, call)
        _float32(s, w, call)
        _finite(s, w, call)
        std = float(np.std(w.astype(np.float64)))
        want = 0.02 / math.sqrt(2 * n_layers)
        if abs(std / want - 1) > 0.02:
            msg = (
                f"{call} has standard deviation {_g(std)}; expected "
                f"0.02/√(2·{n_layers}) = {_g(want)}"
            )
            if abs(std / 0.02 - 1) < 0.02:
                msg += " (residual=True kernels must be scaled down)"
            elif abs(std / (0.02 / math.sqrt(n_layers)) - 1) < 0.02:
                msg += (
                    " (N counts two residual layers per Transformer layer: "
                    "divide by √(2·n_layers))"
                )
            elif abs(std / (0.02 / (2 * n_layers)) - 1) < 0.02:
                msg += " (divide by the square root of 2·n_layers, not by 2·n_layers)"
            s.fail(msg)
        if n_layers == 12:
            s.step("scale with depth")
    s.step("normal distribution")
    x = (w.astype(np.float64) / np.std(w)).ravel()
    tail = float(np.mean(np.abs(x) > 2.0))
    if not 0.035 < tail < 0.056:
        s.fail(
            f"{_g(100 * tail)}% of the values lie beyond 2 standard deviations; "
            "a normal "
            "distribution has 4.6% there (use rng.normal or rng.standard_normal, "
            "not a uniform "
            "or truncated distribution)"
        )
    s.step("zero mean")
    mean = float(np.mean(w))
    if abs(mean) > 5 * np.std(w) / math.sqrt(w.size):
        s.fail(f"the values have mean {_g(mean)}; the weights must be centred at 0")
    s.step("seeding")
    _seeding(s, lambda r: s.call((64, 32), r, 6, True))
    return s.success(
        "N(0, 0.02²), residual kernels divided by √(2·n_layers), seeded by rng"
    )


# ----------------------------------------------------------------------------------
# Chrono initialization of an LSTM's gate biases
# ----------------------------------------------------------------------------------
def _pair(s: _Session, out: Any, call: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        s.fail(
            f"{call} must return a pair (forget_bias, input_bias), "
            f"got {type(out).__name__}"
        )
    return _array(s, out[0], call + "[0]"), _array(s, out[1], call + "[1]")


def check_chrono_bias(fn: Callable[..., Any]) -> CheckResult:
    """Check ``fn(units, t_max, rng) -> (forget_bias, input_bias)``: chrono init.

    Tallec & Ollivier (2018): :math:`b_f = \\log u`, :math:`u \\sim \\mathcal U[1,
    T_\\text{max}-1]`
    drawn independently for each unit, and :math:`b_i = -b_f`; both float32 arrays of
    shape
    ``(units,)``.
    """
    checks = (
        "called",
        "returns two arrays",
        "shape",
        "dtype",
        "range",
        "log-uniform",
        "input gate",
        "seeding",
    )
    s = _Session("chrono_bias", fn, checks)
    units, t_max = 20000, 50.0
    call = f"chrono_bias({units}, t_max={t_max:g}, rng)"
    forget, inp = _pair(s, s.call(units, t_max, np.random.default_rng(0)), call)
    s.step("returns two arrays")
    for arr, which in ((forget, "[0]"), (inp, "[1]")):
        _shape(s, arr, (units,), call + which)
    s.step("shape")
    for arr, which in ((forget, "[0]"), (inp, "[1]")):
        _float32(s, arr, call + which)
        _finite(s, arr, call + which)
    s.step("dtype")
    f = forget.astype(np.float64)
    lo, hi = 0.0, math.log(t_max - 1)
    if f.min() < lo - 1e-6 or f.max() > hi + 1e-6:
        msg = (
            f"forget biases span [{_g(float(f.min()))}, {_g(float(f.max()))}]; "
            f"log U[1, T_max - 1] lies in [0, log {t_max - 1:g}] = [0, {_g(hi)}]"
        )
        if f.min() < lo:
            msg += (
                " (draw u from [1, T_max - 1], not from [0, ...], so that log u >= 0)"
            )
        s.fail(msg)
    s.step("log-uniform")
    u = np.sort(np.exp(f))
    expected = 1 + (t_max - 2) * (np.arange(units) + 0.5) / units
    gap = float(np.max(np.abs(u - expected)) / (t_max - 2))
    if gap > 0.02:
        msg = (
            f"exp(forget bias) is not uniform on [1, {t_max - 1:g}] "
            f"(largest CDF gap {_g(gap)})"
        )
        if np.all(np.abs(f - np.round(f)) < 1e-6):
            msg += "; you returned a constant or integer bias, not log of uniform draws"
        elif float(np.max(np.abs(np.sort(f) - expected) / (t_max - 2))) < 0.02:
            msg += "; take the logarithm of the uniform draws (np.log)"
        s.fail(msg)
    s.step("input gate")
    if not np.allclose(inp, -forget, atol=1e-6):
        s.fail(
            "the input-gate bias must be minus the forget-gate bias (b_i = -b_f), "
            "unit by unit"
        )
    s.step("seeding")
    _seeding(s, lambda r: s.call(8, 10.0, r)[0])
    return s.success(
        "forget biases log U[1, T_max - 1], input biases their negatives, seeded by rng"
    )
