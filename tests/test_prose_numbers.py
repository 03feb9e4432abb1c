"""Every number in a chapter's prose comes from that chapter's own cells.

CONTRIBUTING.md: "Every number in the prose comes from a cell output of the same
chapter". This test reads the stored notebooks (no kernel) and, for every Markdown cell,
collects the numbers a reader sees: decimals (``0.46``, ``1.76``), scientific notation
(``3.3e-5``, ``1e-12``, ``1.8e+07``) and percentages (``93 %``). Integers without a
decimal point are not collected (counts, layer sizes, years, section numbers), nor
anything inside math (``$...$``, ``$$...$$``), code spans and fenced code, MyST roles
(``{glue:text}`...```, ``{cite}``, ``{ref}``, ``{eq}``), URLs, HTML tags, labels and
directive options, section or equation numbers (``§3.1``, ``equation 4.2``), version
strings and the time estimate of "What you will learn".

Each collected number must be *backed*, i.e. agree, at the precision the prose writes
it, with

- a number in the chapter's stored outputs (stream text, ``text/plain``, glue records,
  error messages), or
- a numeric literal in the chapter's code (a configuration constant such as
  ``SIGMA = 0.01`` that the prose repeats, or a paper's reference value the code prints
  or asserts against), or
- an entry of ``ALLOWLIST`` below (mathematical constants and paper values quoted in
  prose).

"At the precision the prose writes it": ``0.46`` is backed by an output ``0.4603`` (it
rounds to it at two decimals), ``3.3e-5`` by ``3.27e-05`` (two significant digits),
``93 %`` by ``0.931`` or by ``93.1%``. Signs are ignored (prose writes "falls by 0.3"
for an output ``-0.3``).
"""

from __future__ import annotations

import io
import math
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# Numbers the prose may quote without a cell printing them: exact mathematical constants
# and values that are definitions, not measurements. Keep this short and say where each
# comes from.
ALLOWLIST: dict[float, str] = {
    0.8796256610: (
        "std of a standard normal truncated at ±2 (Keras' truncated-normal correction)"
    ),
    math.sqrt(2): "the ReLU gain of He et al. (2015); prose writes √2 ≈ 1.414",
    5 / 3: "the tanh gain of PyTorch's calculate_gain; prose writes 5/3 ≈ 1.667",
}

# A number a reader sees: 0.46, .5, 1,234.5, 3.3e-5, 1e-12, 1.8e+07, 93 %, 12.5%.
_NUMBER = re.compile(
    r"(?<![\w.\-/])"  # not inside a word, a longer number, a path or a range like 1-2
    r"(?P<mant>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+|\d+|\.\d+)"
    r"(?P<exp>[eE][+-]?\d+)?"
    r"(?P<pct>\s?%)?"
    # not followed by more digits/letters or a second dot (versions 3.15.1)
    r"(?![\w]|\.\d)"
)
# Words after which a number is a reference, not a measurement: §3.1,
# section 4.2, eq. 3.
_REFERENCE_WORD = re.compile(
    r"(?:§|\bsections?|\bsec\.|\bequations?|\beqs?\.|\bchapters?|\bch\.|\bsteps?|\btables?"
    r"|\bfigures?|\bfig\.|\bversions?|\bv|\bpython|\bkeras|\btensorflow|\bnumpy|\bscipy|\bpytorch"
    r"|\bpywavelets|\bnbval|\bjupyter-book|\bsphinx|\bmyst|\bscikit-learn|\bmatplotlib)\s*$",
    re.IGNORECASE,
)
_OUTPUT_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d*)?|\.\d+)([eE][+-]?\d+)?(\s?%)?")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(\{[^}]*\}|[\w+-]*)")


@dataclass(frozen=True)
class ProseNumber:
    """A number as written in prose: its text, value, and the resolution it is written
    at."""

    text: str
    value: float
    resolution: float  # half a unit in the last written digit
    percent: bool
    context: str


def parse_prose_number(
    mant: str, exp: str | None, pct: bool, context: str = ""
) -> ProseNumber:
    """Value and rounding resolution of a number written as ``mant`` [``exp``]
    [``%``]."""
    m = mant.replace(",", "")
    decimals = len(m.split(".")[1]) if "." in m else 0
    e = int(exp[1:]) if exp else 0
    value = float(m) * 10.0**e
    resolution = 0.5 * 10.0 ** (e - decimals)
    text = mant + (exp or "") + (" %" if pct else "")
    return ProseNumber(text, value, resolution, pct, context)


