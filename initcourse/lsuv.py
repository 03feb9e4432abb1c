"""Layer-sequential unit-variance (LSUV) initialization (Mishkin & Matas 2016).

LSUV (Mishkin & Matas 2016, :cite:`mishkin2016all`, Algorithm 1) is data-dependent:
start from orthogonal kernels (:cite:`saxe2014exact`) and zero biases, then, layer by
layer from the input, measure the variance of the layer's output on one batch and divide
the kernel by its square root until the variance is 1:

.. math::

    W_l \\leftarrow W_l / \\sqrt{\\operatorname{Var}(z_l)}
    \\quad\\text{while } |\\operatorname{Var}(z_l) - 1| \\ge \\text{tol and iterations}
    < \\text{max\\_iter},

where :math:`z_l = x_l W_l + b_l` is the layer's pre-activation (before its own
``activation``), computed with all earlier layers already rescaled. Because the biases
are zero, :math:`z_l` is linear in :math:`W_l` and one step normally suffices.

How it runs: one forward pass of the model in which the ``call`` of every layer LSUV
serves is wrapped. Keras runs a functional model's layers in topological order (a
subclassed model in program order), so when a layer is reached every layer it depends on
is already rescaled, and nothing computed so far depends on it: the wrapper measures the
layer's pre-activation on the input it was just given, rescales the kernel, and returns
the layer's output for the rest of the pass. The whole algorithm costs about two forward
passes.

What each layer gets (the paper covers dense and convolutional layers; the rest follows
the same rule, and Keras's own rule for each weight's role):

* ``Dense``, ``EinsumDense`` (e.g. ``MultiHeadAttention``'s projections),
  ``Conv1D/2D/3D`` and their ``Transpose`` versions: orthogonal kernel (as a matrix from
  the input axes to the output axes), zero bias, rescaled on the pre-activation.
* ``SeparableConv1D/2D``: orthogonal pointwise kernel, the depthwise kernel keeps its
  draw (one filter per channel: orthogonality across channels means nothing), zero bias;
  the pointwise kernel is rescaled. ``DepthwiseConv1D/2D``: the kernel keeps its draw
  and is rescaled.
* ``LSTM``, ``GRU``, ``SimpleRNN`` (also inside ``Bidirectional``): orthogonal input
  kernel, rescaled so that the input projection :math:`x W` has unit variance;
  orthogonal recurrent kernel (Keras's default for that role), not rescaled; zero bias
  (an LSTM with ``unit_forget_bias`` keeps its forget-gate bias at 1, as Keras draws
  it).
* ``TimeDistributed`` around one of the above: as its inner layer, on every time step.
* ``Embedding``: the table keeps its draw and is rescaled so that the looked-up vectors
  have unit variance.

Any other kernel-bearing weight (a custom layer's own matrix, ``ConvLSTM2D``) is not
served: :func:`lsuv` raises an error listing each one, or, with ``unsupported="keep"``,
leaves it unchanged and lists it in the report (and in a warning).
"""

from __future__ import annotations

import numbers
import os
import random
import warnings
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from initcourse import _modelwalk as mw  # noqa: E402

__all__ = ["LSUV_LAYER_TYPES", "LSUVReport", "lsuv", "lsuv_layers"]

LSUV_LAYER_TYPES: tuple[type, ...] = (
    keras.layers.Dense,
    keras.layers.EinsumDense,
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
)
"""Layers with a kernel and an ``activation`` applied last, that LSUV rescales
directly."""

_CELLS: tuple[type, ...] = (
    keras.layers.LSTMCell,
    keras.layers.GRUCell,
    keras.layers.SimpleRNNCell,
)
_KEEP_DRAW = (keras.layers.DepthwiseConv1D, keras.layers.DepthwiseConv2D)


def _kind(unit: Any) -> str | None:
    """How LSUV serves ``unit``: 'linear', 'rnn', 'embedding', 'td', or None (not
    served)."""
    if isinstance(unit, LSUV_LAYER_TYPES):
        lora = getattr(unit, "lora_enabled", False)
        quantized = getattr(unit, "quantization_mode", None)
        return None if lora or quantized else "linear"
    if mw.is_rnn(unit) and isinstance(unit.cell, _CELLS):
        return "rnn"
    if isinstance(unit, keras.layers.Embedding):
        return "embedding"
    if mw.is_time_distributed(unit) and _kind(unit.layer) == "linear":
        return "td"
    return None


