"""Mean-field theory of signal propagation in wide random networks (numpy/scipy only).

A fully connected network with weights
:math:`W_{ij} \\sim \\mathcal N(0, \\sigma_w^2/N)` and biases
:math:`b_i \\sim \\mathcal N(0, \\sigma_b^2)` is, in the limit of infinite width,
described by two deterministic maps :cite:`poole2016exponential`:

* the **variance map** of the pre-activations,
  :math:`q_l = \\sigma_w^2\\, \\mathbb E_z[\\phi(\\sqrt{q_{l-1}}\\, z)^2]
  + \\sigma_b^2`,
  with a fixed point :math:`q^*`;
* the **correlation map** between the pre-activations of two inputs,
  :math:`c_l = (\\sigma_w^2\\, \\mathbb E[\\phi(u_1)\\phi(u_2)] + \\sigma_b^2) / q^*`,
  with :math:`u_1 = \\sqrt{q^*} z_1`,
  :math:`u_2 = \\sqrt{q^*}(c_{l-1} z_1 + \\sqrt{1 - c_{l-1}^2}\\, z_2)` and a fixed
  point :math:`c^*`.

The slope of the correlation map at :math:`c^* = 1`,
:math:`\\chi_1 = \\sigma_w^2\\, \\mathbb E[\\phi'(\\sqrt{q^*} z)^2]`, separates the
*ordered* phase (:math:`\\chi_1 < 1`: inputs become correlated, gradients vanish) from
the *chaotic* phase (:math:`\\chi_1 > 1`: inputs decorrelate, gradients explode).
Deviations from the fixed points decay like :math:`e^{-l/\\xi}` with depth scales
:math:`\\xi_q` and :math:`\\xi_c`; :math:`\\xi_c` diverges on the critical line
:math:`\\chi_1 = 1` (the *edge of chaos*) :cite:`schoenholz2017deep`.

Gaussian expectations are computed by Gauss–Hermite quadrature
(:func:`numpy.polynomial.hermite_e.hermegauss`, :data:`N_QUAD` = 100 points; a 100 × 100
tensor grid for the two-dimensional integrals of the correlation map). Fixed points are
found by bracketing root finding (:func:`scipy.optimize.brentq`), which stays accurate
near criticality where plain iteration of the maps converges only algebraically.

Nonlinearities: ``"tanh"``, ``"erf"``, ``"sigmoid"`` (bounded) and ``"relu"``,
``"linear"`` (positively homogeneous: their maps have closed forms, see
:func:`fixed_point_q`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy.optimize import brentq
from scipy.special import erf, expit

from initcourse._utils import check_choice, check_positive

__all__ = [
    "N_QUAD",
    "NONLINEARITIES",
    "gaussian_expectation",
    "variance_map",
    "variance_trajectory",
    "fixed_point_q",
    "chi1",
    "correlation_map",
    "correlation_trajectory",
    "fixed_point_c",
    "chi_c",
    "depth_scales",
    "depth_scale",
    "critical_sigma_w2",
    "phase_diagram",
]

N_QUAD = 100
"""Number of Gauss–Hermite nodes per dimension (the same in 1-D and 2-D, so that the
correlation map at :math:`c = 1` reproduces the variance map exactly). For tanh the
relative error of :math:`\\mathbb E[\\phi(\\sqrt q z)^2]` is below
:math:`2 \\cdot 10^{-5}` for :math:`q \\le 5`."""

Array = np.ndarray
_Fn = Callable[[Array], Array]


# --------------------------------------------------------------------------------------
# Nonlinearities: phi, phi', phi''
# --------------------------------------------------------------------------------------
def _tanh_d1(x: Array) -> Array:
    return 1.0 - np.tanh(x) ** 2


def _tanh_d2(x: Array) -> Array:
    t = np.tanh(x)
    return -2.0 * t * (1.0 - t**2)


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _erf_d1(x: Array) -> Array:
    return _TWO_OVER_SQRT_PI * np.exp(-(x**2))


def _erf_d2(x: Array) -> Array:
    return -2.0 * x * _TWO_OVER_SQRT_PI * np.exp(-(x**2))


def _sigmoid_d1(x: Array) -> Array:
    s = expit(x)
    return s * (1.0 - s)


def _sigmoid_d2(x: Array) -> Array:
    s = expit(x)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


def _relu(x: Array) -> Array:
    return np.maximum(x, 0.0)


def _relu_d1(x: Array) -> Array:
    return (x > 0).astype(float)


def _zeros(x: Array) -> Array:
    return np.zeros_like(np.asarray(x, dtype=float))


def _identity(x: Array) -> Array:
    return np.asarray(x, dtype=float)


def _ones(x: Array) -> Array:
    return np.ones_like(np.asarray(x, dtype=float))


# name -> (phi, phi', phi'', sup |phi| or None if unbounded)
_NONLIN: dict[str, tuple[_Fn, _Fn, _Fn, float | None]] = {
    "tanh": (np.tanh, _tanh_d1, _tanh_d2, 1.0),
    "erf": (erf, _erf_d1, _erf_d2, 1.0),
    "sigmoid": (expit, _sigmoid_d1, _sigmoid_d2, 1.0),
    "relu": (_relu, _relu_d1, _zeros, None),
    "linear": (_identity, _ones, _zeros, None),
}
NONLINEARITIES: tuple[str, ...] = tuple(_NONLIN)
"""The nonlinearities the mean-field functions accept."""

# E[phi'(sqrt(q) z)^2] for the positively homogeneous nonlinearities, the same for
# every q > 0.
_HOMOGENEOUS_SLOPE = {"relu": 0.5, "linear": 1.0}


# --------------------------------------------------------------------------------------
# Argument checks and quadrature
# --------------------------------------------------------------------------------------
def _check_nonlinearity(nonlinearity: str) -> str:
    return check_choice(nonlinearity, "nonlinearity", NONLINEARITIES)


def _check_nonneg(value: float, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name}: must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_params(
    sigma_w2: float, sigma_b2: float, nonlinearity: str
) -> tuple[float, float, str]:
    return (
        check_positive(sigma_w2, "sigma_w2"),
        _check_nonneg(sigma_b2, "sigma_b2"),
        _check_nonlinearity(nonlinearity),
    )


def _check_c(c: float) -> float:
    if (
        isinstance(c, bool)
        or not isinstance(c, numbers.Real)
        or not np.isfinite(c)
        or not -1.0 <= c <= 1.0
    ):
        raise ValueError(
            f"c: a correlation must be a finite number in [-1, 1], got {c!r}"
        )
    return float(c)


@lru_cache(maxsize=4)
def _nodes(n: int) -> tuple[Array, Array]:
    """Gauss–Hermite nodes and probability weights for the standard normal (weights sum
    to 1)."""
    x, w = hermegauss(n)
    return x, w / math.sqrt(2.0 * math.pi)


def gaussian_expectation(f: Callable[[Array], Array], n: int = N_QUAD) -> float:
    """Return :math:`\\mathbb E_{z \\sim \\mathcal N(0,1)}[f(z)]` by quadrature.

    The quadrature is ``n``-point Gauss–Hermite.

    Parameters
    ----------
    f : callable
        Vectorized function of a 1-D array of nodes.
    n : int
        Number of nodes (exact for polynomials of degree up to ``2n - 1``).

    Examples
    --------
    >>> round(gaussian_expectation(lambda z: z**4), 12)
    3.0
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(
            f"n: number of quadrature nodes must be a positive int, got {n!r}"
        )
    z, w = _nodes(int(n))
    return float(np.dot(w, f(z)))


