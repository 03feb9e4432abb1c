"""layer_stats, lsuv and reinitialize on the models practitioners have (issue 11).

keras.applications models (weights=None, small inputs), Embedding + LSTM/GRU, a
Transformer encoder, SeparableConv/Depthwise/Conv1D/Conv3D/Conv2DTranspose, a subclassed
model with nested custom layers, a shared layer with two inputs and two outputs, mixed
precision.

The default run covers one model of each kind (MobileNetV2 at width 0.35 for
keras.applications). Tests marked ``slow`` (the other applications, a few seconds to a
minute each on 2 cores) run only when asked: ``pytest -m slow
tests/test_real_models.py`` (or with ``INITCOURSE_SLOW_TESTS=1``).
"""

from __future__ import annotations

import os
import warnings

import model_zoo as zoo
import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from initcourse import diagnostics  # noqa: E402
from initcourse import keras_initializers as ki  # noqa: E402
from initcourse.lsuv import lsuv  # noqa: E402


@pytest.fixture(autouse=True)
def _slow_only_when_asked(request):
    """Skip ``slow`` tests unless selected with ``-m slow`` or
    INITCOURSE_SLOW_TESTS=1."""
    if request.node.get_closest_marker("slow") is None:
        return
    asked = "slow" in (request.config.getoption("markexpr") or "")
    if not asked and os.environ.get("INITCOURSE_SLOW_TESTS") != "1":
        pytest.skip("slow: run with -m slow or INITCOURSE_SLOW_TESTS=1")


SMALL = {
    "text_rnn": zoo.text_rnn,
    "transformer": zoo.transformer,
    "conv_zoo": zoo.conv_zoo,
    "subclassed": zoo.subclassed,
    "shared": zoo.shared_two_in_two_out,
    "mixed_precision": zoo.mixed_precision_classifier,
    "MobileNetV2": lambda: zoo.application("MobileNetV2", alpha=0.35),
}
APPLICATIONS = {
    "VGG16": lambda: zoo.application("VGG16"),
    "ResNet50": lambda: zoo.application("ResNet50", size=64),
    "EfficientNetB0": lambda: zoo.application("EfficientNetB0"),
    "DenseNet121": lambda: zoo.application("DenseNet121"),
    "ConvNeXtTiny": lambda: zoo.application("ConvNeXtTiny"),
}
CASES = [pytest.param(name, make, id=name) for name, make in SMALL.items()] + [
    pytest.param(name, make, id=name, marks=pytest.mark.slow)
    for name, make in APPLICATIONS.items()
]


def _kernel_paths(model) -> list[str]:
    """Paths of every kernel-like matrix (not biases, not normalization parameters)."""
    names = (
        "kernel",
        "recurrent_kernel",
        "embeddings",
        "depthwise_kernel",
        "pointwise_kernel",
    )
    return [str(v.path) for v in model.weights if v.name in names]


@pytest.mark.parametrize("name, make", CASES)
def test_layer_stats_on_real_models(name, make):
    model, x = make()
    before = {str(v.path): v.numpy().copy() for v in model.weights}
    stats = diagnostics.layer_stats(model, x)
    # the check leaves the model exactly as it was (BatchNorm moving statistics
    # included)
    for v in model.weights:
        np.testing.assert_array_equal(
            v.numpy(), before[str(v.path)], err_msg=str(v.path)
        )
    rows = stats.rows
    assert rows and all(np.isfinite(r["out_std"]) for r in rows)
    kernels = [r for r in rows if r.get("weight_role") in ("kernel", "embeddings")]
    assert kernels and all(np.isfinite(r["grad_norm"]) for r in kernels)
    # Keras's default initializations of these models are healthy at step 0: no finding,
    # except VGG16's (plain ReLU stack, glorot_uniform): its signal really does vanish
    found = stats.warnings()
    if name == "VGG16":
        assert (
            len(found) == 1
            and "signal vanishing" in found[0]
            and "he_normal" in found[0]
        )
    else:
        assert found == [], found
    # a softmax head is an output (judged by the loss), never a vanishing signal
    for r in rows:
        if r["role"] == "output" and r["activation"] == "softmax":
            assert any(
                r["layer"] in note and "softmax" in note for note in stats.notes()
            )


