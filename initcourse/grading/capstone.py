"""The capstone network of chapter 12, and the Keras side of grading its tasks (a), (b),
(c).

The notebook imports the network from here (:func:`build_capstone`), so that the network
the student reads about, the one the self-checks use and the one the batch grader builds
are the same code. :func:`build_capstone` accepts any initializer that task (a) accepts:
a Keras or PyTorch-style name (``"he_normal"``, ``"xavier_normal"``,
``"kaiming_uniform"``), an initializer object, or a config from
:func:`initcourse.exercises.canonical_initializer`.

The judgement is in :mod:`initcourse.exercises.capstone` (numpy only). This module
gathers the facts that the judgement needs, with the grader's own code:

- (b) :func:`hidden_stds` measures every hidden layer's output std; the student's report
is
  compared with it on :func:`report_batches`;
- (c) :func:`training_facts` counts the optimizer steps, evaluates the trained weights
on the
  test set itself and runs :func:`compare_with_default`: the initialization used and the
  Keras default, each at the best learning rate of :data:`COMPARISON_GRID` for the
  student's optimizer (median of :data:`COMPARISON_SEEDS`), with the student's batch
  size.

The self-checks of the notebook (``check_choose_initializers``, ``check_init_report``,
``check_train_capstone``) call the student's functions directly; the batch grader
(:mod:`initcourse.grading`) calls them in a separate process through :func:`sandbox_op`.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from initcourse.exercises.capstone import (
    JUDGED_NETWORKS,
    MODEL_ANSWER_INITIALIZERS,
    ROLE_POINTS,
    ChoiceVerdict,
    TrainingFacts,
    _choice_result,
    canonical_initializer,
    grade_layer_report,
    grade_training_facts,
    judge_initializer_choice,
)
from initcourse.exercises.core import CheckResult, ExerciseError

__all__ = [
    "ALLOWED_SETTINGS",
    "SelfCheck",
    "BLOCK_ACTIVATIONS",
    "BUDGET",
    "COMPARISON_GRID",
    "COMPARISON_SEEDS",
    "SEED",
    "THRESHOLD",
    "WIDTH",
    "build_capstone",
    "check_choose_initializers",
    "check_init_report",
    "check_train_capstone",
    "compare_with_default",
    "hidden_stds",
    "keras_initializer",
    "model_answer_effective",
    "report_batches",
    "self_check_table",
    "stream_stds",
    "test_accuracy",
    "training_facts",
]

SEED = 0
BLOCK_ACTIVATIONS = ("relu", "tanh", "selu") * 4
"""The activation of each of the 12 residual blocks."""
WIDTH = 64
BUDGET = 200
"""Task (c): at most this many optimizer steps."""
THRESHOLD = 0.90
"""Task (c): the test accuracy the trained network must reach."""

_BATCH_RANGE: tuple[int, int] = (32, 128)
ALLOWED_SETTINGS = {
    "optimizer": {
        "sgd": (0.01, 0.05),
        "momentum": (0.002, 0.005),
        "adam": (2e-4, 1e-3),
    },
    "batch_size": _BATCH_RANGE,
}
"""What task (c) lets the student choose: an optimizer, a learning rate in its range, a
batch size in the range, any seed. The model answer earns full marks in all of it
(``tests/test_grading.py``). The ranges stop where the model answer starts to diverge in
some seed with batches of 32 (SGD at 0.1, momentum at 0.03 did, measured over five
seeds)."""

COMPARISON_GRID = {
    "sgd": (0.005, 0.015, 0.05),
    "momentum": (0.001, 0.003, 0.01),
    "adam": (1e-4, 3e-4, 1e-3),
}
"""The learning rates tried for both initializations in the comparison of task (c): a
factor of about 3 apart, reaching below the allowed range, where a badly scaled default
may do best."""
COMPARISON_SEEDS = (0, 1, 2)
"""Seeds (weights and batch order) of every comparison run; the median counts."""


# --------------------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------------------
def keras_initializer(value: Any, seed: int | None = None):
    """A fresh Keras initializer for ``value`` (a name, an initializer object or a
    config dict).

    Names are read the way task (a) reads them, so every name it accepts builds:
    ``"xavier_normal"`` → ``VarianceScaling(1, "fan_avg", "untruncated_normal")``.
    Objects are cloned with ``seed``. Unknown names raise ``ValueError``.
    """
    import keras

    from initcourse.training import resolve_initializer

    if isinstance(value, Mapping) and "class_name" in value:
        config = dict(value.get("config", {}))
        if "seed" in _config_keys(value["class_name"]):
            config["seed"] = seed
        return keras.initializers.get(
            {"class_name": value["class_name"], "config": config}
        )
    if isinstance(value, str):
        canonical = canonical_initializer(value)
        if canonical is None:
            try:
                return resolve_initializer(value, seed=seed, layer_index=0)
            except Exception as exc:  # noqa: BLE001 - say which name failed
                raise ValueError(f"initializer: unknown name {value!r}") from exc
        return keras_initializer(canonical, seed)
    return resolve_initializer(value, seed=seed, layer_index=0)


@functools.cache
def _config_keys(class_name: str) -> tuple[str, ...]:
    import keras

    return tuple(keras.initializers.get(class_name).get_config())


def build_capstone(
    initializers: Mapping[str, Any] | None = None,
    *,
    block_activations: Sequence[str] = BLOCK_ACTIVATIONS,
    width: int = WIDTH,
    input_dim: int = 64,
    n_classes: int = 10,
    seed: int = SEED,
):
    """The capstone network: embed -> one residual block per activation -> head
    (logits).

    ``initializers`` maps a role (``"embed"``, ``"residual_out"``, ``"head"`` and each
    activation name) to an initializer: a name such as ``"he_normal"`` or
    ``"xavier_normal"``, a Keras initializer object, or a config dict. ``None``, or a
    missing role, means the Keras default of ``Dense`` layers, ``glorot_uniform``.
    Biases start at zero. Layer ``i`` is seeded with ``seed + i``, so the same
    initializers and seed give the same weights.
    """
    import keras

    chosen = dict(initializers or {})
    layer_index = iter(range(10_000))

    def kernel(role):
        return keras_initializer(
            chosen.get(role, "glorot_uniform"), seed=seed + next(layer_index)
        )

    x = keras.Input(shape=(input_dim,), name="pixels")
    h = keras.layers.Dense(width, kernel_initializer=kernel("embed"), name="embed")(x)
    for block, act in enumerate(block_activations, start=1):
        u = keras.layers.Dense(
            width,
            activation=act,
            kernel_initializer=kernel(act),
            name=f"block{block:02d}_{act}",
        )(h)
        v = keras.layers.Dense(
            width,
            kernel_initializer=kernel("residual_out"),
            name=f"block{block:02d}_out",
        )(u)
        h = keras.layers.Add(name=f"block{block:02d}_add")([h, v])
    logits = keras.layers.Dense(
        n_classes, kernel_initializer=kernel("head"), name="head"
    )(h)
    return keras.Model(x, logits, name="capstone")


def stream_stds(model, x) -> np.ndarray:
    """Std of the residual stream h_l after every block l, on the batch x."""
    import keras

    adds = [layer.output for layer in model.layers if layer.name.endswith("_add")]
    outputs = keras.Model(model.input, adds)(np.asarray(x, dtype=np.float32))
    return np.array([float(np.std(np.asarray(h))) for h in outputs])


def hidden_stds(model, x) -> dict[str, float]:
    """The grader's measurement: std of the output of every hidden (nonlinear) layer on
    ``x``."""
    import keras

    hidden = [
        layer
        for layer in model.layers
        if getattr(layer, "activation", None) is not None
        and getattr(layer.activation, "__name__", "linear") != "linear"
        and hasattr(layer, "kernel")
    ]
    outputs = keras.Model(model.input, [layer.output for layer in hidden])(
        np.asarray(x, dtype=np.float32)
    )
    return {
        layer.name: float(np.std(np.asarray(out, dtype=np.float64)))
        for layer, out in zip(hidden, outputs)
    }


@functools.lru_cache(maxsize=1)
def capstone_data():
    """The digits, split and standardized as in the notebook
    (``load_digits(seed=0)``)."""
    from initcourse.data import load_digits

    return load_digits(seed=SEED)


def report_batches(data=None) -> dict[str, np.ndarray]:
    """The batches task (b) is checked on: the probe batch, a wider random batch, all
    zeros."""
    data = capstone_data() if data is None else data
    rng = np.random.default_rng(2024)
    return {
        "the probe batch": np.asarray(data.x_train[:256], dtype=np.float32),
        "a random batch of std 2": (
            2.0 * rng.standard_normal((128, data.x_train.shape[1]))
        ).astype(np.float32),
        "an all-zero batch": np.zeros((64, data.x_train.shape[1]), dtype=np.float32),
    }


def model_answer_effective() -> dict:
    """The model answer of (a) as configs (what (b) and (c) use when a student's (a) is
    wrong)."""
    return {r: canonical_initializer(MODEL_ANSWER_INITIALIZERS[r]) for r in ROLE_POINTS}


def _effective_for(effective: Mapping[str, Any]) -> dict:
    """The role → initializer map for :func:`build_capstone` (only the roles it
    uses)."""
    return {r: effective[r] for r in ROLE_POINTS if r in effective}


def test_accuracy(model, data=None) -> float:
    """Test accuracy of ``model`` on the digits, computed here (not read from any
    history)."""
    data = capstone_data() if data is None else data
    logits = np.asarray(
        model(np.asarray(data.x_test, dtype=np.float32), training=False)
    )
    if not np.all(np.isfinite(logits)):
        return float("nan")
    return float(np.mean(np.argmax(logits, axis=1) == data.y_test))


# --------------------------------------------------------------------------------------
# (c): the comparison with the default, with the same tuning for both
# --------------------------------------------------------------------------------------
_COMPARE_CACHE: dict[str, tuple[float, float]] = {}


def _median_best(
    effective: Mapping[str, Any] | None, optimizer: str, batch_size: int, data
) -> tuple[float, float]:
    """(best median test accuracy over the grid, its learning rate), cached per
    initialization."""
    from initcourse.training import train

    key = json.dumps(
        [
            effective,
            optimizer,
            batch_size,
            COMPARISON_GRID[optimizer],
            COMPARISON_SEEDS,
        ],
        sort_keys=True,
        default=str,
    )
    if key in _COMPARE_CACHE:
        return _COMPARE_CACHE[key]
    best: tuple[float, float] = (-1.0, float("nan"))
    for lr in COMPARISON_GRID[optimizer]:
        accs = []
        for seed in COMPARISON_SEEDS:
            model = build_capstone(
                _effective_for(effective) if effective else None, seed=seed
            )
            train(
                model,
                data,
                steps=BUDGET,
                batch_size=batch_size,
                optimizer=optimizer,
                learning_rate=lr,
                seed=seed,
            )
            acc = test_accuracy(model, data)
            accs.append(0.0 if math.isnan(acc) else acc)
        med = float(np.median(accs))
        if med > best[0]:
            best = (med, lr)
    _COMPARE_CACHE[key] = best
    return best


def compare_with_default(
    effective: Mapping[str, Any],
    optimizer: str = "sgd",
    batch_size: int = 64,
    data=None,
) -> dict:
    """Train the initialization ``effective`` and the Keras default with the same
    tuning.

    Each gets the best learning rate of ``COMPARISON_GRID[optimizer]``, judged by the
    median test accuracy over :data:`COMPARISON_SEEDS` (every run draws its own weights
    with its seed), with ``BUDGET`` steps of ``batch_size``. Returns the dict
    :class:`TrainingFacts` expects.
    """
    data = capstone_data() if data is None else data
    if optimizer not in COMPARISON_GRID:
        optimizer = (
            "adam"
            if optimizer in ("rmsprop",)
            else "sgd"
            if optimizer != "nesterov"
            else "momentum"
        )
    low, high = _BATCH_RANGE
    batch_size = int(
        min(
            max(int(batch_size), low),
            high,
        )
    )
    chosen, chosen_lr = _median_best(dict(effective), optimizer, batch_size, data)
    default, default_lr = _median_best(None, optimizer, batch_size, data)
    return {
        "optimizer": optimizer,
        "batch_size": batch_size,
        "grid": list(COMPARISON_GRID[optimizer]),
        "seeds": list(COMPARISON_SEEDS),
        "chosen": chosen,
        "chosen_lr": chosen_lr,
        "default": default,
        "default_lr": default_lr,
    }


# --------------------------------------------------------------------------------------
# Running the student's functions on a model (here, or in the sandbox process)
# --------------------------------------------------------------------------------------
_TRAIN_KEYS = ("optimizer", "learning_rate", "batch_size", "seed", "steps", "epochs")


class _OptimizerRecorder:
    """Keep every Keras optimizer created inside the ``with`` block (their step counters
    count)."""

    def __enter__(self) -> list:
        import keras

        self.base = keras.optimizers.Optimizer
        self.original = self.base.__init__
        created: list = []
        original = self.original

        def __init__(opt: Any, *args: Any, **kwargs: Any) -> None:
            original(opt, *args, **kwargs)
            created.append(opt)

        self.base.__init__ = __init__
        self.created = created
        return created

    def __exit__(self, *exc: Any) -> None:
        self.base.__init__ = self.original


def run_report(
    fn: Callable,
    effective: Mapping[str, Any],
    weights: Sequence[np.ndarray],
    x: np.ndarray,
) -> Any:
    """Build the network with ``effective`` and ``weights`` and return ``fn(model,
    x)``."""
    model = build_capstone(_effective_for(effective))
    model.set_weights([np.asarray(w) for w in weights])
    return fn(model, np.asarray(x, dtype=np.float32))


def run_training(
    fn: Callable,
    effective: Mapping[str, Any],
    weights: Sequence[np.ndarray],
    steps: int,
    train_calls: list | None = None,
) -> dict:
    """Build the network, call ``fn(model, data, steps)``; return the weights and what
    happened.

    Returns ``{"weights", "steps", "history_accuracy", "config"}``: the steps are
    counted from the iteration counters of the optimizers created during the call;
    ``config`` holds the simple keyword arguments of the last
    ``initcourse.training.train`` call (if recorded).
    """
    data = capstone_data()
    model = build_capstone(_effective_for(effective))
    model.set_weights([np.asarray(w) for w in weights])
    with _OptimizerRecorder() as created:
        history = fn(model, data, steps)
    taken = sum(
        int(np.asarray(o.iterations)) for o in {id(o): o for o in created}.values()
    )
    acc = getattr(history, "test_accuracy", None)
    try:
        history_accuracy = float(acc[-1]) if acc is not None and len(acc) else None
    except (TypeError, ValueError, IndexError):
        history_accuracy = None
    config = {}
    if train_calls:
        config = {
            k: v
            for k, v in train_calls[-1].items()
            if k in _TRAIN_KEYS and isinstance(v, (str, int, float))
        }
    return {
        "weights": [np.asarray(w) for w in model.get_weights()],
        "steps": taken,
        "history_accuracy": history_accuracy,
        "config": config,
    }


def sandbox_op(namespace: dict, request: dict, train_calls: list | None = None) -> Any:
    """Run one capstone request in the sandbox process (see
    :mod:`initcourse.grading.sandbox`)."""
    fn = namespace.get(request["name"])
    if not callable(fn):
        raise NameError(f"name {request['name']!r} is not defined")
    if request["task"] == "report":
        return run_report(fn, request["effective"], request["weights"], request["x"])
    if request["task"] == "train":
        return run_training(
            fn, request["effective"], request["weights"], request["steps"], train_calls
        )
    raise ValueError(f"unknown capstone task {request['task']!r}")


def training_facts(
    result: Any, effective: Mapping[str, Any], *, compare: bool = True
) -> TrainingFacts:
    """Turn what :func:`run_training` returned into :class:`TrainingFacts`, recomputing
    the accuracy."""
    facts = TrainingFacts()
    if isinstance(result, BaseException):
        facts.error = (
            "is not implemented yet (it raises NotImplementedError)"
            if isinstance(result, NotImplementedError)
            else "train_capstone(model, data, steps) raised "
            f"{type(result).__name__}: {result}"
        )
        return facts
    data = capstone_data()
    start = build_capstone(_effective_for(effective)).get_weights()
    model = build_capstone(_effective_for(effective))
    try:
        weights = [np.asarray(w, dtype=np.float32) for w in result["weights"]]
        model.set_weights(weights)
    except Exception as exc:  # noqa: BLE001 - the student's function replaced the layers
        facts.error = (
            "the model's weights cannot be read back after the call "
            f"({type(exc).__name__}: {exc})"
        )
        return facts
    facts.weights_changed = any(
        not np.array_equal(a, b) for a, b in zip(start, weights)
    )
    facts.steps = int(result["steps"])
    facts.history_accuracy = result["history_accuracy"]
    facts.accuracy = test_accuracy(model, data)
    facts.config = dict(result.get("config", {}))
    if compare:
        facts.compared = compare_with_default(
            effective,
            str(facts.config.get("optimizer", "sgd")),
            int(facts.config.get("batch_size", 128)),
            data,
        )
    return facts


# --------------------------------------------------------------------------------------
# Self-checks for the notebook (they call the student's functions directly)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SelfCheck:
    """What a self-check of the notebook found: ``(task, points, max_points, message)``.

    The self-checks print their verdict and return it; they never stop the notebook, so
    it runs top to bottom at every stage of the work. They are feedback, not the grade:
    the grade is computed by ``python -m initcourse.grading`` outside the notebook.
    """

    task: str
    points: float
    max_points: float
    message: str


def _self_check(
    task: str, max_points: float, run: Callable[[], CheckResult]
) -> SelfCheck:
    try:
        result = run()
    except ExerciseError as exc:
        points = round(max_points * exc.earned, 2)
        print(f"✗ {exc}")
        return SelfCheck(task, points, max_points, f"✗ {exc}")
    return SelfCheck(task, max_points, max_points, f"✓ {result.message}")


def _verdict(choose: Callable | None) -> ChoiceVerdict:
    if choose is None:
        return judge_initializer_choice({JUDGED_NETWORKS[0]: MODEL_ANSWER_INITIALIZERS})
    answers: dict = {}
    for acts in JUDGED_NETWORKS:
        try:
            answers[acts] = choose(list(acts))
        except Exception as exc:  # noqa: BLE001
            answers[acts] = exc
    return judge_initializer_choice(answers)


def check_choose_initializers(fn: Callable) -> SelfCheck:
    """Self-check of task (a), 4 points: every role judged on its own.

    The same judgement as the grader's
    (:func:`initcourse.exercises.grade_initializer_choice`).
    """
    return _self_check(
        "(a) choose_initializers", 4.0, lambda: _choice_result(_verdict(fn))
    )


def check_init_report(
    fn: Callable, choose_initializers: Callable | None = None
) -> SelfCheck:
    """Self-check of task (b), 3 points: your report against this module's measurement,
    on three batches.

    The network is built with ``choose_initializers`` for the roles it gets right and
    with the model answer of (a) for the others (the model answer everywhere when it is
    not given), so a mistake in (a) is not counted again here.
    """
    verdict = _verdict(choose_initializers)
    model = build_capstone(_effective_for(verdict.effective))
    return _self_check(
        "(b) init_report",
        3.0,
        lambda: grade_layer_report(fn, model, report_batches(), hidden_stds),
    )


def check_train_capstone(
    fn: Callable,
    choose_initializers: Callable | None = None,
    *,
    compare: bool = False,
) -> SelfCheck:
    """Self-check of task (c), 3 points, as the grader does it; ``compare=False`` skips
    part 3.

    The comparison with the default trains 18 networks (about half a minute); the batch
    grader always runs it. The network is built as in :func:`check_init_report`.
    """
    verdict = _verdict(choose_initializers)
    effective = verdict.effective
    weights = build_capstone(_effective_for(effective)).get_weights()
    calls: list = []
    from initcourse import training

    original = training.train

    def recording_train(*args: Any, **kwargs: Any):
        calls.append(kwargs)
        return original(*args, **kwargs)

    fn_globals = getattr(fn, "__globals__", {})
    patched_global = fn_globals.get("train") is original
    training.train = recording_train
    if patched_global:
        fn_globals["train"] = recording_train
    try:
        result: Any = run_training(fn, effective, weights, BUDGET, calls)
    except Exception as exc:  # noqa: BLE001
        result = exc
    finally:
        training.train = original
        if patched_global:
            fn_globals["train"] = original
    facts = training_facts(result, effective, compare=compare)
    return _self_check(
        "(c) train_capstone",
        3.0,
        lambda: grade_training_facts(
            facts, budget=BUDGET, threshold=THRESHOLD, compare=compare
        ),
    )


def self_check_table(*results: SelfCheck) -> str:
    """A text table of self-check results, with their total (feedback, not the
    grade)."""
    width = max([len("Task"), len("Total")] + [len(r.task) for r in results])
    lines = [f"{'Task':<{width}}  {'Points':>13}  Result", "-" * (width + 40)]
    for r in results:
        verdict = (
            "all checks passed"
            if r.points == r.max_points
            else "see the messages of its cell"
        )
        lines.append(
            f"{r.task:<{width}}  {r.points:>6.2f} / {r.max_points:<4g}  {verdict}"
        )
    total, most = sum(r.points for r in results), sum(r.max_points for r in results)
    lines.append("-" * (width + 40))
    lines.append(
        f"{'Total':<{width}}  {total:>6.2f} / {most:<4g}\n"
        "(a self-check: your grade comes from your instructor's grader)"
    )
    return "\n".join(lines)
