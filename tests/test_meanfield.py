"""Tests for initcourse.meanfield: numbers from the theory of Poole et al. 2016 /
Schoenholz et al. 2017."""

from __future__ import annotations

import functools
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import integrate
from threadpoolctl import threadpool_limits

from initcourse import meanfield as mf
from initcourse import propagation
from initcourse.initializers import random_normal


@pytest.fixture(autouse=True)
def _single_threaded_blas():
    # shared test machine: one BLAS thread avoids oversubscription slowdowns
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# --------------------------------------------------------------------------- quadrature
def test_gaussian_expectation_moments():
    assert mf.gaussian_expectation(lambda z: np.ones_like(z)) == pytest.approx(
        1.0, abs=1e-13
    )
    assert mf.gaussian_expectation(lambda z: z**2) == pytest.approx(1.0, abs=1e-12)
    assert mf.gaussian_expectation(lambda z: z**6) == pytest.approx(15.0, abs=1e-9)
    assert mf.gaussian_expectation(lambda z: z**3) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("q", [0.05, 1.0, 4.5])
def test_variance_map_matches_adaptive_quadrature(q):
    def integrand(z):
        return (
            np.tanh(math.sqrt(q) * z) ** 2
            * math.exp(-z * z / 2)
            / math.sqrt(2 * math.pi)
        )

    expected = (
        1.7 * 2 * integrate.quad(integrand, -14, 0, epsabs=1e-14, limit=200)[0] + 0.05
    )
    # 100 Gauss-Hermite nodes: tanh^2 sharpens as q grows; relative error ~1e-5
    # at q = 4.5
    assert mf.variance_map(q, 1.7, 0.05, "tanh") == pytest.approx(expected, rel=3e-5)


def test_variance_map_closed_forms():
    # linear: q -> sw2 q + sb2 ; relu: q -> sw2/2 q + sb2 (E[relu(z)^2] = 1/2)
    assert mf.variance_map(0.7, 1.3, 0.2, "linear") == pytest.approx(1.3 * 0.7 + 0.2)
    assert mf.variance_map(0.7, 1.3, 0.2, "relu") == pytest.approx(1.3 / 2 * 0.7 + 0.2)
    traj = mf.variance_trajectory(1.0, 6, 1.2, 0.0, "linear")
    np.testing.assert_allclose(traj, 1.2 ** np.arange(7))


# ------------------------------------------------------------------------- fixed points
def test_fixed_point_q_is_a_fixed_point():
    for nl in ("tanh", "erf", "sigmoid"):
        q = mf.fixed_point_q(1.8, 0.05, nl)
        assert q > 0
        assert mf.variance_map(q, 1.8, 0.05, nl) == pytest.approx(q, abs=1e-9)


def test_fixed_point_q_tanh_without_bias():
    # ordered side: the signal dies (q* = 0); chaotic side: a positive fixed point
    assert mf.fixed_point_q(0.9, 0.0, "tanh") == 0.0
    q = mf.fixed_point_q(1.5, 0.0, "tanh")
    assert q > 0.1
    assert mf.variance_map(q, 1.5, 0.0, "tanh") == pytest.approx(q, abs=1e-9)


def test_fixed_point_q_agrees_with_iterating_the_map():
    traj = mf.variance_trajectory(1.0, 300, 2.5, 0.1, "tanh")
    assert mf.fixed_point_q(2.5, 0.1, "tanh") == pytest.approx(traj[-1], rel=1e-8)


def test_fixed_point_q_homogeneous():
    assert mf.fixed_point_q(1.0, 0.1, "relu") == pytest.approx(0.1 / (1 - 0.5))
    assert mf.fixed_point_q(0.5, 0.1, "linear") == pytest.approx(0.2)
    assert math.isinf(mf.fixed_point_q(3.0, 0.1, "relu"))
    # He init: every variance is preserved
    assert mf.fixed_point_q(2.0, 0.0, "relu", q0=0.7) == 0.7


