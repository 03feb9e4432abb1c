"""Figures of every chapter notebook: captioned, named, described, small, no titles.

A code cell that stores an ``image/png`` output must carry (CONTRIBUTING.md)::

    {"mystnb": {"figure": {"caption": "...", "name": "fig-chNN-topic"}, "image": {"alt":
    "..."}}}

myst-nb 1.4 reads ``mystnb.figure`` as the figure options (``render_figure_options``,
cell key ``figure``: caption, name) and ``mystnb.image`` as the image options
(``render_image_options``, cell key ``image``: alt, width, ...), so ``mystnb.image.alt``
becomes the ``alt`` text of the ``<img>``. Figure names are labels, unique across the
book. The caption says what a title would, so no
``plt.title``/``set_title``/``suptitle``. Each png stays under 300 kB.

Figures are "retina" PNGs (``initcourse.plotting.use_style`` sets IPython's ``retina``
inline format): drawn at twice their display resolution, with the display size in the
output's ``metadata["image/png"]`` (``width``, ``height``), so they stay sharp on
high-resolution screens. Strict nbval does not compare ``image/png``, so this costs no
determinism.
"""

from __future__ import annotations

import base64
import re
import struct
from collections import Counter
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
MAX_PNG_BYTES = 300_000
TITLE_CALL = re.compile(r"(\bplt\.title\(|\.set_title\(|suptitle\()")
LABEL = re.compile(r"^[A-Za-z][\w-]*$")


def figure_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    """(index, cell) of every code cell with at least one ``image/png`` output."""
    return [
        (i, c)
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        and any("image/png" in o.get("data", {}) for o in c.get("outputs", []))
    ]


def pngs(cell: nbformat.NotebookNode) -> list[bytes]:
    """The decoded ``image/png`` outputs of a code cell."""
    found = []
    for out in cell.get("outputs", []):
        data = out.get("data", {}).get("image/png")
        if data is not None:
            found.append(
                base64.b64decode("".join(data) if isinstance(data, list) else data)
            )
    return found


def names(nb_path: Path) -> list[str]:
    nb = nbformat.read(nb_path, as_version=4)
    return [
        c.metadata.get("mystnb", {}).get("figure", {}).get("name", "")
        for _, c in figure_cells(nb)
    ]


def ids(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def test_there_are_chapters_to_check() -> None:
    if not NOTEBOOKS:
        pytest.skip("no chapter notebooks in notebooks/ yet")
    assert all(p.suffix == ".ipynb" for p in NOTEBOOKS)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_every_figure_has_caption_name_and_alt(nb_path: Path) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    problems = []
    for i, cell in figure_cells(nb):
        meta = cell.metadata.get("mystnb", {})
        figure, image = meta.get("figure", {}), meta.get("image", {})
        where = f"{nb_path.name} cell {i}"
        caption = figure.get("caption")
        if not isinstance(caption, str) or not caption.strip():
            problems.append(f"{where}: no mystnb.figure.caption")
        name = figure.get("name")
        if not isinstance(name, str) or not LABEL.match(name):
            problems.append(
                f"{where}: mystnb.figure.name {name!r} is missing or not a label "
                "(e.g. fig-ch01-topic)"
            )
        alt = image.get("alt")
        if not isinstance(alt, str) or not alt.strip():
            problems.append(f"{where}: no mystnb.image.alt (the figure's alt text)")
        if len(pngs(cell)) > 1:
            problems.append(
                f"{where}: {len(pngs(cell))} png outputs share one figure name; "
                "one figure per cell"
            )
    assert not problems, "\n".join(problems)


def test_figure_names_are_unique_across_the_book() -> None:
    counts = Counter(n for p in NOTEBOOKS for n in names(p) if n)
    duplicates = sorted(n for n, k in counts.items() if k > 1)
    assert not duplicates, f"figure names used more than once: {duplicates}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_no_plot_titles(nb_path: Path) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    calls = [
        f"cell {i}: {line.strip()}"
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code"
        for line in c.source.splitlines()
        if TITLE_CALL.search(line) and not line.lstrip().startswith("#")
    ]
    assert not calls, (
        f"{nb_path.name}: the caption gives the title, not the plot:\n"
        + "\n".join(calls)
    )


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_png_outputs_are_small(nb_path: Path) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    big = [
        f"cell {i}: {len(png) / 1000:.0f} kB"
        for i, c in figure_cells(nb)
        for png in pngs(c)
        if len(png) >= MAX_PNG_BYTES
    ]
    assert not big, (
        f"{nb_path.name}: png outputs of 300 kB or more (use dpi=80..100, "
        "smaller figsize):\n" + "\n".join(big)
    )


def png_outputs(cell: nbformat.NotebookNode) -> list[tuple[bytes, dict]]:
    """(decoded png, its ``image/png`` metadata) of every png output of a code cell."""
    found = []
    for out in cell.get("outputs", []):
        data = out.get("data", {}).get("image/png")
        if data is not None:
            png = base64.b64decode("".join(data) if isinstance(data, list) else data)
            found.append((png, dict(out.get("metadata", {}).get("image/png", {}))))
    return found


def retina_problems(nb_path: Path) -> list[str]:
    """Png outputs of a notebook that are not 2x PNGs with their display size."""
    nb = nbformat.read(nb_path, as_version=4)
    problems = []
    for i, cell in figure_cells(nb):
        for png, meta in png_outputs(cell):
            width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
            shown = (meta.get("width"), meta.get("height"))
            if (
                None in shown
                or abs(2 * shown[0] - width) > 2
                or abs(2 * shown[1] - height) > 2
            ):
                problems.append(
                    f"cell {i}: {width} x {height} px png shown at "
                    f"{shown[0]} x {shown[1]}"
                )
    return problems


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=ids(NOTEBOOKS))
def test_png_outputs_are_retina(nb_path: Path) -> None:
    problems = retina_problems(nb_path)
    assert not problems, (
        f"{nb_path.name}: figures must be 2x PNGs with their display size (call "
        "initcourse.plotting.use_style() in the import cell, then re-execute with "
        "tools/execute.py):\n" + "\n".join(problems)
    )


def test_checks_catch_a_bad_figure(tmp_path: Path) -> None:
    """The helpers see what a broken chapter looks like (no check that never fires)."""
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"0" * 100).decode()
    cell = nbformat.v4.new_code_cell("plt.title('x')\nplt.show()")
    cell.outputs = [
        nbformat.v4.new_output(
            "display_data", data={"image/png": png, "text/plain": "<Figure>"}
        )
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# t"), cell])
    path = tmp_path / "99_bad.ipynb"
    nbformat.write(nb, path)
    assert [i for i, _ in figure_cells(nbformat.read(path, as_version=4))] == [1]
    assert names(path) == [""]
    assert len(pngs(cell)[0]) == 108
    assert TITLE_CALL.search(cell.source)
    with pytest.raises(AssertionError, match="no mystnb.figure.caption"):
        test_every_figure_has_caption_name_and_alt(path)
    with pytest.raises(AssertionError, match="the caption gives the title"):
        test_no_plot_titles(path)
    # a 1x png (no display size) is caught; a 2x png with half its size as metadata
    # passes
    header = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + struct.pack(">II", 200, 100)
    cell.outputs[0]["data"]["image/png"] = base64.b64encode(header + b"0" * 20).decode()
    nbformat.write(nb, path)
    assert retina_problems(path) == ["cell 1: 200 x 100 px png shown at None x None"]
    cell.outputs[0]["metadata"] = {"image/png": {"width": 100, "height": 50}}
    nbformat.write(nb, path)
    assert retina_problems(path) == []