def _target(unit: Any) -> Any:
    """The weight LSUV divides by the output std of ``unit``."""
    kind = _kind(unit)
    if kind == "td":
        return _target(unit.layer)
    if kind == "rnn":
        return unit.cell.kernel
    if kind == "embedding":
        return unit.embeddings
    if isinstance(unit, (keras.layers.SeparableConv1D, keras.layers.SeparableConv2D)):
        return unit.pointwise_kernel
    return unit.kernel


def lsuv_layers(model: Any) -> list[Any]:
    """The layers of ``model`` LSUV rescales (nested ones included), in model order.

    Dense/EinsumDense/Conv/ConvTranspose/DepthwiseConv/SeparableConv layers, RNN layers
    with
    an LSTM/GRU/SimpleRNN cell, ``TimeDistributed`` around one of these, and
    ``Embedding``.
    """
    mw.check_model(model)
    return [u for u in mw.units(model) if _kind(u) is not None]


class LSUVReport(list):
    """The list of per-layer dicts :func:`lsuv` returns, with what it did not serve.

    Each dict: ``name``, ``var_before`` (pre-activation variance after the orthogonal
    pre-initialization, before rescaling), ``var_after``, ``iterations`` (rescalings
    done), ``converged`` (``|var_after - 1| < tol``), ``calls`` (how often the layer ran
    in one forward pass; for a shared layer the variances are pooled over its calls),
    ``var_calls`` (the final variance of each call), ``weight`` (the rescaled weight)
    and ``kind``.

    Attributes
    ----------
    kept : list of dict
        Kernel-bearing weights left unchanged with ``unsupported="keep"``: ``layer``,
        ``weight``, ``shape``, ``reason``. Empty when everything was served.
    redrawn : list of str
        Paths of every weight LSUV wrote (pre-initialized, rescaled or zeroed).
    """

    def __init__(
        self, rows: list[dict[str, Any]], kept: list[dict[str, Any]], redrawn: list[str]
    ):
        super().__init__(rows)
        self.kept = kept
        self.redrawn = redrawn

    def format(self) -> str:
        """One line per layer: name, variance before -> after, rescalings, converged."""
        lines = []
        width = max([len(r["name"]) for r in self] + [5])
        for r in self:
            calls = f" ({r['calls']} calls, pooled)" if r["calls"] > 1 else ""
            mark = "ok" if r["converged"] else "NOT CONVERGED"
            lines.append(
                f"{r['name']:<{width}}  Var {r['var_before']:.3g} ->"
                f" {r['var_after']:.3g}  rescalings {r['iterations']}  {mark}{calls}"
            )
        for k in self.kept:
            lines.append(
                f"{k['layer']:<{width}}  kept as it was: {k['weight']} ({k['reason']})"
            )
        return "\n".join(lines)


def _check_args(
    tol: float, max_iter: int, seed: int | None, training: Any, unsupported: Any
) -> None:
    """ValueError/TypeError for a bad ``tol``, ``max_iter``, ``seed``, ``training``,
    ``unsupported``."""
    if (
        isinstance(tol, bool)
        or not isinstance(tol, numbers.Real)
        or not np.isfinite(tol)
        or tol <= 0
    ):
        raise ValueError(f"tol: must be a finite number > 0, got {tol!r}")
    if (
        isinstance(max_iter, bool)
        or not isinstance(max_iter, numbers.Integral)
        or max_iter < 1
    ):
        raise ValueError(f"max_iter: must be an int >= 1, got {max_iter!r}")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
    ):
        raise ValueError(f"seed: expected None or a non-negative int, got {seed!r}")
    if not isinstance(training, bool):
        raise TypeError(f"training: expected True or False, got {training!r}")
    if unsupported not in ("raise", "keep"):
        raise ValueError(
            f"unsupported: expected 'raise' or 'keep', got {unsupported!r}"
        )


def _check_not_constant(inputs: mw.Inputs) -> None:
    floats = [a for a in inputs.arrays if np.issubdtype(a.dtype, np.floating)]
    if (
        floats
        and len(floats) == len(inputs.arrays)
        and all(float(np.var(a)) == 0.0 for a in floats)
    ):
        raise ValueError(
            "x: every value of the batch is the same (variance 0): no rescaling can"
            " give a unit output variance from it; LSUV needs a batch of real"
            " (standardized) data"
        )


