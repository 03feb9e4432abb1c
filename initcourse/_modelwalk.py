"""Walking a built Keras 3 model: its layers, the role of each weight, its inputs, its
calls.

Shared by :mod:`initcourse.diagnostics`, :mod:`initcourse.lsuv`,
:func:`initcourse.keras_initializers.reinitialize` and :mod:`initcourse.monitor`.

* :func:`check_model`: a clear ``TypeError``/``ValueError`` for anything that is not a
  usable ``keras.Model`` (a string, an array, an empty ``Sequential``).
* :func:`walk` and :func:`units`: every layer, nested ones included (nested models,
  layers inside custom layers, ``MultiHeadAttention``'s projections, ``Bidirectional``'s
  two RNNs), in model order. A *unit* is the layer a report talks about: a layer that
  owns weights, an RNN layer (with its cell's weights) or a ``TimeDistributed`` layer
  (with its inner layer's weights), plus activation, preprocessing and ``Add`` layers.
* :func:`weight_inventory`: every variable with its *role* (``kernel``,
  ``recurrent_kernel``, ``embeddings``, ``bias``, ``normalization``, ``layer_scale``,
  ``other`` or ``unknown``), the layer that owns it and the initializer attribute Keras
  builds it with (``kernel_initializer``, ``recurrent_initializer``, ...).
* :func:`prepare_inputs`: ``x`` as an array, a list, a tuple or a dict, checked against
  the model's inputs (shapes, batch of at least 2, finite values) before anything runs.
* :class:`Recorder`: wraps the ``call`` of every layer for one forward pass, to record
  each call's input and output tensors (shared layers: one record per call).

TensorFlow/Keras are imported on use.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ROLE_BY_NAME = {
    "kernel": "kernel",
    "depthwise_kernel": "kernel",
    "pointwise_kernel": "kernel",
    "recurrent_kernel": "recurrent_kernel",
    "embeddings": "embeddings",
    "bias": "bias",
}
"""Variable names Keras layers use, and the role of the weight (custom layers that
follow
Keras's naming are recognized too)."""

INIT_ATTRIBUTE = {
    "kernel": "kernel_initializer",
    "depthwise_kernel": "depthwise_initializer",
    "pointwise_kernel": "pointwise_initializer",
    "recurrent_kernel": "recurrent_initializer",
    "embeddings": "embeddings_initializer",
    "bias": "bias_initializer",
}
"""The layer attribute holding the initializer Keras draws each named weight with."""

ACTIVATION_LAYERS = ("Activation", "ReLU", "LeakyReLU", "ELU", "PReLU", "Softmax")
NORMALIZATION_LAYERS = (
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "RMSNormalization",
    "UnitNormalization",
    "SpectralNormalization",
)
MERGE_LAYERS = ("Add",)


# --------------------------------------------------------------------------- the model


def describe(obj: Any) -> str:
    """A short description of ``obj`` for error messages: type, and shape or value."""
    if isinstance(obj, str):
        return f"the string {obj[:60]!r}"
    if isinstance(obj, np.ndarray):
        return f"a numpy array of shape {obj.shape}"
    shape = getattr(obj, "shape", None)
    if shape is not None:
        return f"{type(obj).__name__} of shape {tuple(shape)}"
    text = repr(obj)
    return f"{type(obj).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


def check_model(model: Any, name: str = "model") -> None:
    """Raise unless ``model`` is a ``keras.Model`` with at least one layer.

    The message says what was expected and what was received: a file path (load it, or
    use ``python -m initcourse.check``), an array (the arguments are ``(model, x)``), a
    single
    layer (wrap it in a model), an empty ``Sequential``.
    """
    import keras

    if isinstance(model, keras.Model):
        if not model.layers and not model.weights:
            raise ValueError(
                f"{name}: {model.name!r} ({type(model).__name__}) has no layers; add"
                " layers (e.g. keras.Sequential([keras.Input(shape),"
                " keras.layers.Dense(...)])) first"
            )
        return
    if isinstance(model, str):
        hint = (
            "; to check a saved model, load it first (keras.models.load_model(path)) or"
            " run `python -m initcourse.check path --input-shape ...`"
        )
    elif isinstance(model, keras.layers.Layer):
        hint = (
            "; a single layer is not a model: wrap it, e.g. "
            "keras.Sequential([keras.Input(shape), layer])"
        )
    elif isinstance(model, np.ndarray) or hasattr(model, "shape"):
        hint = "; the model comes first, then the data: f(model, x)"
    else:
        hint = ""
    raise TypeError(
        f"{name}: expected a keras.Model (Sequential, functional or subclassed), "
        f"got {describe(model)}{hint}"
    )


def children(layer: Any) -> list[Any]:
    """The direct sublayers of ``layer`` in creation/model order (no ``InputLayer``)."""
    import keras

    if isinstance(layer, keras.Model):
        found = list(layer.layers)
    else:
        found = list(getattr(layer, "_layers", None) or [])
    return [c for c in found if not isinstance(c, keras.layers.InputLayer)]


def walk(model: Any) -> list[Any]:
    """Every layer inside ``model`` (not ``model`` itself), depth-first in model order,
    once."""
    out: list[Any] = []
    seen: set[int] = set()

    def visit(layer: Any) -> None:
        for child in children(layer):
            if id(child) in seen:
                continue
            seen.add(id(child))
            out.append(child)
            visit(child)

    visit(model)
    return out


def graph_operations(model: Any) -> list[Any]:
    """Operations of functional graphs inside ``model`` that are not layers (``a + b``
    on
    Keras tensors becomes a ``keras.ops`` ``Add`` operation), nested models included."""
    import keras

    out: list[Any] = []
    for container in [model, *walk(model)]:
        for op in getattr(container, "operations", None) or []:
            if not isinstance(op, keras.layers.Layer) and not any(op is o for o in out):
                out.append(op)
    return out


def display_names(unit_list: Sequence[Any], model: Any) -> dict[int, str]:
    """A name per unit: its own name, or ``parent/name`` where names repeat (the
    ``query``
    projection of two ``MultiHeadAttention`` layers)."""
    parent: dict[int, Any] = {}
    for container in [model, *walk(model)]:
        for child in children(container):
            parent.setdefault(id(child), container)
    names = {id(u): str(u.name) for u in unit_list}
    for _ in range(4):
        seen: dict[str, int] = {}
        for u in unit_list:
            seen[names[id(u)]] = seen.get(names[id(u)], 0) + 1
        repeated = [u for u in unit_list if seen[names[id(u)]] > 1]
        if not repeated:
            break
        for u in repeated:
            up = parent.get(id(u))
            for _level in range(names[id(u)].count("/")):
                up = parent.get(id(up)) if up is not None else None
            if up is not None and up is not model:
                names[id(u)] = f"{up.name}/{names[id(u)]}"
    return names


def own_variables(layer: Any) -> list[Any]:
    """The variables ``layer`` creates itself (not those of its sublayers)."""
    return list(getattr(layer, "_trainable_variables", []) or []) + list(
        getattr(layer, "_non_trainable_variables", []) or []
    )


def is_rnn(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.layers.RNN) and hasattr(layer, "cell")


def is_time_distributed(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.layers.TimeDistributed)


def is_front_end(layer: Any) -> bool:
    """A preprocessing layer (``Rescaling``, ``Normalization``, ``Resizing``, ...)."""
    return ".preprocessing." in type(layer).__module__ and type(
        layer
    ).__module__.startswith("keras")


def is_builtin(layer: Any) -> bool:
    """A layer class that Keras itself ships (its weights' roles are known)."""
    return type(layer).__module__.startswith("keras.")


def is_layer_scale(layer: Any) -> bool:
    """LayerScale (Touvron et al. 2021): a per-channel scale, small on purpose at
    initialization."""
    return "layerscale" in type(layer).__name__.lower()


def class_chain(layer: Any) -> set[str]:
    """Names of the layer's class and its base classes (to recognise subclasses of
    Keras layers)."""
    return {cls.__name__ for cls in type(layer).__mro__}


def is_normalization(layer: Any) -> bool:
    return bool(class_chain(layer) & set(NORMALIZATION_LAYERS))


def unit_of_children(layer: Any) -> bool:
    """True for layers whose sublayers are reported through them (RNN cells,
    TimeDistributed)."""
    return is_rnn(layer) or is_time_distributed(layer)


def is_unit(layer: Any) -> bool:
    """A layer a report has one row per call for."""
    name = type(layer).__name__
    return (
        unit_of_children(layer)
        or bool(own_variables(layer))
        or name in ACTIVATION_LAYERS
        or name in MERGE_LAYERS
        or is_front_end(layer)
    )


def units(model: Any) -> list[Any]:
    """The units of ``model`` (see the module docstring), in model order."""
    out: list[Any] = []
    seen: set[int] = set()

    def visit(layer: Any) -> None:
        for child in children(layer):
            if id(child) in seen:
                continue
            seen.add(id(child))
            if is_unit(child):
                out.append(child)
            if not unit_of_children(child):
                visit(child)

    visit(model)
    return out


def unit_layers(unit: Any) -> list[Any]:
    """``unit`` and the layers whose weights it reports (an RNN's cell,
    TimeDistributed's layer)."""
    if unit_of_children(unit):
        return [unit, *walk(unit)]
    return [unit]


# --------------------------------------------------------------------------- weights


@dataclass
class WeightInfo:
    """One variable of a model: who owns it and what it does.

    Attributes
    ----------
    layer : keras Layer
        The layer that created the variable (for an LSTM: its ``LSTMCell``).
    unit : keras Layer
        The layer a report names (for an LSTM cell's weights: the LSTM layer).
    variable : keras.Variable
    role : str
        ``kernel`` (multiplies the layer's input: Dense, Conv, EinsumDense, depthwise
        and pointwise kernels, the input kernel of a recurrent cell),
        ``recurrent_kernel``, ``embeddings``, ``bias``, ``normalization`` (gamma, beta,
        moving statistics), ``layer_scale``, ``other`` (any other weight of a Keras
        layer, e.g. PReLU's alpha) or ``unknown`` (a weight of a custom layer with a
        name Keras does not use).
    init_attribute : str or None
        The layer attribute holding the initializer Keras draws this weight with.
    """

    layer: Any
    unit: Any
    variable: Any
    role: str
    init_attribute: str | None

    @property
    def path(self) -> str:
        return str(getattr(self.variable, "path", self.variable.name))

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.variable.shape)

    @property
    def name(self) -> str:
        return str(self.variable.name)

    def where(self) -> str:
        """``layer 'name' (Class), weight 'path' of shape (a, b)``: how errors name a
        weight."""
        return (
            f"layer {self.unit.name!r} ({type(self.unit).__name__}), weight"
            f" {self.path!r} of shape {self.shape}"
        )


