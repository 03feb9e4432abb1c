"""Build small Keras models and train them reproducibly, to compare initializers fairly.

* :func:`seed_everything` seeds Python, NumPy and Keras/TensorFlow and turns on
  TensorFlow's deterministic ops, so that the same seed gives the same numbers on a CPU.
* :func:`build_mlp` and :func:`build_cnn` build plain networks whose kernels come from
  one initializer (a Keras name, one of the course's names resolved by
  :func:`initcourse.keras_initializers.get`, an ``Initializer`` or a callable), seeded
  layer by layer so that a build is reproducible.
* :func:`train` runs a compiled ``tf.function`` training step over mini-batches in an
  order fixed by ``seed`` and returns a :class:`History`.
* :func:`compare` trains one model per initializer on the same data, seed, optimizer,
  budget and batch order, and returns a :class:`Comparison` with a text table.

Keras/TensorFlow are imported inside the functions, on call.
"""

from __future__ import annotations

import copy
import math
import numbers
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from initcourse._utils import check_choice, check_positive

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from initcourse.data import Dataset

__all__ = [
    "Comparison",
    "History",
    "batch_indices",
    "build_cnn",
    "build_mlp",
    "compare",
    "make_optimizer",
    "resolve_initializer",
    "seed_everything",
    "train",
]

InitializerLike = Union[str, "keras.initializers.Initializer", Callable[..., Any]]
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam", "rmsprop")


# --------------------------------------------------------------------------- seeding


def _check_int(value: object, name: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name}: expected an int >= {minimum}, got {type(value).__name__} "
            f"{value!r}"
        )
    if int(value) < minimum:
        raise ValueError(f"{name}: expected an int >= {minimum}, got {value!r}")
    return int(value)


def seed_everything(seed: int) -> None:
    """Seed ``random``, NumPy's global generator and Keras; make TF ops deterministic.

    Calls ``keras.utils.set_random_seed(seed)`` and
    ``tf.config.experimental.enable_op_determinism()``. Safe to call any number of
    times. After it, building and training the same model with the same seed gives
    identical numbers on the same CPU and library versions.
    """
    seed = _check_int(seed, "seed")
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    _reset_keras_seed_generator()
    tf.config.experimental.enable_op_determinism()


def _reset_keras_seed_generator() -> None:
    """Drop Keras's global ``SeedGenerator`` so it is recreated from the new seed.

    ``keras.utils.set_random_seed`` does this itself only from Keras 3.13; before,
    unseeded ``keras.random`` calls (and unseeded initializers) went on from the old
    generator state.
    """
    try:
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator
    except ImportError:  # pragma: no cover - a Keras without these internals
        return
    name = getattr(seed_generator, "GLOBAL_SEED_GENERATOR", "global_seed_generator")
    global_state.set_global_attribute(name, None)


# ------------------------------------------------------------------------- initializers


def _course_get(name: str, **kwargs: Any):
    """Resolve a name with ``initcourse.keras_initializers.get`` when available, else
    Keras."""
    keras_initializers: Any
    try:
        from initcourse import keras_initializers
    except ImportError:  # the module is optional for plain Keras names
        keras_initializers = None
    if keras_initializers is not None and hasattr(keras_initializers, "get"):
        return keras_initializers.get(name, **kwargs)
    import keras

    init = keras.initializers.get(name)
    if kwargs:
        init = init.__class__.from_config({**init.get_config(), **kwargs})
    return init


def _accepts_seed(init: Any) -> bool:
    try:
        return "seed" in init.get_config()
    except Exception:  # noqa: BLE001 - initializers without a usable config
        return False


