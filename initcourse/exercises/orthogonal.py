"""Chapters 6, 7 and 9: orthogonal kernels (``orthogonal``, ``delta_orthogonal``,
``torch_orthogonal``)."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .core import CheckResult, _array, _finite, _float32, _g, _seeding, _Session, _shape

__all__ = ["check_delta_orthogonal", "check_orthogonal", "check_torch_orthogonal"]


# --------------------------------------------------------------------------------------
# orthogonal
# --------------------------------------------------------------------------------------
def _gram_error(flat: np.ndarray, scale: float) -> tuple[float, np.ndarray]:
    """max |G − scale·I| where G is the Gram matrix of the smaller side's vectors."""
    g = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    return float(np.abs(g - scale * np.eye(g.shape[0])).max()), g


def _diagnose_gram(
    s: _Session, g: np.ndarray, what: str, gain: float, call: str
) -> None:
    diag = np.diag(g)
    off = np.abs(g - np.diag(diag)).max()
    if off < 1e-3 * max(1.0, float(diag.mean())) and np.allclose(
        diag, diag.mean(), rtol=1e-3
    ):
        c = float(diag.mean())
        if gain != 1.0 and math.isclose(c, 1.0, rel_tol=1e-3):
            s.fail(
                f"{call}: the {what} are orthonormal but gain={gain} was "
                "ignored: their norm must be gain"
            )
        if gain != 1.0 and math.isclose(c, gain, rel_tol=1e-3):
            s.fail(
                f"{call}: the {what} have norm √gain = "
                f"{_g(math.sqrt(gain))}; the gain scales the norm itself "
                f"(norm {_g(gain)}), not the squared norm"
            )
        s.fail(
            f"{call}: the {what} are orthogonal but have norm "
            f"{_g(math.sqrt(c))} instead of gain = {_g(gain)}: do not "
            "rescale Q except by gain"
        )
    s.fail(
        f"{call}: the {what} are not orthonormal (max |Gram − gain²·I| = "
        f"{_g(float(np.abs(g - gain**2 * np.eye(len(g))).max()))}): a random "
        "Gaussian matrix is only roughly orthogonal, the orthogonal factor "
        "of its QR decomposition is exactly"
    )


