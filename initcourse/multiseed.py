"""Train many seeds of a small MLP at once: claims that hold across seeds and machines.

A claim such as "He trains and N(0, 1) does not" rests on several independent seeds,
with the spread shown and an ``assert`` on what holds in every seed. Training the seeds
one after another costs a chapter's whole time budget; here every *replica* (one
initializer, one seed) is a slice of stacked weights ``W_l`` of shape
``(R, fan_in, fan_out)``, and all replicas train together in one compiled TensorFlow
graph with batched matmuls:

.. math:: h^{(r)}_l = \\phi\\big(h^{(r)}_{l-1} W^{(r)}_l + b^{(r)}_l\\big),
   \\qquad
   \\mathcal L = \\sum_r \\frac{1}{B}\\sum_{i} \\ell\\big(z^{(r)}_i, y^{(r)}_i\\big).

The loss is a *sum* over replicas, so the gradient of replica ``r``'s weights is its own
loss's gradient, and the optimizers used here (SGD, momentum, Adam, RMSprop) act
elementwise: each replica trains exactly as it would alone. Each replica draws its own
weights, from a seed derived from ``(seed, label)`` by :func:`arm_seed` (so two arms
never share a random draw rescaled), and sees its own batch order.

* :func:`train_seeds` trains one initializer over several seeds -> :class:`SeedRuns`.
* :func:`compare_seeds` trains several initializers over the same seeds in one graph ->
  :class:`SeedComparison`, with per-seed numbers, aggregates, robust verdicts and plots.

Keras/TensorFlow are imported inside the functions, on call.
"""

from __future__ import annotations

import math
import numbers
import time
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from initcourse._utils import check_choice
from initcourse.training import _check_int

if TYPE_CHECKING:  # pragma: no cover
    from initcourse.data import Dataset
    from initcourse.training import InitializerLike

__all__ = [
    "METRICS",
    "SeedComparison",
    "SeedRuns",
    "arm_seed",
    "compare_seeds",
    "train_seeds",
]

#: Per-record metrics of a run; ``final(metric)`` gives each seed's last value.
METRICS = ("loss", "accuracy", "test_loss", "test_accuracy")
_HIGHER_IS_BETTER = {
    "loss": False,
    "accuracy": True,
    "test_loss": False,
    "test_accuracy": True,
}


def _check_seeds(seeds: int | Iterable[int]) -> tuple[int, ...]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        return tuple(range(_check_int(seeds, "seeds", 1)))
    try:
        out = tuple(_check_int(s, "seeds[i]") for s in seeds)  # type: ignore[union-attr]
    except TypeError as err:
        raise TypeError(
            f"seeds: expected a count >= 1 or a sequence of ints >= 0, got {seeds!r}"
        ) from err
    if not out or len(set(out)) != len(out):
        raise ValueError(f"seeds: expected distinct seeds, at least one, got {seeds!r}")
    return out


def arm_seed(seed: int, label: str) -> int:
    """The seed of one arm's weights: a hash of ``(seed, label)`` (``SeedSequence``).

    The hash is computed by ``numpy.random.SeedSequence``.

    Two arms of a comparison with the same ``seed`` but different labels get unrelated
    draws, so "He vs LeCun" never compares one Gaussian matrix with itself rescaled.
    """
    seed = _check_int(seed, "seed")
    if not isinstance(label, str):
        raise TypeError(f"label: expected a str, got {type(label).__name__} {label!r}")
    state = np.random.SeedSequence(
        [seed, zlib.crc32(label.encode("utf-8"))]
    ).generate_state(1)
    return int(state[0] % (2**31 - 1000))


# --------------------------------------------------------------------------- results