def _is_float(variable: Any) -> bool:
    import keras

    return keras.backend.is_float_dtype(keras.backend.standardize_dtype(variable.dtype))


def _role(layer: Any, variable: Any) -> tuple[str, str | None]:
    name = str(variable.name).split("/")[-1].split(":")[0]
    if is_normalization(layer) and name in (
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
    ):
        return "normalization", None
    if is_layer_scale(layer):
        return "layer_scale", None
    if name in ROLE_BY_NAME:
        attribute = INIT_ATTRIBUTE[name]
        if (
            name == "kernel"
            and hasattr(layer, "depthwise_initializer")
            and not hasattr(layer, "pointwise_initializer")
        ):
            attribute = (  # DepthwiseConv names its kernel 'kernel'
                "depthwise_initializer"
            )
        return ROLE_BY_NAME[name], attribute
    if not _is_float(variable) or not variable.trainable or is_builtin(layer):
        return "other", None
    return ("unknown" if len(variable.shape) >= 2 else "other"), None


def units_within(layer: Any) -> list[Any]:
    """The units a caller means by ``layer``: itself if it is one, plus the units
    inside it."""
    found = [layer] if is_unit(layer) else []
    if not unit_of_children(layer):
        found += units(layer)
    return found


def weight_inventory(
    model: Any, chosen: Sequence[Any] | None = None
) -> list[WeightInfo]:
    """Every variable of ``model``'s units (or of the ``chosen`` units), with its role.

    Model order; each variable once (a shared layer's weights appear once).
    """
    out: list[WeightInfo] = []
    seen: set[int] = set()
    for unit in units(model) if chosen is None else chosen:
        for layer in unit_layers(unit):
            for variable in own_variables(layer):
                if id(variable) in seen:
                    continue
                seen.add(id(variable))
                role, attribute = _role(layer, variable)
                out.append(WeightInfo(layer, unit, variable, role, attribute))
    return out


