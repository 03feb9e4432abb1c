"""Chapter 3: ``gain`` (PyTorch's gain table), ``kaiming_uniform`` (PyTorch's
initializer ported to the Keras layout) and ``critical_weight_variance`` (the mean-field
edge of chaos of any activation)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from .core import CheckResult, _array, _finite, _float32, _g, _seeding, _Session, _shape

__all__ = ["check_critical_weight_variance", "check_gain", "check_kaiming_uniform"]


# --------------------------------------------------------------------------------------
# gain
# --------------------------------------------------------------------------------------
def check_gain(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(nonlinearity, param=None) -> float``: the recommended gain (PyTorch's
    table).

    ``linear`` 1, ``sigmoid`` 1, ``tanh`` 5/3, ``relu`` √2, ``leaky_relu`` √(2/(1+a²))
    with the negative slope ``a = param`` (default 0.01), ``selu`` 3/4
    :cite:`he2015delving`.
    """
    cases: list[tuple[str, tuple[Any, ...], float]] = [
        ("linear", ("linear",), 1.0),
        ("sigmoid", ("sigmoid",), 1.0),
        ("tanh", ("tanh",), 5.0 / 3.0),
        ("relu", ("relu",), math.sqrt(2.0)),
        ("leaky_relu", ("leaky_relu", 0.2), math.sqrt(2.0 / (1.0 + 0.2**2))),
        ("leaky_relu default", ("leaky_relu",), math.sqrt(2.0 / (1.0 + 0.01**2))),
        ("selu", ("selu",), 0.75),
    ]
    s = _Session("gain", fn, ("called",) + tuple(c[0] for c in cases))
    for i, (label, args, want) in enumerate(cases):
        call = "gain(" + ", ".join(map(repr, args)) + ")"
        out = s.call(*args)
        if i == 0:
            s.step(label)
        if isinstance(out, (bool, str, bytes)) or not isinstance(out, numbers.Real):
            s.fail(
                f"{call} returned {out!r} ({type(out).__name__}); a gain is "
                "a number that multiplies the weights, so return a float (a "
                "string, even '1.414', cannot be used that way)"
            )
        got = float(out)
        if math.isclose(got, want, rel_tol=1e-9):
            if i + 1 < len(cases):
                s.step(cases[i + 1][0])
            continue
        close = lambda x: math.isclose(got, x, rel_tol=1e-6)  # noqa: E731, B023
        msg = f"{call} returned {_g(got)}; expected {_g(want)}"
        if label == "relu" and close(2.0):
            msg += (
                ": 2 is the variance factor of He init; the gain is its square root √2"
            )
        elif label == "tanh" and abs(got - want) < 0.1:
            msg += ": use exactly 5/3, not a rounded value"
        elif label == "tanh" and close(math.sqrt(5.0 / 3.0)):
            msg += ": the gain of tanh is 5/3 itself, not √(5/3)"
        elif label == "leaky_relu" and close(math.sqrt(2.0 / 1.2)):
            msg += ": square the slope: √(2/(1 + a²))"
        elif label == "leaky_relu" and close(math.sqrt(2.0 / (1.0 + 0.01**2))):
            msg += ": you ignored param; it is the negative slope a in √(2/(1 + a²))"
        elif label == "leaky_relu" and close(math.sqrt(2.0)):
            msg += (
                ": you ignored param (slope 0 gives √2); use √(2/(1 + a²)) with "
                "a = param"
            )
        elif label == "leaky_relu default" and close(math.sqrt(2.0)):
            msg += (
                ": without param the negative slope is 0.01 (PyTorch's default), "
                "not 0: √(2/(1 + 0.01²))"
            )
        elif label == "selu":
            msg += ": PyTorch's gain for selu is the empirical value 3/4"
        elif label in ("linear", "sigmoid"):
            msg += f": {label} gets gain 1 in PyTorch's table"
        s.fail(msg)
    return s.success(
        "linear, sigmoid, tanh, relu, leaky_relu and selu gains all correct"
    )


# --------------------------------------------------------------------------------------
# critical_weight_variance (mean-field edge of chaos, for any activation)
# --------------------------------------------------------------------------------------
def _gauss_quad(f: Callable[[float], float], q: float) -> float:
    """E[f(sqrt(q) z)], z ~ N(0, 1), by adaptive quadrature (accurate also for spiky f
    at large q)."""
    from scipy.integrate import quad

    s = math.sqrt(q)
    density = 1.0 / math.sqrt(2.0 * math.pi)
    value, _ = quad(
        lambda z: f(s * z) * math.exp(-0.5 * z * z) * density,
        -40.0,
        40.0,
        points=[0.0],
        limit=400,
    )
    return float(value)


