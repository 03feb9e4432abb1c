"""Data sets for the course: digits, (Fashion-)MNIST and small synthetic tasks.

Everything here works offline except downloading (Fashion-)MNIST for the first time:
:func:`load_digits` reads the 8x8 digits that ship with scikit-learn, and the synthetic
generators (:func:`make_teacher_regression`, :func:`make_long_range_sequences`,
:func:`make_spirals`, :func:`make_blobs`) draw from an explicit ``rng``.
:func:`load_mnist` uses Keras's loaders (cache in ``~/.keras/datasets``) and raises
:class:`DataUnavailableError`, saying what failed and what to do, when the file is
neither cached nor downloadable; it falls back to the digits only when asked to
(``fallback="digits"``).

Arrays follow Keras conventions: inputs ``float32`` of shape ``(n, *input_shape)``,
class labels ``int64`` of shape ``(n,)``. Only :func:`load_mnist` imports Keras (on
call).
"""

from __future__ import annotations

import contextlib
import io
import numbers
import os
import socket
import warnings
from dataclasses import dataclass

import numpy as np

from initcourse._utils import RngLike, as_rng, check_choice, check_positive

__all__ = [
    "DataUnavailableError",
    "Dataset",
    "load_digits",
    "load_mnist",
    "make_blobs",
    "make_dataset",
    "make_long_range_sequences",
    "make_spirals",
    "make_teacher_regression",
    "standardize",
]

_MNIST_FILES = {
    "mnist": ("mnist.npz",),
    "fashion_mnist": (
        os.path.join("fashion-mnist", "train-labels-idx1-ubyte.gz"),
        os.path.join("fashion-mnist", "train-images-idx3-ubyte.gz"),
        os.path.join("fashion-mnist", "t10k-labels-idx1-ubyte.gz"),
        os.path.join("fashion-mnist", "t10k-images-idx3-ubyte.gz"),
    ),
}
_MNIST_ORIGINS = {
    "mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz",
    "fashion_mnist": "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
}


class DataUnavailableError(RuntimeError):
    """A data set could not be loaded (not cached and not downloadable).

    The message says what to do."""


