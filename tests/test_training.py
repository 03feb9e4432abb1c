"""Tests of initcourse.training: builds, seeding, deterministic training, fair
comparisons."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from initcourse import data, training  # noqa: E402


@pytest.fixture(scope="module")
def small():
    """A small slice of the digits: 300 training and 100 test examples."""
    ds = data.load_digits()
    ds.x_train, ds.y_train = ds.x_train[:300], ds.y_train[:300]
    ds.x_test, ds.y_test = ds.x_test[:100], ds.y_test[:100]
    return ds


def _kernels(model):
    return [layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")]


def test_seed_everything_is_idempotent_and_seeds_keras():
    training.seed_everything(3)
    a = keras.random.normal((4,)).numpy()
    training.seed_everything(3)
    training.seed_everything(3)
    b = keras.random.normal((4,)).numpy()
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="seed"):
        training.seed_everything(-1)


def test_build_mlp_structure():
    model = training.build_mlp(64, 10, depth=3, width=16, activation="tanh", seed=0)
    names = [layer.name for layer in model.layers]
    assert names == ["dense_1", "dense_2", "dense_3", "output"]
    assert model.output_shape == (None, 10)
    assert model.layers[-1].activation.__name__ == "linear"  # logits, no softmax
    assert model.layers[0].activation.__name__ == "tanh"
    bn = training.build_mlp(64, 10, depth=2, width=8, batch_norm=True, seed=0)
    assert (
        sum(isinstance(layer, keras.layers.BatchNormalization) for layer in bn.layers)
        == 2
    )


def test_build_mlp_reproducible_and_layers_differ():
    a = _kernels(
        training.build_mlp(
            20, 3, depth=3, width=8, kernel_initializer="he_normal", seed=5
        )
    )
    b = _kernels(
        training.build_mlp(
            20, 3, depth=3, width=8, kernel_initializer="he_normal", seed=5
        )
    )
    c = _kernels(
        training.build_mlp(
            20, 3, depth=3, width=8, kernel_initializer="he_normal", seed=6
        )
    )
    for ka, kb in zip(a, b):
        np.testing.assert_array_equal(ka, kb)
    assert not np.array_equal(a[1], c[1])
    # equal-shaped hidden layers get different draws (per-layer seeds)
    assert not np.array_equal(a[1], a[2])
    # He normal: std close to sqrt(2 / fan_in) for the 20 -> 8 layer
    # (truncation-corrected in Keras)
    assert abs(a[0].std() - np.sqrt(2 / 20)) < 0.1


def test_build_mlp_instance_is_cloned_per_layer():
    init = keras.initializers.GlorotNormal(seed=1)
    ks = _kernels(training.build_mlp(8, 2, depth=2, width=8, kernel_initializer=init))
    assert not np.array_equal(ks[0], ks[1])
    again = _kernels(
        training.build_mlp(8, 2, depth=2, width=8, kernel_initializer=init)
    )
    np.testing.assert_array_equal(ks[0], again[0])


def test_build_mlp_course_initializer_names():
    ks = _kernels(
        training.build_mlp(
            64, 10, depth=2, width=32, kernel_initializer="sparse", seed=0
        )
    )
    # sparse initialization (Martens 2010): 15 nonzero incoming weights per unit
    np.testing.assert_array_equal((ks[0] != 0).sum(axis=0), 15)
    out = _kernels(
        training.build_mlp(
            64,
            10,
            depth=1,
            width=32,
            kernel_initializer="sparse",
            output_initializer="zeros",
            seed=0,
        )
    )[-1]
    assert np.all(out == 0)


def test_build_errors():
    with pytest.raises(ValueError, match="depth"):
        training.build_mlp(4, 2, depth=-1, width=3)
    with pytest.raises(ValueError, match="activation"):
        training.build_mlp(4, 2, depth=1, width=3, activation="relux")
    with pytest.raises(TypeError, match="kernel_initializer"):
        training.build_mlp(4, 2, depth=1, width=3, kernel_initializer=3.0)
    with pytest.raises(ValueError, match="input_shape"):
        training.build_cnn((8, 8), 10, depth=1, filters=4)


def test_build_cnn():
    model = training.build_cnn(
        (8, 8, 1), 10, depth=2, filters=4, kernel_initializer="he_normal", seed=0
    )
    assert model.output_shape == (None, 10)
    assert model.get_layer("conv_1").kernel.shape == (3, 3, 1, 4)
    assert model.get_layer("conv_2").padding == "same"
    assert model.get_layer("conv_2").output.shape == (None, 8, 8, 4)


def test_train_is_deterministic(small):
    runs = []
    for _ in range(2):
        model = training.build_mlp(
            64, 10, depth=2, width=16, kernel_initializer="he_normal", seed=0
        )
        runs.append(
            training.train(
                model, small, epochs=2, batch_size=64, learning_rate=0.05, seed=1
            )
        )
    assert runs[0] == runs[1]
    assert (
        runs[0].loss == runs[1].loss and runs[0].test_accuracy == runs[1].test_accuracy
    )
    model = training.build_mlp(
        64, 10, depth=2, width=16, kernel_initializer="he_normal", seed=0
    )
    other = training.train(
        model, small, epochs=2, batch_size=64, learning_rate=0.05, seed=2
    )
    assert other.loss != runs[0].loss  # another batch order
    assert runs[0].steps == [5, 10]  # ceil(300 / 64) = 5 steps per epoch


def test_train_first_loss_is_initial_loss_on_first_batch(small):
    model = training.build_mlp(64, 10, depth=1, width=8, seed=0)
    idx = training.batch_indices(300, 32, 0, 0)[0]
    logits = model(small.x_train[idx])
    expected = float(
        keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
            small.y_train[idx], logits
        )
    )
    hist = training.train(model, small, steps=3, batch_size=32, eval_every=1, seed=0)
    assert hist.steps == [1, 2, 3]
    assert hist.loss[0] == pytest.approx(expected, rel=1e-5)


def test_train_learns_and_history_api(small):
    model = training.build_mlp(
        64, 10, depth=1, width=32, kernel_initializer="he_normal", seed=0
    )
    hist = training.train(
        model,
        small,
        steps=40,
        batch_size=32,
        optimizer="adam",
        learning_rate=0.01,
        eval_every=10,
    )
    assert hist.steps == [10, 20, 30, 40]
    assert hist.loss[-1] < 0.5 * hist.loss[0]
    assert hist.test_accuracy[-1] > 0.6
    assert hist.steps_to(hist.loss[-1]) <= 40 and hist.steps_to(-1.0) is None
    assert hist.seconds > 0 and "seconds" not in repr(hist)
    copy = training.History(
        **{
            k: getattr(hist, k)
            for k in ("steps", "loss", "accuracy", "test_loss", "test_accuracy")
        }
    )
    assert copy == hist  # seconds is excluded from equality


def test_train_regression():
    x, y = data.make_teacher_regression(200, 5, rng=0)
    ds = data.make_dataset(x, y, name="teacher")
    model = training.build_mlp(5, 1, depth=1, width=16, seed=0)
    hist = training.train(model, ds, epochs=3, batch_size=50, learning_rate=0.05)
    assert np.isnan(hist.accuracy).all() and hist.loss[-1] < hist.loss[0]


def test_train_progress(small, capsys):
    model = training.build_mlp(64, 10, depth=1, width=8, seed=0)
    training.train(model, small, steps=2, batch_size=64, eval_every=1)
    assert capsys.readouterr().out == ""  # not a terminal: silent by default
    training.train(model, small, steps=2, batch_size=64, eval_every=1, progress=True)
    assert capsys.readouterr().out.count("step") == 2


def test_train_errors(small):
    model = training.build_mlp(64, 10, depth=1, width=8, seed=0)
    with pytest.raises(ValueError, match="optimizer"):
        training.train(model, small, steps=1, optimizer="adagrad2")
    with pytest.raises(ValueError, match="epochs, steps"):
        training.train(model, small, steps=1, epochs=1)
    with pytest.raises(ValueError, match="learning_rate"):
        training.train(model, small, steps=1, learning_rate=0)
    wrong = training.build_mlp(10, 10, depth=1, width=8, seed=0)
    with pytest.raises(ValueError, match="data"):
        training.train(wrong, small, steps=1)


def test_compare_is_fair(small, monkeypatch):
    import initcourse.lsuv

    seen = []
    real = initcourse.lsuv.lsuv

    def spy(model, x, **kwargs):
        seen.append(np.array(x))
        return real(model, x, **kwargs)

    monkeypatch.setattr(initcourse.lsuv, "lsuv", spy)
    inits = {
        "he": "he_normal",
        "he again": keras.initializers.HeNormal(),
        "tiny": "zeros",
        "LSUV": "lsuv",
    }
    result = training.compare(
        inits,
        small,
        build_kwargs={"depth": 2, "width": 16},
        train_kwargs={
            "steps": 6,
            "batch_size": 50,
            "eval_every": 3,
            "learning_rate": 0.05,
        },
        target_loss=2.0,
    )
    h = result.histories
    assert list(h) == list(inits)
    # same initializer, same build seed, same batches -> identical numbers
    assert h["he"] == h["he again"]
    assert h["he"] != h["tiny"]
    # LSUV got exactly the first batch that training uses
    assert len(seen) == 1
    np.testing.assert_array_equal(
        seen[0], small.x_train[training.batch_indices(300, 50, 0, 0)[0]]
    )
    rows = result.table()
    assert [r["initializer"] for r in rows] == list(inits)
    assert set(rows[0]) == {
        "initializer",
        "final_loss",
        "final_test_accuracy",
        "best_test_accuracy",
        "steps_to_target",
    }
    assert rows[0]["final_loss"] == h["he"].loss[-1]
    assert rows[0]["best_test_accuracy"] == max(h["he"].test_accuracy)
    text = result.format()
    assert (
        text.splitlines()[0].split()[0] == "initializer" and len(text.splitlines()) == 5
    )
    assert f"{h['tiny'].loss[-1]:.3f}" in text


def test_compare_errors(small):
    with pytest.raises(TypeError, match="initializers"):
        training.compare({}, small)
    with pytest.raises(ValueError, match="lsuv"):
        training.compare({"a": "he_normal"}, small, lsuv=["b"])