def resolve_initializer(
    spec: InitializerLike, *, seed: int | None = None, layer_index: int = 0
):
    """Return a fresh initializer for one layer.

    Parameters
    ----------
    spec : str, keras.initializers.Initializer or callable
        A name (``"he_normal"``, ``"orthogonal"``, or a course name such as ``"sparse"``
        or ``"wavelet"``, resolved by :func:`initcourse.keras_initializers.get`), an
        initializer instance, or any callable ``f(shape, dtype=None)`` (returned
        unchanged).
    seed : int or None
        Base seed of the model. Layer ``i`` gets seed ``seed + i``. With ``seed=None`` a
        name gets Keras's own seeding (reproducible after :func:`seed_everything`), and
        an instance keeps its seed offset by ``layer_index`` (or its ``None`` seed).
    layer_index : int
        Index of the layer in the model.

    Notes
    -----
    An instance is *cloned* (``from_config(get_config())``) for every layer: a Keras 3
    initializer seeded with an int, or unseeded, returns the same values on every call,
    so sharing one instance would give equal-shaped layers identical kernels.
    """
    import keras

    if isinstance(spec, str):
        init = _course_get(spec)
        if seed is not None and _accepts_seed(init):
            init = init.__class__.from_config(
                {**init.get_config(), "seed": seed + layer_index}
            )
        elif _accepts_seed(init):
            init = init.__class__.from_config(init.get_config())
        return init
    if isinstance(spec, keras.initializers.Initializer):
        if not _accepts_seed(spec):
            return copy.copy(spec)
        config = spec.get_config()
        if seed is not None:
            config["seed"] = seed + layer_index
        elif isinstance(config.get("seed"), numbers.Integral):
            config["seed"] = int(config["seed"]) + layer_index
        return spec.__class__.from_config(config)
    if callable(spec):
        return spec
    raise TypeError(
        "kernel_initializer: expected an initializer name, a "
        "keras.initializers.Initializer or a callable f(shape, dtype=None), got "
        f"{type(spec).__name__} {spec!r}"
    )


# --------------------------------------------------------------------------- models


def _check_activation(activation: str | None) -> str | None:
    if activation is None:
        return None
    import keras

    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(
            f"activation: unknown activation {activation!r}; use a Keras name such as "
            "'relu', 'tanh', 'sigmoid', 'selu', 'linear' or None"
        ) from None
    return activation


def build_mlp(
    input_dim: int,
    n_classes: int,
    *,
    depth: int,
    width: int,
    activation: str | None = "relu",
    kernel_initializer: InitializerLike = "glorot_uniform",
    bias_initializer: InitializerLike = "zeros",
    output_initializer: InitializerLike | None = None,
    seed: int | None = None,
    batch_norm: bool = False,
    name: str | None = None,
) -> keras.Model:
    """A plain MLP: ``depth`` hidden ``Dense(width, activation)`` layers, linear output.

    .. math:: h_0 = x,\\quad
       h_l = \\phi(W_l^\\top h_{l-1} + b_l)\\ (l = 1..\\text{depth}),
       \\quad z = W_{\\text{out}}^\\top h_{\\text{depth}} + b_{\\text{out}}.

    The output ``z`` are logits (no softmax): train with a ``from_logits=True`` loss, as
    :func:`train` does. With ``batch_norm=True`` a ``BatchNormalization`` layer sits
    between each ``Dense`` (without activation) and its ``Activation``
    {cite}`ioffe2015batch`.

    Parameters
    ----------
    input_dim : int
        Number of input features.
    n_classes : int
        Number of outputs (classes; 1 for a scalar regression).
    depth : int
        Number of hidden layers (>= 0).
    width : int
        Units per hidden layer.
    activation : str or None
        Keras activation of the hidden layers.
    kernel_initializer : str, Initializer or callable
        Initializer of the hidden kernels, see :func:`resolve_initializer`; names such
        as ``"sparse"`` or ``"wavelet"`` go through
        :func:`initcourse.keras_initializers.get`.
    bias_initializer : str, Initializer or callable
        Initializer of the biases (Keras default ``"zeros"``).
    output_initializer : str, Initializer, callable or None
        Initializer of the output kernel; None uses ``kernel_initializer``.
    seed : int or None
        Layer ``i`` (0-based, output last) is seeded with ``seed + i``: the same seed
        gives the same weights.
    batch_norm : bool
        Insert batch normalization before each hidden activation.
    name : str or None
        Model name.

    Returns
    -------
    keras.Model
        A built ``keras.Sequential`` with hidden layers named
        ``dense_1 .. dense_<depth>`` and the output layer named ``output``.
    """
    import keras

    input_dim = _check_int(input_dim, "input_dim", 1)
    n_classes = _check_int(n_classes, "n_classes", 1)
    depth = _check_int(depth, "depth", 0)
    width = _check_int(width, "width", 1)
    activation = _check_activation(activation)
    if seed is not None:
        seed = _check_int(seed, "seed")
    out_init = kernel_initializer if output_initializer is None else output_initializer
    layers: list = [keras.Input(shape=(input_dim,))]
    for i in range(depth):
        kernel = resolve_initializer(kernel_initializer, seed=seed, layer_index=i)
        bias = resolve_initializer(bias_initializer, seed=seed, layer_index=i)
        if batch_norm:
            layers += [
                keras.layers.Dense(
                    width,
                    kernel_initializer=kernel,
                    bias_initializer=bias,
                    name=f"dense_{i + 1}",
                ),
                keras.layers.BatchNormalization(name=f"batch_norm_{i + 1}"),
                keras.layers.Activation(
                    activation or "linear", name=f"activation_{i + 1}"
                ),
            ]
        else:
            layers.append(
                keras.layers.Dense(
                    width,
                    activation=activation,
                    kernel_initializer=kernel,
                    bias_initializer=bias,
                    name=f"dense_{i + 1}",
                )
            )
    layers.append(
        _output_layer(
            n_classes, out_init, bias_initializer, seed=seed, layer_index=depth
        )
    )
    return keras.Sequential(layers, name=name or f"mlp_depth{depth}_width{width}")


