"""Tests of initcourse.keras_initializers: get, our serializable classes, saving,
reinitialize."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from initcourse import initializers as np_init  # noqa: E402
from initcourse import keras_initializers as ki  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _np(t) -> np.ndarray:
    return t.numpy() if hasattr(t, "numpy") else keras.ops.convert_to_numpy(t)


def _mlp(
    width: int = 64, depth: int = 6, d_in: int = 32, name: str = "mlp"
) -> keras.Model:
    """A built functional MLP with layers named d0..d{depth-1}."""
    inputs = keras.Input((d_in,))
    h = inputs
    for i in range(depth):
        h = keras.layers.Dense(width, activation="relu", name=f"d{i}")(h)
    return keras.Model(inputs, h, name=name)


def _kernels(model: keras.Model) -> dict[str, np.ndarray]:
    return {layer.name: _np(layer.kernel).copy() for layer in ki._kernel_layers(model)}


# --------------------------------------------------------------------------------------
# -------- get


@pytest.mark.parametrize("name, cls", sorted(ki.KERAS_BUILTINS.items()))
def test_get_returns_keras_own_class_for_builtins(name, cls):
    init = ki.get(name)
    assert type(init) is cls
    assert getattr(keras.initializers, cls.__name__) is cls  # a public Keras class
    if (
        name != "constant"
    ):  # keras.initializers.get("constant") raises KeyError 'value' in Keras 3.15
        assert type(init) is type(
            keras.initializers.get(name)
        )  # the class Keras itself resolves
    assert type(init).__module__.startswith("keras.")


@pytest.mark.parametrize("name, cls", sorted(ki.CUSTOM.items()))
def test_get_returns_our_serializable_classes(name, cls):
    init = ki.get(name)
    assert type(init) is cls
    assert isinstance(init, keras.initializers.Initializer)
    config = keras.saving.serialize_keras_object(init)
    assert config["registered_name"] == f"initcourse>{cls.__name__}"
    again = keras.saving.deserialize_keras_object(config)
    assert type(again) is cls and again.get_config() == init.get_config()


def test_get_passes_keras_keyword_arguments_through():
    vs = ki.get(
        "variance_scaling", scale=2.0, mode="fan_out", distribution="uniform", seed=4
    )
    expected = {"scale": 2.0, "mode": "fan_out", "distribution": "uniform", "seed": 4}
    assert {k: vs.get_config()[k] for k in expected} == expected
    assert ki.get("orthogonal", gain=3.0).gain == 3.0
    assert ki.get("identity", gain=2.0).gain == 2.0
    assert ki.get("constant", value=0.5).get_config() == {"value": 0.5}
    assert ki.get("sparse", nonzero=3, stddev=0.5, seed=1).get_config() == {
        "nonzero": 3,
        "stddev": 0.5,
        "seed": 1,
    }


def test_get_accepts_instances_classes_and_callables():
    inst = keras.initializers.HeNormal(seed=1)
    assert ki.get(inst) is inst
    ours = ki.Sparse(seed=2)
    assert ki.get(ours) is ours

    def fn(shape, dtype=None):
        return keras.ops.ones(shape, dtype=dtype)

    assert ki.get(fn) is fn
    registered = keras.initializers.get(
        "initcourse>Sparse"
    )  # Keras resolves our registered name
    assert isinstance(registered, ki.Sparse)
    made = ki.get(ki.Wavelet, wavelet="haar")
    assert isinstance(made, ki.Wavelet) and made.wavelet == "haar"


@pytest.mark.parametrize(
    "name, cls",
    [
        ("HeNormal", keras.initializers.HeNormal),
        ("GlorotUniform", keras.initializers.GlorotUniform),
        ("TruncatedNormal", keras.initializers.TruncatedNormal),
        ("normal", keras.initializers.RandomNormal),
        ("uniform", keras.initializers.RandomUniform),
        ("zero", keras.initializers.Zeros),
        ("one", keras.initializers.Ones),
        ("Sparse", ki.Sparse),
        ("DeltaOrthogonal", ki.DeltaOrthogonal),
    ],
)
def test_get_accepts_the_spellings_keras_accepts(name, cls):
    # keras.initializers.get("HeNormal") works; so does ours, with the same (Keras's
    # own) class
    assert type(ki.get(name)) is cls
    if name in (
        "HeNormal",
        "GlorotUniform",
        "normal",
        "uniform",
        "zero",
        "one",
        "TruncatedNormal",
    ):
        assert type(keras.initializers.get(name)) is cls
    made = ki.get("HeNormal", seed=3)
    assert made.seed == 3


def test_get_unknown_name_lists_names_and_suggests():
    with pytest.raises(ValueError, match="he_normal") as err:
        ki.get("he_norml")
    msg = str(err.value)
    assert "Did you mean 'he_normal'" in msg
    for name in ki.NAMES:
        assert name in msg


def test_get_bad_arguments():
    with pytest.raises(TypeError, match="kwargs"):
        ki.get("zeros", seed=1)
    with pytest.raises(TypeError, match="kwargs"):
        ki.get(keras.initializers.Zeros(), seed=1)
    with pytest.raises(TypeError, match="name"):
        ki.get(3)
    with pytest.raises(ValueError, match="seed"):
        ki.Sparse(seed=-1)


# --------------------------------------------------------------------------------------
# -------- our classes


@pytest.mark.parametrize("shape", [(100, 20), (8, 20), (3, 3, 4, 6)])
def test_sparse_has_exactly_min_15_fan_in_nonzeros_per_column(shape):
    w = _np(ki.get("sparse", seed=0)(shape))
    assert w.shape == shape and w.dtype == np.float32
    flat = w.reshape(-1, shape[-1])
    fan_in = flat.shape[0]
    assert np.all(np.count_nonzero(flat, axis=0) == min(15, fan_in))


def test_wavelet_is_orthogonal():
    w = _np(ki.Wavelet(gain=2.0, seed=0)((64, 64)))
    np.testing.assert_allclose(w.T @ w, 4.0 * np.eye(64), atol=1e-4)
    tall = _np(
        ki.Wavelet(wavelet="haar", seed=0)((64, 16))
    )  # fewer units than inputs: orthonormal columns
    np.testing.assert_allclose(tall.T @ tall, np.eye(16), atol=1e-5)


def test_delta_orthogonal_centre_tap_orthogonal_rest_zero():
    w = _np(ki.DeltaOrthogonal(gain=1.5, seed=0)((3, 3, 8, 16)))
    centre = w[1, 1]
    np.testing.assert_allclose(centre @ centre.T, 1.5**2 * np.eye(8), atol=1e-5)
    off = w.copy()
    off[1, 1] = 0
    assert np.all(off == 0)


def test_zero_hadamard_is_deterministic_and_matches_numpy():
    a = _np(ki.ZeroHadamard()((16, 32)))
    np.testing.assert_array_equal(a, np_init.zero_hadamard((16, 32)))
    np.testing.assert_array_equal(a, _np(ki.ZeroHadamard()((16, 32))))
    assert ki.ZeroHadamard().get_config() == {}


def test_dtype_argument():
    assert (
        keras.backend.standardize_dtype(
            ki.Sparse(seed=0)((5, 4), dtype="float64").dtype
        )
        == "float64"
    )
    assert (
        keras.backend.standardize_dtype(ki.Sparse(seed=0)((5, 4)).dtype)
        == keras.backend.floatx()
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: ki.Sparse(nonzero=4, seed=seed),
        lambda seed: ki.Wavelet(wavelet="db2", seed=seed),
        lambda seed: ki.DeltaOrthogonal(seed=seed),
        lambda seed: keras.initializers.HeNormal(
            seed=seed
        ),  # the Keras behaviour we copy
    ],
)
def test_seeding_semantics_match_keras(make):
    shape = (3, 3, 8, 8)
    seeded = make(7)
    a = _np(seeded(shape))
    np.testing.assert_array_equal(
        a, _np(seeded(shape))
    )  # the same values on every call
    np.testing.assert_array_equal(a, _np(make(7)(shape)))  # same seed, same values
    assert not np.array_equal(a, _np(make(8)(shape)))
    unseeded = make(None)
    u = _np(unseeded(shape))
    np.testing.assert_array_equal(
        u, _np(unseeded(shape))
    )  # Keras 3: unseeded instance repeats too
    assert not np.array_equal(
        u, _np(make(None)(shape))
    )  # but two unseeded instances differ
    assert unseeded.get_config()["seed"] is None
    keras.utils.set_random_seed(
        123
    )  # ... and the global seed makes unseeded instances reproducible
    r1 = _np(make(None)(shape))
    keras.utils.set_random_seed(123)
    np.testing.assert_array_equal(r1, _np(make(None)(shape)))


@pytest.mark.parametrize("name", sorted(ki.CUSTOM))
def test_config_round_trip_reproduces_values(name):
    kwargs = {} if name == "zero_hadamard" else {"seed": 5}
    shape = (
        (16, 32) if name == "zero_hadamard" else (3, 3, 8, 8)
    )  # ZerO is for 2-D kernels
    init = ki.get(name, **kwargs)
    clone = type(init).from_config(init.get_config())
    assert clone.get_config() == init.get_config()
    np.testing.assert_array_equal(_np(init(shape)), _np(clone(shape)))


# --------------------------------------------------------------------------------------
# -------- saving


def _custom_model() -> keras.Model:
    inputs = keras.Input((8, 8, 4))
    h = keras.layers.Conv2D(
        8, 3, padding="same", kernel_initializer=ki.DeltaOrthogonal(seed=1), name="conv"
    )(inputs)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(64, kernel_initializer=ki.Sparse(seed=2), name="sparse")(h)
    h = keras.layers.Dense(64, kernel_initializer=ki.Wavelet(seed=3), name="wavelet")(h)
    h = keras.layers.Dense(32, kernel_initializer="he_normal", name="plain")(h)
    out = keras.layers.Dense(128, kernel_initializer=ki.ZeroHadamard(), name="zero")(h)
    return keras.Model(inputs, out)


def test_save_load_round_trip_without_custom_objects(tmp_path):
    model = _custom_model()
    ki.reinitialize(
        model, "wavelet", layers=["plain"], seed=0
    )  # re-drawn layers save too
    ki.reinitialize(
        model, functools.partial(np_init.orthogonal, gain=2.0), layers=["zero"], seed=0
    )
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(_np(a), _np(b))
    expected = {
        "conv": ki.DeltaOrthogonal,
        "sparse": ki.Sparse,
        "wavelet": ki.Wavelet,
        "plain": ki.Wavelet,
        "zero": ki.FromNumpy,
    }
    for name, cls in expected.items():
        layer = loaded.get_layer(name)
        assert type(layer.kernel_initializer) is cls
        assert (
            layer.kernel_initializer.get_config()
            == model.get_layer(name).kernel_initializer.get_config()
        )


_LOAD_SCRIPT = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras

def load():
    try:
        m = keras.models.load_model(sys.argv[1])
    except Exception as e:
        return "FAILED " + type(e).__name__ + " " + " ".join(str(e).split())
    return "LOADED " + type(m.get_layer("sparse").kernel_initializer).__name__

print("WITHOUT_IMPORT", load())
import initcourse.keras_initializers
print("WITH_IMPORT", load())
"""


