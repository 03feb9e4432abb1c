"""Keras 3 initializers by name, four serializable initializers Keras lacks, and re-drawing built models.

* :func:`get` returns **Keras's own class** for every initializer Keras ships (``"he_normal"`` is
  :class:`keras.initializers.HeNormal`, ...), and our classes :class:`Sparse`, :class:`Wavelet`,
  :class:`DeltaOrthogonal` and :class:`ZeroHadamard` for the rest. Ours draw with the numpy
  functions of :mod:`initcourse.initializers` and are registered with
  ``keras.saving.register_keras_serializable(package="initcourse")``.
* In a layer, pass an instance (``Dense(64, kernel_initializer=Sparse(seed=0))`` or ``get("sparse")``);
  once this module is imported Keras also resolves the registered string ``"initcourse>Sparse"``, but
  not ``"sparse"``.
* :func:`reinitialize` re-draws the kernels (and optionally biases) of an already built model. Assigning
  ``layer.kernel_initializer`` after the layer is built, as the source articles do, changes no weight:
  the initializer only runs once, inside ``build``.

Seeding (checked on Keras 3.15.1, and what our classes do too)
--------------------------------------------------------------
* ``seed=<int>``: every call returns the same values, and two instances with the same seed agree.
* ``seed=None``: Keras picks a seed **once, when the initializer is constructed**, from Python's
  :mod:`random` (``keras.src.random.seed_generator.make_default_seed``). So one instance still returns
  the same values on every call, two instances differ, and ``keras.utils.set_random_seed`` makes the
  whole thing reproducible. ``get_config`` stores ``seed=None``, so a clone (or a loaded model's
  initializer) picks a new seed. Our classes copy this behaviour exactly.

Saving and loading
------------------
A model whose layers use our classes saves with ``model.save("m.keras")`` and loads with
``keras.models.load_model`` without ``custom_objects``, **provided this module has been imported** in
the loading process (importing it runs the registration decorators). Keras 3.15 does not import a
saved object's ``module`` for packages other than ``keras``/``keras_hub``/``keras_cv``/``keras_nlp``,
so without the import loading fails with a ``TypeError`` ("... could not be deserialized properly
... Could not interpret initializer identifier: {'module': 'initcourse.keras_initializers', ...}"),
tested in ``tests/test_keras_initializers.py``.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
import os
import random
from collections.abc import Callable, Sequence
from typing import Any, Optional, Union

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from initcourse import initializers as np_init  # noqa: E402
from initcourse._utils import as_shape, check_choice  # noqa: E402

__all__ = [
    "KERAS_BUILTINS",
    "CUSTOM",
    "ALIASES",
    "NAMES",
    "Sparse",
    "Wavelet",
    "DeltaOrthogonal",
    "ZeroHadamard",
    "FromNumpy",
    "get",
    "reinitialize",
]

InitializerLike = Union[str, keras.initializers.Initializer, Callable[..., Any]]

KERAS_BUILTINS: dict[str, type] = {
    "zeros": keras.initializers.Zeros,
    "ones": keras.initializers.Ones,
    "constant": keras.initializers.Constant,
    "random_normal": keras.initializers.RandomNormal,
    "random_uniform": keras.initializers.RandomUniform,
    "truncated_normal": keras.initializers.TruncatedNormal,
    "variance_scaling": keras.initializers.VarianceScaling,
    "lecun_normal": keras.initializers.LecunNormal,
    "lecun_uniform": keras.initializers.LecunUniform,
    "glorot_normal": keras.initializers.GlorotNormal,
    "glorot_uniform": keras.initializers.GlorotUniform,
    "he_normal": keras.initializers.HeNormal,
    "he_uniform": keras.initializers.HeUniform,
    "orthogonal": keras.initializers.Orthogonal,
    "identity": keras.initializers.Identity,
}
"""Names :func:`get` maps to Keras's own initializer classes (keyword arguments use Keras's names)."""


def _check_seed(seed: Optional[int]) -> Optional[int]:
    """Return ``seed`` if it is ``None`` or a non-negative int, else raise naming ``seed``."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or int(seed) < 0:
        raise ValueError(f"seed: expected None or a non-negative int, got {seed!r}")
    return int(seed)


