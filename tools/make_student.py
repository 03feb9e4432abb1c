"""Write student versions of the chapter notebooks: solutions removed, implementation
stubs kept.

    python tools/make_student.py --out _build/student  # every notebooks/*.ipynb
    python tools/make_student.py --out _build/student notebooks/03_x.ipynb
    python tools/make_student.py --out _build/student --check  # verify --out

The convention (CONTRIBUTING.md, "Exercises and solutions"): every solution cell carries
the tag ``solution``. In the student version

- a ``solution`` code cell that defines top-level functions (or classes) becomes a
  *stub*: the same signatures, decorators and docstrings, each body replaced by ``raise
  NotImplementedError(hint)``, with the imports and constants the signatures need; the
  hint is ``cell.metadata["initcourse"]["hint"]`` (a string, or a dict ``{function name:
  hint}``), else ``"Implement <name>; see the exercise above."``. The stub cell loses
  the ``solution`` tag and gets the tag ``stub``;
- every other ``solution`` cell (model answers, the ``solution-start``/``solution-end``
  directives, exploration code) is removed;
- outputs and execution counts of all code cells are cleared;
- every Markdown cell becomes plain Markdown that Jupyter and Colab render
  (:class:`PlainMarkdown`): exercise directives become headings, ``{cite}`` becomes
  "(Author, year)", ``{ref}`` the target's title (a link to the chapter's student
  notebook), ``{eq}`` an equation number that matches a ``\tag`` in the equation,
  ``{glue:text}`` the value the instructor notebook stored, ``{term}`` its text,
  ``(label)=`` targets disappear, and references to removed cells ("the cell after the
  solution") are reworded;
- the "Open in Colab" badge opens the *student* notebook (``--colab-base``), never the
  instructor one;
- every exercise with a written part gets an answer cell (tag ``answer``) where its
  model answer was; an open exploration also gets an empty code cell;
- ``metadata.initcourse.chapter`` names the chapter (the grader also recognises it by
  content).

The transformation is :class:`StudentPreprocessor`, an nbconvert ``Preprocessor``;
notebooks are read and written with nbformat. ``--check`` verifies student notebooks
already written to ``--out``: up to date with their source, no solution cell, no
solution code, stubs that only raise, no outputs.
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
from typing import Any

import nbformat
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode

ROOT = Path(__file__).resolve().parents[1]
SOLUTION_TAG = "solution"
STUB_TAG = "stub"
ANSWER_TAG = "answer"
ANSWER_TEXT = "**Your answer.** *(Double-click this cell to write your answer here.)*"
EXPLORATION_TEXT = "# Your exploration of the exercise above."
#: Where the student notebooks are published; ``{repo}`` is ``owner/name`` of
#: repository.url.
DEFAULT_COLAB_BASE = "https://colab.research.google.com/github/{repo}/blob/student/"
DEFAULT_HINT = "Implement {name}; see the exercise above."

__all__ = [
    "StudentPreprocessor",
    "check_student_notebook",
    "make_stub_source",
    "make_student_notebook",
    "main",
    "reading_problems",
    "solution_body_lines",
    "solution_leaks",
    "hint_leaks",
    "hint_problems",
]

_Def = ast.FunctionDef | ast.AsyncFunctionDef


class StubError(ValueError):
    """A solution cell cannot be turned into a stub (e.g. it does not parse)."""


# --------------------------------------------------------------------------------------
# Stubs
# --------------------------------------------------------------------------------------
def _offsets(source: str) -> list[int]:
    """Character offset of the start of each line (1-based line numbers -> index
    ``line - 1``)."""
    starts, pos = [], 0
    for line in source.splitlines(keepends=True):
        starts.append(pos)
        pos += len(line)
    starts.append(pos)
    return starts


def _header_end(source: str, node: _Def | ast.ClassDef) -> tuple[int, int]:
    """(line, col) just after the ``:`` that ends the ``def``/``class`` header of
    ``node``."""
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
    raise StubError(
        f"cannot find the end of the header of {node.name!r}"
    )  # pragma: no cover


def _names_in(nodes: Iterable[ast.AST | None]) -> set[str]:
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


def _signature_nodes(node: _Def | ast.ClassDef) -> list[ast.AST | None]:
    out: list[ast.AST | None] = list(node.decorator_list)
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
    out += (
        list(a.defaults) + [d for d in a.kw_defaults if d is not None] + [node.returns]
    )
    return out


def _docstring_node(node: _Def | ast.ClassDef) -> ast.Expr | None:
    first = node.body[0] if node.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first
    return None


def _hint_for(name: str, hint: Any) -> str:
    if isinstance(hint, dict):
        hint = hint.get(name)
    if hint is None:
        return DEFAULT_HINT.format(name=name)
    if not isinstance(hint, str):
        raise StubError(
            f"hint: expected a string or a dict {{function name: string}}, got {hint!r}"
        )
    return hint


def _stub_of(
    source: str,
    lines: list[str],
    starts: list[int],
    node: _Def | ast.ClassDef,
    hint: Any,
) -> str:
    """The stub text of one (possibly indented) def or class, with its original
    formatting."""
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


def make_stub_source(source: str, hint: Any = None) -> str | None:
    """Return the stub of a solution code cell, or ``None`` if it defines no top-level
    function.

    Parameters
    ----------
    source : str
        The solution cell's source.
    hint : str or dict or None
        The message of every ``NotImplementedError`` (a dict maps function names to
        messages); ``None`` gives ``"Implement <name>; see the exercise above."``.

    Returns
    -------
    str or None
        The imports and constants the signatures need, then each top-level ``def`` (and
        ``class``, with its methods stubbed) with decorators, signature and docstring,
        its body ``raise NotImplementedError(hint)``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        if re.search(r"^\s*(async\s+)?def\s", source, flags=re.M):
            raise StubError(
                f"a solution cell that defines functions does not parse: {exc}"
            ) from exc
        return None
    defs = [
        n
        for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    if not any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) for n in defs
    ) and not any(
        isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))
        for c in defs
        for m in c.body
    ):
        return None
    lines = source.splitlines()
    starts = _offsets(source)
    needed = _names_in(x for d in defs for x in _signature_nodes(d))
    defined_here = {d.name for d in defs}

    # constants the signatures use (e.g. `EPS = 1e-8` for `def f(x, eps=EPS)`), then
    # their names
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
    head = "\n\n".join(
        block for block in ("\n".join(imports), "\n".join(constants)) if block
    )
    stubs = [_stub_of(source, lines, starts, d, hint) for d in defs]
    text = head + ("\n\n\n" if head else "") + "\n\n\n".join(stubs)
    ast.parse(text)  # a stub always parses
    return text