def _unserved(model: Any) -> list[dict[str, Any]]:
    """Kernel-bearing weights LSUV cannot serve: layer, weight, shape, reason."""
    out = []
    for info in mw.weight_inventory(model):
        if info.role not in ("kernel", "recurrent_kernel", "embeddings", "unknown"):
            continue
        kind = _kind(info.unit)
        if kind is not None and info.role != "unknown":
            continue
        cls = type(info.unit).__name__
        if info.role == "unknown":
            reason = (
                f"a weight of the custom layer {cls} with a name Keras does not use"
                " (kernel, recurrent_kernel, embeddings): LSUV cannot tell what it"
                " multiplies"
            )
        else:
            reason = f"LSUV does not know how to measure the output of a {cls} layer"
        out.append(
            {
                "layer": info.unit.name,
                "weight": info.path,
                "shape": info.shape,
                "reason": reason,
            }
        )
    return out


def _matrix_axes(unit: Any, kernel: Any) -> tuple[list[int], list[int]]:
    """(input axes, output axes) of a kernel seen as a linear map."""
    ndim = len(kernel.shape)
    if isinstance(unit, keras.layers.EinsumDense):
        spec = unit.equation.split("->")[0].split(",")[1].strip()
        out_spec = unit.equation.split("->")[1]
        outputs = [i for i, c in enumerate(spec) if c in out_spec]
        inputs = [i for i in range(ndim) if i not in outputs]
        if inputs and outputs:
            return inputs, outputs
    return list(range(ndim - 1)), [ndim - 1]


def _orthogonal(unit: Any, kernel: Any, seed: int) -> Any:
    """An orthogonal draw for ``kernel`` (``keras.initializers.Orthogonal`` on its
    matrix view)."""
    shape = tuple(int(d) for d in kernel.shape)
    init = keras.initializers.Orthogonal(seed=int(seed))
    ins, outs = _matrix_axes(unit, kernel)
    if ins == list(range(len(shape) - 1)) and outs == [len(shape) - 1]:
        return init(shape, dtype=kernel.dtype)
    rows = int(np.prod([shape[i] for i in ins]))
    cols = int(np.prod([shape[i] for i in outs]))
    matrix = keras.ops.convert_to_numpy(init((rows, cols), dtype=kernel.dtype))
    order = ins + outs
    moved = matrix.reshape([shape[i] for i in order])
    return np.transpose(moved, np.argsort(order))


def _preinit_values(
    unit: Any, seed: int, rng: np.random.Generator
) -> list[tuple[Any, Any]]:
    """(variable, new value) pairs of the LSUV pre-initialization of ``unit``."""
    kind = _kind(unit)
    layer = unit.layer if kind == "td" else unit
    out: list[tuple[Any, Any]] = []
    if kind == "embedding":
        return out
    if kind == "rnn":
        cell = unit.cell
        out.append((cell.kernel, _orthogonal(cell, cell.kernel, seed)))
        rec_seed = int(rng.integers(1, 2**31 - 1))
        out.append(
            (cell.recurrent_kernel, _orthogonal(cell, cell.recurrent_kernel, rec_seed))
        )
        bias = getattr(cell, "bias", None)
        if bias is not None:
            value = np.zeros(
                tuple(bias.shape), dtype=keras.backend.standardize_dtype(bias.dtype)
            )
            if isinstance(cell, keras.layers.LSTMCell) and getattr(
                cell, "unit_forget_bias", False
            ):
                value[cell.units : 2 * cell.units] = 1.0
            out.append((bias, value))
        return out
    target = _target(layer)
    if not isinstance(layer, _KEEP_DRAW):
        out.append((target, _orthogonal(layer, target, seed)))
    bias = getattr(layer, "bias", None)
    if bias is not None:
        out.append(
            (
                bias,
                np.zeros(
                    tuple(bias.shape), dtype=keras.backend.standardize_dtype(bias.dtype)
                ),
            )
        )
    return out


def _variance(z: Any) -> float:
    """Variance over every element of ``z`` (the output blob, as in Mishkin & Matas),
    in float64."""
    import tensorflow as tf

    x = tf.cast(z, tf.float64)
    mean = tf.reduce_mean(x)
    return float(tf.reduce_mean(tf.square(x - mean)).numpy())


