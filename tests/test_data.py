"""Tests of initcourse.data: the digits loader, the (Fashion-)MNIST failure path and
fallback, synthetic sets."""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from initcourse import data  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return data.load_digits()


def test_digits_shapes_and_dtypes(digits):
    assert digits.x_train.shape == (1347, 64) and digits.x_test.shape == (450, 64)
    assert digits.x_train.dtype == np.float32 and digits.y_train.dtype == np.int64
    assert (
        digits.n_classes == 10
        and digits.input_shape == (64,)
        and digits.name == "digits"
    )
    assert set(np.unique(digits.y_train)) == set(range(10))


def test_digits_standardized_with_training_statistics(digits):
    mean = digits.x_train.mean(axis=0)
    std = digits.x_train.std(axis=0)
    constant = std < 1e-6
    assert constant.any(), "the digits have always-blank pixels"
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    np.testing.assert_allclose(std[~constant], 1.0, atol=1e-4)
    # constant training pixels are 0 in both sets (not NaN from 0/0)
    assert np.all(digits.x_train[:, constant] == 0) and np.all(
        digits.x_test[:, constant] == 0
    )
    assert np.isfinite(digits.x_test).all()
    # the test set is standardized with the *training* statistics, so its mean is
    # not exactly 0
    assert np.abs(digits.x_test.mean(axis=0)).max() > 1e-3


def test_standardize_uses_train_statistics_only():
    x_tr = np.array([[0.0, 5.0], [2.0, 5.0]])
    x_te = np.array([[4.0, 7.0]])
    a, b = data.standardize(x_tr, x_te)
    np.testing.assert_allclose(a, [[-1, 0], [1, 0]])
    np.testing.assert_allclose(b, [[3, 0]])


def test_digits_split_is_stratified(digits):
    full = np.concatenate([digits.y_train, digits.y_test])
    share_full = np.bincount(full, minlength=10) / len(full)
    share_test = np.bincount(digits.y_test, minlength=10) / len(digits.y_test)
    assert np.abs(share_full - share_test).max() < 0.01


def test_digits_split_fixed_by_seed(digits):
    again = data.load_digits(seed=0)
    other = data.load_digits(seed=1)
    np.testing.assert_array_equal(digits.x_train, again.x_train)
    np.testing.assert_array_equal(digits.y_test, again.y_test)
    assert not np.array_equal(digits.y_test, other.y_test)


def test_digits_images_and_raw(digits):
    img = data.load_digits(flatten=False)
    assert img.x_train.shape == (1347, 8, 8, 1) and img.input_shape == (8, 8, 1)
    np.testing.assert_array_equal(img.x_train.reshape(1347, 64), digits.x_train)
    raw = data.load_digits(standardize=False, test_size=0.5)
    assert raw.x_train.min() == 0 and raw.x_train.max() == 16
    assert len(raw.y_test) == 899


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1])
def test_digits_bad_test_size(bad):
    with pytest.raises(ValueError, match="test_size"):
        data.load_digits(test_size=bad)


def _offline() -> bool:
    return not os.path.exists(os.path.join(data.keras_cache_dir(), "mnist.npz"))


@pytest.mark.skipif(not _offline(), reason="MNIST is cached on this machine")
def test_mnist_unavailable_raises_clear_error():
    start = time.perf_counter()
    try:
        data.load_mnist("mnist", timeout=5.0)
    except data.DataUnavailableError as err:
        message = str(err)
        assert isinstance(err, RuntimeError)
        assert "keras.datasets.mnist.load_data()" in message
        assert data.keras_cache_dir() in message and "mnist.npz" in message
        assert "fallback='digits'" in message and "internet" in message
        assert "Underlying error" in message and err.__cause__ is not None
    else:  # pragma: no cover - only on a machine with internet access
        pytest.skip("MNIST could be downloaded")
    assert time.perf_counter() - start < 30


@pytest.mark.skipif(not _offline(), reason="MNIST is cached on this machine")
def test_mnist_fallback_to_digits_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = data.load_mnist(
            "mnist", fallback="digits", n_train=200, flatten=False, timeout=5.0
        )
    if ds.name == "mnist":  # pragma: no cover - only on a machine with internet access
        pytest.skip("MNIST could be downloaded")
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert any("Falling back" in m and "digits" in m for m in messages)
    assert ds.name == "digits" and ds.input_shape == (8, 8, 1)
    assert ds.x_train.shape == (200, 8, 8, 1)
    assert set(np.unique(ds.y_train)) == set(range(10))


def test_mnist_bad_arguments():
    with pytest.raises(ValueError, match="kind"):
        data.load_mnist("cifar10")
    with pytest.raises(ValueError, match="fallback"):
        data.load_mnist("mnist", fallback="random")


def test_teacher_regression_reproducible_and_shaped():
    x, y = data.make_teacher_regression(100, 5, d_out=2, rng=3)
    x2, y2 = data.make_teacher_regression(100, 5, d_out=2, rng=3)
    assert x.shape == (100, 5) and y.shape == (100, 2) and x.dtype == np.float32
    np.testing.assert_array_equal(y, y2)
    # a linear teacher without noise is exactly linear: least squares recovers it
    xl, yl = data.make_teacher_regression(50, 4, hidden=(), rng=0)
    coef, residual, *_ = np.linalg.lstsq(
        xl.astype(np.float64), yl.astype(np.float64), rcond=None
    )
    assert residual.size == 0 or residual.max() < 1e-8
    _, noisy = data.make_teacher_regression(50, 4, hidden=(), noise=0.5, rng=0)
    assert np.abs(noisy - yl).std() > 0.3


def test_adding_problem():
    x, y = data.make_long_range_sequences(64, 20, rng=0)
    assert x.shape == (64, 20, 2) and y.shape == (64, 1)
    markers = x[:, :, 1]
    np.testing.assert_array_equal(markers.sum(axis=1), 2.0)
    assert (markers[:, :10].sum(axis=1) == 1).all() and (
        markers[:, 10:].sum(axis=1) == 1
    ).all()
    np.testing.assert_allclose(y[:, 0], (x[:, :, 0] * markers).sum(axis=1), rtol=1e-6)
    with pytest.raises(ValueError, match="length"):
        data.make_long_range_sequences(4, 1)


def test_spirals_and_blobs():
    x, y = data.make_spirals(90, n_classes=3, rng=0)
    assert x.shape == (90, 2) and np.bincount(y).tolist() == [30, 30, 30]
    xb, yb = data.make_blobs(60, n_classes=2, d=3, spread=0.01, rng=1)
    assert xb.shape == (60, 3)
    # tiny spread: each class is concentrated at its centre
    for k in range(2):
        assert xb[yb == k].std(axis=0).max() < 0.05
    ds = data.make_dataset(x, y, name="spirals")
    assert ds.n_classes == 3 and ds.input_shape == (2,) and ds.y_train.dtype == np.int64
    reg = data.make_dataset(*data.make_teacher_regression(40, 3, rng=0))
    assert reg.n_classes is None and reg.y_train.shape == (30, 1)
    with pytest.raises(TypeError, match="rng"):
        data.make_spirals(10, rng="seed")