@dataclass(eq=False)
class Dataset:
    """A train/test split ready for Keras.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray
        ``float32`` inputs of shape ``(n, *input_shape)``.
    y_train, y_test : numpy.ndarray
        ``int64`` class labels of shape ``(n,)`` (classification) or ``float32`` targets
        of shape ``(n, d_out)`` (regression, ``n_classes is None``).
    n_classes : int or None
        Number of classes; ``None`` for a regression task.
    input_shape : tuple of int
        Shape of one example, e.g. ``(64,)`` or ``(8, 8, 1)``.
    name : str
        A short human-readable name, e.g. ``"digits"``.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    n_classes: int | None
    input_shape: tuple[int, ...]
    name: str

    @property
    def n_train(self) -> int:
        """Number of training examples."""
        return int(self.x_train.shape[0])

    @property
    def n_test(self) -> int:
        """Number of test examples."""
        return int(self.x_test.shape[0])

    def __repr__(self) -> str:
        task = "regression" if self.n_classes is None else f"{self.n_classes} classes"
        return (
            f"Dataset(name={self.name!r}, n_train={self.n_train}, "
            f"n_test={self.n_test}, input_shape={self.input_shape}, {task})"
        )


# --------------------------------------------------------------------------- helpers


def _check_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name}: expected an int >= {minimum}, got {type(value).__name__} "
            f"{value!r}"
        )
    if int(value) < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


def _check_fraction(value: object, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 < float(value) < 1.0
    ):
        raise ValueError(
            f"{name}: expected a number strictly between 0 and 1, got {value!r}"
        )
    return float(value)


def standardize(
    x_train: np.ndarray, x_test: np.ndarray, eps: float = 1e-8
) -> tuple[np.ndarray, np.ndarray]:
    """Standardize both sets with the per-feature mean and std of the training set.

    .. math:: \\tilde x_{ij} = (x_{ij} - \\mu_j) / \\sigma_j, \\quad
       \\mu_j, \\sigma_j \\text{ computed on the training rows only.}

    Features that are constant on the training set (``sigma_j <= eps``, e.g. the
    always-black border pixels of the digits) are set to 0 in both sets instead of being
    divided by zero. Unit-variance inputs are what the variance-preserving initializers
    assume {cite}`lecun1998efficient`.

    Parameters
    ----------
    x_train, x_test : numpy.ndarray
        Arrays of shape ``(n, ...)``; statistics are per feature (over axis 0).
    eps : float
        Threshold below which a feature counts as constant.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The standardized training and test sets, ``float32``.
    """
    x_train = np.asarray(x_train, dtype=np.float64)
    x_test = np.asarray(x_test, dtype=np.float64)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            f"x_test: expected examples of shape {x_train.shape[1:]} like x_train, got "
            f"{x_test.shape[1:]}"
        )
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    constant = std <= eps
    safe = np.where(constant, 1.0, std)
    out_train = np.where(constant, 0.0, (x_train - mean) / safe)
    out_test = np.where(constant, 0.0, (x_test - mean) / safe)
    return out_train.astype(np.float32), out_test.astype(np.float32)


def _stratified_subset(
    x: np.ndarray, y: np.ndarray, n: int | None, seed: int, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Keep ``n`` examples, stratified by label (all of them when ``n`` is None or too
    large)."""
    if n is None:
        return x, y
    n = _check_int(n, name)
    if n >= len(y):
        return x, y
    from sklearn.model_selection import train_test_split

    n_classes = len(np.unique(y))
    stratify = y if n >= n_classes else None
    keep, _ = train_test_split(
        np.arange(len(y)), train_size=n, stratify=stratify, random_state=seed
    )
    keep = np.sort(keep)
    return x[keep], y[keep]


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    *,
    test_size: float = 0.25,
    seed: int = 0,
    standardize_x: bool = True,
    name: str = "custom",
) -> Dataset:
    """Split arrays into a :class:`Dataset` (stratified when ``y`` holds class labels).

    Parameters
    ----------
    x : numpy.ndarray
        Inputs, shape ``(n, ...)``.
    y : numpy.ndarray
        Integer class labels of shape ``(n,)`` (classification, split stratified) or
        float targets of shape ``(n,)``/``(n, d_out)`` (regression; ``n_classes`` is
        None).
    test_size : float
        Fraction of examples held out for testing, in (0, 1).
    seed : int
        Seed of the split (scikit-learn ``random_state``).
    standardize_x : bool
        Standardize inputs with training statistics (see :func:`standardize`).
    name : str
        Name stored in the data set.
    """
    from sklearn.model_selection import train_test_split

    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim < 2 or len(x) != len(y):
        raise ValueError(
            "x, y: expected x of shape (n, ...) and y with the same n, got x "
            f"{x.shape} and y {y.shape}"
        )
    test_size = _check_fraction(test_size, "test_size")
    seed = _check_int(seed, "seed", minimum=0)
    classification = np.issubdtype(y.dtype, np.integer)
    stratify = y if classification else None
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=stratify
    )
    if standardize_x:
        x_tr, x_te = standardize(x_tr, x_te)
    if classification:
        y_tr, y_te = y_tr.astype(np.int64), y_te.astype(np.int64)
        n_classes: int | None = int(y.max()) + 1
    else:
        y_tr = y_tr.astype(np.float32).reshape(len(y_tr), -1)
        y_te = y_te.astype(np.float32).reshape(len(y_te), -1)
        n_classes = None
    return Dataset(
        x_train=np.ascontiguousarray(x_tr, dtype=np.float32),
        y_train=y_tr,
        x_test=np.ascontiguousarray(x_te, dtype=np.float32),
        y_test=y_te,
        n_classes=n_classes,
        input_shape=tuple(int(d) for d in x.shape[1:]),
        name=name,
    )


# --------------------------------------------------------------------------- real data


