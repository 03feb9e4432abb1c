"""Tests of initcourse.diagnostics.layer_stats on models whose statistics are known
exactly."""

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
        keras.layers.Dense(
            width,
            activation=activation,
            kernel_initializer=kernel,
            bias_initializer=bias,
        )
        for _ in range(depth)
    ]
    layers.append(keras.layers.Dense(out, kernel_initializer=kernel, name="top"))
    return keras.Sequential(layers)


def test_identity_linear_net_keeps_std_exactly():
    model = _mlp(5, None, "identity", out=16)
    stats = diagnostics.layer_stats(model, X)
    assert len(stats.rows) == 6
    for row in stats.rows:
        assert row["out_std"] == pytest.approx(
            float(X.astype(np.float64).std()), rel=1e-6
        )
        assert row["kernel_std"] == pytest.approx(np.sqrt(1 / 16 - 1 / 256))
        assert row["saturated"] is None and row["dead"] is None
    # surrogate loss 0.5 * mean(f(x)^2) with f(x) = x: dL/dW_l = x^T x / (n d) for every
    # layer
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
    kernel = keras.initializers.RandomNormal(
        stddev=weight_std / 4, seed=0
    )  # sigma_w / sqrt(fan_in=16)
    bias = (
        keras.initializers.RandomNormal(stddev=bias_std, seed=1)
        if bias_std
        else "zeros"
    )
    return _mlp(depth, "tanh", kernel, bias=bias)


def test_ordered_and_chaotic_tanh_gradients():
    # ordered phase (Poole et al. 2016, Schoenholz et al. 2017): sigma_w^2 = 0.25 < 1,
    # gradients
    # shrink by chi_1 <= sigma_w^2 per layer going down
    ordered = diagnostics.layer_stats(_tanh_net(0.5, 0.5), X)
    ratios = [r["grad_weight_ratio"] for r in ordered.rows]
    assert ratios[0] < 1e-4 * ratios[-1]
    assert all(a < b for a, b in zip(ratios[:-2], ratios[1:-1]))
    assert any("vanishing gradients" in w for w in ordered.warnings())
    # chaotic phase: sigma_w = 10, gradients grow going down
    chaotic = diagnostics.layer_stats(_tanh_net(10.0, 0.0), X)
    assert (
        chaotic.rows[0]["grad_weight_ratio"]
        > 100 * chaotic.rows[-1]["grad_weight_ratio"]
    )
    assert any("exploding gradients" in w for w in chaotic.warnings(ratio_spread=100))
    # critical initialization (sigma_w = 1, zero bias): no finding
    assert diagnostics.layer_stats(_tanh_net(1.0, 0.0), X).warnings() == []


def test_he_versus_tiny_init():
    he = diagnostics.layer_stats(
        _mlp(8, "relu", keras.initializers.HeNormal(seed=1)), X
    )
    tiny = diagnostics.layer_stats(
        _mlp(8, "relu", keras.initializers.RandomNormal(stddev=0.01, seed=1)), X
    )
    he_std = [r["out_std"] for r in he.rows[:-1]]
    tiny_std = [r["out_std"] for r in tiny.rows[:-1]]
    assert 0.2 < he_std[-1] < 5 and tiny_std[-1] < 1e-8
    # tiny weights: every gradient is a product of tiny factors, far below He's in every
    # layer
    for r_he, r_tiny in zip(he.rows, tiny.rows):
        assert 1e-3 < r_he["grad_weight_ratio"] < 10
        assert r_tiny["grad_weight_ratio"] < 1e-6 * r_he["grad_weight_ratio"]
    found = " ".join(tiny.warnings())
    assert (
        "signal vanishing" in found
        and "he_normal" in found
        and "negligible in every layer" in found
    )
    assert he.warnings() == []


def test_labels_pick_cross_entropy_and_loss_override():
    model = training.build_mlp(16, 4, depth=2, width=8, seed=0)
    y = RNG.integers(0, 4, size=256)
    stats = diagnostics.layer_stats(model, X, y)
    assert stats.loss_name.startswith("sparse_categorical_crossentropy")
    mse = diagnostics.layer_stats(model, X, RNG.standard_normal((256, 4)))
    assert mse.loss_name == "mean_squared_error"
    custom = diagnostics.layer_stats(
        model, X, np.zeros((256, 4)), loss="mean_absolute_error"
    )
    assert "absolute" in custom.loss_name
    assert stats.rows[0]["grad_norm"] != mse.rows[0]["grad_norm"]


