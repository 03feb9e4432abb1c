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


def _name(req: str) -> str:
    return re.sub(
        r"[-_.]+", "-", re.split(r"[<>=!~;\[ @]", req.strip(), maxsplit=1)[0]
    ).lower()


def minimum_requirements(pyproject_text: str, environment_text: str) -> list[str]:
    """The runtime dependencies at their lower bounds, and everything else at its pin.

    The runtime dependencies are ``[project] dependencies`` and the ``keras`` extra of
    ``pyproject.toml``; each ``name>=X`` becomes ``name==X``. The test and book tools
    keep the exact pins of ``environment.yml`` (they are not what the bounds promise).
    ``make test-min`` installs this list to prove that the lower bounds are true.
    """
    import tomllib

    project = tomllib.loads(pyproject_text)["project"]
    runtime = list(project["dependencies"]) + list(
        project["optional-dependencies"]["keras"]
    )
    out: list[str] = []
    names = set()
    for dep in runtime:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*>=\s*([^,;\s]+)\s*", dep)
        if not match:
            raise SystemExit(
                f"pyproject.toml: runtime dependency {dep!r} is not of the form name>=X"
            )
        out.append(f"{match.group(1)}=={match.group(2)}")
        names.add(_name(dep))
    aliases = {"tensorflow-cpu": "tensorflow"}
    # the website, JupyterLab and the platform resolver are not exercised by
    # `make test-min`
    not_needed = {
        "jupyter-book",
        "sphinx-exercise",
        "django-static-mathjax",
        "jupyterlab",
        "selenium",
        "uv",
    }
    for req in pip_requirements(environment_text):
        name = aliases.get(_name(req), _name(req))
        if req == "-e ." or name in names or name in not_needed:
            continue
        out.append(req)
    return out


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] == "--minimum":
        pyproject = Path(argv[2] if len(argv) > 2 else "pyproject.toml")
        environment = pyproject.parent / "environment.yml"
        reqs = minimum_requirements(
            pyproject.read_text(encoding="utf-8"),
            environment.read_text(encoding="utf-8"),
        )
    else:
        path = Path(argv[1] if len(argv) > 1 else "environment.yml")
        reqs = pip_requirements(path.read_text(encoding="utf-8"))
    for req in reqs:
        print(req)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
