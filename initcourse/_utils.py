"""Small shared helpers: argument checking and random generators (numpy only)."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

import numpy as np

RngLike = None | int | np.random.Generator
"""What every ``rng=`` argument accepts: ``None`` (fresh entropy), an ``int`` seed, or a
Generator."""


def as_rng(rng: RngLike) -> np.random.Generator:
    """Return a numpy ``Generator`` for ``rng``: None, a seed or a Generator.

    A Generator is returned as is (so successive calls draw new numbers); an ``int``
    gives ``np.random.default_rng(rng)``, so the same seed always gives the same array.
    """
    if rng is None:
        return np.random.default_rng()
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if int(rng) < 0:
            raise ValueError(f"rng: a seed must be a non-negative int, got {rng!r}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng: expected None, a non-negative int seed or a numpy.random.Generator, "
        f"got {type(rng).__name__} {rng!r}"
    )


def as_shape(shape: int | Iterable[int], name: str = "shape") -> tuple[int, ...]:
    """Return ``shape`` as a tuple of positive ints (an int ``n`` means ``(n,)``).

    ``()`` is allowed (a scalar). Zero or negative dimensions, floats and booleans are a
    ``ValueError``/``TypeError`` that names the parameter and the value received.
    """
    if isinstance(shape, numbers.Integral) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        dims = tuple(shape)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{name}: expected a tuple of positive ints, got {shape!r}"
        ) from None
    out: list[int] = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"{name}: every dimension must be an int, got {shape!r}")
        if int(d) < 1:
            raise ValueError(
                f"{name}: every dimension must be a positive int (empty arrays cannot "
                f"be initialized), got {tuple(dims)!r}"
            )
        out.append(int(d))
    return tuple(out)


def check_positive(value: float, name: str) -> float:
    """Return ``float(value)`` if it is finite and > 0, else raise a ``ValueError``.

    The error message names ``name``."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not np.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name}: must be a finite number > 0, got {value!r}")
    return float(value)


def check_choice(value: str, name: str, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``.

    A value that is not a ``str`` is a ``TypeError``, any other value a ``ValueError``;
    both list the allowed values.
    """
    if not isinstance(value, str):
        raise TypeError(
            f"{name}: expected a str, one of {', '.join(map(repr, allowed))}; got "
            f"{type(value).__name__} {value!r}"
        )
    if value not in allowed:
        raise ValueError(
            f"{name}: got {value!r}; allowed values are {', '.join(map(repr, allowed))}"
        )
    return value
