"""Write student versions of the chapter notebooks: solutions removed, implementation stubs kept.

    python tools/make_student.py --out _build/student                 # every notebooks/*.ipynb
    python tools/make_student.py --out _build/student notebooks/03_x.ipynb
    python tools/make_student.py --out _build/student --check         # verify what is in --out

The convention (CONTRIBUTING.md, "Exercises and solutions"): every solution cell carries the tag
``solution``. In the student version

- a ``solution`` code cell that defines top-level functions (or classes) becomes a *stub*: the same
  signatures, decorators and docstrings, each body replaced by
  ``raise NotImplementedError(hint)``, with the imports and constants the signatures need; the
  hint is ``cell.metadata["initcourse"]["hint"]`` (a string, or a dict ``{function name: hint}``),
  else ``"Implement <name>; see the exercise above."``. The stub cell loses the ``solution`` tag
  and gets the tag ``stub``;
- every other ``solution`` cell (model answers, the ``solution-start``/``solution-end``
  directives, exploration code) is removed;
- outputs and execution counts of all code cells are cleared; everything else is kept.

The transformation is :class:`StudentPreprocessor`, an nbconvert ``Preprocessor``; notebooks are
read and written with nbformat. ``--check`` verifies student notebooks already written to ``--out``:
up to date with their source, no solution cell, no solution code, stubs that only raise, no outputs.
"""

from __future__ import annotations

import argparse
import ast
import copy
import io
import json
import re
import sys
import tokenize
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Optional, Union

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "solution"
STUB_TAG = "stub"
DEFAULT_HINT = "Implement {name}; see the exercise above."

__all__ = [
    "StudentPreprocessor",
    "check_student_notebook",
    "make_stub_source",
    "make_student_notebook",
    "main",
    "solution_body_lines",
]

_Def = Union[ast.FunctionDef, ast.AsyncFunctionDef]


class StubError(ValueError):
    """A solution cell cannot be turned into a stub (e.g. it does not parse)."""


