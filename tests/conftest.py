"""Shared fixtures: the book's table of contents and the website, built once per test
session.

``built_site`` runs the same command as ``make book``
(``jupyter-book build . --builder html -W -n --keep-going``) on a fresh ``_build/html``
and fails the requesting tests with the build log if the build fails or warns. The log
is also kept in ``_build/book-build.log``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
HTML = BUILD / "html"
BUILD_LOG = BUILD / "book-build.log"
BUILD_COMMAND = ("build", ".", "--builder", "html", "-W", "-n", "--keep-going")


def toc_files(root: Path = ROOT) -> list[str]:
    """Every document named in ``_toc.yml`` (``root`` first), without suffix, in book
    order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    found: list[str] = [str(toc["root"])]

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                found.append(str(node["file"]))
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [re.sub(r"\.(md|ipynb)$", "", f) for f in found]


def source_of(docname: str, root: Path = ROOT) -> Path:
    """The source file of ``docname`` (``.ipynb`` or ``.md``)."""
    for suffix in (".ipynb", ".md"):
        path = root / (docname + suffix)
        if path.exists():
            return path
    raise FileNotFoundError(
        f"_toc.yml names {docname!r} but neither {docname}.ipynb nor {docname}.md "
        "exists"
    )


def chapter_notebooks(root: Path = ROOT) -> list[Path]:
    """The chapter notebooks listed in ``_toc.yml``, in book order."""
    return [
        root / (d + ".ipynb")
        for d in toc_files(root)
        if (root / (d + ".ipynb")).exists()
    ]


def reader_pages(root: Path = ROOT) -> list[str]:
    """The pages a reader meets first: the intro (``root``) and every chapter
    notebook."""
    docs = toc_files(root)
    return [docs[0]] + [d for d in docs[1:] if (root / (d + ".ipynb")).exists()]


def jupyter_book_executable() -> str:
    """The ``jupyter-book`` next to the running interpreter (the project's .venv)."""
    exe = Path(sys.executable).with_name("jupyter-book")
    if exe.exists():
        return str(exe)
    found = shutil.which("jupyter-book")
    if found is None:
        pytest.fail("jupyter-book is not installed; run `make venv`")
    return found


@pytest.fixture(scope="session")
def toc_docs() -> list[str]:
    """Documents named in ``_toc.yml``."""
    return toc_files()


@pytest.fixture(scope="session")
def built_site(request: pytest.FixtureRequest) -> Path:
    """Build the website once per session into ``_build/html`` and return that
    folder."""
    for stale in (HTML, BUILD / ".doctrees"):
        shutil.rmtree(stale, ignore_errors=True)
    BUILD.mkdir(exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", NO_COLOR="1")
    start = time.perf_counter()
    proc = subprocess.run(
        [jupyter_book_executable(), *BUILD_COMMAND],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1200,
    )
    seconds = time.perf_counter() - start
    log = proc.stdout
    BUILD_LOG.write_text(log, encoding="utf-8")
    warnings = [
        line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line)
    ]
    if proc.returncode != 0 or warnings or not (HTML / "index.html").exists():
        # the whole log once on the terminal; every test using the site fails with
        # the short reason
        say(
            request,
            f"==== book build log ({BUILD_LOG}) ====\n{log}\n==== end of book build "
            "log ====",
        )
        pytest.fail(
            f"`jupyter-book {' '.join(BUILD_COMMAND)}` failed (exit {proc.returncode}, "
            f"{len(warnings)} warning/error lines, {seconds:.0f} s); log printed above "
            f"and in {BUILD_LOG}:\n"
            + "\n".join(warnings[:30] or log.splitlines()[-30:]),
            pytrace=False,
        )
    say(request, f"book built in {seconds:.1f} s -> {HTML}")
    return HTML


def say(request: pytest.FixtureRequest, text: str) -> None:
    """Print ``text`` on the terminal even while pytest captures output."""
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is None:
        print(text)
        return
    with capture.global_and_fixture_disabled():
        print(f"\n{text}", flush=True)
