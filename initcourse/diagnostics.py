"""Per-layer health check of a Keras model: activations, saturation, gradients.

:func:`layer_stats` runs one batch through any built Keras 3 model (Sequential,
functional, subclassed, nested; one or several inputs and outputs) and reports, for
every call of every layer that has weights, applies an activation, preprocesses the
input or adds a residual:

* the mean and std of the layer's output (for ``Dense``/``Conv`` the output *after* its
  activation), which shows the forward signal vanishing or exploding with depth
  {cite}`glorot2010understanding,he2015delving`;
* the fraction of *saturated* outputs for bounded activations and of *dead* outputs for
  ReLU-type activations (see :func:`layer_stats`);
* the std of the layer's kernel, the norm of its gradient :math:`\\lVert\\nabla_W
  L\\rVert` and the gradient-to-weight ratio :math:`\\lVert\\nabla_W L\\rVert / \\lVert
  W\\rVert`, the relative size of one gradient step, which shows the backward signal
  vanishing or exploding.

One forward pass records every layer's input and output (each layer's ``call`` is
wrapped for that pass); one ``tf.GradientTape`` gives every gradient. The result,
:class:`LayerStats`, prints as a table, lists findings (:meth:`LayerStats.warnings`) and
descriptions of
deliberate patterns (:meth:`LayerStats.notes`), and plots. Keras/TensorFlow are imported
on call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from initcourse import _modelwalk as mw

__all__ = ["LayerStats", "layer_stats"]

BOUNDED = {
    "tanh": (-1.0, 1.0),
    "softsign": (-1.0, 1.0),
    "sigmoid": (0.0, 1.0),
    "hard_sigmoid": (0.0, 1.0),
}
"""Bounded activations and their ranges: saturation means an output near a bound."""
RELU_LIKE = ("relu", "relu6")
"""Activations whose output is exactly 0 on half the line: 'dead' means an output ==
0."""
PROBABILITIES = ("softmax", "sigmoid", "hard_sigmoid", "log_softmax")
"""Output activations whose std says nothing about the signal (probabilities)."""
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
_FAMILY = {
    "HeNormal": "he",
    "HeUniform": "he",
    "GlorotNormal": "glorot",
    "GlorotUniform": "glorot",
    "LecunNormal": "lecun",
    "LecunUniform": "lecun",
    "Orthogonal": "glorot",
}
"""Initializer classes and the family of :data:`_SUGGESTION` they belong to."""
LAYER_SCALE_MAX = 1e-2
"""A LayerScale whose largest |gamma| is below this is 'almost silent by design'."""


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


def _list(names: Sequence[str], limit: int = 3) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


@dataclass
class LayerStats:
    """Per-layer statistics from :func:`layer_stats`.

    Attributes
    ----------
    rows : list of dict
        One dict per layer call, in forward order, with keys ``layer`` (name; ``name#k``
        for the k-th call of a layer called several times), ``type`` (class name),
        ``activation``, ``out_mean``, ``out_std``, ``saturated`` (fraction, bounded
        activations only, else None), ``dead`` (fraction, ReLU-type only, else None),
        ``kernel_std``, ``grad_norm``, ``weight_norm`` and ``grad_weight_ratio`` (None
        for layers without weights; NaN ratio when the kernel is all zeros), and:
        ``in_std`` (std of the layer's own input), ``ref_std`` (the scale the signal had
        where it entered the network's weights, or after the last normalization layer;
        what ``out_std`` is judged against) and ``ref_from`` (where that scale comes
        from), ``role`` (``layer``, ``output``, ``front end``, ``embedding``,
        ``normalization``, ``layer scale``, ``zero branch``, ``zero head``, ``merge``),
        ``call`` and ``calls`` (this call's number and the layer's number of calls),
        ``weight`` (path of the weight in the kernel columns).
    input_std : float
        Std of the (first) batch fed to the model.
    loss_name : str
        The loss whose gradient was taken.
    saturation : float
        The saturation threshold used.
    training : bool
        The mode the model ran in.
    model_name : str
    context : list of str
        Descriptions of the run and of deliberate patterns (see :meth:`notes`).
    """

    rows: list[dict[str, Any]]
    input_std: float
    loss_name: str
    saturation: float = field(default=0.97, repr=False)
    training: bool = True
    model_name: str = ""
    context: list[str] = field(default_factory=list, repr=False)

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

    def format(self, max_rows: int | None = None) -> str:
        """A plain-text table with rounded numbers.

        Numbers have 3 significant digits, fractions 3 decimals.

        ``max_rows``: show at most this many rows (the first and the last ones, with a
        line saying how many were left out); None shows all.
        """
        rows: list[dict[str, Any] | None] = list(self.rows)
        skipped = 0
        if max_rows is not None and len(rows) > max_rows:
            head = (max_rows + 1) // 2
            tail = max_rows - head
            skipped = len(rows) - max_rows
            rows = rows[:head] + [None] + (rows[len(rows) - tail :] if tail else [])
        header = [c[0] for c in self.COLUMNS]
        body = [
            (
                None
                if row is None
                else [_fmt(row.get(k), kind) for _, k, kind in self.COLUMNS]
            )
            for row in rows
        ]
        cells = [r for r in body if r is not None]
        widths = [
            max([len(header[j])] + [len(r[j]) for r in cells])
            for j in range(len(header))
        ]

        def line(cells: Sequence[str]) -> str:
            # one space between columns: 9 columns fit the book's 88-character width
            return " ".join(
                c.ljust(w) if j < 2 else c.rjust(w)
                for j, (c, w) in enumerate(zip(cells, widths))
            )

        out = [line(header)]
        for r in body:
            out.append(f"... {skipped} more rows ..." if r is None else line(r))
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format()

    def _judged(self) -> list[dict[str, Any]]:
        """Rows whose output std is compared with their reference scale."""
        return [
            r
            for r in self.rows
            if r.get("ref_std") is not None
            and r.get("role", "layer") in ("layer", "output", "merge")
            and not (r.get("role") == "output" and r["activation"] in PROBABILITIES)
        ]

    def warnings(
        self,
        *,
        vanish: float = 1e-2,
        explode: float = 1e2,
        dead: float = 0.9,
        saturated: float = 0.5,
        ratio_spread: float = 1e3,
        tiny_ratio: float = 1e-6,
        top_prob: float = 0.9,
    ) -> list[str]:
        """Plain-language findings, most basic first (empty list: nothing suspicious).

        Rules (thresholds are parameters); patterns that are deliberate (see
        :meth:`notes`) are not findings:

        * non-finite activations or gradients (the input was checked before the run, so
          these come from the model);
        * a kernel that is all zeros (every unit computes the same function: symmetry is
          not broken), unless it is a zero-initialized output layer or residual branch;
        * the forward signal: the first layer whose output std is below ``vanish`` x its
          reference scale (vanishing) or above ``explode`` x (exploding), with the
          initializer usually suited to that activation. The reference is the std of the
          signal where it entered the network's weights (the model input after any
          ``Rescaling``/``Normalization`` front end; for token ids, the embedding
          output) or the output scale of the last normalization layer on the path.
          Probability outputs (softmax/sigmoid heads), front ends, embeddings and
          LayerScale are not judged;
        * ReLU layers whose ``dead`` fraction is >= ``dead``; bounded layers whose
          saturated fraction is >= ``saturated``; a softmax whose mean top probability
          is above
          ``top_prob`` (overconfident from the start: logits far too large);
        * the backward signal, over layers with a kernel: the gradient/weight ratio of
          the first (bottom) layer differs from the last (top) layer's by more than
          ``ratio_spread`` (vanishing or exploding gradients); or every layer's ratio is
          below ``tiny_ratio`` (no layer will learn).
        """
        out: list[str] = []
        rows = self.rows
        bad = [
            r
            for r in rows
            if r.get("observed", True)
            and not (np.isfinite(r["out_std"]) and np.isfinite(r["out_mean"]))
        ]
        bad += [
            r
            for r in rows
            if r["grad_norm"] is not None and not np.isfinite(r["grad_norm"])
        ]
        if bad:
            names = sorted({r["layer"] for r in bad})
            out.append(
                f"non-finite values (nan/inf) at layer(s) {', '.join(names)}: the"
                " signal overflowed"
            )
        deliberate = ("zero branch", "zero head", "layer scale")
        zero = [
            r
            for r in rows
            if r["weight_norm"] == 0.0
            and r.get("role") not in deliberate
            and r.get("weight_role", "kernel") == "kernel"
        ]
        if zero:
            out.append(
                f"all-zero kernel at layer(s) {', '.join(r['layer'] for r in zero)}:"
                " every unit computes the same thing and gets the same gradient"
                " (symmetry not broken); use a random initializer"
            )
        judged = [r for r in self._judged() if np.isfinite(r["out_std"])]
        # a layer that feeds a normalization layer is rescaled by it; only an output
        # variance
        # far below the normalization's epsilon is lost (var < eps/10: its output std <
        # 0.3)
        swamped = [
            r
            for r in judged
            if r.get("normalized")
            and r["weight_norm"] != 0.0
            and r["out_std"] ** 2 < 0.1 * r["norm_eps"]
        ]
        if swamped:
            first = swamped[0]
            more = f" (and {len(swamped) - 1} more)" if len(swamped) > 1 else ""
            out.append(
                f"layer {first['layer']}: output variance"
                f" {_short(first['out_std'] ** 2)} is far below the epsilon"
                f" {_short(first['norm_eps'])} of the normalization after it{more}: the"
                " normalization cannot restore the scale (its output std < 0.3), the"
                " signal is vanishing; scale the kernel up"
            )
        judged = [r for r in judged if not r.get("normalized")]
        low = [
            r
            for r in judged
            if r["out_std"] < vanish * r["ref_std"] and r["weight_norm"] != 0.0
        ]
        high = [r for r in judged if r["out_std"] > explode * r["ref_std"]]
        for found, what in ((low, "vanishing"), (high, "exploding")):
            if found:
                first = found[0]
                act = first["activation"] or "linear"
                hint = ""
                if act in _SUGGESTION:
                    suggested = _SUGGESTION[act]
                    current = first.get("initializer")
                    if (
                        current is not None
                        and _FAMILY.get(current) == suggested.split("_")[0]
                    ):
                        hint = (
                            f"; it already uses {current}, so look upstream (the input"
                            " scale, a layer before it)"
                        )
                    else:
                        hint = f"; for {act} use {suggested}"
                more = (
                    f" (and {len(found) - 1} later layer(s))" if len(found) > 1 else ""
                )
                out.append(
                    f"layer {first['layer']}: activations std"
                    f" {_short(first['out_std'])} vs {_ref_text(first)} — signal"
                    f" {what}{more}{hint}"
                )
        dead_rows = [r for r in rows if r["dead"] is not None and r["dead"] >= dead]
        if dead_rows:
            out.append(
                f"dead ReLU fraction >= {dead:g} at {_names(dead_rows, 'dead')}: these"
                " units output 0 and pass no gradient; check the bias and the kernel"
                " scale (he_normal)"
            )
        sat_rows = [
            r
            for r in rows
            if r["saturated"] is not None and r["saturated"] >= saturated
        ]
        if sat_rows:
            pct = ", ".join(
                f"{r['layer']} {100 * r['saturated']:.0f}%" for r in sat_rows[:3]
            )
            more = f" and {len(sat_rows) - 3} more" if len(sat_rows) > 3 else ""
            out.append(
                f"saturated outputs (|a| near the bounds) at {pct}{more}: the"
                " derivative is ~0 there, so these units pass almost no gradient; the"
                " pre-activations are too large: check the kernel scale (glorot_normal"
                " or lecun_normal for tanh/sigmoid) and the scale of the layer's input"
                " (e.g. a residual stream that grows with depth)"
            )
        confident = [
            r
            for r in rows
            if r.get("top_prob") is not None and r["top_prob"] > top_prob
        ]
        for r in confident[:1]:
            out.append(
                f"layer {r['layer']}: softmax saturated at initialization (mean top"
                f" probability {r['top_prob']:.2f}): the logits are far too large, the"
                " first losses will be huge; check the input scale"
                f" ({_ref_text(r) if r.get('ref_std') else 'input'}) and the scale of"
                " the last kernel"
            )
        ratios = [
            r
            for r in rows
            if r["grad_weight_ratio"] is not None
            and np.isfinite(r["grad_weight_ratio"])
            and r.get("weight_role", "kernel") in ("kernel", "embeddings")
            and not r.get("muted")
            and r.get("call", 1) == 1
            and not r.get("normalized")
        ]
        if ratios and max(r["grad_weight_ratio"] for r in ratios) < tiny_ratio:
            worst = max(ratios, key=lambda r: r["grad_weight_ratio"])
            out.append(
                f"gradient/weight ratio at most {_short(worst['grad_weight_ratio'])}"
                f" (layer {worst['layer']}): gradients are negligible in every layer,"
                " training will not move the weights"
            )
        elif len(ratios) >= 2:
            bottom, top = ratios[0], ratios[-1]
            b, t = bottom["grad_weight_ratio"], top["grad_weight_ratio"]
            if t > 0 and (b == 0 or b / t < 1.0 / ratio_spread):
                out.append(
                    f"gradient/weight ratio {_short(b)} at the bottom layer"
                    f" {bottom['layer']} vs {_short(t)} at the top layer"
                    f" {top['layer']}: vanishing gradients — the bottom layers barely"
                    " learn"
                )
            elif b > 0 and (t == 0 or b / t > ratio_spread):
                out.append(
                    f"gradient/weight ratio {_short(b)} at the bottom layer"
                    f" {bottom['layer']} vs {_short(t)} at the top layer"
                    f" {top['layer']}: exploding gradients — the bottom layers get huge"
                    " updates"
                )
        return out

    def notes(self) -> list[str]:
        """What the check recognised and did not flag, in short sentences.

        The run's mode, input front ends, probability heads, LayerScale,
        zero-initialized heads and residual branches, kernels followed by a
        normalization, shared layers, mixed precision; no measured numbers.
        """
        return list(self.context)

    def summary(self, width: int = 88, **thresholds: float) -> str:
        """A short verdict: the model, the mode, the findings and the notes (no table).

        Lines are wrapped at ``width`` columns. ``thresholds`` are passed to
        :meth:`warnings`.
        """
        import textwrap

        found = self.warnings(**thresholds)
        mode = "training mode" if self.training else "inference mode"
        calls = len(self.rows)
        layers = sum(1 for r in self.rows if r.get("call", 1) == 1)
        head = f"{self.model_name or 'model'} ({mode}): {layers} layers checked"
        if calls != layers:
            head += f" ({calls} calls)"

        def item(text: str) -> list[str]:
            return textwrap.wrap(
                text,
                width,
                initial_indent="  - ",
                subsequent_indent="    ",
                break_on_hyphens=False,
            )

        lines = textwrap.wrap(head, width) + textwrap.wrap(
            f"loss: {self.loss_name}", width, subsequent_indent="  "
        )
        lines.append("findings: none" if not found else "findings:")
        for w in found:
            lines += item(w)
        if self.context:
            lines.append("notes:")
            for n in self.context:
                lines += item(n)
        return "\n".join(lines)

    def verdict(self, **thresholds: float) -> str:
        """``"healthy"``, or the kinds of findings :meth:`warnings` reports."""
        kinds = []
        for w in self.warnings(**thresholds):
            for key in (
                "non-finite",
                "all-zero",
                "vanishing",
                "exploding",
                "dead",
                "saturated",
            ):
                if key in w and key not in kinds:
                    kinds.append(key)
            if "negligible" in w and "negligible gradients" not in kinds:
                kinds.append("negligible gradients")
        return "healthy" if not kinds else ", ".join(kinds)

    def plot(self, axes: Sequence[Any] | None = None) -> Any:
        """Activation std (left) and kernel-gradient norm (right) by layer, log scale.

        Parameters
        ----------
        axes : sequence of two matplotlib Axes or None
            Where to draw; None creates a figure with two side-by-side axes.

        Returns
        -------
        numpy.ndarray of matplotlib Axes
            The two axes (no titles, no ``plt.show()``). Zero values cannot be drawn on
            a log scale and are left out. With more than 40 rows, only every k-th layer
            is
            named on the x axis.
        """
        import matplotlib.pyplot as plt

        if axes is None:
            _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
        grid = np.asarray(axes, dtype=object).ravel()
        if grid.size != 2:
            raise ValueError(f"axes: expected two matplotlib Axes, got {grid.size}")
        idx = np.arange(len(self.rows))
        std = np.array([r["out_std"] for r in self.rows], dtype=float)
        keep = np.isfinite(std) & (std > 0)
        grid[0].plot(idx[keep], std[keep], marker="o")
        grid[0].set_yscale("log")
        grid[0].set_xlabel("layer")
        grid[0].set_ylabel("activation std")
        grad = np.array(
            [np.nan if r["grad_norm"] is None else r["grad_norm"] for r in self.rows],
            dtype=float,
        )
        keep = np.isfinite(grad) & (grad > 0)
        grid[1].plot(idx[keep], grad[keep], marker="o", color="C1")
        grid[1].set_yscale("log")
        grid[1].set_xlabel("layer")
        grid[1].set_ylabel(r"$\|\nabla_W L\|$")
        step = max(1, math.ceil(len(self.rows) / 40))
        ticks = idx[::step]
        for ax in grid:
            ax.set_xticks(
                ticks,
                [self.rows[i]["layer"] for i in ticks],
                rotation=60,
                ha="right",
                fontsize=7,
            )
        return grid


def _ref_text(row: dict[str, Any]) -> str:
    source = row.get("ref_from", "input")
    value = _short(row["ref_std"])
    if source == "input":
        return f"input std {value}"
    return f"std {value} {source}"


# ---------------------------------------------------------------------------
# computation


def _activation_name(layer: Any) -> str | None:
    """Name of the function a layer applies last (None when it has no activation
    notion)."""
    cls = type(layer).__name__
    if cls == "ReLU":
        return "relu"
    if cls in ("LeakyReLU", "ELU", "PReLU", "Softmax"):
        return {
            "LeakyReLU": "leaky_relu",
            "ELU": "elu",
            "PReLU": "prelu",
            "Softmax": "softmax",
        }[cls]
    if mw.is_time_distributed(layer):
        return _activation_name(layer.layer)
    fn = getattr(layer, "activation", None)
    if fn is None or isinstance(fn, str) and not fn:
        return None
    if isinstance(fn, str):
        return fn
    return getattr(fn, "__name__", type(fn).__name__)


def _main_weight(unit: Any) -> tuple[Any, str | None, Any | None]:
    """``(variable, role, owner layer)`` shown in the kernel columns of ``unit``'s rows.

    The input kernel if the unit has one (Dense/Conv/EinsumDense kernel, an RNN cell's
    input
    kernel, a separable conv's pointwise kernel), else its embeddings, else its largest
    trainable weight (a normalization layer's gamma, LayerScale's gamma); None if none.
    """
    infos = [
        (v, layer)
        for layer in mw.unit_layers(unit)
        for v in mw.own_variables(layer)
        if v.trainable and mw._is_float(v)
    ]
    if not infos:
        return None, None, None
    for wanted in ("kernel", "pointwise_kernel", "depthwise_kernel", "embeddings"):
        for v, layer in infos:
            if v.name == wanted:
                role = "embeddings" if wanted == "embeddings" else "kernel"
                return v, role, layer
    v, layer = max(infos, key=lambda item: int(np.prod(item[0].shape)))
    return v, mw._role(layer, v)[0], layer


def _initializer_name(owner: Any, variable: Any) -> str | None:
    attribute = mw.INIT_ATTRIBUTE.get(str(variable.name))
    init = getattr(owner, attribute, None) if attribute else None
    return None if init is None else type(init).__name__


def _norm(t: Any) -> float:
    """Frobenius norm in float64 (TensorFlow, no copy to numpy)."""
    import tensorflow as tf

    x = tf.cast(t, tf.float64)
    return float(tf.sqrt(tf.reduce_sum(tf.square(x))).numpy())


def _grad_norm(grad: Any) -> tuple[float, Any]:
    """Frobenius norm of a gradient (dense or ``tf.IndexedSlices``) and the rows it
    touches."""
    import tensorflow as tf

    if grad is None:
        return 0.0, None
    if isinstance(grad, tf.IndexedSlices):
        rows, position = tf.unique(grad.indices)
        summed = tf.math.unsorted_segment_sum(grad.values, position, tf.shape(rows)[0])
        return _norm(summed), rows
    return _norm(grad), None


def _moments(t: Any) -> tuple[float, float]:
    """Mean and std (population, as numpy's) of all elements, in float64."""
    import tensorflow as tf

    x = tf.cast(t, tf.float64)
    if int(tf.size(x)) == 0:
        return float("nan"), float("nan")
    mean = tf.reduce_mean(x)
    std = tf.sqrt(tf.reduce_mean(tf.square(x - mean)))
    return float(mean.numpy()), float(std.numpy())


def _std_of(tensor: Any) -> float:
    if tensor is None:
        return float("nan")
    return _moments(tensor)[1]


def _output_names(model: Any, flat: list[Any], structure: Any) -> list[str]:
    import keras

    if isinstance(structure, dict):
        paths = [p for p, _ in keras.tree.flatten_with_path(structure)]
        return ["/".join(str(k) for k in p) for p in paths]
    names = getattr(model, "output_names", None)
    if names and len(names) == len(flat):
        return [str(n) for n in names]
    return [str(i) for i in range(len(flat))]


def _select_outputs(outputs: Any, names: list[str]) -> list[int]:
    """Indices of the outputs the caller named (None: all)."""
    if outputs is None:
        return list(range(len(names)))
    items = [outputs] if isinstance(outputs, (str, int)) else list(outputs)
    if not items:
        raise ValueError(
            "outputs: expected None, an output name or index, or a list of them; got"
            f" {outputs!r}"
        )
    chosen = []
    for item in items:
        index = mw.as_int(item)
        if index is not None:
            if not -len(names) <= index < len(names):
                raise ValueError(
                    f"outputs: index {index} out of range for {len(names)} output(s)"
                    f" {names}"
                )
            index %= len(names)
        elif isinstance(item, str) and item in names:
            index = names.index(item)
        else:
            raise ValueError(
                f"outputs: {item!r} is not one of the model's outputs {names} (or an"
                " index)"
            )
        if index not in chosen:
            chosen.append(index)
    return chosen


def _per_output(
    value: Any, names: list[str], chosen: list[int], what: str
) -> list[Any]:
    """``value`` for each chosen output: one thing for all, or a dict by output name, or
    a
    list/tuple with one entry per output (all outputs, or the chosen ones)."""
    if isinstance(value, dict):
        missing = [names[i] for i in chosen if names[i] not in value]
        if missing:
            raise ValueError(
                f"{what}: dict keys {list(value)} miss the output(s) {missing}"
            )
        return [value[names[i]] for i in chosen]
    per_output = isinstance(value, (list, tuple)) and (
        what == "loss" or len(chosen) > 1 or len(names) > 1
    )
    if per_output:
        if len(value) == len(names):
            return [value[i] for i in chosen]
        if len(value) == len(chosen):
            return list(value)
        raise ValueError(
            f"{what}: expected one entry per output {[names[i] for i in chosen]}, "
            f"got {len(value)}"
        )
    return [value] * len(chosen)


def _loss_fn(
    spec: Any, y: np.ndarray | None, pred_shape: tuple[int, ...], act: str | None
):
    """``(fn(y_true, y_pred) -> tensor, name)`` for one output."""
    import keras

    if spec is not None:
        fn = keras.losses.get(spec) if isinstance(spec, str) else spec
        if not callable(fn):
            raise TypeError(
                f"loss: expected a Keras loss name or a callable, got {spec!r}"
            )
        return fn, getattr(fn, "name", getattr(fn, "__name__", str(spec)))
    assert y is not None
    labels = (
        np.issubdtype(y.dtype, np.integer)
        and len(pred_shape) >= 2
        and (y.shape == pred_shape[:-1] or y.shape == (*pred_shape[:-1], 1))
    )
    if labels:
        from_logits = act != "softmax"
        return (
            keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits),
            "sparse_categorical_crossentropy"
            + (" (from logits)" if from_logits else ""),
        )
    return keras.losses.MeanSquaredError(), "mean_squared_error"


def _surrogate(pred: Any, act: str | None, seed: int):
    """The loss used without targets, and its name (see :func:`layer_stats`)."""
    import keras
    import tensorflow as tf

    shape = tuple(int(d) for d in pred.shape)
    rng = np.random.default_rng(seed)
    if act == "softmax" and len(shape) >= 2 and shape[-1] >= 2:
        labels = tf.constant(rng.integers(0, shape[-1], size=shape[:-1]))
        value = tf.reduce_mean(
            keras.losses.sparse_categorical_crossentropy(labels, pred)
        )
        return value, "surrogate: cross-entropy with random labels (softmax output)"
    if act in ("sigmoid", "hard_sigmoid"):
        labels = tf.constant(rng.integers(0, 2, size=shape).astype(np.float32))
        value = tf.reduce_mean(keras.losses.binary_crossentropy(labels, pred))
        return (
            value,
            "surrogate: binary cross-entropy with random labels (sigmoid output)",
        )
    return 0.5 * tf.reduce_mean(tf.square(pred)), "surrogate 0.5*mean(output^2)"


def _compute_dtypes(layers: Sequence[Any]) -> set[str]:
    return {str(getattr(layer, "compute_dtype", "float32")) for layer in layers}


def _check_args(saturation: Any, training: Any) -> None:
    if (
        isinstance(saturation, bool)
        or not isinstance(saturation, (int, float))
        or not 0.5 < saturation < 1.0
    ):
        raise ValueError(
            f"saturation: expected a number in (0.5, 1), got {saturation!r}"
        )
    if not isinstance(training, bool):
        raise TypeError(f"training: expected True or False, got {training!r}")


def layer_stats(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    loss: None | str | Callable[..., Any] | Sequence[Any] | dict[str, Any] = None,
    saturation: float = 0.97,
    training: bool = True,
    outputs: None | str | int | Sequence[str | int] = None,
) -> LayerStats:
    """Forward and backward statistics of every layer of ``model`` on the batch ``x``.

    One forward pass records each layer's input and output; one ``tf.GradientTape``
    gives the gradient of a scalar loss :math:`L` with respect to every kernel.

    * Rows: one per call of every layer (nested models and custom layers are opened)
      that has weights, plus activation layers (``Activation``, ``ReLU``, ...),
      preprocessing layers (``Rescaling``, ``Normalization``) and ``Add``; an RNN layer
      stands for its cell, ``TimeDistributed`` for its inner layer. ``Dense``/``Conv``
      outputs are *after* their activation. A layer called k times (shared) gets k rows,
      ``name#1`` ...
    * ``saturated`` (bounded activations): fraction of outputs within ``1 - saturation``
      of a bound — :math:`|a| > 0.97` for tanh/softsign, :math:`a < 0.03` or :math:`a >
      0.97` for sigmoid/hard_sigmoid (default ``saturation=0.97``). There
      :math:`\\tanh'(z) = 1 - a^2 < 0.06`: the unit passes almost no gradient.
    * ``dead`` (relu/relu6): fraction of outputs exactly 0 over the batch (a unit that
      is 0 for every input gets no gradient at all).
    * ``kernel_std``: std of the layer's input kernel (an RNN's input kernel, a
      separable convolution's pointwise kernel, an Embedding's table; for layers without
      one, of the largest trainable weight); ``grad_norm``: Frobenius norm of
      :math:`\\nabla_W L` (a sparse gradient, e.g. an Embedding's, is summed per row
      first); ``grad_weight_ratio``: :math:`\\lVert\\nabla_W L\\rVert / \\lVert
      W\\rVert` (for an Embedding, over the rows the batch looks up).
    * The loss :math:`L`, summed over the outputs (all of them, or those named in
      ``outputs``): with ``loss=`` given, that loss (a Keras name or ``f(y_true,
      y_pred)``, or one per output) of ``y`` (or of zeros when ``y`` is None); else,
      when ``y`` is None, a surrogate: for a softmax output the cross-entropy with
      random labels (drawn with a fixed seed), for a sigmoid output the binary
      cross-entropy with random 0/1 labels (these give the gradient scale of the first
      training step), for any other output :math:`L =
      \\tfrac12\\,\\mathrm{mean}(f(x)^2)` (its gradient is the backward pass of the
      outputs themselves); when ``y`` is given, the model's compiled loss if any, else
      sparse categorical cross-entropy (from logits, unless the output is a softmax)
      when ``y`` holds one integer label per example and the output is ``(batch,
      classes)``, else mean squared error. Predictions enter the loss in float32; under
      a float16 policy the loss is scaled for the backward pass (as
      ``LossScaleOptimizer`` does) so that small gradients do not underflow, and the
      gradients are unscaled in float32.
    * ``training=True`` (default) runs the model as it trains: ``BatchNormalization``
      normalizes with the batch statistics, ``Dropout`` drops. Variables the pass
      changes (moving statistics, random-generator states) are restored afterwards, so
      the model is left exactly as it was. ``training=False`` shows the model in
      inference mode.

    Parameters
    ----------
    model : keras.Model
        A Keras model (Sequential, functional or subclassed). A model that is not built
        yet (e.g. a Sequential without ``keras.Input``) is built by calling it on ``x``.
    x : array_like, list or tuple of array_like, or dict
        A batch (>= 2 examples) shaped like the model input(s): one array, one per input
        in order, or a dict keyed by input name. Integer arrays (token ids) stay
        integers.
    y : array_like, list or dict, optional
        Targets for the loss (see above), one per selected output.
    loss : str, callable, list or dict, optional
        Overrides the loss (one for all outputs, or one per output).
    saturation : float
        Threshold in (0.5, 1) for the saturated fraction.
    training : bool
        The mode the model runs in (see above).
    outputs : str, int or list of them, optional
        The outputs that enter the loss (names or indices); None: all of them.

    Returns
    -------
    LayerStats

    Raises
    ------
    TypeError
        ``model`` is not a ``keras.Model``; ``x`` is not numbers; ``training`` is not a
        bool.
    ValueError
        ``x`` does not match the model input(s), holds NaN/inf values (named as an input
        problem, before anything runs), or cannot build a model that is not built;
        ``saturation`` is out of range; ``outputs`` names no output; ``y`` does not
        match.
    """
    import keras
    import tensorflow as tf

    mw.check_model(model)
    _check_args(saturation, training)
    inputs = mw.prepare_inputs(model, x)
    mw.build_on(model, inputs)
    all_layers = mw.walk(model)
    unit_list = mw.units(model)
    reported = [
        u
        for u in unit_list
        if mw.own_variables(u)
        or mw.unit_of_children(u)
        or type(u).__name__ in mw.ACTIVATION_LAYERS
        or type(u).__name__ in mw.MERGE_LAYERS
        or mw.is_front_end(u)
    ]
    if not [u for u in reported if not mw.is_front_end(u)]:
        raise ValueError(
            f"model: {model.name!r} has no layer with weights or activation to report "
            f"(layers: {[type(layer).__name__ for layer in all_layers]})"
        )
    hidden_inside = {
        id(layer) for u in unit_list if mw.unit_of_children(u) for layer in mw.walk(u)
    }
    ops = mw.graph_operations(model)
    patched = [layer for layer in all_layers if id(layer) not in hidden_inside] + ops
    reported += [op for op in ops if type(op).__name__ in mw.MERGE_LAYERS]
    names_of = mw.display_names(reported, model)
    main = {id(u): _main_weight(u) for u in reported}
    variables: list[Any] = []
    for v, _, _ in main.values():
        if v is not None and not any(v is w for w in variables):
            variables.append(v)
    float16 = "float16" in _compute_dtypes(all_layers)
    saved = mw.snapshot(model.non_trainable_variables)
    x_tensors = mw.to_tensors(inputs.value)
    try:
        with mw.Recorder(patched) as rec, tf.GradientTape(persistent=float16) as tape:
            pred = model(x_tensors, training=training)
            flat = keras.tree.flatten(pred)
            names = _output_names(model, flat, pred)
            chosen = _select_outputs(outputs, names)
            producer = _producers(rec.records)
            acts = [_output_activation(producer.get(id(flat[i]))) for i in chosen]
            total, loss_name = _loss(
                model, flat, names, chosen, acts, y, loss, inputs.batch
            )
        scale = 1.0
        grads: Any = None
        if float16:
            for scale in (2.0**15, 2.0**10, 2.0**5, 1.0):
                grads = tape.gradient(
                    total, variables, output_gradients=tf.constant(scale, total.dtype)
                )
                if all(
                    g is None or bool(np.all(np.isfinite(_dense(g)))) for g in grads
                ):
                    break
            del tape
        else:
            grads = tape.gradient(total, variables)
    finally:
        mw.restore(saved)
    grad_of: dict[int, Any] = {}
    for v, g in zip(variables, grads):
        if g is not None and scale != 1.0:
            g = _unscale(g, scale)
        grad_of[id(v)] = g
    output_ids = {id(flat[i]) for i in range(len(flat))}
    rows, context = _rows(
        rec,
        reported,
        main,
        grad_of,
        output_ids,
        saturation,
        training,
        model,
        inputs,
        names_of,
    )
    if float16:
        context.append(
            "mixed precision (float16 compute): statistics computed in float64,"
            " predictions enter the loss in float32, and the loss was scaled by"
            f" {scale:g} for the backward pass (as LossScaleOptimizer does)"
        )
    if len(chosen) < len(flat):
        context.append(
            f"outputs: only {', '.join(names[i] for i in chosen)} entered the loss "
            f"(of {', '.join(names)})"
        )
    return LayerStats(
        rows=rows,
        input_std=float(np.asarray(inputs.arrays[0], dtype=np.float64).std()),
        loss_name=loss_name,
        saturation=saturation,
        training=training,
        model_name=str(model.name),
        context=context,
    )


def _dense(grad: Any) -> np.ndarray:
    import tensorflow as tf

    if isinstance(grad, tf.IndexedSlices):
        return np.asarray(grad.values.numpy())
    return np.asarray(grad.numpy())


def _unscale(grad: Any, scale: float) -> Any:
    import tensorflow as tf

    if isinstance(grad, tf.IndexedSlices):
        values = tf.cast(grad.values, tf.float32) / scale
        return tf.IndexedSlices(values, grad.indices, grad.dense_shape)
    return tf.cast(grad, tf.float32) / scale


def _producers(records: Sequence[mw.CallRecord]) -> dict[int, mw.CallRecord]:
    """Tensor id -> the innermost recorded call that returned it."""
    out: dict[int, mw.CallRecord] = {}
    for r in records:
        for t in r.outputs:
            out.setdefault(id(t), r)
    return out


def _output_activation(record: mw.CallRecord | None) -> str | None:
    return None if record is None else _activation_name(record.layer)


def _loss(model, flat, names, chosen, acts, y, loss, batch):
    """The scalar loss summed over the chosen outputs, and its name."""
    import tensorflow as tf

    preds = [tf.cast(flat[i], tf.float32) for i in chosen]
    if y is None and loss is None:
        parts = [_surrogate(p, a, seed=k) for k, (p, a) in enumerate(zip(preds, acts))]
    else:
        ys = (
            _per_output(y, names, chosen, "y")
            if y is not None
            else [None] * len(chosen)
        )
        spec = loss if loss is not None else getattr(model, "loss", None)
        specs = (
            _per_output(spec, names, chosen, "loss")
            if spec is not None
            else [None] * len(chosen)
        )
        parts = []
        for i, (pred, act, y_i, spec_i) in enumerate(zip(preds, acts, ys, specs)):
            shape = tuple(int(d) for d in pred.shape)
            y_arr = np.zeros(shape, np.float32) if y_i is None else np.asarray(y_i)
            if y_arr.ndim == 0 or y_arr.shape[0] != batch:
                where = "" if len(chosen) == 1 else f" for output {names[chosen[i]]!r}"
                raise ValueError(
                    f"y: expected {batch} targets like x{where}, got shape"
                    f" {y_arr.shape}"
                )
            fn, name = _loss_fn(spec_i, y_arr, shape, act)
            y_t = tf.constant(
                y_arr
                if not np.issubdtype(y_arr.dtype, np.floating)
                else y_arr.astype(np.float32)
            )
            parts.append((tf.reduce_mean(tf.cast(fn(y_t, pred), tf.float32)), name))
    total = parts[0][0]
    for value, _ in parts[1:]:
        total = total + value
    if len(parts) == 1:
        return total, parts[0][1]
    labels = "; ".join(f"{names[i]}: {n}" for i, (_, n) in zip(chosen, parts))
    return total, f"sum over {len(parts)} outputs ({labels})"


# --------------------------------------------------------------------------- rows


def _row_stats(t: Any, act: str | None, saturation: float) -> dict[str, Any]:
    """Mean, std, saturated and dead fractions of a layer output ``t`` (None: not
    observed)."""
    import tensorflow as tf

    out: dict[str, Any] = {
        "out_mean": float("nan"),
        "out_std": float("nan"),
        "saturated": None,
        "dead": None,
    }
    if t is None:
        return out
    out["out_mean"], out["out_std"] = _moments(t)
    if int(tf.size(t)) == 0:
        return out
    if act in BOUNDED:
        lo, hi = BOUNDED[act]
        margin = (1.0 - saturation) * (hi - lo) / (2.0 if lo < 0 else 1.0)
        x = tf.cast(t, tf.float64)
        near = tf.logical_or(x < lo + margin, x > hi - margin)
        out["saturated"] = float(tf.reduce_mean(tf.cast(near, tf.float64)).numpy())
    if act in RELU_LIKE:
        out["dead"] = float(tf.reduce_mean(tf.cast(tf.equal(t, 0), tf.float64)).numpy())
    if act == "softmax" and len(t.shape) >= 2 and int(t.shape[-1]) >= 2:
        top = tf.reduce_max(tf.cast(t, tf.float64), axis=-1)
        out["top_prob"] = float(tf.reduce_mean(top).numpy())
    return out


def _rows(
    rec, reported, main, grad_of, output_ids, saturation, training, model, inputs, names
):
    """Rows for every recorded call of a reported unit, plus the context notes.

    Walks the recorded calls in the order they completed (a topological order of the
    computation) and propagates, tensor by tensor, (1) the reference scale of the signal
    and (2) which deliberately silent layers (zero kernel or gamma, small LayerScale) a
    tensor
    comes from alone, to tell a zero-initialized residual branch or head from a fault.
    """
    reported_ids = {id(u) for u in reported}
    producer = _producers(rec.records)
    counts = rec.counts
    std_cache: dict[int, float] = {}
    ref_of: dict[int, tuple[float | None, str]] = {}
    silent_of: dict[int, frozenset] = {}
    origins: dict[int, str] = {}  # id(record) -> 'zero' | 'scale'
    used: dict[int, str] = {}  # id(record) of an origin -> 'branch' | 'head'
    rows: list[dict[str, Any]] = []
    row_of_record: dict[int, dict[str, Any]] = {}
    weight_cache: dict[int, tuple[np.ndarray, float]] = {}

    def std(t: Any) -> float:
        if id(t) not in std_cache:
            std_cache[id(t)] = _std_of(t)
        return std_cache[id(t)]

    for r in rec.records:
        layer = r.layer
        cls = type(layer).__name__
        refs = [
            ref_of[id(t)]
            for t in r.inputs
            if ref_of.get(id(t), (None, ""))[0] is not None
        ]
        in_ref: float | None = float(np.mean([v for v, _ in refs])) if refs else None
        in_from = refs[0][1] if refs else "input"
        a = r.output if id(layer) in reported_ids and r.output is not None else None
        has_kernel = main.get(id(layer), (None, None, None))[1] == "kernel"
        out_ref: tuple[float | None, str] = (in_ref, in_from)
        if mw.is_front_end(layer):
            pass
        elif cls == "Embedding":
            out_ref = (std(r.output), f"from the embedding {layer.name}")
        elif mw.is_normalization(layer) and (cls != "BatchNormalization" or training):
            out_ref = (1.0, f"after normalization layer {layer.name}")
        elif in_ref is None and has_kernel and r.primary is not None:
            in_ref, in_from = std(r.primary), "input"
            out_ref = (in_ref, in_from)
        for t in r.outputs:
            ref_of.setdefault(id(t), out_ref)
        silent_in = [
            silent_of.get(id(t), frozenset()) for t in r.inputs if id(t) in producer
        ]
        origin = _silent_origin(layer, main)
        if origin:
            silent = frozenset([id(r)])
            origins[id(r)] = origin
        elif cls in mw.MERGE_LAYERS and any(silent_in) and not all(silent_in):
            for s in silent_in:
                for o in s:
                    used.setdefault(o, "branch")
            silent = frozenset()
        elif silent_in and all(silent_in):
            silent = frozenset().union(*silent_in)
        else:
            silent = frozenset()
        for t in r.outputs:
            silent_of.setdefault(id(t), silent)
            if (
                id(t) in output_ids and origin
            ):  # the silent layer is itself an output layer
                used.setdefault(id(r), "head")
            elif id(t) in output_ids and not mw.own_variables(
                layer
            ):  # e.g. a Softmax after it
                before = producer.get(id(r.primary)) if r.primary is not None else None
                if before is not None and id(before) in origins:
                    used.setdefault(id(before), "head")
        if id(layer) not in reported_ids:
            continue
        row = _make_row(
            r, layer, a, counts, main, grad_of, saturation, weight_cache, names
        )
        if a is not None:
            std_cache.setdefault(id(a), row["out_std"])
        floating = r.primary is not None and r.primary.dtype.is_floating
        row["in_std"] = std(r.primary) if floating else None
        row["ref_std"] = in_ref
        row["ref_from"] = in_from
        row["role"] = _role_of(layer, r, output_ids, training)
        row["_silent"] = silent
        rows.append(row)
        row_of_record[id(r)] = row
    records = rec.records
    # a custom layer whose output is live although a silent origin ran inside it merged
    # that branch with its input (``x + self.branch(x)`` in Python, invisible otherwise)
    for index, r in enumerate(records):
        start = r.extra.get("start", index)
        live_out = r.output is not None and not silent_of.get(id(r.output))
        if start < index and live_out:
            for inner in records[start:index]:
                if id(inner) in origins:
                    used.setdefault(id(inner), "branch")

    def deliberate(origin: int) -> bool:
        return origins.get(origin) == "scale" or origin in used

    consumers: dict[int, list[mw.CallRecord]] = {}
    for r in records:
        for t in r.inputs:
            consumers.setdefault(id(t), []).append(r)
    # muted: every use of the call's output ends in a deliberately silent layer, so its
    # gradient is (near) zero by design at step 0
    muted: set[int] = set()
    for r in reversed(records):
        after = [c for t in r.outputs for c in consumers.get(id(t), [])]
        if after and all(
            (id(c) in origins and deliberate(id(c))) or id(c) in muted for c in after
        ):
            muted.add(id(r))
    for r in records:
        found = row_of_record.get(id(r))
        if found is None:
            continue
        row = found
        row["muted"] = id(r) in muted
        if row.get("weight_role") == "kernel" and r.output is not None:
            after = consumers.get(id(r.output), [])
            row["normalized"] = bool(after) and all(
                mw.is_normalization(c.layer)
                and (type(c.layer).__name__ != "BatchNormalization" or training)
                for c in after
            )
            if row["normalized"]:
                eps = [float(getattr(c.layer, "epsilon", 0.0) or 0.0) for c in after]
                row["norm_eps"] = max(eps)
    for rid, kind in origins.items():
        found = row_of_record.get(rid)
        if found is None:
            continue
        row = found
        row["origin"] = True
        if kind == "scale":
            row["role"] = "layer scale"
        elif rid in used:
            row["role"] = "zero head" if used[rid] == "head" else "zero branch"
    for row in rows:
        silent = row.pop("_silent")
        if silent and not row.get("origin") and all(deliberate(o) for o in silent):
            if row["role"] in ("layer", "merge", "normalization", "output"):
                scale = all(origins.get(o) == "scale" for o in silent)
                row["role"] = "layer scale" if scale else "zero branch"
    context = _context(rows, rec, reported, counts, training, model, inputs)
    return rows, context


def _silent_origin(layer: Any, main: dict[int, Any]) -> str | None:
    """'zero' for an all-zero kernel or gamma, 'scale' for a small LayerScale, else
    None."""
    if mw.is_layer_scale(layer):
        values = [
            np.abs(v.numpy()).max() for v in mw.own_variables(layer) if v.trainable
        ]
        if values and max(values) < LAYER_SCALE_MAX:
            return "scale"
        return None
    v, role, _ = main.get(id(layer), (None, None, None))
    if v is None:
        return None
    if role == "kernel" or (role == "normalization" and v.name == "gamma"):
        import tensorflow as tf

        if not bool(tf.reduce_any(tf.not_equal(v.value, 0)).numpy()):
            return "zero"
    return None


def _make_row(
    r, layer, a, counts, main, grad_of, saturation, cache, names
) -> dict[str, Any]:
    import tensorflow as tf

    act = _activation_name(layer)
    calls = counts.get(id(layer), 1)
    base = names.get(id(layer), layer.name)
    name = base if calls == 1 else f"{base}#{r.index + 1}"
    row: dict[str, Any] = {
        "layer": name,
        "type": type(layer).__name__,
        "activation": act,
        "kernel_std": None,
        "grad_norm": None,
        "weight_norm": None,
        "grad_weight_ratio": None,
        "call": r.index + 1,
        "calls": calls,
        "observed": a is not None,
    }
    row.update(_row_stats(a, act, saturation))
    kernel, role, owner = main.get(id(layer), (None, None, None))
    if kernel is not None:
        if id(kernel) not in cache:
            cache[id(kernel)] = _kernel_summary(kernel)
        w_std, w_norm = cache[id(kernel)]
        g_norm, touched = _grad_norm(grad_of.get(id(kernel)))
        ratio_norm = w_norm
        if touched is not None:  # sparse gradient: compare with the rows it updates
            ratio_norm = _norm(tf.gather(kernel.value, touched))
        row["kernel_std"] = w_std
        row["grad_norm"] = g_norm
        row["weight_norm"] = w_norm
        row["grad_weight_ratio"] = (
            g_norm / ratio_norm if ratio_norm > 0 else float("nan")
        )
        row["weight"] = str(getattr(kernel, "path", kernel.name))
        row["weight_role"] = role
        row["initializer"] = _initializer_name(owner, kernel)
    return row


def _kernel_summary(kernel: Any) -> tuple[float, float]:
    """(std, Frobenius norm) of a weight, in float64."""
    _, w_std = _moments(kernel.value)
    return w_std, _norm(kernel.value)


def _role_of(layer: Any, r: mw.CallRecord, output_ids: set[int], training: bool) -> str:
    cls = type(layer).__name__
    if mw.is_front_end(layer):
        return "front end"
    if any(id(t) in output_ids for t in r.outputs):
        return "output"
    if cls == "Embedding":
        return "embedding"
    if mw.is_layer_scale(layer):
        return "layer scale"
    if mw.is_normalization(layer) and (cls != "BatchNormalization" or training):
        return "normalization"
    if cls in mw.MERGE_LAYERS:
        return "merge"
    return "layer"


def _context(rows, rec, reported, counts, training, model, inputs) -> list[str]:
    notes: list[str] = []
    bn = [u for u in reported if "BatchNormalization" in mw.class_chain(u)]
    if bn and training:
        notes.append(
            f"training=True: {len(bn)} BatchNormalization layer(s) normalize with the"
            " batch statistics, as in training; their moving statistics were restored"
            " afterwards"
        )
    elif bn:
        notes.append(
            f"training=False: {len(bn)} BatchNormalization layer(s) use their moving"
            " statistics (mean 0, variance 1 at initialization) and do not normalize;"
            " training=True shows the model as it trains"
        )
    for u in reported:
        if mw.is_front_end(u):
            notes.append(f"front end: {_describe_front_end(u)} (not judged)")
    normalized = [r["layer"] for r in rows if r.get("normalized")]
    if normalized:
        notes.append(
            f"{len(normalized)} kernel(s) feed a normalization layer directly: the"
            " normalization undoes their scale in the forward pass, and their"
            " gradient/weight ratio adapts during training (scale invariance), so"
            " their ratio is not compared across layers"
        )
    muted = [
        r["layer"] for r in rows if r.get("muted") and r.get("weight_role") == "kernel"
    ]
    if muted:
        notes.append(
            f"{len(muted)} kernel(s) ({_list(muted)}) feed only zero-initialized layers"
            " or LayerScale branches: their gradient is (near) zero at step 0 by"
            " design, so their ratio is not compared"
        )
    heads = [
        r for r in rows if r["role"] == "output" and r["activation"] in PROBABILITIES
    ]
    for r in heads:
        notes.append(
            f"output {r['layer']}: {r['activation']} probabilities, judged through the"
            " loss, not by their std"
        )
    scale = [r["layer"] for r in rows if r["role"] == "layer scale" and r.get("origin")]
    if scale:
        notes.append(
            f"LayerScale: {len(scale)} layer(s) ({_list(scale)}) start with gamma below"
            f" {LAYER_SCALE_MAX:g}, so their residual branches add almost nothing at"
            " initialization (Touvron et al. 2021): by design, not judged"
        )
    zero_branch = [
        r["layer"] for r in rows if r["role"] == "zero branch" and r.get("origin")
    ]
    if zero_branch:
        notes.append(
            f"zero-initialized residual branch(es) ending at {_list(zero_branch)}: each"
            " block starts as the identity (SkipInit, Fixup, zero-gamma), by design;"
            " layers inside these branches get zero gradient until the first update"
        )
    zero_head = [
        r["layer"] for r in rows if r["role"] == "zero head" and r.get("origin")
    ]
    if zero_head:
        notes.append(
            f"zero-initialized output layer(s) {_list(zero_head)} (as in ViT): by"
            " design; their own gradient is nonzero, the layers below get gradients"
            " after the first update"
        )
    shared = [u.name for u in reported if counts.get(id(u), 0) > 1]
    if shared:
        notes.append(
            f"shared layer(s) {_list(shared)} called several times: one row per call "
            f"({shared[0]}#1, {shared[0]}#2, ...)"
        )
    missing = [
        u.name for u in reported if counts.get(id(u), 0) == 0 and mw.own_variables(u)
    ]
    if missing:
        notes.append(
            f"layer(s) {_list(missing)} were not called on x (an unused branch?):"
            " no row"
        )
    hidden = [layer.name for layer in mw.walk(model) if rec.hidden.get(id(layer))]
    if hidden:
        notes.append(
            f"layer(s) {_list(hidden)} ran inside compiled code (tf.function or a graph"
            " loop) and could not be observed"
        )
    if any(np.issubdtype(a.dtype, np.integer) for a in inputs.arrays):
        notes.append(
            "integer inputs (token ids): the signal scale starts at the embedding"
        )
    return notes


def _describe_front_end(layer: Any) -> str:
    cls = type(layer).__name__
    if cls == "Rescaling":
        scale, offset = layer.scale, layer.offset
        return (
            f"{layer.name} (Rescaling x {_short(float(np.mean(scale)))}, offset"
            f" {_short(float(np.mean(offset)))})"
        )
    if cls == "Normalization":
        mean = getattr(layer, "mean", None)
        var = getattr(layer, "variance", None)
        m: np.ndarray | None
        v: np.ndarray | None
        try:
            m, v = np.asarray(mean), np.asarray(var)
        except Exception:
            m = v = None
        if (
            m is not None
            and v is not None
            and m.size
            and np.all(m == 0)
            and np.all(v == 1)
        ):
            return (
                f"{layer.name} (Normalization with mean 0 and variance 1: not adapted,"
                " it passes the input unchanged; call .adapt(data) or set"
                " mean/variance)"
            )
        return f"{layer.name} (Normalization with its adapted mean and variance)"
    return f"{layer.name} ({cls})"
