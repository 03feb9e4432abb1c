"""Serve MathJax 3 from the website's own ``_static`` folder: the book renders offline.

By default ``sphinx.ext.mathjax`` loads MathJax from a CDN, so a reader without network
(or behind a firewall) sees raw TeX. This extension takes MathJax from an installed,
maintained package instead of files copied by hand into the repository:

* ``django-static-mathjax`` (PyPI, pure data, no dependencies; imports as ``mathjax``)
  ships the MathJax 3 distribution (``mathjax-full``) under
  ``mathjax/static/mathjax/es5``. Django is *not* needed: we only read its files.

At ``config-inited`` it points ``mathjax_path`` at ``_static/mathjax/tex-chtml.js`` and
completes ``mathjax3_config`` (TeX delimiters ``$..$``, ``$$..$$``, ``\\(..\\)``,
``\\[..\\]``; the ``ams`` package, the menu and assistive MathML for screen readers are
part of the ``tex-chtml`` component, and other TeX packages are autoloaded from the
local ``input/tex/extensions``). At ``build-finished`` it copies only what a page can
ask for (:data:`RUNTIME_PARTS`, plus MathJax's LICENSE) into
``<outdir>/_static/mathjax``:

* the component every page loads and the TeX extensions it autoloads;
* the CommonHTML woff fonts (a page downloads only those its formulas use);
* what the menu's *Accessibility > Explorer* loads when a reader turns it on: the
  explorer, semantic enrichment, MathML input and the speech rule engine with its
  English rules.

MathML input on page load, the SVG output, the other combined components, the
speech rules of other languages and the Node.js adaptors are left out (they were 5 MB of
the site).

Enabled in ``_config.yml`` through ``sphinx.local_extensions``.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Where the MathJax files go, relative to the HTML output's ``_static``.
STATIC_SUBDIR = "mathjax"
#: The combined component every page loads (TeX input, CommonHTML output, menu,
#: assistive MathML).
COMPONENT = "tex-chtml.js"
#: Files and folders of MathJax's ``es5`` distribution that the component may load.
RUNTIME_PARTS = (
    COMPONENT,
    "input/tex/extensions",  # TeX packages, autoloaded by the macros a formula uses
    "output/chtml/fonts/woff-v2",  # a page downloads only the fonts its formulas need
    # Accessibility > Explorer in the math menu, loaded only when a reader turns it on
    "a11y/explorer.js",
    "a11y/semantic-enrich.js",
    "a11y/complexity.js",
    "a11y/sre.js",
    "input/mml.js",
    "sre/mathmaps/base.json",
    "sre/mathmaps/en.json",
)

#: MathJax 3 settings merged into ``mathjax3_config`` (user values win).
TEX_CONFIG: dict[str, Any] = {
    "inlineMath": [["\\(", "\\)"], ["$", "$"]],
    "displayMath": [["\\[", "\\]"], ["$$", "$$"]],
    "processEscapes": True,
    "processEnvironments": True,
}


def mathjax_distribution() -> Path:
    """Return the ``es5`` folder of MathJax, as ``django-static-mathjax`` installed it.

    Raises
    ------
    ExtensionError
        If the package is not installed or does not hold ``es5/tex-chtml.js``.
    """
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(
            "offline_mathjax: the Python package 'django-static-mathjax' (module "
            "'mathjax') is not "
            "installed; run `make venv` or `pip install django-static-mathjax`"
        )
    for location in spec.submodule_search_locations:
        es5 = Path(location) / "static" / "mathjax" / "es5"
        if (es5 / COMPONENT).is_file():
            return es5
    raise ExtensionError(
        "offline_mathjax: module 'mathjax' found at "
        f"{list(spec.submodule_search_locations)} but it holds no "
        f"static/mathjax/es5/{COMPONENT}; reinstall django-static-mathjax"
    )


def merged_mathjax3_config(current: dict[str, Any] | None) -> dict[str, Any]:
    """Return ``current`` with :data:`TEX_CONFIG` under ``tex`` (keys kept)."""
    config: dict[str, Any] = dict(current or {})
    tex = dict(config.get("tex", {}))
    for key, value in TEX_CONFIG.items():
        tex.setdefault(key, value)
    config["tex"] = tex
    return config


def copy_runtime(es5: Path, target: Path) -> int:
    """Copy MathJax's run-time parts from ``es5`` to ``target``; return the file count.

    Files whose size and modification time already match are not copied again; files of
    an earlier build that are no longer part of :data:`RUNTIME_PARTS` are removed.
    """
    count = 0
    sources: list[tuple[Path, Path]] = []
    for part in RUNTIME_PARTS:
        src = es5 / part
        if src.is_dir():
            sources += [
                (f, target / f.relative_to(es5)) for f in src.rglob("*") if f.is_file()
            ]
        elif src.is_file():
            sources.append((src, target / part))
    licence = es5.parent / "LICENSE"
    if licence.is_file():
        sources.append((licence, target / "LICENSE"))
    wanted = {dst for _, dst in sources}
    if target.is_dir():
        for old in [f for f in target.rglob("*") if f.is_file() and f not in wanted]:
            old.unlink()
    for src, dst in sources:
        st = src.stat()
        if dst.is_file():
            dt = dst.stat()
            if dt.st_size == st.st_size and int(dt.st_mtime) == int(st.st_mtime):
                count += 1
                continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        count += 1
    return count


def configure(app: Sphinx, config: Config) -> None:
    """Point Sphinx's MathJax at the local copy (``config-inited``)."""
    mathjax_distribution()  # fail early, with an install hint, if it is missing
    config.mathjax_path = f"{STATIC_SUBDIR}/{COMPONENT}"
    config.mathjax3_config = merged_mathjax3_config(config.mathjax3_config)


def install_files(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax into ``<outdir>/_static/mathjax`` (build-finished, HTML only)."""
    if exception is not None or app.builder.format != "html":
        return
    count = copy_runtime(
        mathjax_distribution(), Path(app.outdir) / "_static" / STATIC_SUBDIR
    )
    logger.info(f"offline_mathjax: {count} MathJax files in _static/{STATIC_SUBDIR}")


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.mathjax")
    # myst-parser adds options.processHtmlClass later, at builder-inited.
    app.connect("config-inited", configure)
    app.connect("build-finished", install_files)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