class _Pass:
    """State of one LSUV forward pass (used by the wrapper around each served layer)."""

    def __init__(self, tol: float, max_iter: int, ratio: dict[int, float]) -> None:
        self.tol = tol
        self.max_iter = max_iter
        self.ratio = (
            ratio  # shared layers: pooled variance / first-call variance, last pass
        )
        self.var_before: dict[int, float] = {}
        self.iterations: dict[int, int] = {}
        self.calls: dict[int, list[tuple[float, int]]] = {}

    def measure(
        self, unit: Any, original: Any, args: tuple, kwargs: dict
    ) -> tuple[float, Any, int]:
        """(variance, pre-activation, element count) of ``unit`` on this call's
        input."""
        kind = _kind(unit)
        if kind == "rnn":
            x = keras.ops.cast(args[0], unit.cell.kernel.dtype)
            z = keras.ops.tensordot(x, unit.cell.kernel.value, axes=[[-1], [0]])
        elif kind == "embedding":
            z = original(*args, **kwargs)
        else:
            layer = unit.layer if kind == "td" else unit
            call = layer.call if kind == "td" else original
            inner_args = args
            if kind == "td":
                x = args[0]
                flat = keras.ops.reshape(x, (-1, *tuple(x.shape[2:])))
                inner_args = (flat,)
            act = layer.activation
            layer.activation = keras.activations.linear
            try:
                z = call(*inner_args, **({} if kind == "td" else kwargs))
            finally:
                layer.activation = act
        return _variance(z), z, int(np.prod(z.shape))

    def output(
        self, unit: Any, original: Any, args: tuple, kwargs: dict, z: Any
    ) -> Any:
        """The layer's output for the rest of the pass (from the last pre-activation
        if exact)."""
        kind = _kind(unit)
        if kind == "embedding":
            return z
        if kind == "linear":
            return unit.activation(z)
        return original(*args, **kwargs)

    def __call__(
        self, unit: Any, original: Any, args: tuple, kwargs: dict, index: int
    ) -> Any:
        var, z, size = self.measure(unit, original, args, kwargs)
        key = id(unit)
        if index == 0:
            self.var_before[key] = var
            self.iterations[key] = 0
            factor = self.ratio.get(key, 1.0)
            target = _target(unit)
            while (
                abs(var * factor - 1.0) >= self.tol
                and self.iterations[key] < self.max_iter
                and np.isfinite(var)
                and var > 0
            ):
                scale = np.sqrt(var * factor)
                target.assign(target.value / keras.ops.cast(scale, target.dtype))
                self.iterations[key] += 1
                var, z, size = self.measure(unit, original, args, kwargs)
        self.calls.setdefault(key, []).append((var, size))
        return self.output(unit, original, args, kwargs, z)


def _pooled(calls: list[tuple[float, int]]) -> float:
    """Variance pooled over calls of equal-mean outputs: size-weighted mean of the
    variances."""
    total = sum(size for _, size in calls)
    return (
        float(sum(var * size for var, size in calls) / total) if total else float("nan")
    )