# --------------------------------------------------------------------------------------
# Plain Markdown for Jupyter and Colab
# --------------------------------------------------------------------------------------
def _bib_labels(path: Path) -> dict[str, str]:
    """``{key: (author, year)}`` text for every entry of a BibTeX file ("He et al.,
    2015")."""
    if not path.exists():
        return {}
    from pybtex.database import parse_file

    out = {}
    for key, entry in parse_file(str(path)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        last = [" ".join(p.last_names) for p in people]
        last = [re.sub(r"[{}]", "", n) for n in last]
        if not last:
            who = re.sub(r"[{}]", "", entry.fields.get("title", key))[:40]
        elif len(last) == 1:
            who = last[0]
        elif len(last) == 2:
            who = f"{last[0]} and {last[1]}"
        else:
            who = f"{last[0]} et al."
        out[key] = (who, entry.fields.get("year", "n.d."))
    return out


def _labels(root: Path) -> dict[str, tuple[str, str]]:
    """``{label: (notebook file name or "", title)}`` of every ``(label)=`` target of
    the book."""
    out: dict[str, tuple[str, str]] = {}
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            for m in re.finditer(
                r"^\(([\w.-]+)\)=\s*\n+(#+\s*(.+))?", cell.source, flags=re.M
            ):
                out[m.group(1)] = (path.name, (m.group(3) or "").strip())
            for m in re.finditer(
                r"```\{exercise\}\s*(.*)\n:label:\s*(\S+)", cell.source
            ):
                out[m.group(2)] = (
                    path.name,
                    f"the exercise \u201c{m.group(1).strip()}\u201d",
                )
    for path in sorted((root / "book").glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(r"^\(([\w.-]+)\)=\s*\n+(#+\s*(.+))?", text, flags=re.M):
            out.setdefault(m.group(1), ("", (m.group(3) or "").strip()))
    return out


def _glue_values(nb: NotebookNode) -> dict[str, Any]:
    """The values ``initcourse.notebook.glue`` stored in a notebook's outputs."""
    out: dict[str, Any] = {}
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if not name:
                continue
            data = o.get("data", {})
            text = next((v for k, v in data.items() if k.endswith("text/plain")), None)
            if text is None:
                continue
            text = "".join(text) if isinstance(text, list) else text
            try:
                out[name] = ast.literal_eval(text.strip())
            except (ValueError, SyntaxError):
                out[name] = text.strip().strip("'\"")
    return out


class PlainMarkdown:
    """Rewrite the MyST of a chapter's Markdown cells into Markdown that Jupyter
    renders.

    Parameters
    ----------
    nb : NotebookNode
        The instructor notebook (for its stored glue values, equation labels and figure
        names).
    root : Path
        The repository root (``book/references.bib``, the other notebooks' labels).
    """

    _ROLE = re.compile(r"\{([a-z]+(?::[a-z]+)?)\}`([^`]*)`")
    _DIRECTIVE = re.compile(
        r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[\w:-]+)\}[ "
        r"\t]*(?P<arg>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
        re.M | re.S,
    )
    _EQ = re.compile(r"\$\$(?P<math>.*?)\$\$[ \t]*\((?P<label>[\w.:-]+)\)", re.S)

    def __init__(self, nb: NotebookNode, root: Path = ROOT) -> None:
        self.bib = _bib_labels(root / "book" / "references.bib")
        self.labels = _labels(root) if (root / "notebooks").is_dir() else {}
        self.glue = _glue_values(nb)
        self.eq_numbers: dict[str, int] = {}
        for cell in nb.cells:
            if cell.cell_type == "markdown" and SOLUTION_TAG not in _tags(cell):
                for m in self._EQ.finditer(cell.source):
                    self.eq_numbers.setdefault(
                        m.group("label"), len(self.eq_numbers) + 1
                    )
        self.figures: dict[str, str] = {}
        for cell in nb.cells:
            fig = cell.get("metadata", {}).get("mystnb", {}).get("figure", {})
            if fig.get("name"):
                self.figures[fig["name"]] = fig.get("caption", "")

    # -- roles
    # ------------------------------------------------------------------------------
    def _cite(self, kind: str, text: str) -> str:
        keys = [k.strip() for k in text.split(",") if k.strip()]
        parts = []
        for key in keys:
            who, year = self.bib.get(key, (key, ""))
            parts.append((who, year))
        if kind.endswith(":t"):
            return "; ".join(f"{w} ({y})" if y else w for w, y in parts)
        return "(" + "; ".join(f"{w}, {y}" if y else w for w, y in parts) + ")"

    def _ref(self, text: str) -> str:
        m = re.match(r"^(.*?)\s*<([^>]+)>$", text.strip(), flags=re.S)
        shown, label = (m.group(1), m.group(2)) if m else ("", text.strip())
        where, title = self.labels.get(label, ("", ""))
        shown = shown or title or label
        return f"[{shown}]({where})" if where else shown

    def _glue(self, text: str) -> str:
        name, _, fmt = text.partition(":")
        if name not in self.glue:
            return f"\u27e8{name}\u27e9"
        value = self.glue[name]
        try:
            return format(value, fmt) if fmt else str(value)
        except (TypeError, ValueError):
            return str(value)

    def _role(self, m: re.Match) -> str:
        kind, text = m.group(1), m.group(2)
        if kind.startswith("cite"):
            return self._cite(kind, text)
        if kind == "ref" or kind == "doc":
            return self._ref(text)
        if kind == "eq":
            n = self.eq_numbers.get(text.strip())
            return f"({n})" if n else "(the equation above)"
        if kind == "numref":
            label = re.sub(r"^.*<([^>]+)>$", r"\1", text.strip())
            caption = self.figures.get(label, "")
            return (
                f"the figure \u201c{caption.rstrip('.')}\u201d"
                if caption
                else "the figure"
            )
        if kind.startswith("glue"):
            return self._glue(text)
        if kind == "term":
            mm = re.match(r"^(.*?)\s*<[^>]+>$", text.strip())
            return mm.group(1) if mm else text
        if kind in ("math",):
            return f"${text}$"
        return text

    # -- blocks
    # -----------------------------------------------------------------------------
    @staticmethod
    def _strip_options(body: str) -> str:
        lines = body.splitlines()
        while lines and re.match(r"^:[\w-]+:", lines[0]):
            lines.pop(0)
        return "\n".join(lines).strip("\n")

    def _directive(self, m: re.Match) -> str:
        name, arg, body = (
            m.group("name"),
            m.group("arg").strip(),
            self._strip_options(m.group("body")),
        )
        if name == "exercise":
            return (
                f"### Exercise: {arg}\n\n{body}" if arg else f"### Exercise\n\n{body}"
            )
        if name in ("math",):
            return f"$$\n{body}\n$$"
        title = arg or name.capitalize()
        quoted = "\n".join("> " + line if line else ">" for line in body.splitlines())
        return f"> **{title}**\n>\n{quoted}"

    def _equation(self, m: re.Match) -> str:
        n = self.eq_numbers.get(m.group("label"))
        math = m.group("math").rstrip()
        return f"$${math}\n\\tag{{{n}}}\n$$" if n else f"$${math}$$"

    def convert(self, source: str) -> str:
        """The plain-Markdown version of one Markdown cell's source."""
        text = re.sub(r"^\([\w.-]+\)=[ \t]*\n", "", source, flags=re.M)
        text = self._DIRECTIVE.sub(self._directive, text)
        text = self._EQ.sub(self._equation, text)
        text = self._ROLE.sub(self._role, text)
        text = re.sub(
            r"\b([Tt])he(\s+)cell(\s+)(?:after|below)(\s+)the(\s+)solution\b",
            lambda m: (
                f"{m.group(1)}he{m.group(2)}cell{m.group(3)}after{m.group(4)}your{m.group(5)}function"
            ),
            text,
        )
        return text


def _colab_base(root: Path = ROOT) -> str:
    from chapter_cells import (
        repository_url,
    )  # tools/ is on sys.path when this runs as a script

    repo = repository_url(root).removeprefix("https://github.com/")
    return DEFAULT_COLAB_BASE.format(repo=repo)


def _student_links(source: str, base: str) -> str:
    """Point every Colab link at the student notebooks, whose folder is ``base``."""
    return re.sub(
        r"https://colab\.research\.google\.com/github/[^\s\"')]*?/([\w.-]+\.ipynb)",
        lambda m: base + m.group(1),
        source,
    )


# --------------------------------------------------------------------------------------
# The preprocessor
# --------------------------------------------------------------------------------------
def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


class StudentPreprocessor(Preprocessor):
    """Turn an instructor notebook into the student version (see the module docstring).

    Options come in ``resources["initcourse"]``: ``chapter`` (the notebook's stem,
    written to ``metadata.initcourse.chapter``), ``colab_base`` (where the student
    notebooks are published; default :data:`DEFAULT_COLAB_BASE`) and ``root`` (the
    repository, for references).
    """

    def preprocess(
        self, nb: NotebookNode, resources: dict[str, Any]
    ) -> tuple[NotebookNode, dict[str, Any]]:
        options = resources.setdefault("initcourse", {})
        root = Path(options.get("root", ROOT))
        markdown = PlainMarkdown(nb, root)
        base = options.get("colab_base") or _colab_base(root)
        cells = []
        stubs: list[str] = []
        inside_gate = False
        block: dict[
            str, Any
        ] = {}  # the solution block being removed: what it contained
        for index, cell in enumerate(nb.cells):
            tags = _tags(cell)
            # Everything between {solution-start} and {solution-end} is solution, tagged
            # or not: a forgotten tag must never leak a model answer to students.
            opens = bool(re.search(r"\{solution-start\}", cell.source))
            closes = bool(re.search(r"\{solution-end\}", cell.source))
            in_solution = SOLUTION_TAG in tags or inside_gate or opens or closes
            if opens:
                inside_gate = True
                block = {
                    "markdown": False,
                    "code": False,
                    "functions": False,
                    "at": len(cells),
                }
            if in_solution:
                if cell.cell_type == "markdown" and not (opens or closes):
                    block["markdown"] = True
                if cell.cell_type == "code":
                    hint = cell.metadata.get("initcourse", {}).get("hint")
                    try:
                        stub = make_stub_source(cell.source, hint)
                    except StubError as exc:
                        raise StubError(f"cell {index}: {exc}") from exc
                    if stub is None:
                        block["code"] = True
                    else:
                        block["functions"] = True
                        cell.source = stub
                        cell.metadata["tags"] = [
                            t for t in tags if t != SOLUTION_TAG
                        ] + [STUB_TAG]
                        stubs.append(cell.get("id", str(index)))
                        cell.outputs = []
                        cell.execution_count = None
                        cells.append(cell)
                if closes:
                    inside_gate = False
                    cells += self._answer_cells(block)
                continue
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
            else:
                cell.source = _student_links(markdown.convert(cell.source), base)
            cells.append(cell)
        nb.cells = cells
        if options.get("chapter"):
            nb.metadata.setdefault("initcourse", {})["chapter"] = options["chapter"]
            nb.metadata["initcourse"]["student"] = True
        resources["initcourse"]["stubs"] = stubs
        return nb, resources

    @staticmethod
    def _answer_cells(block: dict[str, Any]) -> list[NotebookNode]:
        """Answer cells for a removed solution block: Markdown for a written part, code
        for an exploration."""
        out = []
        if block.get("markdown") or block.get("code"):
            out.append(
                nbformat.v4.new_markdown_cell(
                    ANSWER_TEXT, metadata={"tags": [ANSWER_TAG]}
                )
            )
        if block.get("code") and not block.get("functions"):
            out.append(
                nbformat.v4.new_code_cell(
                    EXPLORATION_TEXT, metadata={"tags": [ANSWER_TAG]}
                )
            )
        return out


def make_student_notebook(
    nb: NotebookNode | str | Path,
    *,
    chapter: str | None = None,
    colab_base: str | None = None,
    root: Path | None = None,
) -> NotebookNode:
    """Return the student version of ``nb`` (a notebook or a path); the input is not
    modified."""
    if isinstance(nb, (str, Path)):
        chapter = chapter or Path(nb).stem
        nb = nbformat.read(str(nb), as_version=4)
    else:
        nb = copy.deepcopy(nb)
    options = {"chapter": chapter, "colab_base": colab_base, "root": root or ROOT}
    out, _ = StudentPreprocessor().preprocess(
        nb, {"initcourse": {k: v for k, v in options.items() if v}}
    )
    nbformat.validate(out)
    return out


# --------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------
_TRIVIAL = re.compile(
    r"^(return|pass|else:|try:|finally:|break|continue|[\)\]\}]+[,:]?|\w+|return \w+)$"
)


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
    """Stripped, non-trivial lines of the bodies of the functions defined in
    ``solution`` cells.

    Lines that also occur in a non-solution cell of the same notebook are left out (they
    are not solution text, e.g. a shared ``fan_in, fan_out = shape``).
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
                if (
                    line
                    and not line.startswith("#")
                    and not _TRIVIAL.match(line)
                    and line not in public
                ):
                    out.add(line)
    return out


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _hints(cell: NotebookNode) -> list[str]:
    hint = cell.get("metadata", {}).get("initcourse", {}).get("hint")
    if isinstance(hint, str):
        return [hint]
    if isinstance(hint, dict):
        return [h for h in hint.values() if isinstance(h, str)]
    return []


def solution_leaks(
    instructor: NotebookNode, student: NotebookNode, min_length: int = 10
) -> list[tuple[str, str]]:
    """Solution lines that appear verbatim in the student notebook: ``[(line, where)]``.

    A solution line is a non-trivial line of a solution function's body
    (:func:`solution_body_lines`) of at least ``min_length`` characters; it leaks if it
    occurs, whitespace collapsed, anywhere in the student notebook: in a Markdown cell,
    a code cell, a stub's docstring, or a hint (the hints of
    ``cell.metadata["initcourse"]["hint"]``). Lines that the instructor notebook also
    shows outside its solutions are not counted.
    """
    public = _collapse(
        "\n".join(c.source for c in instructor.cells if SOLUTION_TAG not in _tags(c))
    )
    places: list[tuple[str, str]] = []
    for i, cell in enumerate(student.cells):
        source = cell.source
        if STUB_TAG in _tags(cell):  # the hint is checked on its own
            source = re.sub(r"raise NotImplementedError\(.*\)", "", source)
        places.append((f"cell {i}", _collapse(source)))
        places += [(f"the hint of cell {i}", _collapse(h)) for h in _hints(cell)]
    out = []
    for line in sorted(solution_body_lines(instructor)):
        needle = _collapse(line)
        if len(needle) < min_length or needle in public:
            continue
        for where, text in places:
            if needle in text:
                out.append((line, where))
                break
    return out


def _norm_code(text: str) -> str:
    """Code text compared loosely: no module prefixes, ``2.0`` as ``2``, no spaces, one
    quote style."""
    text = re.sub(r"\b(?:np|numpy|math|scipy\.linalg|scipy|pywt)\.", "", text)
    text = re.sub(r"\b(\d+)\.0\b", r"\1", text)
    return re.sub(r"\s+", "", text).replace("'", '"')


def solution_expressions(nb: NotebookNode, min_length: int = 16) -> set[str]:
    """Loosely normalised expressions (calls, arithmetic, indexing, comprehensions) of
    the bodies of the solution functions, at least ``min_length`` characters long once
    normalised, that the notebook does not show outside its solutions."""
    public = _norm_code(
        "\n".join(c.source for c in nb.cells if SOLUTION_TAG not in _tags(c))
    )
    kinds = (
        ast.Call,
        ast.BinOp,
        ast.Subscript,
        ast.Compare,
        ast.ListComp,
        ast.DictComp,
        ast.GeneratorExp,
        ast.Dict,
    )
    out: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type != "code" or SOLUTION_TAG not in _tags(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for stmt in _body_nodes(tree):
            for node in ast.walk(stmt):
                if isinstance(node, kinds):
                    expr = _norm_code(ast.unparse(node))
                    if len(expr) >= min_length and expr not in public:
                        out.add(expr)
    return out


def hint_leaks(
    instructor: NotebookNode, student: NotebookNode
) -> list[tuple[str, str]]:
    """Solution code a hint gives away: ``[(expression, hint)]``.

    Stricter than :func:`solution_leaks`, for hints only: an expression of a solution
    function (:func:`solution_expressions`) leaks if the hint contains it up to module
    prefixes (``np.``, ``math.``), ``2.0`` versus ``2`` and spacing. A hint should say
    what to think about, not what to type.
    """
    exprs = solution_expressions(instructor)
    out = []
    for cell in student.cells:
        for hint in _hints(cell):
            normed = _norm_code(hint)
            found = sorted((e for e in exprs if e in normed), key=len, reverse=True)
            if found:
                out.append((found[0], hint))
    return out


_UNRESOLVED = re.compile(
    r"\{[a-z]+(?::[a-z]+)?\}`|^(`{3,}|:{3,})\{[\w:-]+\}|^\([\w.-]+\)=\s*$", re.M
)
_REMOVED_CELL = re.compile(
    r"cell\s+(after|below|above)\s+the\s+solution|(see|in) the (model "
    r")?solution\b|model answer below",
    re.I,
)


def reading_problems(student: NotebookNode) -> list[str]:
    """What would read badly in Jupyter or Colab: MyST syntax left, links to instructor
    notebooks, references to removed cells."""
    problems = []
    for i, cell in enumerate(student.cells):
        if cell.cell_type == "markdown":
            m = _UNRESOLVED.search(cell.source)
            if m:
                problems.append(
                    f"cell {i}: MyST syntax Jupyter does not render: {m.group(0)!r}"
                )
            m = _REMOVED_CELL.search(cell.source)
            if m:
                problems.append(f"cell {i}: refers to a removed cell: {m.group(0)!r}")
        if re.search(r"/blob/main/notebooks/[\w.-]+\.ipynb", cell.source):
            problems.append(
                f"cell {i}: links to an instructor notebook (blob/main/notebooks/...)"
            )
    return problems


def _stub_problems(source: str) -> list[str]:
    problems = []
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"stub does not parse: {exc}"]
    funcs = [
        n
        for n in ast.walk(tree)
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
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
            problems.append(
                f"stub of {f.name!r} does more than `raise NotImplementedError(hint)`"
            )
    top = [
        n
        for n in tree.body
        if not isinstance(
            n,
            (
                ast.Import,
                ast.ImportFrom,
                ast.FunctionDef,
                ast.AsyncFunctionDef,
                ast.ClassDef,
                ast.Assign,
                ast.AnnAssign,
            ),
        )
    ]
    if top:
        problems.append(f"stub cell runs code at top level (line {top[0].lineno})")
    return problems


def check_student_notebook(
    student: NotebookNode,
    instructor: NotebookNode | None = None,
    colab_base: str | None = None,
) -> list[str]:
    """Problems of a student notebook (empty list: fine).

    Always: no ``solution`` cell, no ``{solution-start}``/``{solution-end}`` directive,
    no outputs or execution counts, every ``stub`` cell only raises
    ``NotImplementedError``, nothing that reads badly in Jupyter
    (:func:`reading_problems`). With the ``instructor`` notebook also: it equals
    ``make_student_notebook(instructor)`` and no line of a solution function body
    appears in it, hints included (:func:`solution_leaks`).
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
    problems += reading_problems(student)
    if instructor is not None:
        expected = make_student_notebook(instructor, colab_base=colab_base)
        if [(c.cell_type, c.source, _tags(c)) for c in expected.cells] != [
            (c.cell_type, c.source, _tags(c)) for c in student.cells
        ]:
            problems.append(
                "out of date: differs from what make_student makes of its source now"
            )
        text = "\n".join(c.source for c in student.cells)
        student_lines = {line.strip() for line in text.splitlines()}
        for line in sorted(solution_body_lines(instructor) & student_lines):
            problems.append(f"solution code survives: {line!r}")
    return problems


