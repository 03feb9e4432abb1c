"""Tests for initcourse.propagation: forward/backward statistics, Jacobian and product
spectra."""

from __future__ import annotations

import functools
import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from initcourse import propagation as prop
from initcourse.initializers import he_normal, orthogonal, random_normal


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    # The test machine is shared: multi-threaded OpenBLAS under contention makes small
    # matrix products and QR factorizations 10-100x slower. One BLAS thread is faster
    # and reproducible.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# --------------------------------------------------------------------- result structure
def test_result_lengths_and_widths():
    r = prop.simulate([10, 20, 30, 5], rng=0, batch_size=64, keep_activations=True)
    assert r.widths == [10, 20, 30, 5] and r.depth == 3
    for name in prop.PropagationResult.COLUMNS:
        assert getattr(r, name).shape == (3,)
    assert [a.shape for a in r.activations] == [(64, 20), (64, 30), (64, 5)]
    r2 = prop.simulate(depth=4, width=16, rng=0, batch_size=8)
    assert r2.widths == [16] * 5
    assert r2.activations is None


def test_backward_false_leaves_gradients_out():
    r = prop.simulate(depth=3, width=16, rng=0, backward=False)
    assert r.grad_std is None and r.weight_grad_std is None
    assert "grad_std" not in r.as_table() and "grad_std" not in r.to_dict()


def test_same_seed_same_numbers_different_seed_different():
    a = prop.simulate(depth=5, width=32, rng=3, batch_size=64, bias_std=0.1)
    b = prop.simulate(depth=5, width=32, rng=3, batch_size=64, bias_std=0.1)
    c = prop.simulate(depth=5, width=32, rng=4, batch_size=64, bias_std=0.1)
    assert a.as_table() == b.as_table()
    assert a.as_table() != c.as_table()


def test_table_and_dict():
    r = prop.simulate(depth=4, width=32, rng=0, batch_size=64)
    lines = r.as_table(digits=3).splitlines()
    assert len(lines) == 5
    assert lines[0].split() == ["layer", "width", *prop.PropagationResult.COLUMNS]
    assert lines[2].split()[0] == "2"
    assert lines[1].split()[3] == f"{r.preact_std[0]:.3g}"
    assert len(r.as_table(layers=[1, 4]).splitlines()) == 3
    d = json.loads(json.dumps(r.to_dict()))
    assert (
        d["widths"] == [32] * 5
        and d["activation"] == "relu"
        and d["initializer"] == "he_normal"
    )
    assert d["act_std"] == pytest.approx(list(r.act_std))
    with pytest.raises(ValueError, match="^layers:"):
        r.as_table(layers=[0])


# ---------------------------------------------------------------------- forward physics
def test_glorot_vanishes_he_preserves_for_deep_relu():
    # He et al. 2015: 30-layer ReLU net; Glorot shrinks the signal by ~1/sqrt(2)
    # per layer
    glorot = prop.simulate(
        depth=30, width=256, initializer="glorot_uniform", activation="relu", rng=0
    )
    he = prop.simulate(
        depth=30, width=256, initializer="he_normal", activation="relu", rng=0
    )
    assert glorot.act_std[-1] < 1e-3 * glorot.act_std[0]
    assert 0.2 < he.act_std[-1] / he.act_std[0] < 5
    # geometric mean per-layer factor
    ratio = (glorot.act_std[25] / glorot.act_std[5]) ** (1 / 20)
    assert ratio == pytest.approx(1 / math.sqrt(2), rel=0.05)


def test_relu_saturation_is_fraction_of_zeros():
    r = prop.simulate(depth=3, width=256, rng=0, keep_activations=True)
    assert r.saturated == pytest.approx([np.mean(a == 0) for a in r.activations])
    assert np.all(np.abs(r.saturated - 0.5) < 0.1)


def test_tanh_saturation_grows_with_weight_scale():
    big = prop.simulate(
        depth=5,
        width=128,
        initializer=functools.partial(random_normal, stddev=1.0),
        activation="tanh",
        rng=0,
        keep_activations=True,
    )
    small = prop.simulate(
        depth=5, width=128, initializer="glorot_uniform", activation="tanh", rng=0
    )
    assert np.all(big.saturated > 0.8)
    assert np.all(small.saturated < 0.1)
    assert big.saturated[2] == pytest.approx(np.mean(np.abs(big.activations[2]) > 0.97))
    lin = prop.simulate(depth=2, width=16, activation="linear", rng=0)
    np.testing.assert_array_equal(lin.saturated, 0.0)