#: Above this variance, ``phi(sqrt(q) z)`` (and ``phi'``) change over a fraction of a
#: unit of ``z``: 100 Gauss-Hermite nodes, spaced about 0.2 apart near 0, no longer
#: resolve them (the zero-bias sigmoid's critical point came out as 114 instead of 103).
#: A fine uniform grid does.
Q_FINE = 4.0
_MAX_FINE_1D = 8001
_MAX_FINE_2D = 801


@lru_cache(maxsize=64)
def _fine_grid(n: int) -> tuple[Array, Array]:
    """Trapezoid nodes on [-10, 10] with standard-normal probability weights (sum to
    1)."""
    z = np.linspace(-10.0, 10.0, n)
    w = np.exp(-0.5 * z * z)
    w[[0, -1]] *= 0.5
    return z, w / w.sum()


def _grid(q: float, max_points: int) -> tuple[Array, Array]:
    """Nodes and weights for E_z[f(sqrt(q) z)]: Gauss-Hermite for q <= Q_FINE, else a
    trapezoid grid with spacing min(0.05, 0.2 / sqrt(q)) in z (0.2 in units of the
    pre-activation), which is exponentially accurate for these smooth, Gaussian-weighted
    integrands."""
    if q <= Q_FINE:
        return _nodes(N_QUAD)
    dz = min(0.05, 0.2 / math.sqrt(q))
    n = min(max_points, 2 * math.ceil(10.0 / dz) + 1)
    return _fine_grid(n)


