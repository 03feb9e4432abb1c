"""Chapter 4's exercise checker ``check_edge_of_chaos``: correct solutions pass, each
common mistake fails with a message that names it.

The correct solutions below are written independently of the checker (one iterates the
variance map on a grid, one uses ``scipy.integrate.quad`` and ``brentq`` for both fixed
points); the checker's reference values are also compared with ``initcourse.meanfield``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy.integrate import quad
from scipy.optimize import brentq

from initcourse import meanfield
from initcourse.exercises import CHECKERS, ExerciseError, check_edge_of_chaos
from initcourse.exercises.propagation import _EDGE_CASES, _edge


def grid_solution(phi, dphi, sigma_b2, bracket, points=4001, iterations=300):
    z = np.linspace(-10.0, 10.0, points)
    p = np.exp(-(z**2) / 2)
    p /= p.sum()

    def q_star(sw2):
        q = 1.0
        for _ in range(iterations):
            q = sw2 * np.sum(p * phi(np.sqrt(q) * z) ** 2) + sigma_b2
        return q

    return brentq(
        lambda sw2: sw2 * np.sum(p * dphi(np.sqrt(q_star(sw2)) * z) ** 2) - 1, *bracket
    )


def quad_solution(phi, dphi, sigma_b2, bracket):
    def expect(f):
        return quad(
            lambda z: f(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi),
            -12,
            12,
            points=[0.0],
            limit=200,
        )[0]

    def q_star(sw2):
        return brentq(
            lambda q: sw2 * expect(lambda z: phi(math.sqrt(q) * z) ** 2) + sigma_b2 - q,
            1e-9,
            sw2 + sigma_b2 + 1,
        )

    def chi1(sw2):
        q = q_star(sw2)
        return sw2 * expect(lambda z: dphi(math.sqrt(q) * z) ** 2)

    return brentq(lambda sw2: chi1(sw2) - 1, *bracket, xtol=1e-10)


def test_correct_solutions_pass():
    assert check_edge_of_chaos(grid_solution).ok
    assert CHECKERS["edge_of_chaos"] is check_edge_of_chaos


@pytest.mark.slow
def test_an_adaptive_quadrature_solution_passes():
    assert check_edge_of_chaos(quad_solution).ok


def test_reference_values_agree_with_the_meanfield_module():
    """The checker and initcourse.meanfield are two independent implementations."""
    by_label = {label: i for i, (label, *_rest) in enumerate(_EDGE_CASES)}
    assert math.isclose(
        _edge(by_label["tanh, sigma_b2 = 0.05"]),
        meanfield.critical_sigma_w2(0.05, "tanh"),
        rel_tol=1e-4,
    )
    assert math.isclose(
        _edge(by_label["tanh, sigma_b2 = 0.3"]),
        meanfield.critical_sigma_w2(0.3, "tanh"),
        rel_tol=1e-4,
    )
    assert math.isclose(
        _edge(by_label["logistic sigmoid, sigma_b2 = 0"]),
        meanfield.critical_sigma_w2(0.0, "sigmoid"),
        rel_tol=1e-4,
    )


def _fails_with(fn, *fragments):
    with pytest.raises(ExerciseError) as info:
        check_edge_of_chaos(fn)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    return info.value


def test_chi1_at_q_equal_one_is_named():
    def at_q1(phi, dphi, sigma_b2, bracket):
        z = np.linspace(-10, 10, 4001)
        p = np.exp(-(z**2) / 2)
        p /= p.sum()
        return brentq(lambda sw2: sw2 * np.sum(p * dphi(z) ** 2) - 1, *bracket)

    _fails_with(at_q1, "fixed point q*", "not at q = 1")


def test_forgotten_bias_is_named():
    _fails_with(
        lambda phi, dphi, sigma_b2, bracket: grid_solution(phi, dphi, 0.0, bracket),
        "adds sigma_b2",
    )


def test_standard_deviation_instead_of_variance_is_named():
    err = _fails_with(
        lambda *args: math.sqrt(grid_solution(*args)), "sigma_w = sqrt(sigma_w2)"
    )
    assert err.passed == ("called", "returns a number")


def test_variance_used_as_standard_deviation_is_named():
    def q_times_z(phi, dphi, sigma_b2, bracket):
        z = np.linspace(-10, 10, 4001)
        p = np.exp(-(z**2) / 2)
        p /= p.sum()

        def q_star(sw2):
            q = 1.0
            for _ in range(300):
                q = sw2 * np.sum(p * phi(q * z) ** 2) + sigma_b2
            return q

        return brentq(
            lambda sw2: sw2 * np.sum(p * dphi(q_star(sw2) * z) ** 2) - 1, *bracket
        )

    _fails_with(q_times_z, "different signs", "check your chi_1")


def test_coarse_gauss_hermite_quadrature_is_explained():
    def coarse(phi, dphi, sigma_b2, bracket):
        z, w = hermegauss(100)
        w = w / w.sum()

        def q_star(sw2):
            q = 1.0
            for _ in range(300):
                q = sw2 * np.sum(w * phi(np.sqrt(q) * z) ** 2) + sigma_b2
            return q

        return brentq(
            lambda sw2: sw2 * np.sum(w * dphi(np.sqrt(q_star(sw2)) * z) ** 2) - 1,
            *bracket,
        )

    err = _fails_with(coarse, "fine grid of z")
    assert (
        "tanh, sigma_b2 = 0.05" in err.passed
    )  # tanh is smooth and q* small: 100 nodes suffice there


def test_stub_and_non_numbers_fail_clearly():
    def stub(phi, dphi, sigma_b2, bracket):
        raise NotImplementedError("iterate the variance map")

    _fails_with(stub, "not implemented yet", "iterate the variance map")
    _fails_with(lambda *args: None, "return sigma_w2 as a float")
    _fails_with(lambda *args: math.nan, "finite sigma_w2")
