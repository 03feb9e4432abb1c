"""Chapter 12, the capstone: initialize an unfamiliar residual network (tasks (a), (b),
(c)).

This module holds the *judgement* of the three graded tasks and never imports
TensorFlow:

- (a) :func:`judge_initializer_choice` / :func:`grade_initializer_choice`: every layer
role is
  judged on its own and earns its share of :data:`ROLE_POINTS`; correct alternatives
  pass (any spelling Keras or PyTorch uses, initializer objects, SELU with any
  variance-1/fan_in or orthogonal kernel, Fixup's :math:`L^{-1/2}` scaling of the
  branches' first kernels when the last ones start at zero :cite:`zhang2019fixup`).
- (b) :func:`grade_layer_report`: the student's report is compared, layer by layer, with
a
  measurement that the *caller* makes with its own code (``truth``), on several batches.
- (c) :func:`grade_training_facts`: the budget, the accuracy and the comparison with the
default
  come from numbers the caller recomputed (:class:`TrainingFacts`), never from the
  student's history.

The Keras side (building the network, measuring, training) is
:mod:`initcourse.grading.capstone`, which the notebook's self-checks and the batch
grader share. Messages say what is wrong and why; they do not name the initializer to
use.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .core import CheckResult, ExerciseError, _g, _short, success_line

__all__ = [
    "CAPSTONE_ACTIVATIONS",
    "CAPSTONE_ROLES",
    "MODEL_ANSWER_INITIALIZERS",
    "ROLE_POINTS",
    "ChoiceVerdict",
    "TrainingFacts",
    "canonical_initializer",
    "capstone_hidden_layers",
    "grade_initializer_choice",
    "grade_layer_report",
    "grade_training_facts",
    "grade_training_run",
    "judge_initializer_choice",
]

CAPSTONE_ACTIVATIONS = ("relu", "tanh", "selu")
"""Activations the capstone's residual blocks may use."""
CAPSTONE_ROLES = ("embed", "residual_out", "head")
"""Layer roles of the capstone network besides one role per block activation."""

ROLE_POINTS = {
    "relu": 1.0,
    "tanh": 0.5,
    "selu": 0.5,
    "residual_out": 1.5,
    "embed": 0.25,
    "head": 0.25,
}
"""Points of task (a) per role (4 in all): the roles where the Keras default fails weigh
most."""

MODEL_ANSWER_INITIALIZERS = {
    "embed": "lecun_normal",
    "relu": "he_normal",
    "tanh": "glorot_normal",
    "selu": "lecun_normal",
    "residual_out": "zeros",
    "head": "glorot_uniform",
}
"""The model answer of task (a); (b) and (c) use it for every role a student's (a) gets
wrong."""

#: The networks task (a) is judged on: the assignment's, a deep SELU stack, a shallow
#: one.
JUDGED_NETWORKS = (("relu", "tanh", "selu") * 4, ("selu",) * 48, ("relu", "tanh"))

