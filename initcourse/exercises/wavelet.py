"""Chapter 7: ``wavelet_matrix`` (the periodized DWT analysis matrix)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .core import CheckResult, _array, _finite, _g, _Session, _shape

__all__ = ["check_wavelet_matrix"]


# --------------------------------------------------------------------------------------
# Wavelet analysis matrix
# --------------------------------------------------------------------------------------
def _dwt_matrix(n: int, wavelet: str, level: int) -> np.ndarray:
    import pywt

    cols = [
        np.concatenate(
            pywt.wavedec(np.eye(n)[i], wavelet, mode="periodization", level=level)
        )
        for i in range(n)
    ]
    return np.stack(cols, axis=1)


def check_wavelet_matrix(fn: Callable[[int, str], np.ndarray]) -> CheckResult:
    """Check ``fn(n, wavelet) -> (n, n) array``: the periodized DWT analysis matrix.

    ``A @ x`` must equal ``np.concatenate(pywt.wavedec(x, wavelet, mode="periodization",
    level=L))`` (coefficients ordered ``[cA_L, cD_L, …, cD_1]``) for one level ``L``
    (PyWavelets' default is the maximum level); for an orthogonal wavelet ``A`` is
    orthogonal, :math:`AA^T = I` :cite:`mallat2009wavelet,lee2019pywavelets`.
    """
    import pywt

    cases = [(64, "haar"), (64, "db2"), (64, "db4"), (32, "sym4")]
    s = _Session(
        "wavelet_matrix",
        fn,
        (
            "called",
            "returns an array",
            "shape",
            "finite",
            "orthogonal",
            "matches PyWavelets",
        )
        + tuple(w for _, w in cases[1:]),
    )
    for i, (n, wav) in enumerate(cases):
        call = f"wavelet_matrix({n}, {wav!r})"
        out = s.call(n, wav)
        if i == 0:
            s.step("returns an array")
        a = _array(s, out, call)
        if i == 0:
            s.step("shape")
        if a.ndim == 2 and a.shape[1] == n and a.shape[0] > n:
            s.fail(
                f"{call} returned shape {a.shape}: more coefficients than "
                "samples; use mode='periodization' for a square, orthogonal "
                "matrix"
            )
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
                s.fail(
                    f"{call}: the rows are orthogonal but their squared "
                    "norms range "
                    f"{_g(float(d.min()))}..{_g(float(d.max()))}, not 1: the "
                    "filters used are not the orthonormal ones of the "
                    "wavelet"
                )
            s.fail(
                f"{call}: the matrix is not orthogonal (max |A Aᵀ − I| = "
                f"{_g(float(np.abs(g - np.eye(n)).max()))}): build it from "
                "pywt.wavedec of the unit vectors with mode='periodization'"
            )
        if i == 0:
            s.step("matches PyWavelets")
        max_level = pywt.dwt_max_level(n, pywt.Wavelet(wav).dec_len)
        refs = {lev: _dwt_matrix(n, wav, lev) for lev in range(1, max_level + 1)}
        if not any(np.allclose(a, r, atol=atol) for r in refs.values()):
            if any(np.allclose(a.T, r, atol=atol) for r in refs.values()):
                s.fail(
                    f"{call} returned the transpose (the synthesis matrix, "
                    "or a Keras kernel): rows of A are the analysis "
                    "functions, A @ x = wavedec(x)"
                )
            for lev, r in refs.items():
                rows = {tuple(np.round(row, 6)) for row in r}
                if {tuple(np.round(row, 6)) for row in a} == rows:
                    s.fail(
                        f"{call}: your rows are PyWavelets' rows in another "
                        f"order; order them like pywt.wavedec: [cA_{lev}, "
                        f"cD_{lev}, …, cD_1]"
                    )
            s.fail(
                f"{call} does not match pywt.wavedec(x, {wav!r}, "
                f"mode='periodization') at any level 1..{max_level}"
            )
        if i + 1 < len(cases):
            s.step(cases[i + 1][1])
    return s.success(
        "square, orthogonal and equal to pywt.wavedec(..., "
        "mode='periodization') for haar, db2, db4 and sym4"
    )
