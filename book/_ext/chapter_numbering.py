"""Number exercises, figures, tables, equations per chapter: "Exercise 3.2", "(3.4)".

The table of contents is not numbered (each chapter writes its number in its title, "3.
How to choose ..."), so Sphinx's numfig counted every enumerable across the whole book:
chapter 3's first exercise was "Exercise 8" and chapter 10's were 33 to 35. After Sphinx
has numbered them (``env-get-updated``, after the toctree collector) this extension
renumbers each page from 1: in a chapter whose title starts with its number ``N.``, the
numbers become ``(N, k)``; on the other pages (errata, instructors' guide) just
``(k,)``. Every place that shows a number reads it from ``env.toc_fignumbers``, so
captions, ``{numref}`` links, sphinx-exercise's titles and "Solution to Exercise 3.2",
and equation labels all change together.

Enabled in ``_config.yml`` through ``sphinx.local_extensions``.
"""

from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

CHAPTER_TITLE = re.compile(r"^(\d+)\.\s")


def chapter_number(env: BuildEnvironment, docname: str) -> int | None:
    """The number a page's title starts with ("3. How to ..." -> 3), or None."""
    title = env.titles.get(docname)
    match = CHAPTER_TITLE.match(title.astext()) if title is not None else None
    return int(match.group(1)) if match else None


def renumber(
    numbers: dict[str, tuple[int, ...]], prefix: tuple[int, ...]
) -> dict[str, tuple[int, ...]]:
    """``{id: number}`` of one page and kind, renumbered 1, 2, ... in the same order."""
    ordered = sorted(numbers, key=lambda i: numbers[i])
    return {node_id: (*prefix, k) for k, node_id in enumerate(ordered, start=1)}


def number_per_chapter(app: Sphinx, env: BuildEnvironment) -> list[str]:
    """``env-get-updated``: restart the numbers on each page; return changed pages."""
    changed = []
    for docname, kinds in env.toc_fignumbers.items():
        number = chapter_number(env, docname)
        prefix = (number,) if number is not None else ()
        new = {kind: renumber(numbers, prefix) for kind, numbers in kinds.items()}
        if new != kinds:
            env.toc_fignumbers[docname] = new
            changed.append(docname)
    return changed


def setup(app: Sphinx) -> dict[str, Any]:
    # after sphinx.environment.collectors.toctree (priority 500) has assigned the global
    # numbers
    app.connect("env-get-updated", number_per_chapter, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