def load_digits(
    *,
    test_size: float = 0.25,
    seed: int = 0,
    flatten: bool = True,
    standardize: bool = True,
) -> Dataset:
    """The 1797 8x8 digits bundled with scikit-learn (offline), split and standardized.

    The split is stratified (each class keeps its share in both sets) and fixed by
    ``seed``. With ``standardize=True`` each of the 64 pixels is shifted and scaled with
    the training-set mean and std; pixels that are constant on the training set become 0
    (see :func:`initcourse.data.standardize`).

    Parameters
    ----------
    test_size : float
        Fraction held out for testing, in (0, 1). Default 0.25 (1347 train / 450 test).
    seed : int
        Seed of the split.
    flatten : bool
        ``True``: inputs of shape ``(64,)``; ``False``: images ``(8, 8, 1)`` (channels
        last).
    standardize : bool
        Standardize with training statistics; ``False`` keeps the raw 0..16 intensities.

    Returns
    -------
    Dataset
        ``x_*`` float32, ``y_*`` int64 in 0..9, ``n_classes=10``, ``name="digits"``.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    raw = _sk_load_digits()
    x = raw.data.astype(np.float64)
    y = raw.target.astype(np.int64)
    ds = make_dataset(
        x, y, test_size=test_size, seed=seed, standardize_x=standardize, name="digits"
    )
    if not flatten:
        ds.x_train = ds.x_train.reshape(-1, 8, 8, 1)
        ds.x_test = ds.x_test.reshape(-1, 8, 8, 1)
        ds.input_shape = (8, 8, 1)
    return ds


def keras_cache_dir() -> str:
    """Keras' data set cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(
        os.path.expanduser("~"), ".keras"
    )
    return os.path.join(home, "datasets")


def _is_cached(kind: str) -> bool:
    cache = keras_cache_dir()
    return all(os.path.exists(os.path.join(cache, f)) for f in _MNIST_FILES[kind])


def load_mnist(
    kind: str = "mnist",
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    fallback: str | None = None,
    flatten: bool = True,
    standardize: bool = True,
    seed: int = 0,
    timeout: float = 10.0,
) -> Dataset:
    """MNIST or Fashion-MNIST (28x28 grey images, 10 classes) through Keras's loaders.

    The files are read from the Keras cache (``~/.keras/datasets``, or
    ``$KERAS_HOME/datasets``) when present; otherwise Keras downloads them, with a
    socket timeout of ``timeout`` seconds so that a machine without internet fails
    quickly instead of hanging. If that fails, a :class:`DataUnavailableError` says
    which loader failed, the cache path, the underlying error and what to do. Only with
    ``fallback="digits"`` does it return :func:`load_digits` instead (with a
    ``UserWarning`` saying so; the returned data set is named ``"digits"``).

    Parameters
    ----------
    kind : {"mnist", "fashion_mnist"}
        Which data set.
    n_train, n_test : int or None
        Keep a stratified random subset of this size (chosen with ``seed``); None keeps
        all (60000 / 10000).
    fallback : {None, "digits"}
        What to do when the data cannot be loaded: None raises, "digits" warns and
        returns the scikit-learn digits (then ``n_train``/``n_test`` subsample those).
    flatten : bool
        ``True``: inputs of shape ``(784,)``; ``False``: images ``(28, 28, 1)``.
    standardize : bool
        Per-pixel standardization with training statistics (constant pixels become 0);
        ``False`` scales intensities to [0, 1].
    seed : int
        Seed for the subsets.
    timeout : float
        Socket timeout in seconds for the download.

    Raises
    ------
    DataUnavailableError
        The data is neither cached nor downloadable and ``fallback`` is None.
    """
    kind = check_choice(kind, "kind", ("mnist", "fashion_mnist"))
    if fallback is not None:
        check_choice(fallback, "fallback", ("digits",))
    seed = _check_int(seed, "seed", minimum=0)
    timeout = check_positive(timeout, "timeout")
    try:
        (x_tr, y_tr), (x_te, y_te) = _keras_load(kind, timeout)
    except Exception as err:  # noqa: BLE001 - any failure of the loader is reported the same way
        message = _unavailable_message(kind, err)
        if fallback == "digits":
            warnings.warn(
                f"{message.splitlines()[0]} Falling back to scikit-learn's 8x8 digits "
                "(fallback='digits'): the returned data set is 'digits', not "
                f"{kind!r}.",
                UserWarning,
                stacklevel=2,
            )
            ds = load_digits(seed=seed, flatten=flatten, standardize=standardize)
            ds.x_train, ds.y_train = _stratified_subset(
                ds.x_train, ds.y_train, n_train, seed, "n_train"
            )
            ds.x_test, ds.y_test = _stratified_subset(
                ds.x_test, ds.y_test, n_test, seed, "n_test"
            )
            return ds
        raise DataUnavailableError(message) from err
    x_tr, y_tr = _stratified_subset(
        x_tr, y_tr.astype(np.int64), n_train, seed, "n_train"
    )
    x_te, y_te = _stratified_subset(x_te, y_te.astype(np.int64), n_test, seed, "n_test")
    x_tr = x_tr.reshape(len(x_tr), -1).astype(np.float64)
    x_te = x_te.reshape(len(x_te), -1).astype(np.float64)
    if standardize:
        x_tr, x_te = _std(x_tr, x_te)
    else:
        x_tr, x_te = (
            (x_tr / 255.0).astype(np.float32),
            (x_te / 255.0).astype(np.float32),
        )
    shape: tuple[int, ...] = (784,) if flatten else (28, 28, 1)
    return Dataset(
        x_train=np.ascontiguousarray(x_tr.reshape((-1, *shape)), dtype=np.float32),
        y_train=y_tr.astype(np.int64),
        x_test=np.ascontiguousarray(x_te.reshape((-1, *shape)), dtype=np.float32),
        y_test=y_te.astype(np.int64),
        n_classes=10,
        input_shape=shape,
        name=kind,
    )


