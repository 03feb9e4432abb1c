"""Chapter 3: ``gain`` (the recommended gain of each nonlinearity, PyTorch's table)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from .core import CheckResult, _g, _Session

__all__ = ["check_gain"]


# --------------------------------------------------------------------------------------------
# gain
# --------------------------------------------------------------------------------------------
def check_gain(fn: Callable[..., float]) -> CheckResult:
    """Check ``fn(nonlinearity, param=None) -> float``: the recommended gain (PyTorch's table).

    ``linear`` 1, ``sigmoid`` 1, ``tanh`` 5/3, ``relu`` √2, ``leaky_relu`` √(2/(1+a²)) with the
    negative slope ``a = param`` (default 0.01), ``selu`` 3/4 :cite:`he2015delving`.
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
                f"{call} returned {out!r} ({type(out).__name__}); a gain is a number that multiplies "
                f"the weights, so return a float (a string, even '1.414', cannot be used that way)"
            )
        got = float(out)
        if math.isclose(got, want, rel_tol=1e-9):
            if i + 1 < len(cases):
                s.step(cases[i + 1][0])
            continue
        close = lambda x: math.isclose(got, x, rel_tol=1e-6)  # noqa: E731
        msg = f"{call} returned {_g(got)}; expected {_g(want)}"
        if label == "relu" and close(2.0):
            msg += ": 2 is the variance factor of He init; the gain is its square root √2"
        elif label == "tanh" and abs(got - want) < 0.1:
            msg += ": use exactly 5/3, not a rounded value"
        elif label == "tanh" and close(math.sqrt(5.0 / 3.0)):
            msg += ": the gain of tanh is 5/3 itself, not √(5/3)"
        elif label == "leaky_relu" and close(math.sqrt(2.0 / 1.2)):
            msg += ": square the slope: √(2/(1 + a²))"
        elif label == "leaky_relu" and close(math.sqrt(2.0 / (1.0 + 0.01**2))):
            msg += ": you ignored param; it is the negative slope a in √(2/(1 + a²))"
        elif label == "leaky_relu" and close(math.sqrt(2.0)):
            msg += ": you ignored param (slope 0 gives √2); use √(2/(1 + a²)) with a = param"
        elif label == "leaky_relu default" and close(math.sqrt(2.0)):
            msg += ": without param the negative slope is 0.01 (PyTorch's default), not 0: √(2/(1 + 0.01²))"
        elif label == "selu":
            msg += ": PyTorch's gain for selu is the empirical value 3/4"
        elif label in ("linear", "sigmoid"):
            msg += f": {label} gets gain 1 in PyTorch's table"
        s.fail(msg)
    return s.success("linear, sigmoid, tanh, relu, leaky_relu and selu gains all correct")
