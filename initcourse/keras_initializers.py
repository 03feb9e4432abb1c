"""Keras 3 initializers by name, four initializers Keras lacks, and re-drawing models.

The four are serializable Keras initializers; the models re-drawn are already built.

* :func:`get` returns **Keras's own class** for every initializer Keras ships
  (``"he_normal"`` is :class:`keras.initializers.HeNormal`, ...), and our classes
  :class:`Sparse`, :class:`Wavelet`, :class:`DeltaOrthogonal` and :class:`ZeroHadamard`
  for the rest. Ours draw with the numpy functions of :mod:`initcourse.initializers` and
  are registered with
  ``keras.saving.register_keras_serializable(package="initcourse")``.
* In a layer, pass an instance (``Dense(64, kernel_initializer=Sparse(seed=0))`` or
  ``get("sparse")``); once this module is imported Keras also resolves the registered
  string ``"initcourse>Sparse"``, but not ``"sparse"``.
* :func:`reinitialize` re-draws the kernels (and optionally biases) of an already built
  model. Assigning ``layer.kernel_initializer`` after the layer is built, as the source
  articles do, changes no weight: the initializer only runs once, inside ``build``.

Seeding (checked on Keras 3.15.1, and what our classes do too)
--------------------------------------------------------------
* ``seed=<int>``: every call returns the same values, and two instances with the same
  seed agree.
* ``seed=None``: Keras picks a seed **once, when the initializer is constructed**, from
  Python's :mod:`random` (``keras.src.random.seed_generator.make_default_seed``). So one
  instance still returns the same values on every call, two instances differ, and
  ``keras.utils.set_random_seed`` makes the whole thing reproducible. ``get_config``
  stores ``seed=None``, so a clone (or a loaded model's initializer) picks a new seed.
  Our classes copy this behaviour exactly.

Saving and loading
------------------
A model whose layers use our classes saves with ``model.save("m.keras")`` and loads with
``keras.models.load_model`` without ``custom_objects``, **provided this module has been
imported** in the loading process (importing it runs the registration decorators). Keras
3.15 does not import a saved object's ``module`` for packages other than
``keras``/``keras_hub``/``keras_cv``/``keras_nlp``, so without the import loading fails
with a ``TypeError`` ("... could not be deserialized properly ... Could not interpret
initializer identifier: {'module': 'initcourse.keras_initializers', ...}"), tested in
``tests/test_keras_initializers.py``.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
import os
import random
from collections.abc import Callable, Sequence
from typing import Any, TypeAlias, cast

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
    "Reinitialized",
]

InitializerLike: TypeAlias = str | keras.initializers.Initializer | Callable[..., Any]

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
"""Names :func:`get` maps to Keras's own initializer classes (keyword arguments use
Keras's names)."""


def _check_seed(seed: int | None) -> int | None:
    """Return ``seed`` if None or a non-negative int, else raise naming ``seed``."""
    if seed is None:
        return None
    if (
        isinstance(seed, bool)
        or not isinstance(seed, numbers.Integral)
        or int(seed) < 0
    ):
        raise ValueError(f"seed: expected None or a non-negative int, got {seed!r}")
    return int(seed)


def _default_seed() -> int:
    """A seed drawn from Python's :mod:`random`, as Keras 3 does for ``seed=None``.

    See the module docstring.
    """
    return random.randint(1, int(1e9))


def _float_dtype(dtype: Any) -> str:
    """Keras dtype name for ``dtype`` (``None`` means ``keras.backend.floatx()``)."""
    return (
        keras.backend.standardize_dtype(dtype)
        if dtype is not None
        else keras.backend.floatx()
    )