def test_load_in_fresh_process(tmp_path):
    model = _custom_model()
    path = tmp_path / "m.keras"
    model.save(path)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", _LOAD_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = dict(
        line.split(" ", 1)
        for line in proc.stdout.splitlines()
        if line.startswith("WITH")
    )
    # Keras 3.15 does not import our module from the saved "module" field: loading fails
    # without the import
    assert lines["WITHOUT_IMPORT"].startswith("FAILED TypeError")
    assert "Could not interpret initializer identifier" in lines["WITHOUT_IMPORT"]
    assert "'registered_name': 'initcourse>" in lines["WITHOUT_IMPORT"]
    # after `import initcourse.keras_initializers` it loads, without custom_objects
    assert lines["WITH_IMPORT"] == "LOADED Sparse"


# --------------------------------------------------------------------------------------
# -------- reinitialize


def test_articles_assignment_after_build_changes_nothing():
    model = _mlp()
    before = _kernels(model)
    for layer in model.layers[1:]:
        layer.kernel_initializer = (
            keras.initializers.HeNormal()
        )  # what the source articles do
    after = _kernels(model)
    assert before.keys() == after.keys()
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])


def test_reinitialize_changes_exactly_the_requested_layers():
    model = _mlp()
    before = _kernels(model)
    changed = ki.reinitialize(
        model, "he_normal", layers=["d1", 4, model.get_layer("d5")], seed=0
    )
    assert changed == [
        "d1",
        "d3",
        "d5",
    ]  # index 4 of model.layers is d3 (index 0 is the InputLayer)
    after = _kernels(model)
    for name in before:
        same = np.array_equal(before[name], after[name])
        assert same == (name not in changed), name
    # get_config now tells the truth
    assert (
        model.get_layer("d1").get_config()["kernel_initializer"]["class_name"]
        == "HeNormal"
    )
    assert (
        model.get_layer("d0").get_config()["kernel_initializer"]["class_name"]
        == "GlorotUniform"
    )