def _default_seed() -> int:
    """A seed drawn from Python's :mod:`random`, as Keras 3 does for ``seed=None`` (see module docstring)."""
    return random.randint(1, int(1e9))


def _float_dtype(dtype: Any) -> str:
    """Keras dtype name for ``dtype`` (``None`` means ``keras.backend.floatx()``)."""
    return keras.backend.standardize_dtype(dtype) if dtype is not None else keras.backend.floatx()


class _NumpyInitializer(keras.initializers.Initializer):
    """Base class: a seeded Keras initializer that draws its values with a numpy function.

    Subclasses implement ``_draw(shape, rng, dtype)`` returning a numpy array.
    """

    def __init__(self, seed: Optional[int] = None) -> None:
        self.seed = _check_seed(seed)
        self._call_seed = self.seed if self.seed is not None else _default_seed()

    def _draw(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, shape: Sequence[int], dtype: Any = None, **kwargs: Any) -> Any:
        """Draw an array of ``shape`` (Keras layout); the same values on every call of this instance."""
        dtype = _float_dtype(dtype)
        np_dtype = "float64" if dtype == "float64" else "float32"
        values = self._draw(as_shape(tuple(shape)), np.random.default_rng(self._call_seed), np_dtype)
        return keras.ops.convert_to_tensor(np.asarray(values), dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "_NumpyInitializer":
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@keras.saving.register_keras_serializable(package="initcourse")
class Sparse(_NumpyInitializer):
    """Sparse initialization (Martens 2010, :cite:`martens2010deep`) as a Keras initializer.

    Each output unit (column of the flattened ``(fan_in, units)`` kernel) gets exactly
    ``min(nonzero, fan_in)`` nonzero incoming weights :math:`w \\sim \\mathcal N(0, \\text{stddev}^2)`;
    all other weights are 0. Drawn by :func:`initcourse.initializers.sparse`.

    Parameters
    ----------
    nonzero : int
        Nonzero incoming weights per unit (Martens uses 15).
    stddev : float
        Standard deviation of the nonzero weights.
    seed : int or None
        See the module docstring: the same values on every call of one instance.
    """

    def __init__(self, nonzero: int = 15, stddev: float = 1.0, seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.nonzero = nonzero
        self.stddev = stddev

    def _draw(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str) -> np.ndarray:
        return np_init.sparse(shape, nonzero=self.nonzero, stddev=self.stddev, rng=rng, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"nonzero": self.nonzero, "stddev": self.stddev, "seed": self.seed}


@keras.saving.register_keras_serializable(package="initcourse")
class Wavelet(_NumpyInitializer):
    """Orthogonal wavelet-basis initialization as a Keras initializer.

    The kernel is :math:`g\\,A^\\top` for the orthogonal discrete-wavelet analysis matrix :math:`A`
    (Mallat 2009, :cite:`mallat2009wavelet`; Daubechies filters :cite:`daubechies1992ten`, computed with
    PyWavelets :cite:`lee2019pywavelets`), randomized as described in
    :func:`initcourse.initializers.wavelet`, which does the drawing.

    Parameters
    ----------
    wavelet : str
        PyWavelets name of an orthogonal wavelet, e.g. ``"db4"`` or ``"haar"``.
    level : int or None
        Decomposition level (``None``: chosen as in :func:`initcourse.initializers.wavelet`).
    gain : float
        Multiplies the orthogonal matrix.
    seed : int or None
        See the module docstring.
    """

    def __init__(
        self, wavelet: str = "db4", level: Optional[int] = None, gain: float = 1.0, seed: Optional[int] = None
    ) -> None:
        super().__init__(seed)
        self.wavelet = wavelet
        self.level = level
        self.gain = gain

    def _draw(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str) -> np.ndarray:
        return np_init.wavelet(shape, wavelet=self.wavelet, level=self.level, gain=self.gain, rng=rng, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"wavelet": self.wavelet, "level": self.level, "gain": self.gain, "seed": self.seed}


@keras.saving.register_keras_serializable(package="initcourse")
class DeltaOrthogonal(_NumpyInitializer):
    """Delta-orthogonal convolution kernel (Xiao et al. 2018, :cite:`xiao2018dynamical`, Algorithm 2).

    All taps are zero except the centre tap, which is :math:`g` times the first ``in_channels`` rows of
    a random ``out_channels × out_channels`` orthogonal matrix, so the convolution preserves the norm
    of its input at initialization. Needs ``in_channels <= out_channels``. Drawn by
    :func:`initcourse.initializers.delta_orthogonal`.

    Parameters
    ----------
    gain : float
        Multiplies the orthogonal centre tap.
    seed : int or None
        See the module docstring.
    """

    def __init__(self, gain: float = 1.0, seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.gain = gain

    def _draw(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str) -> np.ndarray:
        return np_init.delta_orthogonal(shape, gain=self.gain, rng=rng, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


@keras.saving.register_keras_serializable(package="initcourse")
class ZeroHadamard(_NumpyInitializer):
    """ZerO initialization (Zhao et al. 2022, :cite:`zhao2022zero`, Algorithm 1): deterministic.

    For :math:`W \\in \\mathbb R^{m\\times n}`: a partial identity when the layer does not expand, else
    :math:`I_{m\\times p} H_p 2^{-\\log_2(p)/2} I_{p\\times n}` with :math:`p = 2^{\\lceil\\log_2 m\\rceil}`
    and :math:`H_p` the Hadamard matrix. Drawn by :func:`initcourse.initializers.zero_hadamard`. No
    randomness, hence no seed.
    """

    def __init__(self) -> None:
        self.seed = None
        self._call_seed = 0  # unused: nothing random (and no draw from Python's random)

    def _draw(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str) -> np.ndarray:
        return np_init.zero_hadamard(shape, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {}


@keras.saving.register_keras_serializable(package="initcourse")
class FromNumpy(_NumpyInitializer):
    """Any initializer function of :mod:`initcourse.initializers`, as a serializable Keras initializer.

    :func:`reinitialize` uses it when it is given such a function (e.g. ``initializers.he_normal``), so
    the values are drawn by our numpy code and the model still saves and loads.

    Parameters
    ----------
    function : str
        A name from ``initcourse.initializers.NAMES``.
    kwargs : dict, optional
        Keyword arguments for the function (JSON-serializable values; not ``rng`` or ``dtype``).
    seed : int or None
        Seeds the ``rng`` the function receives (see the module docstring).
    """

    def __init__(self, function: str, kwargs: Optional[dict[str, Any]] = None, seed: Optional[int] = None) -> None:
        check_choice(function, "function", np_init.NAMES)
        kwargs = dict(kwargs or {})
        for reserved in ("rng", "dtype"):
            if reserved in kwargs:
                raise ValueError(f"kwargs: {reserved!r} is set by FromNumpy itself, got kwargs={kwargs!r}")
        super().__init__(seed)
        self.function = function
        self.kwargs = kwargs

    def _draw(self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str) -> np.ndarray:
        fn = np_init.get(self.function)
        extra: dict[str, Any] = {"rng": rng} if "rng" in inspect.signature(fn).parameters else {}
        return fn(shape, **self.kwargs, **extra, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"function": self.function, "kwargs": dict(self.kwargs), "seed": self.seed}


CUSTOM: dict[str, type] = {
    "sparse": Sparse,
    "wavelet": Wavelet,
    "delta_orthogonal": DeltaOrthogonal,
    "zero_hadamard": ZeroHadamard,
}
"""Names :func:`get` maps to our own serializable classes."""

NAMES: tuple[str, ...] = tuple(KERAS_BUILTINS) + tuple(CUSTOM)
"""The canonical names :func:`get` accepts (it also accepts the :data:`ALIASES`)."""

ALIASES: dict[str, type] = {
    **{cls.__name__: cls for cls in (*KERAS_BUILTINS.values(), *CUSTOM.values())},
    "normal": keras.initializers.RandomNormal,
    "uniform": keras.initializers.RandomUniform,
    "zero": keras.initializers.Zeros,
    "one": keras.initializers.Ones,
}
"""Other spellings :func:`get` accepts, as ``keras.initializers.get`` does: the class names
(``"HeNormal"``, ``"GlorotUniform"``, ``"Sparse"``, ...) and Keras's aliases ``"normal"``,
``"uniform"``, ``"zero"`` and ``"one"``."""


def _lookup(name: str) -> Optional[type]:
    """The initializer class for ``name`` (a canonical name or an alias), or ``None``."""
    return KERAS_BUILTINS.get(name) or CUSTOM.get(name) or ALIASES.get(name)


def get(name: InitializerLike, **kwargs: Any) -> Any:
    """Return a Keras initializer for ``name``.

    Parameters
    ----------
    name : str, keras.initializers.Initializer, Initializer subclass or callable
        A name from :data:`NAMES` (Keras's own class for :data:`KERAS_BUILTINS`, ours for
        :data:`CUSTOM`) or one of the :data:`ALIASES` (class names such as ``"HeNormal"``, as
        ``keras.initializers.get`` accepts them); an Initializer instance or any other callable is returned as is; an
        Initializer subclass is instantiated with ``kwargs``.
    **kwargs
        Constructor arguments with the class's own names (Keras: ``seed``, ``gain``, ``scale``,
        ``mode``, ``distribution``, ``stddev``, ...).

    Returns
    -------
    keras.initializers.Initializer or callable

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid names and suggests the closest one).
    TypeError
        Keyword arguments the class does not take, kwargs with an instance or callable, or an
        unsupported type.
    """
    if isinstance(name, type) and issubclass(name, keras.initializers.Initializer):
        return name(**kwargs)
    if isinstance(name, keras.initializers.Initializer) or (callable(name) and not isinstance(name, str)):
        if kwargs:
            raise TypeError(
                f"kwargs: only allowed with a name or a class; got {sorted(kwargs)} with the ready-made "
                f"initializer {name!r}"
            )
        return name
    if not isinstance(name, str):
        raise TypeError(
            f"name: expected an initializer name, a keras Initializer or a callable, "
            f"got {type(name).__name__} {name!r}"
        )
    cls = _lookup(name)
    if cls is None:
        close = difflib.get_close_matches(name.lower(), NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"name: unknown initializer {name!r}.{hint} Valid names: {', '.join(NAMES)}")
    try:
        return cls(**kwargs)
    except TypeError as err:
        params = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "args", "kwargs")]
        raise TypeError(
            f"kwargs: {cls.__name__} ({name!r}) takes {params or 'no arguments'}, got {sorted(kwargs)} ({err})"
        ) from None


# --------------------------------------------------------------------------------------------------
# Re-initializing a built model
# --------------------------------------------------------------------------------------------------


def _all_layers(model: Any) -> list[Any]:
    """Every layer of ``model``, nested models expanded depth-first (the models themselves included)."""
    out: list[Any] = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        if getattr(layer, "layers", None):
            out.extend(_all_layers(layer))
    return out


def _kernel(layer: Any) -> Any:
    """``layer.kernel`` if the layer has a built kernel variable, else ``None``."""
    try:
        kernel = getattr(layer, "kernel", None)
    except Exception:  # Keras raises AttributeError/ValueError on unbuilt or quantized layers
        return None
    return kernel if isinstance(kernel, keras.Variable) else None


def _kernel_layers(model: Any) -> list[Any]:
    """Layers of ``model`` (nested models included) that have a kernel variable, in model order."""
    return [layer for layer in _all_layers(model) if _kernel(layer) is not None]


def _check_built(model: Any, what: str = "model") -> None:
    """Raise a ValueError telling the user to build ``model`` if it (or a layer with a kernel) is unbuilt."""
    unbuilt = [lay for lay in _all_layers(model) if hasattr(lay, "kernel_initializer") and not lay.built]
    if not getattr(model, "built", False) or unbuilt:
        raise ValueError(
            f"{what}: {getattr(model, 'name', model)!r} is not built, so it has no kernels to re-draw. "
            "Build it first: give it an input (keras.Input(shape=...) as its first layer), call "
            "model.build(input_shape), or call it once on a batch of data, e.g. model(x[:1])."
        )


def _select_layers(model: Any, layers: Optional[Sequence[Union[str, int, Any]]]) -> list[Any]:
    """Resolve ``layers`` (None, or names / indices into ``model.layers`` / layer objects) to kernel layers."""
    if layers is None:
        return _kernel_layers(model)
    if isinstance(layers, (str, int)) or not isinstance(layers, Sequence):
        raise TypeError(f"layers: expected None or a list of layer names, indices or layers, got {layers!r}")
    everything = _all_layers(model)
    by_name = {layer.name: layer for layer in everything}
    chosen: list[Any] = []
    for item in layers:
        if isinstance(item, str):
            if item not in by_name:
                close = difflib.get_close_matches(item, list(by_name), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ValueError(
                    f"layers: no layer named {item!r} in model {model.name!r}.{hint} "
                    f"Available names: {', '.join(by_name)}"
                )
            layer = by_name[item]
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
            n = len(model.layers)
            if not -n <= int(item) < n:
                raise ValueError(f"layers: index {item} out of range for a model with {n} layers (0..{n - 1})")
            layer = model.layers[int(item)]
        elif any(item is layer for layer in everything):
            layer = item
        else:
            raise ValueError(
                f"layers: {item!r} is neither a layer name, an index into model.layers, nor a layer of "
                f"model {model.name!r}"
            )
        found = [layer] if _kernel(layer) is not None else _kernel_layers(layer)
        if not found:
            raise ValueError(f"layers: layer {layer.name!r} ({type(layer).__name__}) has no kernel to re-draw")
        chosen.extend(lay for lay in found if not any(lay is c for c in chosen))
    return chosen


def _is_numpy_initializer(fn: Any) -> bool:
    """True for a function of :mod:`initcourse.initializers` (or a ``functools.partial`` of one)."""
    base = fn.func if isinstance(fn, functools.partial) else fn
    return getattr(base, "__module__", None) == np_init.__name__


def _resolve(initializer: InitializerLike, seed: Optional[int], what: str) -> Any:
    """A Keras initializer (or Keras-compatible callable) for one layer, seeded with ``seed``."""
    if isinstance(initializer, str):
        cls = _lookup(initializer)
        if cls is None:
            get(initializer)  # raises the ValueError with the list of names
        takes_seed = "seed" in inspect.signature(cls.__init__).parameters
        return cls(seed=seed) if takes_seed else cls()
    if isinstance(initializer, keras.initializers.Initializer):
        config = initializer.get_config()
        if "seed" in config:  # a fresh copy with this layer's seed, so equal shapes get different draws
            return type(initializer).from_config({**config, "seed": seed})
        return initializer
    if _is_numpy_initializer(initializer):
        is_partial = isinstance(initializer, functools.partial)
        fn = initializer.func if is_partial else initializer
        bound = {k: v for k, v in (initializer.keywords if is_partial else {}).items() if k not in ("rng", "dtype")}
        name = fn.__name__
        if name in CUSTOM:  # use our serializable class, so that get_config tells the truth
            cls = CUSTOM[name]
            takes_seed = "seed" in inspect.signature(cls.__init__).parameters
            return cls(**bound, seed=seed) if takes_seed else cls(**bound)
        if name in np_init.NAMES:  # drawn by our numpy function, serializable
            return FromNumpy(name, bound, seed=seed)
    if callable(initializer):
        return initializer
    raise TypeError(
        f"{what}: expected an initializer name, a keras Initializer, a function of "
        f"initcourse.initializers or a callable, got {type(initializer).__name__} {initializer!r}"
    )


def _set_initializer(layer: Any, attribute: str, init: Any) -> None:
    """Set ``layer.<attribute>`` (so ``get_config`` describes the new weights) where the layer has one."""
    if hasattr(layer, attribute):
        try:
            setattr(layer, attribute, init)
        except AttributeError:  # a read-only property (e.g. delegated to a cell): nothing to update
            pass


def reinitialize(
    model: Any,
    initializer: InitializerLike,
    layers: Optional[Sequence[Union[str, int, Any]]] = None,
    *,
    bias: Optional[InitializerLike] = None,
    seed: Optional[int] = None,
) -> list[str]:
    """Re-draw the kernels (and optionally the biases) of an already built Keras model, in place.

    Setting ``layer.kernel_initializer = ...`` on a built layer changes no weight (the initializer
    only runs inside ``build``). This function draws new values and writes them with
    ``variable.assign``; it also sets ``layer.kernel_initializer`` (and ``bias_initializer``) so that
    ``layer.get_config()`` describes the new weights.

    Parameters
    ----------
    model : keras.Model
        A built model (Sequential, functional or subclassed; nested models are searched).
    initializer : str, keras.initializers.Initializer or callable
        A name from :data:`NAMES`, a Keras initializer, a function of :mod:`initcourse.initializers`
        (or a ``functools.partial`` of one; it becomes our class for ``sparse``/``wavelet``/
        ``delta_orthogonal``/``zero_hadamard`` and a :class:`FromNumpy` otherwise, so the model still
        saves), or any callable ``f(shape, dtype=None)`` (used as is; saving then depends on it).
    layers : list of str, int or layers, optional
        ``None``: every layer with a kernel, nested models included. Otherwise layer names (searched
        in nested models too), indices into ``model.layers`` or layer objects; a nested model stands
        for all its kernel layers.
    bias : same types as ``initializer``, optional
        ``None`` leaves biases alone; otherwise biases of the chosen layers are re-drawn too.
    seed : int or None
        Seeds the draws. Each layer gets its own seed derived from it (so two layers of the same
        shape get different kernels) and the result is reproducible. ``None`` draws the per-layer
        seeds from Python's :mod:`random`, like Keras (reproducible after ``keras.utils.set_random_seed``).
        Replaces the seed of a seeded Keras initializer instance.

    Returns
    -------
    list of str
        Names of the layers whose weights were re-drawn, in model order.
    """
    _check_built(model)
    seed = _check_seed(seed)
    chosen = _select_layers(model, layers)
    if not chosen:
        raise ValueError(f"model: {model.name!r} has no layer with a kernel to re-draw")
    seeds = np.random.default_rng(seed if seed is not None else _default_seed()).integers(
        1, 2**31 - 1, size=(len(chosen), 2)
    )
    changed = []
    for layer, (kernel_seed, bias_seed) in zip(chosen, seeds):
        kernel = _kernel(layer)
        init = _resolve(initializer, int(kernel_seed), "initializer")
        kernel.assign(init(tuple(kernel.shape), dtype=kernel.dtype))
        _set_initializer(layer, "kernel_initializer", init)
        layer_bias = getattr(layer, "bias", None)
        if bias is not None and isinstance(layer_bias, keras.Variable):
            binit = _resolve(bias, int(bias_seed), "bias")
            layer_bias.assign(binit(tuple(layer_bias.shape), dtype=layer_bias.dtype))
            _set_initializer(layer, "bias_initializer", binit)
        changed.append(layer.name)
    return changed
