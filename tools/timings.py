"""Time every chapter on a fresh kernel and write the "Execution times" page of the
book.

    python tools/timings.py # every chapter listed in _toc.yml (what `make timings`
    runs) python tools/timings.py notebooks/01_background.ipynb # only these (the page
    lists only them)

Each chapter is copied to a temporary folder and run there, top to bottom, on a fresh
``python3`` kernel; the notebooks themselves are never modified. The wall-clock seconds
go to ``book/timings.md`` (a MyST page of the book, with the CPU model, core count and
date of the measurement) and ``_build/timings.json``. The table is printed, and the exit
status is 1 when a chapter failed or the budget is exceeded: every chapter under 60 s
and the whole book under 5 minutes on a 2-core CPU (CONTRIBUTING.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute import toc_notebooks  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "book" / "timings.md"
JSON_OUT = ROOT / "_build" / "timings.json"
CHAPTER_BUDGET = 60.0  # seconds, each chapter
BOOK_BUDGET = 300.0  # seconds, all chapters together (the developers' guide: 5 minutes)
BUDGET_CORES = 2


@dataclass(frozen=True)
class Timing:
    """One chapter's measurement: ``seconds`` is None when the chapter failed to run."""

    file: str
    title: str
    seconds: float | None
    error: str = ""
    uncompared: str = ""  # "2/31": code cells marked NBVAL_IGNORE_OUTPUT / code cells


@dataclass(frozen=True)
class Machine:
    """Where and when the measurement was taken."""

    cpu: str
    cores: int
    date: str
    python: str


def check_positive_number(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a number of seconds, got {value!r} "
            f"({type(value).__name__})"
        )
    if not value > 0 or value == float("inf"):
        raise ValueError(
            f"{name} must be a finite number of seconds > 0, got {value!r}"
        )
    return float(value)


def budget_problems(
    timings: list[Timing],
    chapter_budget: float = CHAPTER_BUDGET,
    book_budget: float = BOOK_BUDGET,
) -> list[str]:
    """Every way ``timings`` break the budget (empty list: within budget).

    A chapter breaks it by failing or by taking ``>= chapter_budget`` seconds; the book
    by a total of ``>= book_budget`` seconds over the chapters that ran.
    """
    chapter_budget = check_positive_number("chapter_budget", chapter_budget)
    book_budget = check_positive_number("book_budget", book_budget)
    problems = []
    for t in timings:
        if t.seconds is None:
            problems.append(f"{t.file}: failed to run ({t.error or 'unknown error'})")
        elif t.seconds >= chapter_budget:
            problems.append(
                f"{t.file}: {t.seconds:.1f} s, over the {chapter_budget:.0f} s budget "
                "of a chapter"
            )
    total = total_seconds(timings)
    if total >= book_budget:
        problems.append(
            f"whole book: {total:.1f} s, over the {book_budget:.0f} s budget of the "
            "book"
        )
    return problems


def total_seconds(timings: list[Timing]) -> float:
    """Sum of the seconds of the chapters that ran."""
    return sum(t.seconds for t in timings if t.seconds is not None)


def status(seconds: float | None, budget: float) -> str:
    """``"ok"``, ``"over budget"`` or ``"failed"``."""
    if seconds is None:
        return "failed"
    return "ok" if seconds < budget else "over budget"


def format_table(
    timings: list[Timing],
    chapter_budget: float = CHAPTER_BUDGET,
    book_budget: float = BOOK_BUDGET,
) -> str:
    """A Markdown table: chapter, file, seconds (one decimal), status; then the total
    row."""
    rows = [
        "| Chapter | Notebook | Seconds | Status | Uncompared cells |",
        "| --- | --- | ---: | --- | ---: |",
    ]
    for t in timings:
        secs = "n/a" if t.seconds is None else f"{t.seconds:.1f}"
        title = t.title.replace("|", "\\|")
        rows.append(
            f"| {title} | `{t.file}` | {secs} | {status(t.seconds, chapter_budget)} | "
            f"{t.uncompared} |"
        )
    total = total_seconds(timings)
    book_status = status(total, book_budget)
    if any(t.seconds is None for t in timings):
        book_status = "incomplete"
    n = len(timings)
    rows.append(
        f"| **Whole book** | {n} chapter{'' if n == 1 else 's'} | **{total:.1f}** | "
        f"{book_status} | |"
    )
    return "\n".join(rows)