def test_sigmoid_saturation_rule():
    h = np.array([-5.0, 0.0, 5.0, 1.0])
    x = 1 / (1 + np.exp(-h))
    assert prop.saturation_fraction("sigmoid", h, x) == pytest.approx(0.5)


def test_bias_and_input_std_enter_first_layer_variance():
    n = 512
    init = functools.partial(random_normal, stddev=math.sqrt(1.0 / n))
    r = prop.simulate(
        depth=1,
        width=n,
        initializer=init,
        activation="linear",
        bias_std=0.5,
        input_std=2.0,
        rng=0,
    )
    q1 = r.preact_std[0] ** 2 + r.preact_mean[0] ** 2
    assert q1 == pytest.approx(1.0 * 4.0 + 0.25, rel=0.1)


@pytest.mark.parametrize("activation", prop.ACTIVATIONS)
def test_every_activation_runs_and_derivative_is_correct(activation):
    r = prop.simulate(depth=3, width=32, activation=activation, rng=0, batch_size=32)
    assert np.all(np.isfinite(r.act_std)) and np.all(np.isfinite(r.grad_std))
    phi, dphi = prop.activation_functions(activation)
    h = np.linspace(-3, 3, 13) + 0.01  # avoid the kink at 0
    eps = 1e-6
    np.testing.assert_allclose(
        dphi(h), (phi(h + eps) - phi(h - eps)) / (2 * eps), atol=1e-6
    )


def test_activation_values():
    phi, _ = prop.activation_functions("gelu")
    assert phi(np.array([1.0]))[0] == pytest.approx(0.8413447460685429)  # 1 * Phi(1)
    phi, _ = prop.activation_functions("selu")
    assert phi(np.array([-50.0]))[0] == pytest.approx(
        -prop.SELU_SCALE * prop.SELU_ALPHA
    )
    phi, dphi = prop.activation_functions("leaky_relu", 0.2)
    assert phi(np.array([-1.0]))[0] == pytest.approx(-0.2)
    assert dphi(np.array([-1.0]))[0] == pytest.approx(0.2)
    phi, _ = prop.activation_functions("elu")
    assert phi(np.array([-1.0]))[0] == pytest.approx(math.exp(-1) - 1)


# ----------------------------------------------------------------------------- backward
def test_backward_matches_manual_chain_rule():
    # Documented draw order: x0, then (W_l, b_l) per layer, then g_L.
    n0, n1, n2, batch = 6, 5, 4, 7
    r = prop.simulate(
        [n0, n1, n2],
        initializer="he_normal",
        activation="tanh",
        bias_std=0.3,
        batch_size=batch,
        rng=11,
        dtype=np.float64,
    )
    gen = np.random.default_rng(11)
    x0 = gen.normal(0, 1, (batch, n0))
    w1 = he_normal((n0, n1), rng=gen).astype(float)
    b1 = gen.normal(0, 0.3, n1)
    w2 = he_normal((n1, n2), rng=gen).astype(float)
    b2 = gen.normal(0, 0.3, n2)
    g = gen.standard_normal((batch, n2))
    h1 = x0 @ w1 + b1
    x1 = np.tanh(h1)
    h2 = x1 @ w2 + b2
    d1 = (g @ w2.T) * (1 - np.tanh(h1) ** 2)
    np.testing.assert_allclose(r.preact_std, [h1.std(), h2.std()], rtol=1e-10)
    np.testing.assert_allclose(r.act_mean, [x1.mean(), np.tanh(h2).mean()], rtol=1e-10)
    np.testing.assert_allclose(r.grad_std, [d1.std(), g.std()], rtol=1e-10)
    np.testing.assert_allclose(
        r.weight_grad_std,
        [(x0.T @ d1 / batch).std(), (x1.T @ g / batch).std()],
        rtol=1e-10,
    )


def test_orthogonal_linear_net_preserves_gradient_norm():
    r = prop.simulate(
        depth=20, width=64, initializer="orthogonal", activation="linear", rng=0
    )
    np.testing.assert_allclose(r.grad_std, r.grad_std[-1], rtol=0.02)
    np.testing.assert_allclose(r.act_std, r.act_std[0], rtol=0.02)


