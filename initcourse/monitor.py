"""Training-time diagnostics: a Keras callback that watches each layer as it trains.

:func:`initcourse.diagnostics.layer_stats` checks a model at step 0.
:class:`InitMonitor` repeats that check during ``model.fit``, every ``every`` steps (or
once per epoch), and adds what only training shows, the size of each update:

* the std of each layer's output and the norm of its kernel's gradient
  :math:`\\lVert\\nabla_W L\\rVert`, on a fixed probe batch (one forward and one
  backward pass, with :func:`~initcourse.diagnostics.layer_stats`; the model's weights,
  moving statistics and random state are left as they were);
* the update-to-weight ratio :math:`\\lVert W_{t+1} - W_t\\rVert / \\lVert W_t\\rVert`
  of each kernel over the optimizer step that follows. Karpathy's rule of thumb (CS231n
  notes, <https://cs231n.github.io/neural-networks-3/>) puts a healthy value around
  :math:`10^{-3}`: much smaller and the layer is frozen, much larger and it is
  thrashing.

:meth:`InitMonitor.plot` draws the three quantities against the step, one line per layer
(colour: depth); :meth:`InitMonitor.labels` and :meth:`InitMonitor.summary` turn the
update
ratios into words. Keras/TensorFlow are imported on use.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["InitMonitor", "UPDATE_RATIO_TARGET"]

UPDATE_RATIO_TARGET = 1e-3
"""Karpathy's rule of thumb for ``||update|| / ||weight||`` per step (CS231n notes)."""


def _callback_base() -> type:
    import keras

    return keras.callbacks.Callback