def test_reinitialize_statistics_and_reproducibility():
    model = _mlp(width=256, depth=3, d_in=256)
    ki.reinitialize(model, "he_normal", seed=1)
    kernels = _kernels(model)
    for w in kernels.values():
        assert abs(w.std() / np.sqrt(2 / 256) - 1) < 0.03
        assert abs(w.mean()) < 0.01 * np.sqrt(2 / 256) * 10
    assert not np.array_equal(
        kernels["d1"], kernels["d2"]
    )  # each layer gets its own seed
    other = _mlp(width=256, depth=3, d_in=256)
    ki.reinitialize(other, "he_normal", seed=1)
    for name, w in _kernels(other).items():
        np.testing.assert_array_equal(w, kernels[name])
    ki.reinitialize(
        other, keras.initializers.HeUniform(seed=99), seed=2
    )  # an instance works, re-seeded
    w = _kernels(other)["d0"]
    assert np.abs(w).max() <= np.sqrt(6 / 256) + 1e-6
    assert abs(w.std() / np.sqrt(2 / 256) - 1) < 0.03


def test_reinitialize_with_numpy_functions():
    model = _mlp(width=128, depth=2, d_in=128)
    ki.reinitialize(model, np_init.sparse, seed=0)
    for layer in ki._kernel_layers(model):
        assert isinstance(
            layer.kernel_initializer, ki.Sparse
        )  # mapped to our serializable class
        assert np.all(np.count_nonzero(_np(layer.kernel), axis=0) == 15)
    ki.reinitialize(
        model, functools.partial(np_init.sparse, nonzero=3), layers=["d0"], seed=0
    )
    assert model.get_layer("d0").kernel_initializer.nonzero == 3
    assert np.all(np.count_nonzero(_np(model.get_layer("d0").kernel), axis=0) == 3)
    ki.reinitialize(model, np_init.he_normal, seed=0)
    layer = model.get_layer("d1")
    assert layer.kernel_initializer.get_config() == {
        "function": "he_normal",
        "kwargs": {},
        "seed": layer.kernel_initializer.seed,
    }
    w = _np(layer.kernel)
    assert abs(w.std() / np.sqrt(2 / 128) - 1) < 0.05
    # FromNumpy draws exactly what the numpy function draws with the same seed
    expected = np_init.he_normal(
        w.shape, rng=np.random.default_rng(layer.kernel_initializer.seed)
    )
    np.testing.assert_array_equal(w, expected)
    with pytest.raises(ValueError, match="function"):
        ki.FromNumpy("he_nromal")


