"""Chapter 10, the capstone: initialize an unfamiliar residual network (tasks (a), (b), (c))."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import numpy as np

from .core import CheckResult, ExerciseError, _g, _Session, _short

__all__ = [
    "CAPSTONE_ACTIVATIONS",
    "CAPSTONE_ROLES",
    "capstone_hidden_layers",
    "grade_initializer_choice",
    "grade_layer_report",
    "grade_training_run",
]


# --------------------------------------------------------------------------------------------
# Capstone: initialize an unfamiliar network (chapter 10)
# --------------------------------------------------------------------------------------------
# The capstone's graded tasks need more than the student's function (a model factory, data), so
# their checkers are called ``grade_*`` and take those extra arguments; bind them with
# ``functools.partial`` to use them with :meth:`Grader.check`. Like the ``check_*`` functions they
# raise :class:`ExerciseError` naming the mistake, print one ``✓`` line and return a
# :class:`CheckResult`. Models are only duck-typed here (``model.layers``, ``layer.kernel``,
# ``layer.activation.__name__``): this module still never imports TensorFlow.

CAPSTONE_ACTIVATIONS = ("relu", "tanh", "selu")
"""Activations the capstone's residual blocks may use."""
CAPSTONE_ROLES = ("embed", "residual_out", "head")
"""Layer roles of the capstone network besides one role per block activation."""