def test_fixed_point_c_phases():
    assert mf.fixed_point_c(1.0, 0.05, "tanh") == 1.0  # ordered
    c = mf.fixed_point_c(2.5, 0.05, "tanh")  # chaotic
    assert 0 < c < 1
    q = mf.fixed_point_q(2.5, 0.05, "tanh")
    assert mf.correlation_map(c, q, 2.5, 0.05, "tanh") == pytest.approx(c, abs=1e-9)
    assert mf.fixed_point_c(2.0, 0.0, "tanh") == 0.0  # odd phi without bias: c* = 0
    assert mf.fixed_point_c(3.0, 0.0, "relu") == 1.0


def test_correlation_map_basic_properties():
    assert mf.correlation_map(1.0, 1.0, 1.5, 0.05, "tanh") == pytest.approx(
        1.0, abs=1e-12
    )
    # odd phi, no bias: uncorrelated inputs stay uncorrelated
    assert mf.correlation_map(0.0, 1.0, 1.5, 0.0, "tanh") == pytest.approx(
        0.0, abs=1e-12
    )
    # linear: c -> (sw2 q c + sb2) / (sw2 q + sb2)
    assert mf.correlation_map(0.3, 2.0, 1.5, 0.5, "linear") == pytest.approx(
        (1.5 * 2 * 0.3 + 0.5) / (1.5 * 2 + 0.5)
    )
    # relu arc-cosine kernel (Cho & Saul): E[relu(u1)relu(u2)] = q/(2 pi) (sqrt(1-c^2) +
    # (pi - arccos c) c)
    c = 0.4
    expected = (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi
    assert mf.correlation_map(c, 1.0, 2.0, 0.0, "relu") == pytest.approx(
        expected, abs=1e-12
    )
    # with bias, at the fixed point q* = sb2 / (1 - sw2/2)
    q = mf.fixed_point_q(1.0, 0.1, "relu")
    num = 1.0 * q / 2 * expected + 0.1
    assert mf.correlation_map(c, q, 1.0, 0.1, "relu") == pytest.approx(
        num / q, abs=1e-12
    )


def test_correlation_trajectory_converges_to_fixed_point():
    traj = mf.correlation_trajectory(0.2, 200, 1.2, 0.05, "tanh")
    assert traj[-1] == pytest.approx(1.0, abs=1e-6)  # ordered: everything correlates
    traj = mf.correlation_trajectory(0.99, 200, 3.0, 0.05, "tanh")
    assert traj[-1] == pytest.approx(mf.fixed_point_c(3.0, 0.05, "tanh"), abs=1e-8)


# ---------------------------------------------------------------- chi_1 and criticality
@pytest.mark.parametrize(
    "sigma_b2, expected",
    [
        (0.0, 1.000),
        (0.01, 1.424),
        (0.05, 1.761),
        (0.10, 1.986),
        (0.20, 2.285),
        (0.30, 2.505),
    ],
)
def test_tanh_critical_line(sigma_b2, expected):
    sw2 = mf.critical_sigma_w2(sigma_b2, "tanh")
    assert sw2 == pytest.approx(expected, abs=0.01)
    assert mf.chi1(sw2, sigma_b2, "tanh") == pytest.approx(1.0, abs=1e-8)


def test_relu_chi1_is_half_sigma_w2_and_critical_at_he():
    for sw2 in (0.5, 1.0, 2.0, 3.0):
        assert mf.chi1(sw2, 0.0, "relu") == pytest.approx(sw2 / 2)
    assert mf.critical_sigma_w2(0.0, "relu") == pytest.approx(2.0, abs=1e-9)
    assert mf.critical_sigma_w2(0.0, "linear") == pytest.approx(1.0, abs=1e-9)
    # erf'(0) = 2/sqrt(pi)
    assert mf.critical_sigma_w2(0.0, "erf") == pytest.approx(math.pi / 4, abs=1e-6)


def test_chi1_tanh_without_bias_in_ordered_phase():
    # q* = 0, so chi1 = sw2 * tanh'(0)^2 = sw2
    assert mf.chi1(0.8, 0.0, "tanh") == pytest.approx(0.8, abs=1e-12)


@pytest.mark.parametrize(
    "sigma_w2, expected", [(1.0, 3.6), (1.5, 15.8), (2.5, 11.8), (4.0, 7.0)]
)
def test_xi_c_values(sigma_w2, expected):
    assert mf.depth_scale(sigma_w2, 0.05, "tanh") == pytest.approx(expected, rel=0.05)


def test_xi_c_peaks_on_the_critical_line():
    grid = np.linspace(1.0, 3.0, 81)
    xi = np.array([mf.depth_scale(w, 0.05, "tanh") for w in grid])
    crit = mf.critical_sigma_w2(0.05, "tanh")
    assert abs(grid[np.argmax(xi)] - crit) <= grid[1] - grid[0]
    assert xi.max() > 20 * min(xi[0], xi[-1])


def test_depth_scales_relu_and_ordered_tanh():
    xi_q, xi_c = mf.depth_scales(1.0, 0.0, "relu")
    assert xi_q == pytest.approx(-1 / math.log(0.5))
    assert xi_c == pytest.approx(-1 / math.log(0.5))
    xi_q, xi_c = mf.depth_scales(1.0, 0.05, "tanh")
    assert xi_c == pytest.approx(-1 / math.log(mf.chi1(1.0, 0.05, "tanh")))
    # the length converges faster than the correlation near criticality
    assert 0 < xi_q < xi_c


def test_xi_q_matches_observed_convergence_of_the_variance_map():
    sw2, sb2 = 2.5, 0.1
    xi_q, _ = mf.depth_scales(sw2, sb2, "tanh")
    q_star = mf.fixed_point_q(sw2, sb2, "tanh")
    traj = mf.variance_trajectory(q_star + 1e-4, 6, sw2, sb2, "tanh")
    dev = np.abs(traj - q_star)
    rate = dev[5] / dev[4]
    assert rate == pytest.approx(math.exp(-1 / xi_q), rel=1e-3)


def test_xi_c_matches_observed_convergence_of_the_correlation_map():
    sw2, sb2 = 3.0, 0.05
    _, xi_c = mf.depth_scales(sw2, sb2, "tanh")
    c_star = mf.fixed_point_c(sw2, sb2, "tanh")
    traj = mf.correlation_trajectory(c_star + 1e-3, 40, sw2, sb2, "tanh")
    dev = np.abs(traj - c_star)
    assert dev[21] / dev[20] == pytest.approx(math.exp(-1 / xi_c), rel=1e-2)


def test_phase_diagram_shapes_and_consistency():
    w = np.array([0.8, 1.5, 3.0])
    b = np.array([0.0, 0.05])
    x1, xi = mf.phase_diagram(w, b, "tanh")
    assert x1.shape == xi.shape == (2, 3)
    assert x1[1, 2] == pytest.approx(mf.chi1(3.0, 0.05, "tanh"))
    assert xi[1, 0] == pytest.approx(mf.depth_scale(0.8, 0.05, "tanh"))
    assert np.all(np.diff(x1, axis=1) > 0)  # chi1 grows with sigma_w2


# ------------------------------------------------------------ agreement with simulation
def _mean_second_moment(seeds, **kwargs):
    qs = []
    for seed in seeds:
        r = propagation.simulate(rng=seed, backward=False, **kwargs)
        qs.append(r.preact_std**2 + r.preact_mean**2)
    qs = np.array(qs)
    return qs.mean(axis=0), qs.std(axis=0, ddof=1) / math.sqrt(len(seeds))


@pytest.mark.parametrize(
    "activation, sw2, sb2",
    [("linear", 1.3, 0.0), ("relu", 2.0, 0.0), ("relu", 1.5, 0.1), ("tanh", 1.5, 0.05)],
)
def test_simulation_agrees_with_variance_recursion(activation, sw2, sb2):
    n, depth = 512, 4
    init = functools.partial(random_normal, stddev=math.sqrt(sw2 / n))
    mean, sem = _mean_second_moment(
        range(6),
        depth=depth,
        width=n,
        initializer=init,
        activation=activation,
        bias_std=math.sqrt(sb2),
        batch_size=256,
    )
    # layer 1 sees the raw input (q_0 = 1): q_1 = sw2 + sb2; then the map of
    # the nonlinearity
    theory = mf.variance_trajectory(sw2 * 1.0 + sb2, depth - 1, sw2, sb2, activation)
    if activation == "linear":
        np.testing.assert_allclose(theory, sw2 ** np.arange(1, depth + 1))
    assert np.all(np.abs(mean - theory) <= 4 * sem + 0.01 * theory), (mean, theory, sem)


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: mf.variance_map(-1.0, 1.0, 0.0), "q"),
        (lambda: mf.variance_map(1.0, 0.0, 0.0), "sigma_w2"),
        (lambda: mf.variance_map(1.0, 1.0, -0.1), "sigma_b2"),
        (lambda: mf.chi1(1.0, 0.0, "softsign"), "nonlinearity"),
        (lambda: mf.correlation_map(1.5, 1.0, 1.0, 0.0), "c"),
        (lambda: mf.fixed_point_q(1.0, 0.0, tol=0.0), "tol"),
        (lambda: mf.fixed_point_q(1.0, 0.0, max_iter=0), "max_iter"),
        (lambda: mf.phase_diagram([0.0, 1.0], [0.0]), "sigma_w2_grid"),
        (lambda: mf.phase_diagram([1.0], [[0.0]]), "sigma_b2_grid"),
        (lambda: mf.variance_trajectory(1.0, -1, 1.0, 0.0), "depth"),
    ],
)
def test_bad_arguments_name_the_parameter(call, name):
    with pytest.raises((ValueError, TypeError), match=rf"^{name}:"):
        call()