def test_reinitialize_bias():
    model = _mlp(depth=2)
    for layer in ki._kernel_layers(model):
        layer.bias.assign(np.ones(layer.bias.shape, dtype="float32"))
    ki.reinitialize(model, "orthogonal", layers=["d0"], seed=0)
    assert np.all(_np(model.get_layer("d0").bias) == 1)  # bias=None leaves biases
    ki.reinitialize(
        model,
        "orthogonal",
        layers=["d0"],
        bias=keras.initializers.Constant(0.5),
        seed=0,
    )
    assert np.all(_np(model.get_layer("d0").bias) == 0.5)
    assert np.all(_np(model.get_layer("d1").bias) == 1)
    assert (
        model.get_layer("d0").get_config()["bias_initializer"]["class_name"]
        == "Constant"
    )


def test_reinitialize_nested_models():
    inner = keras.Sequential(
        [
            keras.Input((16,)),
            keras.layers.Dense(16, name="inner_a"),
            keras.layers.Dense(16, name="inner_b"),
        ],
        name="inner",
    )
    inputs = keras.Input((16,))
    out = keras.layers.Dense(4, name="head")(inner(inputs))
    model = keras.Model(inputs, out)
    before = _kernels(model)
    assert set(before) == {"inner_a", "inner_b", "head"}
    assert ki.reinitialize(model, "zeros", layers=["inner_b"]) == ["inner_b"]
    assert np.all(_np(inner.get_layer("inner_b").kernel) == 0)
    np.testing.assert_array_equal(
        _np(inner.get_layer("inner_a").kernel), before["inner_a"]
    )
    assert ki.reinitialize(model, "ones") == ["inner_a", "inner_b", "head"]
    assert all(np.all(w == 1) for w in _kernels(model).values())
    assert ki.reinitialize(model, "zeros", layers=["inner"]) == [
        "inner_a",
        "inner_b",
    ]  # a nested model