def hint_problems(instructor: NotebookNode, student: NotebookNode) -> list[str]:
    """Text that gives the answer away: a solution line anywhere in the student notebook
    (inside a longer line, a docstring or a hint), or a solution expression in a hint.

    ``make student`` prints these as warnings (the notebooks' authors fix the text);
    ``tests/test_student.py`` requires none.
    """
    problems = [
        f"a solution line appears in {where}: {line!r}"
        for line, where in solution_leaks(instructor, student)
    ]
    problems += [
        f"a hint gives solution code away ({expr!r}): {hint!r}"
        for expr, hint in hint_leaks(instructor, student)
    ]
    return problems


def instructor_problems(nb: NotebookNode) -> list[str]:
    """Convention problems of an instructor notebook (empty list: fine).

    Every cell from a ``{solution-start}`` cell to its ``{solution-end}`` cell must
    carry the ``solution`` tag, gates must be balanced, and each gate must follow an
    exercise.
    """
    problems = []
    inside = False
    for i, cell in enumerate(nb.cells):
        opens = bool(re.search(r"\{solution-start\}", cell.source))
        closes = bool(re.search(r"\{solution-end\}", cell.source))
        if opens and inside:
            problems.append(f"cell {i}: solution-start inside an open solution block")
        if (inside or opens or closes) and SOLUTION_TAG not in _tags(cell):
            problems.append(
                f"cell {i}: inside a solution block but not tagged {SOLUTION_TAG!r}"
            )
        if opens:
            inside = True
        if closes:
            if not inside and not opens:
                problems.append(f"cell {i}: solution-end without solution-start")
            inside = False
    if inside:
        problems.append("a solution-start has no matching solution-end")
    return problems


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
def _default_notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        type=Path,
        help="instructor notebooks (default: notebooks/*.ipynb)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "_build" / "student", help="output directory"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="verify the student notebooks already in --out",
    )
    parser.add_argument(
        "--colab-base",
        default=None,
        help="URL of the folder the student notebooks are published in, for the "
        "Colab badge (default: the repository's 'student' branch on Colab)",
    )
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
                problems = check_student_notebook(
                    nbformat.read(str(target), as_version=4),
                    instructor,
                    args.colab_base,
                )
        else:
            student = make_student_notebook(
                instructor, chapter=path.stem, colab_base=args.colab_base
            )
            problems = check_student_notebook(student, instructor, args.colab_base)
            if not problems:
                args.out.mkdir(parents=True, exist_ok=True)
                nbformat.write(student, str(target))
        for p in problems:
            print(f"{path.name}: {p}", file=sys.stderr)
        if not args.check or target.exists():
            student_now = make_student_notebook(
                instructor, chapter=path.stem, colab_base=args.colab_base
            )
            for p in hint_problems(instructor, student_now):
                print(f"{path.name}: warning: {p}", file=sys.stderr)
        failed += bool(problems)
    verb = "verified" if args.check else "written to " + str(args.out)
    if failed:
        print(
            f"{failed} of {len(notebooks)} student notebooks have problems",
            file=sys.stderr,
        )
        return 1
    print(f"{len(notebooks)} student notebooks {verb}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