# ------------------------------------------------------------------------------------------
# Stubs
# ------------------------------------------------------------------------------------------
def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based line numbers -> index ``line - 1``)."""
    starts, pos = [], 0
    for line in source.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    starts.append(pos)
    return starts


def _header_end(source: str, node: Union[_Def, ast.ClassDef]) -> tuple[int, int]:
    """(line, col) just after the ``:`` that ends the ``def``/``class`` header of ``node``."""
    depth = 0
    seen_keyword = False
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    for tok in tokens:
        if tok.start < (node.lineno, node.col_offset):
            continue
        if not seen_keyword:
            seen_keyword = tok.type == tokenize.NAME and tok.string in ("def", "class")
            continue
        if tok.type == tokenize.OP:
            if tok.string in "([{":
                depth += 1
            elif tok.string in ")]}":
                depth -= 1
            elif tok.string == ":" and depth == 0:
                return tok.end
    raise StubError(f"cannot find the end of the header of {node.name!r}")  # pragma: no cover


def _names_in(nodes: Iterable[Optional[ast.AST]]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        if node is None:
            continue
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
            elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                # string annotations ("np.ndarray") name things too
                names.update(re.findall(r"[A-Za-z_]\w*", sub.value))
    return names


def _signature_nodes(node: Union[_Def, ast.ClassDef]) -> list[Optional[ast.AST]]:
    out: list[Optional[ast.AST]] = list(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        out += list(node.bases) + [k.value for k in node.keywords]
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out += _signature_nodes(stmt)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                out.append(stmt)
        return out
    a = node.args
    for arg in a.posonlyargs + a.args + a.kwonlyargs + [a.vararg, a.kwarg]:
        if arg is not None:
            out.append(arg.annotation)
    out += list(a.defaults) + [d for d in a.kw_defaults if d is not None] + [node.returns]
    return out


def _docstring_node(node: Union[_Def, ast.ClassDef]) -> Optional[ast.Expr]:
    first = node.body[0] if node.body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        return first
    return None


def _hint_for(name: str, hint: Any) -> str:
    if isinstance(hint, dict):
        hint = hint.get(name)
    if hint is None:
        return DEFAULT_HINT.format(name=name)
    if not isinstance(hint, str):
        raise StubError(f"hint: expected a string or a dict {{function name: string}}, got {hint!r}")
    return hint


def _stub_of(source: str, lines: list[str], starts: list[int], node: Union[_Def, ast.ClassDef], hint: Any) -> str:
    """The stub text of one (possibly indented) def or class, with its original formatting."""
    first_line = node.decorator_list[0].lineno if node.decorator_list else node.lineno
    end_line, end_col = _header_end(source, node)
    header = source[starts[first_line - 1] : starts[end_line - 1] + end_col]
    body_indent = " " * (node.col_offset + 4)
    if node.body and node.body[0].lineno > end_line:
        body_indent = " " * node.body[0].col_offset
    parts = [header]
    doc = _docstring_node(node)
    if doc is not None:
        parts.append(body_indent + ast.get_source_segment(source, doc))
    if isinstance(node, ast.ClassDef):
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                parts.append("\n" + _stub_of(source, lines, starts, stmt, hint))
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)):
                parts.append(body_indent + ast.get_source_segment(source, stmt))
        if len(parts) == 1:
            parts.append(body_indent + "pass")
    else:
        text = json.dumps(_hint_for(node.name, hint), ensure_ascii=False)
        parts.append(f"{body_indent}raise NotImplementedError({text})")
    return "\n".join(parts)


def make_stub_source(source: str, hint: Any = None) -> Optional[str]:
    """Return the stub of a solution code cell, or ``None`` if it defines no top-level function.

    Parameters
    ----------
    source : str
        The solution cell's source.
    hint : str or dict or None
        The message of every ``NotImplementedError`` (a dict maps function names to messages);
        ``None`` gives ``"Implement <name>; see the exercise above."``.

    Returns
    -------
    str or None
        The imports and constants the signatures need, then each top-level ``def`` (and
        ``class``, with its methods stubbed) with decorators, signature and docstring, its body
        ``raise NotImplementedError(hint)``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        if re.search(r"^\s*(async\s+)?def\s", source, flags=re.M):
            raise StubError(f"a solution cell that defines functions does not parse: {exc}") from exc
        return None
    defs = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    if not any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in defs) and not any(
        isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) for c in defs for m in c.body
    ):
        return None
    lines = source.splitlines()
    starts = _offsets(source)
    needed = _names_in(x for d in defs for x in _signature_nodes(d))
    defined_here = {d.name for d in defs}

    # constants the signatures use (e.g. `EPS = 1e-8` for `def f(x, eps=EPS)`), then their names
    kept_assign = []
    for stmt in tree.body:
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if _names_in(targets) & (needed - defined_here):
                kept_assign.append(stmt)
                needed |= _names_in([stmt.value])
    imports: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__":
            imports.append(ast.get_source_segment(source, stmt))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            bound = {(a.asname or a.name.split(".")[0]) for a in stmt.names}
            if bound & needed:
                imports.append(ast.get_source_segment(source, stmt))
    constants = [ast.get_source_segment(source, stmt) for stmt in kept_assign]
    head = "\n\n".join(block for block in ("\n".join(imports), "\n".join(constants)) if block)
    stubs = [_stub_of(source, lines, starts, d, hint) for d in defs]
    text = head + ("\n\n\n" if head else "") + "\n\n\n".join(stubs)
    ast.parse(text)  # a stub always parses
    return text


# ------------------------------------------------------------------------------------------
# The preprocessor
# ------------------------------------------------------------------------------------------
def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


