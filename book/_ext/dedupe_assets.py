"""Drop duplicated ``<script>``/``<link>`` tags from every HTML page.

Sphinx 7.4 registers an inline script added with ``app.add_js_file(None, body=...)``
after the builder exists twice: once as ``_JavaScript(None, ...)`` (by
``Sphinx.add_js_file``) and once as ``_JavaScript('', ...)`` (by
``StandaloneHTMLBuilder.prepare_writing``); the two do not compare equal, so both are
written. sphinx-thebe's ``const THEBE_JS_URL = ...`` then runs twice and every page logs
``SyntaxError: Identifier 'THEBE_JS_URL' has already been declared``
(sphinx-togglebutton's selector is duplicated too). This extension removes the second
copy of each asset just before a page is written (``html-page-context``).

Enabled in ``_config.yml`` through ``sphinx.local_extensions``.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def asset_key(asset: Any) -> tuple[str, str]:
    """Identity of a JS/CSS asset: name (``None`` and ``''`` alike) and attributes."""
    filename = getattr(asset, "filename", asset) or ""
    attributes = getattr(asset, "attributes", {}) or {}
    return str(filename), repr(sorted((str(k), str(v)) for k, v in attributes.items()))


def unique_assets(assets: list[Any]) -> list[Any]:
    """``assets`` without repeats (first occurrence kept, order preserved)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for asset in assets:
        key = asset_key(asset)
        if key not in seen:
            seen.add(key)
            kept.append(asset)
    return kept


def dedupe(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Remove duplicated entries of ``script_files`` and ``css_files`` in place."""
    for key in ("script_files", "css_files"):
        files = context.get(key)
        if isinstance(files, list):
            files[:] = unique_assets(files)


def setup(app: Sphinx) -> dict[str, Any]:
    # late priority: after every extension that adds page-specific assets (e.g. MathJax)
    app.connect("html-page-context", dedupe, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