def _strip_markdown(source: str) -> str:
    """The prose of a Markdown cell with math, code, roles, URLs, HTML and labels
    removed."""
    kept: list[str] = []
    stack: list[tuple[str, bool]] = []  # (fence, is_code)
    for line in source.splitlines():
        m = _FENCE.match(line)
        if m:
            fence, info = m.group(1), m.group(2)
            if (
                stack
                and not info
                and fence.startswith(stack[-1][0][:3])
                and len(fence) >= len(stack[-1][0])
            ):
                stack.pop()
                continue
            # a directive (```{exercise}) holds prose; code and math blocks do not
            is_code = not info.startswith("{") or info in (
                "{code-cell}",
                "{code-block}",
                "{code}",
                "{math}",
            )
            stack.append((fence, is_code))
            continue
        if any(is_code for _, is_code in stack):
            continue
        if re.match(r"^\s*:[\w-]+:", line):  # directive options (:label:, :class:)
            continue
        if re.match(r"^\s*\*\*Time\b", line):  # the "What you will learn" time estimate
            continue
        kept.append(line)
    text = "\n".join(kept)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$[^$]+?(?<!\\)\$", " ", text, flags=re.S)
    # roles: {glue:text}`x`, {cite}`k`
    text = re.sub(r"\{[\w:-]+\}(`+)[^`]*?\1", " ", text)
    text = re.sub(r"(`+)[^`]*?\1", " ", text)  # code spans
    text = re.sub(r"<[^>]*>", " ", text)  # HTML (the Colab badge)
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    text = re.sub(r"https?://\S+", " ", text)
    text = re.sub(r"^\([\w-]+\)=\s*$", " ", text, flags=re.M)  # labels
    return text.replace("\u2212", "-")


def prose_numbers(source: str) -> list[ProseNumber]:
    """The numbers a reader sees in one Markdown cell (see the module docstring)."""
    text = _strip_markdown(source)
    found: list[ProseNumber] = []
    for m in _NUMBER.finditer(text):
        mant, exp, pct = m.group("mant"), m.group("exp"), bool(m.group("pct"))
        if "." not in mant and not exp and not pct:
            continue  # plain integers: counts, sizes, years, section numbers
        before = text[max(0, m.start() - 20) : m.start()]
        if _REFERENCE_WORD.search(before):
            continue
        context = text[max(0, m.start() - 40) : m.end() + 20].replace("\n", " ")
        found.append(parse_prose_number(mant, exp, pct, context))
    return found


def _output_texts(cell: nbformat.NotebookNode) -> list[str]:
    texts: list[str] = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            texts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            texts.append(out.get("evalue", ""))
            texts.extend(_ANSI.sub("", t) for t in out.get("traceback", []))
        for mime, data in out.get("data", {}).items():
            if mime.endswith("text/plain") or mime.endswith("text/markdown"):
                texts.append(data if isinstance(data, str) else "".join(data))
    return texts


def output_numbers(nb: nbformat.NotebookNode) -> list[float]:
    """Every number in the stored outputs; a percentage also counts as its fraction."""
    values: list[float] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for text in _output_texts(cell):
            for m in _OUTPUT_NUMBER.finditer(text):
                try:
                    v = float(m.group(1) + (m.group(2) or ""))
                except ValueError:
                    continue
                values.append(v)
                if m.group(3):
                    values.append(v / 100)
    return values


def code_numbers(nb: nbformat.NotebookNode) -> list[float]:
    """Numeric literals in the code cells (constants, reference values); comments
    excluded."""
    values: list[float] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(cell.source).readline))
            literals = [t.string for t in tokens if t.type == tokenize.NUMBER]
        except (tokenize.TokenError, IndentationError, SyntaxError):
            literals = re.findall(r"(?<![\w.])\d+\.?\d*(?:[eE][+-]?\d+)?", cell.source)
        for lit in literals:
            try:
                values.append(float(lit.replace("_", "")))
            except ValueError:
                continue
    return values


def is_backed(number: ProseNumber, candidates: list[float]) -> bool:
    """Whether ``number`` rounds from a candidate at the precision the prose writes it.

    ``|candidate| - value`` must be within half a unit of the last written digit (a hair
    more, for binary floating point); a percentage may also match the candidate as a
    fraction.
    """
    # "93 %" is the fraction 0.93 (an output "93.1%" also counts as 0.931)
    if number.percent:
        targets = [(number.value / 100, number.resolution / 100)]
    else:
        targets = [(number.value, number.resolution)]
    return any(
        abs(abs(c) - target) <= res * (1 + 1e-6)
        for target, res in targets
        for c in candidates
    )


