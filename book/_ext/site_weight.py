"""Keep the website light: no source maps, no duplicate icon script, no unread files.

After an HTML build (``build-finished``) this extension

* deletes every source map (``*.map``, 3.5 MB of the theme's files) and the
  ``sourceMappingURL`` comments that point at them, so no browser asks for a missing
  file;
* drops Font Awesome's 1.5 MB JavaScript (``_static/scripts/fontawesome.js``), which
  pydata-sphinx-theme loads on every page although its stylesheet already draws the same
  icons with the Font Awesome web fonts: the ``<script>`` and ``<link rel="preload">``
  tags naming it are removed from every page, then the file;
* deletes the TrueType copies of those web fonts (every browser that runs the site reads
  the ``woff2`` files listed first in the same ``@font-face`` rules);
* deletes the theme's message catalogues (``_static/locales/*/LC_MESSAGES/*.po``,
  ``.mo``; 0.7 MB), which the build has already used to translate the theme's words: no
  browser reads them.

Enabled in ``_config.yml`` through ``sphinx.local_extensions``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: ``//# sourceMappingURL=...`` (JavaScript) and ``/*# sourceMappingURL=... */`` (CSS).
SOURCE_MAP_COMMENT = re.compile(
    r"\n?(?://[#@] sourceMappingURL=[^\n]*|/\*[#@] sourceMappingURL=[^*]*\*/)"
)
#: The script that duplicates the icon font, relative to ``_static``.
ICON_SCRIPT = "scripts/fontawesome.js"
#: ``<script ... src=".../fontawesome.js?...">`` and
#: ``<link rel="preload" ... href=".../fontawesome.js?...">``.
ICON_SCRIPT_TAGS = re.compile(
    r"<(?:script|link)\b[^>]*(?:src|href)=\"[^\"]*_static/scripts/fontawesome\.js[^\"]*\"[^>]*>(?:\s*</script>)?\n?"
)


def strip_source_maps(static: Path) -> tuple[int, int]:
    """Delete ``*.map`` under ``static`` and their comments; return (files, bytes)."""
    removed = size = 0
    for path in list(static.rglob("*.map")):
        size += path.stat().st_size
        path.unlink()
        removed += 1
    for path in [*static.rglob("*.js"), *static.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if "sourceMappingURL" in text:
            new = SOURCE_MAP_COMMENT.sub("", text)
            if new != text:
                path.write_text(new, encoding="utf-8", errors="surrogateescape")
    return removed, size


def drop_icon_script(outdir: Path) -> int:
    """Remove the Font Awesome script from the site; return how many pages changed."""
    changed = 0
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        new = ICON_SCRIPT_TAGS.sub("", text)
        if new != text:
            page.write_text(new, encoding="utf-8")
            changed += 1
    script = outdir / "_static" / ICON_SCRIPT
    if script.is_file():
        script.unlink()
    for licence in (outdir / "_static" / "scripts").glob("fontawesome.js.LICENSE*"):
        licence.unlink()
    return changed


def drop_truetype_icon_fonts(static: Path) -> int:
    """Delete ``.ttf`` copies of web fonts also in ``.woff2``; return files removed."""
    removed = 0
    for ttf in list(static.rglob("*.ttf")):
        if ttf.with_suffix(".woff2").is_file():
            ttf.unlink()
            removed += 1
    return removed


def drop_message_catalogues(static: Path) -> int:
    """Delete ``.po``/``.mo`` files under ``static/locales``; return files removed."""
    locales = static / "locales"
    if not locales.is_dir():
        return 0
    removed = 0
    for catalogue in [*locales.rglob("*.po"), *locales.rglob("*.mo")]:
        catalogue.unlink()
        removed += 1
    for folder in sorted(
        (d for d in locales.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts)
    ):
        if not any(folder.iterdir()):
            folder.rmdir()
    if not any(locales.iterdir()):
        locales.rmdir()
    return removed


def slim(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: strip source maps and unread files from the HTML output."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    static = outdir / "_static"
    maps, size = strip_source_maps(static)
    pages = drop_icon_script(outdir)
    fonts = drop_truetype_icon_fonts(static)
    catalogues = drop_message_catalogues(static)
    logger.info(
        f"site_weight: removed {maps} source maps ({size / 1e6:.1f} MB), the icon "
        f"script from {pages} pages, {fonts} TrueType font copies and {catalogues} "
        "message catalogues"
    )


def setup(app: Sphinx) -> dict[str, Any]:
    # after offline_mathjax and the theme have copied their files
    app.connect("build-finished", slim, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
