"""Notebook hygiene: what every chapter must satisfy before nbval even runs it.

Plain pytest over the stored JSON (no kernel): the table of contents matches the files,
the chapters ran top to bottom on a fresh kernel, store no errors or stderr, stay small,
and all start with the same badge and Colab-only setup cell pointing at
``repository.url``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from chapter_cells import badge_markdown, colab_url, repository_url, setup_cell_source  # noqa: E402

TOC = (ROOT / "_toc.yml").read_text(encoding="utf-8")
TOC_REFS = re.findall(r"(?:file|root):\s*([\w./-]+)", TOC)
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
INSTALL = re.compile(r"(^|\n)\s*[%!]\s*(pip|conda|mamba|uv)\b|pip install|apt-get")


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def code_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


def src(cell: dict) -> str:
    s = cell["source"]
    return "".join(s) if isinstance(s, list) else s


def test_toc_entries_exist():
    assert TOC_REFS, "_toc.yml lists nothing"
    missing = [
        r
        for r in TOC_REFS
        if not any((ROOT / (r + ext)).exists() for ext in (".md", ".ipynb"))
    ]
    assert not missing, f"_toc.yml names files that do not exist: {missing}"


def test_every_notebook_is_in_toc():
    listed = {r for r in TOC_REFS}
    orphans = [p.name for p in NOTEBOOKS if f"notebooks/{p.stem}" not in listed]
    assert not orphans, (
        f"notebooks not listed in _toc.yml (the site would not show them): {orphans}"
    )


def test_there_are_chapters():
    assert NOTEBOOKS, "no chapter notebooks in notebooks/"


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def nb_path(request) -> Path:
    return request.param


def test_size_under_2mb(nb_path):
    size = nb_path.stat().st_size
    assert size < 2_000_000, (
        f"{nb_path.name} is {size / 1e6:.2f} MB; keep notebooks under 2 MB"
    )


def test_executed_top_to_bottom(nb_path):
    counts = [c.get("execution_count") for c in code_cells(load(nb_path))]
    assert counts == list(range(1, len(counts) + 1)), (
        f"{nb_path.name}: execution counts {counts} are not 1..N; "
        f"run `python tools/execute.py {nb_path.relative_to(ROOT)}`"
    )


def test_no_stored_errors_or_stderr(nb_path):
    for i, cell in enumerate(code_cells(load(nb_path))):
        tags = cell.get("metadata", {}).get("tags", [])
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                assert "raises-exception" in tags, (
                    f"{nb_path.name}: code cell {i} stores an error"
                )
            if out["output_type"] == "stream":
                assert out["name"] != "stderr", (
                    f"{nb_path.name}: code cell {i} stores stderr: "
                    f"{''.join(out['text'])[:200]!r}"
                )


def test_raises_exception_cells_really_raise(nb_path):
    for i, cell in enumerate(code_cells(load(nb_path))):
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            kinds = [o["output_type"] for o in cell.get("outputs", [])]
            assert "error" in kinds, (
                f"{nb_path.name}: cell {i} is tagged raises-exception but stores no "
                "error"
            )


def test_no_widget_state(nb_path):
    nb = load(nb_path)
    assert "widgets" not in nb.get("metadata", {}), (
        f"{nb_path.name}: remove widget state"
    )


def test_title_and_colab_badge(nb_path):
    first = load(nb_path)["cells"][0]
    text = src(first)
    assert first["cell_type"] == "markdown"
    assert re.search(r"^# \d+\. ", text, flags=re.M) or re.search(
        r"^# ", text, flags=re.M
    ), "no H1 title"
    assert "Open in Colab" in text, (
        f"{nb_path.name}: the first cell must carry the Open in Colab badge"
    )
    assert badge_markdown(nb_path.name) in text, (
        f"{nb_path.name}: the badge must be the standard one linking to "
        f"{colab_url(nb_path.name)} (repository.url in _config.yml); `python "
        "tools/execute.py` refreshes it"
    )


def test_same_colab_setup_cell(nb_path):
    cells = code_cells(load(nb_path))
    assert cells, "no code cells"
    assert src(cells[0]) == setup_cell_source(), (
        f"{nb_path.name}: the first code cell must be the standard Colab-only setup "
        f"cell installing from {repository_url()} (see tools/chapter_cells.py)"
    )


def test_no_other_install_cells(nb_path):
    for i, cell in enumerate(code_cells(load(nb_path))[1:], start=1):
        assert not INSTALL.search(src(cell)), (
            f"{nb_path.name}: code cell {i} installs packages; only the setup cell may"
        )


def test_chapter_anatomy(nb_path):
    md = [src(c) for c in load(nb_path)["cells"] if c["cell_type"] == "markdown"]
    joined = "\n".join(md)
    assert re.search(r"^## What you will learn", joined, flags=re.M), (
        f"{nb_path.name}: no 'What you will learn'"
    )
    heads = [h for h in re.findall(r"^## (.+)$", joined, flags=re.M)]
    assert "Summary" in heads and "Exercises" in heads, (
        f"{nb_path.name}: needs ## Summary and ## Exercises"
    )
    assert heads.index("Summary") < heads.index("Exercises")


def test_kernelspec_is_python3(nb_path):
    ks = load(nb_path).get("metadata", {}).get("kernelspec", {})
    assert ks.get("name") == "python3", f"{nb_path.name}: kernelspec {ks!r}"


UNCOMPARED = "# NBVAL_IGNORE_OUTPUT"
#: At most this share of a chapter's code cells may leave their text out of
#: nbval's comparison.
MAX_UNCOMPARED_SHARE = 0.10


def test_uncompared_cells_are_rare_and_assert_their_claim(nb_path):
    """Cells whose text differs across CPUs (one training run's numbers) are marked with
    ``# NBVAL_IGNORE_OUTPUT`` on their first line; they are at most 10% of the chapter's
    code cells, and each checks its claim with an ``assert`` (or a
    ``check_``/``assert_`` helper)."""
    cells = code_cells(load(nb_path))
    marked = [i for i, c in enumerate(cells) if UNCOMPARED in src(c)]
    for i in marked:
        text = src(cells[i])
        first = text.lstrip().splitlines()[0].strip()
        assert first == UNCOMPARED, (
            f"{nb_path.name}: code cell {i}: put {UNCOMPARED} alone on the cell's "
            "first line "
            f"(nbval does not see it in {first!r}); give the reason on the next line"
        )
        assert re.search(r"\bassert\b|\bassert_\w+\(|\bcheck_\w+\(", text), (
            f"{nb_path.name}: code cell {i} is left out of the output comparison but "
            "asserts nothing; its claim must be an assert"
        )
    allowed = int(MAX_UNCOMPARED_SHARE * len(cells))
    assert len(marked) <= allowed, (
        f"{nb_path.name}: {len(marked)} of {len(cells)} code cells carry {UNCOMPARED} "
        f"(cells {marked}); at most {allowed} (10%) may. Print rounded aggregates over "
        "seeds instead of one run's numbers."
    )


def uncompared_counts() -> dict[str, tuple[int, int]]:
    """``{notebook: (uncompared cells, code cells)}``, for the closing notes and timings
    page."""
    out = {}
    for path in NOTEBOOKS:
        cells = code_cells(load(path))
        out[path.name] = (sum(UNCOMPARED in src(c) for c in cells), len(cells))
    return out