def _expect_sq(phi: _Fn, q: float) -> float:
    """E[phi(sqrt(q) z)^2]."""
    s = math.sqrt(q)
    z, w = _grid(q, _MAX_FINE_1D)
    return float(np.dot(w, phi(s * z) ** 2))


def _pair_expectation(f: _Fn, g: _Fn, c: float, q: float) -> float:
    """E[f(u1) g(u2)] with u1, u2 jointly Gaussian, variances q and correlation c (2-D
    quadrature)."""
    z, w = _grid(q, _MAX_FINE_2D)
    s = math.sqrt(q)
    u1 = s * z  # indexed by z1
    # indexed by [z1, z2]
    u2 = s * (c * z[:, None] + math.sqrt(max(0.0, 1.0 - c * c)) * z[None, :])
    return float(w @ (f(u1)[:, None] * g(u2)) @ w)


# --------------------------------------------------------------------------------------
# Variance map
# --------------------------------------------------------------------------------------
def variance_map(
    q: float, sigma_w2: float, sigma_b2: float, nonlinearity: str = "tanh"
) -> float:
    """One step of the length (variance) map of :cite:`poole2016exponential`.

    .. math::

        q_l = \\sigma_w^2\\, \\mathbb E_{z\\sim\\mathcal N(0,1)}
        \\big[\\phi(\\sqrt{q_{l-1}}\\, z)^2\\big] + \\sigma_b^2

    Parameters
    ----------
    q : float
        Pre-activation variance :math:`q_{l-1} \\ge 0` of the previous layer.
    sigma_w2, sigma_b2 : float
        Weight variance times fan-in (:math:`\\sigma_w^2 > 0`) and bias variance
        (:math:`\\ge 0`).
    nonlinearity : str
        One of :data:`NONLINEARITIES`.

    Returns
    -------
    float
        :math:`q_l`.
    """
    q = _check_nonneg(q, "q")
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    return _variance_map(q, sigma_w2, sigma_b2, nonlinearity)


def _variance_map(
    q: float, sigma_w2: float, sigma_b2: float, nonlinearity: str
) -> float:
    if nonlinearity == "linear":
        return sigma_w2 * q + sigma_b2
    if nonlinearity == "relu":
        return sigma_w2 * q / 2.0 + sigma_b2
    return sigma_w2 * _expect_sq(_NONLIN[nonlinearity][0], q) + sigma_b2


def variance_trajectory(
    q0: float, depth: int, sigma_w2: float, sigma_b2: float, nonlinearity: str = "tanh"
) -> Array:
    """Iterate :func:`variance_map` ``depth`` times from ``q0``.

    Returns
    -------
    numpy.ndarray
        Shape ``(depth + 1,)``: :math:`q_0, q_1, \\dots, q_{\\mathrm{depth}}`.
    """
    q = _check_nonneg(q0, "q0")
    depth = _check_depth(depth)
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    out = [q]
    for _ in range(depth):
        q = _variance_map(q, sigma_w2, sigma_b2, nonlinearity)
        out.append(q)
    return np.array(out)


def _check_depth(depth: int) -> int:
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 0:
        raise ValueError(f"depth: must be an int >= 0, got {depth!r}")
    return int(depth)