def _gauss_hermite(n: int) -> Callable[[Callable[[float], float], float], float]:
    from numpy.polynomial.hermite_e import hermegauss

    z, w = hermegauss(n)
    w = w / w.sum()

    def expect(f: Callable[[float], float], q: float) -> float:
        return float(np.dot(w, np.vectorize(f)(math.sqrt(q) * z)))

    return expect


def _ref_critical(
    phi: Callable[[float], float],
    dphi: Callable[[float], float],
    sigma_b2: float,
    expect: Callable[[Callable[[float], float], float], float] = _gauss_quad,
    at_q: float | None = None,
) -> float:
    """Root of chi_1(sigma_w2) = sigma_w2 E[phi'(sqrt(q*) z)^2] - 1, q* the variance
    fixed point."""
    from scipy.optimize import brentq

    def q_star(sw2: float) -> float:
        if at_q is not None:
            return at_q
        return brentq(
            lambda q: sw2 * expect(lambda h: phi(h) ** 2, q) + sigma_b2 - q,
            1e-12,
            10.0 * (sw2 + sigma_b2 + 1.0),
        )

    def chi1_minus_1(sw2: float) -> float:
        return sw2 * expect(lambda h: dphi(h) ** 2, q_star(sw2)) - 1.0

    lo, hi = 0.05, 2.0
    while chi1_minus_1(hi) < 0.0:
        lo, hi = hi, 2.0 * hi
    return float(brentq(chi1_minus_1, lo, hi, xtol=1e-10, rtol=1e-10))


