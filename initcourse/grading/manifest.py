"""What the grader knows about each chapter, read from the instructor notebooks.

:func:`build_manifest` reads ``notebooks/*.ipynb`` and lists, per chapter, the
implementation exercises (the function a solution cell defines and the ``check_*``
checker the cell after its ``solution-end`` calls), their points
(``cell.metadata["initcourse"]["points"]`` on the solution code cell, split evenly when
the checker cell calls several checkers; default 1 per checker), the written exercises
(graded by hand), the chapter's imports (run before a student's code, since a solution
may use ``np`` from the chapter's import cell), and a fingerprint of every given code
cell, by which :func:`identify_chapter` recognises a submission whatever its file name.
The manifest is plain JSON: ``make autograder`` ships it in every zip.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path
from typing import Any

__all__ = ["build_manifest", "cell_key", "identify_chapter", "load_manifest"]

SOLUTION_TAG = "solution"
HEAVY_IMPORTS = ("keras", "tensorflow", "tf")
#: Checkers that are not in ``initcourse.exercises.CHECKERS``: the capstone's three
#: tasks.
SPECIAL_CHECKERS = (
    "check_choose_initializers",
    "check_init_report",
    "check_train_capstone",
)


def _tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def cell_key(source: str) -> str:
    """A fingerprint of a code cell's source that ignores whitespace differences."""
    norm = "\n".join(
        line.rstrip() for line in source.strip().splitlines() if line.strip()
    )
    return hashlib.sha1(norm.encode("utf-8")).hexdigest()[:16]


