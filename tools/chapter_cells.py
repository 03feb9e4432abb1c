"""The standard first cells of every chapter: title + Colab badge, and the Colab-only
setup cell.

``tools/new_chapter.py`` writes them into a new notebook;
``tests/test_notebook_hygiene.py`` checks that every chapter still carries them,
pointing at ``repository.url`` in ``_config.yml``. The badge is an inline SVG (data URI)
so the website renders it with no network at all.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def repository_url(root: Path = ROOT) -> str:
    """``repository.url`` from ``_config.yml`` (the one place it is set)."""
    text = (root / "_config.yml").read_text(encoding="utf-8")
    m = re.search(
        r"^repository:\s*\n(?:[ \t]+.*\n)*?[ \t]+url:\s*(\S+)", text, flags=re.M
    )
    if not m:
        raise ValueError("_config.yml: no repository.url found")
    return m.group(1).rstrip("/")


def colab_url(notebook: str, root: Path = ROOT) -> str:
    """The Colab URL of ``notebooks/<name>.ipynb`` on the main branch of the
    repository."""
    repo = repository_url(root).removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{repo}/blob/main/notebooks/{notebook}"


def badge_markdown(notebook: str, root: Path = ROOT) -> str:
    """The "Open in Colab" badge: an inline SVG image in a link, so it renders with no
    network.

    Raw HTML rather than Markdown image syntax: markdown-it (the website's parser) only
    accepts ``data:`` URLs of raster images, while Jupyter, Colab and the website all
    render this HTML.
    """
    svg = (root / "book" / "_static" / "colab-badge.svg").read_bytes()
    data = base64.b64encode(svg).decode("ascii")
    return (
        f'<a href="{colab_url(notebook, root)}">'
        f'<img src="data:image/svg+xml;base64,{data}" '
        'alt="Open in Colab"/></a>'
    )


BADGE_LINE = re.compile(r"^.*Open in Colab.*$", flags=re.M)


def normalize_header(first_cell_source: str, notebook: str, root: Path = ROOT) -> str:
    """Return the title cell's source with its badge line replaced by the current
    badge."""
    badge = badge_markdown(notebook, root)
    if BADGE_LINE.search(first_cell_source):
        return BADGE_LINE.sub(lambda _m: badge, first_cell_source, count=1)
    return first_cell_source.rstrip() + "\n\n" + badge


def setup_cell_source(root: Path = ROOT) -> str:
    """The one setup cell: installs ``initcourse`` on Colab only, nowhere else."""
    return (
        "# Colab only: install the course package from its repository.\n"
        "# Elsewhere this does nothing.\nimport sys\n\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "initcourse @ git+{repository_url(root)}"'
    )