def test_relu_he_gradients_do_not_vanish_but_glorot_do():
    he = prop.simulate(depth=20, width=256, initializer="he_normal", rng=1)
    gl = prop.simulate(depth=20, width=256, initializer="glorot_normal", rng=1)
    assert 0.2 < he.grad_std[0] / he.grad_std[-1] < 5
    assert gl.grad_std[0] / gl.grad_std[-1] < 0.01


# ----------------------------------------------------------------- initializer handling
def test_initializer_callables_and_names():
    part = prop.simulate(
        depth=3, width=32, initializer=functools.partial(orthogonal, gain=1.2), rng=0
    )
    assert part.initializer.startswith("functools.partial")
    no_rng = prop.simulate(
        depth=3,
        width=8,
        initializer=lambda shape: np.eye(*shape),
        activation="linear",
        rng=0,
    )
    np.testing.assert_allclose(no_rng.act_std, no_rng.act_std[0])  # identity weights
    ident = prop.simulate(
        depth=2, width=8, initializer="identity", activation="linear", rng=0
    )
    np.testing.assert_allclose(ident.act_std, no_rng.act_std[:2], rtol=1e-6)


def test_gradient_mean_and_std_of_every_layer():
    # the backward statistics include the mean of dL/dh: the top gradient is N(0, 1), so
    # its mean over 64 x 256 entries is within a few 1/sqrt(64 * 256) of 0, and a linear
    # net keeps it centred
    r = prop.simulate(
        depth=6,
        width=256,
        batch_size=64,
        initializer="orthogonal",
        activation="linear",
        rng=0,
    )
    assert r.grad_mean.shape == r.grad_std.shape == (6,)
    assert np.all(np.abs(r.grad_mean) < 5 / math.sqrt(64 * 256))
    np.testing.assert_allclose(r.grad_std, 1.0, rtol=0.05)
    assert "grad_mean" in r.as_table().splitlines()[0] and "grad_mean" in r.to_dict()
    # the top layer's gradient is the random g_L itself: its mean is the mean of that
    # draw replay simulate's draws: x_0, the six kernels, then g_L
    gen = np.random.default_rng(0)
    gen.normal(0.0, 1.0, size=(64, 256))
    for _ in range(6):
        prop._initializers.orthogonal((256, 256), rng=gen)
    g_top = gen.standard_normal((64, 256)).astype(np.float32)
    assert r.grad_mean[-1] == pytest.approx(
        float(g_top.mean(dtype=np.float64)), abs=1e-9
    )
    none = prop.simulate(depth=2, width=8, rng=0, backward=False)
    assert none.grad_mean is None


def test_simulate_runs_blas_single_threaded():
    # multi-threaded OpenBLAS is many times slower on a busy machine; simulate limits it
    # to one thread for its own duration and restores the caller's setting afterwards
    seen = []

    def recording_init(shape, rng=None):
        seen.append(
            [
                info["num_threads"]
                for info in threadpool_info()
                if info["user_api"] == "blas"
            ]
        )
        return he_normal(shape, rng=rng)

    with threadpool_limits(limits=2, user_api="blas"):
        before = [
            info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas"
        ]
        prop.simulate(
            depth=3, width=16, batch_size=8, initializer=recording_init, rng=0
        )
        after = [
            info["num_threads"]
            for info in threadpool_info()
            if info["user_api"] == "blas"
        ]
    assert seen and all(threads == [1] * len(threads) for threads in seen)
    assert after == before


def test_time_30_layers_width_256_batch_512():
    times = []
    for _ in range(2):  # best of two, to be robust to a busy machine
        t0 = time.perf_counter()
        prop.simulate(depth=30, width=256, batch_size=512, rng=0)
        times.append(time.perf_counter() - t0)
    assert min(times) < 2.0, f"simulate took {min(times):.2f} s"


# ------------------------------------------------------------------------------ spectra
def test_jacobian_matches_finite_differences():
    widths, act, seed = [5, 7, 4], "tanh", 2
    sv = prop.jacobian_singular_values(
        widths, initializer="glorot_normal", activation=act, bias_std=0.2, rng=seed
    )
    gen = np.random.default_rng(seed)
    x0 = gen.normal(0, 1, widths[0])
    layers = []
    for i in range(2):
        w = np.asarray(
            prop._initializers.glorot_normal((widths[i], widths[i + 1]), rng=gen),
            dtype=float,
        )
        b = gen.normal(0, 0.2, widths[i + 1])
        layers.append((w, b))

    def net(x):
        for w, b in layers:
            x = np.tanh(x @ w + b)
        return x

    eps = 1e-6
    jac = np.stack(
        [
            (net(x0 + eps * e) - net(x0 - eps * e)) / (2 * eps)
            for e in np.eye(widths[0])
        ],
        axis=1,
    )
    np.testing.assert_allclose(
        sv, np.linalg.svd(jac, compute_uv=False), rtol=1e-6, atol=1e-9
    )
    assert sv.shape == (4,) and np.all(np.diff(sv) <= 0)


