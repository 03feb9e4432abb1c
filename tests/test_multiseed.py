"""initcourse.multiseed: seeds trained together behave exactly like seeds trained
alone."""

from __future__ import annotations

import numpy as np
import pytest

from initcourse.data import make_dataset
from initcourse.multiseed import _replica_weights, arm_seed, compare_seeds, train_seeds


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(3)
    centers = rng.normal(size=(3, 10)) * 2.0
    y = rng.integers(0, 3, size=300)
    x = centers[y] + rng.normal(size=(300, 10))
    return make_dataset(x, y, test_size=0.3, seed=0, name="blobs")


def test_arm_seed_differs_between_arms_and_seeds():
    values = {
        arm_seed(s, label) for s in range(20) for label in ("he", "lecun", "glorot")
    }
    assert len(values) == 60
    assert arm_seed(3, "he") == arm_seed(3, "he")


def test_arms_draw_their_own_weights():
    # He and LeCun normal differ only by a factor sqrt(2): with a shared draw the
    # kernels would be perfectly correlated; with their own draws they are not.
    k, _ = _replica_weights(
        {"he": "he_normal", "lecun": "lecun_normal"}, (0,), [50, 40, 3], None, "zeros"
    )
    he, lecun = k[0][0].ravel(), k[0][1].ravel()
    assert abs(np.corrcoef(he, lecun)[0, 1]) < 0.1
    assert he.std() / lecun.std() == pytest.approx(np.sqrt(2), rel=0.1)


def test_a_replica_trains_exactly_like_a_keras_model_alone(blobs):
    """Replica (label, seed) of the stacked graph = the same weights trained by
    training.train."""
    from initcourse.training import build_mlp, train

    kw = dict(
        depth=2,
        width=16,
        activation="tanh",
        optimizer="momentum",
        learning_rate=0.05,
        epochs=3,
        batch_size=32,
    )
    comp = compare_seeds(
        {"a": "glorot_uniform", "b": "he_uniform"}, blobs, seeds=(4, 9), **kw
    )
    kernels, biases = _replica_weights(
        {"a": "glorot_uniform", "b": "he_uniform"},
        (4, 9),
        [10, 16, 16, 3],
        None,
        "zeros",
    )
    replica = 3  # arm "b", seed 9
    model = build_mlp(10, 3, depth=2, width=16, activation="tanh")
    weights = []
    for k, b in zip(kernels, biases):
        weights += [k[replica], b[replica][0]]
    model.set_weights(weights)
    hist = train(
        model,
        blobs,
        epochs=3,
        batch_size=32,
        optimizer="momentum",
        learning_rate=0.05,
        seed=9,
    )
    np.testing.assert_allclose(comp["b"].loss[1], hist.loss, rtol=2e-4)
    np.testing.assert_allclose(
        comp["b"].test_accuracy[1], hist.test_accuracy, atol=1e-6
    )


def test_compare_seeds_separates_a_good_from_a_dead_initializer(blobs):
    comp = compare_seeds(
        {"he": "he_normal", "zeros": "zeros"},
        blobs,
        seeds=5,
        depth=2,
        width=16,
        epochs=5,
        batch_size=32,
        learning_rate=0.1,
    )
    assert comp.wins("he", "zeros") == 5
    assert comp.gap("he", "zeros") > 0.3
    assert comp.gap("zeros", "he", "test_loss") < 0
    assert comp.ranking() == ["he", "zeros"]
    assert comp["he"].loss.shape == (5, 5)  # 5 seeds x 5 epochs
    table = comp.table()
    assert table.splitlines()[0].startswith("arm") and "zeros" in table
    assert max(len(line) for line in table.splitlines()) <= 88
    assert comp["zeros"].describe().startswith("median 0.")


def test_batch_norm_replicas_learn(blobs):
    runs = train_seeds(
        "random_normal",
        blobs,
        seeds=3,
        depth=3,
        width=16,
        batch_norm=True,
        epochs=30,
        batch_size=32,
        learning_rate=0.1,
    )
    assert runs.final("test_accuracy").min() > 0.6


def test_batch_norm_replica_matches_keras_batch_normalization(blobs):
    """Batch statistics in training, moving averages (momentum 0.99, eps 1e-3) at test
    time, as Keras."""
    from initcourse.training import build_mlp, train

    comp = compare_seeds(
        {"n": "random_normal"},
        blobs,
        seeds=(2,),
        depth=2,
        width=8,
        batch_norm=True,
        epochs=4,
        batch_size=32,
        learning_rate=0.1,
    )
    kernels, biases = _replica_weights(
        {"n": "random_normal"}, (2,), [10, 8, 8, 3], None, "zeros"
    )
    model = build_mlp(10, 3, depth=2, width=8, activation="relu", batch_norm=True)
    weights = []
    for i, (k, b) in enumerate(zip(kernels, biases)):
        weights += [k[0], b[0][0]]
        if i < 2:
            weights += [np.ones(8), np.zeros(8), np.zeros(8), np.ones(8)]
    model.set_weights(weights)
    hist = train(model, blobs, epochs=4, batch_size=32, learning_rate=0.1, seed=2)
    np.testing.assert_allclose(comp["n"].loss[0], hist.loss, rtol=1e-3)
    np.testing.assert_allclose(comp["n"].test_loss[0], hist.test_loss, rtol=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"seeds": 0}, ValueError, "seeds"),
        ({"seeds": (1, 1)}, ValueError, "seeds"),
        ({"seeds": "abc"}, TypeError, "seeds"),
        ({"activation": "nope"}, ValueError, "activation"),
        ({"optimizer": "lbfgs"}, ValueError, "optimizer"),
        ({"epochs": 1, "steps": 3}, ValueError, "epochs, steps"),
        ({"width": 0}, ValueError, "width"),
    ],
)
def test_bad_arguments_are_named(blobs, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        compare_seeds({"he": "he_normal"}, blobs, **kwargs)


def test_bad_initializers_and_metrics(blobs):
    with pytest.raises(TypeError, match="initializers"):
        compare_seeds({}, blobs)
    with pytest.raises(TypeError, match="data"):
        compare_seeds({"he": "he_normal"}, object())
    comp = compare_seeds({"he": "he_normal"}, blobs, seeds=2, depth=1, width=4, steps=2)
    with pytest.raises(ValueError, match="metric"):
        comp.final("he", "f1")
    with pytest.raises(KeyError, match="arms"):
        comp["lecun"]