@dataclass
class SeedRuns:
    """One initializer trained with several seeds.

    Attributes
    ----------
    label : str
        The arm's name.
    seeds : tuple of int
        The seeds, one per row of the arrays.
    steps : ndarray, shape (T,)
        Optimizer steps done at each record.
    loss, accuracy : ndarray, shape (S, T)
        Mean training loss / accuracy over the mini-batches since the previous record
        (each batch's loss before its update, as in
        :class:`initcourse.training.History`).
    test_loss, test_accuracy : ndarray, shape (S, T)
        Loss / accuracy on the whole test set at each record.
    seconds : float
        Wall-clock time of the graph this arm was trained in (shared by the arms of a
        :func:`compare_seeds`); excluded from equality.
    """

    label: str
    seeds: tuple[int, ...]
    steps: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    seconds: float = field(default=0.0, compare=False, repr=False)

    def final(self, metric: str = "test_accuracy") -> np.ndarray:
        """Each seed's last recorded value of ``metric`` (one of :data:`METRICS`), shape
        (S,)."""
        check_choice(metric, "metric", METRICS)
        return np.asarray(getattr(self, metric))[:, -1].copy()

    def median(self, metric: str = "test_accuracy") -> float:
        """Median over seeds of :meth:`final`."""
        return float(np.median(self.final(metric)))

    def spread(self, metric: str = "test_accuracy") -> tuple[float, float]:
        """``(min, max)`` over seeds of :meth:`final`."""
        values = self.final(metric)
        return float(values.min()), float(values.max())

    def describe(self, metric: str = "test_accuracy", digits: int = 2) -> str:
        """``"median 0.91, range 0.89-0.93 over 5 seeds"``: what the prose quotes."""
        lo, hi = self.spread(metric)
        return (
            f"median {self.median(metric):.{digits}f}, range "
            f"{lo:.{digits}f}-{hi:.{digits}f} over {len(self.seeds)} seeds"
        )


@dataclass
class SeedComparison:
    """Several initializers trained with the same seeds (:func:`compare_seeds`)."""

    runs: dict[str, SeedRuns]

    def __getitem__(self, label: str) -> SeedRuns:
        if label not in self.runs:
            raise KeyError(
                f"label: {label!r} is not an arm of this comparison; arms: "
                f"{list(self.runs)}"
            )
        return self.runs[label]

    @property
    def labels(self) -> list[str]:
        return list(self.runs)

    def final(self, label: str, metric: str = "test_accuracy") -> np.ndarray:
        """Each seed's last value of ``metric`` for arm ``label``."""
        return self[label].final(metric)

    def wins(
        self, a: str, b: str, metric: str = "test_accuracy", margin: float = 0.0
    ) -> int:
        """In how many seeds ``a`` beats ``b`` on ``metric`` by more than ``margin``
        (seed i vs seed i)."""
        va, vb = self.final(a, metric), self.final(b, metric)
        sign = 1.0 if _HIGHER_IS_BETTER[metric] else -1.0
        return int(np.sum(sign * (va - vb) > margin))

    def gap(self, a: str, b: str, metric: str = "test_accuracy") -> float:
        """Worst seed of ``a`` minus best seed of ``b``, signed so that > 0 means ``a``
        is better in every seed (``min(a) - max(b)`` for accuracies, ``min(b) - max(a)``
        for losses)."""
        va, vb = self.final(a, metric), self.final(b, metric)
        if _HIGHER_IS_BETTER[metric]:
            return float(va.min() - vb.max())
        return float(vb.min() - va.max())

    def ranking(self, metric: str = "test_accuracy") -> list[str]:
        """Arms ordered best first by their median over seeds."""
        sign = -1.0 if _HIGHER_IS_BETTER[metric] else 1.0
        return sorted(self.runs, key=lambda k: sign * self[k].median(metric))

    def table(self, metric: str = "test_accuracy", digits: int = 2) -> str:
        """A fixed-width table (<= 88 columns for up to 8 seeds): arm, median, min, max,
        per seed."""
        check_choice(metric, "metric", METRICS)
        width = max(len(k) for k in self.runs)
        width = max(width, len("arm"))
        cells = digits + 3
        head = (
            f"{'arm':<{width}}  {'median':>{cells}} {'min':>{cells}} "
            f"{'max':>{cells}}  per seed"
        )
        lines = [head]
        for label, run in self.runs.items():
            v = run.final(metric)
            per = " ".join(f"{x:.{digits}f}" for x in v)
            lines.append(
                f"{label:<{width}}  {np.median(v):>{cells}.{digits}f} "
                f"{v.min():>{cells}.{digits}f} {v.max():>{cells}.{digits}f}  {per}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def plot(
        self,
        metric: str = "test_accuracy",
        ax: Any = None,
        labels: Sequence[str] | None = None,
    ):
        """Per-seed final values as points, one column per arm, with the median as a
        bar."""
        import matplotlib.pyplot as plt

        check_choice(metric, "metric", METRICS)
        ax = ax if ax is not None else plt.gca()
        labels = list(labels) if labels is not None else self.labels
        for i, label in enumerate(labels):
            v = self.final(label, metric)
            jitter = np.linspace(-0.12, 0.12, len(v)) if len(v) > 1 else np.zeros(1)
            ax.plot(i + jitter, v, "o", ms=4, alpha=0.8, color=f"C{i % 10}")
            ax.hlines(np.median(v), i - 0.25, i + 0.25, color="k", lw=1.5)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=20, ha="right")
        ax.set_ylabel(metric.replace("_", " ") + " (each point a seed, bar = median)")
        return ax

    def plot_curves(
        self,
        metric: str = "loss",
        ax: Any = None,
        labels: Sequence[str] | None = None,
        logy: bool = False,
    ):
        """Median curve over seeds with a min-max band, one colour per arm."""
        import matplotlib.pyplot as plt

        check_choice(metric, "metric", METRICS)
        ax = ax if ax is not None else plt.gca()
        labels = list(labels) if labels is not None else self.labels
        for i, label in enumerate(labels):
            run = self[label]
            values = np.asarray(getattr(run, metric))
            color = f"C{i % 10}"
            ax.plot(run.steps, np.median(values, axis=0), color=color, label=label)
            ax.fill_between(
                run.steps,
                values.min(axis=0),
                values.max(axis=0),
                color=color,
                alpha=0.2,
            )
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel(metric.replace("_", " ") + " (median, min-max band over seeds)")
        ax.legend(fontsize=8)
        return ax