# --------------------------------------------------------------------------- inputs


@dataclass
class Inputs:
    """The batch, checked: ``value`` goes to ``model(...)``; ``arrays`` are its
    leaves."""

    value: Any
    arrays: list[np.ndarray]
    names: list[str]

    @property
    def batch(self) -> int:
        return int(self.arrays[0].shape[0])


def _input_specs(model: Any) -> list[Any] | None:
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        return None
    return list(inputs) if inputs else None


def _as_array(value: Any, what: str, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name}: {what} is not an array of numbers ({err}); got {describe(value)}"
        ) from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise TypeError(
            f"{name}: {what} must be an array of numbers, got {describe(value)} with"
            f" dtype {arr.dtype}"
        )
    return arr


def _check_finite(arr: np.ndarray, what: str, name: str) -> None:
    if not np.issubdtype(arr.dtype, np.floating):
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}: {what} contains {n_nan} NaN and {n_inf} inf value(s) out of"
            f" {arr.size} (first at index {first}). This is a problem of the input"
            " batch, not of the model's initialization: clean or impute the data"
            " before checking the model"
        )


def prepare_inputs(model: Any, x: Any, name: str = "x") -> Inputs:
    """Check ``x`` against the model's inputs and return it ready to feed (see module
    docstring).

    ``x`` may be an array, a list/tuple with one array per model input, or a dict keyed
    by the model's input names. Raises ``TypeError``/``ValueError`` naming ``x`` (and
    the input) for a wrong number of inputs, unknown or missing names, shapes the model
    does not take, a batch
    of fewer than 2 examples, different batch sizes, or NaN/inf values.
    """
    import keras

    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(
            f"{name}: expected an array, a list/tuple of arrays or a dict of arrays,"
            f" got {describe(x)}"
        )
    specs = _input_specs(model)
    spec_names = [str(s.name) for s in specs] if specs else []
    struct = getattr(model, "_inputs_struct", None)
    if isinstance(x, dict):
        if not x:
            raise ValueError(f"{name}: got an empty dict")
        keys = [str(k) for k in x]
        if specs is not None:
            wanted = list(struct) if isinstance(struct, dict) else spec_names
            unknown = [k for k in keys if k not in wanted]
            missing = [k for k in wanted if k not in keys]
            if unknown or missing:
                raise ValueError(
                    f"{name}: dict keys {keys} do not match the model's input names"
                    f" {wanted}"
                    + (f" (unknown: {unknown})" if unknown else "")
                    + (f" (missing: {missing})" if missing else "")
                )
            order = wanted if isinstance(struct, dict) else spec_names
            arrays = [_as_array(x[k], f"input {k!r}", name) for k in order]
            names = list(order)
        else:
            arrays = [_as_array(v, f"input {k!r}", name) for k, v in x.items()]
            names = keys
    elif isinstance(x, (list, tuple)) and (
        (specs is not None and len(specs) > 1)
        or (specs is None and len(x) > 0 and all(hasattr(a, "shape") for a in x))
    ):
        if specs is not None and len(x) != len(specs):
            raise ValueError(
                f"{name}: the model has {len(specs)} inputs {spec_names}, got a"
                f" {type(x).__name__} of {len(x)} array(s)"
            )
        arrays = [_as_array(a, f"input {i}", name) for i, a in enumerate(x)]
        names = spec_names or [str(i) for i in range(len(arrays))]
    else:
        if isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape"):
            x = x[0]
        arrays = [_as_array(x, "the batch", name)]
        names = spec_names[:1] or ["0"]
        if specs is not None and len(specs) > 1:
            raise ValueError(
                f"{name}: the model has {len(specs)} inputs {spec_names}; give a list"
                " with one array per input or a dict keyed by these names, got"
                f" {describe(arrays[0])}"
            )
    for arr, label in zip(arrays, names):
        what = "the batch" if len(arrays) == 1 else f"input {label!r}"
        if arr.ndim == 0 or arr.shape[0] < 2:
            raise ValueError(
                f"{name}: {what} needs a batch of at least 2 examples, got shape"
                f" {arr.shape}"
            )
        _check_finite(arr, what, name)
    batches = {arr.shape[0] for arr in arrays}
    if len(batches) > 1:
        raise ValueError(
            f"{name}: the inputs have different batch sizes"
            f" {[a.shape[0] for a in arrays]} ({names})"
        )
    if specs is not None:
        for i, (arr, spec) in enumerate(zip(arrays, specs)):
            expected = tuple(spec.shape)
            ok = arr.ndim == len(expected) and all(
                e is None or e == s for s, e in zip(arr.shape[1:], expected[1:])
            )
            if not ok:
                what = "the batch" if len(arrays) == 1 else f"input {names[i]!r}"
                raise ValueError(
                    f"{name}: {what} has shape {arr.shape}, but the model expects"
                    f" {(None, *expected[1:])} (None = any size; the first axis is the"
                    " batch)"
                )
            dtype = keras.backend.standardize_dtype(spec.dtype)
            if arr.dtype != np.dtype(dtype) and dtype not in ("string",):
                arrays[i] = arr.astype(dtype)
    else:
        arrays = [
            (
                a.astype(keras.backend.floatx())
                if np.issubdtype(a.dtype, np.floating) and a.dtype != np.float64
                else a
            )
            for a in arrays
        ]
    if isinstance(x, dict):
        value: Any = dict(zip(names, arrays))
    elif len(arrays) == 1:
        value = arrays[0]
    else:
        value = list(arrays)
    return Inputs(value=value, arrays=arrays, names=names)


