"""Layer-sequential unit-variance (LSUV) initialization of a built Keras model (Mishkin & Matas 2016).

LSUV (:cite:`mishkin2016all`, Algorithm 1) is data-dependent: start from orthogonal kernels
(:cite:`saxe2014exact`) and zero biases, then, layer by layer from the input, measure the variance of
the layer's output on one batch and divide the kernel by its square root until the variance is 1:

.. math::

    W_l \\leftarrow W_l / \\sqrt{\\operatorname{Var}(z_l)}
    \\quad\\text{while } |\\operatorname{Var}(z_l) - 1| \\ge \\text{tol and iterations} < \\text{max\\_iter},

where :math:`z_l = x_l W_l + b_l` is the layer's pre-activation (before its own ``activation``),
computed with all earlier layers already rescaled. Because the biases are zero, :math:`z_l` is linear
in :math:`W_l` and one step normally suffices; the loop matters when something after the matrix
product is not scale-equivariant.

How the pre-activation is read: the layer's ``activation`` attribute (Dense and Conv apply it last
in ``call``) is swapped for a function that records its input and stops the forward pass. This works
for Sequential, functional and subclassed models and for nested models, without building probe
models. The original activation is restored afterwards, also on error.
"""

from __future__ import annotations

import numbers
import os
import random
import warnings
from typing import Any, Optional, Union

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from initcourse.keras_initializers import _all_layers  # noqa: E402  (every layer, nested models expanded)

__all__ = ["LSUV_LAYER_TYPES", "lsuv", "lsuv_layers"]

LSUV_LAYER_TYPES: tuple[type, ...] = (
    keras.layers.Dense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
)
"""Layer classes (and subclasses) LSUV rescales."""


class _Captured(Exception):
    """Raised by the recording activation to stop the forward pass once the pre-activation is known.

    Keras re-creates exceptions raised inside ``Layer.call`` (``e.__class__(message)``) to add
    argument information, so the value travels in a closure, not on the exception.
    """


def lsuv_layers(model: Any) -> list[Any]:
    """The Dense and Conv1D/2D/3D layers of ``model`` (nested models included), in model order."""
    return [layer for layer in _all_layers(model) if isinstance(layer, LSUV_LAYER_TYPES)]


