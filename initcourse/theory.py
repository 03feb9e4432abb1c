"""Closed-form quantities behind weight initialization (numpy only, no TensorFlow).

Shapes use the Keras layout: a dense kernel is ``(fan_in_dim, units)`` and a convolution
kernel is ``(*kernel_size, in_channels, out_channels)``. PyTorch stores the same weights
as ``(out, in, *kernel_size)``; :func:`pytorch_fans`, :func:`keras_to_pytorch_shape` and
:func:`pytorch_to_keras_shape` translate between the two.

Contents
--------
- :func:`compute_fans`: Keras' ``(fan_in, fan_out)`` rule, receptive field included.
- :func:`gain`: the recommended gain of a nonlinearity (PyTorch's ``calculate_gain``
  table).
- :func:`fan_for_mode`, :func:`variance_scaling_std`: the standard deviation
  :math:`\\sqrt{\\text{scale}/n}` that Keras' ``VarianceScaling`` targets.
- :func:`uniform_limit_for_std`: the limit :math:`a = \\sqrt{3}\\,\\sigma` of
  :math:`U(-a, a)` with std σ.
- :data:`TRUNCATION_STD`: the standard deviation of :math:`N(0, 1)` truncated to
  :math:`[-2, 2]`.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable

from initcourse._utils import as_shape, check_choice

__all__ = [
    "GAIN_NAMES",
    "MODES",
    "TRUNCATION_STD",
    "compute_fans",
    "fan_for_mode",
    "gain",
    "keras_to_pytorch_shape",
    "pytorch_fans",
    "pytorch_to_keras_shape",
    "uniform_limit_for_std",
    "variance_scaling_std",
]

ShapeLike = int | Iterable[int]

TRUNCATION_STD: float = 0.87962566103423978
"""Standard deviation of a standard normal truncated to :math:`[-2, 2]`.

:math:`\\sqrt{1 - 4\\varphi(2)/(\\Phi(2) - \\Phi(-2))} \\approx 0.8796`, where φ and Φ
are the standard normal density and distribution function. Keras' ``VarianceScaling``
divides its standard deviation by this number before truncating at two standard
deviations, so that the *truncated* samples have standard deviation
:math:`\\sqrt{\\text{scale}/n}` :cite:`chollet2015keras`. """

MODES: tuple[str, ...] = ("fan_in", "fan_out", "fan_avg")
"""The ``mode`` values of variance scaling."""

_UNIT_GAIN = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "sigmoid",
)
GAIN_NAMES: tuple[str, ...] = _UNIT_GAIN + ("tanh", "relu", "leaky_relu", "selu")
"""The nonlinearities :func:`gain` knows (the same names as
``torch.nn.init.calculate_gain``)."""

_DEFAULT_LEAKY_SLOPE = 0.01


def compute_fans(shape: ShapeLike) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of ``shape`` with Keras' rules.

    - rank 0: ``(1, 1)``; rank 1: ``(n, n)``;
    - rank 2 (dense kernel ``(fan_in_dim, units)``): ``(shape[0], shape[1])``;
    - rank ≥ 3 (convolution kernel ``(*kernel_size, in, out)``): with the receptive
      field :math:`r = \\prod` ``shape[:-2]``, ``(in * r, out * r)``.

    The receptive field matters: a 3×3 convolution with 64 input channels sums over
    :math:`3 \\cdot 3 \\cdot 64 = 576` inputs per output, not 64 :cite:`he2015delving`.

    Parameters
    ----------
    shape
        The weight shape (an ``int`` means a vector); every dimension must be a positive
        int.

    Returns
    -------
    tuple of int
        ``(fan_in, fan_out)``, identical to
        ``keras.src.initializers.random_initializers.compute_fans``.
    """
    dims = as_shape(shape)
    if len(dims) == 0:
        return 1, 1
    if len(dims) == 1:
        return dims[0], dims[0]
    if len(dims) == 2:
        return dims[0], dims[1]
    receptive_field = math.prod(dims[:-2])
    return dims[-2] * receptive_field, dims[-1] * receptive_field


