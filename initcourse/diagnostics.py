"""Per-layer health check of a Keras model at initialization: activations, saturation, gradients.

:func:`layer_stats` runs one batch through any built Keras model (Sequential, functional,
nested) and reports, for every layer that has weights or is an activation layer:

* the mean and std of the layer's output (for ``Dense``/``Conv`` the output *after* its
  activation), which shows the forward signal vanishing or exploding with depth
  {cite}`glorot2010understanding,he2015delving`;
* the fraction of *saturated* outputs for bounded activations and of *dead* outputs for
  ReLU-type activations (see :func:`layer_stats`);
* the std of the layer's kernel, the norm of its gradient :math:`\\lVert\\nabla_W L\\rVert`
  and the gradient-to-weight ratio :math:`\\lVert\\nabla_W L\\rVert / \\lVert W\\rVert`, the
  relative size of one gradient step, which shows the backward signal vanishing or exploding.

The result, :class:`LayerStats`, prints as a table, lists plain-language warnings and plots.
Keras/TensorFlow are imported on call.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union

import numpy as np

__all__ = ["LayerStats", "layer_stats"]

BOUNDED = {"tanh": (-1.0, 1.0), "softsign": (-1.0, 1.0), "sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0)}
"""Bounded activations and their ranges: saturation means an output near a bound."""
RELU_LIKE = ("relu", "relu6")
"""Activations whose output is exactly 0 on half the line: 'dead' means an output == 0."""
_ACTIVATION_LAYERS = ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax")
_SUGGESTION = {
    "relu": "he_normal",
    "relu6": "he_normal",
    "leaky_relu": "he_normal",
    "elu": "he_normal",
    "gelu": "he_normal",
    "selu": "lecun_normal",
    "tanh": "glorot_normal (or orthogonal)",
    "sigmoid": "glorot_normal",
    "linear": "glorot_normal (or orthogonal)",
}


# --------------------------------------------------------------------------- result


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if kind == "frac":
        return f"{v:.3f}"
    if kind == "mean":
        return f"{v:+.2e}" if v != 0 else "0"
    return f"{v:.2e}" if v != 0 else "0"


def _short(value: float) -> str:
    """A short human-readable number for messages: 1.3e-06, 0.93, 12.5."""
    if value == 0 or math.isnan(value) or math.isinf(value):
        return str(value)
    if 1e-2 <= abs(value) < 1e3:
        return f"{value:.3g}"
    return f"{value:.1e}"


def _names(rows: Sequence[dict[str, Any]], key: str, limit: int = 3) -> str:
    parts = [f"{r['layer']} ({_short(r[key])})" for r in rows[:limit]]
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return ", ".join(parts) + more


@dataclass
class LayerStats:
    """Per-layer statistics from :func:`layer_stats`.

    Attributes
    ----------
    rows : list of dict
        One dict per layer, in forward order, with keys ``layer`` (name), ``type`` (class
        name), ``activation``, ``out_mean``, ``out_std``, ``saturated`` (fraction, bounded
        activations only, else None), ``dead`` (fraction, ReLU-type only, else None),
        ``kernel_std``, ``grad_norm``, ``weight_norm`` and ``grad_weight_ratio`` (None for
        layers without weights; NaN ratio when the kernel is all zeros).
    input_std : float
        Std of the batch fed to the model (the reference for vanishing/exploding signals).
    loss_name : str
        The loss whose gradient was taken.
    """

    rows: list[dict[str, Any]]
    input_std: float
    loss_name: str
    saturation: float = field(default=0.97, repr=False)

    COLUMNS = (
        ("layer", "layer", "str"),
        ("activation", "activation", "str"),
        ("out_mean", "out_mean", "mean"),
        ("out_std", "out_std", "num"),
        ("saturated", "saturated", "frac"),
        ("dead", "dead", "frac"),
        ("kernel_std", "kernel_std", "num"),
        ("grad_norm", "grad_norm", "num"),
        ("grad/weight", "grad_weight_ratio", "num"),
    )

    def format(self) -> str:
        """A plain-text table, numbers rounded (3 significant digits, fractions to 3 decimals)."""
        header = [c[0] for c in self.COLUMNS]
        body = [[_fmt(row.get(key), kind) for _, key, kind in self.COLUMNS] for row in self.rows]
        widths = [max([len(header[j])] + [len(r[j]) for r in body]) for j in range(len(header))]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(cells, widths)))

        return "\n".join([line(header)] + [line(r) for r in body])

    def __str__(self) -> str:
        return self.format()

    def warnings(
        self,
        *,
        vanish: float = 1e-2,
        explode: float = 1e2,
        dead: float = 0.9,
        saturated: float = 0.5,
        ratio_spread: float = 1e3,
        tiny_ratio: float = 1e-6,
    ) -> list[str]:
        """Plain-language findings, most basic first (empty list: nothing suspicious).

        Rules (thresholds are parameters):

        * non-finite activations or gradients;
        * a kernel that is all zeros (every unit computes the same function: symmetry is not broken);
        * the forward signal: the first layer whose output std is below ``vanish`` x the input
          std (vanishing) or above ``explode`` x (exploding), with the initializer usually
          suited to that activation;
        * ReLU layers whose ``dead`` fraction is >= ``dead``; bounded layers whose saturated
          fraction is >= ``saturated``;
        * the backward signal: the gradient/weight ratio of the first (bottom) layer differs
          from the last (top) layer's by more than ``ratio_spread`` (vanishing or exploding
          gradients); or every layer's ratio is below ``tiny_ratio`` (no layer will learn).
        """
        out: list[str] = []
        bad = [r for r in self.rows if not (np.isfinite(r["out_std"]) and np.isfinite(r["out_mean"]))]
        bad += [r for r in self.rows if r["grad_norm"] is not None and not np.isfinite(r["grad_norm"])]
        if bad:
            names = sorted({r["layer"] for r in bad})
            out.append(f"non-finite values (nan/inf) at layer(s) {', '.join(names)}: the signal overflowed")
        zero = [r for r in self.rows if r["weight_norm"] == 0.0]
        if zero:
            out.append(
                f"all-zero kernel at layer(s) {', '.join(r['layer'] for r in zero)}: every unit computes "
                f"the same thing and gets the same gradient (symmetry not broken); use a random initializer"
            )
        ref = self.input_std if self.input_std > 0 else 1.0
        finite = [r for r in self.rows if np.isfinite(r["out_std"])]
        low = [r for r in finite if r["out_std"] < vanish * ref and r["weight_norm"] != 0.0]
        high = [r for r in finite if r["out_std"] > explode * ref]
        for found, what in ((low, "vanishing"), (high, "exploding")):
            if found:
                first = found[0]
                act = first["activation"] or "linear"
                hint = f"; for {act} use {_SUGGESTION[act]}" if act in _SUGGESTION else ""
                more = f" (and {len(found) - 1} later layer(s))" if len(found) > 1 else ""
                out.append(
                    f"layer {first['layer']}: activations std {_short(first['out_std'])} vs input std "
                    f"{_short(self.input_std)} — signal {what}{more}{hint}"
                )
        dead_rows = [r for r in self.rows if r["dead"] is not None and r["dead"] >= dead]
        if dead_rows:
            out.append(
                f"dead ReLU fraction >= {dead:g} at {_names(dead_rows, 'dead')}: these units output 0 "
                f"and pass no gradient; check the bias and the kernel scale (he_normal)"
            )
        sat_rows = [r for r in self.rows if r["saturated"] is not None and r["saturated"] >= saturated]
        if sat_rows:
            pct = ", ".join(f"{r['layer']} {100 * r['saturated']:.0f}%" for r in sat_rows[:3])
            more = f" and {len(sat_rows) - 3} more" if len(sat_rows) > 3 else ""
            out.append(
                f"saturated outputs (|a| near the bounds) at {pct}{more}: the derivative is ~0 there, "
                f"so these units pass almost no gradient; the pre-activations are too large: check the "
                f"kernel scale (glorot_normal or lecun_normal for tanh/sigmoid) and the scale of the "
                f"layer's input (e.g. a residual stream that grows with depth)"
            )
        ratios = [
            r for r in self.rows if r["grad_weight_ratio"] is not None and np.isfinite(r["grad_weight_ratio"])
        ]
        if ratios and max(r["grad_weight_ratio"] for r in ratios) < tiny_ratio:
            worst = max(ratios, key=lambda r: r["grad_weight_ratio"])
            out.append(
                f"gradient/weight ratio at most {_short(worst['grad_weight_ratio'])} (layer {worst['layer']}): "
                f"gradients are negligible in every layer, training will not move the weights"
            )
        elif len(ratios) >= 2:
            bottom, top = ratios[0], ratios[-1]
            b, t = bottom["grad_weight_ratio"], top["grad_weight_ratio"]
            if t > 0 and (b == 0 or b / t < 1.0 / ratio_spread):
                out.append(
                    f"gradient/weight ratio {_short(b)} at the bottom layer {bottom['layer']} vs {_short(t)} at "
                    f"the top layer {top['layer']}: vanishing gradients — the bottom layers barely learn"
                )
            elif b > 0 and (t == 0 or b / t > ratio_spread):
                out.append(
                    f"gradient/weight ratio {_short(b)} at the bottom layer {bottom['layer']} vs {_short(t)} at "
                    f"the top layer {top['layer']}: exploding gradients — the bottom layers get huge updates"
                )
        return out

    def plot(self, axes: Optional[Sequence[Any]] = None) -> Any:
        """Activation std (left) and kernel-gradient norm (right) by layer, log scale.

        Parameters
        ----------
        axes : sequence of two matplotlib Axes or None
            Where to draw; None creates a figure with two side-by-side axes.

        Returns
        -------
        numpy.ndarray of matplotlib Axes
            The two axes (no titles, no ``plt.show()``). Zero values cannot be drawn on a
            log scale and are left out.
        """
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        axes = np.asarray(axes, dtype=object).ravel()
        if axes.size != 2:
            raise ValueError(f"axes: expected two matplotlib Axes, got {axes.size}")
        idx = np.arange(len(self.rows))
        std = np.array([r["out_std"] for r in self.rows], dtype=float)
        keep = np.isfinite(std) & (std > 0)
        axes[0].plot(idx[keep], std[keep], marker="o")
        axes[0].set_yscale("log")
        axes[0].set_xlabel("layer")
        axes[0].set_ylabel("activation std")
        grad = np.array([np.nan if r["grad_norm"] is None else r["grad_norm"] for r in self.rows], dtype=float)
        keep = np.isfinite(grad) & (grad > 0)
        axes[1].plot(idx[keep], grad[keep], marker="o", color="C1")
        axes[1].set_yscale("log")
        axes[1].set_xlabel("layer")
        axes[1].set_ylabel(r"$\|\nabla_W L\|$")
        for ax in axes:
            ax.set_xticks(idx, [r["layer"] for r in self.rows], rotation=60, ha="right", fontsize=7)
        return axes


# --------------------------------------------------------------------------- computation


def _leaf_layers(model: Any) -> list[Any]:
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            out.extend(_leaf_layers(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            out.append(layer)
    return out


def _activation_name(layer: Any) -> Optional[str]:
    """Name of the function a layer applies last (None when it has no activation notion)."""
    cls = type(layer).__name__
    if cls == "ReLU":
        return "relu"
    if cls in ("LeakyReLU", "ELU", "PReLU", "Softmax"):
        return {"LeakyReLU": "leaky_relu", "ELU": "elu", "PReLU": "prelu", "Softmax": "softmax"}[cls]
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    return getattr(fn, "__name__", type(fn).__name__)


def _main_weight(layer: Any) -> Any:
    """``layer.kernel`` if the layer has one, else its largest trainable weight (None if none)."""
    kernel = getattr(layer, "kernel", None)
    if kernel is not None and hasattr(kernel, "shape"):
        return kernel
    weights = list(layer.trainable_weights)
    if not weights:
        return None
    return max(weights, key=lambda w: int(np.prod(w.shape)))


def _selected(layer: Any) -> bool:
    return bool(layer.weights) or type(layer).__name__ in _ACTIVATION_LAYERS


def _check_x(model: Any, x: Any) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise TypeError(f"x: expected an array of numbers, got {type(x).__name__}") from None
    try:
        expected = tuple(model.inputs[0].shape)
    except (AttributeError, IndexError, TypeError, ValueError):
        expected = None
    if arr.ndim == 0 or arr.shape[0] < 2:
        raise ValueError(f"x: expected a batch of at least 2 examples, got shape {arr.shape}")
    if expected is not None:
        ok = len(expected) == arr.ndim and all(e is None or e == a for e, a in zip(expected[1:], arr.shape[1:]))
        if not ok:
            raise ValueError(
                f"x: got shape {arr.shape}, but the model expects (batch, {', '.join(map(str, expected[1:]))})"
            )
    return arr


def _pick_loss(model: Any, y: np.ndarray, out_shape: tuple[int, ...], loss: Any, final_activation: Optional[str]):
    """Return ``(loss_fn(y_true, y_pred) -> scalar, name)``."""
    import keras

    if loss is not None:
        fn = keras.losses.get(loss) if isinstance(loss, str) else loss
        if not callable(fn):
            raise TypeError(f"loss: expected a Keras loss name or a callable, got {loss!r}")
        return fn, getattr(fn, "name", getattr(fn, "__name__", str(loss)))
    compiled = getattr(model, "loss", None)
    if compiled is not None:
        fn = keras.losses.get(compiled) if isinstance(compiled, str) else compiled
        return fn, getattr(fn, "name", getattr(fn, "__name__", str(compiled)))
    labels = np.issubdtype(y.dtype, np.integer) and len(out_shape) == 2 and (
        y.shape == (out_shape[0],) or y.shape == (out_shape[0], 1)
    )
    if labels:
        from_logits = final_activation != "softmax"
        return (
            keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
            "sparse_categorical_crossentropy" + (" (from logits)" if from_logits else ""),
        )
    return keras.losses.MeanSquaredError(), "mean_squared_error"


def layer_stats(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    loss: Union[None, str, Callable[..., Any]] = None,
    saturation: float = 0.97,
) -> LayerStats:
    """Forward and backward statistics of every layer of ``model`` on the batch ``x``.

    One forward pass records each layer's output; one ``tf.GradientTape`` gives the gradient
    of a scalar loss :math:`L` with respect to every kernel.

    * Layers reported: every leaf layer (nested models are opened) that has weights, plus
      activation layers (``Activation``, ``ReLU``, ...). ``Dense``/``Conv`` outputs are
      *after* their activation.
    * ``saturated`` (bounded activations): fraction of outputs within ``1 - saturation`` of a
      bound — :math:`|a| > 0.97` for tanh/softsign, :math:`a < 0.03` or :math:`a > 0.97` for
      sigmoid/hard_sigmoid (default ``saturation=0.97``). There
      :math:`\\tanh'(z) = 1 - a^2 < 0.06`: the unit passes almost no gradient.
    * ``dead`` (relu/relu6): fraction of outputs exactly 0 over the batch (a unit that is 0
      for every input gets no gradient at all).
    * ``kernel_std``: std of ``layer.kernel`` (or, for layers without a kernel, of the
      largest trainable weight); ``grad_norm``: Frobenius norm of :math:`\\nabla_W L`;
      ``grad_weight_ratio``: :math:`\\lVert\\nabla_W L\\rVert / \\lVert W\\rVert`.
    * The loss :math:`L`: with ``loss=`` given, that loss (a Keras name or
      ``f(y_true, y_pred)``) of ``y`` (or of zeros when ``y`` is None); else, when ``y`` is None,
      the surrogate :math:`L = \\tfrac12\\,\\mathrm{mean}(f(x)^2)` (mean over batch and outputs;
      its gradient is the backward pass of the outputs themselves, so gradients exist without
      labels); when ``y`` is given, the model's compiled loss if any, else sparse categorical
      cross-entropy (from logits, unless the last layer is a softmax) when ``y`` holds one
      integer label per example and the output is ``(batch, classes)``, else mean squared error.

    Parameters
    ----------
    model : keras.Model
        A Keras model (Sequential, functional or with nested models). A model that is not built
        yet (e.g. a Sequential without ``keras.Input``) is built by calling it on ``x``.
    x : array_like
        A batch (>= 2 examples) shaped like the model input.
    y : array_like or None
        Targets for the loss (see above).
    loss : str, callable or None
        Overrides the loss.
    saturation : float
        Threshold in (0.5, 1) for the saturated fraction.

    Returns
    -------
    LayerStats

    Raises
    ------
    ValueError
        ``x`` does not match the model input (or cannot build a model that is not built), or ``saturation`` is
        out of range.
    """
    import keras
    import tensorflow as tf

    if not isinstance(model, keras.Model):
        raise TypeError(f"model: expected a keras.Model, got {type(model).__name__}")
    if isinstance(saturation, bool) or not isinstance(saturation, (int, float)) or not 0.5 < saturation < 1.0:
        raise ValueError(f"saturation: expected a number in (0.5, 1), got {saturation!r}")
    x_arr = _check_x(model, x)
    if not model.built:  # e.g. a Sequential without keras.Input: build it on the batch
        try:
            model(tf.constant(x_arr), training=False)
        except Exception as err:
            raise ValueError(
                f"x: the model {model.name!r} is not built, and calling it on x of shape {x_arr.shape} to build "
                f"it failed ({type(err).__name__}: {err}); give x the shape the model expects"
            ) from err
    layers = [layer for layer in _leaf_layers(model) if _selected(layer)]
    if not layers:
        raise ValueError("model: has no layer with weights or activation to report")

    outputs: dict[int, Any] = {}
    patched = []
    for i, layer in enumerate(layers):
        original = layer.call

        @functools.wraps(original)
        def recording(*args: Any, _original: Any = original, _i: int = i, **kwargs: Any) -> Any:
            result = _original(*args, **kwargs)
            outputs[_i] = result
            return result

        layer.call = recording
        patched.append(layer)
    kernels = [_main_weight(layer) for layer in layers]
    variables = [k for k in kernels if k is not None]
    try:
        with tf.GradientTape() as tape:
            pred = model(tf.constant(x_arr), training=False)
            if isinstance(pred, (list, tuple)):
                pred = pred[0]
            if y is None and loss is None:
                value = 0.5 * tf.reduce_mean(tf.square(pred))
                loss_name = "surrogate 0.5*mean(output^2)"
            else:
                y_arr = np.zeros(tuple(pred.shape), np.float32) if y is None else np.asarray(y)
                if y_arr.shape[0] != x_arr.shape[0]:
                    raise ValueError(f"y: expected {x_arr.shape[0]} targets like x, got shape {y_arr.shape}")
                fn, loss_name = _pick_loss(model, y_arr, tuple(pred.shape), loss, _activation_name(layers[-1]))
                value = tf.reduce_mean(fn(tf.constant(y_arr), pred))
        grads = tape.gradient(value, variables)
    finally:
        for layer in patched:
            layer.__dict__.pop("call", None)
    grad_of = {id(v): g for v, g in zip(variables, grads)}

    rows = []
    for i, (layer, kernel) in enumerate(zip(layers, kernels)):
        out = outputs.get(i)
        act = _activation_name(layer)
        a = None if out is None else np.asarray(out[0] if isinstance(out, (list, tuple)) else out, dtype=np.float64)
        row: dict[str, Any] = {
            "layer": layer.name,
            "type": type(layer).__name__,
            "activation": act,
            "out_mean": float(a.mean()) if a is not None else float("nan"),
            "out_std": float(a.std()) if a is not None else float("nan"),
            "saturated": None,
            "dead": None,
            "kernel_std": None,
            "grad_norm": None,
            "weight_norm": None,
            "grad_weight_ratio": None,
        }
        if a is not None and act in BOUNDED:
            lo, hi = BOUNDED[act]
            margin = (1.0 - saturation) * (hi - lo) / (2.0 if lo < 0 else 1.0)
            row["saturated"] = float(np.mean((a < lo + margin) | (a > hi - margin)))
        if a is not None and act in RELU_LIKE:
            row["dead"] = float(np.mean(a == 0.0))
        if kernel is not None:
            w = np.asarray(kernel.numpy(), dtype=np.float64)
            g = grad_of.get(id(kernel))
            g_norm = 0.0 if g is None else float(np.linalg.norm(np.asarray(g, dtype=np.float64)))
            w_norm = float(np.linalg.norm(w))
            row["kernel_std"] = float(w.std())
            row["grad_norm"] = g_norm
            row["weight_norm"] = w_norm
            row["grad_weight_ratio"] = g_norm / w_norm if w_norm > 0 else float("nan")
        rows.append(row)
    return LayerStats(rows=rows, input_std=float(x_arr.std()), loss_name=loss_name, saturation=saturation)
