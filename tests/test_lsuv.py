"""Tests of initcourse.lsuv: layer-sequential unit-variance initialization of Keras
models."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from initcourse.lsuv import lsuv, lsuv_layers  # noqa: E402

D_IN = 32
KEYS = {"name", "var_before", "var_after", "iterations", "converged"}


def _np(t) -> np.ndarray:
    return t.numpy() if hasattr(t, "numpy") else keras.ops.convert_to_numpy(t)


def _mlp(sequential: bool = False, activation: str = "relu") -> keras.Model:
    layers = [
        keras.layers.Dense(64, activation=activation, name=f"d{i}") for i in range(5)
    ]
    layers.append(keras.layers.Dense(10, name="out"))
    if sequential:
        return keras.Sequential([keras.Input((D_IN,)), *layers])
    inputs = keras.Input((D_IN,))
    h = inputs
    for layer in layers:
        h = layer(h)
    return keras.Model(inputs, h)


@pytest.fixture(scope="module")
def batch() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(256, D_IN)).astype("float32")


def _numpy_pre_activations(model: keras.Model, x: np.ndarray) -> list[np.ndarray]:
    """Pre-activations of every Dense layer of a plain MLP, computed independently with
    numpy."""
    acts = {"relu": lambda z: np.maximum(z, 0), "tanh": np.tanh, "linear": lambda z: z}
    h = x.astype(np.float64)
    out = []
    for layer in lsuv_layers(model):
        z = h @ _np(layer.kernel) + _np(layer.bias)
        out.append(z)
        h = acts[layer.activation.__name__](z)
    return out


@pytest.mark.parametrize("sequential", [False, True])
def test_every_layer_has_unit_pre_activation_variance(batch, sequential):
    model = _mlp(sequential)
    originals = [layer.activation for layer in lsuv_layers(model)]
    report = lsuv(model, batch, seed=0)
    assert [r["name"] for r in report] == ["d0", "d1", "d2", "d3", "d4", "out"]
    for r in report:
        assert KEYS <= set(r)
        assert r["converged"] is True and 1 <= r["iterations"] <= 10
        assert abs(r["var_after"] - 1) < 0.1
        assert (
            abs(r["var_before"] - 1) >= 0.1
        )  # orthogonal alone does not give unit variance here
    for r, z in zip(report, _numpy_pre_activations(model, batch)):
        assert abs(z.var() - 1) < 0.1
        assert abs(z.var() - r["var_after"]) < 1e-4
    for layer, act in zip(lsuv_layers(model), originals):
        assert layer.activation is act  # activations restored
        assert np.all(_np(layer.bias) == 0)


def test_kernels_are_rescaled_orthogonal_matrices(batch):
    model = _mlp()
    lsuv(model, batch, seed=1)
    for layer in lsuv_layers(model)[
        1:5
    ]:  # square 64 x 64 hidden kernels: W^T W = c^2 I
        w = _np(layer.kernel).astype(np.float64)
        gram = w.T @ w
        c2 = gram[0, 0]
        np.testing.assert_allclose(gram / c2, np.eye(64), atol=1e-4)


def test_seed_reproducible_and_tighter_tol(batch):
    a, b = _mlp(activation="tanh"), _mlp(activation="tanh")
    lsuv(a, batch, seed=3)
    lsuv(b, batch, seed=3)
    for la, lb in zip(lsuv_layers(a), lsuv_layers(b)):
        np.testing.assert_array_equal(_np(la.kernel), _np(lb.kernel))
    report = lsuv(a, batch, tol=1e-3, seed=4)
    assert all(abs(r["var_after"] - 1) < 1e-3 and r["converged"] for r in report)


def test_conv2d_model():
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1")(inputs)
    h = keras.layers.Conv2D(16, 3, activation="relu", name="c2")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(5, activation="softmax", name="head")(h)
    model = keras.Model(inputs, out)
    x = np.random.default_rng(1).normal(size=(64, 8, 8, 3)).astype("float32")
    report = lsuv(model, x, seed=0)
    assert [r["name"] for r in report] == ["c1", "c2", "head"] and all(
        r["converged"] for r in report
    )
    # independent check with a probe model on a linear activation (the approach the
    # brief describes)
    for layer in lsuv_layers(model):
        act = layer.activation
        layer.activation = keras.activations.linear
        try:
            z = _np(keras.Model(model.inputs[0], layer.output)(x))
        finally:
            layer.activation = act
        assert abs(z.var() - 1) < 0.1, layer.name
    assert model.get_layer("head").activation is keras.activations.softmax


def test_nested_model(batch):
    inner = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(64, activation="relu", name="inner_a")],
        name="inner",
    )
    inputs = keras.Input((D_IN,))
    out = keras.layers.Dense(3, name="head")(
        inner(keras.layers.Dense(64, activation="tanh", name="first")(inputs))
    )
    model = keras.Model(inputs, out)
    report = lsuv(model, batch, seed=0)
    assert [r["name"] for r in report] == ["first", "inner_a", "head"]
    assert all(r["converged"] for r in report)


def test_constant_or_nan_input_is_rejected_before_any_weight_changes(batch):
    model = _mlp()
    before = [v.numpy().copy() for v in model.weights]
    with pytest.raises(
        ValueError, match=r"x: every value of the batch is the same \(variance 0\)"
    ):
        lsuv(model, np.zeros_like(batch), seed=0)
    bad = batch.copy()
    bad[4, 2] = np.nan
    with pytest.raises(
        ValueError, match=r"x: the batch contains 1 NaN .*not of the model"
    ):
        lsuv(model, bad, seed=0)
    for v, b in zip(model.weights, before):
        np.testing.assert_array_equal(v.numpy(), b)


def test_a_layer_fed_zeros_cannot_converge_and_warns(batch):
    inputs = keras.Input((D_IN,))
    h = keras.layers.Dense(16, activation="relu", name="first")(inputs)
    h = keras.layers.Dropout(1.0 - 1e-9, name="kill")(
        h
    )  # in training mode: (almost) all zeros
    model = keras.Model(inputs, keras.layers.Dense(4, name="after")(h))
    with pytest.warns(
        RuntimeWarning, match="'after' did not reach .*Var = 0; its pre-activation"
    ):
        report = lsuv(model, batch, seed=0)
    assert (
        report[0]["converged"]
        and not report[1]["converged"]
        and report[1]["iterations"] == 0
    )


def test_errors(batch):
    model = _mlp()
    with pytest.raises(
        ValueError, match=r"x: the batch has shape \(256, 31\).*\(None, 32\)"
    ):
        lsuv(model, batch[:, :31])
    with pytest.raises(ValueError, match="x: "):
        lsuv(model, batch[:, :, None])
    with pytest.raises(ValueError, match="tol"):
        lsuv(model, batch, tol=0)
    with pytest.raises(ValueError, match="tol"):
        lsuv(model, batch, tol=-0.1)
    with pytest.raises(ValueError, match="max_iter"):
        lsuv(model, batch, max_iter=0)
    no_dense = keras.Sequential(
        [keras.Input((4, 4)), keras.layers.Flatten(), keras.layers.Dropout(0.1)]
    )
    with pytest.raises(ValueError, match="no Dense or Conv"):
        lsuv(no_dense, np.zeros((8, 4, 4), dtype="float32"))
    unbuilt = keras.Sequential(
        [keras.layers.Conv2D(4, 3), keras.layers.Flatten(), keras.layers.Dense(2)]
    )
    with pytest.raises(ValueError, match=r"x: .*not built.*\(256, 32\)"):
        lsuv(
            unbuilt, batch
        )  # calling a Conv2D net on (batch, 32) vectors cannot build it


def test_unbuilt_sequential_is_built_on_x(batch):
    # keras.Sequential without keras.Input has no weights until its first call: lsuv
    # builds it on x
    model = keras.Sequential(
        [keras.layers.Dense(64, activation="relu"), keras.layers.Dense(10)]
    )
    assert not model.built
    report = lsuv(model, batch, tol=0.1, max_iter=10)
    assert model.built and [r["name"] for r in report] == [
        layer.name for layer in model.layers
    ]
    h = batch @ _np(model.layers[0].kernel) + _np(model.layers[0].bias)
    assert abs(h.var() - 1.0) < 0.1
    assert all(r["converged"] for r in report)


class _Boom(keras.layers.Layer):
    """Identity layer that raises when ``armed`` (to test that activations are
    restored on error)."""

    armed = False

    def call(self, x):
        if self.armed:
            raise RuntimeError("boom")
        return x


def test_activation_restored_on_error(batch):
    inputs = keras.Input((D_IN,))
    boom = _Boom()
    first = keras.layers.Dense(16, activation="relu")
    second = keras.layers.Dense(4, activation="tanh")
    model = keras.Model(inputs, second(boom(first(inputs))))
    boom.armed = True
    with pytest.raises(RuntimeError, match="boom"):
        lsuv(model, batch)
    assert first.activation is keras.activations.relu
    assert second.activation is keras.activations.tanh


def test_sequential_built_by_calling_on_data(batch):
    model = keras.Sequential(
        [keras.layers.Dense(16, activation="relu"), keras.layers.Dense(4)]
    )
    model(
        batch[:2]
    )  # records batch size 2 in model.inputs; LSUV still accepts any batch size
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        report = lsuv(model, batch, seed=0)
    assert all(r["converged"] for r in report)


# ------------------------------------------------------------------ issue 11: every
# kernel, atomic


class _Counter(keras.layers.Layer):
    """Identity layer counting its calls (lsuv must run the model forward once)."""

    calls = 0

    def call(self, x):
        type(self).calls += 1
        return x


def test_one_forward_pass(batch):
    inputs = keras.Input((D_IN,))
    h = inputs
    for i in range(6):
        h = keras.layers.Dense(32, activation="tanh", name=f"t{i}")(_Counter()(h))
    model = keras.Model(inputs, h)
    _Counter.calls = 0
    report = lsuv(model, batch, seed=0)
    assert all(r["converged"] for r in report)
    assert _Counter.calls == 6  # each counter once: one pass for all layers


class _OwnMatrix(keras.layers.Layer):
    """A custom layer with its own weight under a name Keras does not use."""

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], 8), name="w")

    def call(self, x):
        return x @ self.w


def test_unsupported_weights_raise_or_are_kept_and_listed(batch):
    inputs = keras.Input((D_IN,))
    model = keras.Model(
        inputs, keras.layers.Dense(4, name="head")(_OwnMatrix(name="own")(inputs))
    )
    before = {v.path: v.numpy().copy() for v in model.weights}
    with pytest.raises(
        ValueError,
        match=r"layer 'own', weight 'own/w' of shape \(32, 8\): a weight of the custom "
        r"layer _OwnMatrix.*No weight was changed.*unsupported=\"keep\"",
    ):
        lsuv(model, batch, seed=0)
    for v in model.weights:
        np.testing.assert_array_equal(v.numpy(), before[v.path])
    with pytest.warns(RuntimeWarning, match="kept as they were.*own/w"):
        report = lsuv(model, batch, seed=0, unsupported="keep")
    assert [r["name"] for r in report] == ["head"] and report[0]["converged"]
    assert report.kept == [
        {
            "layer": "own",
            "weight": "own/w",
            "shape": (32, 8),
            "reason": report.kept[0]["reason"],
        }
    ]
    np.testing.assert_array_equal(model.get_layer("own").w.numpy(), before["own/w"])
    assert "kept as it was: own/w" in report.format()


def test_every_weight_restored_when_the_pass_fails(batch):
    inputs = keras.Input((D_IN,))
    boom = _Boom()
    first = keras.layers.Dense(16, activation="relu")
    model = keras.Model(inputs, keras.layers.Dense(4)(boom(first(inputs))))
    before = [v.numpy().copy() for v in model.weights]
    boom.armed = True
    with pytest.raises(RuntimeError, match="boom"):
        lsuv(
            model, batch, seed=0
        )  # fails after 'first' was pre-initialized and rescaled
    for v, b in zip(model.weights, before):
        np.testing.assert_array_equal(v.numpy(), b)


@pytest.mark.parametrize(
    "bad, exc, message",
    [
        (
            "model.keras",
            TypeError,
            r"model: expected a keras.Model .*the string 'model.keras'",
        ),
        (
            np.zeros((4, 32)),
            TypeError,
            r"model: expected a keras.Model .*numpy array of shape \(4, 32\)",
        ),
        (
            keras.Sequential([], name="void"),
            ValueError,
            r"model: 'void' \(Sequential\) has no layers",
        ),
    ],
)
def test_wrong_objects(batch, bad, exc, message):
    with pytest.raises(exc, match=message):
        lsuv(bad, batch)


def test_batchnorm_statistics_left_alone_and_inputs_as_dict(batch):
    a = keras.Input((D_IN,), name="a")
    b = keras.Input((4,), name="b")
    h = keras.layers.BatchNormalization(name="bn")(keras.layers.Dense(16, name="da")(a))
    h = keras.layers.Concatenate()([h, keras.layers.Dense(4, name="db")(b)])
    model = keras.Model([a, b], keras.layers.Dense(2, name="top")(h))
    moving = [v.numpy().copy() for v in model.get_layer("bn").non_trainable_weights]
    xb = np.random.default_rng(2).normal(size=(256, 4)).astype("float32")
    report = lsuv(model, {"b": xb, "a": batch}, seed=0)
    assert {r["name"] for r in report} == {"da", "db", "top"} and all(
        r["converged"] for r in report
    )
    for v, m in zip(model.get_layer("bn").non_trainable_weights, moving):
        np.testing.assert_array_equal(v.numpy(), m)