def test_nested_functional_model_and_activation_layers():
    inner = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(8, name="inner_dense")], name="inner"
    )
    inp = keras.Input((16,))
    h = keras.layers.Dense(8, name="first")(inp)
    h = keras.layers.Activation("tanh", name="act")(h)
    h = inner(h)
    h = keras.layers.Dropout(0.5, name="drop")(h)
    out = keras.layers.Dense(3, name="last")(h)
    stats = diagnostics.layer_stats(keras.Model(inp, out), X)
    assert [r["layer"] for r in stats.rows] == ["first", "act", "inner_dense", "last"]
    act = stats.rows[1]
    assert (
        act["activation"] == "tanh"
        and act["kernel_std"] is None
        and act["saturated"] is not None
    )
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

    stats = diagnostics.layer_stats(
        _mlp(3, "relu", keras.initializers.HeNormal(seed=0)), X
    )
    axes = stats.plot()
    assert len(axes) == 2 and all(ax.get_yscale() == "log" for ax in axes)
    assert axes[0].get_title() == ""
    np.testing.assert_allclose(
        axes[0].lines[0].get_ydata(), [r["out_std"] for r in stats.rows]
    )
    plt.close("all")


def test_unbuilt_sequential_is_built_on_x():
    # a Sequential without keras.Input gets its weights on its first call: layer_stats
    # builds it on x
    model = keras.Sequential(
        [keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(4, name="top")]
    )
    assert not model.built
    stats = diagnostics.layer_stats(model, X)
    assert model.built and [r["layer"] for r in stats.rows] == [
        layer.name for layer in model.layers
    ]
    first = np.tanh(
        X @ np.asarray(model.layers[0].kernel) + np.asarray(model.layers[0].bias)
    )
    assert stats.rows[0]["out_std"] == pytest.approx(float(first.std()), rel=1e-4)
    with pytest.raises(ValueError, match=r"x: .*not built"):
        conv = keras.Sequential(
            [keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(2)]
        )
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


# ------------------------------------------------------------------ real-model
# behaviour (issue 11)


def _two_input_model():
    a = keras.Input((5,), name="a")
    b = keras.Input((3, 4), name="b")
    h = keras.layers.Concatenate()(
        [
            keras.layers.Dense(6, name="da")(a),
            keras.layers.Flatten()(keras.layers.Dense(2, name="db")(b)),
        ]
    )
    return keras.Model([a, b], keras.layers.Dense(2, name="top")(h))


def test_x_as_list_tuple_and_dict_give_the_same_rows():
    model = _two_input_model()
    xa = RNG.standard_normal((16, 5)).astype(np.float32)
    xb = RNG.standard_normal((16, 3, 4)).astype(np.float32)
    tables = [
        diagnostics.layer_stats(model, x).format()
        for x in ([xa, xb], (xa, xb), {"a": xa, "b": xb}, {"b": xb, "a": xa})
    ]
    assert len(set(tables)) == 1
    with pytest.raises(
        ValueError, match=r"x: dict keys .* do not match .*missing: \['b'\]"
    ):
        diagnostics.layer_stats(model, {"a": xa})
    with pytest.raises(ValueError, match=r"x: input 'b' has shape \(16, 4, 3\)"):
        diagnostics.layer_stats(model, [xa, xb.reshape(16, 4, 3)])
    with pytest.raises(ValueError, match="the model has 2 inputs"):
        diagnostics.layer_stats(model, xa)


def test_nan_in_x_is_named_as_an_input_problem():
    model = _mlp(2, "relu", "he_normal")
    x = X.copy()
    x[3, 7] = np.nan
    x[5, 0] = np.inf
    with pytest.raises(
        ValueError,
        match=(
            r"x: the batch contains 1 NaN and 1 inf .*index \(3, 7\).*not of the model"
        ),
    ):
        diagnostics.layer_stats(model, x)


@pytest.mark.parametrize(
    "bad, message",
    [
        (
            "model.keras",
            (
                r"model: expected a keras.Model .* got the string"
                r" 'model.keras'.*load_model"
            ),
        ),
        (
            np.zeros((3, 4)),
            (
                r"model: expected a keras.Model .* numpy array of shape \(3,"
                r" 4\).*f\(model, x\)"
            ),
        ),
        (
            keras.layers.Dense(3),
            r"model: expected a keras.Model .*single layer is not a model",
        ),
    ],
)
def test_wrong_objects_say_what_was_expected(bad, message):
    with pytest.raises(TypeError, match=message):
        diagnostics.layer_stats(bad, X)