class InitMonitor(_callback_base()):  # type: ignore[misc]
    """Record each layer's activation, gradient and update size during ``fit``.

    Per layer: activation std and gradient norm on a probe batch, and the
    update-to-weight ratio of each optimizer step recorded.

    Parameters
    ----------
    x, y : probe batch
        A fixed batch (as for :func:`~initcourse.diagnostics.layer_stats`: an array, a
        list, a tuple or a dict; ``y`` optional) on which activations and gradients are
        measured at every recorded step. Keep it small (e.g. 64-256 examples): each
        record costs one forward and one backward pass on it.
    every : int or "epoch"
        Record at step 0 and every ``every`` optimizer steps (counted across epochs), or
        at the first step of every epoch.
    loss, training, outputs
        Passed to :func:`~initcourse.diagnostics.layer_stats` (by default the model's
        compiled loss when ``y`` is given, training mode).

    Attributes (filled during ``fit``)
    ----------------------------------
    steps : list of int
        The optimizer step of each record (0 = before the first update).
    epochs : list of int
    layers : list of str
        Layers with a kernel, input to output (rows of ``layer_stats`` with a kernel).
    act_std, grad_norm, grad_ratio, update_ratio : dict of str -> list of float
        Per layer, one value per record: output std, kernel-gradient norm and
        gradient/weight ratio on the probe batch, and ``||W_{t+1} - W_t|| / ||W_t||`` of
        the
        optimizer step taken right after the record (NaN when no step followed).
    loss : list of float
        The training loss Keras logged for that step (NaN if none).
    """

    def __init__(
        self,
        x: Any,
        y: Any = None,
        *,
        every: int | str = 1,
        loss: Any = None,
        training: bool = True,
        outputs: Any = None,
    ) -> None:
        super().__init__()
        if every != "epoch" and (
            isinstance(every, bool)
            or not isinstance(every, numbers.Integral)
            or every < 1
        ):
            raise ValueError(f"every: expected an int >= 1 or 'epoch', got {every!r}")
        if not isinstance(training, bool):
            raise TypeError(f"training: expected True or False, got {training!r}")
        self.x = x
        self.y = y
        self.every = every
        self.loss_spec = loss
        self.training = training
        self.outputs = outputs
        self._reset()

    def _reset(self) -> None:
        self.steps: list[int] = []
        self.epochs: list[int] = []
        self.layers: list[str] = []
        self.act_std: dict[str, list[float]] = {}
        self.grad_norm: dict[str, list[float]] = {}
        self.grad_ratio: dict[str, list[float]] = {}
        self.update_ratio: dict[str, list[float]] = {}
        self.loss: list[float] = []
        self._weights: dict[str, Any] = {}
        self._before: dict[str, Any] | None = None
        self._step = 0
        self._epoch = 0
        self._epoch_start = True

    # ----------------------------------------------------------------- keras hooks

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        from initcourse import _modelwalk as mw

        self._reset()
        mw.check_model(self.model)
        mw.prepare_inputs(self.model, self.x)  # a bad probe batch fails before training

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = int(epoch)
        self._epoch_start = True

    def _due(self) -> bool:
        if self.every == "epoch":
            return self._epoch_start
        return self._step % int(self.every) == 0

    def on_train_batch_begin(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        if self._due():
            self._record()
            self._before = {path: v.value + 0 for path, v in self._weights.items()}
        self._epoch_start = False

    def on_train_batch_end(
        self, batch: int, logs: dict[str, Any] | None = None
    ) -> None:
        if self._before is not None:
            import tensorflow as tf

            for name, path in zip(self.layers, self._paths):
                old = tf.cast(self._before[path], tf.float64)
                new = tf.cast(self._weights[path].value, tf.float64)
                size = float(tf.norm(old).numpy())
                step = float(tf.norm(new - old).numpy())
                self.update_ratio[name][-1] = step / size if size > 0 else math.nan
            value = (logs or {}).get("loss")
            self.loss[-1] = float(value) if value is not None else math.nan
            self._before = None
        self._step += 1

    # ----------------------------------------------------------------- recording

    def _record(self) -> None:
        from initcourse.diagnostics import layer_stats

        stats = layer_stats(
            self.model,
            self.x,
            self.y,
            loss=self.loss_spec,
            training=self.training,
            outputs=self.outputs,
        )
        rows = [
            r for r in stats.rows if r.get("weight_role") in ("kernel", "embeddings")
        ]
        if not self.layers:
            self.layers = [r["layer"] for r in rows]
            self._paths = [r["weight"] for r in rows]
            by_path = {str(getattr(v, "path", v.name)): v for v in self.model.weights}
            self._weights = {p: by_path[p] for p in dict.fromkeys(self._paths)}
            for name in self.layers:
                for store in (
                    self.act_std,
                    self.grad_norm,
                    self.grad_ratio,
                    self.update_ratio,
                ):
                    store[name] = []
        by_name = {r["layer"]: r for r in rows}
        for name in self.layers:
            row = by_name.get(name, {})
            self.act_std[name].append(float(row.get("out_std", math.nan)))
            self.grad_norm[name].append(
                float(row.get("grad_norm") or 0.0) if row else math.nan
            )
            ratio = row.get("grad_weight_ratio")
            self.grad_ratio[name].append(math.nan if ratio is None else float(ratio))
            self.update_ratio[name].append(math.nan)
        self.steps.append(self._step)
        self.epochs.append(self._epoch)
        self.loss.append(math.nan)

    # ----------------------------------------------------------------- reading

    def _check_recorded(self) -> None:
        if not self.steps:
            raise ValueError(
                "InitMonitor: nothing recorded yet; pass it to model.fit(...,"
                " callbacks=[monitor])"
            )

    def median_update_ratio(self) -> dict[str, float]:
        """Per layer, the median update-to-weight ratio over the recorded steps.

        NaN for a layer without a recorded step.
        """
        self._check_recorded()
        out = {}
        for name in self.layers:
            values = np.array(self.update_ratio[name], dtype=float)
            values = values[np.isfinite(values)]
            out[name] = float(np.median(values)) if values.size else math.nan
        return out

    def labels(self, *, low: float = 1e-5, high: float = 1e-1) -> dict[str, str]:
        """Per layer: ``"frozen"``, ``"ok"``, ``"too large"`` or ``"not updated"``.

        ``"frozen"``: median update ratio < ``low``; ``"too large"``: > ``high``;
        ``"not updated"``: no step recorded.

        The defaults sit two decades either side of the :math:`10^{-3}` rule of thumb.
        """
        if not 0 < low < high:
            raise ValueError(
                f"low, high: expected 0 < low < high, got low={low!r}, high={high!r}"
            )
        out = {}
        for name, value in self.median_update_ratio().items():
            if not math.isfinite(value):
                out[name] = "not updated"
            elif value < low:
                out[name] = "frozen"
            elif value > high:
                out[name] = "too large"
            else:
                out[name] = "ok"
        return out

    def summary(self, *, low: float = 1e-5, high: float = 1e-1) -> str:
        """Counts of layers per label and the layers that are not ``ok`` (no raw
        numbers)."""
        labels = self.labels(low=low, high=high)
        counts: dict[str, list[str]] = {}
        for name, label in labels.items():
            counts.setdefault(label, []).append(name)
        parts = [f"{len(v)} {k}" for k, v in sorted(counts.items())]
        lines = [
            f"{len(self.steps)} records over {self.steps[-1] + 1} steps; update/weight"
            f" ratio per layer (median): {', '.join(parts)}"
        ]
        for label in ("frozen", "too large", "not updated"):
            if label in counts:
                names = counts[label]
                more = f" and {len(names) - 3} more" if len(names) > 3 else ""
                lines.append(f"  {label}: {', '.join(names[:3])}{more}")
        return "\n".join(lines)

    def plot(self, axes: Sequence[Any] | None = None, *, target: bool = True) -> Any:
        """Activation std, kernel-gradient norm and update/weight ratio by step.

        One line per layer, coloured from the input (dark) to the output (light) layer;
        log scales; a dashed line at the :math:`10^{-3}` rule of thumb on the third
        panel when ``target``. ``axes``: three matplotlib Axes, or None for a new
        figure. Returns the axes (no titles, no ``plt.show()``).
        """
        import matplotlib.pyplot as plt

        self._check_recorded()
        if axes is None:
            _, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
        grid = np.asarray(axes, dtype=object).ravel()
        if grid.size != 3:
            raise ValueError(f"axes: expected three matplotlib Axes, got {grid.size}")
        cmap = plt.get_cmap("viridis")
        n = max(len(self.layers) - 1, 1)
        steps = np.array(self.steps)
        panels = (
            (self.act_std, "activation std"),
            (self.grad_norm, r"$\|\nabla_W L\|$"),
            (self.update_ratio, r"$\|\Delta W\| / \|W\|$"),
        )
        for ax, (store, label) in zip(grid, panels):
            for i, name in enumerate(self.layers):
                values = np.array(store[name], dtype=float)
                keep = np.isfinite(values) & (values > 0)
                if keep.any():
                    edge = i in (0, len(self.layers) - 1)
                    ax.plot(
                        steps[keep],
                        values[keep],
                        color=cmap(0.9 * i / n),
                        lw=1.2,
                        label=name if edge and ax is grid[0] else None,
                    )
            ax.set_yscale("log")
            ax.set_xlabel("step")
            ax.set_ylabel(label)
        if target:
            grid[2].axhline(UPDATE_RATIO_TARGET, color="0.4", ls="--", lw=1)
        if grid[0].get_legend_handles_labels()[0]:
            grid[0].legend(fontsize=7, title="first / last layer", title_fontsize=7)
        return grid
