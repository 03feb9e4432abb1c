"""Chapter 8: ``zero_hadamard`` (ZerO's deterministic identity/Hadamard
initialization)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .core import CheckResult, _array, _finite, _float32, _g, _Session, _shape

__all__ = ["check_zero_hadamard"]


# --------------------------------------------------------------------------------------
# ZerO (identity + Hadamard)
# --------------------------------------------------------------------------------------
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
    """Check ``fn(shape) -> float32 array``: ZerO's deterministic initialization of a
    dense kernel.

    ``shape = (fan_in, fan_out)`` (Keras layout). With the paper's :math:`W \\in
    \\mathbb{R}^{m\\times n}`, :math:`m` = fan_out, :math:`n` = fan_in (the kernel is
    :math:`W^T`): for :math:`m \\le n` the partial identity :math:`I_{m,n}`; for
    :math:`m > n`, :math:`I_{m,p}\\,H_p/\\sqrt{p}\\,I_{p,n}` with the Hadamard matrix
    :math:`H_p`, :math:`p = 2^{\\lceil\\log_2 m\\rceil}` :cite:`zhao2022zero`.
    """
    cases = [
        ("square", (64, 64)),
        ("shrinking", (128, 32)),
        ("expanding", (32, 100)),
        ("expanding (power of 2)", (16, 64)),
    ]
    s = _Session(
        "zero_hadamard",
        fn,
        ("called", "returns an array", "shape", "dtype")
        + tuple(c[0] for c in cases)
        + ("deterministic",),
    )
    for i, (kind, shape) in enumerate(cases):
        call = f"zero_hadamard(shape={shape})"
        out = s.call(shape)
        if i == 0:
            s.step("returns an array")
        w = _array(s, out, call)
        if i == 0:
            s.step("shape")
        if w.shape == shape[::-1] and shape[0] != shape[1]:
            s.fail(
                f"{call} returned shape {w.shape}: that is the paper's (out, "
                "in) matrix W; a Keras kernel is its transpose, shape "
                f"(fan_in, fan_out) = {shape}"
            )
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
        msg = (
            f"{call} differs from ZerO's matrix (max deviation "
            f"{_g(float(np.abs(w - ref).max()))})"
        )
        if m > n:
            p = 2 ** math.ceil(math.log2(m))
            if np.allclose(w, np.eye(n, m), atol=1e-6):
                msg += (
                    f": when fan_out = {m} > fan_in = {n}, ZerO does not pad "
                    f"the identity with zeros (the extra {m - n} units would "
                    "output 0: the degeneracy the paper warns about); it "
                    f"uses I_(m,p) · H_p/√p · I_(p,n) with p = {p}"
                )
            elif np.allclose(w, ref * math.sqrt(p), atol=1e-6):
                msg += (
                    f": the Hadamard matrix H_p has columns of norm √p = √{p}, "
                    "so it is orthogonal only once normalised"
                )
        else:
            msg += (
                f": for fan_out = {m} ≤ fan_in = {n} ZerO's kernel is a partial "
                "identity (ones on the main diagonal, zeros elsewhere)"
            )
        s.fail(msg)
    a = np.asarray(s.call((32, 100)))
    b = np.asarray(s.call((32, 100)))
    if not np.array_equal(a, b):
        s.fail(
            "two calls with the same shape gave different arrays: ZerO is "
            "deterministic, use no randomness"
        )
    return s.success("identity and Hadamard cases, Keras layout and dtype all correct")
