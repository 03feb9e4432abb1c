"""Print the ``pip:`` section of ``environment.yml`` as a requirements file.

The pinned environment has one source, ``environment.yml``; ``make venv`` feeds
this output to ``pip install -r`` so the local virtual environment, Binder and
conda users all get the same versions. Standard library only: it runs before
anything is installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def pip_requirements(text: str) -> list[str]:
    """Return the entries of the ``- pip:`` list of a conda environment file."""
    lines = text.splitlines()
    out: list[str] = []
    in_pip = False
    pip_indent = -1
    for line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if re.fullmatch(r"-\s*pip:", stripped):
            in_pip, pip_indent = True, indent
            continue
        if in_pip:
            if indent <= pip_indent:
                in_pip = False
                continue
            if stripped.startswith("- "):
                out.append(stripped[2:].strip())
    if not out:
        raise SystemExit("environment.yml has no `- pip:` section with packages")
    return out


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else "environment.yml")
    for req in pip_requirements(path.read_text(encoding="utf-8")):
        print(req)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