def test_reinitialize_errors():
    model = _mlp(depth=2)
    with pytest.raises(ValueError, match="no layer named 'd9'") as err:
        ki.reinitialize(model, "he_normal", layers=["d9"])
    assert "d0" in str(err.value) and "d1" in str(err.value)
    with pytest.raises(ValueError, match="has no kernel"):
        ki.reinitialize(model, "he_normal", layers=[0])  # the InputLayer
    with pytest.raises(ValueError, match="out of range"):
        ki.reinitialize(model, "he_normal", layers=[17])
    with pytest.raises(ValueError, match="he_normal"):
        ki.reinitialize(model, "he_nromal")
    with pytest.raises(TypeError, match="layers"):
        ki.reinitialize(model, "he_normal", layers="d0")
    unbuilt = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="not built.*model.build"):
        ki.reinitialize(unbuilt, "he_normal")
    unbuilt(np.zeros((1, 3), dtype="float32"))  # calling it on data builds it
    assert ki.reinitialize(unbuilt, "zeros") == [layer.name for layer in unbuilt.layers]


# ------------------------------------------------------------------ issue 11: every
# weight, atomic


def _conv_then_dense():
    inputs = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(4, 3, name="c1")(inputs)
    h = keras.layers.Conv2D(8, 3, name="c2")(h)
    h = keras.layers.Flatten()(h)
    return keras.Model(inputs, keras.layers.Dense(5, name="fc")(h))


def test_reinitialize_is_all_or_nothing_and_names_the_weight():
    model = _conv_then_dense()
    before = [_np(v).copy() for v in model.weights]
    # delta_orthogonal draws the two conv kernels, then fails on the Dense kernel:
    # nothing written
    with pytest.raises(
        ValueError,
        match=(
            r"nothing was changed.*layer 'fc' \(Dense\), weight 'fc/kernel' of shape"
            r" \(128, 5\) \(kernel\): "
            r"initializer 'delta_orthogonal' cannot draw it, expected an array of shape"
            r" \(128, 5\).*rank >= 3"
        ),
    ):
        ki.reinitialize(model, "delta_orthogonal", seed=0)
    for v, b in zip(model.weights, before):
        np.testing.assert_array_equal(_np(v), b)
    changed = ki.reinitialize(model, "delta_orthogonal", layers=["c1", "c2"], seed=0)
    assert (
        changed == ["c1", "c2"]
        and [w["initializer"] for w in changed.weights] == ["DeltaOrthogonal"] * 2
    )