def check_critical_weight_variance(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(phi, dphi, sigma_b2=0.0) -> float``: the weight variance at the edge
    of chaos.

    For a wide network with weights :math:`W_{ij} \\sim \\mathcal N(0, \\sigma_w^2/n)`
    and biases of variance :math:`\\sigma_b^2`, the pre-activation variance follows the
    map :math:`q \\mapsto \\sigma_w^2\\,\\mathbb E[\\phi(\\sqrt q z)^2] + \\sigma_b^2`
    to a fixed point :math:`q^*`, and the mean squared gradient is multiplied per layer
    by :math:`\\chi_1 = \\sigma_w^2\\,\\mathbb E[\\phi'(\\sqrt{q^*} z)^2]`, :math:`z
    \\sim \\mathcal N(0,1)` :cite:`poole2016exponential,schoenholz2017deep`. Return the
    :math:`\\sigma_w^2` with :math:`\\chi_1 = 1` (Keras' ``scale``), within 0.5 %.
    ``phi`` and ``dphi`` are vectorized numpy functions. Cases: the logistic sigmoid
    without bias (about 103), tanh with :math:`\\sigma_b^2 = 0.05` and erf with
    :math:`\\sigma_b^2 = 0.2`; the reference is computed here by adaptive quadrature and
    root finding, independently of :mod:`initcourse.meanfield`.
    """
    from scipy.special import erf, expit

    def dsigmoid(h: Any) -> Any:
        s = expit(h)
        return s * (1.0 - s)

    def dtanh(h: Any) -> Any:
        return 1.0 - np.tanh(h) ** 2

    def derf(h: Any) -> Any:
        return 2.0 / math.sqrt(math.pi) * np.exp(-np.square(h))

    cases = [
        ("sigmoid", expit, dsigmoid, 0.0),
        ("tanh with bias", np.tanh, dtanh, 0.05),
        ("erf with bias", erf, derf, 0.2),
    ]
    s = _Session(
        "critical_weight_variance",
        fn,
        ("called", "a number") + tuple(c[0] for c in cases),
    )
    for i, (label, phi, dphi, sb2) in enumerate(cases):
        name = label.split()[0]
        call = f"critical_weight_variance({name}, d{name}, sigma_b2={sb2})"
        out = s.call(phi, dphi, sb2)
        if i == 0:
            s.step("a number")
        try:
            got = float(out)
        except (TypeError, ValueError):
            s.fail(
                f"{call} returned {out!r}; return the weight variance "
                "sigma_w2 as a number"
            )
        if not math.isfinite(got) or got <= 0.0:
            s.fail(
                f"{call} returned {got!r}; the critical weight variance is a "
                "positive number"
            )
        if i == 0:
            s.step(label)
        want = _ref_critical(phi, dphi, sb2)
        if abs(got / want - 1.0) <= 5e-3:
            if i + 1 < len(cases):
                s.step(cases[i + 1][0])
            continue
        close = lambda x: abs(got / x - 1.0) <= 5e-3  # noqa: E731, B023
        msg = f"{call} returned {_g(got)}; expected {_g(want)}"
        slope0 = float(dphi(np.array(0.0)))
        if close(math.sqrt(want)):
            msg += ": return the variance sigma_w2, not its square root"
        elif close(1.0 / slope0**2):
            msg += (
                f": 1/phi'(0)² = {_g(1.0 / slope0**2)} uses the slope at 0 "
                "only; evaluate chi_1 at the fixed point q* of the variance "
                "map, where the pre-activations are spread out"
            )
        elif close(_ref_critical(phi, dphi, sb2, at_q=1.0)):
            msg += (
                ": you evaluated chi_1 at q = 1; use the fixed point q* of the "
                "variance map"
            )
        elif sb2 > 0 and close(_ref_critical(phi, dphi, 0.0)):
            msg += (
                ": you left out sigma_b2; the variance map is sigma_w2 E[phi²] + "
                "sigma_b2"
            )
        elif close(_ref_critical(phi, dphi, sb2, expect=_gauss_hermite(100))):
            msg += (
                ": your Gaussian expectations are not accurate enough. At "
                "the fixed point (q* ≈ 46) phi'(sqrt(q) z)² is a narrow "
                "spike around z = 0, and 100 Gauss-Hermite nodes step over "
                "it; use scipy.integrate.quad, or integrate over h = sqrt(q) "
                "z on a fine grid"
            )
        s.fail(msg)
    return s.success("sigmoid (about 103), tanh and erf with biases all correct")


# --------------------------------------------------------------------------------------
# kaiming_uniform: torch.nn.init.kaiming_uniform_ ported to the Keras layout
# --------------------------------------------------------------------------------------
def _torch_gain(nonlinearity: str, a: float) -> float:
    if nonlinearity in ("linear", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1.0 + a**2))
    if nonlinearity == "selu":
        return 0.75
    raise ValueError(nonlinearity)  # pragma: no cover - the cases below use known names


def _keras_fans(shape: tuple[int, ...]) -> tuple[int, int]:
    rf = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return shape[-2] * rf, shape[-1] * rf


def check_kaiming_uniform(fn: Callable[..., np.ndarray]) -> CheckResult:
    """Check ``fn(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu")``.

    PyTorch's ``kaiming_uniform_`` ported to a numpy function for Keras-layout shapes:
    draw :math:`U(-b, b)` with :math:`b = \\text{gain}\\cdot\\sqrt{3/\\text{fan}}`,
    where the gain is ``calculate_gain(nonlinearity, a)`` (leaky_relu
    :math:`\\sqrt{2/(1+a^2)}`, relu :math:`\\sqrt2`, tanh 5/3, selu 3/4, linear and
    sigmoid 1) and ``fan`` is the fan-in or the fan-out (``mode``) of the *Keras* shape:
    ``(fan_in, units)`` for a dense kernel, ``(*kernel_size, in, out)`` for a
    convolution :cite:`he2015delving,paszke2019pytorch`. Return float32 of exactly
    ``shape``. With ``a = √5`` this is PyTorch's default for ``nn.Linear`` and
    ``nn.Conv2d``: :math:`b = 1/\\sqrt{\\text{fan\\_in}}`.
    """
    cases: list[tuple[str, tuple[int, ...], dict[str, Any]]] = [
        ("dense, relu", (300, 100), {"nonlinearity": "relu"}),
        ("dense, PyTorch default a=√5", (300, 100), {"a": math.sqrt(5.0)}),
        ("conv, defaults", (3, 3, 16, 32), {}),
        ("conv, fan_out", (3, 3, 16, 32), {"mode": "fan_out", "nonlinearity": "relu"}),
        ("dense, tanh", (256, 512), {"nonlinearity": "tanh"}),
        ("dense, leaky_relu a=0.2, fan_out", (200, 50), {"a": 0.2, "mode": "fan_out"}),
    ]
    s = _Session(
        "kaiming_uniform",
        fn,
        ("called", "array") + tuple(c[0] for c in cases) + ("seeding",),
    )
    for i, (label, shape, kwargs) in enumerate(cases):
        a = float(kwargs.get("a", 0.0))
        mode = kwargs.get("mode", "fan_in")
        nl = kwargs.get("nonlinearity", "leaky_relu")
        args = ", ".join(
            f"{k}={v!r}" if not isinstance(v, float) else f"{k}={v:.4g}"
            for k, v in kwargs.items()
        )
        call = f"kaiming_uniform({shape}, rng{', ' + args if args else ''})"
        w = s.call(shape, np.random.default_rng(11 + i), **kwargs)
        if i == 0:
            s.step("array")
        w = _array(s, w, call)
        _shape(s, w, shape, call)
        _float32(s, w, call)
        _finite(s, w, call)
        if i == 0:
            s.step(label)
        fi, fo = _keras_fans(shape)
        fan = fi if mode == "fan_in" else fo
        gain = _torch_gain(nl, a)
        bound = gain * math.sqrt(3.0 / fan)
        top = float(np.abs(w).max())
        n = w.size
        # a uniform sample of n values reaches within ~2/n of its bound
        if bound * (1.0 - 20.0 / n) <= top <= bound * (1.0 + 1e-5):
            rel = abs(float(w.std()) / (bound / math.sqrt(3.0)) - 1.0)
            if rel > 6.0 / math.sqrt(n) + 0.01:
                s.fail(
                    f"{call} has the right range ±{_g(bound)} but std "
                    f"{_g(float(w.std()))} instead of "
                    f"{_g(bound / math.sqrt(3.0))}: draw uniformly, "
                    "rng.uniform(-bound, bound, size=shape)"
                )
            if i + 1 < len(cases):
                s.step(cases[i + 1][0])
            continue
        msg = f"{call} returned values up to {_g(top)}; the bound is {_g(bound)}"
        near = lambda b: b * (1.0 - 20.0 / n) <= top <= b * (1.0 + 1e-5)  # noqa: E731, B023
        t_in = shape[1] * (int(np.prod(shape[2:])) if len(shape) > 2 else 1)
        t_out = shape[0] * (int(np.prod(shape[2:])) if len(shape) > 2 else 1)
        t_fan = t_in if mode == "fan_in" else t_out
        other = fo if mode == "fan_in" else fi
        if top > bound and abs(float(w.std()) / (bound / math.sqrt(3.0)) - 1.0) < 0.05:
            msg += (
                ": the standard deviation is right but the values exceed the bound: "
                "kaiming_uniform draws from a uniform distribution, not a normal one"
            )
        elif near(gain * math.sqrt(3.0 / t_fan)):
            msg += (
                ": you computed the fans with PyTorch's rule (weight (out, "
                "in, *kernel)) on a Keras shape; in the Keras layout fan_in "
                f"= shape[-2]·prod(shape[:-2]) = {fi}, fan_out = "
                f"shape[-1]·prod(shape[:-2]) = {fo}"
            )
        elif near(gain * math.sqrt(3.0 / other)):
            msg += (
                f": that is the {'fan_out' if mode == 'fan_in' else 'fan_in'}; "
                f"mode={mode!r} divides by {fan}"
            )
        elif near(gain / math.sqrt(fan)):
            msg += (
                ": that is the standard deviation gain/√fan; the bound of a "
                "uniform is √3 times it"
            )
        elif nl == "leaky_relu" and near(math.sqrt(2.0) * math.sqrt(3.0 / fan)):
            msg += (
                ": the leaky_relu gain uses the slope a: √(2/(1+a²)) = "
                f"{_g(gain)}, not √2"
            )
        elif nl == "tanh" and near(math.sqrt(5.0 / 3.0) * math.sqrt(3.0 / fan)):
            msg += ": PyTorch's tanh gain is 5/3 itself, not √(5/3)"
        elif near(math.sqrt(3.0 / fan)):
            msg += f": the gain for {nl!r} is {_g(gain)}, not 1"
        s.fail(msg)
    s.step("seeding")
    _seeding(s, lambda r: s.call((64, 32), r))
    return s.success(
        "dense and conv shapes, both modes, PyTorch's gains (incl. a=√5) and "
        "seeding all correct"
    )