def gain(nonlinearity: str, param: float | None = None) -> float:
    """Return the recommended gain for ``nonlinearity`` (PyTorch's ``calculate_gain``).

    The table of ``torch.nn.init.calculate_gain``.

    ===================================================  ==============================
    nonlinearity                                         gain
    ===================================================  ==============================
    linear, identity, conv1d/2d/3d, conv_transpose1d/2d/3d  1
    sigmoid                                              1
    tanh                                                 5/3
    relu                                                 :math:`\\sqrt{2}`
    leaky_relu                                           :math:`\\sqrt{2 / (1 + a^2)}`
    selu                                                 3/4
    ===================================================  ==============================

    The ReLU gain comes from :math:`E[\\mathrm{relu}(z)^2] = \\tfrac12 \\mathrm{Var}(z)`
    for a symmetric pre-activation z :cite:`he2015delving`; leaky ReLU with slope a
    keeps :math:`(1 + a^2)/2` of the second moment. The tanh value 5/3 is a heuristic,
    and PyTorch found 3/4 for SELU empirically; for self-normalizing networks PyTorch's
    documentation recommends ``"linear"`` (variance 1/n, LeCun) instead
    :cite:`klambauer2017self,paszke2019pytorch`. Multiply a standard deviation (or a
    uniform limit) by the gain: std = gain / √fan.

    Parameters
    ----------
    nonlinearity
        One of :data:`GAIN_NAMES`.
    param
        Negative slope ``a`` of ``leaky_relu`` (default 0.01); ignored for the other
        names.

    Raises
    ------
    ValueError
        If ``nonlinearity`` is unknown, or ``param`` is not a finite real number.
    """
    if not isinstance(nonlinearity, str) or nonlinearity not in GAIN_NAMES:
        close = difflib.get_close_matches(str(nonlinearity), GAIN_NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"nonlinearity: unknown nonlinearity {nonlinearity!r}.{hint} Valid names: "
            f"{', '.join(GAIN_NAMES)}"
        )
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4.0
    # leaky_relu
    if param is None:
        slope = _DEFAULT_LEAKY_SLOPE
    elif (
        isinstance(param, bool)
        or not isinstance(param, numbers.Real)
        or not math.isfinite(param)
    ):
        raise ValueError(
            "param: the negative slope of leaky_relu must be a finite real number, got "
            f"{param!r}"
        )
    else:
        slope = float(param)
    return math.sqrt(2.0 / (1.0 + slope**2))


def fan_for_mode(shape: ShapeLike, mode: str = "fan_in") -> float:
    """Return the ``n`` of variance scaling for ``mode``: fan_in, fan_out or their mean.

    ``fan_in`` preserves the variance of the forward signal, ``fan_out`` that of the
    back-propagated gradient, and ``fan_avg`` is Glorot and Bengio's compromise
    :cite:`glorot2010understanding`. Fans come from :func:`compute_fans`.

    Raises
    ------
    ValueError
        If ``mode`` is not one of :data:`MODES`.
    """
    check_choice(mode, "mode", MODES)
    fan_in, fan_out = compute_fans(shape)
    if mode == "fan_in":
        return float(fan_in)
    if mode == "fan_out":
        return float(fan_out)
    return (fan_in + fan_out) / 2.0