def fixed_point_q(
    sigma_w2: float,
    sigma_b2: float,
    nonlinearity: str = "tanh",
    q0: float = 1.0,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> float:
    """Fixed point :math:`q^*` of the variance map reached from :math:`q_0`.

    .. math:: q^* = \\sigma_w^2\\, \\mathbb E_z[\\phi(\\sqrt{q^*} z)^2] + \\sigma_b^2

    * ``"linear"`` / ``"relu"``: the map is affine, :math:`q \\mapsto a q + \\sigma_b^2`
      with :math:`a = \\sigma_w^2` resp. :math:`\\sigma_w^2/2`. If :math:`a < 1`,
      :math:`q^* = \\sigma_b^2/(1-a)`; if :math:`a = 1` and :math:`\\sigma_b^2 = 0`
      every ``q0`` is fixed (returns ``q0``); otherwise the variance grows without bound
      (returns ``inf``).
    * Bounded nonlinearities (``"tanh"``, ``"erf"``, ``"sigmoid"``):
      :math:`q^* \\in [0, \\sigma_w^2 + \\sigma_b^2]` is the root of :math:`V(q) - q`
      found by :func:`scipy.optimize.brentq` (``xtol=tol``, ``maxiter=max_iter``). For
      odd :math:`\\phi` and :math:`\\sigma_b^2 = 0`, :math:`q = 0` is a fixed point; the
      iteration from ``q0 > 0`` reaches the positive root when it exists
      (:math:`\\sigma_w^2 \\phi'(0)^2 > 1`), else 0.

    Parameters
    ----------
    sigma_w2, sigma_b2 : float
        Weight and bias variances (see :func:`variance_map`).
    nonlinearity : str
        One of :data:`NONLINEARITIES`.
    q0 : float
        Starting variance (matters only in the degenerate cases above).
    tol : float
        Absolute tolerance on :math:`q^*`.
    max_iter : int
        Maximum number of root-finder iterations.

    Returns
    -------
    float
        :math:`q^*` (``inf`` if the variance diverges).
    """
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    q0 = _check_nonneg(q0, "q0")
    tol = check_positive(tol, "tol")
    if (
        isinstance(max_iter, bool)
        or not isinstance(max_iter, numbers.Integral)
        or max_iter < 1
    ):
        raise ValueError(f"max_iter: must be a positive int, got {max_iter!r}")
    return _fixed_point_q(sigma_w2, sigma_b2, nonlinearity, q0, tol, int(max_iter))


def _fixed_point_q(
    sigma_w2: float,
    sigma_b2: float,
    nonlinearity: str,
    q0: float = 1.0,
    tol: float = 1e-12,
    max_iter: int = 1000,
) -> float:
    if nonlinearity in _HOMOGENEOUS_SLOPE:
        a = sigma_w2 * (1.0 if nonlinearity == "linear" else 0.5)
        if a < 1.0:
            return sigma_b2 / (1.0 - a)
        if a == 1.0 and sigma_b2 == 0.0:
            return q0
        return math.inf if (sigma_b2 > 0 or q0 > 0) else 0.0

    phi, dphi, _, bound = _NONLIN[nonlinearity]
    assert bound is not None  # only relu and linear have no bound; they returned above
    upper = sigma_w2 * bound**2 + sigma_b2  # V(q) < upper for every q

    def g(q: float) -> float:
        return _variance_map(q, sigma_w2, sigma_b2, nonlinearity) - q

    g0 = g(0.0)
    if g0 > 0.0:
        return float(brentq(g, 0.0, upper, xtol=tol, maxiter=max_iter))
    # g(0) == 0: odd phi without bias, q = 0 is a fixed point.
    if q0 == 0.0 or sigma_w2 * float(dphi(np.array(0.0))) ** 2 <= 1.0:
        return 0.0
    lo = upper
    for _ in range(200):  # find a small q with V(q) > q (the map expands near 0)
        lo /= 2.0
        if g(lo) > 0.0:
            return float(
                brentq(g, lo, upper, xtol=min(tol, lo * 1e-6), maxiter=max_iter)
            )
    return 0.0


# --------------------------------------------------------------------------------------
# Slopes and correlation map
# --------------------------------------------------------------------------------------
def chi1(sigma_w2: float, sigma_b2: float, nonlinearity: str = "tanh") -> float:
    """Slope of the correlation map at :math:`c = 1`.

    As defined in :cite:`poole2016exponential,schoenholz2017deep`:

    .. math::

        \\chi_1 = \\sigma_w^2\\, \\mathbb E_z\\big[\\phi'(\\sqrt{q^*}\\, z)^2\\big]

    :math:`\\chi_1 < 1`: ordered phase (vanishing gradients); :math:`\\chi_1 > 1`:
    chaotic phase (exploding gradients). It is also the factor by which the mean squared
    gradient grows per layer going backward. For ReLU :math:`\\chi_1 = \\sigma_w^2/2`
    for every :math:`q^*`, so the critical point is :math:`\\sigma_w^2 = 2`, He et al.'s
    rule; for linear :math:`\\chi_1 = \\sigma_w^2`.

    Returns
    -------
    float
        :math:`\\chi_1`.
    """
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    return _chi1(sigma_w2, sigma_b2, nonlinearity)


def _chi1(
    sigma_w2: float, sigma_b2: float, nonlinearity: str, q: float | None = None
) -> float:
    if nonlinearity in _HOMOGENEOUS_SLOPE:
        return sigma_w2 * _HOMOGENEOUS_SLOPE[nonlinearity]
    if q is None:
        q = _fixed_point_q(sigma_w2, sigma_b2, nonlinearity)
    return sigma_w2 * _expect_sq(_NONLIN[nonlinearity][1], q)


def correlation_map(
    c: float,
    q: float | None,
    sigma_w2: float,
    sigma_b2: float,
    nonlinearity: str = "tanh",
) -> float:
    """One step of the correlation map of :cite:`poole2016exponential`.

    .. math::

        c_l = \\frac{\\sigma_w^2\\, \\mathbb E[\\phi(u_1)\\phi(u_2)] + \\sigma_b^2}
                    {\\sigma_w^2\\, \\mathbb E[\\phi(u_1)^2] + \\sigma_b^2},
        \\quad u_1 = \\sqrt q\\, z_1,
        \\ u_2 = \\sqrt q\\,(c_{l-1} z_1 + \\sqrt{1-c_{l-1}^2}\\, z_2)

    For ReLU the expectation has the closed form
    :math:`\\tfrac{q}{2\\pi}\\big(\\sqrt{1-c^2} + (\\pi - \\arccos c)\\, c\\big)` (the
    degree-1 arc-cosine kernel), for linear it is :math:`q c`; the other nonlinearities
    use 2-D quadrature. The denominator is :math:`V(q)`, which equals :math:`q` when
    ``q`` is the fixed point :math:`q^*` (Poole et al. divide by :math:`q^*`); dividing
    by :math:`V(q)` keeps :math:`c = 1` a fixed point for any ``q``.

    Parameters
    ----------
    c : float
        Correlation :math:`c_{l-1} \\in [-1, 1]` of two inputs' pre-activations.
    q : float or None
        Their common variance (``None``: use :math:`q^*` from :func:`fixed_point_q`).
    sigma_w2, sigma_b2, nonlinearity
        As in :func:`variance_map`.

    Returns
    -------
    float
        :math:`c_l`.
    """
    c = _check_c(c)
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    if q is None:
        q = _fixed_point_q(sigma_w2, sigma_b2, nonlinearity)
        if not np.isfinite(q):
            raise ValueError(
                f"q: the variance diverges for {nonlinearity} with "
                f"sigma_w2={sigma_w2!r}, sigma_b2={sigma_b2!r}; pass a finite q"
            )
    else:
        q = _check_nonneg(q, "q")
    return _correlation_map(c, q, sigma_w2, sigma_b2, nonlinearity)


def _relu_pair(c: float, q: float) -> float:
    """E[relu(u1) relu(u2)] in closed form (arc-cosine kernel of degree 1, Cho & Saul
    2009)."""
    c = min(1.0, max(-1.0, c))
    return q / (2.0 * math.pi) * (math.sqrt(1.0 - c * c) + (math.pi - math.acos(c)) * c)


def _correlation_map(
    c: float, q: float, sigma_w2: float, sigma_b2: float, nonlinearity: str
) -> float:
    if nonlinearity == "linear":
        pair = q * c
    elif nonlinearity == "relu":
        pair = _relu_pair(c, q)
    else:
        phi = _NONLIN[nonlinearity][0]
        pair = _pair_expectation(phi, phi, c, q)
    num = sigma_w2 * pair + sigma_b2
    den = _variance_map(q, sigma_w2, sigma_b2, nonlinearity)
    if den == 0.0:
        return 1.0
    return num / den


def correlation_trajectory(
    c0: float, depth: int, sigma_w2: float, sigma_b2: float, nonlinearity: str = "tanh"
) -> Array:
    """Iterate :func:`correlation_map` at :math:`q = q^*` ``depth`` times from ``c0``.

    Returns
    -------
    numpy.ndarray
        Shape ``(depth + 1,)``: :math:`c_0, \\dots, c_{\\mathrm{depth}}`.
    """
    c = _check_c(c0)
    depth = _check_depth(depth)
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    q = _finite_q_star(sigma_w2, sigma_b2, nonlinearity)
    out = [c]
    for _ in range(depth):
        c = _correlation_map(c, q, sigma_w2, sigma_b2, nonlinearity)
        out.append(c)
    return np.array(out)


def _finite_q_star(sigma_w2: float, sigma_b2: float, nonlinearity: str) -> float:
    """q* if finite and > 0; for the homogeneous maps (whose c-map is scale free) 1.0
    otherwise."""
    q = _fixed_point_q(sigma_w2, sigma_b2, nonlinearity)
    if nonlinearity in _HOMOGENEOUS_SLOPE and (not np.isfinite(q) or q == 0.0):
        return 1.0
    return q


def fixed_point_c(
    sigma_w2: float,
    sigma_b2: float,
    nonlinearity: str = "tanh",
    tol: float = 1e-12,
    max_iter: int = 1000,
) -> float:
    """Stable fixed point :math:`c^*` of the correlation map.

    In the ordered phase (:math:`\\chi_1 \\le 1`), and always for ``"relu"`` and
    ``"linear"`` (whose normalized map has slope at most 1 at :math:`c = 1`),
    :math:`c^* = 1`: all inputs end up perfectly correlated. In the chaotic phase
    :math:`c = 1` is unstable and :math:`c^* < 1` is the root of :math:`C(c) - c` in
    :math:`[0, 1)` (found by :func:`scipy.optimize.brentq`); for odd :math:`\\phi`
    without bias it is :math:`c^* = 0` :cite:`poole2016exponential`.

    Returns
    -------
    float
        :math:`c^*`.
    """
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    tol = check_positive(tol, "tol")
    if (
        isinstance(max_iter, bool)
        or not isinstance(max_iter, numbers.Integral)
        or max_iter < 1
    ):
        raise ValueError(f"max_iter: must be a positive int, got {max_iter!r}")
    return _fixed_point_c(sigma_w2, sigma_b2, nonlinearity, tol, int(max_iter))[0]


def _fixed_point_c(
    sigma_w2: float,
    sigma_b2: float,
    nonlinearity: str,
    tol: float = 1e-12,
    max_iter: int = 1000,
) -> tuple[float, float]:
    """Return (c*, q*)."""
    q = _finite_q_star(sigma_w2, sigma_b2, nonlinearity)
    if nonlinearity in _HOMOGENEOUS_SLOPE:
        # The normalized map of relu/linear has slope <= 1 at c = 1 for every q: c* = 1.
        return 1.0, q
    x1 = _chi1(sigma_w2, sigma_b2, nonlinearity, q)
    if x1 <= 1.0 or q == 0.0:
        return 1.0, q

    def g(c: float) -> float:
        return _correlation_map(c, q, sigma_w2, sigma_b2, nonlinearity) - c

    hi = None
    for eps in 10.0 ** -np.arange(2, 13):
        if g(1.0 - eps) < 0.0:
            hi = 1.0 - eps
            break
    if hi is None:  # c = 1 is (numerically) marginal: treat as critical
        return 1.0, q
    lo = 0.0
    g_lo = g(lo)
    if g_lo == 0.0 or abs(g_lo) < 1e-15:
        return 0.0, q
    if g_lo < 0.0:
        lo = -1.0 + 1e-12
        if g(lo) <= 0.0:
            return 1.0, q
    return float(brentq(g, lo, hi, xtol=tol, maxiter=max_iter)), q


def chi_c(sigma_w2: float, sigma_b2: float, nonlinearity: str = "tanh") -> float:
    """Slope of the correlation map at its stable fixed point :math:`c^*`.

    As defined in :cite:`schoenholz2017deep`:

    .. math::

        \\chi_c = \\sigma_w^2\\, \\mathbb E[\\phi'(u_1)\\phi'(u_2)]
        \\big|_{c = c^*,\\, q = q^*}

    which equals :math:`\\chi_1` when :math:`c^* = 1`.
    """
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    return _chi_c(sigma_w2, sigma_b2, nonlinearity)


def _chi_c(sigma_w2: float, sigma_b2: float, nonlinearity: str) -> float:
    c_star, q = _fixed_point_c(sigma_w2, sigma_b2, nonlinearity)
    if c_star == 1.0:
        return _chi1(sigma_w2, sigma_b2, nonlinearity, q)
    dphi = _NONLIN[nonlinearity][1]
    return sigma_w2 * _pair_expectation(dphi, dphi, c_star, q)


def _xi(slope: float) -> float:
    """-1 / ln(slope), with inf for slope >= 1 (no exponential decay) and 0 for slope
    0."""
    if slope >= 1.0:
        return math.inf
    if slope <= 0.0:
        return 0.0
    return -1.0 / math.log(slope)


def depth_scales(
    sigma_w2: float, sigma_b2: float, nonlinearity: str = "tanh"
) -> tuple[float, float]:
    """Depth scales :math:`(\\xi_q, \\xi_c)` of :cite:`schoenholz2017deep`.

    Near the fixed points, :math:`|q_l - q^*| \\sim e^{-l/\\xi_q}` and
    :math:`|c_l - c^*| \\sim e^{-l/\\xi_c}` with

    .. math::

        \\xi_q^{-1} = -\\ln\\Big(\\sigma_w^2\\, \\mathbb E_z\\big[
        \\phi'(\\sqrt{q^*} z)^2 + \\phi(\\sqrt{q^*} z)\\,\\phi''(\\sqrt{q^*} z)
        \\big]\\Big),
        \\qquad \\xi_c^{-1} = -\\ln \\chi_c

    where :math:`\\chi_c` is the slope of the correlation map at :math:`c^*`
    (:func:`chi_c`; equal to :math:`\\chi_1` in the ordered phase). The first bracket is
    the slope :math:`V'(q^*)` of the variance map. A slope :math:`\\ge 1` gives ``inf``
    (on the critical line :math:`\\xi_c` diverges).

    Returns
    -------
    tuple of float
        ``(xi_q, xi_c)``.
    """
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    q = _finite_q_star(sigma_w2, sigma_b2, nonlinearity)
    phi, dphi, d2phi, _ = _NONLIN[nonlinearity]
    s = math.sqrt(q)
    z, w = _grid(q, _MAX_FINE_1D)
    slope_q = sigma_w2 * float(np.dot(w, dphi(s * z) ** 2 + phi(s * z) * d2phi(s * z)))
    return _xi(slope_q), _xi(_chi_c(sigma_w2, sigma_b2, nonlinearity))


def depth_scale(sigma_w2: float, sigma_b2: float, nonlinearity: str = "tanh") -> float:
    """Correlation depth scale :math:`\\xi_c = -1/\\ln \\chi_c`.

    See :func:`depth_scales`.

    Schoenholz et al. :cite:`schoenholz2017deep` find that random networks are trainable
    when their depth is at most a small multiple of :math:`\\xi_c`.
    """
    sigma_w2, sigma_b2, nonlinearity = _check_params(sigma_w2, sigma_b2, nonlinearity)
    return _xi(_chi_c(sigma_w2, sigma_b2, nonlinearity))


def critical_sigma_w2(sigma_b2: float, nonlinearity: str = "tanh") -> float:
    """The weight variance on the edge of chaos, where :math:`\\chi_1 = 1`.

    It is the root of :math:`\\chi_1(\\sigma_w^2, \\sigma_b^2) = 1` in
    :math:`\\sigma_w^2`.

    * Closed forms where they exist :cite:`poole2016exponential,schoenholz2017deep`: for
      ReLU :math:`\\chi_1 = \\sigma_w^2/2`, so 2 for every :math:`\\sigma_b^2` (He et
      al.'s rule); for linear 1; for an odd :math:`\\phi` (tanh, erf) at
      :math:`\\sigma_b^2 = 0` the fixed point is :math:`q^* = 0` up to the transition,
      where :math:`\\chi_1 = \\sigma_w^2 \\phi'(0)^2`, so
      :math:`\\sigma_w^2 = 1/\\phi'(0)^2`: 1 for tanh, :math:`\\pi/4` for erf
      (:math:`\\phi'(0) = 2/\\sqrt{\\pi}`).
    * Otherwise (tanh or erf with bias, sigmoid): a bracket :math:`[lo, hi]` with
      :math:`\\chi_1(lo) < 1 \\le \\chi_1(hi)` is found by doubling, then
      :func:`scipy.optimize.brentq` runs to a relative tolerance of :math:`10^{-10}`. If
      it does not converge (:math:`\\chi_1` is computed through the fixed point
      :math:`q^*`, itself a root, so the function carries round-off), plain bisection of
      the same bracket finishes the job; it cannot fail on a bracketed root. The
      zero-bias sigmoid's critical point is about 103 (a weight variance of 103/fan_in):
      sigmoid's slope is at most 1/4 and its output is not centred.

    Raises
    ------
    ValueError
        If no :math:`\\sigma_w^2 \\le 10^4` reaches :math:`\\chi_1 = 1`.
    """
    sigma_b2 = _check_nonneg(sigma_b2, "sigma_b2")
    nonlinearity = _check_nonlinearity(nonlinearity)
    if nonlinearity in _HOMOGENEOUS_SLOPE:
        return 1.0 / _HOMOGENEOUS_SLOPE[nonlinearity]
    phi, dphi, _, _ = _NONLIN[nonlinearity]
    if sigma_b2 == 0.0 and float(phi(np.array(0.0))) == 0.0:
        return 1.0 / float(dphi(np.array(0.0))) ** 2

    def f(sw2: float) -> float:
        return _chi1(sw2, sigma_b2, nonlinearity) - 1.0

    lo, hi = 1e-3, 2.0
    while (f_hi := f(hi)) < 0.0:
        lo, hi = hi, hi * 2.0
        if hi > 1e4:
            raise ValueError(
                f"sigma_b2: no critical sigma_w2 <= 1e4 for {nonlinearity} with "
                f"sigma_b2={sigma_b2!r} (chi1 stays below 1)"
            )
    if f_hi == 0.0:
        return hi
    if f(lo) >= 0.0:
        raise ValueError(
            f"sigma_b2: chi1 already exceeds 1 at sigma_w2={lo} for {nonlinearity}"
        )
    root, info = brentq(
        f, lo, hi, xtol=1e-12, rtol=1e-10, maxiter=200, full_output=True, disp=False
    )
    if info.converged:
        return float(root)
    return _bisect(f, lo, hi)


def _bisect(
    f: Callable[[float], float], lo: float, hi: float, rel: float = 1e-10
) -> float:
    """Bisection of a bracket with ``f(lo) < 0 <= f(hi)``: converges whatever round-off
    ``f`` has."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < 0.0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= rel * hi:
            break
    return 0.5 * (lo + hi)


def phase_diagram(
    sigma_w2_grid: Array, sigma_b2_grid: Array, nonlinearity: str = "tanh"
) -> tuple[Array, Array]:
    """Return :math:`\\chi_1` and :math:`\\xi_c` on a grid of weight and bias variances.

    Parameters
    ----------
    sigma_w2_grid, sigma_b2_grid : array_like
        1-D grids of weight variances (> 0) and bias variances (>= 0).
    nonlinearity : str
        One of :data:`NONLINEARITIES`.

    Returns
    -------
    chi1, xi_c : numpy.ndarray
        Both of shape ``(len(sigma_b2_grid), len(sigma_w2_grid))`` (rows:
        :math:`\\sigma_b^2`, columns: :math:`\\sigma_w^2`, ready for
        ``pcolormesh(sigma_w2_grid, sigma_b2_grid, xi_c)``). :math:`\\xi_c` is ``inf``
        where :math:`\\chi_c \\ge 1`.
    """
    w = _check_grid(sigma_w2_grid, "sigma_w2_grid", positive=True)
    b = _check_grid(sigma_b2_grid, "sigma_b2_grid", positive=False)
    nonlinearity = _check_nonlinearity(nonlinearity)
    x1 = np.empty((b.size, w.size))
    xi = np.empty((b.size, w.size))
    for i, sb2 in enumerate(b):
        for j, sw2 in enumerate(w):
            x1[i, j] = _chi1(float(sw2), float(sb2), nonlinearity)
            xi[i, j] = _xi(_chi_c(float(sw2), float(sb2), nonlinearity))
    return x1, xi


def _check_grid(grid: Array, name: str, positive: bool) -> Array:
    arr = np.asarray(grid, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name}: expected a non-empty 1-D array, got shape {arr.shape}"
        )
    bad = ~np.isfinite(arr) | ((arr <= 0) if positive else (arr < 0))
    if bad.any():
        allowed = "> 0" if positive else ">= 0"
        raise ValueError(
            f"{name}: every value must be finite and {allowed}, got {arr[bad][0]!r}"
        )
    return arr