def test_nonlinearity_type_error():
    with pytest.raises(TypeError, match="nonlinearity"):
        mf.chi1(1.0, 0.0, np.tanh)


def test_meanfield_does_not_import_tensorflow():
    code = (
        "import sys, initcourse.meanfield; "
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- root finding and quadrature that hold on every machine
# (issue: claims that hold everywhere)


@pytest.mark.parametrize(
    ("nonlinearity", "expected"), [("tanh", 1.0), ("erf", math.pi / 4)]
)
def test_critical_point_of_odd_activation_without_bias_is_closed_form(
    nonlinearity, expected
):
    # sigma_w^2 phi'(0)^2 = 1; Brent's method used to fail here (chi1 - 1 is flat
    # past the root)
    assert mf.critical_sigma_w2(0.0, nonlinearity) == pytest.approx(expected, rel=1e-12)


def test_sigmoid_critical_point_matches_adaptive_quadrature():
    """The zero-bias sigmoid's edge of chaos is at sigma_w^2 ~ 103
    (scipy.integrate.quad)."""
    from scipy.integrate import quad
    from scipy.special import expit

    def expect(f, q):
        pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
        value, _ = quad(
            lambda z: f(math.sqrt(q) * z) * pdf(z), -np.inf, np.inf, limit=400
        )
        return value

    sw2 = mf.critical_sigma_w2(0.0, "sigmoid")
    q = mf.fixed_point_q(sw2, 0.0, "sigmoid")
    assert q == pytest.approx(sw2 * expect(lambda h: expit(h) ** 2, q), rel=1e-6)
    chi = sw2 * expect(lambda h: (expit(h) * (1 - expit(h))) ** 2, q)
    assert chi == pytest.approx(1.0, abs=1e-5)
    assert 102.5 < sw2 < 103.5


@pytest.mark.parametrize("nonlinearity", ["tanh", "erf", "sigmoid"])
@pytest.mark.parametrize("sigma_b2", [0.0, 1e-6, 0.05, 0.3, 1.0, 3.0])
def test_critical_point_converges_and_is_a_root(nonlinearity, sigma_b2):
    sw2 = mf.critical_sigma_w2(sigma_b2, nonlinearity)
    assert math.isfinite(sw2) and sw2 > 0
    if sigma_b2 > 0 or nonlinearity == "sigmoid":
        assert mf.chi1(sw2, sigma_b2, nonlinearity) == pytest.approx(1.0, abs=1e-6)
    # chi1 < 1 below the point and > 1 above: the ordered/chaotic transition
    assert (
        mf.chi1(0.9 * sw2, sigma_b2, nonlinearity)
        < 1.0
        < mf.chi1(1.2 * sw2, sigma_b2, nonlinearity)
    )