def variance_scaling_std(
    shape: ShapeLike, scale: float = 1.0, mode: str = "fan_in"
) -> float:
    """Return the target standard deviation :math:`\\sqrt{\\text{scale} / \\max(1, n)}`.

    ``n`` is given by :func:`fan_for_mode` and is clipped to at least 1, as Keras does.
    Named special cases: LeCun ``(1, fan_in)`` :cite:`lecun1998efficient`, Glorot
    ``(1, fan_avg)`` (:math:`\\sigma^2 = 2/(\\text{fan\\_in} + \\text{fan\\_out})`)
    :cite:`glorot2010understanding`, He ``(2, fan_in)`` :cite:`he2015delving`. Every
    Keras ``VarianceScaling`` distribution (uniform, truncated normal, untruncated
    normal) has exactly this standard deviation.

    Raises
    ------
    ValueError
        If ``scale`` is not a finite number > 0, or ``mode`` is unknown.
    """
    if (
        isinstance(scale, bool)
        or not isinstance(scale, numbers.Real)
        or not math.isfinite(scale)
        or scale <= 0
    ):
        raise ValueError(f"scale: must be a finite number > 0, got {scale!r}")
    n = max(1.0, fan_for_mode(shape, mode))
    return math.sqrt(float(scale) / n)


def uniform_limit_for_std(std: float) -> float:
    """Return :math:`a = \\sqrt{3}\\,\\sigma`, so that :math:`U(-a, a)` has std σ.

    The variance of :math:`U(-a, a)` is :math:`a^2/3`. For example Glorot's
    :math:`\\sigma^2 = 2/(\\text{fan\\_in}+\\text{fan\\_out})` gives
    :math:`a = \\sqrt{6/(\\text{fan\\_in}+\\text{fan\\_out})}`
    :cite:`glorot2010understanding`.

    Raises
    ------
    ValueError
        If ``std`` is not a finite number ≥ 0.
    """
    if (
        isinstance(std, bool)
        or not isinstance(std, numbers.Real)
        or not math.isfinite(std)
        or std < 0
    ):
        raise ValueError(f"std: must be a finite number >= 0, got {std!r}")
    return math.sqrt(3.0) * float(std)


def _check_rank_at_least_2(dims: tuple[int, ...], name: str) -> None:
    if len(dims) < 2:
        raise ValueError(
            f"{name}: a weight needs rank >= 2 (a matrix or a kernel), got {dims!r}"
        )


def pytorch_fans(shape_pt: ShapeLike) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a PyTorch weight ``(out, in, *kernel_size)``.

    With :math:`r = \\prod` ``kernel_size`` (1 for ``nn.Linear``):
    ``(in * r, out * r)``, as in ``torch.nn.init._calculate_fan_in_and_fan_out``
    :cite:`paszke2019pytorch`. The result equals
    ``compute_fans(pytorch_to_keras_shape(shape_pt))``.

    Raises
    ------
    ValueError
        If the shape has rank < 2 (PyTorch refuses it too) or a non-positive dimension.
    """
    dims = as_shape(shape_pt, "shape_pt")
    _check_rank_at_least_2(dims, "shape_pt")
    receptive_field = math.prod(dims[2:])
    return dims[1] * receptive_field, dims[0] * receptive_field


def keras_to_pytorch_shape(shape: ShapeLike) -> tuple[int, ...]:
    """Translate a Keras kernel shape ``(*k, in, out)`` to PyTorch's ``(out, in, *k)``.

    A dense kernel ``(in, out)`` becomes ``(out, in)`` (``nn.Linear.weight``).

    Raises
    ------
    ValueError
        If the shape has rank < 2 or a non-positive dimension.
    """
    dims = as_shape(shape)
    _check_rank_at_least_2(dims, "shape")
    return (dims[-1], dims[-2], *dims[:-2])


def pytorch_to_keras_shape(shape_pt: ShapeLike) -> tuple[int, ...]:
    """Translate a PyTorch weight shape ``(out, in, *k)`` to Keras' ``(*k, in, out)``.

    The inverse of :func:`keras_to_pytorch_shape`.

    Raises
    ------
    ValueError
        If the shape has rank < 2 or a non-positive dimension.
    """
    dims = as_shape(shape_pt, "shape_pt")
    _check_rank_at_least_2(dims, "shape_pt")
    return (*dims[2:], dims[1], dims[0])