def test_jacobian_isometry_orthogonal_linear_vs_relu():
    iso = prop.jacobian_singular_values(
        depth=10, width=64, initializer="orthogonal", activation="linear", rng=0
    )
    np.testing.assert_allclose(iso, 1.0, atol=1e-4)
    relu = prop.jacobian_singular_values(
        depth=30, width=64, initializer="he_normal", activation="relu", rng=0
    )
    assert relu.min() < 0.01 * relu.max()  # ReLU cannot achieve dynamical isometry


def test_product_singular_values_gaussian_vs_orthogonal():
    n = 128
    orth = prop.product_singular_values(30, n, initializer="orthogonal", rng=0)
    np.testing.assert_allclose(orth, 1.0, atol=1e-4)
    gauss = prop.product_singular_values(
        30, n, initializer=functools.partial(random_normal, stddev=n**-0.5), rng=0
    )
    assert gauss.shape == (n,)
    # kurtotic spectrum (Saxe et al. 2014, Fig. 6B)
    assert np.median(gauss) < 1e-2 and gauss.max() > 1
    assert 0.2 < np.mean(gauss**2) < 5  # ... yet norms are preserved on average


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(widths=[10]), "widths"),
        (dict(widths=[10, 0]), "widths"),
        (dict(widths=[10, 10], depth=2, width=3), "widths"),
        (dict(depth=3), "widths"),
        (dict(depth=0, width=3), "depth"),
        (dict(depth=2, width=-1), "width"),
        (dict(depth=2, width=4, batch_size=0), "batch_size"),
        (dict(depth=2, width=4, bias_std=-1.0), "bias_std"),
        (dict(depth=2, width=4, input_std=0.0), "input_std"),
        (dict(depth=2, width=4, activation="softsign"), "activation"),
        (dict(depth=2, width=4, initializer="he_norml"), "initializer"),
        (dict(depth=2, width=4, initializer=3), "initializer"),
        (
            dict(depth=2, width=4, initializer=lambda s, rng=None: np.ones(3)),
            "initializer",
        ),
        (
            dict(depth=2, width=4, activation="tanh", activation_param=0.1),
            "activation_param",
        ),
        (
            dict(depth=2, width=4, activation="leaky_relu", activation_param=-0.1),
            "activation_param",
        ),
        (dict(depth=2, width=4, dtype=np.int32), "dtype"),
        (dict(depth=2, width=4, backward="yes"), "backward"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=rf"^{name}:"):
        prop.simulate(**kwargs)


def test_spectra_bad_arguments():
    with pytest.raises(ValueError, match="^depth:"):
        prop.product_singular_values(0, 4, initializer="orthogonal")
    with pytest.raises(ValueError, match="^n:"):
        prop.product_singular_values(2, 0, initializer="orthogonal")
    with pytest.raises(ValueError, match="^activation:"):
        prop.jacobian_singular_values(
            depth=2, width=4, initializer="orthogonal", activation="nope"
        )


def test_propagation_does_not_import_tensorflow():
    code = (
        "import sys, initcourse.propagation; "
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bias_variance_is_an_alternative_to_bias_std():
    from initcourse.propagation import simulate

    a = simulate(
        depth=4,
        width=32,
        initializer="glorot_normal",
        activation="tanh",
        bias_std=0.3,
        rng=5,
    )
    b = simulate(
        depth=4,
        width=32,
        initializer="glorot_normal",
        activation="tanh",
        bias_variance=0.09,
        rng=5,
    )
    np.testing.assert_allclose(a.act_std, b.act_std, rtol=1e-6)
    with pytest.raises(ValueError, match="bias_variance"):
        simulate(depth=2, width=8, bias_std=0.1, bias_variance=0.01, rng=0)
    with pytest.raises(ValueError, match="bias_variance"):
        simulate(depth=2, width=8, bias_variance=-1.0, rng=0)
