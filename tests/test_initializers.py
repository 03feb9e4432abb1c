"""Tests of initcourse.initializers (numpy initializers checked against formulas, papers
and Keras)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import pywt
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from initcourse import initializers as I
from initcourse import theory

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

DENSE = (256, 512)
CONV = (3, 3, 32, 64)
KS_P = 1e-3


@pytest.fixture(scope="module")
def keras():
    """Keras is imported only here, inside the tests (the package never imports it)."""
    return pytest.importorskip("keras")


def keras_sample(keras, initializer, shape):
    return np.asarray(
        keras.ops.convert_to_numpy(initializer(shape, dtype="float32")),
        dtype=np.float64,
    ).ravel()


def ortho_error(w: np.ndarray, gain: float = 1.0) -> float:
    """max |WᵀW − g²I| for a tall matrix, |WWᵀ − g²I| for a wide one (W flattened to
    (prod(:-1), last))."""
    m = np.asarray(w, dtype=np.float64).reshape(-1, w.shape[-1])
    gram = m.T @ m if m.shape[0] >= m.shape[1] else m @ m.T
    return float(np.abs(gram - gain**2 * np.eye(gram.shape[0])).max())


# ================================================================= closed-form formulas
def test_constants():
    assert np.array_equal(I.zeros((3, 4)), np.zeros((3, 4)))
    assert np.array_equal(I.ones(5), np.ones(5))
    c = I.constant((2, 3), 0.25)
    assert c.shape == (2, 3) and np.all(c == 0.25)
    # a single number: shape (1,); the empty shape () is refused
    assert I.zeros((1,)).shape == (1,)


def test_random_uniform_limit_and_variance():
    n = 400
    w = I.random_uniform((n, 300), limit=1 / math.sqrt(n), rng=0)
    assert np.abs(w).max() <= 1 / math.sqrt(n)
    # U(±1/sqrt(n)) has variance 1/(3n): Glorot's "standard" init, nVar[W] = 1/3
    assert n * w.var() == pytest.approx(1 / 3, rel=0.02)
    assert np.abs(I.random_uniform((100, 100), rng=1)).max() <= 0.05


def test_random_normal_std():
    w = I.random_normal((300, 400), stddev=0.2, rng=0)
    assert w.std() == pytest.approx(0.2, rel=0.01)
    assert abs(w.mean()) < 0.005


def test_glorot_uniform_limit():
    fan_in, fan_out = 300, 100
    w = I.glorot_uniform((fan_in, fan_out), rng=0)
    limit = math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # the whole interval is used
    assert w.std() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.02)


def test_he_uniform_limit_conv():
    shape = (3, 3, 16, 32)
    fan_in = 3 * 3 * 16
    w = I.he_uniform(shape, rng=0)
    assert np.abs(w).max() <= math.sqrt(6 / fan_in)
    assert w.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.03)


def test_lecun_uniform_limit():
    w = I.lecun_uniform((200, 300), rng=0)
    assert np.abs(w).max() <= math.sqrt(3 / 200)
    assert w.std() == pytest.approx(math.sqrt(1 / 200), rel=0.02)


@pytest.mark.parametrize(
    "fn, shape, target",
    [
        (I.he_normal, (256, 512), math.sqrt(2 / 256)),
        (I.he_normal, (3, 3, 32, 64), math.sqrt(2 / 288)),
        (I.lecun_normal, (256, 512), math.sqrt(1 / 256)),
        (I.glorot_normal, (256, 512), math.sqrt(2 / (256 + 512))),
        (I.glorot_normal, (3, 3, 32, 64), math.sqrt(2 / (288 + 576))),
    ],
)
def test_truncated_normal_presets(fn, shape, target):
    """Truncated at ±2σ_raw with σ_raw = target/0.8796…, and the final std is the
    target."""
    w = fn(shape, rng=0).astype(np.float64)
    sigma_raw = target / theory.TRUNCATION_STD
    assert np.abs(w).max() <= 2 * sigma_raw * (1 + 1e-6)
    assert np.abs(w).max() > 1.95 * sigma_raw  # the truncation point is reached
    assert w.std() == pytest.approx(target, rel=0.02)


def test_truncated_normal_is_conditioned_not_clipped():
    """Out-of-range values are re-drawn: no pile-up at ±2σ as clipping would produce."""
    w = I.variance_scaling((500, 400), scale=1.0, mode="fan_in", rng=3).astype(
        np.float64
    )
    sigma_raw = math.sqrt(1 / 500) / theory.TRUNCATION_STD
    at_edge = np.mean(np.abs(w) > 1.999 * sigma_raw)
    assert at_edge < 1e-3  # clipping would put ~4.6 % of the samples there
    ks = stats.kstest(w.ravel() / sigma_raw, stats.truncnorm(-2, 2).cdf)
    assert ks.pvalue > KS_P


def test_untruncated_normal_and_normal_alias():
    shape = (400, 200)
    untr = I.variance_scaling(
        shape, scale=2.0, distribution="untruncated_normal", rng=0
    ).astype(np.float64)
    std = math.sqrt(2 / 400)
    assert untr.std() == pytest.approx(std, rel=0.02)
    assert np.abs(untr).max() > 2.5 * std  # tails are not cut
    # "normal" is the truncated normal (Keras' mapping), not an untruncated Gaussian
    alias = I.variance_scaling(shape, scale=2.0, distribution="normal", rng=0)
    trunc = I.variance_scaling(shape, scale=2.0, distribution="truncated_normal", rng=0)
    assert np.array_equal(alias, trunc)
    assert np.abs(alias).max() <= 2 * std / theory.TRUNCATION_STD * (1 + 1e-6)
    # case-insensitive like Keras
    assert np.array_equal(
        I.variance_scaling(shape, scale=2.0, distribution="Uniform", rng=0),
        I.variance_scaling(shape, scale=2.0, distribution="uniform", rng=0),
    )


@pytest.mark.parametrize(
    "mode, n", [("fan_in", 72), ("fan_out", 144), ("fan_avg", 108)]
)
def test_variance_scaling_modes(mode, n):
    w = I.variance_scaling(
        (3, 3, 8, 16), scale=1.0, mode=mode, distribution="uniform", rng=0
    )
    assert np.abs(w).max() <= math.sqrt(3 / n)
    assert np.abs(w).max() > 0.95 * math.sqrt(3 / n)


# ============================================================= against Keras (KS tests)
KERAS_PRESETS = [
    ("glorot_uniform", "GlorotUniform"),
    ("glorot_normal", "GlorotNormal"),
    ("he_uniform", "HeUniform"),
    ("he_normal", "HeNormal"),
    ("lecun_uniform", "LecunUniform"),
    ("lecun_normal", "LecunNormal"),
]


@pytest.mark.parametrize("shape", [DENSE, CONV])
@pytest.mark.parametrize("ours, theirs", KERAS_PRESETS)
def test_presets_match_keras_distribution(keras, ours, theirs, shape):
    mine = I.get(ours)(shape, rng=0).astype(np.float64).ravel()
    ref = keras_sample(keras, getattr(keras.initializers, theirs)(seed=1), shape)
    assert stats.ks_2samp(mine, ref).pvalue > KS_P


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(scale=0.5, mode="fan_out", distribution="untruncated_normal"),
        dict(scale=3.0, mode="fan_avg", distribution="normal"),
        dict(scale=1.5, mode="fan_in", distribution="uniform"),
    ],
)
def test_variance_scaling_matches_keras(keras, kwargs):
    mine = I.variance_scaling(CONV, rng=0, **kwargs).astype(np.float64).ravel()
    ref = keras_sample(
        keras, keras.initializers.VarianceScaling(seed=2, **kwargs), CONV
    )
    assert stats.ks_2samp(mine, ref).pvalue > KS_P


def test_ks_test_detects_untruncated_vs_truncated(keras):
    """The KS comparison has power: untruncated vs Keras' "normal" (truncated) is
    rejected."""
    mine = I.variance_scaling(
        DENSE, scale=2.0, distribution="untruncated_normal", rng=0
    ).astype(np.float64)
    ref = keras_sample(
        keras,
        keras.initializers.VarianceScaling(scale=2.0, distribution="normal", seed=1),
        DENSE,
    )
    assert stats.ks_2samp(mine.ravel(), ref).pvalue < 1e-6


def test_random_uniform_and_normal_match_keras(keras):
    u = I.random_uniform(DENSE, rng=0).astype(np.float64).ravel()
    ref_u = keras_sample(keras, keras.initializers.RandomUniform(seed=3), DENSE)
    assert stats.ks_2samp(u, ref_u).pvalue > KS_P
    g = I.random_normal(DENSE, rng=0).astype(np.float64).ravel()
    ref_g = keras_sample(keras, keras.initializers.RandomNormal(seed=3), DENSE)
    assert stats.ks_2samp(g, ref_g).pvalue > KS_P


@pytest.mark.parametrize("shape", [DENSE, (512, 256), (3, 3, 16, 32)])
def test_orthogonal_matches_keras(keras, shape):
    mine = I.orthogonal(shape, gain=1.5, rng=0).astype(np.float64).ravel()
    ref = keras_sample(keras, keras.initializers.Orthogonal(gain=1.5, seed=4), shape)
    assert stats.ks_2samp(mine, ref).pvalue > KS_P


def test_identity_matches_keras(keras):
    for shape in [(4, 4), (3, 5), (6, 2)]:
        sample = keras_sample(keras, keras.initializers.Identity(gain=2.0), shape)
        ref = sample.reshape(shape)
        assert np.array_equal(I.identity(shape, gain=2.0), ref)


# ======================================================================== orthogonal
@pytest.mark.parametrize(
    "shape",
    [(64, 64), (128, 32), (32, 128), (3, 3, 16, 32), (1, 1, 16, 64), (5, 8, 40)],
)
@pytest.mark.parametrize("g", [1.0, 2.5])
def test_orthogonal_is_orthogonal(shape, g):
    w = I.orthogonal(shape, gain=g, rng=1)
    assert w.shape == shape and w.dtype == np.float32
    assert ortho_error(w, g) < 1e-5 * max(1.0, g**2)
    sv = np.linalg.svd(w.reshape(-1, shape[-1]).astype(np.float64), compute_uv=False)
    assert np.allclose(sv, g, atol=1e-5)


def test_orthogonal_sign_fix_gives_unbiased_diagonal():
    """With q *= sign(diag(r)) (Mezzadri 2007) Q is Haar: E[q_ii] = 0; raw numpy QR is
    biased."""
    rng = np.random.default_rng(0)
    diag_fixed = [I.orthogonal((4, 4), rng=rng)[0, 0] for _ in range(2000)]
    assert abs(np.mean(diag_fixed)) < 0.05
    raw = [np.linalg.qr(rng.standard_normal((4, 4)))[0][0, 0] for _ in range(2000)]
    assert abs(np.mean(raw)) > 0.2


def test_identity():
    assert np.array_equal(I.identity((3, 5), gain=0.5), 0.5 * np.eye(3, 5))
    with pytest.raises(ValueError, match=r"shape.*2-D"):
        I.identity((3, 3, 3))


# ======================================================================== sparse
@pytest.mark.parametrize(
    "shape, k", [((200, 50), 15), ((10, 30), 15), ((3, 3, 8, 20), 15), ((100, 40), 1)]
)
def test_sparse_exact_nonzeros_per_unit(shape, k):
    w = I.sparse(shape, nonzero=k, rng=0)
    m = w.reshape(-1, shape[-1])
    expected = min(k, m.shape[0])
    assert np.all(np.count_nonzero(m, axis=0) == expected)


def test_sparse_stddev_and_uniform_row_choice():
    rows, cols, k = 100, 4000, 15
    w = I.sparse((rows, cols), nonzero=k, stddev=0.5, rng=1)
    nz = w[w != 0].astype(np.float64)
    assert nz.size == k * cols
    assert nz.std() == pytest.approx(0.5, rel=0.02)
    # every input row is picked with the same probability k/rows
    counts = np.count_nonzero(w, axis=1)
    assert stats.chisquare(counts).pvalue > KS_P
    # pre-activation variance k * stddev^2 for unit-variance inputs, independent of rows
    x = np.random.default_rng(2).standard_normal((500, rows))
    assert (x @ w).var() == pytest.approx(k * 0.25, rel=0.05)


# ======================================================================== wavelet
WAVELETS = ["haar", "db2", "db4", "sym4", "coif2"]


@pytest.mark.parametrize("name", WAVELETS)
@pytest.mark.parametrize(
    "shape", [(64, 64), (64, 16), (16, 64), (96, 40), (3, 3, 8, 16), (2, 2), (8, 8)]
)
def test_wavelet_orthonormal(name, shape):
    w = I.wavelet(shape, wavelet=name)
    assert w.shape == shape and w.dtype == np.float32
    assert ortho_error(w) < 1e-5


@pytest.mark.parametrize("name", WAVELETS)
def test_wavelet_square_is_the_dwt(name):
    """x @ W is the periodized DWT of x (Keras computes x @ W), approximation first."""
    n = 64
    w = I.wavelet((n, n), wavelet=name, level=3).astype(np.float64)
    x = np.random.default_rng(0).standard_normal(n)
    with warnings.catch_warnings():
        # coif2 at n=64
        warnings.filterwarnings(
            "ignore", message="Level value of", category=UserWarning
        )
        coeffs = pywt.wavedec(x, name, mode="periodization", level=3)
    assert np.allclose(x @ w, np.concatenate(coeffs), atol=1e-5)
    # and W^T is the inverse DWT
    assert np.allclose(
        pywt.waverec(coeffs, name, mode="periodization"), (x @ w) @ w.T, atol=1e-5
    )


def test_wavelet_large_fan_in_is_cheap_and_matches_full_matrix():
    """Only the needed basis vectors are computed; they agree with the full analysis
    matrix."""
    w = I.wavelet((4, 4, 256, 8), wavelet="sym4")  # n_in = 4096, n_out = 8
    assert ortho_error(w) < 1e-5
    a = I.wavelet_analysis_matrix(512, "sym4")
    assert np.allclose(I.wavelet((512, 24), wavelet="sym4"), a[:24].T, atol=1e-6)
    assert np.allclose(I.wavelet((24, 512), wavelet="sym4"), a[:, :24].T, atol=1e-6)


def test_wavelet_rectangular_construction():
    a64 = I.wavelet_analysis_matrix(64, "db2")
    a16 = I.wavelet_analysis_matrix(16, "db2")
    assert np.allclose(I.wavelet((64, 16), wavelet="db2"), a64[:16].T, atol=1e-6)
    assert np.allclose(I.wavelet((16, 64), wavelet="db2"), a64[:, :16].T, atol=1e-6)
    assert np.allclose(
        I.wavelet((16, 16), wavelet="db2", gain=2.0), 2.0 * a16.T, atol=1e-6
    )
    assert ortho_error(I.wavelet((16, 64), wavelet="db2", gain=2.0), 2.0) < 1e-5


@pytest.mark.parametrize(
    "n, name, expected",
    [
        (64, "haar", 6),
        (64, "db4", 3),
        (96, "haar", 5),
        (2, "db4", 1),
        (12, "db2", 2),
        (100, "db4", 2),
        (6, "db2", 1),
    ],
)
def test_wavelet_default_level(n, name, expected):
    """level=None: largest L <= dwt_max_level(n, filter_len) with n % 2**L == 0 (1 if
    the max is 0)."""
    assert np.array_equal(
        I.wavelet((n, n), wavelet=name), I.wavelet((n, n), wavelet=name, level=expected)
    )


def test_wavelet_high_level_is_orthogonal_and_silent():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # beyond pywt.dwt_max_level(8, 8) = 0
        w = I.wavelet((8, 8), wavelet="db4", level=3)
    assert ortho_error(w) < 1e-5


def test_wavelet_determinism_and_randomization():
    base = I.wavelet((64, 32))
    assert np.array_equal(base, I.wavelet((64, 32)))
    r0, r0b, r1 = (
        I.wavelet((64, 32), rng=0),
        I.wavelet((64, 32), rng=0),
        I.wavelet((64, 32), rng=1),
    )
    assert np.array_equal(r0, r0b)
    assert not np.array_equal(r0, r1) and not np.array_equal(r0, base)
    assert ortho_error(r0) < 1e-5
    # the random version is a signed permutation of the output units of the
    # deterministic one
    match = np.abs(base.T.astype(np.float64) @ r0.astype(np.float64))
    assert np.allclose(np.sort(match, axis=0)[-1], 1.0, atol=1e-5)
    assert np.allclose(match.sum(axis=0), 1.0, atol=1e-4)


def test_wavelet_cache_returns_copies():
    a = I.wavelet((16, 16), wavelet="haar")
    a[:] = 0.0
    assert ortho_error(I.wavelet((16, 16), wavelet="haar")) < 1e-6
    m = I.wavelet_analysis_matrix(16, "haar")
    m[:] = 0.0
    assert ortho_error(I.wavelet_analysis_matrix(16, "haar")) < 1e-12


def test_wavelet_errors():
    with pytest.raises(ValueError, match=r"wavelet.*'bior2.2'.*not an orthogonal"):
        I.wavelet((16, 16), wavelet="bior2.2")
    with pytest.raises(ValueError, match=r"wavelet.*unknown.*'db44'.*wavelist"):
        I.wavelet((16, 16), wavelet="db44")
    with pytest.raises(ValueError, match=r"shape.*even.*63"):
        I.wavelet((63, 63))
    with pytest.raises(ValueError, match=r"shape.*100.*divisible by 2\*\*level = 8"):
        I.wavelet((100, 100), level=3)
    with pytest.raises(ValueError, match=r"level.*>= 1.*0"):
        I.wavelet((16, 16), level=0)
    with pytest.raises(ValueError, match=r"shape.*rank >= 2"):
        I.wavelet(16)


# ===================================================================== delta-orthogonal
@pytest.mark.parametrize(
    "shape", [(3, 3, 16, 32), (3, 3, 16, 16), (5, 8, 8), (4, 4, 4, 8), (3, 3, 3, 4, 8)]
)
def test_delta_orthogonal(shape):
    w = I.delta_orthogonal(shape, gain=1.5, rng=0).astype(np.float64)
    centre = tuple(k // 2 for k in shape[:-2])
    c = w[centre]
    assert np.allclose(c @ c.T, 1.5**2 * np.eye(shape[-2]), atol=1e-5)
    rest = w.copy()
    rest[centre] = 0.0
    assert np.count_nonzero(rest) == 0


def test_delta_orthogonal_preserves_norm_of_a_convolution():
    """A 1-D 'same' convolution with a delta-orthogonal kernel preserves the norm of
    every signal."""
    k, c = 3, 8
    w = I.delta_orthogonal((k, c, c), rng=0).astype(np.float64)
    x = np.random.default_rng(1).standard_normal((20, c))
    xp = np.pad(x, ((1, 1), (0, 0)))
    y = sum(xp[t : t + 20] @ w[t] for t in range(k))
    assert np.linalg.norm(y) == pytest.approx(np.linalg.norm(x), rel=1e-6)


def test_delta_orthogonal_errors():
    with pytest.raises(
        ValueError, match=r"shape.*in_channels <= out_channels.*in=32 > out=16"
    ):
        I.delta_orthogonal((3, 3, 32, 16))
    with pytest.raises(ValueError, match=r"shape.*rank >= 3"):
        I.delta_orthogonal((16, 16))


# ======================================================================== ZerO
def test_zero_hadamard_partial_identity():
    # Keras (in=5, out=3): PyTorch W = eye(3, 5), so the Keras kernel is eye(5, 3)
    assert np.array_equal(I.zero_hadamard((5, 3)), np.eye(5, 3))
    assert np.array_equal(I.zero_hadamard((4, 4)), np.eye(4))


def test_zero_hadamard_small_case_by_hand():
    # in=2, out=3: p = 4, W_pt = first 3 rows, 2 columns of H_4 / 2
    expected_keras = np.array([[0.5, 0.5, 0.5], [0.5, -0.5, 0.5]])
    assert np.allclose(I.zero_hadamard((2, 3)), expected_keras)


def test_zero_hadamard_expanding_layers():
    # m = 8 = p: rows of the Keras kernel orthonormal
    w = I.zero_hadamard((4, 8)).astype(np.float64)
    assert np.allclose(w @ w.T, np.eye(4), atol=1e-6)
    assert np.allclose(w, scipy.linalg.hadamard(8)[:, :4].T / math.sqrt(8))
    w = I.zero_hadamard((3, 5))  # m = 5 -> p = 8: every entry is ±1/sqrt(8)
    assert np.allclose(np.abs(w), 1 / math.sqrt(8))
    assert np.array_equal(w, I.zero_hadamard((3, 5)))  # deterministic
    with pytest.raises(ValueError, match=r"shape.*2-D"):
        I.zero_hadamard((3, 3, 4))


# ==================================================================== seeding and dtype
RANDOM_INITS = [
    ("random_uniform", {}),
    ("random_normal", {}),
    ("variance_scaling", {}),
    ("lecun_normal", {}),
    ("lecun_uniform", {}),
    ("glorot_normal", {}),
    ("glorot_uniform", {}),
    ("he_normal", {}),
    ("he_uniform", {}),
    ("orthogonal", {}),
    ("sparse", {"nonzero": 3}),
    ("delta_orthogonal", {}),
]


def _shape_for(name):
    return (3, 3, 8, 16) if name == "delta_orthogonal" else (24, 16)


@pytest.mark.parametrize("name, kwargs", RANDOM_INITS)
def test_seeding(name, kwargs):
    fn, shape = I.get(name), _shape_for(name)
    a, b, c = (
        fn(shape, rng=7, **kwargs),
        fn(shape, rng=7, **kwargs),
        fn(shape, rng=8, **kwargs),
    )
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    gen = np.random.default_rng(7)
    first, second = fn(shape, rng=gen, **kwargs), fn(shape, rng=gen, **kwargs)
    # a Generator seeded 7 draws what the int seed 7 draws first
    assert np.array_equal(first, a)
    assert not np.array_equal(first, second)  # ... and advances
    assert a.dtype == np.float32 and a.shape == shape


@pytest.mark.parametrize("name", I.NAMES)
def test_dtype_keyword_and_new_array(name):
    fn = I.get(name)
    shape = _shape_for(name)
    args = (0.5,) if name == "constant" else ()
    a = fn(shape, *args)
    b = fn(shape, *args, dtype=np.float64)
    assert (
        a.dtype == np.float32 and b.dtype == np.float64 and a.shape == b.shape == shape
    )
    a[...] = 123.0  # a new array: mutating it changes nothing for the next call
    assert not np.all(fn(shape, *args) == 123.0)
    with pytest.raises(TypeError, match="dtype"):
        fn(shape, *args, dtype=np.int32)


# ======================================================================== errors
@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: I.variance_scaling((4, 4), scale=0.0),
            ValueError,
            r"scale.*> 0.*0\.0",
        ),
        (lambda: I.variance_scaling((4, 4), scale=-2), ValueError, r"scale.*-2"),
        (
            lambda: I.variance_scaling((4, 4), mode="fan_max"),
            ValueError,
            r"mode.*'fan_max'.*fan_avg",
        ),
        (
            lambda: I.variance_scaling((4, 4), distribution="gaussian"),
            ValueError,
            r"distribution.*'gaussian'.*uniform",
        ),
        (lambda: I.sparse((8, 8), nonzero=0), ValueError, r"nonzero.*>= 1.*0"),
        (lambda: I.sparse((8, 8), nonzero=2.5), TypeError, r"nonzero"),
        (lambda: I.sparse((8, 8), stddev=0), ValueError, r"stddev"),
        (lambda: I.sparse(8), ValueError, r"shape.*rank >= 2"),
        (lambda: I.glorot_uniform((0, 4)), ValueError, r"shape.*positive.*\(0, 4\)"),
        (lambda: I.he_normal((3, 3, 0, 4)), ValueError, r"shape.*positive"),
        (lambda: I.zeros((2, -1)), ValueError, r"shape"),
        (lambda: I.orthogonal((5,)), ValueError, r"shape.*orthogonal.*rank >= 2"),
        (lambda: I.orthogonal((4, 4), gain=0), ValueError, r"gain"),
        (lambda: I.random_uniform((4, 4), limit=-1), ValueError, r"limit.*-1"),
        (lambda: I.random_normal((4, 4), stddev=0), ValueError, r"stddev"),
        (lambda: I.constant((2, 2), float("nan")), ValueError, r"value.*nan"),
        (lambda: I.he_normal((4, 4), rng="seed"), TypeError, r"rng"),
        (
            lambda: I.get("glorot_unifrom"),
            ValueError,
            r"name.*'glorot_unifrom'.*Did you mean 'glorot_uniform'.*he_normal",
        ),
        (lambda: I.get("xyz"), ValueError, r"name.*'xyz'.*Valid names"),
    ],
)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("name", I.NAMES)
@pytest.mark.parametrize("empty", [(), []])
def test_empty_shape_is_a_value_error_naming_shape(name, empty):
    # the contract: "empty shapes raise ValueError naming the parameter" (Keras
    # would return a scalar)
    fn = I.get(name)
    extra = {"value": 0.5} if name == "constant" else {}
    with pytest.raises(ValueError, match=r"shape.*empty shape"):
        fn(empty, **extra)


def _sylvester(p: int) -> np.ndarray:
    """H_p by the recursion H_2p = [[H, H], [H, -H]] (independent of
    scipy.linalg.hadamard)."""
    h = np.ones((1, 1))
    while h.shape[0] < p:
        h = np.block([[h, h], [h, -h]])
    return h


@pytest.mark.parametrize(
    "fan_in, fan_out",
    [
        (1, 5),
        (3, 5),
        (4, 6),
        (4, 8),
        (5, 8),
        (6, 7),
        (8, 16),
        (9, 16),
        (64, 256),
        (100, 256),
        (129, 256),
    ],
)
def test_zero_hadamard_identical_units_when_fan_in_is_at_most_half_of_p(
    fan_in, fan_out
):
    # the docstring's note: with p = 2**ceil(log2 fan_out), units j and j + p/2
    # coincide iff fan_in <= p/2; in general units a, b coincide iff
    # a = b mod 2**ceil(log2 fan_in)
    w = I.zero_hadamard((fan_in, fan_out)).astype(np.float64)
    p = 2 ** math.ceil(math.log2(fan_out))
    assert np.allclose(w, _sylvester(p)[:fan_out, :fan_in].T / math.sqrt(p))
    half = p // 2
    pairs_equal = [
        np.array_equal(w[:, j], w[:, j + half]) for j in range(fan_out - half)
    ]
    assert (
        pairs_equal
        and all(pairs_equal) == (fan_in <= half)
        and any(pairs_equal) == (fan_in <= half)
    )
    distinct = len({tuple(col) for col in np.round(w.T, 12)})
    period = 2 ** math.ceil(math.log2(fan_in))
    assert distinct == min(fan_out, period)
    for a in range(fan_out):
        for b in range(fan_out):
            assert np.array_equal(w[:, a], w[:, b]) == (a % period == b % period)


def test_zero_hadamard_units_all_differ_when_not_expanding():
    # fan_out <= fan_in: partial identity, one input per unit
    w = I.zero_hadamard((8, 5))
    assert len({tuple(col) for col in w.T}) == 5


def test_get_returns_every_function():
    assert I.get("he_normal") is I.he_normal
    assert set(I.NAMES) >= {
        "orthogonal",
        "sparse",
        "wavelet",
        "delta_orthogonal",
        "zero_hadamard",
        "identity",
    }
    for name in I.NAMES:
        assert I.get(name) is getattr(I, name)


# ======================================================================= property-based
@st.composite
def kernel_shapes(draw, max_size=2**15):
    rank = draw(st.integers(2, 4))
    dims, size = [], 1
    for _ in range(rank):
        d = draw(st.integers(1, max(1, min(64, max_size // size))))
        dims.append(d)
        size *= d
    return tuple(dims)


VS_CASES = [
    ("glorot_uniform", 1.0, "fan_avg", "uniform"),
    ("he_uniform", 2.0, "fan_in", "uniform"),
    ("lecun_uniform", 1.0, "fan_in", "uniform"),
    ("glorot_normal", 1.0, "fan_avg", "truncated_normal"),
    ("he_normal", 2.0, "fan_in", "truncated_normal"),
    ("lecun_normal", 1.0, "fan_in", "truncated_normal"),
]


@settings(max_examples=30, deadline=None)
@given(
    shape=kernel_shapes(), case=st.sampled_from(VS_CASES), seed=st.integers(0, 2**16)
)
def test_property_variance_scaling_bounds(shape, case, seed):
    name, scale, mode, dist = case
    w = I.get(name)(shape, rng=seed)
    assert w.shape == shape and w.dtype == np.float32 and np.all(np.isfinite(w))
    target = theory.variance_scaling_std(shape, scale, mode)
    bound = (
        math.sqrt(3) * target
        if dist == "uniform"
        else 2 * target / theory.TRUNCATION_STD
    )
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    if w.size >= 4096:
        assert float(np.std(w, dtype=np.float64)) == pytest.approx(target, rel=0.1)


@settings(max_examples=30, deadline=None)
@given(shape=kernel_shapes(max_size=2**13), seed=st.integers(0, 2**16))
def test_property_orthogonal_and_wavelet(shape, seed):
    w = I.orthogonal(shape, rng=seed)
    assert w.shape == shape and w.dtype == np.float32
    assert ortho_error(w) < 1e-5
    n_in, n_out = math.prod(shape[:-1]), shape[-1]
    n = n_in if n_out <= n_in else n_out
    if n % 2:
        with pytest.raises(ValueError, match="shape.*even"):
            I.wavelet(shape, wavelet="db2", rng=seed)
    else:
        v = I.wavelet(shape, wavelet="db2", rng=seed)
        assert v.shape == shape and ortho_error(v) < 1e-5


@settings(max_examples=30, deadline=None)
@given(shape=kernel_shapes(), k=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_property_sparse(shape, k, seed):
    w = I.sparse(shape, nonzero=k, rng=seed)
    m = w.reshape(-1, shape[-1])
    assert np.all(np.count_nonzero(m, axis=0) == min(k, m.shape[0]))


# ======================================================================== no TensorFlow
def test_import_does_not_load_tensorflow_or_keras():
    code = (
        "import sys, initcourse.initializers, initcourse.theory\n"
        "initcourse.initializers.he_normal((4, 4), rng=0)\n"
        "initcourse.initializers.wavelet((8, 8))\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"