@pytest.mark.parametrize("name, make", CASES)
def test_lsuv_on_real_models(name, make):
    model, x = make()
    if np.issubdtype(
        np.asarray(x if not isinstance(x, (list, dict)) else 0).dtype, np.floating
    ):
        x = (x - x.mean()) / x.std()  # LSUV wants a standardized batch
    before = {p: v for p, v in zoo.matrices(model).items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no layer left unconverged or unserved
        report = lsuv(model, x, seed=0)
    assert report and all(r["converged"] for r in report) and report.kept == []
    after = zoo.matrices(model)
    # every kernel was written (pre-initialized or rescaled), except the depthwise half
    # of a
    # separable convolution, which keeps its own draw by design (see initcourse.lsuv)
    untouched = [p for p in _kernel_paths(model) if np.array_equal(before[p], after[p])]
    assert all(p.endswith("depthwise_kernel") for p in untouched), untouched


@pytest.mark.parametrize("name, make", CASES)
def test_reinitialize_reaches_every_kernel(name, make):
    model, _ = make()
    before = zoo.matrices(model)
    changed = ki.reinitialize(model, "he_normal", seed=0)
    after = zoo.matrices(model)
    assert [
        p for p in _kernel_paths(model) if np.array_equal(before[p], after[p])
    ] == []
    written = {w["weight"]: w for w in changed.weights}
    assert set(_kernel_paths(model)) == set(written)
    for path, row in written.items():
        expected = {"recurrent_kernel": "recurrent_kernel", "embeddings": "embeddings"}
        assert row["role"] == expected.get(path.rsplit("/", 1)[-1], "kernel"), path


def test_text_model_details():
    model, x = zoo.text_rnn()
    stats = diagnostics.layer_stats(model, x)
    by_name = {r["layer"]: r for r in stats.rows}
    # the Embedding's gradient is sparse (IndexedSlices): its norm equals the dense one
    with tf.GradientTape() as tape:
        pred = model(x, training=True)
        labels = np.random.default_rng(0).integers(0, 4, size=len(x))
        loss = tf.reduce_mean(
            keras.losses.sparse_categorical_crossentropy(labels, pred)
        )
    table = model.get_layer("embed").embeddings
    dense = tf.convert_to_tensor(tape.gradient(loss, table))
    assert by_name["embed"]["grad_norm"] == pytest.approx(
        float(tf.norm(dense)), rel=1e-5
    )
    # the ratio compares the gradient with the rows the batch looks up, not the whole
    # table
    rows = np.unique(x)
    touched = np.linalg.norm(table.numpy()[rows])
    assert by_name["embed"]["grad_weight_ratio"] == pytest.approx(
        float(tf.norm(dense)) / touched, rel=1e-5
    )
    # both directions of the Bidirectional LSTM and the TimeDistributed Dense have a row
    bilstm = model.get_layer("bilstm")
    directions = {bilstm.forward_layer.name, bilstm.backward_layer.name}
    assert directions | {"embed", "td", "gru", "probs"} == set(by_name)
    # reinitialize follows Keras's rule per role: recurrent kernels orthogonal,
    # embeddings
    # re-drawn with the layer's own initializer (uniform +-0.05)
    ki.reinitialize(model, "he_normal", seed=3)
    for layer in (model.get_layer("bilstm").forward_layer, model.get_layer("gru")):
        u = layer.cell.recurrent_kernel.numpy().astype(
            np.float64
        )  # (units, gates * units)
        np.testing.assert_allclose(u @ u.T, np.eye(layer.cell.units), atol=1e-4)
        k = layer.cell.kernel.numpy()
        assert (
            abs(k.std() / np.sqrt(2 / k.shape[0]) - 1) < 0.25
        )  # he_normal on the input kernel
    e = model.get_layer("embed").embeddings.numpy()
    assert np.abs(e).max() <= 0.05 and e.std() > 0.02


def test_lsuv_text_model_gives_unit_variance_where_it_says():
    model, x = zoo.text_rnn()
    report = lsuv(model, x, seed=1)
    kinds = [(r["name"], r["kind"]) for r in report]
    bilstm = model.get_layer("bilstm")
    assert kinds == [
        ("embed", "embedding"),
        (bilstm.forward_layer.name, "rnn"),
        (bilstm.backward_layer.name, "rnn"),
        ("td", "td"),
        ("gru", "rnn"),
        ("probs", "linear"),
    ]
    table = model.get_layer("embed").embeddings.numpy()
    assert abs(table[x].var() - 1) < 0.1  # the looked-up vectors
    seq = keras.Model(model.inputs, model.get_layer("bilstm").input)(x).numpy()
    forward = model.get_layer("bilstm").forward_layer.cell
    assert (
        abs((seq @ forward.kernel.numpy()).var() - 1) < 0.1
    )  # the input projection x W
    u = forward.recurrent_kernel.numpy().astype(np.float64)
    np.testing.assert_allclose(
        u @ u.T, np.eye(8), atol=1e-4
    )  # orthogonal, not rescaled
    bias = forward.bias.numpy()
    assert np.all(bias[8:16] == 1) and np.all(
        np.delete(bias, np.s_[8:16]) == 0
    )  # forget gate 1


def test_lsuv_transformer_projections():
    model, x = zoo.transformer()
    report = lsuv(model, x, seed=0)
    names = [r["name"] for r in report]
    assert "mha_0/query" in names and "mha_1/attention_output" in names
    # the query projection is orthogonal as a (width x heads*key_dim) map, times a scale
    q = model.get_layer("mha_0")._query_dense.kernel.numpy()
    w = q.reshape(q.shape[0], -1).astype(np.float64)
    gram = w.T @ w
    np.testing.assert_allclose(gram / gram[0, 0], np.eye(gram.shape[0]), atol=1e-4)
    # independent check of one feed-forward layer: pre-activation variance 1 on the
    # batch
    probe = keras.Model(model.inputs, model.get_layer("ff_in_1").input)
    h = probe(x, training=True).numpy()
    dense = model.get_layer("ff_in_1")
    z = h @ dense.kernel.numpy() + dense.bias.numpy()
    assert abs(z.var() - 1) < 0.1


def test_shared_layer_two_inputs_two_outputs():
    model, x = zoo.shared_two_in_two_out()
    stats = diagnostics.layer_stats(model, x)
    names = [r["layer"] for r in stats.rows]
    assert names.count("shared#1") == 1 and names.count("shared#2") == 1
    # each call has its own statistics (the right input has 3x the scale)
    first, second = (r for r in stats.rows if r["layer"].startswith("shared#"))
    assert first["in_std"] != pytest.approx(second["in_std"], rel=0.1)
    # both outputs enter the loss: every head gets a gradient, no false 'exploding'
    # warning
    assert "sum over 2 outputs" in stats.loss_name
    assert all(r["grad_norm"] > 0 for r in stats.rows if r["grad_norm"] is not None)
    assert stats.warnings() == []
    only = diagnostics.layer_stats(model, x, outputs="cls")
    assert only.rows[[r["layer"] for r in only.rows].index("sim")]["grad_norm"] == 0
    # lsuv: the shared layer is rescaled so that the variance pooled over both calls is
    # 1
    report = lsuv(model, x, seed=0)
    row = next(r for r in report if r["name"] == "shared")
    assert row["calls"] == 2 and abs(row["var_after"] - 1) < 0.1 and row["converged"]
    assert row["var_calls"][0] != pytest.approx(row["var_calls"][1], rel=0.1)


def test_mixed_precision_gradients_do_not_underflow():
    model, x = zoo.mixed_precision_classifier()
    stats = diagnostics.layer_stats(model, x)
    grads = [r["grad_norm"] for r in stats.rows if r["grad_norm"] is not None]
    assert grads and all(g > 0 for g in grads)
    assert any("mixed precision" in n for n in stats.notes())
    # the float32 reference: the same weights in a float32 copy give the same gradient
    # norms
    config = model.get_config()
    for layer_config in config["layers"]:
        layer_config["config"]["dtype"] = "float32"
    reference = keras.Model.from_config(config)
    reference.set_weights(model.get_weights())
    expected = diagnostics.layer_stats(reference, x)
    for a, b in zip(stats.rows, expected.rows):
        if a["grad_norm"] is not None:
            assert a["grad_norm"] == pytest.approx(b["grad_norm"], rel=0.05), a["layer"]


def test_subclassed_zero_initialized_branches_are_described_not_flagged():
    model, x = zoo.subclassed(zero_last=True)
    stats = diagnostics.layer_stats(model, x)
    assert stats.warnings() == []
    assert any("zero-initialized residual branch" in n for n in stats.notes())
    roles = [r["role"] for r in stats.rows if r["weight_norm"] == 0.0]
    assert roles and set(roles) == {"zero branch"}
    # the same zero kernels without the residual connection are a fault
    keras.utils.set_random_seed(0)
    plain = keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(16),
            keras.layers.Dense(16, kernel_initializer="zeros"),
            keras.layers.Dense(3),
        ]
    )
    assert any(
        "all-zero kernel" in w for w in diagnostics.layer_stats(plain, x).warnings()
    )