def _output_layer(
    n_classes: int,
    kernel_init: Any,
    bias_init: Any,
    *,
    seed: int | None,
    layer_index: int,
) -> Any:
    """The logits layer shared by :func:`build_mlp` and :func:`build_cnn` (no
    activation: from_logits)."""
    import keras

    return keras.layers.Dense(
        n_classes,
        kernel_initializer=resolve_initializer(
            kernel_init, seed=seed, layer_index=layer_index
        ),
        bias_initializer=resolve_initializer(
            bias_init, seed=seed, layer_index=layer_index
        ),
        name="output",
    )


def build_cnn(
    input_shape: Sequence[int],
    n_classes: int,
    *,
    depth: int,
    filters: int,
    kernel_size: int = 3,
    activation: str | None = "relu",
    kernel_initializer: InitializerLike = "glorot_uniform",
    bias_initializer: InitializerLike = "zeros",
    output_initializer: InitializerLike | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> keras.Model:
    """A plain CNN: ``depth`` ``Conv2D`` layers, global average pooling, linear output.

    The convolutions are ``Conv2D(filters, kernel_size, padding="same")``.

    No pooling between the convolutions and 'same' padding keep the spatial size, so
    depth is limited only by compute; the output is logits (no softmax). Seeding as in
    :func:`build_mlp` (layer ``i`` gets ``seed + i``). Keras conv kernels have shape
    ``(kernel_size, kernel_size, in_channels, filters)`` and fan-in
    ``kernel_size**2 * in_channels``. Arguments as in :func:`build_mlp`; a conv-only
    initializer such as ``"delta_orthogonal"`` needs ``output_initializer`` (e.g.
    ``"glorot_uniform"``) for the final ``Dense`` layer.

    Returns
    -------
    keras.Model
        A built ``keras.Sequential`` with layers ``conv_1 .. conv_<depth>``, ``pool``
        and ``output``.
    """
    import keras

    shape = tuple(_check_int(s, "input_shape", 1) for s in input_shape)
    if len(shape) != 3:
        raise ValueError(
            "input_shape: expected (height, width, channels), got "
            f"{tuple(input_shape)!r}"
        )
    n_classes = _check_int(n_classes, "n_classes", 1)
    depth = _check_int(depth, "depth", 0)
    filters = _check_int(filters, "filters", 1)
    kernel_size = _check_int(kernel_size, "kernel_size", 1)
    activation = _check_activation(activation)
    if seed is not None:
        seed = _check_int(seed, "seed")
    out_init = kernel_initializer if output_initializer is None else output_initializer
    layers: list = [keras.Input(shape=shape)]
    for i in range(depth):
        layers.append(
            keras.layers.Conv2D(
                filters,
                kernel_size,
                padding="same",
                activation=activation,
                kernel_initializer=resolve_initializer(
                    kernel_initializer, seed=seed, layer_index=i
                ),
                bias_initializer=resolve_initializer(
                    bias_initializer, seed=seed, layer_index=i
                ),
                name=f"conv_{i + 1}",
            )
        )
    layers.append(keras.layers.GlobalAveragePooling2D(name="pool"))
    layers.append(
        _output_layer(
            n_classes, out_init, bias_initializer, seed=seed, layer_index=depth
        )
    )
    return keras.Sequential(layers, name=name or f"cnn_depth{depth}_filters{filters}")


# --------------------------------------------------------------------------- training


@dataclass
class History:
    """What :func:`train` recorded, one entry per evaluation point.

    Attributes
    ----------
    steps : list of int
        Number of optimizer steps done at each evaluation point.
    loss, accuracy : list of float
        Mean training loss / accuracy over the mini-batches since the previous point
        (the Keras convention; each batch's loss is computed *before* its update, so
        with ``eval_every=1`` ``loss[0]`` is the loss of the initial weights on the
        first batch). ``accuracy`` is NaN for regression.
    test_loss, test_accuracy : list of float
        Loss / accuracy on the whole test set at each point (NaN accuracy for
        regression).
    seconds : float
        Wall-clock training time; excluded from equality and from ``repr``.
    """

    steps: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_accuracy: list[float] = field(default_factory=list)
    seconds: float = field(default=0.0, compare=False, repr=False)

    def steps_to(self, target_loss: float) -> int | None:
        """First recorded step at which the training ``loss`` is <= ``target_loss``
        (None if never)."""
        target = float(target_loss)
        for step, value in zip(self.steps, self.loss):
            if value <= target:
                return step
        return None

    @property
    def final_loss(self) -> float:
        """Training loss at the last evaluation point (NaN if nothing was recorded)."""
        return self.loss[-1] if self.loss else float("nan")


def make_optimizer(optimizer: str | Any | Callable[[], Any], learning_rate: float):
    """A fresh Keras optimizer.

    ``"sgd"`` (plain), ``"momentum"`` (SGD, momentum 0.9), ``"nesterov"`` (Nesterov
    momentum 0.9 {cite}`sutskever2013importance`), ``"adam"`` {cite}`kingma2015adam`,
    ``"rmsprop"``, all with ``learning_rate``; a zero-argument factory returning an
    optimizer; or an optimizer instance (used as is, ``learning_rate`` ignored; one
    instance serves one model only).
    """
    import keras

    if isinstance(optimizer, keras.optimizers.Optimizer):
        return optimizer
    if isinstance(optimizer, str):
        check_choice(optimizer, "optimizer", OPTIMIZERS)
        lr = check_positive(learning_rate, "learning_rate")
        return {
            "sgd": lambda: keras.optimizers.SGD(lr),
            "momentum": lambda: keras.optimizers.SGD(lr, momentum=0.9),
            "nesterov": lambda: keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
            "adam": lambda: keras.optimizers.Adam(lr),
            "rmsprop": lambda: keras.optimizers.RMSprop(lr),
        }[optimizer]()
    if callable(optimizer):
        opt = optimizer()
        if not isinstance(opt, keras.optimizers.Optimizer):
            raise TypeError(
                f"optimizer: the factory returned {type(opt).__name__}, not a keras "
                "optimizer"
            )
        return opt
    raise TypeError(
        f"optimizer: expected one of {OPTIMIZERS}, a keras optimizer or a factory, got "
        f"{optimizer!r}"
    )


def batch_indices(n: int, batch_size: int, seed: int, epoch: int) -> list[np.ndarray]:
    """Mini-batch index arrays for one epoch: a permutation fixed by ``(seed, epoch)``.

    :func:`train` uses exactly these batches, so two runs (or every initializer in
    :func:`compare`) with the same seed see the same examples in the same order. The
    last batch is smaller when ``batch_size`` does not divide ``n``.
    """
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


def _is_interactive() -> bool:
    if "ipykernel" in sys.modules:  # notebooks: keep stored outputs deterministic
        return False
    try:
        return bool(sys.stdout.isatty())
    except (AttributeError, ValueError):
        return False


def _loss_for(data: Dataset):
    import keras

    if data.n_classes is None:
        return keras.losses.MeanSquaredError()
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def _check_data(model: Any, data: Any) -> None:
    for attr in ("x_train", "y_train", "x_test", "y_test", "n_classes"):
        if not hasattr(data, attr):
            raise TypeError(
                f"data: expected an initcourse.data.Dataset, got {type(data).__name__}"
            )
    in_shape = tuple(model.input_shape[1:]) if hasattr(model, "input_shape") else None
    if in_shape is not None and tuple(data.x_train.shape[1:]) != in_shape:
        raise ValueError(
            f"data: examples of shape {tuple(data.x_train.shape[1:])} do not fit the "
            f"model input shape {in_shape}"
        )


def train(
    model: keras.Model,
    data: Dataset,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int = 128,
    optimizer: str | Any = "sgd",
    learning_rate: float = 0.01,
    seed: int = 0,
    eval_every: int | None = None,
    progress: bool | None = None,
) -> History:
    """Train ``model`` on ``data`` with mini-batch gradient descent, reproducibly.

    Each step computes the loss on one mini-batch (softmax cross-entropy on logits for
    classification, mean squared error when ``data.n_classes`` is None, plus any
    regularization losses), its gradient with ``tf.GradientTape``, and applies the
    optimizer, in one compiled ``tf.function``. Batches come from :func:`batch_indices`
    (order fixed by ``seed``); :func:`seed_everything` is called with ``seed`` first, so
    the same model weights, data and seed give identical histories on a CPU.

    Parameters
    ----------
    model : keras.Model
        A built model whose outputs are logits (or regression outputs).
    data : Dataset
        From :mod:`initcourse.data`.
    epochs, steps : int or None
        Budget: ``epochs`` passes over the training set, or exactly ``steps`` optimizer
        steps (epochs continue as needed). Give one of them; neither means 1 epoch.
    batch_size : int
        Mini-batch size.
    optimizer : str, keras optimizer or factory
        See :func:`make_optimizer`.
    learning_rate : float
        Learning rate for a named optimizer.
    seed : int
        Seed of the batch order and of TensorFlow's random ops.
    eval_every : int or None
        Record the history every ``eval_every`` steps (and at the end); None records
        once per epoch (at the end of each epoch; with ``steps`` also at the final
        step).
    progress : bool or None
        Print one line per record. None prints only when stdout is an interactive
        terminal (never in a Jupyter kernel, so stored notebook outputs stay
        deterministic); True/False force it on/off.

    Returns
    -------
    History
    """
    import tensorflow as tf

    _check_data(model, data)
    if epochs is not None and steps is not None:
        raise ValueError(
            f"epochs, steps: give one budget, got epochs={epochs!r} and steps={steps!r}"
        )
    if epochs is None and steps is None:
        epochs = 1
    n = int(data.x_train.shape[0])
    batch_size = _check_int(batch_size, "batch_size", 1)
    seed = _check_int(seed, "seed")
    per_epoch = math.ceil(n / batch_size)
    total = (
        _check_int(steps, "steps", 1)
        if steps is not None
        else _check_int(epochs, "epochs", 1) * per_epoch
    )
    if eval_every is not None:
        eval_every = _check_int(eval_every, "eval_every", 1)
    show = _is_interactive() if progress is None else bool(progress)

    seed_everything(seed)
    opt = make_optimizer(optimizer, learning_rate)
    if not opt.built:
        # Create the optimizer's slots now, not inside the traced step (which would
        # trace it twice).
        opt.build(model.trainable_variables)
    loss_fn = _loss_for(data)
    classification = data.n_classes is not None
    x_spec = tf.TensorSpec((None, *data.x_train.shape[1:]), tf.float32)
    y_spec = tf.TensorSpec(
        (None, *data.y_train.shape[1:]), tf.int64 if classification else tf.float32
    )

    def _correct(y, logits):
        if not classification:
            return tf.constant(float("nan"))
        return tf.reduce_sum(
            tf.cast(tf.equal(tf.argmax(logits, axis=-1), y), tf.float32)
        )

    @tf.function(input_signature=[x_spec, y_spec], jit_compile=False)
    def step_fn(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = loss_fn(y, logits)
            if model.losses:
                loss = loss + tf.add_n(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss, _correct(y, logits)

    @tf.function(input_signature=[x_spec, y_spec])
    def eval_fn(x, y):
        logits = model(x, training=False)
        return loss_fn(y, logits) * tf.cast(tf.shape(x)[0], tf.float32), _correct(
            y, logits
        )

    x_train = tf.constant(data.x_train, tf.float32)
    y_train = tf.constant(data.y_train)
    x_test = tf.constant(data.x_test, tf.float32)
    y_test = tf.constant(data.y_test)

    def evaluate() -> tuple[float, float]:
        loss_sum, correct, m = 0.0, 0.0, int(x_test.shape[0])
        for start in range(0, m, 4096):
            lv, cv = eval_fn(x_test[start : start + 4096], y_test[start : start + 4096])
            loss_sum += float(lv)
            correct += float(cv)
        return loss_sum / m, (correct / m if classification else float("nan"))

    history = History()
    run_loss, run_correct, run_count, run_batches = 0.0, 0.0, 0, 0
    done, epoch = 0, 0
    start_time = time.perf_counter()
    while done < total:
        for idx in batch_indices(n, batch_size, seed, epoch):
            if done >= total:
                break
            idx_t = tf.constant(idx)
            loss, correct = step_fn(
                tf.gather(x_train, idx_t), tf.gather(y_train, idx_t)
            )
            done += 1
            run_loss += float(loss) * len(idx)
            run_correct += float(correct)
            run_count += len(idx)
            run_batches += 1
            end_of_epoch = run_batches > 0 and (done % per_epoch == 0)
            record = (
                (done == total)
                or (eval_every is not None and done % eval_every == 0)
                or (eval_every is None and end_of_epoch)
            )
            if record:
                test_loss, test_acc = evaluate()
                history.steps.append(done)
                history.loss.append(run_loss / run_count)
                history.accuracy.append(
                    run_correct / run_count if classification else float("nan")
                )
                history.test_loss.append(test_loss)
                history.test_accuracy.append(test_acc)
                run_loss, run_correct, run_count, run_batches = 0.0, 0.0, 0, 0
                if show:
                    print(
                        f"step {done:>6d}/{total}  loss {history.loss[-1]:.4f}  "
                        f"test_loss {test_loss:.4f}  test_acc {test_acc:.4f}",
                        flush=True,
                    )
        epoch += 1
    history.seconds = time.perf_counter() - start_time
    return history


# -------------------------------------------------------------------------- comparisons


def _fmt(value: Any, digits: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return f"{value:.{digits}f}"
    return str(value)


@dataclass
class Comparison:
    """Histories of several initializers trained under identical conditions.

    See :func:`compare`.

    Attributes
    ----------
    histories : dict of str to History
        One history per initializer, in the order given.
    target_loss : float or None
        Loss used for ``steps_to_target`` in :meth:`table`.
    """

    histories: dict[str, History]
    target_loss: float | None = None

    def table(self) -> list[dict[str, Any]]:
        """One row per initializer: ``initializer``, ``final_loss``,
        ``final_test_accuracy``, ``best_test_accuracy`` and ``steps_to_target`` (first
        step with training loss <= ``target_loss``; None if never reached or no target
        given)."""
        rows = []
        for name, h in self.histories.items():
            accs = [a for a in h.test_accuracy if not math.isnan(a)]
            rows.append(
                {
                    "initializer": name,
                    "final_loss": h.final_loss,
                    "final_test_accuracy": h.test_accuracy[-1]
                    if h.test_accuracy
                    else float("nan"),
                    "best_test_accuracy": max(accs) if accs else float("nan"),
                    "steps_to_target": None
                    if self.target_loss is None
                    else h.steps_to(self.target_loss),
                }
            )
        return rows

    def format(self, digits: int = 3) -> str:
        """A plain-text table of :meth:`table`, numbers rounded to ``digits`` decimals
        (deterministic)."""
        header = [
            "initializer",
            "final_loss",
            "final_test_acc",
            "best_test_acc",
            "steps_to_target",
        ]
        keys = [
            "initializer",
            "final_loss",
            "final_test_accuracy",
            "best_test_accuracy",
            "steps_to_target",
        ]
        body = [[_fmt(row[k], digits) for k in keys] for row in self.table()]
        widths = [
            max(len(header[j]), *(len(r[j]) for r in body)) if body else len(header[j])
            for j in range(5)
        ]
        lines = [
            "  ".join(
                h.ljust(w) if j == 0 else h.rjust(w)
                for j, (h, w) in enumerate(zip(header, widths))
            )
        ]
        for r in body:
            lines.append(
                "  ".join(
                    c.ljust(w) if j == 0 else c.rjust(w)
                    for j, (c, w) in enumerate(zip(r, widths))
                )
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _first_batch(data: Dataset, batch_size: int, seed: int) -> np.ndarray:
    """The first training batch that :func:`train` will use with this ``batch_size`` and
    ``seed``."""
    return data.x_train[batch_indices(data.x_train.shape[0], batch_size, seed, 0)[0]]


def compare(
    initializers: Mapping[str, InitializerLike],
    data: Dataset,
    *,
    build: Callable[..., Any] = build_mlp,
    build_kwargs: Mapping[str, Any] | None = None,
    train_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    lsuv: bool | Sequence[str] = False,
    target_loss: float | None = None,
) -> Comparison:
    """Train one model per initializer under identical conditions; collect histories.

    Every model is built by ``build`` with the same ``build_kwargs`` and the same
    ``seed`` (so two entries with the same initializer get identical weights), and
    trained by :func:`train` with the same ``train_kwargs`` and ``seed`` (same
    optimizer, budget and batch order). Only the kernel initializer differs.

    Parameters
    ----------
    initializers : mapping of str to (str, Initializer or callable)
        Label -> kernel initializer (see :func:`resolve_initializer`). The value
        ``"lsuv"`` is a pseudo-initializer: orthogonal {cite}`saxe2014exact` followed by
        layer-sequential unit-variance scaling {cite}`mishkin2016all`
        (:func:`initcourse.lsuv.lsuv`) on the first training batch.
    data : Dataset
        Training and test data.
    build : callable
        Model factory, called as ``build(input_dim, n_classes, **kwargs)`` for
        :func:`build_mlp`, or ``build(input_shape, n_classes, **kwargs)`` for
        :func:`build_cnn`, where ``kwargs`` holds ``kernel_initializer=...``,
        ``seed=seed`` and the entries of ``build_kwargs``.
    build_kwargs, train_kwargs : mapping or None
        Extra arguments of ``build`` and :func:`train` (e.g. ``depth``, ``width``;
        ``epochs``, ``learning_rate``).
    seed : int
        Seed of the builds, of the LSUV batch and of training.
    lsuv : bool or sequence of str
        Also apply LSUV after building: ``True`` for every entry, or a list of labels.
    target_loss : float or None
        Training loss whose first hit is reported as ``steps_to_target``.

    Returns
    -------
    Comparison
    """
    if not isinstance(initializers, Mapping) or not initializers:
        raise TypeError(
            "initializers: expected a non-empty dict label -> initializer, got "
            f"{initializers!r}"
        )
    seed = _check_int(seed, "seed")
    build_kwargs = dict(build_kwargs or {})
    train_kwargs = dict(train_kwargs or {})
    for key in ("seed",):
        if key in train_kwargs or key in build_kwargs:
            raise ValueError(
                f"{key}: pass seed to compare(seed=...), not inside "
                "build_kwargs/train_kwargs"
            )
    if isinstance(lsuv, bool):
        lsuv_names = set(initializers) if lsuv else set()
    else:
        lsuv_names = set(lsuv)
        unknown = lsuv_names - set(initializers)
        if unknown:
            raise ValueError(
                f"lsuv: unknown labels {sorted(unknown)}; allowed: {list(initializers)}"
            )
    batch_size = train_kwargs.get("batch_size", 128)
    first_arg: Any = (
        data.input_shape
        if build is build_cnn
        else (data.input_shape[0] if build is build_mlp else data.input_shape)
    )
    n_out = (
        data.n_classes
        if data.n_classes is not None
        else int(np.prod(data.y_train.shape[1:]))
    )
    histories: dict[str, History] = {}
    for label, spec in initializers.items():
        use_lsuv = label in lsuv_names or (
            isinstance(spec, str) and spec.lower() == "lsuv"
        )
        kernel = (
            "orthogonal" if isinstance(spec, str) and spec.lower() == "lsuv" else spec
        )
        seed_everything(seed)
        model = build(
            first_arg, n_out, kernel_initializer=kernel, seed=seed, **build_kwargs
        )
        if use_lsuv:
            from initcourse.lsuv import lsuv as _lsuv

            _lsuv(model, _first_batch(data, batch_size, seed), seed=seed)
        histories[label] = train(model, data, seed=seed, **train_kwargs)
    return Comparison(histories=histories, target_loss=target_loss)
