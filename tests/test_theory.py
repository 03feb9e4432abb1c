"""Tests of initcourse.theory: fans, gains, variance-scaling formulas, layout
translations."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from scipy import stats

from initcourse import theory

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

FAN_SHAPES = [
    (),
    (1,),
    (7,),
    (3, 5),
    (784, 10),
    (1, 1),
    (3, 8, 16),
    (3, 3, 64, 128),
    (5, 5, 3, 32),
    (1, 1, 256, 64),
    (2, 3, 4, 5, 6),
    (7, 1, 2),
]


@pytest.fixture(scope="module")
def keras_compute_fans():
    pytest.importorskip("keras")
    from keras.src.initializers.random_initializers import compute_fans

    return compute_fans


# --------------------------------------------------------------------------------- fans
@pytest.mark.parametrize("shape", FAN_SHAPES)
def test_compute_fans_matches_keras(shape, keras_compute_fans):
    assert theory.compute_fans(shape) == tuple(
        int(v) for v in keras_compute_fans(shape)
    )


def test_compute_fans_rules():
    assert theory.compute_fans(()) == (1, 1)
    assert theory.compute_fans(9) == (9, 9)
    assert theory.compute_fans((784, 10)) == (784, 10)
    # 3x3 conv, 64 -> 128 channels: receptive field 9
    assert theory.compute_fans((3, 3, 64, 128)) == (576, 1152)
    fan_in, fan_out = theory.compute_fans((3, 3, 64, 128))
    assert isinstance(fan_in, int) and isinstance(fan_out, int)


@pytest.mark.parametrize("bad", [(0, 3), (3, -1), (2, 0, 4, 4)])
def test_compute_fans_rejects_empty_dims(bad):
    with pytest.raises(ValueError, match="shape"):
        theory.compute_fans(bad)


def test_compute_fans_rejects_float_dims():
    with pytest.raises(TypeError, match="shape"):
        theory.compute_fans((3.0, 4))


# --------------------------------------------------------------------------------- gain
@pytest.mark.parametrize(
    "name",
    [
        "linear",
        "identity",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
    ],
)
def test_unit_gains(name):
    assert theory.gain(name) == 1.0


def test_gain_table():
    assert theory.gain("tanh") == pytest.approx(5 / 3)
    assert theory.gain("relu") == pytest.approx(math.sqrt(2))
    assert theory.gain("selu") == pytest.approx(0.75)
    assert theory.gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert theory.gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    # slope 0 is ReLU, slope 1 is linear
    assert theory.gain("leaky_relu", 0) == pytest.approx(theory.gain("relu"))
    assert theory.gain("leaky_relu", 1.0) == pytest.approx(1.0)
    # PyTorch's default nn.Linear: kaiming_uniform_(a=sqrt(5)) -> gain 1/sqrt(3)
    assert theory.gain("leaky_relu", math.sqrt(5)) == pytest.approx(1 / math.sqrt(3))


def test_relu_gain_preserves_second_moment():
    """The √2 of ReLU is the factor that restores E[relu(z)^2] = Var(z)/2 to Var(z)."""
    z = np.random.default_rng(0).standard_normal(400_000)
    second_moment = np.mean(np.maximum(z, 0) ** 2)
    assert theory.gain("relu") ** 2 * second_moment == pytest.approx(1.0, rel=0.01)
    a = 0.2
    leaky = np.where(z > 0, z, a * z)
    assert theory.gain("leaky_relu", a) ** 2 * np.mean(leaky**2) == pytest.approx(
        1.0, rel=0.01
    )


def test_gain_unknown_name_lists_valid_names():
    with pytest.raises(
        ValueError,
        match=r"nonlinearity.*'rellu'.*Did you mean 'relu'.*tanh.*leaky_relu.*selu",
    ):
        theory.gain("rellu")


@pytest.mark.parametrize("param", ["0.1", float("nan"), float("inf"), True])
def test_gain_bad_param(param):
    with pytest.raises(ValueError, match="param"):
        theory.gain("leaky_relu", param)


# --------------------------------------------------------------------- variance scaling
def test_variance_scaling_std_named_cases():
    shape = (300, 100)
    assert theory.variance_scaling_std(shape, 1.0, "fan_in") == pytest.approx(
        math.sqrt(1 / 300)
    )
    assert theory.variance_scaling_std(shape, 1.0, "fan_out") == pytest.approx(
        math.sqrt(1 / 100)
    )
    assert theory.variance_scaling_std(shape, 1.0, "fan_avg") == pytest.approx(
        math.sqrt(2 / 400)
    )
    assert theory.variance_scaling_std(shape, 2.0, "fan_in") == pytest.approx(
        math.sqrt(2 / 300)
    )
    conv = (3, 3, 16, 32)
    assert theory.variance_scaling_std(conv, scale=2.0, mode="fan_in") == pytest.approx(
        math.sqrt(2 / 144)
    )


def test_variance_scaling_std_clips_n_to_one():
    # rank 0 -> fans (1, 1); a (1, 1) kernel; n is clipped to >= 1 so the std
    # is sqrt(scale)
    assert theory.variance_scaling_std((), 3.0, "fan_avg") == pytest.approx(
        math.sqrt(3.0)
    )
    assert theory.variance_scaling_std((1, 1), 0.5) == pytest.approx(math.sqrt(0.5))


def test_fan_for_mode():
    assert theory.fan_for_mode((3, 3, 4, 8), "fan_in") == 36
    assert theory.fan_for_mode((3, 3, 4, 8), "fan_out") == 72
    assert theory.fan_for_mode((3, 3, 4, 8), "fan_avg") == 54


@pytest.mark.parametrize("scale", [0, -1.0, float("nan"), float("inf")])
def test_variance_scaling_std_bad_scale(scale):
    with pytest.raises(ValueError, match="scale"):
        theory.variance_scaling_std((4, 4), scale, "fan_in")


def test_variance_scaling_std_bad_mode():
    with pytest.raises(ValueError, match=r"mode.*'fan_sum'.*fan_avg"):
        theory.variance_scaling_std((4, 4), 1.0, "fan_sum")


def test_uniform_limit_for_std():
    std = 0.3
    limit = theory.uniform_limit_for_std(std)
    assert limit == pytest.approx(math.sqrt(3) * std)
    assert stats.uniform(-limit, 2 * limit).std() == pytest.approx(std)
    # Glorot uniform limit from the Glorot std
    fan_in, fan_out = 200, 50
    glorot_std = math.sqrt(2 / (fan_in + fan_out))
    assert theory.uniform_limit_for_std(glorot_std) == pytest.approx(
        math.sqrt(6 / (fan_in + fan_out))
    )
    # U(±1/sqrt(n)) has variance 1/(3n)
    n = 128
    assert (theory.uniform_limit_for_std(math.sqrt(1 / (3 * n)))) == pytest.approx(
        1 / math.sqrt(n)
    )
    with pytest.raises(ValueError, match="std"):
        theory.uniform_limit_for_std(-0.1)


def test_truncation_std_matches_scipy():
    assert theory.TRUNCATION_STD == pytest.approx(
        stats.truncnorm(-2, 2).std(), abs=1e-14
    )


# ----------------------------------------------------------------------- PyTorch layout
@pytest.mark.parametrize(
    "shape_keras",
    [(3, 5), (784, 10), (3, 8, 16), (3, 3, 64, 128), (5, 5, 3, 32), (2, 3, 4, 5, 6)],
)
def test_pytorch_layout_round_trip_and_fans(shape_keras):
    shape_pt = theory.keras_to_pytorch_shape(shape_keras)
    assert shape_pt[0] == shape_keras[-1] and shape_pt[1] == shape_keras[-2]
    assert theory.pytorch_to_keras_shape(shape_pt) == tuple(shape_keras)
    assert theory.pytorch_fans(shape_pt) == theory.compute_fans(shape_keras)


def test_pytorch_fans_examples():
    assert theory.keras_to_pytorch_shape((3, 3, 64, 128)) == (128, 64, 3, 3)
    assert theory.pytorch_fans((128, 64, 3, 3)) == (576, 1152)
    assert theory.pytorch_fans((10, 784)) == (784, 10)


@pytest.mark.parametrize("fn", [theory.pytorch_fans, theory.pytorch_to_keras_shape])
def test_pytorch_shape_rank_error(fn):
    with pytest.raises(ValueError, match=r"shape_pt.*rank >= 2"):
        fn((5,))


def test_keras_to_pytorch_rank_error():
    with pytest.raises(ValueError, match=r"shape.*rank >= 2"):
        theory.keras_to_pytorch_shape(())
