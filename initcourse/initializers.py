"""Weight initializers in plain numpy (this module never imports TensorFlow or Keras).

Every function takes a ``shape`` in the Keras layout (dense kernel
``(fan_in_dim, units)``, convolution kernel
``(*kernel_size, in_channels, out_channels)``) and returns a **new** array of that
shape, ``float32`` unless ``dtype=`` says otherwise; an empty shape (``()``, or one with
a zero or negative dimension) is a ``ValueError`` naming ``shape``. Random initializers
take ``rng``: ``None`` (fresh entropy), an ``int`` seed (the same seed always gives the
same array) or a :class:`numpy.random.Generator` (which advances, so two calls give two
different arrays).

The Keras-equivalent initializers (:func:`random_uniform`, :func:`random_normal`,
:func:`variance_scaling` and its presets, :func:`orthogonal`, :func:`identity`) follow
Keras 3's formulas exactly, so their samples have the same distribution as Keras' (not
the same numbers: the random generators differ). The others are the course's additions:
Martens' :func:`sparse` initialization, :func:`wavelet` (an orthogonal initializer from
a discrete wavelet transform), :func:`delta_orthogonal` and ZerO's
:func:`zero_hadamard`. :func:`get` looks any of them up by name.
"""

from __future__ import annotations

import difflib
import functools
import math
import numbers
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pywt
import scipy.linalg

from initcourse._utils import RngLike, as_rng, as_shape, check_choice, check_positive
from initcourse.theory import TRUNCATION_STD, compute_fans

__all__ = [
    "DISTRIBUTIONS",
    "NAMES",
    "constant",
    "delta_orthogonal",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "ones",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "sparse",
    "variance_scaling",
    "wavelet",
    "wavelet_analysis_matrix",
    "zero_hadamard",
    "zeros",
]

ShapeLike = int | Iterable[int]
DTypeLike = Any

DISTRIBUTIONS: tuple[str, ...] = (
    "truncated_normal",
    "untruncated_normal",
    "uniform",
    "normal",
)
"""Accepted ``distribution`` values of :func:`variance_scaling` (``"normal"`` means
truncated, as in Keras)."""

_MODES: tuple[str, ...] = ("fan_in", "fan_out", "fan_avg")


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _shape(shape: ShapeLike) -> tuple[int, ...]:
    """Validate ``shape`` (see :func:`initcourse._utils.as_shape`) and reject the empty
    shape ``()``.

    An initializer fills a weight array; ``()`` (and ``[]``) describes no array
    dimension at all, so it is a ``ValueError`` naming ``shape``, like a shape with a
    zero dimension (an empty array). Use ``(1,)`` for a single number.
    (:func:`initcourse.theory.compute_fans` does accept ``()``, like Keras's
    ``compute_fans``.)
    """
    dims = as_shape(shape)
    if len(dims) == 0:
        raise ValueError(
            f"shape: got the empty shape {shape!r}; an initializer needs at least one "
            "dimension, e.g. (units,) for a bias or (fan_in, units) for a dense kernel"
        )
    return dims


def _as_float_dtype(dtype: DTypeLike) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"dtype: expected a numpy floating dtype such as np.float32, got {dtype!r}"
        ) from None
    if dt.kind != "f":
        raise TypeError(
            f"dtype: expected a floating dtype (float16/32/64), got {dt.name!r}"
        )
    return dt


def _finish(values: np.ndarray, shape: tuple[int, ...], dtype: DTypeLike) -> np.ndarray:
    """Return ``values`` reshaped to ``shape`` as a new array of ``dtype``."""
    return np.array(np.reshape(values, shape), dtype=_as_float_dtype(dtype), copy=True)


def _check_finite(value: float, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
    ):
        raise ValueError(f"{name}: must be a finite real number, got {value!r}")
    return float(value)


def _matrix_dims(dims: tuple[int, ...], name: str) -> tuple[int, int]:
    """``(prod(shape[:-1]), shape[-1])`` for a shape of rank >= 2, else a ValueError
    naming ``name``."""
    if len(dims) < 2:
        raise ValueError(
            f"shape: {name} needs a shape of rank >= 2 (a dense or convolution "
            f"kernel), got {dims!r}"
        )
    return math.prod(dims[:-1]), dims[-1]