def render_page(
    timings: list[Timing],
    machine: Machine,
    chapter_budget: float = CHAPTER_BUDGET,
    book_budget: float = BOOK_BUDGET,
) -> str:
    """The MyST page ``book/timings.md``."""
    problems = budget_problems(timings, chapter_budget, book_budget)
    verdict = (
        "Every chapter is within budget."
        if not problems
        else "**Over budget:**\n\n" + "\n".join(f"- {p}" for p in problems)
    )
    return f"""(timings)=
# Execution times

How long each chapter takes to run top to bottom on a fresh Python kernel, \
as measured by
`make timings` (`tools/timings.py`, which runs each chapter listed in the
table of contents). The budget: every chapter under {chapter_budget:.0f} s, \
and the whole book
under {book_budget / 60:.0f} minutes ({book_budget:.0f} s), \
on a {BUDGET_CORES}-core CPU.

{format_table(timings, chapter_budget, book_budget)}

{verdict}

"Uncompared cells" counts the code cells whose text strict nbval does not compare (first
line `# NBVAL_IGNORE_OUTPUT`: numbers that differ between CPUs, \
such as one training run's
loss), out of the chapter's code cells; each of them asserts its claim.

Measured on {machine.date}: CPU {machine.cpu}, {machine.cores} cores, \
Python {machine.python}.
Times include starting the kernel and importing the libraries; \
the CPU was shared with other
work, so treat them as upper bounds.
"""


def machine_info() -> Machine:
    """CPU model (from ``/proc/cpuinfo`` where available), usable cores, today's UTC
    date."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    cores = (
        len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else (os.cpu_count() or 1)
    )
    return Machine(
        cpu=cpu or "unknown CPU",
        cores=cores,
        date=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d"),
        python=platform.python_version(),
    )


def chapter_title(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first ``# `` heading of the notebook's Markdown cells."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def time_chapter(path: Path, timeout: int = 600, root: Path = ROOT) -> Timing:
    """Run the notebook at ``path`` on a fresh kernel, in memory; return its wall
    time."""
    nb = nbformat.read(path, as_version=4)
    rel = (
        path.resolve().relative_to(root).as_posix()
        if path.resolve().is_relative_to(root)
        else str(path)
    )
    title = chapter_title(nb, path.stem)
    code = [c for c in nb.cells if c.cell_type == "code"]
    marked = sum(c.source.lstrip().startswith("# NBVAL_IGNORE_OUTPUT") for c in code)
    uncompared = f"{marked}/{len(code)}"
    env_backup = dict(os.environ)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.setdefault("PYTHONHASHSEED", "0")
    try:
        # Executed in memory (the notebook file is never written), in the chapter's own
        # folder so that relative paths resolve exactly as they do for a reader.
        copy = nbformat.read(path, as_version=4)
        ep = ExecutePreprocessor(
            timeout=timeout, kernel_name="python3", allow_errors=False
        )
        start = time.perf_counter()
        ep.preprocess(copy, {"metadata": {"path": str(path.resolve().parent)}})
        return Timing(rel, title, time.perf_counter() - start, uncompared=uncompared)
    except Exception as exc:  # a failing chapter is reported, the others still run
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        return Timing(
            rel, title, None, f"{type(exc).__name__}: {first_line[:200]}", uncompared
        )
    finally:
        os.environ.clear()
        os.environ.update(env_backup)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "notebooks", nargs="*", type=Path, help="default: every chapter in _toc.yml"
    )
    parser.add_argument(
        "--page",
        type=Path,
        default=PAGE,
        help=f"MyST page to write (default {PAGE.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=JSON_OUT,
        help=f"JSON to write (default {JSON_OUT.relative_to(ROOT)})",
    )
    args = parser.parse_args(argv)
    paths = args.notebooks or toc_notebooks(ROOT)
    if not paths:
        parser.error("no chapter notebooks in _toc.yml and none named")
    timings = []
    for path in paths:
        t = time_chapter(Path(path))
        shown = "failed: " + t.error if t.seconds is None else f"{t.seconds:.1f} s"
        print(f"{t.file}: {shown}", flush=True)
        timings.append(t)
    machine = machine_info()
    args.page.write_text(render_page(timings, machine), encoding="utf-8")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    problems = budget_problems(timings)
    args.json.write_text(
        json.dumps(
            {
                "machine": asdict(machine),
                "budget": {
                    "chapter_seconds": CHAPTER_BUDGET,
                    "book_seconds": BOOK_BUDGET,
                    "cores": BUDGET_CORES,
                },
                "chapters": [asdict(t) for t in timings],
                "total_seconds": round(total_seconds(timings), 2),
                "problems": problems,
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print()
    print(format_table(timings))
    print(
        f"\n{machine.cpu}, {machine.cores} cores, {machine.date}. Wrote {args.page} "
        f"and {args.json}."
    )
    if problems:
        print(
            "\nOVER BUDGET:\n" + "\n".join(f"  {p}" for p in problems), file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