def check_orthogonal(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, gain=1.0) -> float32 array``: a (semi-)orthogonal matrix
    times ``gain``.

    Keras' rule :cite:`saxe2014exact`: flatten ``shape`` to ``(prod(shape[:-1]),
    shape[-1])``; a tall matrix has orthonormal columns (:math:`W^TW = \\text{gain}^2
    I`), a wide one orthonormal rows. The matrix must be uniformly (Haar) distributed:
    after ``q, r = np.linalg.qr(a)`` apply the sign correction ``q *=
    np.sign(np.diag(r))`` :cite:`mezzadri2007generate`.
    """
    s = _Session(
        "orthogonal",
        fn,
        (
            "called",
            "returns an array",
            "shape",
            "dtype",
            "square",
            "tall",
            "wide",
            "conv",
            "gain",
            "haar",
            "seeding",
        ),
    )
    cases = [
        ("square", (64, 64)),
        ("tall", (128, 32)),
        ("wide", (32, 128)),
        ("conv", (3, 3, 8, 16)),
    ]
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
            hint = (
                " (for a wide matrix do the QR of the transpose, shape (cols, "
                "rows), and transpose Q back)"
            )
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
            what = {
                "square": "columns",
                "tall": "columns",
                "wide": "rows",
                "conv": "columns of the flattened kernel",
            }[kind]
            if kind == "conv":
                other = w.astype(np.float64).reshape(shape[0], -1)
                if _gram_error(other, 1.0)[0] < 1e-4:
                    s.fail(
                        f"{call}: you flattened the kernel to {other.shape}; "
                        "Keras flattens to (prod(shape[:-1]), shape[-1]) = "
                        f"{flat.shape} and makes its columns orthonormal"
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
            "W[0, 0] had the same sign in 20 draws of shape (8, 8): the QR "
            "decomposition fixes the signs of R's diagonal, which biases the "
            "signs of Q; without correcting them Q is not uniformly (Haar) "
            "distributed"
        )
    s.step("seeding")
    _seeding(s, lambda r: s.call((16, 16), r))
    return s.success(
        "square, tall, wide and conv shapes orthonormal; gain, sign "
        "correction and seeding all correct"
    )


# --------------------------------------------------------------------------------------
# delta-orthogonal
# --------------------------------------------------------------------------------------
def check_delta_orthogonal(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, gain=1.0) -> float32 array``: the delta-orthogonal
    convolution kernel.

    For a kernel ``(*kernel_size, c_in, c_out)`` with odd kernel sizes and ``c_in ≤
    c_out``: zero everywhere except the center tap ``[k//2 for k in kernel_size]``,
    which holds ``gain`` times a ``(c_in, c_out)`` matrix with orthonormal rows (the
    first ``c_in`` rows of a random orthogonal ``c_out × c_out`` matrix)
    :cite:`xiao2018dynamical`. ``c_in > c_out`` raises ``ValueError``.
    """
    cases = [
        ("conv2d", (3, 3, 16, 32)),
        ("conv1d", (5, 8, 8)),
        ("conv3d", (3, 3, 3, 4, 8)),
    ]
    s = _Session(
        "delta_orthogonal",
        fn,
        ("called", "returns an array", "shape", "dtype", "only center tap")
        + tuple(c[0] for c in cases)
        + ("gain", "in > out", "seeding"),
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
        taps = (
            np.abs(w).reshape(-1, shape[-2] * shape[-1]).max(axis=1).reshape(shape[:-2])
        )
        nonzero_taps = [tuple(int(t) for t in idx) for idx in np.argwhere(taps > 0)]
        if nonzero_taps != [center]:
            if len(nonzero_taps) == 1:
                s.fail(
                    f"{call}: the orthogonal matrix sits at tap "
                    f"{nonzero_taps[0]}; the center tap is {center} (k // 2 "
                    "in every spatial dimension)"
                )
            if not nonzero_taps:
                s.fail(
                    f"{call}: the kernel is all zeros; the center tap "
                    f"{center} must hold gain × an orthogonal matrix"
                )
            others = [t for t in nonzero_taps if t != center]
            s.fail(
                f"{call}: tap {others[0]} has nonzero weights (max |w| = "
                f"{_g(float(taps[others[0]]))}); delta-orthogonal kernels "
                f"are zero everywhere except the center tap {center}"
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
        s.fail(
            f"{call} raised {type(exc).__name__}: {exc}; check the shape "
            "first and raise ValueError (in_channels > out_channels)"
        )
    else:
        s.fail(
            f"{call} returned a kernel: with in_channels = 32 > out_channels "
            "= 16 no center matrix has orthonormal rows, so the convolution "
            "cannot preserve norms; raise ValueError naming the shape"
        )
    s.step("seeding")
    _seeding(s, lambda r: s.call((3, 3, 4, 8), r))
    return s.success(
        "zero except the center tap, orthonormal center rows, gain, in > out "
        "check and seeding all correct"
    )


# --------------------------------------------------------------------------------------
# torch_orthogonal: PyTorch's orthogonal_ ported to the Keras layout (chapter 7)
# --------------------------------------------------------------------------------------
def _torch_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Keras ``(*k, in, out)`` -> PyTorch ``(out, in, *k)``."""
    return (shape[-1], shape[-2], *shape[:-2])


def _to_keras(w_pt: np.ndarray) -> np.ndarray:
    """Move the axes of a PyTorch weight ``(out, in, *k)`` to ``(*k, in, out)``."""
    k = w_pt.ndim - 2
    return np.transpose(w_pt, (*range(2, 2 + k), 1, 0))


def _torch_orthogonal_ref(
    shape: tuple[int, ...],
    rng: np.random.Generator,
    gain: float = 1.0,
    *,
    sign_fix: bool = True,
) -> np.ndarray:
    """``torch.nn.init.orthogonal_`` in NumPy, in PyTorch's layout ``(out, in, *k)``.

    rows = out, cols = numel / rows; draw N(0, 1) of shape (rows, cols); transpose if
    rows < cols; ``q, r = qr``; ``q *= sign(diag(r))``; transpose back; times ``gain``.
    """
    shape_pt = _torch_shape(shape)
    rows = shape_pt[0]
    cols = int(np.prod(shape_pt)) // rows
    flat = rng.standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    if sign_fix:
        q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return gain * q.reshape(shape_pt)


def _keras_way(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """The mistake of flattening like Keras, ``(prod(shape[:-1]), out)``, then QR."""
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q = q * np.sign(np.diag(r))
    return (q if rows >= cols else q.T).reshape(shape)


def _layout_mistake(
    w: np.ndarray, shape: tuple[int, ...], seed: int, ref_pt: np.ndarray
) -> str:
    """Name the layout mistake that produced ``w``, or give the general advice."""
    shape_pt = _torch_shape(shape)
    cols = int(np.prod(shape_pt)) // shape_pt[0]

    def close(a: np.ndarray) -> bool:
        return a.shape == w.shape and np.allclose(w, a, atol=1e-5)

    if close(_keras_way(shape, np.random.default_rng(seed))):
        return (
            "you drew and orthogonalized the kernel the Keras way, flattened to "
            f"(prod(shape[:-1]), out); PyTorch flattens its own layout {shape_pt} to "
            f"(out, numel // out) = ({shape_pt[0]}, {cols}) and draws that matrix"
        )
    if close(ref_pt.reshape(shape)):
        return (
            f"you reshaped the PyTorch weight {shape_pt} to {shape}; a reshape keeps "
            "the memory order and mixes the axes up. Move the axes instead "
            "(np.transpose) so that out comes last and in second to last"
        )
    if len(shape) > 2 and close(np.transpose(ref_pt)):
        return (
            "you reversed all the axes (w.T), which also reverses the kernel's "
            "spatial axes. Only out and in change places: (out, in, *k) -> "
            "(*k, in, out), with the spatial axes kept in their order"
        )
    no_fix = _torch_orthogonal_ref(shape, np.random.default_rng(seed), sign_fix=False)
    if close(_to_keras(no_fix)):
        return (
            "multiply Q by the signs of the diagonal of R (q *= np.sign(np.diag(r))), "
            "as orthogonal_ does"
        )
    return (
        f"check the PyTorch shape {shape_pt}, the one draw "
        "rng.standard_normal((rows, cols)) with rows = out, the transposes before and "
        "after the QR when rows < cols, and the axes moved back at the end"
    )


def check_torch_orthogonal(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, gain=1.0)``: PyTorch's ``orthogonal_``, Keras layout.

    ``shape`` is a Keras shape, ``(in, out)`` or ``(*kernel_size, in, out)``. PyTorch's
    ``orthogonal_`` (:cite:`saxe2014exact`, with the sign fix of
    :cite:`mezzadri2007generate`) works on the PyTorch weight
    ``(out, in, *kernel_size)``: ``rows = out``, ``cols = numel // rows``; one draw
    ``rng.standard_normal((rows, cols))``; if ``rows < cols`` transpose it;
    ``q, r = np.linalg.qr(...)``; ``q *= np.sign(np.diag(r))``; transpose back if it was
    transposed; reshape to ``(out, in, *kernel_size)`` and multiply by ``gain``. The
    function returns that weight with its axes moved to the Keras layout, as float32.

    The checker draws from the same seed and compares entry by entry, so a function that
    flattens the kernel the Keras way, reshapes instead of moving axes, or swaps the
    spatial axes fails, although its matrix is orthogonal too.
    """
    cases = [
        ("dense, wide", (256, 128)),
        ("dense, tall", (64, 256)),
        ("conv2d", (3, 3, 16, 32)),
        ("conv2d, 3x5 kernel", (3, 5, 4, 8)),
        ("conv1d, tall", (3, 4, 64)),
    ]
    checks: tuple[str, ...] = ("called", "returns an array", "shape", "dtype")
    checks += tuple(c[0] for c in cases) + ("gain", "seeding")
    s = _Session("torch_orthogonal", fn, checks)
    for i, (kind, shape) in enumerate(cases):
        seed = 10 + i
        call = f"torch_orthogonal(shape={shape}, rng)"
        out = s.call(shape, np.random.default_rng(seed))
        if i == 0:
            s.step("returns an array")
        w = _array(s, out, call)
        if i == 0:
            s.step("shape")
        shape_pt = _torch_shape(shape)
        if w.shape == shape_pt and shape_pt != shape:
            s.fail(
                f"{call} returned shape {w.shape}: that is PyTorch's layout (out, in, "
                f"*kernel_size); move the axes back to the Keras layout {shape}"
            )
        _shape(s, w, shape, call)
        if i == 0:
            s.step("dtype")
        _float32(s, w, call)
        _finite(s, w, call)
        if i == 0:
            s.step(kind)
        w = w.astype(np.float64)
        ref_pt = _torch_orthogonal_ref(shape, np.random.default_rng(seed))
        ref = _to_keras(ref_pt)
        if np.allclose(w, ref, atol=1e-5):
            s.step(cases[i + 1][0] if i + 1 < len(cases) else "gain")
            continue
        deviation = _g(float(np.abs(w - ref).max()))
        s.fail(
            f"{call} differs from PyTorch's orthogonal_ drawn from the same rng (max "
            f"deviation {deviation}): {_layout_mistake(w, shape, seed, ref_pt)}"
        )

    gain, shape = 1.5, (3, 3, 16, 32)
    call = f"torch_orthogonal(shape={shape}, rng, gain={gain})"
    w = _array(s, s.call(shape, np.random.default_rng(30), gain=gain), call)
    _shape(s, w, shape, call)
    w = w.astype(np.float64)
    ref = _to_keras(_torch_orthogonal_ref(shape, np.random.default_rng(30), gain))
    if not np.allclose(w, ref, atol=1e-5):
        if np.allclose(w, ref / gain, atol=1e-5):
            s.fail(f"{call}: gain={gain} was ignored; multiply the matrix by gain")
        deviation = _g(float(np.abs(w - ref).max()))
        s.fail(f"{call} differs from orthogonal_ (max deviation {deviation})")
    s.step("seeding")
    _seeding(s, lambda r: s.call((3, 3, 4, 8), r))
    return s.success(
        "dense and conv kernels equal PyTorch's orthogonal_ entry by entry in the "
        "Keras layout; gain and seeding correct"
    )
