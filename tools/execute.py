"""Execute chapter notebooks in place, each on a fresh kernel, and store the outputs.

    python tools/execute.py notebooks/01_background.ipynb [more.ipynb ...]
    python tools/execute.py --all            # every notebook listed in _toc.yml

The stored outputs are what the website shows and what ``pytest --nbval`` re-executes
and compares, so run this after changing a chapter or the package it uses, then commit.
Timing metadata is not recorded (it would change on every run); widget state is dropped.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from chapter_cells import normalize_header, setup_cell_source  # noqa: E402


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """Notebooks named in ``_toc.yml`` (``file:`` entries that exist as ``.ipynb``)."""
    toc = (root / "_toc.yml").read_text(encoding="utf-8")
    refs = re.findall(r"(?:file|root):\s*([\w./-]+)", toc)
    return [root / (r + ".ipynb") for r in refs if (root / (r + ".ipynb")).exists()]


#: What TensorFlow's C++ logging (absl) writes to the process's stderr at import,
#: whatever TF_CPP_MIN_LOG_LEVEL says; ipykernel captures it from the file descriptor.
#: Not part of a chapter: it differs between CPUs (oneDNN on or off, instruction sets)
#: and nbval's kernel sends it elsewhere.
_ABSL_LINE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written"
    r" to STDERR"
    r"|[IWE]\d{4} [\d:.]+\s+\d+ [\w.]+:\d+\] .*"
    r"|To enable the following instructions: .*, in other operations,"
    r" rebuild TensorFlow.*)$"
)


def drop_absl_banner(cell: nbformat.NotebookNode) -> None:
    """Remove TensorFlow's C++ log lines from a code cell's stderr outputs, in place."""
    kept = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            lines = [
                ln
                for ln in out["text"].splitlines()
                if ln.strip() and not _ABSL_LINE.match(ln)
            ]
            if not lines:
                continue
            out["text"] = "\n".join(lines) + "\n"
        kept.append(out)
    cell["outputs"] = kept


def execute(path: Path, timeout: int = 600) -> float:
    """Run ``path`` top to bottom on a fresh ``python3`` kernel; write outputs; return
    seconds."""
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    # Keep the standard header in step with repository.url (badge and Colab setup cell).
    if nb.cells and nb.cells[0].cell_type == "markdown":
        nb.cells[0].source = normalize_header(nb.cells[0].source, path.name)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if code and "google.colab" in code[0].source:
        code[0].source = setup_cell_source()
    env_backup = dict(os.environ)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONHASHSEED", "0")
    try:
        ep = ExecutePreprocessor(
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            allow_errors=False,
            # C-level output (TensorFlow's absl banner) stays out of the stored outputs,
            # as it does under nbval
            extra_arguments=["--IPKernelApp.capture_fd_output=False"],
        )
        start = time.perf_counter()
        ep.preprocess(nb, {"metadata": {"path": str(path.parent)}})
        seconds = time.perf_counter() - start
    finally:
        os.environ.clear()
        os.environ.update(env_backup)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type == "code":
            drop_absl_banner(cell)
    nb.metadata["kernelspec"] = {
        "display_name": "Python 3",
        "language": "python",
        "name": "python3",
    }
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--all", action="store_true", help="every notebook in _toc.yml")
    args = parser.parse_args(argv)
    paths = toc_notebooks() if args.all else args.notebooks
    if not paths:
        parser.error("name at least one notebook, or pass --all")
    for p in paths:
        secs = execute(Path(p))
        print(f"{p}: {secs:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