def _orthogonal_matrix(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed matrix with orthonormal columns (rows >= cols) or rows (rows <
    cols).

    QR of a Gaussian matrix with the sign fix ``q *= sign(diag(r))``
    :cite:`mezzadri2007generate`; without the fix, numpy's QR convention biases the
    distribution.
    """
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return q


def _truncated_standard_normal(size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` samples of N(0, 1) conditioned on [-2, 2]: values outside are re-drawn
    (like TF/Keras)."""
    z = rng.standard_normal(size)
    bad = np.flatnonzero(np.abs(z) > 2.0)
    while bad.size:
        z[bad] = rng.standard_normal(bad.size)
        bad = bad[np.abs(z[bad]) > 2.0]
    return z


# --------------------------------------------------------------------------------------
# constants
# --------------------------------------------------------------------------------------
def zeros(shape: ShapeLike, *, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Return an array of zeros (Keras ``Zeros``, the default bias initializer)."""
    return np.zeros(_shape(shape), dtype=_as_float_dtype(dtype))


def ones(shape: ShapeLike, *, dtype: DTypeLike = np.float32) -> np.ndarray:
    """Return an array of ones (Keras ``Ones``)."""
    return np.ones(_shape(shape), dtype=_as_float_dtype(dtype))


def constant(
    shape: ShapeLike, value: float, *, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """Return an array filled with ``value`` (Keras ``Constant``).

    All units of a layer then compute the same function and receive the same gradient,
    so gradient descent can never make them differ (the symmetry problem).

    Raises
    ------
    ValueError
        If ``value`` is not a finite real number.
    """
    v = _check_finite(value, "value")
    return np.full(_shape(shape), v, dtype=_as_float_dtype(dtype))


# --------------------------------------------------------------------------------------
# plain random
# --------------------------------------------------------------------------------------
def random_uniform(
    shape: ShapeLike,
    *,
    limit: float = 0.05,
    rng: RngLike = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Sample :math:`U(-\\text{limit}, \\text{limit})` (Keras ``RandomUniform``).

    The default ``limit=0.05`` is that of Keras' ``RandomUniform(-0.05, 0.05)``.

    The variance is :math:`\\text{limit}^2 / 3`; with ``limit = 1/sqrt(n)`` it is
    :math:`1/(3n)`, the "standard" initialization of Glorot and Bengio and PyTorch's
    default for ``nn.Linear`` :cite:`glorot2010understanding`.

    Raises
    ------
    ValueError
        If ``limit`` is not a finite number > 0.
    """
    dims = _shape(shape)
    a = check_positive(limit, "limit")
    gen = as_rng(rng)
    return _finish(gen.uniform(-a, a, size=dims), dims, dtype)


def random_normal(
    shape: ShapeLike,
    *,
    stddev: float = 0.05,
    rng: RngLike = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Sample :math:`N(0, \\text{stddev}^2)` (Keras ``RandomNormal``).

    The default ``stddev=0.05`` is that of Keras' ``RandomNormal(0, 0.05)``.

    A fixed standard deviation ignores the layer width: the variance of a pre-activation
    is :math:`\\text{fan\\_in} \\cdot \\text{stddev}^2` times that of the inputs, so
    deep stacks shrink or blow up the signal
    :cite:`glorot2010understanding,he2015delving`.

    Raises
    ------
    ValueError
        If ``stddev`` is not a finite number > 0.
    """
    dims = _shape(shape)
    s = check_positive(stddev, "stddev")
    gen = as_rng(rng)
    return _finish(gen.normal(0.0, s, size=dims), dims, dtype)


# --------------------------------------------------------------------------------------
# variance scaling (Keras 3 semantics) and its presets
# --------------------------------------------------------------------------------------
def variance_scaling(
    shape: ShapeLike,
    *,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    rng: RngLike = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Keras 3's ``VarianceScaling``: std :math:`\\sqrt{\\text{scale}/n}`.

    ``n`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` for ``mode``
    ``"fan_in"``, ``"fan_out"``, ``"fan_avg"`` (fans from
    :func:`initcourse.theory.compute_fans`), clipped to ≥ 1. With
    ``s = scale / max(1, n)``:

    - ``"truncated_normal"``: :math:`N(0, \\sigma^2)` with
      :math:`\\sigma = \\sqrt{s} / 0.8796\\ldots`
      (:data:`initcourse.theory.TRUNCATION_STD`), samples beyond :math:`\\pm 2\\sigma`
      re-drawn; the truncation shrinks the standard deviation by exactly 0.8796…, so the
      result has std :math:`\\sqrt{s}`.
    - ``"untruncated_normal"``: :math:`N(0, s)`.
    - ``"uniform"``: :math:`U(-\\sqrt{3s}, \\sqrt{3s})`.
    - ``"normal"``: an alias of ``"truncated_normal"``, exactly as in Keras. A common
      misconception is that ``distribution="normal"`` gives an untruncated Gaussian;
      Keras maps it to the truncated one (the standard deviation is the same, the tails
      are cut at about :math:`\\pm 2.27\\sqrt{s}`).

    Like Keras, ``distribution`` is case-insensitive.

    Parameters
    ----------
    shape
        Weight shape in the Keras layout.
    scale
        Multiplier of the variance (1 for LeCun/Glorot, 2 for He). Must be > 0.
    mode
        ``"fan_in"`` (forward signal), ``"fan_out"`` (backward signal) or ``"fan_avg"``
        (Glorot).
    distribution
        ``"truncated_normal"`` (default; alias ``"normal"``), ``"untruncated_normal"``
        or ``"uniform"``.
    rng, dtype
        See the module docstring.

    Raises
    ------
    ValueError
        If ``scale`` is not > 0, or ``mode`` / ``distribution`` is unknown.
    """
    dims = _shape(shape)
    if (
        isinstance(scale, bool)
        or not isinstance(scale, numbers.Real)
        or not math.isfinite(scale)
        or scale <= 0
    ):
        raise ValueError(f"scale: must be a finite number > 0, got {scale!r}")
    check_choice(mode, "mode", _MODES)
    if not isinstance(distribution, str):
        raise ValueError(
            f"distribution: got {distribution!r}; allowed values are "
            f"{', '.join(map(repr, DISTRIBUTIONS))}"
        )
    dist = distribution.lower()
    check_choice(dist, "distribution", DISTRIBUTIONS)
    if dist == "normal":
        dist = "truncated_normal"

    fan_in, fan_out = compute_fans(dims)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[
        mode
    ]
    s = float(scale) / max(1.0, n)
    gen = as_rng(rng)
    size = math.prod(dims)
    if dist == "truncated_normal":
        values = (math.sqrt(s) / TRUNCATION_STD) * _truncated_standard_normal(size, gen)
    elif dist == "untruncated_normal":
        values = gen.normal(0.0, math.sqrt(s), size=size)
    else:
        limit = math.sqrt(3.0 * s)
        values = gen.uniform(-limit, limit, size=size)
    return _finish(values, dims, dtype)


def lecun_normal(
    shape: ShapeLike, *, rng: RngLike = None, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """LeCun normal: truncated normal with std :math:`\\sqrt{1/\\text{fan\\_in}}`.

    The rule of LeCun et al. :cite:`lecun1998efficient`.

    ``variance_scaling(scale=1, mode="fan_in", distribution="truncated_normal")``; Keras
    pairs it with SELU :cite:`klambauer2017self`.
    """
    return variance_scaling(
        shape,
        scale=1.0,
        mode="fan_in",
        distribution="truncated_normal",
        rng=rng,
        dtype=dtype,
    )


def lecun_uniform(
    shape: ShapeLike, *, rng: RngLike = None, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """LeCun uniform: :math:`U(\\pm\\sqrt{3/\\text{fan\\_in}})`.

    The uniform version of :func:`lecun_normal` :cite:`lecun1998efficient`."""
    return variance_scaling(
        shape, scale=1.0, mode="fan_in", distribution="uniform", rng=rng, dtype=dtype
    )


def glorot_normal(
    shape: ShapeLike, *, rng: RngLike = None, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """Glorot (Xavier) normal: truncated normal, variance 2 / (fan_in + fan_out).

    The standard deviation is :math:`\\sqrt{2/(\\text{fan\\_in}+\\text{fan\\_out})}`.

    ``variance_scaling(scale=1, mode="fan_avg", distribution="truncated_normal")``
    :cite:`glorot2010understanding`.
    """
    return variance_scaling(
        shape,
        scale=1.0,
        mode="fan_avg",
        distribution="truncated_normal",
        rng=rng,
        dtype=dtype,
    )


def glorot_uniform(
    shape: ShapeLike, *, rng: RngLike = None, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """Glorot (Xavier) uniform: :math:`U(\\pm a)`, variance 2 / (fan_in + fan_out).

    The limit is :math:`a = \\sqrt{6/(\\text{fan\\_in}+\\text{fan\\_out})}`.

    The default kernel initializer of Keras' ``Dense``
    :cite:`glorot2010understanding,chollet2015keras`.
    """
    return variance_scaling(
        shape, scale=1.0, mode="fan_avg", distribution="uniform", rng=rng, dtype=dtype
    )


def he_normal(
    shape: ShapeLike, *, rng: RngLike = None, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """He (Kaiming) normal: truncated normal, std :math:`\\sqrt{2/\\text{fan\\_in}}`.

    The rule of He et al. :cite:`he2015delving`."""
    return variance_scaling(
        shape,
        scale=2.0,
        mode="fan_in",
        distribution="truncated_normal",
        rng=rng,
        dtype=dtype,
    )


def he_uniform(
    shape: ShapeLike, *, rng: RngLike = None, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """He (Kaiming) uniform: :math:`U(\\pm\\sqrt{6/\\text{fan\\_in}})`.

    The uniform version of :func:`he_normal` :cite:`he2015delving`."""
    return variance_scaling(
        shape, scale=2.0, mode="fan_in", distribution="uniform", rng=rng, dtype=dtype
    )


# --------------------------------------------------------------------------------------
# orthogonal family
# --------------------------------------------------------------------------------------
def orthogonal(
    shape: ShapeLike,
    *,
    gain: float = 1.0,
    rng: RngLike = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Keras' ``Orthogonal``: random orthonormal rows or columns, times ``gain``.

    The shape is flattened to ``(rows, cols) = (prod(shape[:-1]), shape[-1])``; a
    Gaussian matrix of shape ``(max, min)`` is QR-factorized, ``q *= sign(diag(r))``
    makes ``q`` Haar-distributed :cite:`mezzadri2007generate`, ``q`` is transposed if
    ``rows < cols``, and ``gain * q`` is reshaped. So :math:`W^\\top W = g^2 I` (tall)
    or :math:`W W^\\top = g^2 I` (wide). All singular values equal ``gain``: products of
    such matrices neither shrink nor amplify any direction (dynamical isometry of deep
    linear networks) :cite:`saxe2014exact`. For a convolution kernel this makes the
    flattened ``(k·in) × out`` matrix orthogonal, which is *not* a norm-preserving
    convolution (see :func:`delta_orthogonal`).

    Raises
    ------
    ValueError
        If the shape has rank < 2 or ``gain`` is not a finite number > 0.
    """
    dims = _shape(shape)
    rows, cols = _matrix_dims(dims, "orthogonal")
    g = check_positive(gain, "gain")
    q = _orthogonal_matrix(rows, cols, as_rng(rng))
    return _finish(g * q, dims, dtype)


def identity(
    shape: ShapeLike, *, gain: float = 1.0, dtype: DTypeLike = np.float32
) -> np.ndarray:
    """Keras' ``Identity``: ``gain * eye(rows, cols)`` for a 2-D shape.

    Rectangular shapes are allowed.

    Raises
    ------
    ValueError
        If the shape is not 2-D or ``gain`` is not a finite real number.
    """
    dims = _shape(shape)
    if len(dims) != 2:
        raise ValueError(
            f"shape: identity needs a 2-D shape, got {dims!r} of rank {len(dims)}"
        )
    g = _check_finite(gain, "gain")
    return _finish(g * np.eye(dims[0], dims[1]), dims, dtype)


def sparse(
    shape: ShapeLike,
    *,
    nonzero: int = 15,
    stddev: float = 1.0,
    rng: RngLike = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Martens' sparse initialization: exactly ``nonzero`` incoming weights per unit.

    The shape is flattened to ``(fan_in, units) = (prod(shape[:-1]), shape[-1])``. In
    every column (one output unit) exactly
    :math:`k = \\min(\\text{nonzero}, \\text{fan\\_in})` rows, chosen at random without
    replacement, get a weight drawn from :math:`N(0, \\text{stddev}^2)`; all others are
    0 :cite:`martens2010deep,sutskever2013importance`. The pre-activation variance is
    then :math:`k\\,\\text{stddev}^2\\,E[x^2]`, independent of the width of the previous
    layer, while the weights stay large enough to differ strongly between units.

    Note
    ----
    ``torch.nn.init.sparse_`` is a different scheme: it draws :math:`N(0, 0.01^2)` and
    zeroes a fraction ``sparsity`` of every column of the PyTorch ``(out, in)`` weight,
    i.e. of the outgoing weights of each input, so the number of incoming weights per
    unit is random.

    Raises
    ------
    ValueError
        If the shape has rank < 2, ``nonzero`` < 1 or ``stddev`` is not > 0.
    TypeError
        If ``nonzero`` is not an int.
    """
    dims = _shape(shape)
    rows, cols = _matrix_dims(dims, "sparse")
    if isinstance(nonzero, bool) or not isinstance(nonzero, numbers.Integral):
        raise TypeError(f"nonzero: expected an int >= 1, got {nonzero!r}")
    if nonzero < 1:
        raise ValueError(
            "nonzero: the number of incoming weights per unit must be >= 1, got "
            f"{nonzero!r}"
        )
    s = check_positive(stddev, "stddev")
    gen = as_rng(rng)
    k = min(int(nonzero), rows)
    # k distinct random rows per column
    chosen = np.argsort(gen.random((rows, cols)), axis=0)[:k]
    w = np.zeros((rows, cols))
    w[chosen, np.arange(cols)[None, :]] = gen.normal(0.0, s, size=(k, cols))
    return _finish(w, dims, dtype)


# --------------------------------------------------------------------------------------
# wavelet
# --------------------------------------------------------------------------------------
def _check_wavelet(name: str) -> pywt.Wavelet:
    discrete = pywt.wavelist(kind="discrete")
    if not isinstance(name, str) or name not in discrete:
        close = difflib.get_close_matches(str(name), discrete, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"wavelet: unknown discrete wavelet {name!r}.{hint} See "
            "pywt.wavelist(kind='discrete') for the valid names (e.g. 'haar', 'db4', "
            "'sym4', 'coif2')."
        )
    w = pywt.Wavelet(name)
    if not w.orthogonal:
        raise ValueError(
            f"wavelet: {name!r} is not an orthogonal wavelet "
            f"(pywt.Wavelet({name!r}).orthogonal is False), so its transform matrix is "
            "not orthogonal; use an orthogonal family: haar, db*, sym*, coif*"
        )
    return w


def _default_level(n: int, filter_len: int) -> int:
    """Largest L >= 1 with n % 2**L == 0 and L <= pywt.dwt_max_level(n, filter_len); 1
    if that is 0."""
    max_level = pywt.dwt_max_level(n, filter_len)
    level = 0
    while level + 1 <= max_level and n % (2 ** (level + 1)) == 0:
        level += 1
    return max(level, 1)


def _resolve_level(n: int, w: pywt.Wavelet, level: int | None, what: str) -> int:
    if level is not None:
        if isinstance(level, bool) or not isinstance(level, numbers.Integral):
            raise TypeError(f"level: expected None or an int >= 1, got {level!r}")
        if level < 1:
            raise ValueError(f"level: must be None or an int >= 1, got {level!r}")
    if n % 2 != 0:
        raise ValueError(
            f"shape: the wavelet initializer needs an even {what}, got {n}; the "
            "periodized DWT of an odd-length signal has more coefficients than "
            "samples, so it is not a square orthogonal matrix"
        )
    lev = _default_level(n, w.dec_len) if level is None else int(level)
    if n % (2**lev) != 0:
        raise ValueError(
            f"shape: {what} = {n} is not divisible by 2**level = {2**lev} "
            f"(level={lev}); choose a smaller level or a size that is a multiple of "
            "2**level"
        )
    return lev


# blocks larger than this (32 MB in float64) are recomputed, not cached
_CACHE_MAX_ENTRIES = 2**22


def _coefficient_lengths(n: int, level: int) -> list[int]:
    """Lengths of the periodized DWT coefficient arrays of a length-n signal
    (approximation first)."""
    return [n // 2**level] + [n // 2**j for j in range(level, 0, -1)]


def _dwt_columns_uncached(n: int, k: int, wavelet_name: str, level: int) -> np.ndarray:
    """``A_n[:, :k]``: the DWT of the unit vectors e_0, ..., e_{k-1} of R^n (one per
    column)."""
    with warnings.catch_warnings():
        # "Level value of L is too high: all coefficients will experience boundary
        # effects": with periodization the wrapped-around filters still give an
        # orthogonal matrix, so it is harmless.
        warnings.filterwarnings(
            "ignore", message="Level value of", category=UserWarning
        )
        coeffs = pywt.wavedec(
            np.eye(n, k), wavelet_name, mode="periodization", level=level, axis=0
        )
    return np.concatenate(coeffs, axis=0)


def _dwt_rows_uncached(n: int, k: int, wavelet_name: str, level: int) -> np.ndarray:
    """``A_n[:k].T``: the first k rows of A as columns, i.e. the inverse DWT of the unit
    coefficient vectors e_0, ..., e_{k-1} (A is orthogonal, so row j of A is A^T e_j =
    A^{-1} e_j)."""
    unit = np.eye(n, k)
    bounds = np.cumsum(_coefficient_lengths(n, level))[:-1]
    blocks = np.split(unit, bounds, axis=0)
    return pywt.waverec(blocks, wavelet_name, mode="periodization", axis=0)


@functools.lru_cache(maxsize=32)
def _dwt_block_cached(
    n: int, k: int, wavelet_name: str, level: int, rows: bool
) -> np.ndarray:
    block = (_dwt_rows_uncached if rows else _dwt_columns_uncached)(
        n, k, wavelet_name, level
    )
    block.setflags(write=False)
    return block


def _dwt_block(n: int, k: int, wavelet_name: str, level: int, rows: bool) -> np.ndarray:
    """``A_n[:k].T`` (``rows=True``) or ``A_n[:, :k]`` (``rows=False``), both of shape
    (n, k), read-only.

    Only the k needed basis vectors are computed (O(n k) work and memory, not O(n^2)),
    and blocks up to ``_CACHE_MAX_ENTRIES`` entries are cached per
    ``(n, k, wavelet, level)``.
    """
    if n * k <= _CACHE_MAX_ENTRIES:
        return _dwt_block_cached(n, k, wavelet_name, level, rows)
    return (_dwt_rows_uncached if rows else _dwt_columns_uncached)(
        n, k, wavelet_name, level
    )


def wavelet_analysis_matrix(
    n: int, wavelet: str = "db4", level: int | None = None
) -> np.ndarray:
    """Return the float64 ``n × n`` DWT analysis matrix A: column i is the DWT of e_i.

    ``A[:, i]`` is the concatenation of
    ``pywt.wavedec(e_i, wavelet, mode="periodization", level=level)``, approximation
    coefficients first, then details from coarse to fine, so ``A @ x`` is the DWT of
    ``x``. For an orthogonal wavelet with periodization, A is orthogonal
    :cite:`mallat2009wavelet`. ``level=None`` chooses the level as in :func:`wavelet`.
    Cached per ``(n, wavelet, level)`` (up to 2**22 entries); a new copy is returned
    each time.

    Raises
    ------
    ValueError
        Unknown or non-orthogonal wavelet, odd ``n``, ``n`` not divisible by
        ``2**level``, ``level < 1``.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n: expected a positive int, got {n!r}")
    w = _check_wavelet(wavelet)
    lev = _resolve_level(int(n), w, level, "n")
    return _dwt_block(int(n), int(n), wavelet, lev, rows=False).copy()


def wavelet(
    shape: ShapeLike,
    *,
    wavelet: str = "db4",
    level: int | None = None,
    gain: float = 1.0,
    rng: RngLike = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """An orthogonal initializer from the matrix of a discrete wavelet transform (DWT).

    Construction
    ------------
    1. **The analysis matrix.** For a size n, :math:`A \\in \\mathbb{R}^{n \\times n}`
       has as column i the DWT of the unit vector :math:`e_i`: the concatenated output
       of ``pywt.wavedec(e_i, wavelet, mode="periodization", level=level)``,
       approximation coefficients first, then the detail coefficients from the coarsest
       to the finest level :cite:`lee2019pywavelets`. Thus :math:`Ax` is the DWT of x.
       For an *orthogonal* wavelet (Daubechies ``db*``, symlets ``sym*``, coiflets
       ``coif*``, ``haar``) the filter bank is orthonormal :cite:`daubechies1992ten`,
       and with periodic extension ("periodization": the signal is wrapped around,
       giving exactly n coefficients) the transform is an orthogonal change of basis,
       :math:`A^\\top A = A A^\\top = I` :cite:`mallat2009wavelet`. Each row of A is a
       wavelet or scaling function sampled on n points, localized in position and scale.
    2. **Rectangular shapes.** The shape is flattened to
       ``(n_in, n_out) = (prod(shape[:-1]), shape[-1])``, as in :func:`orthogonal`.
       Keras computes ``x @ W``, so W plays the role of :math:`A^\\top`:

       - ``n_out <= n_in``: :math:`W = g\\,(A_{n_{in}}[{:}n_{out}])^\\top` — the first
         (coarsest) ``n_out`` basis functions; the columns of W are orthonormal (times
         g): :math:`W^\\top W = g^2 I`.
       - ``n_out > n_in``: :math:`W = g\\,(A_{n_{out}}[:, {:}n_{in}])^\\top`; the rows
         of W are orthonormal: :math:`W W^\\top = g^2 I`.
    3. **Level.** ``level=None`` takes the largest :math:`L \\ge 1` with
       :math:`n \\bmod 2^L = 0` and :math:`L \\le` ``pywt.dwt_max_level(n, filter_len)``
       (the deepest level at which the filter still fits into the signal); if that
       maximum is 0 (a filter longer than the signal), L = 1 for even n. Here n is the
       size used in step 2 (``n_in`` if ``n_out <= n_in``, else ``n_out``). An explicit
       ``level`` may exceed the PyWavelets maximum: with periodization the wrapped
       filters still give an orthogonal matrix (PyWavelets' boundary-effect warning is
       silenced).
    4. **Randomness.** With ``rng=None`` the result is deterministic: the units already
       differ from each other, so the permutation symmetry is broken without randomness
       (as ZerO argues :cite:`zhao2022zero`). With an ``rng``, the output units
       (columns) are randomly permuted and multiplied by random signs ±1, which keeps W
       orthogonal but makes layers and seeds differ.

    Only the needed block is computed: ``A_{n_in}[:n_out]`` as the inverse DWT of the
    first ``n_out`` unit coefficient vectors (rows of an orthogonal A are
    :math:`A^{-1} e_j`), or ``A_{n_out}[:, :n_in]`` as the DWT of the first ``n_in``
    unit vectors, so the cost is O(n_in·n_out), not O(n²). Blocks are cached with
    ``functools.lru_cache`` per ``(n, k, wavelet, level)`` (blocks up to 2**22 entries);
    every call returns a new array.

    Parameters
    ----------
    shape
        Kernel shape, rank >= 2.
    wavelet
        A discrete orthogonal wavelet name of PyWavelets (``"haar"``, ``"db2"``,
        ``"db4"``, ``"sym4"``, ``"coif2"``, ...).
    level
        Decomposition level (None: as described above).
    gain
        Multiplier; every singular value of W equals ``gain``.
    rng, dtype
        See the module docstring.

    Raises
    ------
    ValueError
        An unknown wavelet, a non-orthogonal one (e.g. ``"bior2.2"``), an odd size or
        one not divisible by ``2**level``, ``level < 1``, rank < 2, or ``gain`` not > 0.
    """
    dims = _shape(shape)
    n_in, n_out = _matrix_dims(dims, "wavelet")
    w = _check_wavelet(wavelet)
    g = check_positive(gain, "gain")
    if n_out <= n_in:
        lev = _resolve_level(n_in, w, level, "fan-in size prod(shape[:-1])")
        mat = _dwt_block(n_in, n_out, wavelet, lev, rows=True)  # A_{n_in}[:n_out].T
    else:
        lev = _resolve_level(n_out, w, level, "number of units shape[-1]")
        mat = _dwt_block(
            n_out, n_in, wavelet, lev, rows=False
        ).T  # (A_{n_out}[:, :n_in]).T
    mat = g * mat  # a new array; the cached matrix is never modified
    if rng is not None:
        gen = as_rng(rng)
        perm = gen.permutation(n_out)
        signs = gen.choice(np.array([-1.0, 1.0]), size=n_out)
        mat = mat[:, perm] * signs
    return _finish(mat, dims, dtype)


def delta_orthogonal(
    shape: ShapeLike,
    *,
    gain: float = 1.0,
    rng: RngLike = None,
    dtype: DTypeLike = np.float32,
) -> np.ndarray:
    """Delta-orthogonal convolution kernel: orthogonal centre tap, zeros elsewhere.

    The initialization of Xiao et al. (2018).

    For a kernel ``(*k, in, out)`` with ``in <= out``: draw an ``out × out`` orthogonal
    matrix (QR with the sign fix :cite:`mezzadri2007generate`), keep its first ``in``
    rows, multiply by ``gain`` and put it at the centre tap (index ``k_i // 2`` of every
    spatial dimension); every other tap is 0. The convolution then acts at each position
    as an orthogonal map of the channels (:math:`W_c W_c^\\top = g^2 I_{in}`), so it
    preserves norms exactly — what the mean-field theory of CNNs needs for dynamical
    isometry, allowing 10,000-layer vanilla CNNs :cite:`xiao2018dynamical`. This is
    TensorFlow 1's ``ConvolutionDeltaOrthogonal``.

    Raises
    ------
    ValueError
        If the shape has rank < 3, ``in > out``, or ``gain`` is not > 0.
    """
    dims = _shape(shape)
    if len(dims) < 3:
        raise ValueError(
            "shape: delta_orthogonal needs a convolution kernel (*kernel_size, in, "
            f"out) of rank >= 3, got {dims!r}"
        )
    c_in, c_out = dims[-2], dims[-1]
    if c_in > c_out:
        raise ValueError(
            f"shape: delta_orthogonal needs in_channels <= out_channels, got in={c_in} "
            f"> out={c_out} in {dims!r}"
        )
    g = check_positive(gain, "gain")
    q = _orthogonal_matrix(c_out, c_out, as_rng(rng))[:c_in]
    w = np.zeros(dims)
    centre = tuple(k // 2 for k in dims[:-2])
    w[centre] = g * q
    return _finish(w, dims, dtype)


def zero_hadamard(shape: ShapeLike, *, dtype: DTypeLike = np.float32) -> np.ndarray:
    """ZerO initialization (Zhao et al. 2022): only 0, 1 and a Hadamard matrix.

    The normalisation follows the authors' released notebook, which divides the
    Hadamard matrix by :math:`\\sqrt{p}` (an orthogonal matrix); the paper's Algorithm 1
    writes :math:`c = 2^{-(m-1)/2}`, a factor :math:`\\sqrt 2` larger.

    In PyTorch terms, for :math:`W \\in \\mathbb{R}^{m \\times n}` (m = out, n = in):

    - :math:`m \\le n`: :math:`W = I_{m \\times n}` (partial identity, ``eye(m, n)``);
    - :math:`m > n`:
      :math:`W = I_{m \\times p}\\, H_p\\, 2^{-\\log_2(p)/2}\\, I_{p \\times n}` with
      :math:`p = 2^{\\lceil \\log_2 m \\rceil}` and :math:`H_p` the Sylvester Hadamard
      matrix (``scipy.linalg.hadamard``); i.e. the top-left ``m × n`` block of
      :math:`H_p / \\sqrt{p}`.

    The Hadamard part avoids the "training degeneracy" of a zero-padded identity, whose
    extra dimensions would stay unused :cite:`zhao2022zero`. Deterministic. Returns the
    Keras-layout transpose, shape ``(in, out)``.

    Note
    ----
    **Identical units in an expanding layer.** Sylvester's construction is :math:`H_p =
    \\begin{pmatrix} H_{p/2} & H_{p/2} \\\\ H_{p/2} & -H_{p/2} \\end{pmatrix}`, so row
    :math:`j + p/2` of :math:`H_p` equals row :math:`j` on the first :math:`p/2`
    columns. Hence when ``fan_in`` :math:`\\le p/2` (with :math:`p = 2^{\\lceil \\log_2
    \\text{fan\\_out} \\rceil}`), units :math:`j` and :math:`j + p/2` (columns of the
    Keras kernel) receive identical incoming weights and compute the same function at
    initialization; only different *outgoing* weights can later tell them apart. More
    precisely, since :math:`(H_p)_{ac} = (-1)^{\\mathrm{popcount}(a \\wedge c)}`, units
    :math:`a` and :math:`b` coincide exactly when :math:`a \\equiv b \\pmod{2^{\\lceil
    \\log_2 \\text{fan\\_in} \\rceil}}`, so an expanding layer has
    :math:`\\min(\\text{fan\\_out}, 2^{\\lceil \\log_2 \\text{fan\\_in} \\rceil})`
    distinct units (e.g. ``(64, 256)``: 64 distinct units, each repeated 4 times). With
    ``fan_in`` :math:`> p/2` all units differ. This is a property of ZerO's Algorithm 1
    as specified (and of the authors' code), not of this implementation; it is checked
    in ``tests/test_initializers.py``.

    Raises
    ------
    ValueError
        If the shape is not 2-D.
    """
    dims = _shape(shape)
    if len(dims) != 2:
        raise ValueError(
            f"shape: zero_hadamard needs a 2-D shape (in, out), got {dims!r} of rank "
            f"{len(dims)}"
        )
    n, m = dims  # Keras (in, out) -> PyTorch W is (m, n) = (out, in)
    if m <= n:
        w_pt = np.eye(m, n)
    else:
        p = 1 << (m - 1).bit_length()  # 2**ceil(log2 m)
        # 2**(log2(p)/2) = sqrt(p)
        h = scipy.linalg.hadamard(p).astype(np.float64) / math.sqrt(p)
        w_pt = np.eye(m, p) @ h @ np.eye(p, n)
    return _finish(w_pt.T, dims, dtype)


# --------------------------------------------------------------------------------------
# lookup
# --------------------------------------------------------------------------------------
_REGISTRY: dict[str, Callable[..., np.ndarray]] = {
    "zeros": zeros,
    "ones": ones,
    "constant": constant,
    "random_uniform": random_uniform,
    "random_normal": random_normal,
    "variance_scaling": variance_scaling,
    "lecun_normal": lecun_normal,
    "lecun_uniform": lecun_uniform,
    "glorot_normal": glorot_normal,
    "glorot_uniform": glorot_uniform,
    "he_normal": he_normal,
    "he_uniform": he_uniform,
    "orthogonal": orthogonal,
    "identity": identity,
    "sparse": sparse,
    "wavelet": wavelet,
    "delta_orthogonal": delta_orthogonal,
    "zero_hadamard": zero_hadamard,
}

NAMES: tuple[str, ...] = tuple(_REGISTRY)
"""Names accepted by :func:`get`."""


def get(name: str) -> Callable[..., np.ndarray]:
    """Return the initializer function called ``name`` (one of :data:`NAMES`).

    Raises
    ------
    ValueError
        If ``name`` is unknown; the message suggests the closest valid name and lists
        all of them.
    """
    if isinstance(name, str) and name in _REGISTRY:
        return _REGISTRY[name]
    close = difflib.get_close_matches(str(name), NAMES, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"name: unknown initializer {name!r}.{hint} Valid names: {', '.join(NAMES)}"
    )