def test_reinitialize_wrong_objects_say_what_was_expected():
    with pytest.raises(
        TypeError, match=r"model: expected a keras.Model .*the string 'vgg16.keras'"
    ):
        ki.reinitialize("vgg16.keras", "he_normal")
    with pytest.raises(
        TypeError,
        match=r"model: expected a keras.Model .*numpy array of shape \(2, 2\)",
    ):
        ki.reinitialize(np.eye(2), "he_normal")
    with pytest.raises(
        ValueError, match=r"model: 'empty' \(Sequential\) has no layers"
    ):
        ki.reinitialize(keras.Sequential([], name="empty"), "he_normal")
    with pytest.raises(TypeError, match="recurrent: expected an initializer name"):
        ki.reinitialize(_mlp(), "he_normal", recurrent=3)


class _Scaled(keras.layers.Layer):
    """A custom layer holding a Dense layer and a matrix of its own (name 'mix')."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = keras.layers.Dense(6, name="inner")

    def build(self, input_shape):
        self.mix = self.add_weight(shape=(6, 6), name="mix")

    def call(self, x):
        return self.inner(x) @ self.mix


def test_reinitialize_nested_custom_layer_and_unknown_weights():
    inputs = keras.Input((4,))
    model = keras.Model(
        inputs, keras.layers.Dense(2, name="out")(_Scaled(name="scaled")(inputs))
    )
    before = {v.path: _np(v).copy() for v in model.weights}
    with pytest.raises(
        ValueError,
        match=r"layer 'scaled' \(_Scaled\), weight 'scaled/mix' of shape \(6, 6\).*"
        r"role and fans are unknown.*unsupported=\"keep\"",
    ):
        ki.reinitialize(model, "he_normal", seed=0)
    assert all(np.array_equal(_np(v), before[v.path]) for v in model.weights)
    with pytest.warns(RuntimeWarning, match="kept as they were: scaled/mix"):
        changed = ki.reinitialize(model, "he_normal", seed=0, unsupported="keep")
    assert changed == ["inner", "out"]  # the Dense inside the custom layer is reached
    assert changed.kept[0]["weight"] == "scaled/mix"
    assert not np.array_equal(
        _np(model.get_layer("scaled").inner.kernel), before["scaled/inner/kernel"]
    )
    np.testing.assert_array_equal(
        _np(model.get_layer("scaled").mix), before["scaled/mix"]
    )
    assert "scaled/mix (6, 6): kept" in changed.format()


def test_reinitialize_recurrent_and_embeddings_rules():
    inputs = keras.Input((5,), dtype="int32")
    h = keras.layers.Embedding(30, 6, embeddings_initializer="zeros", name="emb")(
        inputs
    )
    out = keras.layers.SimpleRNN(4, recurrent_initializer="zeros", name="rnn")(h)
    model = keras.Model(inputs, out)
    changed = ki.reinitialize(model, "glorot_normal", seed=0)
    roles = {w["weight"]: (w["role"], w["initializer"]) for w in changed.weights}
    assert roles == {
        "emb/embeddings": (
            "embeddings",
            "Zeros",
        ),  # the layer's own initializer: here zeros
        "rnn/simple_rnn_cell/kernel": ("kernel", "GlorotNormal"),
        "rnn/simple_rnn_cell/recurrent_kernel": ("recurrent_kernel", "Zeros"),
    }
    ki.reinitialize(
        model,
        "glorot_normal",
        seed=0,
        recurrent="orthogonal",
        embeddings="random_normal",
    )
    u = _np(model.get_layer("rnn").cell.recurrent_kernel).astype(np.float64)
    np.testing.assert_allclose(u @ u.T, np.eye(4), atol=1e-5)
    assert _np(model.get_layer("emb").embeddings).std() > 0.01