def lsuv(
    model: Any,
    x: Any,
    *,
    tol: float = 0.1,
    max_iter: int = 10,
    seed: int | None = None,
    training: bool = True,
    unsupported: str = "raise",
) -> LSUVReport:
    """Layer-sequential unit-variance initialization (Mishkin & Matas 2016), in place.

    The algorithm of :cite:`mishkin2016all`, extended to the layers listed in the module
    docstring:

    1. Every layer LSUV serves (see the module docstring: Dense, EinsumDense,
       convolutions, recurrent layers, TimeDistributed, Embedding; nested ones included)
       is pre-initialized: orthogonal kernels (``keras.initializers.Orthogonal``,
       :cite:`saxe2014exact`; a conv kernel is orthogonal as a ``(kh·kw·in_channels) ×
       out_channels`` matrix), zero biases.
    2. One forward pass on ``x``: when a layer is reached, its pre-activation
       :math:`z = x_l W + b` (before its ``activation``) is measured on the input it
       gets, and while :math:`|\\operatorname{Var}(z) - 1| \\ge` ``tol`` and fewer than
       ``max_iter`` rescalings were done, :math:`W \\leftarrow
       W/\\sqrt{\\operatorname{Var}(z)}` and :math:`z` is measured again.
    3. A layer called several times in one pass (a shared layer) is rescaled so that the
       variance pooled over its calls is 1: further passes (at most ``max_iter``) repeat
       step 2, dividing by the pooled variance, until every layer is within ``tol``.

    The algorithm is all-or-nothing: ``x`` and every layer are checked before any weight
    changes, and if anything fails during the pass every weight is restored. Variables
    the pass changes besides the kernels (BatchNormalization moving statistics with
    ``training=True``) are restored too.

    Parameters
    ----------
    model : keras.Model
        A Keras model (Sequential, functional or subclassed). A model that is not built
        yet (e.g. a Sequential without ``keras.Input``) is built by calling it on ``x``.
    x : array_like, list or tuple of array_like, or dict
        One batch of inputs (at least 2 examples), shaped like ``model.inputs``, with
        finite values. Standardize it: the author's benchmark
        (ducha-aiki/caffenet-benchmark, "Why input var=1 for LSUV is so important")
        loses accuracy with unscaled inputs.
    tol : float
        Tolerance on :math:`|\\operatorname{Var} - 1|` (the paper's
        :math:`\\text{Tol}_{var}`, 0.1 there).
    max_iter : int
        Maximum number of rescalings per layer (the paper's :math:`T_{max}`).
    seed : int or None
        Seeds the orthogonal pre-initialization (each layer gets its own seed derived
        from it). ``None`` draws the seeds from Python's :mod:`random`, as Keras does,
        so ``keras.utils.set_random_seed`` makes the result reproducible.
    training : bool
        Mode of the forward pass. True (default): as the model trains
        (BatchNormalization uses the batch statistics, Dropout drops).
    unsupported : {"raise", "keep"}
        What to do with kernel-bearing weights LSUV cannot serve (e.g. a custom layer's
        own matrix) or layers that the forward pass on ``x`` never reaches: ``"raise"``
        (default) raises a ValueError listing each one, before any weight changes (or
        after restoring them); ``"keep"`` leaves them unchanged, lists them in
        ``report.kept`` and warns.

    Returns
    -------
    LSUVReport
        A list with one dict per layer served, in the order the forward pass reached
        them (see :class:`LSUVReport`).

    Raises
    ------
    TypeError
        ``model`` is not a ``keras.Model``; ``x`` is not numbers.
    ValueError
        The model has no layer LSUV serves; weights it cannot serve (with
        ``unsupported="raise"``); ``x`` does not match ``model.inputs``, holds NaN/inf
        or is constant (for a model that is not built yet: calling it on ``x`` fails);
        ``tol <= 0``; ``max_iter < 1``.

    Warns
    -----
    RuntimeWarning
        For each layer that did not converge (e.g. a pre-activation variance of 0 that
        no
        rescaling can fix), and for every weight kept with ``unsupported="keep"``.
    """
    _check_args(tol, max_iter, seed, training, unsupported)
    mw.check_model(model)
    if not [layer for layer in mw.walk(model) if _kind(layer) is not None]:
        raise ValueError(
            f"model: {model.name!r} has no Dense or Conv layer (nor EinsumDense, RNN or"
            " Embedding), so LSUV has nothing to rescale (layers:"
            f" {[type(layer).__name__ for layer in mw.walk(model)]})"
        )
    inputs = mw.prepare_inputs(model, x)
    _check_not_constant(inputs)
    mw.build_on(model, inputs)
    served = [u for u in mw.units(model) if _kind(u) is not None]
    kept = _unserved(model)
    if kept and unsupported == "raise":
        raise ValueError(_unserved_message(model, kept))
    seeds = np.random.default_rng(
        seed if seed is not None else random.randint(1, int(1e9))
    ).integers(1, 2**31 - 1, size=len(served))
    extra_rng = np.random.default_rng([int(seeds[0]), 1])
    plan = [(u, _preinit_values(u, int(s), extra_rng)) for u, s in zip(served, seeds)]
    saved = mw.snapshot(model.variables)
    name_of = mw.display_names(served, model)
    try:
        for _, values in plan:
            for variable, value in values:
                variable.assign(value)
        ratio: dict[int, float] = {}
        first_var: dict[int, float] = {}
        total_iterations: dict[int, int] = {}
        for _ in range(max_iter):
            state = _Pass(tol, max_iter, ratio)
            with mw.Recorder(served, around=state):
                model(mw.to_tensors(inputs.value), training=training)
            for key, n in state.iterations.items():
                total_iterations[key] = total_iterations.get(key, 0) + n
                first_var.setdefault(key, state.var_before[key])
            shared_off = {
                key: _pooled(calls)
                for key, calls in state.calls.items()
                if len(calls) > 1 and abs(_pooled(calls) - 1.0) >= tol
            }
            if not shared_off:
                break
            for key, pooled in shared_off.items():
                first = state.calls[key][0][0]
                if first > 0 and np.isfinite(pooled) and pooled > 0:
                    ratio[key] = pooled / first
        missing = [u for u in served if id(u) not in state.calls]
        if missing and unsupported == "raise":
            raise ValueError(
                "model: LSUV could not reach these layers when running the model on x"
                " (not called, or called inside compiled code): "
                + "; ".join(f"layer {u.name!r} ({type(u).__name__})" for u in missing)
                + '. No weight was changed; pass unsupported="keep" to leave them as'
                " they are"
            )
    except BaseException:
        mw.restore(saved)
        raise
    originals = {id(v): value for v, value in saved}
    mw.restore(
        [
            (v, originals[id(v)])
            for v in model.non_trainable_variables
            if id(v) in originals
        ]
    )
    for u in missing:  # unsupported="keep": what was pre-initialized goes back
        for variable, _ in [
            pair for owner, values in plan if owner is u for pair in values
        ]:
            variable.assign(originals[id(variable)])
        target = _target(u)
        kept.append(
            {
                "layer": u.name,
                "weight": str(target.path),
                "shape": tuple(int(d) for d in target.shape),
                "reason": "not reached when running the model on x",
            }
        )
    if kept:
        warnings.warn(
            "lsuv: kept as they were (not served): "
            + "; ".join(
                f"{k['layer']} {k['weight']} {k['shape']}: {k['reason']}" for k in kept
            ),
            RuntimeWarning,
            stacklevel=2,
        )
    rows = []
    for u in served:
        calls = state.calls.get(id(u))
        if not calls:
            continue
        var = _pooled(calls)
        converged = bool(abs(var - 1.0) < tol)
        iterations = total_iterations.get(id(u), 0)
        if not converged:
            why = (
                "its pre-activation variance is 0 or not finite, which no rescaling can"
                " fix (dead units upstream, or an input that does not reach it?)"
                if not (np.isfinite(var) and var > 0)
                else f"{iterations} rescaling(s) (max_iter={max_iter}) were not enough"
            )
            warnings.warn(
                f"lsuv: layer {name_of[id(u)]!r} did not reach |Var - 1| < {tol}: Var ="
                f" {var:.4g}; {why}",
                RuntimeWarning,
                stacklevel=2,
            )
        rows.append(
            {
                "name": name_of[id(u)],
                "var_before": first_var.get(id(u), float("nan")),
                "var_after": var,
                "iterations": iterations,
                "converged": converged,
                "calls": len(calls),
                "var_calls": [v for v, _ in calls],
                "weight": str(_target(u).path),
                "kind": _kind(u),
            }
        )
    redrawn = [str(v.path) for u, vals in plan if u not in missing for v, _ in vals]
    redrawn += [str(_target(u).path) for u in served if u not in missing]
    return LSUVReport(rows, kept, list(dict.fromkeys(redrawn)))


def _unserved_message(model: Any, kept: list[dict[str, Any]]) -> str:
    lines = "; ".join(
        f"layer {k['layer']!r}, weight {k['weight']!r} of shape {k['shape']}:"
        f" {k['reason']}"
        for k in kept
    )
    return (
        f"model: LSUV cannot serve {len(kept)} kernel-bearing weight(s) of"
        f" {model.name!r}: {lines}. No weight was changed. LSUV serves Dense,"
        " EinsumDense, Conv*/Conv*Transpose, DepthwiseConv*, SeparableConv*,"
        " LSTM/GRU/SimpleRNN, TimeDistributed and Embedding layers; pass"
        ' unsupported="keep" to leave the others as they are'
    )