def is_code_constant(number: ProseNumber, literals: list[float]) -> bool:
    """Whether the prose repeats a code literal exactly (``SIGMA = 0.01`` -> "0.01")."""
    values = [number.value / 100] if number.percent else [number.value]
    return any(
        math.isclose(abs(lit), v, rel_tol=1e-9, abs_tol=1e-300)
        for v in values
        for lit in literals
    )


def unbacked_numbers(nb: nbformat.NotebookNode) -> list[tuple[int, ProseNumber]]:
    """(cell index, number) for every prose number no output, code literal or allowlist
    backs."""
    rounded = output_numbers(nb) + list(ALLOWLIST)
    literals = code_numbers(nb)
    bad: list[tuple[int, ProseNumber]] = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for number in prose_numbers(cell.source):
            if not (is_backed(number, rounded) or is_code_constant(number, literals)):
                bad.append((i, number))
    return bad


# ------------------------------------------------------------------------- the chapters


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_prose_number_is_backed_by_the_chapter(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    bad = unbacked_numbers(nb)
    report = "\n".join(f"  cell {i}: {n.text!r} in ...{n.context}..." for i, n in bad)
    assert not bad, (
        f"{path.name}: {len(bad)} number(s) in the prose appear in no output or code "
        f"of the chapter (quote the printed value, glue it, or remove it):\n{report}"
    )


# ------------------------------------------------------------------- the checker itself


def _notebook(
    markdown: str, code: str = "", printed: str = ""
) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(code)
    if printed:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
    nb.cells = [cell, nbformat.v4.new_markdown_cell(markdown)]
    return nb


def test_an_unbacked_number_is_reported() -> None:
    nb = _notebook("The loss falls to 0.37 after training.", printed="loss 0.412\n")
    bad = unbacked_numbers(nb)
    assert [(i, n.text) for i, n in bad] == [(1, "0.37")]


def test_rounding_at_the_written_precision() -> None:
    nb = _notebook(
        "Accuracy 0.46, variance 3.3e-5, std 1.76, tiny 1e-12, share 93 %.",
        printed="acc 0.4603 var 3.27e-05 std 1.7649 tiny 1.2e-12 share 0.9312\n",
    )
    assert unbacked_numbers(nb) == []
    # one digit more than the output supports is not backed: 0.461 is not 0.4603
    assert [
        n.text for _, n in unbacked_numbers(_notebook("now 0.461", printed="0.4603"))
    ] == ["0.461"]
    # rounding, not closeness: 0.47 is not 0.4603
    assert len(unbacked_numbers(_notebook("now 0.47", printed="0.4603"))) == 1


def test_what_is_not_prose_is_skipped() -> None:
    md = (
        "(ch-x)=\n# 1. Title\nMath $\\sigma = 0.37$ and $$q = 2.71$$, code `x = 0.99`, "
        "{glue:text}`ch_acc:.3f`,\nsee §3.1 and section 4.2, Keras 3.15.1, Python "
        "3.11, [a link](https://x.org/v0.12/),\na count of 784 units, in "
        "2015.\n\n```python\ny = 5.55\n```\n```{exercise} T\n:label: ex-1.5\n\nAn "
        "exercise with 0.37.\n```\n**Time:** about 1.5 hours."
    )
    bad = unbacked_numbers(_notebook(md))
    # only the one inside the exercise prose
    assert [n.text for _, n in bad] == ["0.37"], bad


def test_code_constants_and_allowlist_back_numbers() -> None:
    nb = _notebook(
        "We use sigma 0.01 and the 0.8796 correction.", code="SIGMA = 0.01  # 0.37\n"
    )
    assert unbacked_numbers(nb) == []
    # a number in a code comment backs nothing, and a code literal is matched exactly
    assert len(unbacked_numbers(_notebook("It is 0.37.", code="x = 1  # 0.37\n"))) == 1
    assert len(unbacked_numbers(_notebook("It is 0.37.", code="x = 0.3712\n"))) == 1


def test_percent_output_backs_a_fraction_and_vice_versa() -> None:
    assert unbacked_numbers(_notebook("93.1 % of units", printed="0.931")) == []
    assert unbacked_numbers(_notebook("93 % of units", printed="93.1% of units")) == []
    assert unbacked_numbers(_notebook("a fraction 0.93", printed="93.1%")) == []
    # a percentage is a fraction: "4 %" is not backed by a printed 4 or a literal 4
    assert (
        len(
            unbacked_numbers(
                _notebook("about 4 % too large", code="k = 4\n", printed="4\n")
            )
        )
        == 1
    )