def test_empty_sequential_is_named_as_such():
    with pytest.raises(
        ValueError, match=r"model: 'empty' \(Sequential\) has no layers"
    ):
        diagnostics.layer_stats(keras.Sequential([], name="empty"), X)


def _bn_net(init):
    layers = [keras.Input((16,))]
    for i in range(6):
        layers += [
            keras.layers.Dense(32, kernel_initializer=init, name=f"d{i}"),
            keras.layers.BatchNormalization(name=f"bn{i}"),
            keras.layers.ReLU(name=f"r{i}"),
        ]
    return keras.Sequential(layers + [keras.layers.Dense(4, name="top")])


def test_training_mode_by_default_makes_batchnorm_live_and_leaves_the_model_unchanged():
    model = _bn_net(keras.initializers.RandomNormal(stddev=0.05, seed=0))
    before = [v.numpy().copy() for v in model.weights]
    live = diagnostics.layer_stats(model, X)
    assert live.training is True
    bn_std = [r["out_std"] for r in live.rows if r["type"] == "BatchNormalization"]
    assert all(abs(s - 1) < 0.05 for s in bn_std)  # normalized by the batch statistics
    assert live.warnings() == []  # BatchNorm rescues small kernels in training
    frozen = diagnostics.layer_stats(
        model, X, training=False
    )  # moving stats: identity at init
    assert any("vanishing" in w for w in frozen.warnings())
    assert any("training=False" in n for n in frozen.notes())
    for v, b in zip(
        model.weights, before
    ):  # moving mean/variance restored after the live pass
        np.testing.assert_array_equal(v.numpy(), b)
    with pytest.raises(TypeError, match="training"):
        diagnostics.layer_stats(model, X, training="yes")


def _cnn(make_init, seed, front=None, classes=10):
    """Six 3x3 ReLU convolutions (each its own draw), global pooling, a softmax head."""
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((12, 12, 3))] + ([front] if front is not None else [])
    layers += [
        keras.layers.Conv2D(
            8,
            3,
            padding="same",
            activation="relu",
            kernel_initializer=make_init(seed + i),
        )
        for i in range(6)
    ]
    layers += [
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(classes, activation="softmax"),
    ]
    return keras.Sequential(layers)


PIXELS = RNG.uniform(0, 255, (16, 12, 12, 3)).astype(np.float32)
HE = keras.initializers.HeNormal


def small(seed):
    return keras.initializers.RandomNormal(stddev=0.01, seed=seed)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pixels_and_rescaling_front_ends_are_not_mistaken_for_vanishing(seed):
    # He-initialized ReLU convolutions on raw pixels keep the scale of their own input:
    # no layer is 'vanishing' (what the raw-input reference used to claim)
    raw = diagnostics.layer_stats(_cnn(HE, seed), PIXELS)
    assert not any("vanishing" in w for w in raw.warnings())
    scaled = diagnostics.layer_stats(
        _cnn(HE, seed, keras.layers.Rescaling(1 / 255, name="scale")), PIXELS
    )
    assert scaled.warnings() == []
    assert any("front end: scale (Rescaling" in n for n in scaled.notes())
    assert scaled.rows[0]["role"] == "front end"
    # N(0, 0.01²) kernels really do lose the signal, whatever the input scale
    broken = diagnostics.layer_stats(_cnn(small, seed), PIXELS)
    assert any("signal vanishing" in w and "he_normal" in w for w in broken.warnings())
    # a layer that already uses he_normal is not told to use he_normal
    he = _cnn(HE, seed)
    he.layers[2].kernel.assign(he.layers[2].kernel * 1e-4)
    found = " ".join(diagnostics.layer_stats(he, PIXELS).warnings())
    assert "signal vanishing" in found and "it already uses HeNormal" in found


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softmax_head_is_an_output_with_a_cross_entropy_surrogate(seed):
    stats = diagnostics.layer_stats(_cnn(HE, seed, classes=1000), PIXELS / 255)
    head = stats.rows[-1]
    assert head["role"] == "output" and head["activation"] == "softmax"
    assert stats.loss_name.startswith("surrogate: cross-entropy with random labels")
    # 1000 probabilities near 1/1000: a std far below the reference, which is no fault
    assert head["out_std"] < 1e-2 * head["ref_std"]
    assert stats.warnings() == []
    # the same net, unscaled head, raw pixels (std 74): an overconfident softmax
    raw = diagnostics.layer_stats(_cnn(HE, seed), PIXELS * 10)
    assert raw.rows[-1]["top_prob"] > 0.9
    assert any("softmax saturated at initialization" in w for w in raw.warnings())


