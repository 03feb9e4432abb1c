"""Tests of initcourse.monitor.InitMonitor: per-layer statistics recorded during
model.fit."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from initcourse.monitor import UPDATE_RATIO_TARGET, InitMonitor  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((512, 16)).astype(np.float32)
Y = (X[:, :4].sum(axis=1) > 0).astype(np.int64) + 2 * (X[:, 4] > 0)


def _fit(init, every=4, epochs=2, seed=0):
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((16,))] + [
        keras.layers.Dense(32, activation="relu", kernel_initializer=init, name=f"h{i}")
        for i in range(6)
    ]
    model = keras.Sequential(layers + [keras.layers.Dense(4, name="logits")])
    model.compile(
        optimizer=keras.optimizers.SGD(0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    monitor = InitMonitor(X[:64], Y[:64], every=every)
    model.fit(X, Y, batch_size=64, epochs=epochs, verbose=0, callbacks=[monitor])
    return model, monitor


def test_records_every_k_steps_across_epochs():
    model, monitor = _fit("he_normal")
    assert monitor.steps == [0, 4, 8, 12]  # 8 steps per epoch, 2 epochs
    assert monitor.epochs == [0, 0, 1, 1]
    assert monitor.layers == [f"h{i}" for i in range(6)] + ["logits"]
    for store in (
        monitor.act_std,
        monitor.grad_norm,
        monitor.grad_ratio,
        monitor.update_ratio,
    ):
        assert all(len(v) == 4 and np.all(np.isfinite(v)) for v in store.values())
    assert np.all(np.isfinite(monitor.loss))


def test_update_ratio_is_the_optimizer_step():
    # SGD with a constant learning rate: ||W_1 - W_0|| = lr * ||grad of the first
    # batch||
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((16,)), keras.layers.Dense(4, name="only")])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    w0 = model.get_layer("only").kernel.numpy().copy()
    y = RNG.standard_normal((64, 4)).astype(np.float32)
    monitor = InitMonitor(X[:64], y, every=1)
    model.fit(
        X[:64],
        y,
        batch_size=64,
        epochs=1,
        verbose=0,
        shuffle=False,
        callbacks=[monitor],
    )
    w1 = model.get_layer("only").kernel.numpy()
    expected = np.linalg.norm(w1 - w0) / np.linalg.norm(w0)
    assert monitor.update_ratio["only"][0] == pytest.approx(expected, rel=1e-5)
    # and the recorded gradient on the probe (= the training batch here) is that step /
    # lr
    assert monitor.grad_norm["only"][0] == pytest.approx(
        np.linalg.norm(w1 - w0) / 0.1, rel=1e-3
    )


def test_bad_initialization_shows_frozen_layers_during_training():
    # 5 seeds each: N(0, 0.01²) freezes the bottom layers, He keeps every ratio near
    # 1e-3
    for seed in range(5):
        _, tiny = _fit(
            keras.initializers.RandomNormal(stddev=0.01, seed=seed), seed=seed
        )
        _, he = _fit(keras.initializers.HeNormal(seed=seed), seed=seed)
        tiny_ratio, he_ratio = tiny.median_update_ratio(), he.median_update_ratio()
        assert tiny.labels()["h0"] == "frozen" and tiny_ratio["h0"] < 1e-6
        assert set(he.labels().values()) == {"ok"}
        assert all(1e-4 < r < 1e-1 for r in he_ratio.values())
        assert "frozen" in tiny.summary() and "ok" in he.summary()


def test_plot_and_errors():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, monitor = _fit("he_normal")
    axes = monitor.plot()
    assert len(axes) == 3 and all(ax.get_yscale() == "log" for ax in axes)
    assert len(axes[0].lines) == 7 and axes[0].get_title() == ""
    np.testing.assert_allclose(axes[2].lines[0].get_ydata(), monitor.update_ratio["h0"])
    assert axes[2].lines[-1].get_ydata()[0] == UPDATE_RATIO_TARGET
    plt.close("all")
    with pytest.raises(ValueError, match="every"):
        InitMonitor(X, every=0)
    with pytest.raises(ValueError, match="nothing recorded yet"):
        InitMonitor(X).labels()
    with pytest.raises(ValueError, match="low, high"):
        monitor.labels(low=1e-1, high=1e-3)
