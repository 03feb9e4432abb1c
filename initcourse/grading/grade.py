"""Grade submitted notebooks outside the student's kernel: one row and one feedback file
each.

For every submission :func:`grade_submission`

1. reads the notebook (a file that is not a notebook gets a row with status
   ``unreadable``);
2. recognises its chapter from its cells
   (:func:`initcourse.grading.manifest.identify_chapter`);
3. extracts the student's code: every code cell that is not one of the chapter's given
   cells, reduced to its top-level definitions (imports, ``def``, ``class``,
   assignments); calls, plots and loops at top level are left out, each statement runs
   on its own, and a cell that does not parse is reported and skipped, so one broken
   cell costs only the exercises it defines;
4. runs that code in a fresh Python process
   (:class:`~initcourse.grading.sandbox.Sandbox`), after the chapter's imports, with a
   time limit for all the student's code together;
5. calls each exercise's checker *here*, in the grader's process, on a proxy that calls
   the student's function in the sandbox: nothing the submission defines (a redefined
   ``grade`` or ``check_he_normal``, a fake report or history) reaches the grading code,
   and every number the grade uses is recomputed from the student's functions;
6. refuses the points of an exercise whose function calls the course's own
   implementation of that very function (:func:`course_functions_for`), with a message
   saying so.

Points: a ``check_*`` exercise earns ``points × (checks passed) / (checks)``; the
capstone's tasks earn what :mod:`initcourse.exercises.capstone` computes, part by part.
(b) and (c) of the capstone use the model answer of (a) for every role the student's (a)
gets wrong.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import re
import time
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .manifest import SPECIAL_CHECKERS, cell_key, identify_chapter
from .sandbox import (
    WATCHED_MODULES,
    RemoteFunction,
    Sandbox,
    SandboxDied,
    SandboxTimeout,
)

__all__ = [
    "ItemResult",
    "SubmissionResult",
    "course_functions_for",
    "extract_code",
    "grade_batch",
    "grade_submission",
    "gradescope_results",
    "write_csv",
    "write_feedback",
]

#: Course functions that implement an exercise under another name (the same name is
#: always refused). Add a row when an exercise asks for something the course has under
#: another name.
COURSE_EQUIVALENTS = {
    "he_normal": ("variance_scaling", "get", "FromNumpy"),
    "he_uniform": ("variance_scaling", "get", "FromNumpy"),
    "glorot_normal": ("variance_scaling", "get", "FromNumpy"),
    "glorot_uniform": ("variance_scaling", "get", "FromNumpy"),
    "lecun_normal": ("variance_scaling", "get", "FromNumpy"),
    "lecun_uniform": ("variance_scaling", "get", "FromNumpy"),
    "forward_std": ("simulate",),
    "variance_recursion": ("variance_trajectory", "variance_map"),
    "lsuv_scale": ("lsuv",),
    "orthogonal": ("get", "FromNumpy"),
    "delta_orthogonal": ("DeltaOrthogonal", "get", "FromNumpy"),
    "sparse": ("Sparse", "get", "FromNumpy"),
    "wavelet_matrix": ("wavelet_analysis_matrix", "wavelet", "Wavelet"),
    "zero_hadamard": ("ZeroHadamard", "get", "FromNumpy"),
    "torch_orthogonal": ("orthogonal", "get", "FromNumpy"),
    "edge_of_chaos": ("critical_sigma_w2", "chi1"),
}


def course_functions_for(function: str) -> set[str]:
    """Qualified names of the course functions that implement the exercise
    ``function``."""
    names = {function, *COURSE_EQUIVALENTS.get(function, ())}
    return {f"{module}.{name}" for module in WATCHED_MODULES for name in names}


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------
@dataclass
class ItemResult:
    """One graded exercise of one submission."""

    column: str
    title: str
    function: str
    points: float
    max_points: float
    message: str


@dataclass
class SubmissionResult:
    """The grade of one submission: its CSV row and its feedback."""

    submission: str
    chapter: str = ""
    title: str = ""
    items: list = field(default_factory=list)
    status: str = "graded"
    notes: list = field(default_factory=list)
    written: list = field(default_factory=list)
    seconds: float = 0.0
    student_seconds: float = 0.0

    @property
    def total(self) -> float:
        return round(sum(i.points for i in self.items), 2)

    @property
    def max(self) -> float:
        return round(sum(i.max_points for i in self.items), 2)


# --------------------------------------------------------------------------------------
# Extracting the student's code
# --------------------------------------------------------------------------------------
_KEEP = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
)


def _ipython_to_python(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return "\n".join(
            line
            for line in source.splitlines()
            if not line.lstrip().startswith(("%", "!"))
        )
    return TransformerManager().transform_cell(source)


def _keepable(stmt: ast.stmt) -> bool:
    if isinstance(stmt, _KEEP):
        return True
    if isinstance(stmt, (ast.If, ast.Try)):
        bodies = [stmt.body, stmt.orelse] + (
            [h.body for h in stmt.handlers] + [stmt.finalbody]
            if isinstance(stmt, ast.Try)
            else []
        )
        return all(_keepable(s) for body in bodies for s in body)
    return False


def extract_code(nb: Any, entry: dict) -> tuple[list[tuple[int, str]], list[dict]]:
    """The student's code of a submission: ``([(cell index, statement source)], [syntax
    errors])``.

    Given cells (their fingerprint is in the chapter's manifest) are skipped. Of the
    other code cells only the top-level definitions are kept, one statement per entry:
    imports, functions and classes always; assignments only in a cell that also defines
    a function or a class (a constant next to the function that uses it), or in a cell
    tagged ``stub`` or ``answer``. A cell of assignments and calls alone is
    demonstration code (possibly a given cell from an older version of the chapter) and
    is not run.
    """
    given = set(entry["course_cells"])
    chunks: list[tuple[int, str]] = []
    errors: list[dict] = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if not source.strip() or cell_key(source) in given:
            continue
        text = _ipython_to_python(source)
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            names = re.findall(r"^\s*def\s+(\w+)", source, flags=re.M)
            errors.append(
                {
                    "cell": index,
                    "message": f"SyntaxError: {exc.msg} (line {exc.lineno})",
                    "defines": names,
                }
            )
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        defines = any(
            isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            for s in tree.body
        )
        for stmt in tree.body:
            if not _keepable(stmt):
                continue
            if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.If, ast.Try)) and not (
                defines or tags & {"stub", "answer"}
            ):
                continue
            chunks.append(
                (index, ast.get_source_segment(text, stmt) or ast.unparse(stmt))
            )
    return chunks, errors


def _prelude_source(entry: dict, chunks: list[tuple[int, str]]) -> str:
    """The chapter's imports that the student's code uses (a solution may use ``np``
    from the chapter's import cell); the others are left out, since some of them import
    TensorFlow."""
    code = "\n".join(src for _, src in chunks)
    used = set(re.findall(r"[A-Za-z_]\w*", code))
    lines = ["import os", 'os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")']
    for item in entry["prelude"]:
        if not set(item["binds"]) & used:
            continue
        if (
            "initcourse.exercises" in item["source"]
            or "initcourse.grading" in item["source"]
        ):
            continue  # the checkers are the grader's business
        lines.append(item["source"])
    lines.append("SEED = 0")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Grading one submission
# --------------------------------------------------------------------------------------
class _Runner:
    """The sandbox of one submission, restarted (and re-loaded) after a time-out or a
    crash.

    Running the definitions and each exercise get ``timeout`` seconds each: a slow
    function costs the points of its own exercise only.
    """

    def __init__(
        self, prelude: str, chunks: list, timeout: float, python: str | None
    ) -> None:
        self.prelude, self.chunks, self.python = prelude, chunks, python
        self.timeout = float(timeout)
        self.sandbox: Sandbox | None = None
        self.load_errors: list = []
        self.defined: set = set()
        self.loads = 0
        self.last_problem = ""
        self.failed_load = False
        self.student_seconds = 0.0
        self.timeouts: list = []
        self.syntax: list = []

    def missing(self, name: str) -> str:
        """The message for an exercise whose function the submission does not define."""
        for err in self.syntax:
            if name in err["defines"]:
                return (
                    f"✗ the cell that defines {name} (cell {err['cell']}) does "
                    f"not parse: {err['message']}; nothing to grade"
                )
        if self.failed_load:
            return f"✗ not graded: {self.last_problem}"
        return f"✗ your notebook defines no function {name}: nothing to grade"

    def ensure(self) -> Sandbox | None:
        if self.sandbox is not None and self.sandbox.proc.poll() is None:
            return self.sandbox
        if self.sandbox is not None:
            self.student_seconds += self.sandbox.used_seconds
            self.sandbox.close()
            self.sandbox = None
        if self.failed_load:
            return None
        self.sandbox = Sandbox(self.python)
        try:
            answer = self.sandbox.load(self.prelude, self.chunks, self.timeout)
        except SandboxTimeout:
            self.last_problem = (
                f"time limit ({self.timeout:g} s) reached while running your "
                "notebook's definitions"
            )
            self.timeouts.append("definitions")
            self.failed_load = True
            return None
        except (SandboxDied, Exception) as exc:  # noqa: BLE001 - the process died
            self.last_problem = (
                "the Python process running your code stopped while running "
                f"your definitions ({exc})"
            )
            self.failed_load = True
            self.sandbox.close()
            self.sandbox = None
            return None
        self.loads += 1
        if self.loads == 1:
            self.load_errors = list(answer["errors"])
            self.defined = set(answer["defined"])
        return self.sandbox

    def function(self, name: str) -> RemoteFunction | None:
        box = self.ensure()
        if box is None:
            return None
        return RemoteFunction(box, name, self.timeout)

    def close(self) -> None:
        if self.sandbox is not None:
            self.student_seconds += self.sandbox.used_seconds
            self.sandbox.close()


def _run_checker(checker: Any, fn: Any) -> tuple[float, str]:
    """``(share of the points, message)`` of one checker run on the proxy ``fn``."""
    from initcourse.exercises import ExerciseError

    buf = io.StringIO()
    try:
        with redirect_stdout(buf):
            result = checker(fn)
    except ExerciseError as exc:
        return exc.earned, f"✗ {exc}"
    except SandboxTimeout:
        return (
            0.0,
            "✗ time limit: your function did not return in time (the grader "
            "stopped it)",
        )
    except SandboxDied as exc:
        return 0.0, f"✗ {exc}"
    return 1.0, f"✓ {result.message}"


def _item_standard(runner: _Runner, ex: dict, item: ItemResult) -> None:
    from initcourse.exercises import CHECKERS

    name = ex["checker"][len("check_") :]
    checker = CHECKERS.get(name)
    if checker is None:
        item.message = (
            f"✗ the grader has no checker {ex['checker']} (a course problem: "
            "tell your instructor)"
        )
        return
    if ex["function"] not in runner.defined:
        item.message = runner.missing(ex["function"])
        return
    fn = runner.function(ex["function"])
    if fn is None:
        item.message = f"✗ not graded: {runner.last_problem}"
        return
    share, message = _run_checker(checker, fn)
    if message.startswith("✗ time limit"):
        runner.timeouts.append(ex["function"])
    used = sorted(fn.course_calls & course_functions_for(ex["function"]))
    if used:
        share = 0.0
        message = (
            f"✗ {ex['function']} calls {', '.join(used)}, the course's own "
            "implementation of the function this exercise asks you to "
            "write: no points (the checker said: "
            f"{message[2:].splitlines()[0]})"
        )
    item.points = round(item.max_points * share, 2)
    item.message = message


def _grade_capstone(runner: _Runner, entry: dict, items: dict) -> None:
    """Grade the capstone's three tasks; ``items`` maps checker names to their
    ItemResult."""
    from initcourse.exercises.capstone import (
        JUDGED_NETWORKS,
        _choice_result,
        grade_layer_report,
        grade_training_facts,
        judge_initializer_choice,
    )
    from initcourse.grading import capstone as cap

    def remote_answers(name: str) -> dict:
        answers: dict = {}
        fn = runner.function(name) if name in runner.defined else None
        for acts in JUDGED_NETWORKS:
            if fn is None:
                answers[acts] = NameError(runner.missing(name)[2:])
                continue
            try:
                answers[acts] = fn(list(acts))
            except SandboxTimeout:
                answers[acts] = TimeoutError(
                    "time limit: it did not return in time (the grader stopped it)"
                )
                runner.timeouts.append(name)
                fn = runner.function(name)
            except SandboxDied as exc:
                answers[acts] = RuntimeError(str(exc))
                fn = runner.function(name)
            except Exception as exc:  # noqa: BLE001
                answers[acts] = exc
        return answers

    verdict = judge_initializer_choice(remote_answers("choose_initializers"))
    note = ""
    wrong = [r for r, ok in verdict.roles_ok.items() if not ok]
    if wrong:
        note = (
            "\n  note: (b) and (c) used the model answer of (a) for "
            f"{', '.join(map(repr, wrong))}"
        )
    if "check_choose_initializers" in items:
        item = items["check_choose_initializers"]
        share, message = _run_checker(lambda _fn: _choice_result(verdict), None)
        item.points, item.message = round(item.max_points * share, 2), message
    effective = verdict.effective
    model = cap.build_capstone(cap._effective_for(effective))
    weights = [w for w in model.get_weights()]

    if "check_init_report" in items:
        item = items["check_init_report"]
        if "init_report" not in runner.defined:
            item.message = runner.missing("init_report")
        else:

            def report(_model: Any, x: Any) -> Any:
                box = runner.ensure()
                if box is None:
                    raise RuntimeError(runner.last_problem)
                value, _ = box.call(
                    "init_report",
                    (),
                    {},
                    runner.timeout,
                    op="capstone",
                    task="report",
                    effective=effective,
                    weights=weights,
                    x=x,
                )
                return value

            share, message = _run_checker(
                lambda fn: grade_layer_report(
                    fn, model, cap.report_batches(), cap.hidden_stds
                ),
                report,
            )
            item.points, item.message = (
                round(item.max_points * share, 2),
                message + (note if share < 1 else ""),
            )

    if "check_train_capstone" in items:
        item = items["check_train_capstone"]
        if "train_capstone" not in runner.defined:
            item.message = runner.missing("train_capstone")
        else:
            box = runner.ensure()
            result: Any
            if box is None:
                result = RuntimeError(runner.last_problem)
            else:
                try:
                    result, _ = box.call(
                        "train_capstone",
                        (),
                        {},
                        runner.timeout,
                        op="capstone",
                        task="train",
                        effective=effective,
                        weights=weights,
                        steps=cap.BUDGET,
                    )
                except SandboxTimeout:
                    result = TimeoutError(
                        "time limit: it did not return in time (the grader stopped it)"
                    )
                    runner.timeouts.append("train_capstone")
                except SandboxDied as exc:
                    result = RuntimeError(str(exc))
                except Exception as exc:  # noqa: BLE001
                    result = exc
            facts = cap.training_facts(
                result, effective, compare=not isinstance(result, BaseException)
            )
            share, message = _run_checker(
                lambda _fn: grade_training_facts(
                    facts, budget=cap.BUDGET, threshold=cap.THRESHOLD
                ),
                None,
            )
            item.points, item.message = (
                round(item.max_points * share, 2),
                message + (note if share < 1 else ""),
            )


def _exercise_cells(nb: Any, entry: dict) -> set:
    """Indices of the code cells that define an exercise's function (where an error
    matters)."""
    names = {ex["function"] for ex in entry["exercises"]}
    out = set()
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "code" and any(
            re.search(rf"^\s*def\s+{n}\b", cell.get("source", ""), flags=re.M)
            for n in names
        ):
            out.add(index)
    return out


def grade_submission(
    path: str | Path,
    manifest: dict,
    *,
    timeout: float = 120.0,
    expect: str | None = None,
    python: str | None = None,
    name: str | None = None,
) -> SubmissionResult:
    """Grade one submitted notebook; never raises for a problem of the submission."""
    import nbformat

    start = time.monotonic()
    path = Path(path)
    result = SubmissionResult(submission=name or path.name)
    try:
        nb = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - not JSON, not a notebook, not UTF-8
        result.status = "unreadable"
        result.notes.append(
            "the file is not a readable Jupyter notebook "
            f"({type(exc).__name__}: {str(exc)[:200]})"
        )
        if expect and expect in manifest["chapters"]:
            _zero_items(result, manifest["chapters"][expect])
        result.seconds = time.monotonic() - start
        return result
    stem, how = identify_chapter(nb, manifest)
    if expect and stem != expect:
        result.chapter = stem or ""
        result.status = "wrong-chapter" if stem else "unknown-chapter"
        what = f"chapter {stem}" if stem else "no chapter of the course"
        result.notes.append(
            f"this notebook is {what} ({how}); the assignment is {expect}"
        )
        _zero_items(result, manifest["chapters"][expect])
        result.seconds = time.monotonic() - start
        return result
    if stem is None:
        result.status = "unknown-chapter"
        result.notes.append(f"the chapter could not be recognised: {how}")
        result.seconds = time.monotonic() - start
        return result
    entry = manifest["chapters"][stem]
    result.chapter, result.title = stem, entry["title"]
    result.notes.append(f"chapter recognised from {how}")
    result.written = [f"{w['title']} ({w['label']})" for w in entry["written"]]
    if not entry["exercises"]:
        result.notes.append("this chapter has no automatically graded exercise")
        result.seconds = time.monotonic() - start
        return result
    chunks, syntax = extract_code(nb, entry)
    for err in syntax:
        defines = (
            f" (it defines {', '.join(err['defines'])}, which therefore "
            "cannot be graded)"
            if err["defines"]
            else ""
        )
        result.notes.append(
            f"cell {err['cell']} does not parse: {err['message']}{defines}"
        )
    runner = _Runner(_prelude_source(entry, chunks), chunks, timeout, python)
    runner.syntax = syntax
    items: dict[str, ItemResult] = {}
    serious_errors: list = []
    try:
        runner.ensure()
        exercise_cells = _exercise_cells(nb, entry)
        seen = set()
        for err in runner.load_errors:
            where = (
                "the chapter's imports" if err["cell"] == -1 else f"cell {err['cell']}"
            )
            note = (
                f"{where} raised {err['exc_type']}: "
                f"{err['message'].splitlines()[0] if err['message'] else ''}"
            )
            if note in seen:
                continue
            seen.add(note)
            if err["cell"] in exercise_cells or err["cell"] == -1:
                serious_errors.append(note)
            result.notes.append(note)
        for ex in entry["exercises"]:
            item = ItemResult(
                ex["label"], ex["title"], ex["function"], 0.0, float(ex["points"]), ""
            )
            result.items.append(item)
            items[ex["checker"]] = item
            if ex["checker"] in SPECIAL_CHECKERS:
                continue
            _item_standard(runner, ex, item)
        if any(ck in items for ck in SPECIAL_CHECKERS):
            try:
                _grade_capstone(runner, entry, items)
            except Exception as exc:  # noqa: BLE001 - a grader bug must not stop the batch
                result.status = "grader-error"
                result.notes.append(
                    f"grader error in the capstone ({type(exc).__name__}: "
                    f"{exc}); tell your instructor"
                )
        for item in result.items:
            if not item.message:
                item.message = f"✗ not graded: {runner.last_problem or 'no result'}"
    finally:
        runner.close()
    if result.status == "graded" and runner.timeouts:
        result.status = "timeout"
        result.notes.append(
            f"time limit ({timeout:g} s each) reached in: {', '.join(runner.timeouts)}"
        )
    elif result.status == "graded" and (serious_errors or syntax or runner.failed_load):
        result.status = "errors"
    if runner.last_problem:
        result.notes.append(runner.last_problem)
    result.student_seconds = runner.student_seconds
    result.seconds = time.monotonic() - start
    return result


def _zero_items(result: SubmissionResult, entry: dict) -> None:
    for ex in entry["exercises"]:
        result.items.append(
            ItemResult(
                ex["label"],
                ex["title"],
                ex["function"],
                0.0,
                float(ex["points"]),
                "✗ not graded",
            )
        )


# --------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------
def write_csv(results: list, path: str | Path, manifest: dict) -> list[str]:
    """One row per submission: submission, chapter, one column per exercise, total, max,
    status."""
    columns: list[str] = []
    for stem in sorted({r.chapter for r in results if r.chapter}):
        for ex in manifest["chapters"].get(stem, {}).get("exercises", []):
            if ex["label"] not in columns:
                columns.append(ex["label"])
    for r in results:  # chapters given by --expect for unreadable files
        for i in r.items:
            if i.column not in columns:
                columns.append(i.column)
    header = ["submission", "chapter", *columns, "total", "max", "status", "seconds"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in results:
            points = {i.column: f"{i.points:.2f}" for i in r.items}
            writer.writerow(
                [
                    r.submission,
                    r.chapter,
                    *[points.get(c, "") for c in columns],
                    f"{r.total:.2f}",
                    f"{r.max:.2f}" if r.items else "",
                    r.status,
                    f"{r.seconds:.1f}",
                ]
            )
    return header


def feedback_text(r: SubmissionResult) -> str:
    """The readable feedback of one submission."""
    lines = [f"Feedback for {r.submission}", "=" * (13 + len(r.submission)), ""]
    lines.append(
        f"Chapter: {r.chapter} ({r.title})" if r.chapter else "Chapter: not recognised"
    )
    lines.append(
        f"Automatic points: {r.total:.2f} / {r.max:.2f}"
        if r.items
        else "Automatic points: none"
    )
    lines.append(f"Status: {r.status}")
    lines.append("")
    for i in r.items:
        lines.append(
            f"{i.title} [{i.column}], function {i.function}: {i.points:.2f} "
            f"/ {i.max_points:g}"
        )
        lines += ["    " + line for line in i.message.splitlines()]
        lines.append("")
    if r.written:
        lines.append(
            "Written and exploration exercises (graded by hand if your "
            "instructor assigns them; not in the automatic points):"
        )
        lines += [f"  - {w}" for w in r.written]
        lines.append("")
    if r.notes:
        lines.append("Notes:")
        lines += [f"  - {n}" for n in r.notes]
        lines.append("")
    lines.append(
        "How this was graded: your functions were run in a separate Python "
        "process, after the chapter's imports and your definitions, and "
        "checked by the course's grader from the outside; only the top-level "
        "imports, functions, classes and assignments of your cells were run."
    )
    return "\n".join(lines) + "\n"


def write_feedback(results: list, directory: str | Path) -> list[Path]:
    """One ``<submission>.txt`` per submission in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written, used = [], set()
    for r in results:
        stem = re.sub(r"[^\w.-]+", "_", Path(r.submission).stem) or "submission"
        name, k = stem, 1
        while name in used:
            k += 1
            name = f"{stem}-{k}"
        used.add(name)
        path = directory / f"{name}.txt"
        path.write_text(feedback_text(r), encoding="utf-8")
        written.append(path)
    return written


def gradescope_results(r: SubmissionResult) -> dict:
    """Gradescope's ``results.json`` for one submission (per-test scores and
    feedback)."""
    tests = [
        {
            "name": f"{i.title} ({i.function})",
            "score": i.points,
            "max_score": i.max_points,
            "output": i.message,
            "visibility": "visible",
        }
        for i in r.items
    ]
    out = "\n".join(
        [f"Status: {r.status}"]
        + r.notes
        + ([f"Graded by hand: {w}" for w in r.written])
    )
    return {
        "score": r.total,
        "output": out,
        "tests": tests,
        "visibility": "visible",
        "stdout_visibility": "hidden",
    }


def _grade_one(args: tuple) -> SubmissionResult:
    path, manifest, timeout, expect, python = args
    try:
        return grade_submission(
            path, manifest, timeout=timeout, expect=expect, python=python
        )
    except Exception as exc:  # noqa: BLE001 - never stop the batch
        r = SubmissionResult(submission=Path(path).name, status="grader-error")
        r.notes.append(
            f"grader error ({type(exc).__name__}: {exc}); tell your instructor"
        )
        return r


def grade_batch(
    paths: list,
    manifest: dict,
    *,
    timeout: float = 120.0,
    jobs: int = 1,
    expect: str | None = None,
    python: str | None = None,
    progress: Any = None,
) -> list:
    """Grade many submissions (``jobs`` grader processes at a time); one result per
    path, in order."""
    tasks = [(p, manifest, timeout, expect, python) for p in paths]
    results: list = []
    if jobs <= 1:
        for task in tasks:
            results.append(_grade_one(task))
            if progress:
                progress(results[-1])
        return results
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(
        max_workers=jobs, mp_context=multiprocessing.get_context("spawn")
    ) as pool:
        for r in pool.map(_grade_one, tasks):
            results.append(r)
            if progress:
                progress(r)
    return results


def results_json(results: list) -> str:
    """All results as JSON (for scripts)."""
    return json.dumps(
        [
            {
                "submission": r.submission,
                "chapter": r.chapter,
                "total": r.total,
                "max": r.max,
                "status": r.status,
                "items": [i.__dict__ for i in r.items],
                "notes": r.notes,
            }
            for r in results
        ],
        indent=1,
    )
