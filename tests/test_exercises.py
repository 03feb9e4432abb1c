"""The exercise checkers pass correct implementations and name each kind of mistake.

Every correct implementation below is written independently here (numpy, scipy,
PyWavelets); every wrong one makes one specific, common mistake, and the test asserts
that the checker's message names that mistake.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import pywt
from scipy.linalg import hadamard

from initcourse import exercises as ex
from initcourse.exercises import CHECKERS, CheckResult, ExerciseError, Grader
from initcourse.exercises.core import success_line


# --------------------------------------------------------------------------------------
# Reference (correct) student solutions
# --------------------------------------------------------------------------------------
def fans(shape):
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    rf = int(np.prod(shape[:-2]))
    return shape[-2] * rf, shape[-1] * rf


def uniform(var_fn):
    def init(shape, rng):
        limit = math.sqrt(3.0 * var_fn(*fans(shape)))
        return rng.uniform(-limit, limit, size=shape).astype(np.float32)

    return init


def normal(var_fn, truncated=False):
    def init(shape, rng):
        std = math.sqrt(var_fn(*fans(shape)))
        if not truncated:
            return rng.normal(0.0, std, size=shape).astype(np.float32)
        sd = std / 0.87962566103423978
        w = rng.normal(0.0, sd, size=shape)
        bad = np.abs(w) > 2 * sd
        while bad.any():
            w[bad] = rng.normal(0.0, sd, size=int(bad.sum()))
            bad = np.abs(w) > 2 * sd
        return w.astype(np.float32)

    return init


GLOROT = lambda fi, fo: 2.0 / (fi + fo)  # noqa: E731
HE = lambda fi, fo: 2.0 / fi  # noqa: E731
LECUN = lambda fi, fo: 1.0 / fi  # noqa: E731


def gain(nonlinearity, param=None):
    table = {
        "linear": 1.0,
        "sigmoid": 1.0,
        "tanh": 5.0 / 3.0,
        "relu": math.sqrt(2.0),
        "selu": 0.75,
    }
    if nonlinearity == "leaky_relu":
        a = 0.01 if param is None else param
        return math.sqrt(2.0 / (1.0 + a * a))
    return table[nonlinearity]


def orthogonal(shape, rng, gain=1.0):
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(np.float32)


def sparse(shape, rng, nonzero=15):
    fan_in, units = shape
    w = np.zeros(shape)
    k = min(nonzero, fan_in)
    for j in range(units):
        w[rng.choice(fan_in, size=k, replace=False), j] = rng.standard_normal(k)
    return w.astype(np.float32)


def lsuv_scale(weights, x):
    return weights / np.std(x @ weights)


def variance_recursion(q0, sigma_w2, sigma_b2, depth, activation):
    factor = {"linear": 1.0, "relu": 0.5}[activation]
    q, out = q0, []
    for _ in range(depth):
        q = sigma_w2 * factor * q + sigma_b2
        out.append(q)
    return np.array(out)


ACT = {"linear": lambda h: h, "relu": lambda h: np.maximum(h, 0), "tanh": np.tanh}


def forward_std(depth, width, init_std, activation, rng):
    x = rng.standard_normal((256, width))
    out = []
    for _ in range(depth):
        x = ACT[activation](x @ rng.normal(0, init_std, size=(width, width)))
        out.append(x.std())
    return np.array(out)


def delta_orthogonal(shape, rng, gain=1.0):
    cin, cout = shape[-2], shape[-1]
    if cin > cout:
        raise ValueError(f"shape: in_channels must be <= out_channels, got {shape}")
    q, r = np.linalg.qr(rng.standard_normal((cout, cout)))
    q = q * np.sign(np.diag(r))
    w = np.zeros(shape)
    w[tuple(k // 2 for k in shape[:-2])] = gain * q[:cin]
    return w.astype(np.float32)


def wavelet_matrix(n, wavelet):
    return np.stack(
        [
            np.concatenate(pywt.wavedec(e, wavelet, mode="periodization"))
            for e in np.eye(n)
        ],
        axis=1,
    )


def zero_hadamard(shape):
    n, m = shape
    if m <= n:
        return np.eye(m, n).T.astype(np.float32)
    p = 2 ** math.ceil(math.log2(m))
    return (np.eye(m, p) @ hadamard(p) / math.sqrt(p) @ np.eye(p, n)).T.astype(
        np.float32
    )


CORRECT = {
    "compute_fans": fans,
    "gain": gain,
    "lecun_normal": normal(LECUN),
    "glorot_uniform": uniform(GLOROT),
    "glorot_normal": normal(GLOROT),
    "he_normal": normal(HE),
    "he_uniform": uniform(HE),
    "orthogonal": orthogonal,
    "sparse": sparse,
    "lsuv_scale": lsuv_scale,
    "variance_recursion": variance_recursion,
    "forward_std": forward_std,
    "delta_orthogonal": delta_orthogonal,
    "wavelet_matrix": wavelet_matrix,
    "zero_hadamard": zero_hadamard,
}


def not_implemented(*args, **kwargs):
    raise NotImplementedError("Use limit = sqrt(6 / (fan_in + fan_out)).")


# --------------------------------------------------------------------------------------
# Correct implementations pass, with one deterministic line
# --------------------------------------------------------------------------------------
def test_registry_covers_every_checker():
    """Every public check_* is registered; the ones of this file's chapters are tested
    here (a checker added later for a new exercise is tested in its own test file)."""
    public = {
        name.removeprefix("check_") for name in ex.__all__ if name.startswith("check_")
    }
    assert set(CHECKERS) == public and set(CORRECT) <= public


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_correct_implementation_passes(name, capsys):
    result = CHECKERS[name](CORRECT[name])
    out = capsys.readouterr().out
    assert isinstance(result, CheckResult) and result.ok
    assert result.exercise == name and result.points == result.max_points == len(
        result.passed
    )
    # the message, wrapped to 88 columns (continuation lines indented by two spaces)
    assert out == success_line(result.message) + "\n" and out.startswith(f"✓ {name}: ")
    assert all(len(line) <= 88 or " " not in line.strip() for line in out.splitlines())
    # deterministic: a second run prints the same line
    CHECKERS[name](CORRECT[name])
    assert capsys.readouterr().out == out


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_not_implemented_is_named(name):
    with pytest.raises(
        ExerciseError,
        match=r"not implemented yet: replace the `raise NotImplementedError` line",
    ) as info:
        CHECKERS[name](not_implemented)
    assert "hint: Use limit" in str(info.value)
    assert info.value.passed == () and info.value.total > 1


def test_keras_truncated_normal_passes():
    for name, var in (
        ("he_normal", HE),
        ("glorot_normal", GLOROT),
        ("lecun_normal", LECUN),
    ):
        assert CHECKERS[name](normal(var, truncated=True)).ok


def test_checker_rejects_a_non_callable():
    with pytest.raises(TypeError, match="fn: expected your function"):
        ex.check_he_normal(np.zeros(3))


# --------------------------------------------------------------------------------------
# Variance-scaling initializers: each mistake gets its own message
# --------------------------------------------------------------------------------------
def transposed(init):
    return lambda shape, rng: init(tuple(shape[::-1]), rng)


def as64(init):
    return lambda shape, rng: init(shape, rng).astype(np.float64)


def global_rng(var_fn):
    def init(shape, rng):
        return np.random.uniform(-1, 1, size=shape).astype(np.float32) * math.sqrt(
            3 * var_fn(*fans(shape))
        )

    return init


def fixed_seed(var_fn):
    return lambda shape, rng: uniform(var_fn)(shape, np.random.default_rng(42))


def torch_fans(shape):
    if len(shape) < 3:
        return shape[1], shape[0]
    r = int(np.prod(shape[2:]))
    return shape[1] * r, shape[0] * r


def with_fans(fan_fn, make, formula):
    def init(shape, rng):
        fi, fo = fan_fn(shape)
        return make(formula(fi, fo), shape, rng)

    return init


def U(var, shape, rng):
    a = math.sqrt(3 * var)
    return rng.uniform(-a, a, size=shape).astype(np.float32)


def N(var, shape, rng):
    return rng.normal(0, math.sqrt(var), size=shape).astype(np.float32)


WRONG_INITS = [
    # (checker, wrong implementation, regex the message must match)
    (
        "glorot_uniform",
        transposed(uniform(GLOROT)),
        r"returned shape \(128, 256\) for|the reverse of shape=\(256, "
        r"128\).*Keras layout is \(fan_in, fan_out\)",
    ),
    (
        "glorot_uniform",
        with_fans(fans, U, lambda fi, fo: 2.0 / fi),
        r"values reach 0\.15\d+ but the limit for shape \(256, "
        r"128\).*√\(6/\(256\+128\)\) = 0\.125 — did you use fan_in only\?",
    ),
    (
        "glorot_uniform",
        with_fans(fans, U, lambda fi, fo: 2.0 / fo),
        r"did you use fan_out only\?",
    ),
    (
        "glorot_uniform",
        with_fans(fans, U, lambda fi, fo: 2.0 / (fi + fo) / 3),
        r"you used the std σ as the limit\?",
    ),
    (
        "glorot_uniform",
        with_fans(fans, U, lambda fi, fo: 4.0 / (fi + fo)),
        r"divide by the average \(fan_in\+fan_out\)/2",
    ),
    (
        "glorot_uniform",
        with_fans(fans, U, lambda fi, fo: 2.0 / (fi + fo) ** 2),
        r"square root only on the numerator",
    ),
    (
        "glorot_uniform",
        with_fans(lambda s: (s[-2], s[-1]), U, GLOROT),
        r"forget the receptive field",
    ),
    (
        "glorot_uniform",
        with_fans(torch_fans, U, GLOROT),
        r"PyTorch's \(out, in, \*kernel\) layout",
    ),
    (
        "glorot_uniform",
        normal(GLOROT),
        r"look normally distributed.*draws from a uniform distribution",
    ),
    (
        "glorot_uniform",
        as64(uniform(GLOROT)),
        r"returned float64; Keras weights are float32",
    ),
    (
        "glorot_uniform",
        global_rng(GLOROT),
        r"same rng seed gave different arrays: draw every random number from "
        r"the rng you are given",
    ),
    (
        "glorot_uniform",
        fixed_seed(GLOROT),
        r"different rng seeds gave identical arrays",
    ),
    (
        "glorot_uniform",
        lambda shape, rng: np.abs(uniform(GLOROT)(shape, rng)),
        r"≥ 0.*U\(−limit, limit\), not U\(0, limit\)",
    ),
    (
        "glorot_uniform",
        lambda shape, rng: None,
        r"returned None: did you forget the `return`",
    ),
    (
        "glorot_uniform",
        lambda shape, rng: uniform(GLOROT)(shape, rng).tolist(),
        r"returned a list; return a numpy array",
    ),
    (
        "glorot_uniform",
        lambda shape, rng: np.zeros(shape, np.float32),
        r"constant array",
    ),
    (
        "glorot_normal",
        with_fans(fans, N, lambda fi, fo: 6.0 / (fi + fo)),
        r"sample variance 0\.01\d+ = (2\.9\d|3\.0\d) × the expected "
        r"0\.005208.*uniform limit .* as the std",
    ),
    (
        "glorot_normal",
        with_fans(fans, N, lambda fi, fo: (2.0 / (fi + fo)) ** 2),
        r"passed the variance where the standard deviation goes",
    ),
    ("glorot_normal", uniform(GLOROT), r"look uniformly distributed.*normal"),
    (
        "he_normal",
        with_fans(fans, N, lambda fi, fo: 1.0 / fi),
        r"forget the ReLU factor 2",
    ),
    (
        "he_normal",
        normal(GLOROT),
        r"fan_in \+ fan_out \(Glorot\)\? He uses fan_in only",
    ),
    (
        "he_normal",
        with_fans(fans, N, lambda fi, fo: 2.0 / fo),
        r"did you use fan_out\?",
    ),
    ("he_normal", as64(normal(HE)), r"float64"),
    ("he_uniform", uniform(LECUN), r"forget the ReLU factor 2"),
    ("he_uniform", uniform(GLOROT), r"Glorot"),
    (
        "he_uniform",
        with_fans(fans, U, lambda fi, fo: (6.0 / fi) ** 2 / 3),
        r"forget the square root",
    ),
    (
        "lecun_normal",
        normal(HE),
        r"added? the ReLU factor 2 \(that is He\)|add the ReLU factor 2",
    ),
    ("lecun_normal", with_fans(fans, N, lambda fi, fo: 3.0 / fi), r"uniform limit"),
]


def _truncated_uncorrected(shape, rng):
    std = math.sqrt(2.0 / fans(shape)[0])
    w = rng.normal(0, std, size=shape)
    bad = np.abs(w) > 2 * std
    while bad.any():
        w[bad] = rng.normal(0, std, size=int(bad.sum()))
        bad = np.abs(w) > 2 * std
    return w.astype(np.float32)


WRONG_INITS.append(
    ("he_normal", _truncated_uncorrected, r"truncated at 2σ without Keras' correction")
)


@pytest.mark.parametrize(
    "name,fn,pattern",
    WRONG_INITS,
    ids=[f"{w[0]}-{i}" for i, w in enumerate(WRONG_INITS)],
)
def test_wrong_initializer_gets_specific_message(name, fn, pattern):
    with pytest.raises(ExerciseError) as info:
        CHECKERS[name](fn)
    msg = str(info.value)
    assert msg.startswith(f"{name}: ")
    assert re.search(pattern, msg), msg
    assert info.value.exercise == name and 0 < len(info.value.passed) < info.value.total


def test_crash_in_student_code_is_reported_with_the_call():
    def broken(shape, rng):
        return rng.uniform(size=shape) @ np.ones((3, 3))

    with pytest.raises(
        ExerciseError,
        match=r"calling glorot_uniform\(\(256, 128\), rng\) raised ValueError",
    ):
        ex.check_glorot_uniform(broken)


# --------------------------------------------------------------------------------------
# compute_fans and gain
# --------------------------------------------------------------------------------------
def _dense_rule(shape):
    return (shape[0], shape[1]) if len(shape) >= 2 else fans(shape)


@pytest.mark.parametrize(
    "fn,pattern",
    [
        (
            lambda s: fans(s)[::-1],
            r"fan_in and fan_out are swapped; a Keras dense kernel is "
            r"\(fan_in, units\)",
        ),
        (
            lambda s: (s[-2], s[-1]) if len(s) >= 3 else fans(s),
            r"the channel counts alone: every input channel feeds a unit "
            r"through each of the 5 positions",
        ),
        (
            lambda s: torch_fans(s) if len(s) >= 3 else fans(s),
            r"PyTorch's \(out, in, \*kernel\) layout",
        ),
        (_dense_rule, r"the dense rule applied to a convolution kernel"),
        (
            lambda s: fans(s) if len(s) != 1 else (1, s[0]),
            r"1-D shape \(n,\) fan_in = fan_out = n = 7",
        ),
        (
            lambda s: fans(s) if len(s) else (0, 0),
            r"scalar \(shape \(\)\) fan_in = fan_out = 1",
        ),
        (lambda s: 3, r"return a pair \(fan_in, fan_out\)"),
    ],
)
def test_compute_fans_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_compute_fans(fn)


def _gain_with(**over):
    def g(nonlinearity, param=None):
        key = (
            nonlinearity
            if not (nonlinearity == "leaky_relu" and param is None)
            else "leaky_default"
        )
        if key in over:
            return over[key](param)
        return gain(nonlinearity, param)

    return g


@pytest.mark.parametrize(
    "fn,pattern",
    [
        (
            _gain_with(relu=lambda a: 2.0),
            r"2 is the variance factor of He init; the gain is its square root √2",
        ),
        (_gain_with(tanh=lambda a: 1.67), r"use exactly 5/3"),
        (_gain_with(tanh=lambda a: math.sqrt(5 / 3)), r"not √\(5/3\)"),
        (_gain_with(leaky_relu=lambda a: math.sqrt(2 / (1 + a))), r"square the slope"),
        (
            _gain_with(leaky_relu=lambda a: math.sqrt(2 / (1 + 0.01**2))),
            r"you ignored param",
        ),
        (_gain_with(leaky_default=lambda a: math.sqrt(2)), r"default.*0\.01"),
        (_gain_with(selu=lambda a: 1.0), r"selu is the empirical value 3/4"),
        (_gain_with(sigmoid=lambda a: 0.25), r"sigmoid gets gain 1"),
        (
            lambda n, p=None: str(gain(n, p)),
            r"returned '1.0' \(str\).*a gain is a number",
        ),
        (
            lambda n, p=None: True if n == "linear" else gain(n, p),
            r"returned True \(bool\)",
        ),
    ],
)
def test_gain_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_gain(fn)


# --------------------------------------------------------------------------------------
# orthogonal, delta-orthogonal, sparse
# --------------------------------------------------------------------------------------
def _no_sign_fix(shape, rng, gain=1.0):
    rows, cols = int(np.prod(shape[:-1])), shape[-1]
    q, _ = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    if rows < cols:
        q = q.T
    return (gain * q).reshape(shape).astype(np.float32)


def _wide_without_transpose(shape, rng, gain=1.0):
    q, r = np.linalg.qr(rng.standard_normal((int(np.prod(shape[:-1])), shape[-1])))
    return (
        (gain * q * np.sign(np.diag(r)))
        .astype(np.float32)
        .reshape(q.shape if q.shape != shape else shape)
    )


@pytest.mark.parametrize(
    "fn,pattern",
    [
        (
            lambda shape, rng, gain=1.0: (
                rng.standard_normal(shape) / math.sqrt(shape[0])
            ).astype(np.float32),
            r"not orthonormal.*orthogonal factor of its QR decomposition",
        ),
        (lambda shape, rng, gain=1.0: orthogonal(shape, rng), r"gain=2\.0 was ignored"),
        (
            lambda shape, rng, gain=1.0: orthogonal(shape, rng, math.sqrt(gain)),
            r"norm √gain",
        ),
        (
            lambda shape, rng, gain=1.0: 3 * orthogonal(shape, rng, gain),
            r"orthogonal but have norm 3",
        ),
        (
            _no_sign_fix,
            r"without correcting them Q is not uniformly \(Haar\) distributed",
        ),
        (_wide_without_transpose, r"wide matrix do the QR of the transpose"),
        (
            lambda shape, rng, gain=1.0: orthogonal(
                shape, np.random.default_rng(), gain
            ),
            r"same rng seed gave different arrays",
        ),
        (
            lambda shape, rng, gain=1.0: orthogonal(shape, rng, gain).astype(
                np.float64
            ),
            r"float64",
        ),
    ],
)
def test_orthogonal_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_orthogonal(fn)


def _delta_at_corner(shape, rng, gain=1.0):
    w = delta_orthogonal(shape, rng, gain)
    c = tuple(k // 2 for k in shape[:-2])
    out = np.zeros_like(w)
    out[(0,) * (len(shape) - 2)] = w[c]
    return out


@pytest.mark.parametrize(
    "fn,pattern",
    [
        (
            lambda shape, rng, gain=1.0: orthogonal(shape, rng, gain),
            r"tap \(0, 0\) has nonzero weights.*zero everywhere except the "
            r"center tap \(1, 1\)",
        ),
        (_delta_at_corner, r"sits at tap \(0, 0\); the center tap is \(1, 1\)"),
        (
            lambda shape, rng, gain=1.0: delta_orthogonal(shape, rng),
            r"gain=1\.5 was ignored",
        ),
        (
            lambda shape, rng, gain=1.0: (
                delta_orthogonal(shape, rng, gain)
                if shape[-2] <= shape[-1]
                else np.zeros(shape, np.float32)
            ),
            r"raise ValueError naming the shape",
        ),
        (
            lambda shape, rng, gain=1.0: delta_orthogonal(
                shape, np.random.default_rng(9), gain
            ),
            r"different rng seeds gave identical arrays",
        ),
    ],
)
def test_delta_orthogonal_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_delta_orthogonal(fn)


def _sparse_rows(shape, rng, nonzero=15):
    return (
        sparse(shape[::-1], rng, nonzero).T
        if shape[1] >= nonzero
        else sparse(shape, rng, nonzero)
    )


def _sparse_fraction(shape, rng, nonzero=15):
    keep = rng.random(shape) < nonzero / shape[0]
    return (rng.standard_normal(shape) * keep).astype(np.float32)


def _sparse_first_rows(shape, rng, nonzero=15):
    w = np.zeros(shape, np.float32)
    k = min(nonzero, shape[0])
    w[:k] = rng.standard_normal((k, shape[1]))
    return w


@pytest.mark.parametrize(
    "fn,pattern",
    [
        (_sparse_rows, r"each row has 15 nonzeros; a unit is a column"),
        (
            _sparse_fraction,
            r"columns have between \d+ and \d+ nonzeros.*not a random share",
        ),
        (_sparse_first_rows, r"same 15 inputs"),
        (
            lambda shape, rng, nonzero=15: (0.01 * sparse(shape, rng, nonzero)).astype(
                np.float32
            ),
            r"unit Gaussian N\(0, 1\)",
        ),
        (
            lambda shape, rng, nonzero=15: (
                sparse(shape, rng, 15) if shape[0] > 15 else sparse(shape, rng, nonzero)
            ),
            r"did you ignore `nonzero`",
        ),
        (
            lambda shape, rng, nonzero=15: (
                sparse(shape, rng, nonzero)
                if shape[0] >= nonzero
                else np.zeros(shape, np.float32)
            ),
            r"k = min\(nonzero, fan_in\)",
        ),
    ],
)
def test_sparse_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_sparse(fn)


def test_sparse_crash_on_small_fan_in_names_the_call():
    def no_min(shape, rng, nonzero=15):
        w = np.zeros(shape)
        for j in range(shape[1]):
            w[rng.choice(shape[0], size=nonzero, replace=False), j] = (
                rng.standard_normal(nonzero)
            )
        return w.astype(np.float32)

    with pytest.raises(
        ExerciseError,
        match=r"calling sparse\(\(10, 8\), rng, nonzero=15\) raised ValueError",
    ):
        ex.check_sparse(no_min)


# --------------------------------------------------------------------------------------
# LSUV, variance recursion, forward pass
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "fn,pattern",
    [
        (
            lambda w, x: w / np.var(x @ w),
            r"divided by the variance; a factor c on W multiplies Var\(x @ W\) by c²",
        ),
        (lambda w, x: w, r"returned the weights unchanged"),
        (lambda w, x: w * np.std(x @ w), r"multiplied by the std"),
        (lambda w, x: w / np.std(x), r"std of the input x; measure the output"),
        (
            lambda w, x: orthogonal(w.shape, np.random.default_rng(0)),
            r"not a multiple of the weights",
        ),
    ],
)
def test_lsuv_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_lsuv_scale(fn)


@pytest.mark.parametrize(
    "fn,pattern",
    [
        (
            lambda q0, w, b, d, a: variance_recursion(q0, w, b, d, "linear"),
            r"ReLU keeps half the second moment",
        ),
        (
            lambda q0, w, b, d, a: variance_recursion(q0, w, 0.0, d, a),
            r"forgot to add sigma_b2",
        ),
        (
            lambda q0, w, b, d, a: variance_recursion(q0, w * w, b, d, a),
            r"sigma_w2 is already the variance",
        ),
        (
            lambda q0, w, b, d, a: np.concatenate(
                [[q0], variance_recursion(q0, w, b, d, a)]
            ),
            r"return only q¹ … q\^depth",
        ),
        (
            lambda q0, w, b, d, a: np.concatenate(
                [[w * q0 + b], variance_recursion(w * q0 + b, w, b, d - 1, a)]
            ),
            r"activation applies from the first step",
        ),
    ],
)
def test_variance_recursion_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_variance_recursion(fn)


def _forward_variant(variant):
    def fn(depth, width, init_std, activation, rng):
        std = {"var": math.sqrt(init_std), "double": init_std / math.sqrt(width)}.get(
            variant, init_std
        )
        first = (
            [rng.normal(0, std, size=(width, width)) for _ in range(depth)]
            if variant == "weights first"
            else None
        )
        x = rng.standard_normal((256, width))
        out = []
        for layer in range(depth):
            h = x @ (first[layer] if first else rng.normal(0, std, size=(width, width)))
            skip = variant == "no act" or (
                variant == "no act on last" and layer == depth - 1
            )
            x = h if skip else ACT[activation](h)
            out.append((h if variant == "pre" else x).std())
        return np.array(out)

    return fn


@pytest.mark.parametrize(
    "fn,pattern",
    [
        (_forward_variant("var"), r"you used it as the variance"),
        (_forward_variant("double"), r"do not divide by √width again"),
        (_forward_variant("pre"), r"not of the pre-activations"),
        (_forward_variant("no act"), r"did not apply the activation 'relu'"),
        (_forward_variant("no act on last"), r"last layer's std is that of x @ W"),
        (_forward_variant("weights first"), r"not those of the network the rng draws"),
        (
            lambda d, w, s, a, rng: forward_std(d, w, s, a, np.random.default_rng()),
            r"same rng seed gave different arrays",
        ),
        (
            lambda d, w, s, a, rng: np.concatenate(
                [[1.0], forward_std(d, w, s, a, rng)]
            ),
            r"without the input",
        ),
    ],
)
def test_forward_std_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_forward_std(fn)


# --------------------------------------------------------------------------------------
# wavelet matrix and ZerO
# --------------------------------------------------------------------------------------
def _wavelet_level1(n, wavelet):
    return np.stack(
        [
            np.concatenate(pywt.wavedec(e, wavelet, mode="periodization", level=1))
            for e in np.eye(n)
        ],
        axis=1,
    )


@pytest.mark.parametrize(
    "fn,pattern",
    [
        (lambda n, w: wavelet_matrix(n, w).T, r"returned the transpose"),
        (
            lambda n, w: wavelet_matrix(n, w)[::-1],
            r"rows in another order|your rows are PyWavelets' rows in another order",
        ),
        (
            lambda n, w: np.stack(
                [
                    np.concatenate(pywt.wavedec(e, w, mode="symmetric"))
                    for e in np.eye(n)
                ],
                axis=1,
            ),
            r"mode='periodization'",
        ),
        (
            lambda n, w: 0.5 * wavelet_matrix(n, w),
            r"rows are orthogonal but their squared norms",
        ),
        (
            lambda n, w: np.linalg.qr(np.random.default_rng(0).standard_normal((n, n)))[
                0
            ],
            r"does not match pywt\.wavedec",
        ),
    ],
)
def test_wavelet_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_wavelet_matrix(fn)


def test_wavelet_any_level_passes():
    assert ex.check_wavelet_matrix(_wavelet_level1).ok


def _zero_changing():
    calls = []

    def fn(shape):
        calls.append(shape)
        w = zero_hadamard(shape)
        if calls.count(shape) > 1:
            w = w + np.float32(0.01 * calls.count(shape))
        return w

    return fn


@pytest.mark.parametrize(
    "fn,pattern",
    [
        (
            lambda s: zero_hadamard(s).T.copy(),
            r"paper's \(out, in\) matrix W; a Keras kernel is its transpose",
        ),
        (
            lambda s: np.eye(*s, dtype=np.float32),
            r"does not pad the identity with zeros",
        ),
        (
            lambda s: (
                zero_hadamard(s)
                * (math.sqrt(2 ** math.ceil(math.log2(s[1]))) if s[1] > s[0] else 1.0)
            ),
            r"orthogonal only once normalised",
        ),
        (lambda s: zero_hadamard(s).astype(np.float64), r"float64"),
        (_zero_changing(), r"two calls with the same shape gave different arrays"),
    ],
)
def test_zero_hadamard_mistakes(fn, pattern):
    with pytest.raises(ExerciseError, match=pattern):
        ex.check_zero_hadamard(fn)


# --------------------------------------------------------------------------------------
# Grader
# --------------------------------------------------------------------------------------
def test_grader_partial_credit_and_summary(capsys):
    grader = Grader()
    full = grader.check("glorot_uniform", CORRECT["glorot_uniform"], points=2)
    part = grader.check("he_normal", normal(LECUN), points=2)
    zero = grader.check("gain", not_implemented)
    manual = grader.add("conceptual", 0.5, 1, "graded by hand")
    assert capsys.readouterr().out == ""  # the checkers run quietly
    assert (full.points, full.max_points) == (2.0, 2.0) and full.message.startswith(
        "✓ glorot_uniform"
    )
    assert 0 < part.points < 2 and "forget the ReLU factor 2" in part.message
    assert zero.points == 0.0 and "not implemented" in zero.message
    assert manual.points == 0.5
    assert grader.total == round(2 + part.points + 0.5, 2) and grader.max_total == 6.0
    table = grader.summary()
    assert table == grader.summary()  # deterministic
    lines = table.splitlines()
    assert lines[0].startswith("Exercise") and lines[-1].startswith("Total")
    assert (
        f"{grader.total:.2f} / 6" in lines[-1]
        and f"({100 * grader.total / 6:.0f}%)" in lines[-1]
    )
    assert len(lines) == 2 + 4 + 2


def test_grader_partial_credit_matches_checks_passed():
    grader = Grader()
    item = grader.check("he_normal", normal(LECUN), points=10)
    with pytest.raises(ExerciseError) as info:
        ex.check_he_normal(normal(LECUN))
    assert item.points == round(10 * info.value.earned, 2)
    # form checks (call, array, shape, dtype, finite) weigh a quarter of a substance
    # check
    weights = [0.25 if c in ex.core.FORM_CHECKS else 1.0 for c in info.value.checks]
    passed = [0.25 if c in ex.core.FORM_CHECKS else 1.0 for c in info.value.passed]
    assert info.value.earned == pytest.approx(sum(passed) / sum(weights))


def test_an_array_of_zeros_earns_little():
    with pytest.raises(ExerciseError) as info:
        ex.check_he_normal(lambda shape, rng: np.zeros(shape, np.float32))
    assert 0 < info.value.earned < 0.25


def test_grader_bad_input():
    grader = Grader()
    with pytest.raises(ValueError, match="name: no checker named 'glorot'"):
        grader.check("glorot", CORRECT["glorot_uniform"])
    with pytest.raises(ValueError, match="points: must be a number in"):
        grader.add("x", 3, 2)
    with pytest.raises(ValueError, match="max_points: must be a number > 0"):
        grader.add("x", 0, 0)


def test_exercises_module_does_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, initcourse.exercises; print('tensorflow' in sys.modules, "
        "'keras' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False False"


# --------------------------------------------------------------------------------------
# Capstone graders (chapter 12): grade_initializer_choice, grade_layer_report,
# grade_training_run
# --------------------------------------------------------------------------------------


def _init_class(name, **attrs):
    """A stand-in for a Keras initializer class (the graders only duck-type them)."""

    def __init__(self, **kwargs):
        for key, value in {**attrs, **kwargs}.items():
            setattr(self, key, value)

    return type(name, (), {"__init__": __init__})


VarianceScaling = _init_class("VarianceScaling")
HeNormal = _init_class(
    "HeNormal", scale=2.0, mode="fan_in", distribution="truncated_normal"
)
Orthogonal = _init_class("Orthogonal", gain=1.0)
Zeros = _init_class("Zeros")

CAPSTONE_ANSWER = {"relu": "he_normal", "tanh": "glorot_normal", "selu": "lecun_normal"}


def choose_strings(block_activations):
    chosen = {
        "embed": "lecun_normal",
        "residual_out": "zeros",
        "head": "glorot_uniform",
    }
    chosen.update({a: CAPSTONE_ANSWER[a] for a in block_activations})
    return chosen


def choose_objects(block_activations):
    """Objects instead of names, a depth-scaled residual branch, orthogonal tanh, zero
    head."""
    n = len(block_activations)
    per = {
        "relu": HeNormal(),
        "tanh": Orthogonal(),
        "selu": VarianceScaling(
            scale=1.0, mode="fan_in", distribution="truncated_normal"
        ),
    }
    chosen = {
        "embed": "GlorotUniform",
        "residual_out": VarianceScaling(
            scale=1.0 / n, mode="fan_in", distribution="truncated_normal"
        ),
        "head": Zeros(),
    }
    chosen.update({a: per[a] for a in block_activations})
    return chosen


def choose_with(**changes):
    def fn(block_activations):
        out = choose_strings(block_activations)
        for key, value in changes.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = (
                    value(len(block_activations))
                    if callable(value) and not isinstance(value, type)
                    else value
                )
        return out

    return fn


class Described:
    """What the batch grader receives for an initializer object from the sandbox
    process."""

    def __init__(self, class_name, **config):
        self.class_name, self.config = class_name, config

    def __getattr__(self, name):
        if name in self.__dict__.get("config", {}):
            return self.config[name]
        raise AttributeError(name)


Described.__name__ = "Described"


def choose_fixup(block_activations):
    """Fixup as chapter 6 teaches it: zero last kernels, first kernels' variance × 1/L,
    zero head."""
    n = len(block_activations)
    per = {
        "relu": VarianceScaling(
            scale=2.0 / n, mode="fan_in", distribution="truncated_normal"
        ),
        "tanh": VarianceScaling(scale=1.0 / n, mode="fan_avg", distribution="uniform"),
        "selu": VarianceScaling(
            scale=1.0 / n, mode="fan_in", distribution="truncated_normal"
        ),
    }
    chosen = {"embed": "lecun_normal", "residual_out": Zeros(), "head": "zeros"}
    chosen.update({a: per[a] for a in block_activations})
    return chosen


def choose_alternatives(block_activations):
    """Other correct spellings: PyTorch names, SELU with a uniform or orthogonal kernel,
    gain 5/3."""
    chosen = {
        "embed": Orthogonal(),
        "residual_out": "Zeros",
        "head": "xavier_uniform",
        "relu": "kaiming_normal",
        "tanh": Orthogonal(gain=5 / 3),
        "selu": "lecun_uniform",
    }
    return {
        k: v
        for k, v in chosen.items()
        if k in block_activations or k in ex.CAPSTONE_ROLES
    }


def choose_described(block_activations):
    """Objects as the batch grader sees them across the process boundary."""
    chosen = {
        "embed": Described(
            "LecunNormal",
            seed=None,
            scale=1.0,
            mode="fan_in",
            distribution="truncated_normal",
        ),
        "residual_out": Described("Zeros"),
        "head": Described(
            "GlorotUniform", scale=1.0, mode="fan_avg", distribution="uniform"
        ),
        "relu": Described(
            "HeNormal", scale=2.0, mode="fan_in", distribution="truncated_normal"
        ),
        "tanh": Described("Orthogonal", gain=1.0, seed=None),
        "selu": Described("Orthogonal", gain=1.0),
    }
    return {
        k: v
        for k, v in chosen.items()
        if k in block_activations or k in ex.CAPSTONE_ROLES
    }


@pytest.mark.parametrize(
    "fn",
    [
        choose_strings,
        choose_objects,
        choose_fixup,
        choose_alternatives,
        choose_described,
    ],
    ids=["names", "objects", "fixup", "alternatives", "described"],
)
def test_capstone_choice_accepts_every_correct_answer(fn, capsys):
    result = ex.grade_initializer_choice(fn)
    assert (
        result.ok and result.exercise == "choose_initializers" and result.points == 4.0
    )
    assert capsys.readouterr().out.startswith("✓ choose_initializers: every role right")


FIXED_SCALE = VarianceScaling(
    scale=1.0 / 12, mode="fan_in", distribution="truncated_normal"
)


@pytest.mark.parametrize(
    "fn, pattern, wrong",
    [
        (
            choose_with(relu="glorot_normal"),
            r"second moment of the signal halves",
            {"relu"},
        ),
        (choose_with(relu="RandomNormal"), r"fixed scale", {"relu"}),
        (choose_with(tanh="he_uniform"), r"tanh has slope 1 at 0", {"tanh"}),
        (choose_with(selu="he_normal"), r"Σw = 0 and Σw² = 1", {"selu"}),
        (
            choose_with(residual_out="glorot_uniform"),
            r"\(1 \+ 1\)\^L = 4096",
            {"residual_out"},
        ),
        (choose_with(residual_out=FIXED_SCALE), r"L = 48 blocks", {"residual_out"}),
        (choose_with(embed="zeros"), r"sends 0 into every block", {"embed"}),
        (choose_with(embed="he_normal"), r"starts with variance 2", {"embed"}),
        (choose_with(head="he_normal"), r"more confident", {"head"}),
        (choose_with(head=None), r"no initializer for 'head'", {"head"}),
        (
            choose_with(tanh="not_an_initializer"),
            r"tanh: cannot interpret 'not_an_initializer'",
            {"tanh"},
        ),
        # Fixup's 1/L scaling without the zero last kernel is not Fixup
        (
            choose_with(
                relu=lambda n: VarianceScaling(
                    scale=2.0 / n, mode="fan_in", distribution="truncated_normal"
                ),
                residual_out=lambda n: VarianceScaling(
                    scale=1.0 / n, mode="fan_in", distribution="truncated_normal"
                ),
            ),
            r"accepted only together with a zero last kernel",
            {"relu"},
        ),
    ],
)
def test_capstone_choice_grades_each_role_on_its_own(fn, pattern, wrong):
    with pytest.raises(ExerciseError, match=pattern) as info:
        ex.grade_initializer_choice(fn)
    expected = 1 - sum(ex.ROLE_POINTS[r] for r in wrong) / 4
    assert info.value.earned == pytest.approx(expected)
    assert set(info.value.passed) == set(ex.ROLE_POINTS) - wrong


def test_capstone_choice_points_are_proportional_not_ordered():
    """The Keras default everywhere is right for tanh, selu, embed and head only (1.5 of
    4); five of six roles right earn more than that, and the same whatever role is wrong
    first."""

    def default(acts):
        return {r: "glorot_uniform" for r in list(ex.CAPSTONE_ROLES) + list(acts)}

    with pytest.raises(ExerciseError) as info:
        ex.grade_initializer_choice(default)
    assert 4 * info.value.earned == pytest.approx(1.5)
    for role in ex.ROLE_POINTS:
        with pytest.raises(ExerciseError) as one:
            ex.grade_initializer_choice(choose_with(**{role: "RandomNormal"}))
        assert 4 * one.value.earned == pytest.approx(4 - ex.ROLE_POINTS[role])
    messages = str(info.value)
    for name in ("he_normal", "HeNormal", "'zeros'", "lecun_normal"):
        assert name not in messages  # it says what is wrong and why, not what to type


def test_capstone_choice_failures_and_stub():
    with pytest.raises(ExerciseError, match="returned a list, not a dict") as info:
        ex.grade_initializer_choice(lambda acts: [("relu", "he_normal")])
    assert info.value.earned == 0
    with pytest.raises(ExerciseError, match="not implemented yet"):
        ex.grade_initializer_choice(not_implemented)
    grader = Grader()
    item = grader.check(
        "(a)", choose_with(relu="glorot_normal"), ex.grade_initializer_choice, points=4
    )
    assert item.points == 3.0


def test_capstone_effective_initializers_replace_only_the_wrong_roles():
    verdict = ex.judge_initializer_choice(
        {
            acts: choose_with(relu="glorot_normal", tanh="xavier_normal")(list(acts))
            for acts in ex.capstone.JUDGED_NETWORKS
        }
    )
    assert verdict.effective["relu"] == ex.canonical_initializer(
        "he_normal"
    )  # the model answer
    assert verdict.effective["tanh"] == {
        "class_name": "VarianceScaling",
        "config": {
            "scale": 1.0,
            "mode": "fan_avg",
            "distribution": "untruncated_normal",
        },
    }
    assert ex.canonical_initializer("not a name") is None
    assert ex.canonical_initializer(Orthogonal(gain=2.0)) == {
        "class_name": "Orthogonal",
        "config": {"gain": 2.0},
    }


# --- grade_layer_report: compared with a measurement the caller makes
# -------------------------
def _act(name):
    fn = lambda z: z  # noqa: E731
    fn.__name__ = name
    return fn


class FakeLayer:
    def __init__(self, name, activation=None, kernel=True):
        self.name = name
        self.activation = None if activation is None else _act(activation)
        self.kernel = np.ones((2, 2)) if kernel else None


class FakeModel:
    def __init__(self, layers):
        self.layers = layers


def fake_capstone(n_blocks=6):
    acts = ("relu", "tanh", "selu")
    layers = [FakeLayer("pixels", kernel=False), FakeLayer("embed", "linear")]
    for b in range(1, n_blocks + 1):
        act = acts[(b - 1) % 3]
        layers += [
            FakeLayer(f"block{b:02d}_{act}", act),
            FakeLayer(f"block{b:02d}_out", "linear"),
            FakeLayer(f"block{b:02d}_add", kernel=False),
        ]
    return FakeModel(layers + [FakeLayer("head", "linear")])


def truth(model, x):
    """The grader's measurement in these tests: layer k's std is (k + 1) × std(x)."""
    return {
        n: (k + 1) * float(np.std(x))
        for k, n in enumerate(ex.capstone_hidden_layers(model))
    }


def measuring(change=None):
    def init_report(model, x):
        out = dict(truth(model, x))
        return change(out, model, x) if change else out

    return init_report


BATCHES = {
    "the probe batch": np.random.default_rng(0)
    .standard_normal((16, 4))
    .astype(np.float32),
    "an all-zero batch": np.zeros((8, 4), np.float32),
}


def grade_report(fn):
    return ex.grade_layer_report(fn, fake_capstone(), BATCHES, truth)


def test_capstone_hidden_layers_are_the_nonlinear_kernels():
    names = ex.capstone_hidden_layers(fake_capstone(3))
    assert names == ["block01_relu", "block02_tanh", "block03_selu"]
    nested = FakeModel(
        [FakeModel([FakeLayer("inner_relu", "relu")]), FakeLayer("out", "linear")]
    )
    nested.layers[0].kernel = None
    assert ex.capstone_hidden_layers(nested) == ["inner_relu"]


def test_capstone_report_passes_a_measured_report(capsys):
    assert grade_report(measuring()).ok
    assert "every hidden layer's std matches the measurement" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change, pattern, earned",
    [
        # a made-up report gets nothing right
        (
            lambda out, m, x: {n: 1.0 for n in out},
            r"you report 1, the std of its output measured",
            0.0,
        ),
        # wrong on the zero batch only: half of the batches
        (
            lambda out, m, x: out if np.std(x) > 0 else {n: 1.0 for n in out},
            r"on an all-zero batch",
            0.5,
        ),
        # one layer missing: 5 of 6 on each batch
        (
            lambda out, m, x: {n: v for n, v in out.items() if n != "block06_selu"},
            r"no entry for 'block06_selu'",
            5 / 6,
        ),
        # the linear layers too: 6 right out of 6 + 0.5·7
        (
            lambda out, m, x: {
                **out,
                **{
                    layer.name: 0.0
                    for layer in m.layers
                    if layer.name.endswith("_out") or layer.name in ("embed", "head")
                },
            },
            r"are not hidden layers",
            6 / (6 + 0.5 * 8),
        ),
    ],
)
def test_capstone_report_partial_credit_is_the_share_reported_right(
    change, pattern, earned
):
    with pytest.raises(ExerciseError, match=pattern) as info:
        grade_report(measuring(change))
    assert info.value.earned == pytest.approx(earned)


def test_capstone_report_stub_and_bad_arguments():
    with pytest.raises(ExerciseError, match="not implemented yet") as info:
        grade_report(not_implemented)
    assert info.value.earned == 0
    with pytest.raises(ValueError, match="batches"):
        ex.grade_layer_report(measuring(), fake_capstone(), {}, truth)
    with pytest.raises(TypeError, match="fn: expected your function"):
        ex.grade_layer_report("init_report", fake_capstone(), BATCHES, truth)


# --- grade_training_facts: the numbers come from the grader, never from the history
# -----------
def facts(**over):
    base = dict(
        steps=200,
        weights_changed=True,
        accuracy=0.95,
        history_accuracy=0.95,
        compared={
            "optimizer": "sgd",
            "batch_size": 64,
            "grid": [0.01, 0.03, 0.1],
            "seeds": [0, 1, 2],
            "chosen": 0.96,
            "default": 0.93,
        },
    )
    base.update(over)
    return ex.TrainingFacts(**base)


def test_capstone_training_full_marks(capsys):
    assert ex.grade_training_facts(facts(), budget=200, threshold=0.9).ok
    out = capsys.readouterr().out
    assert (
        "200 steps" in out
        and "test accuracy 0.950" in out
        and "the default 0.930" in out
    )


@pytest.mark.parametrize(
    "over, pattern, earned",
    [
        # a fake history and no training: nothing
        (
            dict(weights_changed=False, accuracy=0.1, history_accuracy=1.0),
            r"weights did not change",
            0.0,
        ),
        (dict(steps=400), r"took 400 optimizer steps; the budget is 200", 2 / 3),
        (
            dict(history_accuracy=0.99),
            r"history does not describe this training",
            2 / 3,
        ),
        (
            dict(accuracy=0.85, history_accuracy=0.85),
            r"below the threshold 0.90",
            2 / 3,
        ),
        (
            dict(accuracy=float("nan"), history_accuracy=float("nan")),
            r"NaN \(the run diverged\)",
            2 / 3,
        ),
        (
            dict(
                compared={
                    "optimizer": "adam",
                    "batch_size": 32,
                    "grid": [1e-3],
                    "seeds": [0, 1, 2],
                    "chosen": 0.90,
                    "default": 0.95,
                }
            ),
            r"more than 0.02 below",
            2 / 3,
        ),
        (
            dict(error="is not implemented yet (it raises NotImplementedError)"),
            r"not implemented",
            0.0,
        ),
    ],
)
def test_capstone_training_parts(over, pattern, earned):
    with pytest.raises(ExerciseError, match=pattern) as info:
        ex.grade_training_facts(facts(**over), budget=200, threshold=0.9)
    assert info.value.earned == pytest.approx(earned)


def test_capstone_training_fake_history_with_no_training_earns_nothing():
    """A made-up History and no training: weights unchanged, the history contradicts the
    weights, nothing to compare with the default."""
    with pytest.raises(ExerciseError) as info:
        ex.grade_training_facts(
            facts(weights_changed=False, accuracy=0.1, history_accuracy=1.0, steps=0),
            budget=200,
            threshold=0.9,
        )
    assert info.value.earned == 0
    assert "weights did not change" in str(info.value) and "nothing to compare" in str(
        info.value
    )