class LayerScale(keras.layers.Layer):
    """LayerScale (Touvron et al. 2021): a per-channel scale initialized at 1e-6."""

    def build(self, input_shape):
        self.gamma = self.add_weight(
            shape=(input_shape[-1],), initializer=keras.initializers.Constant(1e-6)
        )

    def call(self, x):
        return x * self.gamma


def test_layer_scale_is_recognised():
    keras.utils.set_random_seed(0)
    inp = keras.Input((16,))
    h = keras.layers.Dense(16, kernel_initializer="he_normal")(inp)
    for _ in range(3):
        f = keras.layers.Dense(32, activation="gelu")(
            keras.layers.LayerNormalization()(h)
        )
        f = LayerScale()(keras.layers.Dense(16)(f))
        h = keras.layers.Add()([h, f])
    model = keras.Model(inp, keras.layers.Dense(3)(h))
    stats = diagnostics.layer_stats(model, X)
    assert stats.warnings() == []
    assert any(n.startswith("LayerScale: 3 layer(s)") for n in stats.notes())
    assert [r["role"] for r in stats.rows].count("layer scale") == 3


def test_gradients_match_an_independent_gradient_tape_with_two_outputs():
    inp = keras.Input((16,))
    h = keras.layers.Dense(8, activation="tanh", name="h")(inp)
    model = keras.Model(
        inp,
        {
            "reg": keras.layers.Dense(2, name="reg")(h),
            "cls": keras.layers.Dense(3, name="cls")(h),
        },
    )
    y = {"reg": RNG.standard_normal((256, 2)), "cls": RNG.integers(0, 3, 256)}
    stats = diagnostics.layer_stats(model, X, y)
    assert (
        "reg: mean_squared_error" in stats.loss_name
        and "cls: sparse_categorical" in stats.loss_name
    )
    variables = [model.get_layer(n).kernel for n in ("h", "reg", "cls")]
    import tensorflow as tf

    with tf.GradientTape() as tape:
        out = model(X, training=True)
        loss = tf.reduce_mean(
            keras.losses.mean_squared_error(y["reg"].astype(np.float32), out["reg"])
        )
        loss += tf.reduce_mean(
            keras.losses.sparse_categorical_crossentropy(
                y["cls"], out["cls"], from_logits=True
            )
        )
    for v, g in zip(variables, tape.gradient(loss, variables)):
        row = next(r for r in stats.rows if r["weight"] == v.path)
        assert row["grad_norm"] == pytest.approx(float(tf.norm(g)), rel=1e-5)
    # a chosen output only: the other head gets no gradient
    only = diagnostics.layer_stats(model, X, outputs=["reg"])
    assert next(r for r in only.rows if r["layer"] == "cls")["grad_norm"] == 0
    with pytest.raises(
        ValueError,
        match=r"outputs: 'logits' is not one of the model's outputs \['cls', 'reg'\]",
    ):
        diagnostics.layer_stats(model, X, outputs="logits")
    with pytest.raises(
        ValueError, match=r"y: dict keys \['reg'\] miss the output\(s\) \['cls'\]"
    ):
        diagnostics.layer_stats(model, X, {"reg": y["reg"]})


def test_summary_verdict_and_short_format():
    broken = diagnostics.layer_stats(
        _mlp(8, "relu", keras.initializers.RandomNormal(stddev=0.01, seed=1)), X
    )
    assert broken.verdict() == "vanishing, negligible gradients"
    text = broken.summary()
    assert text.splitlines()[0].endswith("(training mode): 9 layers checked")
    assert "findings:" in text and "signal vanishing" in text
    healthy = diagnostics.layer_stats(
        _mlp(8, "relu", keras.initializers.HeNormal(seed=1)), X
    )
    assert healthy.verdict() == "healthy" and "findings: none" in healthy.summary()
    short = broken.format(max_rows=4)
    assert len(short.splitlines()) == 6 and "... 5 more rows ..." in short