def to_tensors(value: Any) -> Any:
    """The same structure with every array converted to a TensorFlow tensor."""
    import keras
    import tensorflow as tf

    return keras.tree.map_structure(tf.convert_to_tensor, value)


def build_on(model: Any, inputs: Inputs, name: str = "x") -> None:
    """Build a model that has no weights yet (a Sequential without ``keras.Input``)
    by calling it."""
    if getattr(model, "built", False) and all(
        getattr(layer, "built", True) for layer in walk(model)
    ):
        return
    try:
        model(to_tensors(inputs.value), training=False)
    except Exception as err:
        shapes = [a.shape for a in inputs.arrays]
        raise ValueError(
            f"{name}: the model {model.name!r} is not built, and calling it on x of"
            f" shape {shapes[0] if len(shapes) == 1 else shapes} to build it failed"
            f" ({type(err).__name__}: {err}); give x the shape the model expects"
        ) from err


# --------------------------------------------------------------------------- variables


def snapshot(variables: Sequence[Any]) -> list[tuple[Any, np.ndarray]]:
    """Copies of the current values of ``variables`` (for :func:`restore`)."""
    return [(v, np.array(v.numpy(), copy=True)) for v in variables]


def restore(saved: Sequence[tuple[Any, np.ndarray]]) -> None:
    """Assign back the values saved by :func:`snapshot`."""
    for variable, value in saved:
        variable.assign(value)


