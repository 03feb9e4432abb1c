"""Chapter 8: ``zero_hadamard`` (ZerO's deterministic identity/Hadamard initialization) and
``twin_groups`` (units with identical incoming weights)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .core import CheckResult, _array, _finite, _float32, _g, _Session, _shape

__all__ = ["check_twin_groups", "check_zero_hadamard"]


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


# --------------------------------------------------------------------------------------
# twin_groups: units with identical incoming weights (chapter 8)
# --------------------------------------------------------------------------------------
def _twin_ref(kernel: np.ndarray, atol: float) -> list[list[int]]:
    """Groups of >= 2 columns within ``atol`` (max abs difference) of their first."""
    w = np.asarray(kernel, dtype=np.float64)
    free = np.ones(w.shape[1], dtype=bool)
    groups = []
    for j in range(w.shape[1]):
        if not free[j]:
            continue
        members = np.flatnonzero((np.abs(w - w[:, [j]]).max(axis=0) <= atol) & free)
        free[members] = False
        if members.size > 1:
            groups.append([int(i) for i in members])
    return groups


def _normalize_groups(s: _Session, out: object, call: str) -> list[list[int]]:
    if out is None:
        s.fail(f"{call} returned None: did you forget the `return` statement?")
    try:
        groups = [sorted(int(i) for i in g) for g in out]  # type: ignore[union-attr]
    except TypeError:
        s.fail(
            f"{call} returned {type(out).__name__}; return a list of groups, each a "
            "list of column indices, e.g. [[0, 64], [1, 65]]"
        )
    singles = [g for g in groups if len(g) < 2]
    if singles:
        s.fail(
            f"{call}: return only groups of two or more units; got {len(singles)} "
            "groups with fewer (a unit without a twin belongs to no group)"
        )
    return sorted(groups)


def _planted_kernel() -> np.ndarray:
    """A random (32, 50) kernel with planted twins, near twins and mirror images."""
    g = np.random.default_rng(8)
    w = g.standard_normal((32, 50))
    w[:, 17] = w[:, 3] + 1e-8 * g.standard_normal(32)  # twins up to round-off
    for j in (20, 41):
        w[:, j] = w[:, 5] + 1e-9 * g.standard_normal(32)  # a group of three
    w[:, 8] = w[:, 7]
    w[0, 8] += 1e-3  # near twins: one weight differs by 1e-3
    w[:, 11] = -w[:, 10]  # mirror images are not twins
    return w.astype(np.float32)


def check_twin_groups(fn: Callable[..., list]) -> CheckResult:
    """Check ``fn(kernel, atol=1e-6) -> list of lists``: the groups of twin units.

    ``kernel`` is a dense kernel in the Keras layout ``(fan_in, fan_out)``; a unit is a
    column. Two units are twins when their incoming weight vectors differ by at most
    ``atol`` in every entry. The function returns the groups of two or more twins, each
    a list of column indices (order inside and between groups does not matter); units
    without a twin are in no group.
    In ZerO's expanding layers twins appear whenever fan_in <= p/2 :cite:`zhao2022zero`.
    """
    zero_cases = [((64, 128), 2), ((100, 256), 2), ((64, 256), 4)]
    checks = (
        "called",
        "returns groups",
        "ZerO (64, 128)",
        "ZerO (100, 256)",
        "ZerO (64, 256)",
        "tolerance",
        "near twins",
        "mirror images",
        "atol",
        "no twins",
        "input unchanged",
    )
    s = _Session("twin_groups", fn, checks)
    for i, (shape, size) in enumerate(zero_cases):
        kernel = _zero_ref(shape).astype(np.float32)
        call = f"twin_groups(zero_hadamard({shape}))"
        out = s.call(kernel)
        if i == 0:
            s.step("returns groups")
        groups = _normalize_groups(s, out, call)
        if i == 0:
            s.step(f"ZerO {shape}")
        expected = sorted(_twin_ref(kernel, 1e-6))
        if groups == expected:
            s.step(checks[3 + i] if i + 1 < len(zero_cases) else "tolerance")
            continue
        if groups == sorted(_twin_ref(kernel.T, 1e-6)):
            s.fail(
                f"{call}: you compared the rows of the kernel: a unit is a *column* of "
                "the Keras kernel (fan_in, fan_out); compare the columns kernel[:, j]"
            )
        s.fail(
            f"{call}: expected {len(expected)} groups of {size} units (unit j is a "
            "twin of "
            f"j + {shape[1] // size}, ...), got {len(groups)} groups of sizes "
            f"{sorted({len(g) for g in groups})}"
        )
    planted = _planted_kernel()
    call = "twin_groups(kernel)  # a random (32, 50) kernel with planted twins"
    groups = _normalize_groups(s, s.call(planted.copy()), call)
    if [3, 17] not in groups or [5, 20, 41] not in groups:
        s.fail(
            f"{call}: units 3 and 17 (and 5, 20, 41) differ by less than 1e-8, below "
            f"atol = 1e-6, but you returned {groups}: compare with the tolerance "
            "(max |difference| <= atol), "
            "not exact equality"
        )
    s.step("near twins")
    if [7, 8] in groups:
        s.fail(
            f"{call}: units 7 and 8 differ by 1e-3 in one weight, more than "
            "atol = 1e-6: "
            "they are not twins"
        )
    s.step("mirror images")
    if [10, 11] in groups:
        s.fail(
            f"{call}: unit 11 is the negative of unit 10; opposite weights are not "
            "twins "
            "(compare the vectors, not their absolute values)"
        )
    if groups != [[3, 17], [5, 20, 41]]:
        s.fail(f"{call}: expected [[3, 17], [5, 20, 41]], got {groups}")
    s.step("atol")
    call = "twin_groups(kernel, atol=1e-2)"
    groups = _normalize_groups(s, s.call(planted.copy(), atol=1e-2), call)
    if groups != [[3, 17], [5, 20, 41], [7, 8]]:
        s.fail(
            f"{call}: with atol = 1e-2 units 7 and 8 are twins too; expected "
            f"[[3, 17], [5, 20, 41], [7, 8]], got {groups}: use the atol you are given"
        )
    s.step("no twins")
    q, _ = np.linalg.qr(np.random.default_rng(9).standard_normal((64, 64)))
    call = "twin_groups(orthogonal (64, 64) kernel)"
    groups = _normalize_groups(s, s.call(q.astype(np.float32)), call)
    if groups:
        s.fail(
            f"{call}: a random orthogonal kernel has no twins, got {len(groups)} groups"
        )
    s.step("input unchanged")
    kernel = _zero_ref((64, 128)).astype(np.float32)
    before = kernel.copy()
    s.call(kernel)
    if not np.array_equal(kernel, before):
        s.fail("twin_groups(kernel) changed the kernel it was given; work on a copy")
    return s.success(
        "ZerO twins, tolerance, near twins, mirror images, atol and no-twin cases all "
        "correct"
    )
