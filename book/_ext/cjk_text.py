"""Mark Chinese text ``lang="zh"`` on every page; check the site's CJK font covers it.

Pages are written with ``<html lang="en">``, so a browser (and a screen reader) took the
glossary's Chinese terms, the sidebar's "术语表" and the Chinese comments in code for
English. After an HTML build (``build-finished``) this extension wraps every run of CJK
characters in the text of every page, navigation included, in ``<span lang="zh">``. The
stylesheet (``book/_static/initcourse.css``) sets ``:lang(zh)`` in the site's own font,
a subset of Noto Sans CJK SC made by ``tools/cjk_font.py`` (``book/_static/fonts/``), so
Chinese renders on a machine without any CJK font.

Text inside ``<script>``, ``<style>``, ``<title>``, ``<textarea>`` and HTML comments,
and attribute values (``alt``, ``title``), are left as they are. The build then warns
(so fails under ``-W``) if a page shows a character the font does not have, naming the
characters and the command that adds them.

Enabled in ``_config.yml`` through ``sphinx.local_extensions``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: The characters the site's font holds, one line written by ``tools/cjk_font.py``.
CHARS_FILE = Path(__file__).resolve().parents[1] / "_static" / "fonts" / "cjk-chars.txt"

#: One CJK character (same ranges as ``tools/cjk_font.py``).
CJK_CHAR = (
    "\u2e80-\u2fff\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
)
#: A run of CJK text: CJK characters, possibly with spaces or a middle dot between them.
CJK_RUN = re.compile(f"[{CJK_CHAR}]+(?:[ \u00b7]+[{CJK_CHAR}]+)*")
#: What is not text: comments, raw-text elements with their content, and tags.
NOT_TEXT = re.compile(
    r"<!--.*?-->|<(script|style|title|textarea)\b[^>]*>.*?</\1\s*>|<[^>]*>",
    flags=re.S | re.I,
)
#: TeX that MathJax typesets (a tag inside it would break the formula).
TEX = re.compile(r"\\\(.*?\\\)|\\\[.*?\\\]|\$\$.*?\$\$", flags=re.S)


def mark_chinese(html: str) -> tuple[str, set[str]]:
    """Wrap the CJK runs of the text of ``html`` in ``<span lang="zh">``.

    Returns the new HTML and the set of CJK characters found in its text.
    """
    out: list[str] = []
    seen: set[str] = set()
    position = 0

    def prose(segment: str) -> str:
        seen.update(
            c for run in CJK_RUN.findall(segment) for c in run if c not in " \u00b7"
        )
        return CJK_RUN.sub(lambda m: f'<span lang="zh">{m.group(0)}</span>', segment)

    def text(segment: str) -> str:
        if not CJK_RUN.search(segment):
            return segment
        parts, start = [], 0
        for tex in TEX.finditer(segment):
            parts += [prose(segment[start : tex.start()]), tex.group(0)]
            seen.update(
                re.findall(f"[{CJK_CHAR}]", tex.group(0))
            )  # typeset by MathJax, in its fonts
            start = tex.end()
        return "".join(parts + [prose(segment[start:])])

    for match in NOT_TEXT.finditer(html):
        out.append(text(html[position : match.start()]))
        out.append(match.group(0))
        position = match.end()
    out.append(text(html[position:]))
    return "".join(out), seen


def font_chars() -> set[str]:
    """The characters of the site's CJK font, (:data:`CHARS_FILE`; empty if none)."""
    if not CHARS_FILE.is_file():
        return set()
    return set(CHARS_FILE.read_text(encoding="utf-8").strip())


def mark_pages(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: mark each page's Chinese; warn of glyphs the font lacks."""
    if exception is not None or app.builder.format != "html":
        return
    used: dict[str, set[str]] = {}
    pages = 0
    for page in sorted(Path(app.outdir).rglob("*.html")):
        html = page.read_text(encoding="utf-8")
        new, seen = mark_chinese(html)
        if new != html:
            page.write_text(new, encoding="utf-8")
            pages += 1
        for char in seen:
            used.setdefault(char, set()).add(page.relative_to(app.outdir).as_posix())
    missing = sorted(set(used) - font_chars())
    if missing:
        where = sorted({p for c in missing for p in used[c]})
        logger.warning(
            f"cjk_text: the site's CJK font lacks {len(missing)} character(s) shown on "
            f"{', '.join(where[:5])}: {''.join(missing)}; run "
            "`.venv/bin/python tools/cjk_font.py` "
            "and commit book/_static/fonts/",
            type="cjk_text",
        )
    logger.info(
        f"cjk_text: Chinese text marked lang=zh on {pages} pages "
        f"({len(used)} distinct characters)"
    )


def setup(app: Sphinx) -> dict[str, Any]:
    # after the other build-finished steps that write HTML (site_weight runs at 900)
    app.connect("build-finished", mark_pages, priority=950)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
