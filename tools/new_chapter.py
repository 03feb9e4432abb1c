"""Create a chapter notebook with the standard anatomy (see CONTRIBUTING.md).

python tools/new_chapter.py notebooks/02_core_concepts.ipynb "2. Core concepts"
ch-core-concepts
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chapter_cells import badge_markdown, setup_cell_source  # noqa: E402

IMPORTS = """import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's C++ logging out

import numpy as np
import matplotlib.pyplot as plt

SEED = 0
rng = np.random.default_rng(SEED)"""


def new_chapter(path: Path, title: str, label: str) -> None:
    if path.exists():
        raise SystemExit(f"{path} exists; not overwriting")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            f"({label})=\n# {title}\n\n{badge_markdown(path.name)}"
        ),
        nbformat.v4.new_markdown_cell(
            "## What you will learn\n\n...\n\n**You need:** ...  \n**Time:** ..."
        ),
        nbformat.v4.new_code_cell(setup_cell_source()),
        nbformat.v4.new_code_cell(IMPORTS),
        nbformat.v4.new_markdown_cell("## Summary\n\n..."),
        nbformat.v4.new_markdown_cell("## Exercises\n\n..."),
    ]
    nbformat.write(nb, path)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    new_chapter(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