class StudentPreprocessor(Preprocessor):
    """Turn an instructor notebook into the student version (see the module docstring)."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        cells = []
        stubs: list[str] = []
        inside_gate = False
        for index, cell in enumerate(nb.cells):
            tags = _tags(cell)
            # Everything between {solution-start} and {solution-end} is solution, tagged or not:
            # a forgotten tag must never leak a model answer to students.
            opens = bool(re.search(r"\{solution-start\}", cell.source))
            closes = bool(re.search(r"\{solution-end\}", cell.source))
            in_solution = SOLUTION_TAG in tags or inside_gate or opens or closes
            if opens:
                inside_gate = True
            if closes:
                inside_gate = False
            if in_solution:
                if cell.cell_type != "code":
                    continue
                hint = cell.metadata.get("initcourse", {}).get("hint")
                try:
                    stub = make_stub_source(cell.source, hint)
                except StubError as exc:
                    raise StubError(f"cell {index}: {exc}") from exc
                if stub is None:
                    continue
                cell.source = stub
                cell.metadata["tags"] = [t for t in tags if t != SOLUTION_TAG] + [STUB_TAG]
                stubs.append(cell.get("id", str(index)))
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
            cells.append(cell)
        nb.cells = cells
        resources.setdefault("initcourse", {})["stubs"] = stubs
        return nb, resources


def make_student_notebook(nb: Union[NotebookNode, str, Path]) -> NotebookNode:
    """Return the student version of ``nb`` (a notebook or a path); the input is not modified."""
    if isinstance(nb, (str, Path)):
        nb = nbformat.read(str(nb), as_version=4)
    else:
        nb = copy.deepcopy(nb)
    out, _ = StudentPreprocessor().preprocess(nb, {})
    nbformat.validate(out)
    return out


# ------------------------------------------------------------------------------------------
# Verification
# ------------------------------------------------------------------------------------------
_TRIVIAL = re.compile(r"^(return|pass|else:|try:|finally:|break|continue|[\)\]\}]+[,:]?|\w+|return \w+)$")


def _body_nodes(tree: ast.AST) -> list[ast.stmt]:
    """Statements inside top-level functions (and methods), docstrings excluded."""
    out: list[ast.stmt] = []
    for node in getattr(tree, "body", []):
        if isinstance(node, ast.ClassDef):
            out += _body_nodes(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = _docstring_node(node)
            out += [s for s in node.body if s is not doc]
    return out


def solution_body_lines(nb: NotebookNode) -> set[str]:
    """Stripped, non-trivial lines of the bodies of the functions defined in ``solution`` cells.

    Lines that also occur in a non-solution cell of the same notebook are left out (they are not
    solution text, e.g. a shared ``fan_in, fan_out = shape``).
    """
    public = set()
    for cell in nb.cells:
        if SOLUTION_TAG not in _tags(cell):
            public.update(line.strip() for line in cell.source.splitlines())
    out: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or SOLUTION_TAG not in _tags(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for stmt in _body_nodes(tree):
            seg = ast.get_source_segment(cell.source, stmt) or ""
            for line in seg.splitlines():
                line = line.strip()
                if line and not line.startswith("#") and not _TRIVIAL.match(line) and line not in public:
                    out.add(line)
    return out


def _stub_problems(source: str) -> list[str]:
    problems = []
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"stub does not parse: {exc}"]
    funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    if not funcs:
        problems.append("stub cell defines no function")
    for f in funcs:
        body = [s for s in f.body if s is not _docstring_node(f)]
        ok = (
            len(body) == 1
            and isinstance(body[0], ast.Raise)
            and isinstance(body[0].exc, ast.Call)
            and isinstance(body[0].exc.func, ast.Name)
            and body[0].exc.func.id == "NotImplementedError"
        )
        if not ok:
            problems.append(f"stub of {f.name!r} does more than `raise NotImplementedError(hint)`")
    top = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign))]
    if top:
        problems.append(f"stub cell runs code at top level (line {top[0].lineno})")
    return problems


def check_student_notebook(student: NotebookNode, instructor: Optional[NotebookNode] = None) -> list[str]:
    """Problems of a student notebook (empty list: fine).

    Always: no ``solution`` cell, no ``{solution-start}``/``{solution-end}`` directive, no outputs
    or execution counts, every ``stub`` cell only raises ``NotImplementedError``. With the
    ``instructor`` notebook also: it equals ``make_student_notebook(instructor)`` and no line of a
    solution function body appears in it.
    """
    problems = []
    try:
        nbformat.validate(student)
    except nbformat.ValidationError as exc:
        problems.append(f"invalid notebook: {exc.message}")
    for i, cell in enumerate(student.cells):
        tags = _tags(cell)
        if SOLUTION_TAG in tags:
            problems.append(f"cell {i}: still tagged {SOLUTION_TAG!r}")
        if re.search(r"\{solution-(start|end)\}", cell.source):
            problems.append(f"cell {i}: still contains a solution directive")
        if cell.cell_type == "code":
            if cell.get("outputs"):
                problems.append(f"cell {i}: has outputs")
            if cell.get("execution_count") is not None:
                problems.append(f"cell {i}: has an execution count")
            if STUB_TAG in tags:
                problems += [f"cell {i}: {p}" for p in _stub_problems(cell.source)]
    if instructor is not None:
        expected = make_student_notebook(instructor)
        if [(c.cell_type, c.source, _tags(c)) for c in expected.cells] != [
            (c.cell_type, c.source, _tags(c)) for c in student.cells
        ]:
            problems.append("out of date: differs from what make_student makes of its source now")
        text = "\n".join(c.source for c in student.cells)
        student_lines = {line.strip() for line in text.splitlines()}
        for line in sorted(solution_body_lines(instructor) & student_lines):
            problems.append(f"solution code survives: {line!r}")
    return problems


def instructor_problems(nb: NotebookNode) -> list[str]:
    """Convention problems of an instructor notebook (empty list: fine).

    Every cell from a ``{solution-start}`` cell to its ``{solution-end}`` cell must carry the
    ``solution`` tag, gates must be balanced, and each gate must follow an exercise.
    """
    problems = []
    inside = False
    for i, cell in enumerate(nb.cells):
        opens = bool(re.search(r"\{solution-start\}", cell.source))
        closes = bool(re.search(r"\{solution-end\}", cell.source))
        if opens and inside:
            problems.append(f"cell {i}: solution-start inside an open solution block")
        if (inside or opens or closes) and SOLUTION_TAG not in _tags(cell):
            problems.append(f"cell {i}: inside a solution block but not tagged {SOLUTION_TAG!r}")
        if opens:
            inside = True
        if closes:
            if not inside and not opens:
                problems.append(f"cell {i}: solution-end without solution-start")
            inside = False
    if inside:
        problems.append("a solution-start has no matching solution-end")
    return problems


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------
def _default_notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="instructor notebooks (default: notebooks/*.ipynb)")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "student", help="output directory")
    parser.add_argument("--check", action="store_true", help="verify the student notebooks already in --out")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or _default_notebooks()
    failed = 0
    for path in notebooks:
        target = args.out / path.name
        instructor = nbformat.read(str(path), as_version=4)
        if args.check:
            if not target.exists():
                problems = [f"missing: {target}"]
            else:
                problems = check_student_notebook(nbformat.read(str(target), as_version=4), instructor)
        else:
            student = make_student_notebook(instructor)
            problems = check_student_notebook(student, instructor)
            if not problems:
                args.out.mkdir(parents=True, exist_ok=True)
                nbformat.write(student, str(target))
        for p in problems:
            print(f"{path.name}: {p}", file=sys.stderr)
        failed += bool(problems)
    verb = "verified" if args.check else "written to " + str(args.out)
    if failed:
        print(f"{failed} of {len(notebooks)} student notebooks have problems", file=sys.stderr)
        return 1
    print(f"{len(notebooks)} student notebooks {verb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
