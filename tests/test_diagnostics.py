"""Tests of initcourse.diagnostics.layer_stats on models whose statistics are known exactly."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from initcourse import diagnostics, training  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((256, 16)).astype(np.float32)


def _mlp(depth, activation, kernel, bias="zeros", width=16, out=4):
    layers = [keras.Input((16,))]
    layers += [
        keras.layers.Dense(width, activation=activation, kernel_initializer=kernel, bias_initializer=bias)
        for _ in range(depth)
    ]
    layers.append(keras.layers.Dense(out, kernel_initializer=kernel, name="top"))
    return keras.Sequential(layers)


def test_identity_linear_net_keeps_std_exactly():
    model = _mlp(5, None, "identity", out=16)
    stats = diagnostics.layer_stats(model, X)
    assert len(stats.rows) == 6
    for row in stats.rows:
        assert row["out_std"] == pytest.approx(float(X.astype(np.float64).std()), rel=1e-6)
        assert row["kernel_std"] == pytest.approx(np.sqrt(1 / 16 - 1 / 256))
        assert row["saturated"] is None and row["dead"] is None
    # surrogate loss 0.5 * mean(f(x)^2) with f(x) = x: dL/dW_l = x^T x / (n d) for every layer
    expected = np.linalg.norm(X.astype(np.float64).T @ X / X.size)
    for row in stats.rows:
        assert row["grad_norm"] == pytest.approx(expected, rel=1e-4)
    assert stats.warnings() == []


def test_zero_kernels_give_zero_activations_and_a_warning():
    model = _mlp(3, "tanh", "zeros")
    stats = diagnostics.layer_stats(model, X)
    for row in stats.rows:
        assert row["out_std"] == 0 and row["out_mean"] == 0 and row["kernel_std"] == 0
        assert np.isnan(row["grad_weight_ratio"])
    assert any("all-zero kernel" in w for w in stats.warnings())


def test_negative_bias_relu_net_is_dead():
    model = _mlp(3, "relu", "he_normal", bias=keras.initializers.Constant(-100.0))
    stats = diagnostics.layer_stats(model, X)
    for row in stats.rows[:-1]:
        assert row["dead"] == 1.0 and row["saturated"] is None
    # nothing flows back below a fully dead layer
    assert stats.rows[0]["grad_norm"] == 0.0
    text = " ".join(stats.warnings())
    assert "dead ReLU" in text and "(1)" in text  # fraction 1 reported


def test_huge_tanh_weights_saturate():
    model = _mlp(3, "tanh", keras.initializers.RandomNormal(stddev=10.0, seed=0))
    stats = diagnostics.layer_stats(model, X)
    for row in stats.rows[:-1]:
        assert row["saturated"] > 0.9 and row["dead"] is None
    found = " ".join(stats.warnings())
    assert "saturated" in found
    # a sigmoid layer far from 0.5 counts as saturated too (a < 0.03 or a > 0.97)
    sig = _mlp(1, "sigmoid", keras.initializers.RandomNormal(stddev=10.0, seed=0))
    assert diagnostics.layer_stats(sig, X).rows[0]["saturated"] > 0.8


def _tanh_net(weight_std, bias_std, depth=12):
    kernel = keras.initializers.RandomNormal(stddev=weight_std / 4, seed=0)  # sigma_w / sqrt(fan_in=16)
    bias = keras.initializers.RandomNormal(stddev=bias_std, seed=1) if bias_std else "zeros"
    return _mlp(depth, "tanh", kernel, bias=bias)


def test_ordered_and_chaotic_tanh_gradients():
    # ordered phase (Poole et al. 2016, Schoenholz et al. 2017): sigma_w^2 = 0.25 < 1, gradients
    # shrink by chi_1 <= sigma_w^2 per layer going down
    ordered = diagnostics.layer_stats(_tanh_net(0.5, 0.5), X)
    ratios = [r["grad_weight_ratio"] for r in ordered.rows]
    assert ratios[0] < 1e-4 * ratios[-1]
    assert all(a < b for a, b in zip(ratios[:-2], ratios[1:-1]))
    assert any("vanishing gradients" in w for w in ordered.warnings())
    # chaotic phase: sigma_w = 10, gradients grow going down
    chaotic = diagnostics.layer_stats(_tanh_net(10.0, 0.0), X)
    assert chaotic.rows[0]["grad_weight_ratio"] > 100 * chaotic.rows[-1]["grad_weight_ratio"]
    assert any("exploding gradients" in w for w in chaotic.warnings(ratio_spread=100))
    # critical initialization (sigma_w = 1, zero bias): no finding
    assert diagnostics.layer_stats(_tanh_net(1.0, 0.0), X).warnings() == []


def test_he_versus_tiny_init():
    he = diagnostics.layer_stats(_mlp(8, "relu", keras.initializers.HeNormal(seed=1)), X)
    tiny = diagnostics.layer_stats(_mlp(8, "relu", keras.initializers.RandomNormal(stddev=0.01, seed=1)), X)
    he_std = [r["out_std"] for r in he.rows[:-1]]
    tiny_std = [r["out_std"] for r in tiny.rows[:-1]]
    assert 0.2 < he_std[-1] < 5 and tiny_std[-1] < 1e-8
    # tiny weights: every gradient is a product of tiny factors, far below He's in every layer
    for r_he, r_tiny in zip(he.rows, tiny.rows):
        assert 1e-3 < r_he["grad_weight_ratio"] < 10
        assert r_tiny["grad_weight_ratio"] < 1e-6 * r_he["grad_weight_ratio"]
    found = " ".join(tiny.warnings())
    assert "signal vanishing" in found and "he_normal" in found and "negligible in every layer" in found
    assert he.warnings() == []


def test_labels_pick_cross_entropy_and_loss_override():
    model = training.build_mlp(16, 4, depth=2, width=8, seed=0)
    y = RNG.integers(0, 4, size=256)
    stats = diagnostics.layer_stats(model, X, y)
    assert stats.loss_name.startswith("sparse_categorical_crossentropy")
    mse = diagnostics.layer_stats(model, X, RNG.standard_normal((256, 4)))
    assert mse.loss_name == "mean_squared_error"
    custom = diagnostics.layer_stats(model, X, np.zeros((256, 4)), loss="mean_absolute_error")
    assert "absolute" in custom.loss_name
    assert stats.rows[0]["grad_norm"] != mse.rows[0]["grad_norm"]


def test_nested_functional_model_and_activation_layers():
    inner = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, name="inner_dense")], name="inner")
    inp = keras.Input((16,))
    h = keras.layers.Dense(8, name="first")(inp)
    h = keras.layers.Activation("tanh", name="act")(h)
    h = inner(h)
    h = keras.layers.Dropout(0.5, name="drop")(h)
    out = keras.layers.Dense(3, name="last")(h)
    stats = diagnostics.layer_stats(keras.Model(inp, out), X)
    assert [r["layer"] for r in stats.rows] == ["first", "act", "inner_dense", "last"]
    act = stats.rows[1]
    assert act["activation"] == "tanh" and act["kernel_std"] is None and act["saturated"] is not None
    assert all(r["grad_norm"] > 0 for r in stats.rows if r["kernel_std"] is not None)


def test_format_is_deterministic_and_rounded():
    model = _mlp(2, "relu", keras.initializers.HeNormal(seed=0))
    a = diagnostics.layer_stats(model, X).format()
    b = diagnostics.layer_stats(model, X).format()
    assert a == b and len(a.splitlines()) == 4
    assert "grad/weight" in a.splitlines()[0]
    numbers = [tok for line in a.splitlines()[1:] for tok in line.split()[2:]]
    assert numbers and all(len(tok) <= 9 for tok in numbers)  # e.g. "+1.23e-01"


def test_plot_returns_two_log_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = diagnostics.layer_stats(_mlp(3, "relu", keras.initializers.HeNormal(seed=0)), X)
    axes = stats.plot()
    assert len(axes) == 2 and all(ax.get_yscale() == "log" for ax in axes)
    assert axes[0].get_title() == ""
    np.testing.assert_allclose(axes[0].lines[0].get_ydata(), [r["out_std"] for r in stats.rows])
    plt.close("all")


def test_unbuilt_sequential_is_built_on_x():
    # a Sequential without keras.Input gets its weights on its first call: layer_stats builds it on x
    model = keras.Sequential([keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(4, name="top")])
    assert not model.built
    stats = diagnostics.layer_stats(model, X)
    assert model.built and [r["layer"] for r in stats.rows] == [layer.name for layer in model.layers]
    first = np.tanh(X @ np.asarray(model.layers[0].kernel) + np.asarray(model.layers[0].bias))
    assert stats.rows[0]["out_std"] == pytest.approx(float(first.std()), rel=1e-4)
    with pytest.raises(ValueError, match=r"x: .*not built"):
        conv = keras.Sequential([keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(2)])
        diagnostics.layer_stats(conv, X)


def test_bad_input():
    model = _mlp(1, "relu", "he_normal")
    with pytest.raises(ValueError, match="x"):
        diagnostics.layer_stats(model, np.zeros((8, 5), np.float32))
    with pytest.raises(ValueError, match="saturation"):
        diagnostics.layer_stats(model, X, saturation=1.5)
    with pytest.raises(ValueError, match="y"):
        diagnostics.layer_stats(model, X, np.zeros(3, np.int64))
    with pytest.raises(TypeError, match="model"):
        diagnostics.layer_stats("model", X)