_PRESETS = {  # name -> (variance scale, mode, distribution), as in keras.initializers
    "he_normal": (2.0, "fan_in", "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"),
    "kaiming_normal": (2.0, "fan_in", "untruncated_normal"),
    "kaiming_uniform": (2.0, "fan_in", "uniform"),
    "lecun_normal": (1.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"),
    "glorot_normal": (1.0, "fan_avg", "truncated_normal"),
    "glorot_uniform": (1.0, "fan_avg", "uniform"),
    "xavier_normal": (1.0, "fan_avg", "untruncated_normal"),
    "xavier_uniform": (1.0, "fan_avg", "uniform"),
}
_FIXED = ("random_normal", "random_uniform", "truncated_normal", "ones", "constant")


@dataclass(frozen=True)
class _InitSpec:
    """What an initializer does, as far as the capstone cares.

    ``kind`` is ``"variance_scaling"``, ``"orthogonal"``, ``"zeros"`` or ``"fixed"`` (a
    scale that ignores the fans); ``scale`` is the variance factor
    (``VarianceScaling.scale``, the square of an orthogonal gain, 0 for zeros).
    """

    kind: str
    scale: float
    mode: str
    family: str
    label: str
    distribution: str = ""


def _snake(name: str) -> str:
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i > 0 and (name[i - 1].islower() or name[i - 1].isdigit()):
            out.append("_")
        out.append(ch.lower())
    return "".join(out).replace("-", "_").strip()


def _family(distribution: str) -> str:
    return "uniform" if "uniform" in distribution else "normal"


def _class_name(value: Any) -> str:
    """The class name of ``value``; for a value described across a process, the original
    one."""
    name = (
        getattr(value, "class_name", None)
        if type(value).__name__ == "Described"
        else None
    )
    return name if isinstance(name, str) else type(value).__name__


def _describe_initializer(value: Any) -> _InitSpec | None:
    """Interpret a Keras initializer name or object (duck-typed); ``None`` if
    unrecognised."""
    if isinstance(value, str):
        name = _snake(value)
        if name in _PRESETS:
            scale, mode, dist = _PRESETS[name]
            return _InitSpec(
                "variance_scaling", scale, mode, _family(dist), repr(value), dist
            )
        if name in ("zeros", "zero"):
            return _InitSpec("zeros", 0.0, "", "", repr(value))
        if name in ("orthogonal", "identity"):
            return _InitSpec("orthogonal", 1.0, "", "orthogonal", repr(value))
        if name in _FIXED:
            return _InitSpec("fixed", float("nan"), "", "", repr(value))
        return None
    cls_name = _class_name(value)
    cls = _snake(cls_name)

    def attr(name: str) -> Any:
        try:
            return getattr(value, name, None)
        except Exception:  # noqa: BLE001 - a property that raises
            return None

    scale, mode, dist = attr("scale"), attr("mode"), attr("distribution")
    if (
        isinstance(scale, (int, float))
        and not isinstance(scale, bool)
        and isinstance(mode, str)
        and isinstance(dist, str)
    ):
        label = (
            f"{cls_name}(scale={_g(float(scale))}, mode={mode!r}, "
            f"distribution={dist!r})"
        )
        return _InitSpec(
            "variance_scaling", float(scale), mode, _family(dist), label, dist
        )
    if cls in ("orthogonal", "identity", "orthogonal_initializer"):
        gain = attr("gain")
        gain = (
            float(gain)
            if isinstance(gain, (int, float)) and not isinstance(gain, bool)
            else 1.0
        )
        return _InitSpec(
            "orthogonal", gain**2, "", "orthogonal", f"{cls_name}(gain={_g(gain)})"
        )
    if cls in ("zeros", "zero"):
        return _InitSpec("zeros", 0.0, "", "", f"{cls_name}()")
    if cls == "constant" and attr("value") == 0:
        return _InitSpec("zeros", 0.0, "", "", f"{cls_name}(0)")
    if cls in _FIXED or cls in ("random_normal", "random_uniform", "truncated_normal"):
        return _InitSpec("fixed", float("nan"), "", "", f"{cls_name}()")
    return None


def canonical_initializer(value: Any) -> dict | None:
    """A Keras config ``{"class_name": ..., "config": {...}}`` equivalent to ``value``,
    or ``None``.

    Used to build the network from an answer of task (a) in any spelling:
    ``"xavier_normal"`` becomes ``VarianceScaling(scale=1, mode="fan_avg",
    distribution="untruncated_normal")``, ``HeNormal()`` becomes ``VarianceScaling(2,
    "fan_in", "truncated_normal")``, ``Orthogonal(gain)`` and zeros stay what they are.
    Fixed-scale initializers are not converted (``None``).
    """
    spec = _describe_initializer(value)
    if spec is None:
        return None
    if spec.kind == "variance_scaling":
        dist = spec.distribution or (
            "uniform" if spec.family == "uniform" else "truncated_normal"
        )
        if dist == "normal":  # Keras 2's name of the truncated normal
            dist = "truncated_normal"
        return {
            "class_name": "VarianceScaling",
            "config": {"scale": spec.scale, "mode": spec.mode, "distribution": dist},
        }
    if spec.kind == "orthogonal":
        return {"class_name": "Orthogonal", "config": {"gain": math.sqrt(spec.scale)}}
    if spec.kind == "zeros":
        return {"class_name": "Zeros", "config": {}}
    return None


def _close(a: float, b: float, rel: float = 0.05) -> bool:
    return abs(a - b) <= rel * abs(b)


# --------------------------------------------------------------------------------------
# (a) one judgement per role
# --------------------------------------------------------------------------------------
_HIDDEN_SCALES = {"relu": (2.0,), "tanh": (1.0, 25.0 / 9.0), "selu": (1.0,)}


def _judge_hidden(
    act: str, spec: _InitSpec, n_blocks: int, branch_zero: bool
) -> str | None:
    """None if ``spec`` suits the (square) first kernel of a block followed by
    ``act``."""
    if spec.kind == "zeros":
        return (
            f"{spec.label} for the {act} layers: with a zero kernel every "
            "unit of the layer computes the same thing and receives the "
            "same gradient, so the units never become different"
        )
    if spec.kind == "fixed":
        return (
            f"{spec.label} for the {act} layers has a fixed scale: the "
            "variance of a unit's input is fan_in × Var(w) × E[x²], so a "
            "scale that ignores the fan-in cannot keep it at 1 for every "
            "width"
        )
    s = spec.scale
    ok = _HIDDEN_SCALES[act]
    if any(_close(s, v) for v in ok):
        return None
    if branch_zero and any(_close(s, v / n_blocks) for v in ok):
        # Fixup: the branch's first kernel scaled by L^(-1/2), i.e. the variance by 1/L
        return None
    fixup = (
        " (Fixup's 1/L variance scaling of a branch's first kernel is "
        "accepted only together with a zero last kernel of the branch, as "
        "chapter 6 teaches)"
        if any(_close(s, v / n_blocks) for v in ok)
        else ""
    )
    if act == "relu":
        if _close(s, 1.0):
            return (
                f"{spec.label} for the relu layers has variance scale 1: "
                "ReLU sets about half of its inputs to 0, so the second "
                "moment of the signal halves at every such layer and "
                "nothing in the kernel makes up for it"
            )
        return (
            f"{spec.label} for the relu layers has variance scale {_g(s)}: "
            "the second moment after a ReLU layer is scale/2 times the one "
            f"before, so it changes by a factor {_g(s / 2)} per layer "
            f"instead of staying the same{fixup}"
        )
    if act == "tanh":
        if _close(s, 2.0):
            return (
                f"{spec.label} for the tanh layers has variance scale 2: "
                "tanh has slope 1 at 0 and keeps both signs, so a factor 2 "
                "is not compensated by anything; it doubles the "
                "pre-activation variance and pushes units into "
                f"saturation{fixup}"
            )
        return (
            f"{spec.label} for the tanh layers has variance scale {_g(s)}: "
            "near 0 tanh passes the signal with slope 1, so the "
            f"pre-activation variance is scale × E[x²], not 1{fixup}"
        )
    # selu
    if _close(s, 2.0):
        return (
            f"{spec.label} for the selu layers has variance scale 2: SELU's "
            "constants λ and α make mean 0 and variance 1 a fixed point "
            "when Σw = 0 and Σw² = 1 (Klambauer et al.); a variance of "
            f"2/fan_in doubles Σw²{fixup}"
        )
    return (
        f"{spec.label} for the selu layers has variance scale {_g(s)}: "
        "SELU's fixed point (mean 0, variance 1) needs Σw² = fan_in × "
        f"Var(w) = 1 (Klambauer et al.){fixup}"
    )


def _judge_residual(spec: _InitSpec, n_blocks: int) -> str | None:
    limit = 1.0 / n_blocks
    if spec.kind == "zeros":
        return None
    if spec.kind == "fixed":
        return (
            f"{spec.label} for residual_out has a fixed scale: it ignores "
            "both the fan-in and the number of blocks whose outputs add up "
            "in the residual stream"
        )
    if spec.scale <= limit * (1.0 + 1e-9):
        return None
    return (
        f"{spec.label} for residual_out with L = {n_blocks} blocks: each "
        f"branch adds about {_g(spec.scale)}× the stream's variance to the "
        "stream, so after L blocks the variance is about (1 + "
        f"{_g(spec.scale)})^L = {_g((1 + spec.scale) ** n_blocks)} times the "
        "embedding's; the branches' total contribution has to stay bounded "
        "as L grows"
    )


def _judge_embed(spec: _InitSpec) -> str | None:
    if spec.kind == "zeros":
        return (
            "'zeros' for embed: a zero input projection sends 0 into every "
            "block, whatever the input"
        )
    if spec.kind == "fixed":
        return (
            f"{spec.label} for embed has a fixed scale that ignores the fan-in "
            "of 64 pixels"
        )
    if _close(spec.scale, 1.0):
        return None
    return (
        f"{spec.label} for embed has variance scale {_g(spec.scale)}: the "
        "projection is linear and its input is standardized, so the stream "
        f"starts with variance {_g(spec.scale)} instead of 1"
    )


def _judge_head(spec: _InitSpec) -> str | None:
    if spec.kind == "zeros":
        return None
    if spec.kind == "fixed":
        return f"{spec.label} for head has a fixed scale that ignores the fan-in"
    if spec.scale <= 1.0 * 1.05:
        return None
    return (
        f"{spec.label} for head has variance scale {_g(spec.scale)}: the "
        "head outputs logits (no activation follows), so a factor above 1 "
        "only makes the first predictions more confident and the first "
        "losses larger"
    )


@dataclass
class ChoiceVerdict:
    """The judgement of task (a).

    Attributes
    ----------
    roles_ok : dict
        Role → ``True`` if the answer is right for that role in every judged network.
    problems : dict
        Role → why it is wrong (the first network where it is).
    fraction : float
        The share of :data:`ROLE_POINTS` earned.
    effective : dict
        Role → the Keras config (:func:`canonical_initializer`) that tasks (b) and (c)
        build the network with: the student's for the roles that are right, the model
        answer's for the others.
    error : str
        Why nothing could be judged (the function raised or returned no dict), else
        ``""``.
    notes : list of str
        Remarks that cost no points (e.g. unknown keys).
    """

    roles_ok: dict = field(default_factory=dict)
    problems: dict = field(default_factory=dict)
    fraction: float = 0.0
    effective: dict = field(default_factory=dict)
    error: str = ""
    notes: list = field(default_factory=list)

    @property
    def points(self) -> float:
        """Points of (a) earned (out of 4)."""
        return round(4.0 * self.fraction, 2)


def _call_name(acts: Sequence[str]) -> str:
    return (
        f"choose_initializers({list(acts)!r})"
        if len(acts) <= 4
        else f"choose_initializers([{acts[0]!r}] * {len(acts)})"
    )


def judge_initializer_choice(answers: Mapping[tuple, Any]) -> ChoiceVerdict:
    """Judge the dicts ``choose_initializers`` returned, one per network of
    :data:`JUDGED_NETWORKS`.

    ``answers`` maps each tuple of block activations to what the function returned for
    it (or to an exception it raised). Every role is judged in every network where it
    occurs; a role earns its :data:`ROLE_POINTS` only if it is right in all of them.
    """
    verdict = ChoiceVerdict()
    roles = list(ROLE_POINTS)
    main = JUDGED_NETWORKS[0]
    first = answers.get(main)
    if isinstance(first, BaseException) or not isinstance(first, Mapping):
        verdict.error = _returned_problem(main, first)
        verdict.roles_ok = {r: False for r in roles}
        verdict.effective = {
            r: canonical_initializer(MODEL_ANSWER_INITIALIZERS[r]) for r in roles
        }
        return verdict
    for acts in JUDGED_NETWORKS:
        out = answers.get(acts)
        call = _call_name(acts)
        present = [a for a in CAPSTONE_ACTIVATIONS if a in acts] + list(CAPSTONE_ROLES)
        if isinstance(out, BaseException) or not isinstance(out, Mapping):
            for role in present:
                verdict.problems.setdefault(role, _returned_problem(acts, out))
            continue
        unknown = [
            k for k in out if k not in CAPSTONE_ROLES and k not in CAPSTONE_ACTIVATIONS
        ]
        if unknown and acts == main:
            verdict.notes.append(
                f"{call} has unknown key(s) {', '.join(map(repr, unknown))} "
                "that the network builder ignores (a typo?)"
            )
        residual = (
            _describe_initializer(out["residual_out"])
            if "residual_out" in out
            else None
        )
        branch_zero = residual is not None and residual.kind == "zeros"
        for role in present:
            if role in verdict.problems:
                continue
            where = "" if acts == main else f" (in {call})"
            if role not in out:
                verdict.problems[role] = (
                    f"{call} has no initializer for {role!r}, so the builder "
                    "falls back on the Keras default there"
                )
                continue
            spec = _describe_initializer(out[role])
            if spec is None:
                verdict.problems[role] = (
                    f"{role}: cannot interpret {_short(out[role])}; it is "
                    "neither a Keras initializer name nor an initializer "
                    "object"
                )
                continue
            if role in CAPSTONE_ACTIVATIONS:
                problem = _judge_hidden(role, spec, len(acts), branch_zero)
            elif role == "residual_out":
                problem = _judge_residual(spec, len(acts))
            elif role == "embed":
                problem = _judge_embed(spec)
            else:
                problem = _judge_head(spec)
            if problem is not None:
                verdict.problems[role] = problem + where
    verdict.roles_ok = {r: r not in verdict.problems for r in roles}
    # Fixup-scaled hidden kernels are right only with a zero residual_out; if
    # residual_out is replaced by the model answer's (zeros), they stay consistent;
    # nothing else to undo.
    verdict.fraction = sum(ROLE_POINTS[r] for r in roles if verdict.roles_ok[r]) / sum(
        ROLE_POINTS.values()
    )
    for role in roles:
        value = first.get(role) if verdict.roles_ok[role] else None
        config = canonical_initializer(value) if value is not None else None
        verdict.effective[role] = config or canonical_initializer(
            MODEL_ANSWER_INITIALIZERS[role]
        )
    return verdict


def _returned_problem(acts: Sequence[str], out: Any) -> str:
    call = _call_name(acts)
    if isinstance(out, NotImplementedError):
        return f"{call} is not implemented yet (it raises NotImplementedError)"
    if isinstance(out, BaseException):
        return f"{call} raised {type(out).__name__}: {out}"
    if out is None:
        return f"{call} returned None: the `return` statement is missing"
    return f"{call} returned a {type(out).__name__}, not a dict {{role: initializer}}"


def grade_initializer_choice(
    fn: Callable[[Sequence[str]], dict[str, Any]],
) -> CheckResult:
    """Check ``fn(block_activations) -> {role: initializer}`` for the capstone's
    residual MLP.

    The network (chapter 12): a linear input projection ``embed``; ``L =
    len(block_activations)`` residual blocks :math:`h \\leftarrow h + \\phi(h W_1) W_2`
    with :math:`\\phi` from :data:`CAPSTONE_ACTIVATIONS`; a linear classifier ``head``.
    All hidden layers are square (64 × 64), so ``fan_in = fan_out = fan_avg`` there and
    only the variance factor matters.

    Each role is right when (scale = the variance factor, an orthogonal gain ``g``
    counting as scale ``g²``):

    * ``"relu"``: scale 2 :cite:`he2015delving`;
    * ``"tanh"``: scale 1, or PyTorch's gain 5/3 (scale 25/9)
    :cite:`glorot2010understanding`;
    * ``"selu"``: scale 1, any distribution or orthogonal: the fixed point needs
      :math:`\\sum w = 0`, :math:`\\sum w^2 = 1` :cite:`klambauer2017self`;
    * the three hidden roles also accept scale/L (Fixup's :math:`L^{-1/2}` on the first
    kernel
      of a two-layer branch) when ``residual_out`` is zero :cite:`zhang2019fixup`;
    * ``"residual_out"``: zeros, or a variance scale at most :math:`1/L`;
    * ``"embed"``: scale 1 (any distribution, or orthogonal);
    * ``"head"``: scale at most 1, or zeros.

    The function is called for the assignment's 12 blocks, for ``["selu"] * 48`` and for
    ``["relu", "tanh"]``; a role is right only if it is right for all three. The points
    are :data:`ROLE_POINTS`, role by role, independent of the order. A wrong answer
    raises :class:`ExerciseError` listing every wrong role, with the share earned as
    ``fraction``.
    """
    if not callable(fn):
        raise TypeError(
            f"fn: expected your function (a callable), got {type(fn).__name__} {fn!r}"
        )
    answers: dict[tuple, Any] = {}
    for acts in JUDGED_NETWORKS:
        try:
            answers[acts] = fn(list(acts))
        except ExerciseError:
            raise
        except Exception as exc:  # noqa: BLE001 - the student's code crashed: judged as such
            answers[acts] = exc
    verdict = judge_initializer_choice(answers)
    return _choice_result(verdict)


def _choice_result(verdict: ChoiceVerdict) -> CheckResult:
    name = "choose_initializers"
    passed = tuple(r for r, ok in verdict.roles_ok.items() if ok)
    if verdict.error:
        raise ExerciseError(
            f"{name}: {verdict.error}",
            exercise=name,
            check="returns a dict",
            total=len(ROLE_POINTS),
            fraction=0.0,
        )
    if verdict.problems:
        lines = [
            f"{name}: {len(verdict.problems)} of {len(ROLE_POINTS)} roles "
            f"are not right ({verdict.points:.2f} of 4 points):"
        ]
        lines += [
            f"  - {verdict.problems[r]}" for r in ROLE_POINTS if r in verdict.problems
        ]
        lines += [f"  note: {n}" for n in verdict.notes]
        raise ExerciseError(
            "\n".join(lines),
            exercise=name,
            check=next(iter(verdict.problems)),
            passed=passed,
            total=len(ROLE_POINTS),
            fraction=verdict.fraction,
        )
    line = f"{name}: every role right for 12, 48 and 2 blocks (4.00 of 4 points)"
    if verdict.notes:
        line += "; note: " + "; ".join(verdict.notes)
    print(success_line(line))
    return CheckResult(name, passed, 4.0, 4.0, line)


# --------------------------------------------------------------------------------------
# Models, duck-typed
# --------------------------------------------------------------------------------------
def _layer_activation(layer: Any) -> str | None:
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
    """Names of the hidden layers of a (duck-typed) Keras model: layers with a kernel
    and a nonlinear activation.

    Linear layers (an input projection, the last kernel of a residual branch, the
    classifier head) are not hidden layers in this sense. Nested models are opened.
    """
    return [
        layer.name
        for layer in _leaves(model)
        if _has_kernel(layer) and _layer_activation(layer) not in (None, "linear")
    ]


# --------------------------------------------------------------------------------------
# (b) the report, compared with a measurement
# --------------------------------------------------------------------------------------
def _report_score(
    report: Any, truth: Mapping[str, float], rtol: float, atol: float
) -> tuple[float, list[str]]:
    """Share of the hidden layers reported right (an extra entry counts half a wrong
    one)."""
    if not isinstance(report, Mapping):
        return 0.0, [
            f"returned a {type(report).__name__}, not a dict {{layer name: std}}"
        ]
    hidden = list(truth)
    extra = [k for k in report if k not in truth]
    missing = [k for k in hidden if k not in report]
    wrong: list[tuple[str, Any, float]] = []
    right = 0
    for name in hidden:
        if name not in report:
            continue
        try:
            v = float(report[name])
        except (TypeError, ValueError):
            wrong.append((name, report[name], truth[name]))
            continue
        t = float(truth[name])
        if math.isfinite(v) and abs(v - t) <= rtol * abs(t) + atol:
            right += 1
        else:
            wrong.append((name, v, t))
    problems = []
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        problems.append(f"no entry for {', '.join(map(repr, missing[:3]))}{more}")
    if extra:
        more = f" and {len(extra) - 3} more" if len(extra) > 3 else ""
        problems.append(
            f"{', '.join(map(repr, extra[:3]))}{more} are not hidden layers "
            "(a hidden layer has a kernel and a nonlinear activation; "
            "linear layers and unknown names do not count)"
        )
    if wrong:
        name, v, t = wrong[0]
        shown = _g(v) if isinstance(v, float) else repr(v)
        more = f" (and {len(wrong) - 1} more layers)" if len(wrong) > 1 else ""
        problems.append(
            f"{name}: you report {shown}, the std of its output measured on "
            f"this batch is {_g(t)}{more}"
        )
    score = right / (len(hidden) + 0.5 * len(extra)) if hidden else 0.0
    return score, problems


def grade_layer_report(
    fn: Callable[[Any, np.ndarray], Any],
    model: Any,
    batches: Mapping[str, np.ndarray],
    truth: Callable[[Any, np.ndarray], Mapping[str, float]],
    *,
    rtol: float = 2e-3,
    atol: float = 1e-5,
) -> CheckResult:
    """Check ``fn(model, x) -> {hidden layer name: std of its output on x}`` against a
    measurement.

    ``truth(model, x)`` is the caller's own measurement (the grader's code, not the
    student's): the standard deviation of every hidden layer's output (a layer with a
    kernel and a nonlinear activation, :func:`capstone_hidden_layers`) on the batch
    ``x``, as :func:`initcourse.diagnostics.layer_stats` reports ``out_std``.
    ``batches`` names the batches to compare on (the probe batch, another batch, an
    all-zero batch, where every activation is exactly 0). On each batch the score is the
    share of hidden layers whose reported value matches within ``rtol · |truth| +
    atol``, an entry for a layer that is not hidden counting as half a wrong one; the
    points are the mean score over the batches.
    """
    if not callable(fn):
        raise TypeError(
            f"fn: expected your function (a callable), got {type(fn).__name__} {fn!r}"
        )
    if not batches:
        raise ValueError("batches: expected at least one batch, got none")
    name = "init_report"
    scores, messages = [], []
    for label, x in batches.items():
        want = dict(truth(model, x))
        try:
            report = fn(model, x)
        except ExerciseError:
            raise
        except NotImplementedError:
            raise ExerciseError(
                f"{name}: not implemented yet (it raises NotImplementedError)",
                exercise=name,
                check="called",
                total=len(batches),
                fraction=0.0,
            ) from None
        except Exception as exc:  # noqa: BLE001
            scores.append(0.0)
            messages.append(
                f"on {label}: init_report(model, x) raised {type(exc).__name__}: {exc}"
            )
            continue
        score, problems = _report_score(report, want, rtol, atol)
        scores.append(score)
        if problems:
            messages.append(f"on {label}: " + "; ".join(problems))
    fraction = float(np.mean(scores))
    if messages:
        raise ExerciseError(
            f"{name}: {fraction * 3:.2f} of 3 points:\n"
            + "\n".join(f"  - {m}" for m in messages),
            exercise=name,
            check="values",
            total=len(batches),
            fraction=fraction,
        )
    line = (
        f"{name}: every hidden layer's std matches the measurement on "
        f"{', '.join(batches)} (3.00 of 3 points)"
    )
    print(success_line(line))
    return CheckResult(name, tuple(batches), 3.0, 3.0, line)


# --------------------------------------------------------------------------------------
# (c) a training run, judged from recomputed numbers
# --------------------------------------------------------------------------------------
@dataclass
class TrainingFacts:
    """What the grader measured about one call of ``train_capstone`` (nothing read from
    the student).

    Attributes
    ----------
    error : str
        Why the call failed ("" if it returned).
    steps : int
        Optimizer steps taken during the call (counted from the optimizers' iteration
        counters).
    weights_changed : bool
        Whether the model's weights differ from the initial ones after the call.
    accuracy : float
        Test accuracy of the weights the call left in the model, computed by the grader.
    history_accuracy : float or None
        The last ``test_accuracy`` of the returned history (``None`` if it has none).
    compared : dict or None
        ``{"optimizer", "batch_size", "grid", "seeds", "chosen", "default"}``: the best
        median test accuracy over the learning-rate grid, for the initialization used
        and for the Keras default, trained by the grader with the student's optimizer
        and batch size.
    config : dict
        The keyword arguments of the student's ``initcourse.training.train`` call, if
        any.
    """

    error: str = ""
    steps: int = 0
    weights_changed: bool = False
    accuracy: float = float("nan")
    history_accuracy: float | None = None
    compared: dict | None = None
    config: dict = field(default_factory=dict)


def grade_training_facts(
    facts: TrainingFacts,
    *,
    budget: int,
    threshold: float,
    tolerance: float = 0.02,
    compare: bool = True,
) -> CheckResult:
    """Grade task (c) from recomputed facts: three parts of one point each.

    1. **trains within the budget**: the model's weights changed, at most ``budget``
       optimizer steps were taken, and the returned history's final test accuracy is the
       one the grader measures on the trained weights (within 0.005): the function
       returns what it trained;
    2. **reaches the threshold**: the grader's test accuracy of the trained weights is
       at least ``threshold``;
    3. **fair to the default**: trained by the grader with the same optimizer and batch
       size, the initialization used reaches, at its best learning rate of a small grid
       (median over seeds), at least the default's best minus ``tolerance`` (only for a
       call that trained).

    With ``compare=False`` (the notebook's quick self-check) part 3 is skipped and the
    result says so; the points are then out of 2.
    """
    name = "train_capstone"
    parts = 3 if compare else 2
    if facts.error:
        raise ExerciseError(
            f"{name}: {facts.error}",
            exercise=name,
            check="called",
            total=3,
            fraction=0.0,
        )
    earned, problems, good = 0.0, [], []
    # 1. budget and honesty
    part1 = []
    if not facts.weights_changed:
        part1.append(
            "the model's weights did not change: the function did not train "
            "the model it was given"
        )
    if facts.steps > budget:
        part1.append(f"it took {facts.steps} optimizer steps; the budget is {budget}")
    if facts.history_accuracy is None:
        part1.append(
            "the returned value has no test_accuracy history (the History of "
            "the training is expected)"
        )
    elif (
        math.isfinite(facts.accuracy)
        and not abs(facts.history_accuracy - facts.accuracy) <= 0.005
    ):
        part1.append(
            "the returned history ends at test accuracy "
            f"{facts.history_accuracy:.3f}, but the trained weights reach "
            f"{facts.accuracy:.3f}: the history does not describe this "
            "training"
        )
    if part1:
        problems += part1
    else:
        earned += 1
        good.append(f"{facts.steps} steps")
    # 2. threshold (only for a real training)
    if not facts.weights_changed:
        problems.append("no training, so no accuracy to compare with the threshold")
    elif not facts.accuracy >= threshold:
        acc = (
            "NaN (the run diverged)"
            if math.isnan(facts.accuracy)
            else f"{facts.accuracy:.3f}"
        )
        problems.append(
            f"test accuracy of the trained weights {acc} is below the "
            f"threshold {threshold:.2f}"
        )
    else:
        earned += 1
        good.append(f"test accuracy {facts.accuracy:.3f} ≥ {threshold:.2f}")
    # 3. fair comparison
    c = facts.compared
    if not compare:
        good.append(
            "the comparison with the default (part 3) is run by the grader, not here"
        )
    elif not facts.weights_changed:
        problems.append("no training, so nothing to compare with the default")
    elif c is None:
        problems.append("the comparison with the default could not be run")
    else:
        line = (
            f"with {c['optimizer']}, batch size {c['batch_size']}, the best "
            f"learning rate of {c['grid']} for each and the median of "
            f"{len(c['seeds'])} seeds, the initialization used reaches "
            f"{c['chosen']:.3f} and the default {c['default']:.3f}"
        )
        if c["chosen"] >= c["default"] - tolerance:
            earned += 1
            good.append(line)
        else:
            problems.append(line + f" (more than {tolerance:.2f} below)")
    if problems:
        raise ExerciseError(
            f"{name}: {earned * 3 / parts:.2f} of 3 points:\n"
            + "\n".join(f"  - {p}" for p in problems)
            + ("\n  right: " + "; ".join(good) if good else ""),
            exercise=name,
            check="parts",
            total=parts,
            fraction=earned / parts,
        )
    line = (
        f"{name}: " + "; ".join(good) + f" ({3:.2f} of 3 points)"
        if compare
        else f"{name}: " + "; ".join(good)
    )
    print(success_line(line))
    return CheckResult(
        name, ("budget", "threshold", "baseline")[:parts], 3.0, 3.0, line
    )


def grade_training_run(
    facts: TrainingFacts, *, budget: int, threshold: float, tolerance: float = 0.02
) -> CheckResult:
    """Alias of :func:`grade_training_facts` (the name the course used before the batch
    grader)."""
    return grade_training_facts(
        facts, budget=budget, threshold=threshold, tolerance=tolerance
    )
