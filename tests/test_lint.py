"""Lint and types as tests: ruff over the code and the notebooks, mypy over the package.

* ``ruff check`` and ``ruff format --check`` over :data:`PATHS` (the package, the tools,
  the tests, the chapter notebooks and the book's Sphinx extensions), with the
  configuration in ``pyproject.toml``: lines fit in 88 columns, notebooks included;
* ``mypy`` over ``initcourse`` (``[tool.mypy]`` in ``pyproject.toml``).

The three checks carry the ``lint`` marker, which ``pyproject.toml`` deselects
(``addopts``) until the code and the notebooks have been formatted once; run them with
``pytest -m lint tests/test_lint.py``. The unmarked tests below always run: they check
the configuration and that each checker fails on a bad file.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("initcourse", "tools", "tests", "notebooks", "book/_ext")
LINE_LENGTH = 88


def tool(name: str) -> str:
    """The executable ``name`` next to the running interpreter (.venv), or on PATH."""
    exe = Path(sys.executable).with_name(name)
    if exe.exists():
        return str(exe)
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed; run `make venv` (pinned in environment.yml)"
        )
    return found


def run(*cmd: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)


def report(proc: subprocess.CompletedProcess, limit: int = 120) -> str:
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    shown = (
        lines
        if len(lines) <= limit
        else lines[:limit] + [f"... {len(lines) - limit} more lines"]
    )
    return "\n".join(shown)


@pytest.mark.lint
def test_ruff_check() -> None:
    proc = run(
        tool("ruff"), "check", "--no-cache", "--output-format", "concise", *PATHS
    )
    assert proc.returncode == 0, (
        f"ruff check found problems (fix, or `ruff check --fix`):\n{report(proc)}"
    )


@pytest.mark.lint
def test_ruff_format() -> None:
    proc = run(tool("ruff"), "format", "--check", "--no-cache", *PATHS)
    assert proc.returncode == 0, (
        f"not formatted (run `ruff format {' '.join(PATHS)}`):\n{report(proc)}"
    )


@pytest.mark.lint
def test_mypy(tmp_path: Path) -> None:
    proc = run(tool("mypy"), "--cache-dir", str(tmp_path / "mypy-cache"))
    assert proc.returncode == 0, (
        f"mypy found type errors in initcourse:\n{report(proc)}"
    )


def test_lint_configuration() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"
    ]
    assert config["ruff"]["line-length"] == LINE_LENGTH
    assert "*.ipynb" in config["ruff"].get("extend-include", []), (
        "ruff must read the notebooks"
    )
    assert (
        "E501" in config["ruff"]["lint"]["select"]
        or "E" in config["ruff"]["lint"]["select"]
    )
    assert config["mypy"]["files"] == ["initcourse"]
    markers = config["pytest"]["ini_options"]["markers"]
    assert any(m.startswith("lint:") for m in markers)


def test_checkers_fail_on_a_bad_file(tmp_path: Path) -> None:
    """Each checker, with the project's configuration, rejects what it should."""
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "pkg").mkdir()
    long_line = "x = " + " + ".join(["1"] * 40) + "\n"
    assert len(long_line) > LINE_LENGTH + 1
    (tmp_path / "pkg" / "bad.py").write_text(
        f"import os\n{long_line}y: int = 'text'\n", encoding="utf-8"
    )
    checked = run(
        tool("ruff"),
        "check",
        "--no-cache",
        "--output-format",
        "concise",
        "pkg",
        cwd=tmp_path,
    )
    assert checked.returncode == 1
    assert "E501" in checked.stdout and "F401" in checked.stdout, checked.stdout
    formatted = run(
        tool("ruff"), "format", "--check", "--no-cache", "pkg", cwd=tmp_path
    )
    assert formatted.returncode == 1 and "bad.py" in formatted.stdout + formatted.stderr
    typed = run(
        tool("mypy"), "--cache-dir", str(tmp_path / "cache"), "pkg/bad.py", cwd=tmp_path
    )
    assert (
        typed.returncode == 1
        and "incompatible types in assignment" in typed.stdout.lower()
    ), typed.stdout