_PRESETS = {  # name -> (variance scale, mode, family), as in keras.initializers
    "he_normal": (2.0, "fan_in", "normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "normal"),
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "xavier_normal": (1.0, "fan_avg", "normal"),
    "xavier_uniform": (1.0, "fan_avg", "uniform"),
}
_FIXED = ("random_normal", "random_uniform", "truncated_normal", "ones", "constant")
_SUGGEST = {"relu": "he_normal", "tanh": "glorot_normal", "selu": "lecun_normal"}


@dataclass(frozen=True)
class _InitSpec:
    """What an initializer does, as far as the capstone cares.

    ``kind`` is ``"variance_scaling"``, ``"orthogonal"``, ``"zeros"`` or ``"fixed"`` (a scale
    that ignores the fans); ``scale`` is the variance factor (``VarianceScaling.scale``, the
    square of an orthogonal gain, 0 for zeros).
    """

    kind: str
    scale: float
    mode: str
    family: str
    label: str


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and (name[i - 1].islower() or name[i - 1].isdigit()):
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("-", "_").strip()


def _family(distribution: str) -> str:
    return "uniform" if "uniform" in distribution else "normal"


def _describe_initializer(value: Any) -> Optional[_InitSpec]:
    """Interpret a Keras initializer name or object (duck-typed); ``None`` if unrecognised."""
    if isinstance(value, str):
        name = _snake(value)
        if name in _PRESETS:
            scale, mode, family = _PRESETS[name]
            return _InitSpec("variance_scaling", scale, mode, family, repr(value))
        if name in ("zeros", "zero"):
            return _InitSpec("zeros", 0.0, "", "", repr(value))
        if name in ("orthogonal", "identity"):
            return _InitSpec("orthogonal", 1.0, "", "orthogonal", repr(value))
        if name in _FIXED:
            return _InitSpec("fixed", float("nan"), "", "", repr(value))
        return None
    cls = _snake(type(value).__name__)
    scale, mode, dist = (getattr(value, a, None) for a in ("scale", "mode", "distribution"))
    if isinstance(scale, (int, float)) and not isinstance(scale, bool) and isinstance(mode, str) and isinstance(dist, str):
        label = f"{type(value).__name__}(scale={_g(float(scale))}, mode={mode!r}, distribution={dist!r})"
        return _InitSpec("variance_scaling", float(scale), mode, _family(dist), label)
    if cls in ("orthogonal", "identity", "orthogonal_initializer"):
        gain = getattr(value, "gain", 1.0)
        gain = float(gain) if isinstance(gain, (int, float)) else 1.0
        return _InitSpec("orthogonal", gain**2, "", "orthogonal", f"{type(value).__name__}(gain={_g(gain)})")
    if cls in ("zeros", "zero"):
        return _InitSpec("zeros", 0.0, "", "", f"{type(value).__name__}()")
    if cls == "constant" and getattr(value, "value", None) == 0:
        return _InitSpec("zeros", 0.0, "", "", f"{type(value).__name__}(0)")
    if cls in _FIXED:
        return _InitSpec("fixed", float("nan"), "", "", f"{type(value).__name__}()")
    return None


def _close(a: float, b: float, rel: float = 0.05) -> bool:
    return abs(a - b) <= rel * abs(b)


def _judge_hidden(act: str, spec: _InitSpec) -> Optional[str]:
    """None if ``spec`` suits a square hidden layer followed by ``act``, else what is wrong."""
    want = _SUGGEST[act]
    if spec.kind == "zeros":
        return (
            f"{spec.label} for the {act} layers: a zero kernel makes every unit compute the same "
            f"thing and get the same gradient (symmetry is never broken); use {want}"
        )
    if spec.kind == "fixed":
        return (
            f"{spec.label} for the {act} layers has a fixed scale that ignores the fan-in; use a "
            f"variance-scaling initializer ({want})"
        )
    s = spec.scale
    if act == "relu":
        if _close(s, 2.0):
            return None
        if _close(s, 1.0):
            return (
                f"{spec.label} for the relu layers has variance scale 1: ReLU sets half of its inputs "
                f"to 0 and halves the second moment at every layer; He et al. double the variance to "
                f"compensate (he_normal: variance 2/fan_in)"
            )
        return f"{spec.label} for the relu layers has variance scale {_g(s)}; ReLU needs 2/fan_in (he_normal)"
    if act == "tanh":
        if _close(s, 1.0) or _close(s, 25.0 / 9.0):
            return None
        if _close(s, 2.0):
            return (
                f"{spec.label} for the tanh layers has He's factor 2: tanh is close to the identity "
                f"near 0 (slope 1) and does not zero half of its inputs, so it needs no factor 2; use "
                f"glorot_normal or lecun_normal (variance 1/fan_in)"
            )
        return (
            f"{spec.label} for the tanh layers has variance scale {_g(s)}; tanh keeps the signal with "
            f"variance 1/fan_in (glorot_normal or lecun_normal; PyTorch's gain 5/3 gives 25/9)"
        )
    # selu
    if spec.kind == "orthogonal":
        return (
            f"{spec.label} for the selu layers: SELU's self-normalizing fixed point (mean 0, "
            f"variance 1) is derived for i.i.d. normal weights N(0, 1/fan_in) (Klambauer et al.); "
            f"use lecun_normal"
        )
    if _close(s, 1.0):
        if spec.family == "normal":
            return None
        return (
            f"{spec.label} for the selu layers has the right variance but a uniform distribution; "
            f"SELU's self-normalizing fixed point is derived for normal weights N(0, 1/fan_in) "
            f"(Klambauer et al.), which is why Keras pairs selu with lecun_normal"
        )
    if _close(s, 2.0):
        return (
            f"{spec.label} for the selu layers has He's factor 2: SELU's constants λ and α already "
            f"assume weights of variance 1/fan_in, so scale 2 pushes the variance away from the "
            f"fixed point 1; use lecun_normal"
        )
    return f"{spec.label} for the selu layers has variance scale {_g(s)}; SELU needs 1/fan_in (lecun_normal)"


def _judge_residual(spec: _InitSpec, n_blocks: int) -> Optional[str]:
    limit = 1.0 / n_blocks
    if spec.kind == "zeros":
        return None
    if spec.kind == "fixed":
        return (
            f"{spec.label} for residual_out has a fixed scale that ignores the fan-in and the depth; "
            f"use 'zeros' or a variance scale <= 1/L"
        )
    if spec.scale <= limit * (1.0 + 1e-9):
        return None
    return (
        f"{spec.label} for residual_out with L = {n_blocks} blocks: each residual branch adds about "
        f"{_g(spec.scale)}× the stream's variance, so the residual stream grows block after block "
        f"(roughly (1 + {_g(spec.scale)})^L in variance); start each branch at 0 ('zeros', so that "
        f"every block starts as the identity, as in Fixup, SkipInit or ReZero) or use a variance "
        f"scale <= 1/L = {_g(limit)} that shrinks with the depth"
    )


def _judge_embed(spec: _InitSpec) -> Optional[str]:
    if spec.kind == "zeros":
        return "'zeros' for embed: a zero input projection sends 0 into every block, so the network starts dead"
    if spec.kind == "fixed":
        return f"{spec.label} for embed has a fixed scale that ignores the fan-in; use lecun_normal or glorot_uniform"
    if _close(spec.scale, 1.0):
        return None
    return (
        f"{spec.label} for embed has variance scale {_g(spec.scale)}: the input projection is linear "
        f"(no activation to compensate), so keep the variance with scale 1 (lecun_normal, "
        f"glorot_uniform or orthogonal)"
    )


def _judge_head(spec: _InitSpec) -> Optional[str]:
    if spec.kind == "zeros":
        return None
    if spec.kind == "fixed":
        return f"{spec.label} for head has a fixed scale that ignores the fan-in; use glorot_uniform or zeros"
    if spec.scale <= 1.0 * 1.05:
        return None
    return (
        f"{spec.label} for head has variance scale {_g(spec.scale)}: the head outputs logits (no "
        f"activation), so a factor > 1 only makes the first predictions overconfident; use "
        f"glorot_uniform (the Keras default), lecun_normal or zeros"
    )


def grade_initializer_choice(fn: Callable[[Sequence[str]], dict[str, Any]]) -> CheckResult:
    """Check ``fn(block_activations) -> {role: initializer}`` for the capstone's residual MLP.

    The network (chapter 10): a linear input projection ``embed``; ``L = len(block_activations)``
    residual blocks :math:`h \\leftarrow h + W_2^\\top \\phi(W_1^\\top h)` with :math:`\\phi` from
    :data:`CAPSTONE_ACTIVATIONS`; a linear classifier ``head``. All hidden layers are square
    (64 × 64), so ``fan_in = fan_out = fan_avg`` there and only the variance factor matters.

    The returned dict maps each role to a Keras initializer name (``"he_normal"``) or object
    (``keras.initializers.HeNormal()``, ``VarianceScaling(...)``, ``Orthogonal()``, ``Zeros()``):

    * ``"relu"``: variance 2/fan_in, He {cite}`he2015delving`;
    * ``"tanh"``: variance 1/fan_in or 1/fan_avg (Glorot, LeCun) {cite}`glorot2010understanding`,
      or PyTorch's gain 5/3 (scale 25/9), or orthogonal with gain 1 or 5/3;
    * ``"selu"``: LeCun *normal*, N(0, 1/fan_in) {cite}`klambauer2017self`;
    * ``"residual_out"`` (the second kernel :math:`W_2` of every block): zeros, or a variance
      scale at most :math:`1/L`, so the residual stream does not grow with depth
      {cite}`zhang2019fixup`;
    * ``"embed"``: variance scale 1 (LeCun, Glorot or orthogonal);
    * ``"head"``: variance scale at most 1, or zeros.

    Only the activations present need a key (extra keys for the other capstone activations are
    allowed). The function is also called for ``["selu"] * 48`` and ``["relu", "tanh"]``: the
    residual scale must shrink with the depth.
    """
    checks = ("called", "returns a dict", "roles", "recognised", "relu", "tanh", "selu",
              "residual_out", "embed", "head", "other depths")  # fmt: skip
    s = _Session("choose_initializers", fn, checks)
    main = ["relu", "tanh", "selu"] * 4

    def judge(acts: Sequence[str], full: bool) -> None:
        call = f"choose_initializers({_short(list(acts)) if len(acts) <= 4 else repr(acts[0]) + ' × ' + str(len(acts))})"
        out = s.call(list(acts))
        if full:
            s.step("returns a dict")
        if out is None:
            s.fail(f"{call} returned None: did you forget the `return` statement?")
        if not isinstance(out, dict) or not all(isinstance(k, str) for k in out):
            s.fail(f"{call} returned a {type(out).__name__}; return a dict {{role name: initializer}}")
        if full:
            s.step("roles")
        needed = list(CAPSTONE_ROLES) + sorted(set(acts), key=list(CAPSTONE_ACTIVATIONS).index)
        missing = [k for k in needed if k not in out]
        if missing:
            s.fail(f"{call} has no initializer for {', '.join(map(repr, missing))}; the roles are {', '.join(map(repr, needed))}")
        unknown = [k for k in out if k not in CAPSTONE_ROLES and k not in CAPSTONE_ACTIVATIONS]
        if unknown:
            s.fail(
                f"{call} has unknown key(s) {', '.join(map(repr, unknown))} that the model builder would "
                f"ignore (a typo?); the roles are {', '.join(map(repr, needed))}"
            )
        if full:
            s.step("recognised")
        specs: dict[str, _InitSpec] = {}
        for role in needed:
            spec = _describe_initializer(out[role])
            if spec is None:
                s.fail(
                    f"{role}: cannot interpret {out[role]!r}; use a Keras initializer name such as "
                    f"'he_normal' or an object such as keras.initializers.HeNormal(), "
                    f"VarianceScaling(...), Orthogonal() or Zeros()"
                )
            specs[role] = spec
        order = [a for a in CAPSTONE_ACTIVATIONS if a in acts] + ["residual_out", "embed", "head"]
        for role in order:
            if full and role in s.checks:
                s.step(role)
            if role in CAPSTONE_ACTIVATIONS:
                problem = _judge_hidden(role, specs[role])
            elif role == "residual_out":
                problem = _judge_residual(specs[role], len(acts))
            elif role == "embed":
                problem = _judge_embed(specs[role])
            else:
                problem = _judge_head(specs[role])
            if problem is not None:
                where = "" if full else f" (for the network with blocks {call.split('(', 1)[1][:-1]})"
                s.fail(problem + where)

    judge(main, full=True)
    s.step("other depths")
    for acts in (["selu"] * 48, ["relu", "tanh"]):
        judge(acts, full=False)
    return s.success("He for relu, Glorot/LeCun for tanh, LeCun normal for selu, a depth-aware residual branch, embed and head all fit")


def _layer_activation(layer: Any) -> Optional[str]:
    fn = getattr(layer, "activation", None)
    if fn is None:
        return None
    return getattr(fn, "__name__", type(fn).__name__)


def _has_kernel(layer: Any) -> bool:
    try:
        return getattr(layer, "kernel", None) is not None
    except Exception:  # noqa: BLE001 - a property that raises means no kernel
        return False


def _leaves(model: Any) -> list[Any]:
    out = []
    for layer in getattr(model, "layers", []):
        if not _has_kernel(layer) and getattr(layer, "layers", None):
            out.extend(_leaves(layer))
        else:
            out.append(layer)
    return out


def capstone_hidden_layers(model: Any) -> list[str]:
    """Names of the hidden layers of a (duck-typed) Keras model: layers with a kernel and a nonlinear activation.

    Linear layers (an input projection, the last kernel of a residual branch, the classifier
    head) are not hidden layers in this sense. Nested models are opened.
    """
    return [
        layer.name
        for layer in _leaves(model)
        if _has_kernel(layer) and _layer_activation(layer) not in (None, "linear")
    ]


def _build(s: _Session, build: Callable[[], Any], what: str) -> Any:
    try:
        return build()
    except NotImplementedError:
        s.fail(f"building {what} failed: a function it needs (your choose_initializers?) is not implemented yet; finish task (a) first")
    except ExerciseError:
        raise
    except Exception as exc:
        s.fail(f"building {what} raised {type(exc).__name__}: {exc}")
    raise AssertionError("unreachable")  # pragma: no cover


def _check_factory(value: Any, name: str) -> None:
    if not callable(value):
        raise TypeError(f"{name}: expected a function with no arguments that builds the model, got {type(value).__name__} {value!r}")


def grade_layer_report(
    fn: Callable[[Any, np.ndarray], dict[str, float]],
    build: Callable[[], Any],
    x: np.ndarray,
    *,
    low: float = 0.5,
    high: float = 2.0,
) -> CheckResult:
    """Check ``fn(model, x) -> {layer name: activation std}`` on the model ``build()`` makes.

    Checks, in order (partial credit counts the ones passed): the call works; the report is a
    dict with one finite std per hidden layer; it is measured; the hidden layers' stds are in
    range in the first, middle and last third of the network.

    The report must have one entry per hidden layer (:func:`capstone_hidden_layers`: a kernel
    and a nonlinear activation), each the standard deviation of that layer's output on the batch
    ``x`` at initialization (what :func:`initcourse.diagnostics.layer_stats` reports as
    ``out_std``); on an all-zero batch every entry must be 0 (zero biases and
    :math:`\\phi(0) = 0` for relu, tanh and selu), which tells a measured report from one computed
    from the weights or made up. Finally every std must lie in ``[low, high]``: the
    initialization keeps the forward signal at a usable scale in every block
    {cite}`glorot2010understanding,he2015delving`.

    Parameters
    ----------
    fn : callable
        The student's ``init_report(model, x)``.
    build : callable
        ``build()`` returns the freshly initialized model (built with the student's initializers).
    x : numpy.ndarray
        A batch of at least 2 inputs.
    low, high : float
        The accepted range of every hidden layer's std.
    """
    _check_factory(build, "build")
    x = np.asarray(x, dtype=np.float32)
    if x.ndim < 2 or x.shape[0] < 2:
        raise ValueError(f"x: expected a batch of at least 2 examples, got shape {x.shape}")
    if not 0 < low < high:
        raise ValueError(f"low, high: expected 0 < low < high, got low={low!r}, high={high!r}")
    thirds = ("early layers in range", "middle layers in range", "late layers in range")
    s = _Session("init_report", fn, ("called", "report", "measured") + thirds)
    model = _build(s, build, "the model")  # a failure here fails "called": no credit without a model
    hidden = capstone_hidden_layers(model)
    if not hidden:
        raise ValueError("build: the model has no hidden layer (a layer with a kernel and a nonlinear activation)")
    acts = {layer.name: _layer_activation(layer) for layer in _leaves(model)}
    report = s.call(model, x)
    s.step("report")
    if report is None:
        s.fail("init_report(model, x) returned None: did you forget the `return` statement?")
    if not isinstance(report, dict):
        s.fail(f"init_report(model, x) returned a {type(report).__name__}; return a dict {{layer name: std}}")
    missing = [n for n in hidden if n not in report]
    extra = [n for n in report if n not in hidden]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        s.fail(
            f"the report has no entry for {', '.join(map(repr, missing[:3]))}{more}; report every layer "
            f"with a kernel and a nonlinear activation ({len(hidden)} layers: {hidden[0]!r} ... {hidden[-1]!r})"
        )
    if extra:
        more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
        s.fail(
            f"{', '.join(map(repr, extra[:3]))}{more} are not hidden layers (linear layers such as the input "
            f"projection, the residual outputs and the head, or unknown names); keep only the layers whose "
            f"activation is nonlinear (row['activation'] not in (None, 'linear'))"
        )
    values: dict[str, float] = {}
    for name in hidden:
        try:
            v = float(report[name])
        except (TypeError, ValueError):
            s.fail(f"report[{name!r}] is {report[name]!r}; expected a number (the std of the layer's output)")
        if not math.isfinite(v) or v < 0:
            s.fail(f"report[{name!r}] = {_g(v)}; a standard deviation is a finite number >= 0")
        values[name] = v
    s.step("measured")
    zero_report = s.call(model, np.zeros_like(x))
    if not isinstance(zero_report, dict):
        s.fail(f"init_report(model, zeros) returned a {type(zero_report).__name__}; return a dict {{layer name: std}}")
    for name in hidden:
        try:
            v0 = float(zero_report.get(name, float("nan")))
        except (TypeError, ValueError):
            v0 = float("nan")
        if not abs(v0) <= 1e-6:
            s.fail(
                f"on an all-zero batch the report gives {_g(v0)} for {name!r}, but there every activation "
                f"is exactly 0 (zero biases, φ(0) = 0): measure the layer outputs on the batch x "
                f"(initcourse.diagnostics.layer_stats), do not compute the std from the weights or set it by hand"
            )
    bad = [(n, v) for n, v in values.items() if not low <= v <= high]
    groups = np.array_split(np.arange(len(hidden)), 3)
    for check, group in zip(thirds, groups):
        s.step(check)
        if any(hidden[i] in dict(bad) for i in group):
            worst = max(bad, key=lambda nv: abs(math.log(max(nv[1], 1e-12) / math.sqrt(low * high))))
            name, v = worst
            act = acts.get(name)
            if v > high:
                why = (
                    f"the signal grows along the residual stream; initialize the last kernel of each residual "
                    f"branch with zeros or a variance scale <= 1/L, and use {_SUGGEST.get(act, 'a variance-preserving initializer')} "
                    f"for the {act} layers"
                )
            else:
                why = f"the signal shrinks; use {_SUGGEST.get(act, 'a variance-preserving initializer')} for the {act} layers"
            listed = ", ".join(f"{n} {_g(val)}" for n, val in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
            s.fail(
                f"at initialization {len(bad)} of {len(hidden)} hidden layers have an activation std outside "
                f"[{_g(low)}, {_g(high)}] ({listed}); the furthest is {name} ({_g(v)}): {why}"
            )
    lo, hi = min(values.values()), max(values.values())
    return s.success(
        f"all {len(hidden)} hidden layers have an activation std in [{lo:.3f}, {hi:.3f}] ⊂ [{_g(low)}, {_g(high)}]"
    )


def _final_accuracy(s: _Session, history: Any, what: str) -> tuple[int, float]:
    steps = getattr(history, "steps", None)
    accs = getattr(history, "test_accuracy", None)
    if history is None:
        s.fail(f"{what} returned None: return the History that initcourse.training.train returns")
    if not isinstance(steps, (list, tuple)) or not isinstance(accs, (list, tuple)) or not steps or not accs:
        s.fail(
            f"{what} returned a {type(history).__name__} without recorded steps and test accuracies; "
            f"return the History that initcourse.training.train returns"
        )
    try:
        acc = float(accs[-1])
        last = int(steps[-1])
    except (TypeError, ValueError):
        s.fail(f"{what}: the history's last step/test accuracy are not numbers ({steps[-1]!r}, {accs[-1]!r})")
    return last, acc


def grade_training_run(
    fn: Callable[[Any, Any, int], Any],
    build: Callable[[], Any],
    data: Any,
    *,
    baseline_build: Callable[[], Any],
    budget: int,
    threshold: float,
    tolerance: float = 0.01,
) -> CheckResult:
    """Check a short training run ``fn(model, data, steps) -> History`` of the capstone network.

    ``fn`` trains the model ``build()`` (the student's initialization) for at most ``budget``
    optimizer steps and returns its :class:`initcourse.training.History`. Graded: the budget is
    kept (last recorded step <= ``budget``); the final test accuracy reaches ``threshold``; and
    it is at least the accuracy that the *same* function reaches from the default
    initialization (``baseline_build()``) minus ``tolerance``. Only the initialization differs
    between the two runs: same training code, data, budget and seed.

    Parameters
    ----------
    fn : callable
        The student's ``train_capstone(model, data, steps)``.
    build, baseline_build : callable
        Zero-argument factories of the freshly initialized model: the student's initialization
        and the default one.
    data : initcourse.data.Dataset
        Passed to ``fn`` unchanged.
    budget : int
        Maximum number of optimizer steps (passed to ``fn`` as ``steps``).
    threshold : float
        Final test accuracy required.
    tolerance : float
        How far below the baseline's accuracy the run may end.
    """
    _check_factory(build, "build")
    _check_factory(baseline_build, "baseline_build")
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise ValueError(f"budget: expected an int >= 1, got {budget!r}")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold: expected an accuracy in (0, 1], got {threshold!r}")
    if not 0 <= tolerance < 1:
        raise ValueError(f"tolerance: expected a number in [0, 1), got {tolerance!r}")
    s = _Session("train_capstone", fn, ("called", "returns a History", "budget", "threshold", "baseline"))
    model = _build(s, build, "the model")  # a failure here fails "called": no credit without a model
    history = s.call(model, data, budget)
    s.step("returns a History")
    last, acc = _final_accuracy(s, history, "train_capstone(model, data, steps)")
    s.step("budget")
    if last > budget:
        s.fail(f"the run took {last} steps; the budget is {budget} steps (train with steps=steps)")
    s.step("threshold")
    if not acc >= threshold:
        why = (
            "the run diverged (NaN): lower the learning rate or fix the initialization"
            if math.isnan(acc)
            else "check the initialization (task (b)) and the learning rate"
        )
        s.fail(f"final test accuracy {acc:.3f} after {last} steps is below the threshold {threshold:.3f}: {why}")
    s.step("baseline")
    base_model = _build(s, baseline_build, "the default-initialized model")
    base_last, base_acc = _final_accuracy(s, s.call(base_model, data, budget), "train_capstone(default model, data, steps)")
    base = 0.0 if math.isnan(base_acc) else base_acc
    if acc < base - tolerance:
        s.fail(
            f"with the same training the default initialization reaches {base:.3f}, yours {acc:.3f} "
            f"(tolerance {tolerance:.3f}): your initialization should not train worse than the default"
        )
    return s.success(
        f"test accuracy {acc:.3f} after {last} steps (threshold {threshold:.3f}); the default "
        f"initialization reaches {base_acc:.3f} with the same training"
    )