# ``load_mnist``/``load_digits`` have a parameter that shadows the function name
_std = standardize


def _keras_load(kind: str, timeout: float):
    """Call ``keras.datasets.<kind>.load_data()`` with a socket timeout and its chatter
    silenced."""
    import keras

    loader = getattr(keras.datasets, kind).load_data
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return loader()
    finally:
        socket.setdefaulttimeout(previous)


def _unavailable_message(kind: str, err: BaseException) -> str:
    cache = keras_cache_dir()
    files = ", ".join(_MNIST_FILES[kind])
    return (
        f"load_mnist(kind={kind!r}): keras.datasets.{kind}.load_data() failed, and the "
        f"Keras cache {cache} does not hold a usable copy ({files}). Underlying error: "
        f"{type(err).__name__}: {err}\nWhat to do: (1) connect to the internet and "
        f"call load_mnist again (Keras downloads from {_MNIST_ORIGINS[kind]} and "
        f"caches the file); or (2) copy {files} into {cache}; or (3) call "
        f"load_mnist({kind!r}, fallback='digits') to use scikit-learn's bundled 8x8 "
        "digits instead."
    )


# ----------------------------------------------------------------------- synthetic data


def make_teacher_regression(
    n: int,
    d: int,
    *,
    d_out: int = 1,
    hidden: tuple[int, ...] = (32,),
    activation: str = "tanh",
    noise: float = 0.0,
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets from a random "teacher" network (student-teacher regression).

    .. math:: x \\sim \\mathcal N(0, I_d), \\quad
       h_0 = x,\\; h_l = \\phi(W_l h_{l-1}),\\;
       y = W_{L+1} h_L + \\sigma\\,\\varepsilon,

    with teacher weights :math:`W_l \\sim \\mathcal N(0, 1/\\text{fan\\_in})` (LeCun
    scaling {cite}`lecun1998efficient`, so that the teacher's signal neither vanishes
    nor explodes) and :math:`\\varepsilon \\sim \\mathcal N(0, 1)`. ``hidden=()`` gives
    a linear teacher.

    Parameters
    ----------
    n, d : int
        Number of examples and input dimension.
    d_out : int
        Output dimension.
    hidden : tuple of int
        Widths of the teacher's hidden layers.
    activation : {"tanh", "relu", "linear"}
        Teacher nonlinearity :math:`\\phi`.
    noise : float
        Std :math:`\\sigma >= 0` of the label noise.
    rng : None, int or numpy.random.Generator
        Source of randomness (teacher weights, inputs and noise).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``x`` of shape ``(n, d)`` and ``y`` of shape ``(n, d_out)``, both float32.
    """
    n, d, d_out = _check_int(n, "n"), _check_int(d, "d"), _check_int(d_out, "d_out")
    hidden = tuple(_check_int(h, "hidden") for h in hidden)
    check_choice(activation, "activation", ("tanh", "relu", "linear"))
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or noise < 0:
        raise ValueError(f"noise: expected a number >= 0, got {noise!r}")
    gen = as_rng(rng)
    phi = {
        "tanh": np.tanh,
        "relu": lambda z: np.maximum(z, 0.0),
        "linear": lambda z: z,
    }[activation]
    x = gen.standard_normal((n, d))
    h = x
    widths = (d, *hidden, d_out)
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        w = gen.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
        h = h @ w
        if i < len(widths) - 2:
            h = phi(h)
    y = h + noise * gen.standard_normal(h.shape)
    return x.astype(np.float32), y.astype(np.float32)


def make_long_range_sequences(
    n: int, length: int, *, rng: RngLike = None
) -> tuple[np.ndarray, np.ndarray]:
    """The "adding problem": a long-range memory task for recurrent networks.

    Each sequence has ``length`` time steps with two channels: a value
    :math:`u_t \\sim \\mathcal U[0, 1]` and a marker :math:`m_t \\in \\{0, 1\\}` that is
    1 at exactly two positions, one in the first half and one in the second half. The
    target is the sum of the two marked values, :math:`y = \\sum_t m_t u_t`. Predicting
    the constant 1 gives a mean squared error of
    :math:`2 \\cdot \\tfrac1{12} = 1/6 \\approx 0.167`, the baseline a network must beat
    by remembering across up to ``length`` steps (Hochreiter & Schmidhuber 1997; used
    for identity-initialized RNNs by {cite}`le2015simple`).

    Parameters
    ----------
    n : int
        Number of sequences.
    length : int
        Sequence length, >= 2.
    rng : None, int or numpy.random.Generator
        Source of randomness.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``x`` float32 of shape ``(n, length, 2)`` and ``y`` float32 of shape ``(n, 1)``.
    """
    n = _check_int(n, "n")
    length = _check_int(length, "length", minimum=2)
    gen = as_rng(rng)
    values = gen.uniform(0.0, 1.0, size=(n, length))
    half = length // 2
    first = gen.integers(0, half, size=n)
    second = gen.integers(half, length, size=n)
    markers = np.zeros((n, length))
    rows = np.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = np.stack([values, markers], axis=-1).astype(np.float32)
    y = (values * markers).sum(axis=1, keepdims=True).astype(np.float32)
    return x, y


def make_spirals(
    n: int,
    *,
    n_classes: int = 2,
    noise: float = 0.1,
    turns: float = 1.0,
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved 2-D spirals, one arm per class: a small nonlinear task.

    Arm :math:`k` at parameter :math:`t \\in [0, 1]` is at radius :math:`t` and angle
    :math:`2\\pi(\\text{turns}\\cdot t + k / K)`, plus Gaussian noise of std ``noise``.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``x`` float32 ``(n, 2)`` and ``y`` int64 ``(n,)`` with labels ``0..n_classes-1``
        (balanced up to one example).
    """
    n = _check_int(n, "n")
    n_classes = _check_int(n_classes, "n_classes", minimum=2)
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or noise < 0:
        raise ValueError(f"noise: expected a number >= 0, got {noise!r}")
    turns = check_positive(turns, "turns")
    gen = as_rng(rng)
    y = np.arange(n) % n_classes
    t = gen.uniform(0.0, 1.0, size=n)
    angle = 2 * np.pi * (turns * t + y / n_classes)
    x = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    x = x + noise * gen.standard_normal(x.shape)
    return x.astype(np.float32), y.astype(np.int64)


def make_blobs(
    n: int,
    *,
    n_classes: int = 3,
    d: int = 2,
    spread: float = 1.0,
    separation: float = 4.0,
    rng: RngLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs: class k is :math:`\\mathcal N(c_k, \\text{spread}^2 I_d)`.

    The centres :math:`c_k` are drawn from
    :math:`\\mathcal N(0, \\text{separation}^2 I_d)`.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``x`` float32 ``(n, d)`` and ``y`` int64 ``(n,)`` (balanced up to one example).
    """
    n = _check_int(n, "n")
    n_classes = _check_int(n_classes, "n_classes", minimum=2)
    d = _check_int(d, "d")
    spread = check_positive(spread, "spread")
    separation = check_positive(separation, "separation")
    gen = as_rng(rng)
    centres = separation * gen.standard_normal((n_classes, d))
    y = np.arange(n) % n_classes
    x = centres[y] + spread * gen.standard_normal((n, d))
    return x.astype(np.float32), y.astype(np.int64)
