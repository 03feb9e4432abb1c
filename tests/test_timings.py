"""tools/timings.py: budget logic and the page it writes, on made-up numbers (nothing is
executed)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("timings", ROOT / "tools" / "timings.py")
timings = importlib.util.module_from_spec(_spec)
sys.modules["timings"] = timings  # dataclasses look their module up here
_spec.loader.exec_module(timings)

Timing, Machine = timings.Timing, timings.Machine
MACHINE = Machine(cpu="Test CPU 9000", cores=2, date="2026-01-02", python="3.11.9")


def chapters(*seconds: float | None) -> list:
    return [
        Timing(
            f"notebooks/{i:02d}_x.ipynb",
            f"{i}. Chapter {i}",
            s,
            "" if s is not None else "CellExecutionError: boom",
        )
        for i, s in enumerate(seconds, start=1)
    ]


def test_within_budget_has_no_problems() -> None:
    assert timings.budget_problems(chapters(10.0, 59.9, 30.0)) == []


def test_a_slow_chapter_is_reported_by_name() -> None:
    problems = timings.budget_problems(chapters(10.0, 60.0, 75.5))
    assert len(problems) == 2
    assert problems[0].startswith("notebooks/02_x.ipynb: 60.0 s")
    assert "notebooks/03_x.ipynb: 75.5 s" in problems[1]


def test_the_whole_book_budget_applies_to_the_sum() -> None:
    # six chapters of 55 s: each fine, together 330 s > 300 s
    problems = timings.budget_problems(chapters(*[55.0] * 6))
    assert problems == ["whole book: 330.0 s, over the 300 s budget of the book"]
    assert timings.budget_problems(chapters(*[55.0] * 5)) == []  # 275 s


def test_a_failed_chapter_is_a_problem_and_not_counted_in_the_total() -> None:
    runs = chapters(12.0, None)
    assert timings.total_seconds(runs) == pytest.approx(12.0)
    assert timings.budget_problems(runs) == [
        "notebooks/02_x.ipynb: failed to run (CellExecutionError: boom)"
    ]


def test_custom_budgets() -> None:
    assert timings.budget_problems(
        chapters(5.0, 6.0), chapter_budget=5.5, book_budget=100
    ) == ["notebooks/02_x.ipynb: 6.0 s, over the 6 s budget of a chapter"]


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), float("nan")])
def test_bad_budget_values_are_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="chapter_budget"):
        timings.budget_problems(chapters(1.0), chapter_budget=bad)


def test_budget_must_be_a_number() -> None:
    with pytest.raises(
        TypeError, match=r"book_budget must be a number of seconds, got '6 min'"
    ):
        timings.budget_problems(chapters(1.0), book_budget="6 min")


def test_table_rows_and_total() -> None:
    table = timings.format_table(chapters(12.345, 61.0, None))
    lines = table.splitlines()
    assert lines[0] == "| Chapter | Notebook | Seconds | Status | Uncompared cells |"
    assert lines[2] == "| 1. Chapter 1 | `notebooks/01_x.ipynb` | 12.3 | ok |  |"
    assert (
        lines[3] == "| 2. Chapter 2 | `notebooks/02_x.ipynb` | 61.0 | over budget |  |"
    )
    assert lines[4] == "| 3. Chapter 3 | `notebooks/03_x.ipynb` | n/a | failed |  |"
    assert lines[5] == "| **Whole book** | 3 chapters | **73.3** | incomplete | |"
    assert len(lines) == 6


def test_table_escapes_pipes_in_titles() -> None:
    table = timings.format_table([Timing("notebooks/01_a.ipynb", "1. a | b", 1.0)])
    assert "| 1. a \\| b |" in table


def test_page_states_machine_date_budget_and_verdict() -> None:
    page = timings.render_page(chapters(10.0, 20.0), MACHINE)
    assert page.startswith("(timings)=\n# Execution times\n")
    assert "Measured on 2026-01-02: CPU Test CPU 9000, 2 cores, Python 3.11.9." in page
    assert (
        "under 60 s" in page
        and "under 5 minutes (300 s)" in page
        and "2-core CPU" in page
    )
    assert "| **Whole book** | 2 chapters | **30.0** | ok | |" in page
    assert "Every chapter is within budget." in page


def test_page_lists_what_is_over_budget() -> None:
    page = timings.render_page(chapters(90.0), MACHINE)
    # the book total is fine
    assert "| **Whole book** | 1 chapter | **90.0** | ok |" in page
    assert "**Over budget:**" in page
    assert "- notebooks/01_x.ipynb: 90.0 s, over the 60 s budget of a chapter" in page
    assert "within budget" not in page


def test_chapter_title_is_the_first_h1() -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("# 1. not a heading"),
            nbformat.v4.new_markdown_cell("(ch-x)=\n# 3. Xavier in practice\n\ntext"),
        ]
    )
    assert timings.chapter_title(nb, "fallback") == "3. Xavier in practice"
    assert timings.chapter_title(nbformat.v4.new_notebook(), "fallback") == "fallback"


def test_committed_page_is_in_the_toc_and_has_a_table() -> None:
    page = (ROOT / "book" / "timings.md").read_text(encoding="utf-8")
    assert page.startswith("(timings)=\n# Execution times")
    assert "| **Whole book** |" in page
    assert "book/timings" in (ROOT / "_toc.yml").read_text(encoding="utf-8")