# --------------------------------------------------------------------------- training


def _activation(name: str | None):
    import keras

    if name is None or name == "linear":
        return lambda t: t
    try:
        return keras.activations.get(name)
    except (ValueError, TypeError):
        raise ValueError(
            f"activation: unknown activation {name!r}; use a Keras name such as "
            "'relu', 'tanh', 'sigmoid', 'selu', 'gelu', 'linear' or None"
        ) from None


def _draw(
    spec: InitializerLike, shape: tuple[int, int], seed: int, layer_index: int
) -> np.ndarray:
    from initcourse.training import resolve_initializer

    init = resolve_initializer(spec, seed=seed, layer_index=layer_index)
    value = np.asarray(init(shape, dtype="float32"), dtype=np.float32)
    if value.shape != shape:
        raise ValueError(
            f"kernel_initializer: {spec!r} returned shape {value.shape} for a kernel "
            f"of shape {shape}"
        )
    return value


def _check_data(
    data: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    for attr in ("x_train", "y_train", "x_test", "y_test", "n_classes"):
        if not hasattr(data, attr):
            raise TypeError(
                f"data: expected an initcourse.data.Dataset, got {type(data).__name__}"
            )
    if data.n_classes is None:
        raise ValueError(
            "data: multi-seed training supports classification data (n_classes set)"
        )
    x_train = np.asarray(data.x_train, np.float32).reshape(len(data.x_train), -1)
    x_test = np.asarray(data.x_test, np.float32).reshape(len(data.x_test), -1)
    return (
        x_train,
        np.asarray(data.y_train),
        x_test,
        np.asarray(data.y_test),
        int(data.n_classes),
    )


def _replica_weights(
    arms: Mapping[str, InitializerLike],
    seeds: Sequence[int],
    sizes: Sequence[int],
    output_initializer: InitializerLike | None,
    bias_initializer: InitializerLike,
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Stacked kernels and biases, replica r = (arm a, seed s) at index a * S + s."""
    n_layers = len(sizes) - 1
    kernels: list[list[np.ndarray]] = [[] for _ in range(n_layers)]
    biases: list[list[np.ndarray]] = [[] for _ in range(n_layers)]
    for label, spec in arms.items():
        for s in seeds:
            base = arm_seed(s, label)
            for i in range(n_layers):
                last = i == n_layers - 1
                k_spec = (
                    output_initializer
                    if (last and output_initializer is not None)
                    else spec
                )
                kernels[i].append(_draw(k_spec, (sizes[i], sizes[i + 1]), base, i))
                b = _draw(bias_initializer, (1, sizes[i + 1]), base + 7919, i)
                biases[i].append(b)
    return [np.stack(k) for k in kernels], [np.stack(b) for b in biases]


def _train_replicas(
    arms: Mapping[str, InitializerLike],
    data: Dataset,
    *,
    seeds: tuple[int, ...],
    depth: int,
    width: int,
    activation: str | None,
    output_initializer: InitializerLike | None,
    bias_initializer: InitializerLike,
    batch_norm: bool,
    optimizer: str,
    learning_rate: float,
    epochs: int | None,
    steps: int | None,
    batch_size: int,
    eval_every: int | None,
) -> dict[str, SeedRuns]:
    import tensorflow as tf

    from initcourse.training import batch_indices, make_optimizer

    x_train, y_train, x_test, y_test, n_classes = _check_data(data)
    depth = _check_int(depth, "depth", 0)
    width = _check_int(width, "width", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    check_choice(
        optimizer, "optimizer", ("sgd", "momentum", "nesterov", "adam", "rmsprop")
    )
    phi = _activation(activation)
    if epochs is not None and steps is not None:
        raise ValueError(
            f"epochs, steps: give one budget, got epochs={epochs!r} and steps={steps!r}"
        )
    n = x_train.shape[0]
    per_epoch = math.ceil(n / batch_size)
    if steps is not None:
        total = _check_int(steps, "steps", 1)
    else:
        total = _check_int(1 if epochs is None else epochs, "epochs", 1) * per_epoch
    every = per_epoch if eval_every is None else _check_int(eval_every, "eval_every", 1)

    sizes = [x_train.shape[1]] + [width] * depth + [n_classes]
    k0, b0 = _replica_weights(arms, seeds, sizes, output_initializer, bias_initializer)
    n_rep = k0[0].shape[0]
    kernels = [tf.Variable(k, name=f"kernel_{i}") for i, k in enumerate(k0)]
    biases = [tf.Variable(b, name=f"bias_{i}") for i, b in enumerate(b0)]
    gammas = [
        tf.Variable(tf.ones((n_rep, 1, width)))
        for _ in range(depth if batch_norm else 0)
    ]
    betas = [
        tf.Variable(tf.zeros((n_rep, 1, width)))
        for _ in range(depth if batch_norm else 0)
    ]
    moving_mean = [
        tf.Variable(tf.zeros((n_rep, 1, width)), trainable=False) for _ in gammas
    ]
    moving_var = [
        tf.Variable(tf.ones((n_rep, 1, width)), trainable=False) for _ in gammas
    ]
    params = kernels + biases + gammas + betas
    opt = make_optimizer(optimizer, learning_rate)
    opt.build(params)

    def forward(h, training: bool):
        for i in range(depth + 1):
            h = tf.linalg.matmul(h, kernels[i]) + biases[i]
            if i == depth:
                break
            if batch_norm:
                if training:
                    mean, var = tf.nn.moments(h, axes=[1], keepdims=True)
                    moving_mean[i].assign(0.99 * moving_mean[i] + 0.01 * mean)
                    moving_var[i].assign(0.99 * moving_var[i] + 0.01 * var)
                else:
                    mean, var = moving_mean[i], moving_var[i]
                h = gammas[i] * (h - mean) / tf.sqrt(var + 1e-3) + betas[i]
            h = phi(h)
        return h

    def per_replica(y, logits):
        ce = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
        hit = tf.cast(
            tf.equal(tf.argmax(logits, axis=-1, output_type=y.dtype), y), tf.float32
        )
        return tf.reduce_mean(ce, axis=1), tf.reduce_mean(hit, axis=1)

    @tf.function(jit_compile=False)
    def step_fn(x, y):
        with tf.GradientTape() as tape:
            loss, acc = per_replica(y, forward(x, True))
            total_loss = tf.reduce_sum(loss)
        grads = tape.gradient(total_loss, params)
        opt.apply_gradients(zip(grads, params))
        return loss, acc

    x_test_t = tf.constant(np.broadcast_to(x_test, (n_rep, *x_test.shape)))
    y_test_t = tf.constant(
        np.broadcast_to(y_test.astype(np.int64), (n_rep, len(y_test)))
    )

    @tf.function(jit_compile=False)
    def eval_fn():
        return per_replica(y_test_t, forward(x_test_t, False))

    x_all = tf.constant(x_train)
    y_all = tf.constant(y_train.astype(np.int64))
    # replica r follows the batch order of its seed, shared by the arms (paired
    # comparison)
    rep_seeds = [s for _ in arms for s in seeds]
    rec_steps: list[int] = []
    rec: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
    run_loss = np.zeros(n_rep)
    run_acc = np.zeros(n_rep)
    run_batches = 0  # examples since the last record (the loss is a per-example mean)
    done, epoch = 0, 0
    start = time.perf_counter()
    while done < total:
        orders = [batch_indices(n, batch_size, s, epoch) for s in rep_seeds]
        for b in range(per_epoch):
            if done >= total:
                break
            idx = (
                np.stack([o[b] for o in orders])
                if len({len(o[b]) for o in orders}) == 1
                else None
            )
            # all orders have equal batch sizes by construction
            if idx is None:  # pragma: no cover
                raise AssertionError("unequal batch sizes across replicas")
            loss, acc = step_fn(tf.gather(x_all, idx), tf.gather(y_all, idx))
            run_loss += loss.numpy() * idx.shape[1]
            run_acc += acc.numpy() * idx.shape[1]
            run_batches += idx.shape[1]
            done += 1
            if done % every == 0 or done == total:
                tl, ta = eval_fn()
                rec_steps.append(done)
                rec["loss"].append(run_loss / run_batches)
                rec["accuracy"].append(run_acc / run_batches)
                rec["test_loss"].append(tl.numpy())
                rec["test_accuracy"].append(ta.numpy())
                run_loss, run_acc, run_batches = np.zeros(n_rep), np.zeros(n_rep), 0
        epoch += 1
    seconds = time.perf_counter() - start
    arrays = {m: np.stack(v, axis=1) for m, v in rec.items()}  # (R, T)
    out: dict[str, SeedRuns] = {}
    n_seeds = len(seeds)
    for a, label in enumerate(arms):
        rows = slice(a * n_seeds, (a + 1) * n_seeds)
        out[label] = SeedRuns(
            label=label,
            seeds=seeds,
            steps=np.asarray(rec_steps),
            seconds=seconds,
            **{m: arrays[m][rows].astype(np.float64) for m in METRICS},
        )
    return out


def compare_seeds(
    initializers: Mapping[str, InitializerLike],
    data: Dataset,
    *,
    seeds: int | Iterable[int] = 5,
    depth: int = 3,
    width: int = 64,
    activation: str | None = "relu",
    output_initializer: InitializerLike | None = None,
    bias_initializer: InitializerLike = "zeros",
    batch_norm: bool = False,
    optimizer: str = "sgd",
    learning_rate: float = 0.05,
    epochs: int | None = None,
    steps: int | None = None,
    batch_size: int = 128,
    eval_every: int | None = None,
) -> SeedComparison:
    """Train an MLP per (initializer, seed), all in one graph; collect per-seed results.

    The network is :func:`initcourse.training.build_mlp`'s: ``depth`` hidden layers of
    ``width`` units with ``activation`` (optionally batch-normalized before the
    activation {cite}`ioffe2015batch`), then linear logits trained with softmax
    cross-entropy.

    Parameters
    ----------
    initializers : mapping of str to initializer
        Label -> kernel initializer (a Keras or course name, an ``Initializer``, or a
        callable ``f(shape, dtype=None)``), as in
        :func:`initcourse.training.resolve_initializer`.
    data : Dataset
        Classification data; images are flattened.
    seeds : int or sequence of int
        ``5`` means seeds ``0..4``. Replica ``(label, s)`` draws its weights from
        :func:`arm_seed` ``(s, label)`` and its batch order from ``s`` (arms share batch
        orders, so seed ``i`` of two arms is a paired comparison).
    depth, width, activation, output_initializer, bias_initializer, batch_norm
        The architecture (``output_initializer`` None uses the arm's initializer).
    optimizer, learning_rate, epochs, steps, batch_size, eval_every
        As in :func:`initcourse.training.train` (``epochs`` and ``steps`` both None: 1
        epoch).

    Returns
    -------
    SeedComparison
    """
    if not isinstance(initializers, Mapping) or not initializers:
        raise TypeError(
            "initializers: expected a non-empty dict label -> initializer, got "
            f"{initializers!r}"
        )
    for label in initializers:
        if not isinstance(label, str):
            raise TypeError(
                f"initializers: labels must be str, got {type(label).__name__} "
                f"{label!r}"
            )
    runs = _train_replicas(
        dict(initializers),
        data,
        seeds=_check_seeds(seeds),
        depth=depth,
        width=width,
        activation=activation,
        output_initializer=output_initializer,
        bias_initializer=bias_initializer,
        batch_norm=bool(batch_norm),
        optimizer=optimizer,
        learning_rate=learning_rate,
        epochs=epochs,
        steps=steps,
        batch_size=batch_size,
        eval_every=eval_every,
    )
    return SeedComparison(runs=runs)


def train_seeds(
    kernel_initializer: InitializerLike,
    data: Dataset,
    *,
    label: str | None = None,
    seeds: int | Iterable[int] = 5,
    **kwargs: Any,
) -> SeedRuns:
    """One initializer over several seeds: :func:`compare_seeds` with a single arm.

    ``label`` (default: the initializer's name, or ``"init"``) enters :func:`arm_seed`.
    Other keyword arguments are those of :func:`compare_seeds`.
    """
    if label is None:
        label = kernel_initializer if isinstance(kernel_initializer, str) else "init"
    return compare_seeds({label: kernel_initializer}, data, seeds=seeds, **kwargs)[
        label
    ]