def _expected_shapes(model: Any) -> Optional[list[tuple[Optional[int], ...]]]:
    """Shapes of ``model.inputs`` (``None`` for free dimensions), or ``None`` if the model has none."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    if not inputs:
        return None
    return [tuple(t.shape) for t in inputs]


def _check_x(model: Any, x: Any) -> Union[np.ndarray, list[np.ndarray]]:
    """Return ``x`` as numpy array(s) after checking it against ``model.inputs``; else ValueError naming ``x``."""
    expected = _expected_shapes(model)
    many = isinstance(x, (list, tuple))
    arrays = [np.asarray(a) for a in x] if many else [np.asarray(x)]
    if expected is not None:
        if len(arrays) != len(expected):
            raise ValueError(
                f"x: the model has {len(expected)} input(s) with shapes {expected}, got {len(arrays)} array(s)"
            )
        for arr, exp in zip(arrays, expected):
            # the batch axis is not checked: a Sequential model built by calling it on a batch of n
            # records n there, yet runs on any batch size
            ok = arr.ndim == len(exp) and all(e is None or e == s for s, e in zip(arr.shape[1:], exp[1:]))
            if not ok:
                expected_shape = (None, *exp[1:])
                raise ValueError(
                    f"x: got an array of shape {arr.shape}, but the model expects inputs of shape "
                    f"{expected_shape} (None = any size; the first axis is the batch)"
                )
    if any(arr.shape[0] < 2 for arr in arrays if arr.ndim):
        raise ValueError(f"x: a variance needs a batch of at least 2 examples, got shape {arrays[0].shape}")
    return arrays if many else arrays[0]


def _build_on(model: Any, x: Any) -> None:
    """Build a model that has no weights yet (e.g. a Sequential without ``keras.Input``) by calling it on ``x``."""
    try:
        model(x, training=False)
    except Exception as err:
        shapes = [np.shape(a) for a in x] if isinstance(x, list) else np.shape(x)
        raise ValueError(
            f"x: the model {getattr(model, 'name', model)!r} is not built, and calling it on x of shape {shapes} "
            f"to build it failed ({type(err).__name__}: {err}); give x the shape the model expects"
        ) from err
    unbuilt = [layer.name for layer in lsuv_layers(model) if not layer.built]
    if unbuilt:
        raise ValueError(
            f"model: layers {unbuilt} of {getattr(model, 'name', model)!r} are still not built after calling "
            "the model on x (are they used in its call?); build them first"
        )


def _pre_activation(model: Any, layer: Any, x: Any) -> np.ndarray:
    """The input of ``layer.activation`` (= x·W + b) when ``model`` is run on ``x`` (inference mode)."""

    seen: list[np.ndarray] = []

    def record(z: Any) -> Any:
        seen.append(keras.ops.convert_to_numpy(z))
        raise _Captured("pre-activation captured")

    original = layer.activation
    layer.activation = record
    try:
        model(x, training=False)
    except _Captured:
        if seen:
            return seen[0]
        raise
    finally:
        layer.activation = original
    raise RuntimeError(f"layer {layer.name!r} was not called when running the model on x")


def _variance(z: np.ndarray) -> float:
    """Variance over every element of ``z`` (the output blob, as in Mishkin & Matas), in float64."""
    return float(np.var(np.asarray(z, dtype=np.float64)))


def _check_args(tol: float, max_iter: int, seed: Optional[int]) -> None:
    """ValueError/TypeError for a bad ``tol``, ``max_iter`` or ``seed``."""
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not np.isfinite(tol) or tol <= 0:
        raise ValueError(f"tol: must be a finite number > 0, got {tol!r}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter: must be an int >= 1, got {max_iter!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"seed: expected None or a non-negative int, got {seed!r}")


def lsuv(
    model: Any, x: Any, *, tol: float = 0.1, max_iter: int = 10, seed: Optional[int] = None
) -> list[dict[str, Any]]:
    """Layer-sequential unit-variance initialization (Mishkin & Matas 2016, :cite:`mishkin2016all`), in place.

    1. Every Dense/Conv1D/Conv2D/Conv3D kernel is re-drawn with ``keras.initializers.Orthogonal``
       (:cite:`saxe2014exact`; for conv kernels, orthogonality of the flattened
       ``(kh·kw·in_channels) × out_channels`` matrix), every bias of those layers set to 0.
    2. For each of those layers in model order, on the batch ``x``: compute the pre-activation
       :math:`z = x_l W + b` (before the layer's ``activation``), and while
       :math:`|\\operatorname{Var}(z) - 1| \\ge` ``tol`` and fewer than ``max_iter`` rescalings were done,
       set :math:`W \\leftarrow W/\\sqrt{\\operatorname{Var}(z)}` and measure again.

    Parameters
    ----------
    model : keras.Model
        A Keras model (Sequential, functional or subclassed; nested models are searched). A model
        that is not built yet (e.g. a Sequential without ``keras.Input``) is built by calling it on ``x``.
    x : array_like or list of array_like
        One batch of inputs (at least 2 examples), shaped like ``model.inputs``. Standardize it:
        the author's benchmark (ducha-aiki/caffenet-benchmark, "Why input var=1 for LSUV is so
        important") loses accuracy with unscaled inputs.
    tol : float
        Tolerance on :math:`|\\operatorname{Var} - 1|` (the paper's :math:`\\text{Tol}_{var}`, 0.1 there).
    max_iter : int
        Maximum number of rescalings per layer (the paper's :math:`T_{max}`).
    seed : int or None
        Seeds the orthogonal pre-initialization (each layer gets its own seed derived from it).
        ``None`` draws the seeds from Python's :mod:`random`, as Keras does, so
        ``keras.utils.set_random_seed`` makes the result reproducible.

    Returns
    -------
    list of dict
        One dict per layer, in order: ``name``, ``var_before`` (pre-activation variance after the
        orthogonal pre-init, before rescaling), ``var_after``, ``iterations`` (rescalings done) and
        ``converged`` (``|var_after - 1| < tol``).

    Raises
    ------
    ValueError
        The model has no Dense/Conv layer; ``x`` does not match ``model.inputs`` (or, for a model
        that is not built yet, calling the model on ``x`` to build it fails);
        ``tol <= 0``; ``max_iter < 1``.

    Warns
    -----
    RuntimeWarning
        For each layer that did not converge (e.g. a pre-activation variance of 0 that no rescaling can fix).
    """
    _check_args(tol, max_iter, seed)
    layers = lsuv_layers(model)
    if not layers:
        raise ValueError(
            f"model: {getattr(model, 'name', model)!r} has no Dense or Conv1D/Conv2D/Conv3D layer, so LSUV "
            f"has nothing to rescale (layers: {[type(layer).__name__ for layer in _all_layers(model)]})"
        )
    x = _check_x(model, x)
    if not getattr(model, "built", False) or not all(layer.built for layer in layers):
        _build_on(model, x)

    seeds = np.random.default_rng(seed if seed is not None else random.randint(1, int(1e9))).integers(
        1, 2**31 - 1, size=len(layers)
    )
    for layer, layer_seed in zip(layers, seeds):
        kernel = layer.kernel
        ortho = keras.initializers.Orthogonal(seed=int(layer_seed))
        kernel.assign(ortho(tuple(kernel.shape), dtype=kernel.dtype))
        if getattr(layer, "bias", None) is not None:
            layer.bias.assign(keras.ops.zeros(tuple(layer.bias.shape), dtype=layer.bias.dtype))

    report: list[dict[str, Any]] = []
    for layer in layers:
        var = var_before = _variance(_pre_activation(model, layer, x))
        iterations = 0
        while abs(var - 1.0) >= tol and iterations < max_iter and np.isfinite(var) and var > 0:
            layer.kernel.assign(layer.kernel / keras.ops.cast(np.sqrt(var), layer.kernel.dtype))
            iterations += 1
            var = _variance(_pre_activation(model, layer, x))
        converged = bool(abs(var - 1.0) < tol)
        if not converged:
            why = (
                "its pre-activation variance is 0 or not finite, which no rescaling can fix "
                "(a constant input batch or dead units upstream?)"
                if not (np.isfinite(var) and var > 0)
                else f"{iterations} rescaling(s) (max_iter={max_iter}) were not enough"
            )
            warnings.warn(
                f"lsuv: layer {layer.name!r} did not reach |Var - 1| < {tol}: Var = {var:.4g}; {why}",
                RuntimeWarning,
                stacklevel=2,
            )
        report.append(
            {
                "name": layer.name,
                "var_before": var_before,
                "var_after": var,
                "iterations": iterations,
                "converged": converged,
            }
        )
    return report