def _functions(source: str) -> list[str]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [
        n.name
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def _checker_calls(source: str) -> list[tuple[str, str]]:
    """``(checker, function)`` for every call ``check_x(function_name, ...)`` in a
    cell."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    out = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id.startswith("check_")
            and node.args
            and isinstance(node.args[0], ast.Name)
        ):
            out.append((node.func.id, node.args[0].id))
    return out


def _prelude(cells: list[Any]) -> list[dict]:
    """The top-level imports of the given code cells, in order, without duplicates."""
    seen, out = set(), []
    for cell in cells:
        try:
            tree = ast.parse(cell["source"])
        except SyntaxError:
            continue
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                text = ast.unparse(stmt)
                if text in seen:
                    continue
                seen.add(text)
                roots = {(a.name.split(".")[0]) for a in stmt.names} | (
                    {stmt.module.split(".")[0]}
                    if isinstance(stmt, ast.ImportFrom) and stmt.module
                    else set()
                )
                bound = sorted({a.asname or a.name.split(".")[0] for a in stmt.names})
                out.append(
                    {
                        "source": text,
                        "heavy": bool(roots & {"keras", "tensorflow"}),
                        "binds": bound,
                    }
                )
    return out


def chapter_entry(nb: Any, stem: str) -> dict:
    """The manifest entry of one instructor notebook (an nbformat notebook)."""
    cells = nb["cells"]
    title, label = "", ""
    for cell in cells:
        if cell["cell_type"] == "markdown":
            m = re.search(r"^#\s+(.+)$", cell["source"], flags=re.M)
            lab = re.search(r"^\((ch-[\w-]+)\)=", cell["source"], flags=re.M)
            if m:
                title = m.group(1).strip()
                label = lab.group(1) if lab else ""
                break
    exercises, written = [], []
    for i, cell in enumerate(cells):
        m = (
            re.search(r"```\{exercise\}\s*(.*)\n:label:\s*(\S+)", cell["source"])
            if cell["cell_type"] == "markdown"
            else None
        )
        if not m:
            continue
        ex_title, ex_label = m.group(1).strip(), m.group(2).strip()
        j, functions, points, kinds = i + 1, [], None, set()
        while j < len(cells) and SOLUTION_TAG in _tags(cells[j]):
            c = cells[j]
            if c["cell_type"] == "code":
                fs = _functions(c["source"])
                functions += fs
                kinds.add("implementation" if fs else "exploration")
                meta = c.get("metadata", {}).get("initcourse", {})
                if fs and isinstance(meta.get("points"), (int, float)):
                    points = float(meta["points"])
            j += 1
        calls: list = []
        nxt = next(
            (
                c
                for c in cells[j:]
                if c["cell_type"] == "code" and SOLUTION_TAG not in _tags(c)
            ),
            None,
        )
        if functions and nxt is not None:
            calls = [
                (ck, fn) for ck, fn in _checker_calls(nxt["source"]) if fn in functions
            ]
            calls = list(dict.fromkeys(calls))  # one graded item per checker call
        for checker, function in calls:
            several = len(calls) > 1
            exercises.append(
                {
                    "label": f"{ex_label}.{function}" if several else ex_label,
                    "title": f"{ex_title}: {function}" if several else ex_title,
                    "checker": checker,
                    "function": function,
                    "functions": functions,
                    "points": (points / len(calls) if points is not None else 1.0),
                }
            )
        if not calls:
            written.append(
                {
                    "label": ex_label,
                    "title": ex_title,
                    "kind": "exploration"
                    if "exploration" in kinds or functions
                    else "written",
                }
            )
    given = [
        c for c in cells if c["cell_type"] == "code" and SOLUTION_TAG not in _tags(c)
    ]
    return {
        "chapter": stem,
        "title": title,
        "label": label,
        "exercises": exercises,
        "written": written,
        "prelude": _prelude(given),
        "course_cells": sorted({cell_key(c["source"]) for c in given}),
    }


def build_manifest(notebooks: str | Path | list) -> dict:
    """``{chapter stem: entry}`` for a folder of instructor notebooks (or a list of
    paths)."""
    import nbformat

    paths = (
        sorted(Path(notebooks).glob("[0-9]*.ipynb"))
        if isinstance(notebooks, (str, Path))
        else [Path(p) for p in notebooks]
    )
    out = {}
    for path in paths:
        nb = nbformat.read(str(path), as_version=4)
        out[path.stem] = chapter_entry(nb, path.stem)
    return {"version": 1, "chapters": out}


def load_manifest(path: str | Path | None = None) -> dict:
    """Read a manifest JSON file, or build one from the repository's ``notebooks/``."""
    if path is not None:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    root = Path(__file__).resolve().parents[2] / "notebooks"
    bundled = Path(__file__).with_name("manifest.json")
    if root.is_dir():
        return build_manifest(root)
    if bundled.exists():
        return json.loads(bundled.read_text(encoding="utf-8"))
    raise FileNotFoundError(
        "manifest: no notebooks/ folder next to the package and no "
        "--manifest file; pass --manifest"
    )


def identify_chapter(nb: Any, manifest: dict) -> tuple[str | None, str]:
    """``(chapter stem, how it was recognised)`` of a submission, or ``(None, why
    not)``.

    The notebook's own metadata (``metadata.initcourse.chapter``, written by ``make
    student``) is trusted only if its content agrees: no chapter has more of its given
    code cells in the notebook (the Colab setup cell, the same in every chapter, matches
    all of them). Otherwise the chapter with the most given code cells in the submission
    wins; the title heading breaks ties. The file name plays no part.
    """
    chapters = manifest["chapters"]
    keys = {
        cell_key(c.get("source", ""))
        for c in nb.get("cells", [])
        if c.get("cell_type") == "code"
    }
    scores = {
        stem: len(keys & set(entry["course_cells"])) for stem, entry in chapters.items()
    }
    title = ""
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            m = re.search(r"^#\s+(.+)$", cell.get("source", ""), flags=re.M)
            if m:
                title = m.group(1).strip()
                break
    meta = nb.get("metadata", {}).get("initcourse", {}).get("chapter")
    best_score = max(scores.values()) if scores else 0
    if (
        isinstance(meta, str)
        and meta in chapters
        and best_score > 0
        and scores.get(meta, 0) == best_score
    ):
        return meta, "notebook metadata, confirmed by its cells"
    if not scores or max(scores.values()) == 0:
        by_title = [
            s for s, e in chapters.items() if e["title"] and e["title"] == title
        ]
        if by_title:
            return by_title[0], "its title (no given cell matched)"
        return None, "no cell of any chapter was found in the notebook"
    best = max(scores.values())
    tied = [s for s, v in scores.items() if v == best]
    if len(tied) > 1:
        titled = [s for s in tied if chapters[s]["title"] == title]
        if len(titled) == 1:
            return titled[0], f"{best} given code cells and its title"
        return None, f"the cells match chapters {', '.join(tied)} equally"
    return tied[0], f"{best} of its given code cells"