# --------------------------------------------------------------------------- calls


@dataclass
class CallRecord:
    """One call of one layer during a recorded forward pass.

    ``inputs``: every tensor in the call's arguments; ``primary``: the first tensor of
    the first argument (the layer's input); ``output``: the first tensor of the result.
    """

    layer: Any
    index: int
    inputs: list[Any]
    primary: Any
    output: Any
    outputs: list[Any]
    eager: bool
    extra: dict[str, Any] = field(default_factory=dict)


def _tensors(structure: Any) -> list[Any]:
    import keras
    import tensorflow as tf

    try:
        leaves = keras.tree.flatten(structure)
    except Exception:  # structures keras.tree cannot flatten
        leaves = [structure]
    return [
        t
        for t in leaves
        if isinstance(t, (tf.Tensor, tf.Variable))
        or hasattr(t, "dtype")
        and hasattr(t, "shape")
    ]


class Recorder:
    """Context manager: wraps ``call`` of ``layers`` and records every eager call.

    ``around(layer, original, args, kwargs, index) -> outputs`` may replace the plain
    call ``original(*args, **kwargs)`` (LSUV rescales the layer there). Calls made while
    TensorFlow
    is not executing eagerly (inside a ``tf.function`` or a graph loop) are passed
    through and counted in ``hidden``. The original ``call`` methods are restored on
    exit.
    """

    def __init__(
        self, layers: Sequence[Any], around: Callable[..., Any] | None = None
    ) -> None:
        self.layers = list(layers)
        self.around = around
        self.records: list[CallRecord] = []
        self.counts: dict[int, int] = {}
        self.hidden: dict[int, int] = {}

    def __enter__(self) -> Recorder:
        import tensorflow as tf

        for layer in self.layers:
            original = layer.call

            @functools.wraps(original)
            def recording(
                *args: Any,
                _layer: Any = layer,
                _original: Any = original,
                **kwargs: Any,
            ) -> Any:
                if not tf.executing_eagerly():
                    self.hidden[id(_layer)] = self.hidden.get(id(_layer), 0) + 1
                    return _original(*args, **kwargs)
                index = self.counts.get(id(_layer), 0)
                self.counts[id(_layer)] = index + 1
                start = len(self.records)
                if self.around is not None:
                    result = self.around(_layer, _original, args, kwargs, index)
                else:
                    result = _original(*args, **kwargs)
                first = (
                    _tensors(args[0]) if args else _tensors(list(kwargs.values())[:1])
                )
                outs = _tensors(result)
                self.records.append(
                    CallRecord(
                        layer=_layer,
                        index=index,
                        inputs=_tensors((args, kwargs)),
                        primary=first[0] if first else None,
                        output=outs[0] if outs else None,
                        outputs=outs,
                        eager=True,
                        extra={"start": start},
                    )
                )
                return result

            layer.call = recording
        return self

    def __exit__(self, *exc: Any) -> None:
        for layer in self.layers:
            layer.__dict__.pop("call", None)


def iter_calls(records: Sequence[CallRecord], layer: Any) -> Iterator[CallRecord]:
    """The records of ``layer``'s calls, in order."""
    return (r for r in records if r.layer is layer)


def as_int(value: Any) -> int | None:
    """``int(value)`` for an integral number (not bool), else None."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    return None
