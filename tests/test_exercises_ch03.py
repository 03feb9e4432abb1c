"""Chapter 3's new checkers: ``critical_weight_variance`` and ``kaiming_uniform``.

The correct solutions are written here independently of the checkers (a plain
fixed-point iteration and a fine grid for the critical variance; PyTorch's
``kaiming_uniform_`` transcribed for the Keras layout). Each wrong solution makes one
realistic mistake, and the checker must reject it at the check that names the mistake.
The checker's reference for the critical variance is also compared with
``initcourse.meanfield``, a separate implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import erf, expit

from initcourse import meanfield
from initcourse.exercises import (
    CHECKERS,
    ExerciseError,
    check_critical_weight_variance,
    check_kaiming_uniform,
)
from initcourse.exercises.gain import _ref_critical

# --------------------------------------------------------------------------------------
# critical_weight_variance
# --------------------------------------------------------------------------------------
_H = np.linspace(-60.0, 60.0, 24_001)  # a fine grid in h = sqrt(q) z (step 0.005)


def _expect(f, q):
    """E[f(sqrt(q) z)] on a fine grid in h, N(0, q) density (trapezoid rule)."""
    density = np.exp(-(_H**2) / (2 * q)) / math.sqrt(2 * math.pi * q)
    return float(np.trapezoid(f(_H) * density, _H))


def _bisect(f, lo, hi, steps=60):
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


def critical_weight_variance(phi, dphi, sigma_b2=0.0):
    def q_star(sw2):  # the root of V(q) - q, V(q) < sw2 + sigma_b2 for bounded phi
        return _bisect(
            lambda q: q - sw2 * _expect(lambda h: phi(h) ** 2, q) - sigma_b2,
            1e-9,
            sw2 + sigma_b2 + 1.0,
            steps=45,
        )

    def chi1_minus_1(sw2):
        return sw2 * _expect(lambda h: dphi(h) ** 2, q_star(sw2)) - 1.0

    hi = 1.0
    while chi1_minus_1(hi) < 0:
        hi *= 2.0
    return _bisect(chi1_minus_1, hi / 2.0, hi, steps=30)


def slope_at_zero(phi, dphi, sigma_b2=0.0):
    return 1.0 / float(dphi(np.array(0.0))) ** 2


def at_unit_variance(phi, dphi, sigma_b2=0.0):
    return 1.0 / _expect(lambda h: dphi(h) ** 2, 1.0)


def coarse_gauss_hermite(phi, dphi, sigma_b2=0.0):
    z, w = np.polynomial.hermite_e.hermegauss(100)
    w = w / w.sum()

    def expect(f, q):
        return float(np.dot(w, f(math.sqrt(q) * z)))

    def q_star(sw2):
        q = 1.0
        for _ in range(500):
            q = sw2 * expect(lambda h: phi(h) ** 2, q) + sigma_b2
        return q

    def g(sw2):
        return sw2 * expect(lambda h: dphi(h) ** 2, q_star(sw2)) - 1.0

    return _bisect(g, 1.0, 256.0)


def square_root(phi, dphi, sigma_b2=0.0):
    return math.sqrt(critical_weight_variance(phi, dphi, sigma_b2))


def no_bias(phi, dphi, sigma_b2=0.0):
    return (
        critical_weight_variance(phi, dphi, 0.0)
        if sigma_b2 == 0.0
        else _no_bias(phi, dphi)
    )


def _no_bias(phi, dphi):
    # odd activations without bias: the fixed point is 0 and chi_1 = sigma_w2 phi'(0)^2
    return 1.0 / float(dphi(np.array(0.0))) ** 2


def test_correct_solution_passes_and_is_registered(capsys):
    result = check_critical_weight_variance(critical_weight_variance)
    assert result.ok
    assert "✓ critical_weight_variance" in capsys.readouterr().out
    assert CHECKERS["critical_weight_variance"] is check_critical_weight_variance


@pytest.mark.parametrize(
    "wrong, check, words",
    [
        (slope_at_zero, "sigmoid", "slope at 0"),
        (at_unit_variance, "sigmoid", "q = 1"),
        (coarse_gauss_hermite, "sigmoid", "Gauss-Hermite"),
        (square_root, "sigmoid", "square root"),
        (no_bias, "tanh with bias", "expected"),
    ],
)
def test_each_critical_variance_mistake_is_named(wrong, check, words):
    with pytest.raises(ExerciseError) as info:
        check_critical_weight_variance(wrong)
    assert info.value.check == check
    assert words in str(info.value)


def _dsigmoid(h):
    s = expit(h)
    return s * (1 - s)


@pytest.mark.parametrize(
    "name, phi, dphi, sigma_b2",
    [
        ("sigmoid", expit, _dsigmoid, 0.0),
        ("sigmoid", expit, _dsigmoid, 0.5),
        ("tanh", np.tanh, lambda h: 1 - np.tanh(h) ** 2, 0.05),
        ("erf", erf, lambda h: 2 / math.sqrt(math.pi) * np.exp(-(h**2)), 0.2),
    ],
)
def test_checker_reference_agrees_with_meanfield(name, phi, dphi, sigma_b2):
    assert _ref_critical(phi, dphi, sigma_b2) == pytest.approx(
        meanfield.critical_sigma_w2(sigma_b2, name), rel=1e-6
    )


def test_sigmoid_critical_point_is_about_103():
    # Mean-field theory of the zero-bias logistic sigmoid (expert review, finding E1)
    assert _ref_critical(expit, _dsigmoid, 0.0) == pytest.approx(103.0, abs=0.1)


# --------------------------------------------------------------------------------------
# kaiming_uniform
# --------------------------------------------------------------------------------------
def _gain(nonlinearity, a):
    table = {
        "linear": 1.0,
        "sigmoid": 1.0,
        "tanh": 5 / 3,
        "relu": math.sqrt(2),
        "selu": 0.75,
    }
    return table.get(nonlinearity, math.sqrt(2 / (1 + a * a)))


def kaiming_uniform(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    # torch: fan_in = w.shape[1] * rf, fan_out = w.shape[0] * rf for w of shape (out,
    # in, *k); the Keras shape (*k, in, out) holds the same numbers at shape[-2] and
    # shape[-1].
    rf = math.prod(shape[:-2])
    fan = (shape[-2] if mode == "fan_in" else shape[-1]) * rf
    bound = math.sqrt(3.0) * _gain(nonlinearity, a) / math.sqrt(fan)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def torch_fans_on_keras_shape(
    shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"
):
    rf = math.prod(shape[2:])
    fan = (shape[1] if mode == "fan_in" else shape[0]) * rf
    bound = math.sqrt(3.0) * _gain(nonlinearity, a) / math.sqrt(fan)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def std_as_bound(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    w = kaiming_uniform(shape, rng, a, mode, nonlinearity)
    return (w / math.sqrt(3.0)).astype(np.float32)


def ignores_a(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return kaiming_uniform(shape, rng, 0.0, mode, nonlinearity)


def ignores_mode(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return kaiming_uniform(shape, rng, a, "fan_in", nonlinearity)


def normal_draw(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    rf = math.prod(shape[:-2])
    fan = (shape[-2] if mode == "fan_in" else shape[-1]) * rf
    std = _gain(nonlinearity, a) / math.sqrt(fan)
    return rng.normal(0.0, std, size=shape).astype(np.float32)


def float64(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return kaiming_uniform(shape, rng, a, mode, nonlinearity).astype(np.float64)


def global_rng(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return kaiming_uniform(shape, np.random.default_rng(0), a, mode, nonlinearity)


def test_kaiming_uniform_passes_and_is_registered(capsys):
    assert check_kaiming_uniform(kaiming_uniform).ok
    assert "✓ kaiming_uniform" in capsys.readouterr().out
    assert CHECKERS["kaiming_uniform"] is check_kaiming_uniform


@pytest.mark.parametrize(
    "wrong, check, words",
    [
        (torch_fans_on_keras_shape, "dense, relu", "PyTorch's rule"),
        (std_as_bound, "dense, relu", "√3"),
        (ignores_a, "dense, PyTorch default a=√5", "slope a"),
        (ignores_mode, "conv, fan_out", "fan_in"),
        (normal_draw, "dense, relu", "uniform"),
        (float64, "array", "float32"),
        (global_rng, "seeding", "rng"),
    ],
)
def test_each_kaiming_mistake_is_named(wrong, check, words):
    with pytest.raises(ExerciseError) as info:
        check_kaiming_uniform(wrong)
    assert info.value.check == check
    assert words in str(info.value)


def test_pytorch_default_bound_is_one_over_sqrt_fan_in():
    w = kaiming_uniform((3, 3, 16, 32), np.random.default_rng(0), a=math.sqrt(5))
    assert np.abs(w).max() <= 1 / math.sqrt(3 * 3 * 16) + 1e-7
    assert np.abs(w).max() > 0.99 / math.sqrt(3 * 3 * 16)