class _NumpyInitializer(keras.initializers.Initializer):
    """Base class: a seeded Keras initializer drawing its values with a numpy function.

    Subclasses implement ``_draw(shape, rng, dtype)`` returning a numpy array.
    """

    def __init__(self, seed: int | None = None) -> None:
        self.seed = _check_seed(seed)
        self._call_seed = self.seed if self.seed is not None else _default_seed()

    def _draw(
        self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str
    ) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, shape: Sequence[int], dtype: Any = None, **kwargs: Any) -> Any:
        """Draw an array of ``shape`` (Keras layout), the same on every call.

        Every call of this instance returns the same values (see the module docstring).
        """
        dtype = _float_dtype(dtype)
        np_dtype = "float64" if dtype == "float64" else "float32"
        values = self._draw(
            as_shape(tuple(shape)), np.random.default_rng(self._call_seed), np_dtype
        )
        return keras.ops.convert_to_tensor(np.asarray(values), dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _NumpyInitializer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@keras.saving.register_keras_serializable(package="initcourse")
class Sparse(_NumpyInitializer):
    """Sparse initialization (Martens 2010) as a Keras initializer.

    From :cite:`martens2010deep`. Each output unit (column of the flattened
    ``(fan_in, units)`` kernel) gets exactly ``min(nonzero, fan_in)`` nonzero incoming
    weights :math:`w \\sim \\mathcal N(0, \\text{stddev}^2)`; all other weights are 0.
    Drawn by :func:`initcourse.initializers.sparse`.

    Parameters
    ----------
    nonzero : int
        Nonzero incoming weights per unit (Martens uses 15).
    stddev : float
        Standard deviation of the nonzero weights.
    seed : int or None
        See the module docstring: the same values on every call of one instance.
    """

    def __init__(
        self, nonzero: int = 15, stddev: float = 1.0, seed: int | None = None
    ) -> None:
        super().__init__(seed)
        self.nonzero = nonzero
        self.stddev = stddev

    def _draw(
        self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str
    ) -> np.ndarray:
        return np_init.sparse(
            shape, nonzero=self.nonzero, stddev=self.stddev, rng=rng, dtype=dtype
        )

    def get_config(self) -> dict[str, Any]:
        return {"nonzero": self.nonzero, "stddev": self.stddev, "seed": self.seed}


@keras.saving.register_keras_serializable(package="initcourse")
class Wavelet(_NumpyInitializer):
    """Orthogonal wavelet-basis initialization as a Keras initializer.

    The kernel is :math:`g\\,A^\\top` for the orthogonal discrete-wavelet analysis
    matrix :math:`A` (Mallat 2009, :cite:`mallat2009wavelet`; Daubechies filters
    :cite:`daubechies1992ten`, computed with PyWavelets :cite:`lee2019pywavelets`),
    randomized as described in :func:`initcourse.initializers.wavelet`, which does the
    drawing.

    Parameters
    ----------
    wavelet : str
        PyWavelets name of an orthogonal wavelet, e.g. ``"db4"`` or ``"haar"``.
    level : int or None
        Decomposition level (``None``: chosen as in
        :func:`initcourse.initializers.wavelet`).
    gain : float
        Multiplies the orthogonal matrix.
    seed : int or None
        See the module docstring.
    """

    def __init__(
        self,
        wavelet: str = "db4",
        level: int | None = None,
        gain: float = 1.0,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.wavelet = wavelet
        self.level = level
        self.gain = gain

    def _draw(
        self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str
    ) -> np.ndarray:
        return np_init.wavelet(
            shape,
            wavelet=self.wavelet,
            level=self.level,
            gain=self.gain,
            rng=rng,
            dtype=dtype,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "wavelet": self.wavelet,
            "level": self.level,
            "gain": self.gain,
            "seed": self.seed,
        }


@keras.saving.register_keras_serializable(package="initcourse")
class DeltaOrthogonal(_NumpyInitializer):
    """Delta-orthogonal convolution kernel (Xiao et al. 2018, Algorithm 2).

    From :cite:`xiao2018dynamical`. All taps are zero except the centre tap, which is
    :math:`g` times the first ``in_channels`` rows of a random
    ``out_channels × out_channels`` orthogonal matrix, so the convolution preserves the
    norm of its input at initialization. Needs ``in_channels <= out_channels``. Drawn by
    :func:`initcourse.initializers.delta_orthogonal`.

    Parameters
    ----------
    gain : float
        Multiplies the orthogonal centre tap.
    seed : int or None
        See the module docstring.
    """

    def __init__(self, gain: float = 1.0, seed: int | None = None) -> None:
        super().__init__(seed)
        self.gain = gain

    def _draw(
        self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str
    ) -> np.ndarray:
        return np_init.delta_orthogonal(shape, gain=self.gain, rng=rng, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, "seed": self.seed}


@keras.saving.register_keras_serializable(package="initcourse")
class ZeroHadamard(_NumpyInitializer):
    """ZerO initialization (Zhao et al. 2022, Algorithm 1): deterministic.

    From :cite:`zhao2022zero`. For :math:`W \\in \\mathbb R^{m\\times n}`: a partial
    identity when the layer does not expand, else
    :math:`I_{m\\times p} H_p 2^{-\\log_2(p)/2} I_{p\\times n}` with
    :math:`p = 2^{\\lceil\\log_2 m\\rceil}` and :math:`H_p` the Hadamard matrix. Drawn
    by :func:`initcourse.initializers.zero_hadamard`. No randomness, hence no seed.
    """

    def __init__(self) -> None:
        self.seed = None
        self._call_seed = 0  # unused: nothing random (and no draw from Python's random)

    def _draw(
        self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str
    ) -> np.ndarray:
        return np_init.zero_hadamard(shape, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {}


@keras.saving.register_keras_serializable(package="initcourse")
class FromNumpy(_NumpyInitializer):
    """Any function of :mod:`initcourse.initializers`, as a serializable initializer.

    :func:`reinitialize` uses it when it is given such a function (e.g.
    ``initializers.he_normal``), so the values are drawn by our numpy code and the model
    still saves and loads.

    Parameters
    ----------
    function : str
        A name from ``initcourse.initializers.NAMES``.
    kwargs : dict, optional
        Keyword arguments for the function (JSON-serializable values; not ``rng`` or
        ``dtype``).
    seed : int or None
        Seeds the ``rng`` the function receives (see the module docstring).
    """

    def __init__(
        self,
        function: str,
        kwargs: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> None:
        check_choice(function, "function", np_init.NAMES)
        kwargs = dict(kwargs or {})
        for reserved in ("rng", "dtype"):
            if reserved in kwargs:
                raise ValueError(
                    f"kwargs: {reserved!r} is set by FromNumpy itself, "
                    f"got kwargs={kwargs!r}"
                )
        super().__init__(seed)
        self.function = function
        self.kwargs = kwargs

    def _draw(
        self, shape: tuple[int, ...], rng: np.random.Generator, dtype: str
    ) -> np.ndarray:
        fn = np_init.get(self.function)
        extra: dict[str, Any] = (
            {"rng": rng} if "rng" in inspect.signature(fn).parameters else {}
        )
        return fn(shape, **self.kwargs, **extra, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "kwargs": dict(self.kwargs),
            "seed": self.seed,
        }


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
"""Other spellings :func:`get` accepts, as ``keras.initializers.get`` does: the class
names (``"HeNormal"``, ``"GlorotUniform"``, ``"Sparse"``, ...) and Keras's aliases
``"normal"``, ``"uniform"``, ``"zero"`` and ``"one"``."""


def _lookup(name: str) -> type | None:
    """The initializer class for ``name`` (a canonical name or an alias), or None."""
    return KERAS_BUILTINS.get(name) or CUSTOM.get(name) or ALIASES.get(name)


def get(name: InitializerLike, **kwargs: Any) -> Any:
    """Return a Keras initializer for ``name``.

    Parameters
    ----------
    name : str, keras.initializers.Initializer, Initializer subclass or callable
        A name from :data:`NAMES` (Keras's own class for :data:`KERAS_BUILTINS`, ours
        for :data:`CUSTOM`) or one of the :data:`ALIASES` (class names such as
        ``"HeNormal"``, as ``keras.initializers.get`` accepts them); an Initializer
        instance or any other callable is returned as is; an Initializer subclass is
        instantiated with ``kwargs``.
    **kwargs
        Constructor arguments with the class's own names (Keras: ``seed``, ``gain``,
        ``scale``, ``mode``, ``distribution``, ``stddev``, ...).

    Returns
    -------
    keras.initializers.Initializer or callable

    Raises
    ------
    ValueError
        Unknown name (the message lists the valid names and suggests the closest one).
    TypeError
        Keyword arguments the class does not take, kwargs with an instance or callable,
        or an unsupported type.
    """
    if isinstance(name, type) and issubclass(name, keras.initializers.Initializer):
        return name(**kwargs)
    if isinstance(name, keras.initializers.Initializer) or (
        callable(name) and not isinstance(name, str)
    ):
        if kwargs:
            raise TypeError(
                "kwargs: only allowed with a name or a class; "
                f"got {sorted(kwargs)} with the ready-made "
                f"initializer {name!r}"
            )
        return name
    if not isinstance(name, str):
        raise TypeError(
            f"name: expected an initializer name, a keras Initializer or a callable, "
            f"got {type(name).__name__} {name!r}"
        )
    cls: Any = _lookup(name)
    if cls is None:
        close = difflib.get_close_matches(name.lower(), NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"name: unknown initializer {name!r}.{hint} Valid names: {', '.join(NAMES)}"
        )
    try:
        return cls(**kwargs)
    except TypeError as err:
        params = [
            p
            for p in inspect.signature(cls.__init__).parameters
            if p not in ("self", "args", "kwargs")
        ]
        raise TypeError(
            f"kwargs: {cls.__name__} ({name!r}) takes {params or 'no arguments'}, "
            f"got {sorted(kwargs)} ({err})"
        ) from None


# --------------------------------------------------------------------------------------
# Re-initializing a built model
# --------------------------------------------------------------------------------------


def _all_layers(model: Any) -> list[Any]:
    """Every layer of ``model``, nested models and layers inside layers expanded
    (model order)."""
    from initcourse import _modelwalk as mw

    return mw.walk(model)


def _kernel(layer: Any) -> Any:
    """``layer.kernel`` if the layer has a built kernel variable, else ``None``."""
    try:
        kernel = getattr(layer, "kernel", None)
    except (
        Exception
    ):  # Keras raises AttributeError/ValueError on unbuilt or quantized layers
        return None
    return kernel if isinstance(kernel, keras.Variable) else None


def _kernel_layers(model: Any) -> list[Any]:
    """Layers of ``model`` (nested ones included) that have a ``kernel`` variable, in
    model order."""
    return [layer for layer in _all_layers(model) if _kernel(layer) is not None]


def _check_built(model: Any, what: str = "model") -> None:
    """Raise a ValueError telling the user to build ``model`` if it (or a layer in
    it) is unbuilt."""
    from initcourse import _modelwalk as mw

    mw.check_model(model, what)
    unbuilt = [lay for lay in _all_layers(model) if not getattr(lay, "built", True)]
    if not getattr(model, "built", False) or unbuilt:
        raise ValueError(
            f"{what}: {getattr(model, 'name', model)!r} is not built, so it has no"
            " kernels to re-draw. Build it first: give it an input"
            " (keras.Input(shape=...) as its first layer), call"
            " model.build(input_shape), or call it once on a batch of data, e.g."
            " model(x[:1])."
        )


_DRAWN_ROLES = ("kernel", "recurrent_kernel", "embeddings", "unknown")
"""Weight roles :func:`reinitialize` re-draws (biases only with ``bias=``)."""


def _has_weights(unit: Any) -> bool:
    from initcourse import _modelwalk as mw

    return any(info.role in _DRAWN_ROLES for info in mw.weight_inventory(unit, [unit]))


def _select_units(model: Any, layers: Sequence[str | int | Any] | None) -> list[Any]:
    """Resolve ``layers`` (None, or names / indices into ``model.layers`` / layer
    objects) to
    the units (see :mod:`initcourse._modelwalk`) whose weights are re-drawn."""
    from initcourse import _modelwalk as mw

    if layers is None:
        return [u for u in mw.units(model) if _has_weights(u)]
    if isinstance(layers, (str, int)) or not isinstance(layers, Sequence):
        raise TypeError(
            "layers: expected None or a list of layer names, indices or layers, got"
            f" {layers!r}"
        )
    everything = _all_layers(model)
    by_name: dict[str, Any] = {}
    for layer in everything:
        by_name.setdefault(layer.name, layer)
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
                raise ValueError(
                    f"layers: index {item} out of range for a model with {n} layers"
                    f" (0..{n - 1})"
                )
            layer = model.layers[int(item)]
        elif any(item is layer for layer in everything):
            layer = item
        else:
            raise ValueError(
                f"layers: {item!r} is neither a layer name, an index into model.layers,"
                f" nor a layer of model {model.name!r}"
            )
        found = [u for u in mw.units_within(layer) if _has_weights(u)]
        if not found:
            raise ValueError(
                f"layers: layer {layer.name!r} ({type(layer).__name__}) has no kernel"
                " to re-draw"
            )
        chosen.extend(u for u in found if not any(u is c for c in chosen))
    order = {id(u): i for i, u in enumerate(mw.units(model))}
    return sorted(chosen, key=lambda u: order.get(id(u), len(order)))


def _is_numpy_initializer(fn: Any) -> bool:
    """True for a function of :mod:`initcourse.initializers` (or a
    ``functools.partial`` of one)."""
    base = fn.func if isinstance(fn, functools.partial) else fn
    return getattr(base, "__module__", None) == np_init.__name__


def _resolve(initializer: InitializerLike, seed: int | None, what: str) -> Any:
    """A Keras initializer (or Keras-compatible callable) for one weight, seeded with
    ``seed``."""
    if isinstance(initializer, str):
        cls: Any = _lookup(initializer)
        if cls is None:
            try:
                get(initializer)  # raises the ValueError with the list of names
            except ValueError as err:
                raise ValueError(f"{what}: {str(err).split(': ', 1)[-1]}") from None
        takes_seed = "seed" in inspect.signature(cls.__init__).parameters
        return cls(seed=seed) if takes_seed else cls()
    if isinstance(initializer, keras.initializers.Initializer):
        config = initializer.get_config()
        if (
            "seed" in config
        ):  # a fresh copy with this weight's seed: equal shapes, other draws
            return type(initializer).from_config({**config, "seed": seed})
        return initializer
    if _is_numpy_initializer(initializer):
        partial = initializer if isinstance(initializer, functools.partial) else None
        fn = partial.func if partial is not None else initializer
        bound = {
            k: v
            for k, v in (partial.keywords if partial is not None else {}).items()
            if k not in ("rng", "dtype")
        }
        name = fn.__name__
        if (
            name in CUSTOM
        ):  # use our serializable class, so that get_config tells the truth
            cls = CUSTOM[name]
            takes_seed = "seed" in inspect.signature(cls.__init__).parameters
            return cls(**bound, seed=seed) if takes_seed else cls(**bound)
        if name in np_init.NAMES:  # drawn by our numpy function, serializable
            return FromNumpy(name, bound, seed=seed)
    if callable(initializer) and not isinstance(initializer, type):
        return initializer
    raise TypeError(
        f"{what}: expected an initializer name, a keras Initializer, a function of "
        f"initcourse.initializers or a callable, got {type(initializer).__name__} "
        f"{initializer!r}"
    )


def _set_initializer(layer: Any, attribute: str | None, init: Any) -> None:
    """Set ``layer.<attribute>`` (so ``get_config`` describes the new weights) where
    it exists."""
    if attribute and hasattr(layer, attribute):
        try:
            setattr(layer, attribute, init)
        except (
            AttributeError
        ):  # a read-only property (e.g. delegated to a cell): nothing to do
            pass


class Reinitialized(list):
    """The names of the layers :func:`reinitialize` re-drew, with the details.

    A list of layer names, in model order.

    Attributes
    ----------
    weights : list of dict
        One per weight written: ``layer``, ``weight`` (its path), ``shape``, ``role``
        (``kernel``, ``recurrent_kernel``, ``embeddings``, ``bias``) and
        ``initializer``.
    kept : list of dict
        Weights left as they were with ``unsupported="keep"`` (``layer``, ``weight``,
        ``shape``, ``reason``); empty otherwise.
    """

    def __init__(
        self,
        names: list[str],
        weights: list[dict[str, Any]],
        kept: list[dict[str, Any]],
    ):
        super().__init__(names)
        self.weights = weights
        self.kept = kept

    def format(self) -> str:
        """One line per weight written (and per weight kept)."""
        lines = [
            f"{w['weight']} {w['shape']}: {w['role']} <- {w['initializer']}"
            for w in self.weights
        ]
        lines += [
            f"{k['weight']} {k['shape']}: kept ({k['reason']})" for k in self.kept
        ]
        return "\n".join(lines)


def _describe_init(init: Any) -> str:
    name = type(init).__name__
    if name == "function":
        return getattr(init, "__name__", repr(init))
    return name


def reinitialize(
    model: Any,
    initializer: InitializerLike,
    layers: Sequence[str | int | Any] | None = None,
    *,
    bias: InitializerLike | None = None,
    seed: int | None = None,
    recurrent: InitializerLike | None = None,
    embeddings: InitializerLike | None = None,
    unsupported: str = "raise",
) -> Reinitialized:
    """Re-draw the weights of an already built Keras model, in place, all or nothing.

    Setting ``layer.kernel_initializer = ...`` on a built layer changes no weight (the
    initializer only runs inside ``build``). This function draws new values and writes
    them with ``variable.assign``; it also sets the layer's initializer attribute
    (``kernel_initializer``, ``recurrent_initializer``, ...) so that
    ``layer.get_config()`` describes the new weights.

    Every weight is reached, nested ones included (layers inside nested models, custom
    layers, ``MultiHeadAttention``, ``Bidirectional``, ``TimeDistributed``, RNN cells),
    and drawn by the rule Keras uses for its role, as if the layer had been built with
    ``initializer``:

    * kernels (Dense, EinsumDense, every convolution, the depthwise and pointwise
      kernels of separable convolutions, the input kernel of LSTM/GRU/SimpleRNN cells)
      get ``initializer``, called with the weight's shape exactly as Keras calls it in
      ``build`` (so the fans are Keras's);
    * recurrent kernels get ``recurrent`` (default: the layer's own
      ``recurrent_initializer``, ``orthogonal`` unless the model set another);
    * embeddings get ``embeddings`` (default: the layer's own
      ``embeddings_initializer``, Keras's ``uniform(-0.05, 0.05)`` unless the model set
      another);
    * biases get ``bias`` if given, else they are left alone; normalization parameters,
      LayerScale and other non-kernel weights are left alone.

    Weights this function cannot serve (a custom layer's weight with a name Keras does
    not use, so its role is unknown) are an error listing each one, or, with
    ``unsupported="keep"``, left unchanged and listed in the result's ``kept``. Every
    new value is drawn and checked before any weight is written, so an error changes
    nothing; each error names the layer, the weight, its shape and what was expected.

    Parameters
    ----------
    model : keras.Model
        A built model (Sequential, functional or subclassed).
    initializer : str, keras.initializers.Initializer or callable
        A name from :data:`NAMES`, a Keras initializer, a function of
        :mod:`initcourse.initializers` (or a ``functools.partial`` of one; it becomes
        our class for ``sparse``/``wavelet``/``delta_orthogonal``/``zero_hadamard`` and
        a :class:`FromNumpy` otherwise, so the model still saves), or any callable
        ``f(shape, dtype=None)`` (used as is; saving then depends on it).
    layers : list of str, int or layers, optional
        ``None``: every layer with weights. Otherwise layer names (searched in nested
        models and layers too), indices into ``model.layers`` or layer objects; a nested
        model or a layer containing layers stands for all its layers.
    bias : same types as ``initializer``, optional
        ``None`` leaves biases alone; otherwise biases of the chosen layers are re-drawn
        too.
    seed : int or None
        Seeds the draws. Each weight gets its own seed derived from it (so two layers of
        the same shape get different kernels) and the result is reproducible. ``None``
        draws the seeds from Python's :mod:`random`, like Keras (reproducible after
        ``keras.utils.set_random_seed``). Replaces the seed of a seeded initializer
        instance.
    recurrent, embeddings : same types as ``initializer``, optional
        Initializers for recurrent kernels and embedding tables (see above).
    unsupported : {"raise", "keep"}
        What to do with weights of unknown role (see above).

    Returns
    -------
    Reinitialized
        A list of the names of the layers whose weights were re-drawn, in model order,
        with ``.weights`` (every weight written, with its initializer) and ``.kept``.

    Raises
    ------
    TypeError
        ``model`` is not a ``keras.Model``; an initializer of the wrong type; ``layers``
        not
        a list.
    ValueError
        The model is not built; an unknown initializer name or layer; an initializer
        that cannot draw a weight's shape (e.g. ``delta_orthogonal`` for a Dense
        kernel); a weight of unknown role with ``unsupported="raise"``. Nothing is
        changed.
    """
    from initcourse import _modelwalk as mw

    _check_built(model)
    seed = _check_seed(seed)
    if unsupported not in ("raise", "keep"):
        raise ValueError(
            f"unsupported: expected 'raise' or 'keep', got {unsupported!r}"
        )
    for value, what in (
        (initializer, "initializer"),
        (bias, "bias"),
        (recurrent, "recurrent"),
        (embeddings, "embeddings"),
    ):
        if value is not None:
            _resolve(value, 0, what)  # type and name errors before anything else
    chosen = _select_units(model, layers)
    if not chosen:
        raise ValueError(f"model: {model.name!r} has no layer with a kernel to re-draw")
    infos = mw.weight_inventory(model, chosen)
    base = seed if seed is not None else _default_seed()
    kernel_units = [
        u for u in chosen if any(i.unit is u and i.role == "kernel" for i in infos)
    ]
    seeds = np.random.default_rng(base).integers(
        1, 2**31 - 1, size=(len(kernel_units), 2)
    )
    first_seed = {id(u): (int(a), int(b)) for u, (a, b) in zip(kernel_units, seeds)}
    extra = np.random.default_rng([base, 7])
    names = mw.display_names(chosen, model)
    plan: list[tuple[Any, Any, Any]] = []  # (info, initializer, value)
    problems: list[str] = []
    kept: list[dict[str, Any]] = []
    used_first: set[tuple[int, str]] = set()
    for info in infos:
        spec: Any
        if problems and info.role != "unknown":
            continue  # a draw failed: stop drawing (nothing is written); list unknowns
        if info.role == "kernel":
            spec = initializer
        elif info.role == "recurrent_kernel":
            spec = (
                recurrent
                if recurrent is not None
                else getattr(info.layer, cast(str, info.init_attribute), "orthogonal")
            )
        elif info.role == "embeddings":
            spec = (
                embeddings
                if embeddings is not None
                else getattr(info.layer, cast(str, info.init_attribute), "uniform")
            )
        elif info.role == "bias" and bias is not None:
            spec = bias
        elif info.role == "unknown":
            reason = (
                f"a weight of the custom layer {type(info.layer).__name__} with a name"
                " Keras does not use (kernel, recurrent_kernel, embeddings, bias), so"
                " its role and fans are unknown"
            )
            if unsupported == "raise":
                problems.append(f"{info.where()}: {reason}")
            else:
                kept.append(
                    {
                        "layer": names.get(id(info.unit), info.unit.name),
                        "weight": info.path,
                        "shape": info.shape,
                        "reason": reason,
                    }
                )
            continue
        else:
            continue
        slot = 0 if info.role == "kernel" else 1
        key = (id(info.unit), "kernel" if slot == 0 else "bias")
        if (
            id(info.unit) in first_seed
            and info.role in ("kernel", "bias")
            and key not in used_first
        ):
            used_first.add(key)
            weight_seed = first_seed[id(info.unit)][slot]
        else:
            weight_seed = int(extra.integers(1, 2**31 - 1))
        what = {
            "kernel": "initializer",
            "recurrent_kernel": "recurrent",
            "embeddings": "embeddings",
            "bias": "bias",
        }[info.role]
        try:
            init = _resolve(spec, weight_seed, what)
            value = init(info.shape, dtype=info.variable.dtype)
            got = tuple(int(d) for d in np.shape(value))
            if got != info.shape:
                raise ValueError(f"it returned shape {got}")
        except Exception as err:  # noqa: BLE001 - reported with the weight it concerns
            label = spec if isinstance(spec, str) else type(spec).__name__
            problems.append(
                f"{info.where()} ({info.role}): {what} {label!r} cannot draw it,"
                f" expected an array of shape {info.shape}: {type(err).__name__}: {err}"
            )
            continue
        plan.append((info, init, value))
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        drawn = any("cannot draw" in p for p in problems)
        raise ValueError(
            f"reinitialize: nothing was changed; {len(problems)} weight(s) cannot be"
            " served: "
            + "; ".join(problems[:5])
            + more
            + (" (drawing stopped at the first weight that failed)" if drawn else "")
            + (
                '. Pass unsupported="keep" to leave weights of unknown role as they are'
                if any("role and fans are unknown" in p for p in problems)
                else ""
            )
        )
    saved = mw.snapshot([info.variable for info, _, _ in plan])
    try:
        for info, _, value in plan:
            info.variable.assign(value)
    except BaseException:
        mw.restore(saved)
        raise
    for info, init, _ in plan:
        _set_initializer(info.layer, info.init_attribute, init)
    written = [
        {
            "layer": names.get(id(info.unit), info.unit.name),
            "weight": info.path,
            "shape": info.shape,
            "role": info.role,
            "initializer": _describe_init(init),
        }
        for info, init, _ in plan
    ]
    changed = [
        names.get(id(u), u.name)
        for u in chosen
        if any(info.unit is u for info, _, _ in plan)
    ]
    if kept:
        import warnings

        warnings.warn(
            "reinitialize: kept as they were: "
            + "; ".join(f"{k['weight']} {k['shape']}: {k['reason']}" for k in kept),
            RuntimeWarning,
            stacklevel=2,
        )
    return Reinitialized(changed, written, kept)
