"""Add the site's stylesheet and script (``book/_static/initcourse.css`` and ``.js``).

They fix what a reader met on the site (issue 15): Chinese text in the site's CJK font,
one search box and no empty top bar, 88-column code that fits a 1280 px screen, long
inline code and table cells that wrap instead of widening a phone's page, equation
numbers beside their formula, and display math scaled a little to fit its column. Each
rule is commented in the files themselves; ``tests/test_browser.py`` checks the result
in Chromium.

``book/_static`` is added to ``html_static_path`` here (once, whatever ``_config.yml``
lists), so the stylesheet's font (``fonts/``) is copied too.

Enabled in ``_config.yml`` through ``sphinx.local_extensions``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

STATIC = Path(__file__).resolve().parents[1] / "_static"
CSS_FILE = "initcourse.css"
JS_FILE = "initcourse.js"


def add_static_path(app: Sphinx, config: Config) -> None:
    """Put ``book/_static`` in ``html_static_path`` unless it is there."""
    listed = {(Path(app.confdir) / p).resolve() for p in config.html_static_path}
    if STATIC not in listed:
        config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", add_static_path)
    # late priority: after the theme's own stylesheets, so these rules win ties
    app.add_css_file(CSS_FILE, priority=900)
    app.add_js_file(JS_FILE, priority=900, defer="defer")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
