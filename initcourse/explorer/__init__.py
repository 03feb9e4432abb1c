"""An explorer of initialization that runs in the browser: no server, no kernel.

The explorer is plain JavaScript and canvas with no library:
``src/initcourse-explorer.js`` (the readable source) is minified by
``tools/build_explorer.py`` into ``assets/initcourse-explorer.js``; its dense products
run in a small WebAssembly SIMD module (``wasm/kernels.wat``) embedded in it. It
simulates the forward and backward pass of :func:`initcourse.propagation.simulate` (same
definitions, its own random generator), draws the mean-field prediction of
:func:`initcourse.meanfield.variance_trajectory` (same quadrature) over it, shows the
:math:`(\\sigma_w^2, \\sigma_b^2)` phase diagram of tanh, and trains two small MLPs on
the course's 8x8 digits side by side (``assets/initcourse-digits.js``, written by
``tools/make_explorer_digits.py``).

In a notebook (locally or on Colab), :func:`show` returns an HTML display with the code
inlined::

    from initcourse.explorer import show
    show("four-fates")

The website has a page of its own (``book/explorer.md``) that loads the same files from
``_static``. The page exposes a test hook, ``window.initcourseExplorer.simulate({...})``
and ``window.initcourseExplorer.varianceTrajectory({...})`` (see
``tests/test_explorer.py``).
"""

from __future__ import annotations

import html as _html
import json
import math
import numbers
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "ASSETS",
    "PRESETS",
    "VIEWS",
    "asset_path",
    "html",
    "show",
    "standalone_html",
]

ASSETS = Path(__file__).resolve().with_name("assets")
"""Folder of the explorer's static files (the website copies it into ``_static``)."""

PRESETS: tuple[str, ...] = ("default", "four-fates", "mean-field")
"""Starting states: every view; chapter 1's four fates; mean field and phases."""

VIEWS: tuple[str, ...] = (
    "fates",
    "signal",
    "histograms",
    "saturation",
    "phase",
    "training",
)
"""Sections the explorer can show (``views=`` of :func:`show`)."""

_FILES = {
    "js": "initcourse-explorer.js",
    "css": "initcourse-explorer.css",
    "digits": "initcourse-digits.js",
}
_INITIALIZERS = (
    "zeros",
    "constant",
    "random_normal",
    "random_uniform",
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "orthogonal",
    "sparse",
)
_ACTIVATIONS = ("linear", "relu", "leaky_relu", "tanh", "sigmoid", "selu", "gelu")
_WIDTHS = (8, 16, 32, 64, 128, 256, 512)
_BATCHES = (16, 32, 64, 128, 256)


def asset_path(kind: str) -> Path:
    """Path of one static file: ``"js"``, ``"css"`` or ``"digits"``."""
    if kind not in _FILES:
        raise ValueError(
            f"kind: got {kind!r}; allowed values are {', '.join(map(repr, _FILES))}"
        )
    return ASSETS / _FILES[kind]


_RANGES = {
    "bias_std": (0.0, 1.0),
    "stddev": (1e-3, 10.0),
    "value": (1e-4, 1.0),
    "gain": (0.25, 4.0),
}
_SETTINGS = (
    "initializer",
    "activation",
    "depth",
    "width",
    "batch",
    "bias_std",
    "seed",
    "stddev",
    "value",
    "gain",
)


def _one_of(name: str, value: Any, allowed: Sequence[Any]) -> Any:
    if isinstance(value, bool) or value not in allowed:
        options = ", ".join(map(str, allowed))
        raise ValueError(f"{name}: got {value!r}; allowed values are {options}")
    return value


def _integer(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: must be an int in {lo}..{hi}, got {value!r}")
    if not lo <= int(value) <= hi:
        raise ValueError(f"{name}: must be an int in {lo}..{hi}, got {value!r}")
    return int(value)


def _number(name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name}: must be a number in [{lo}, {hi}], got {value!r}")
    if not math.isfinite(float(value)) or not lo <= float(value) <= hi:
        raise ValueError(f"{name}: must be a number in [{lo}, {hi}], got {value!r}")
    return float(value)


def _check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Validate the starting state given to :func:`show` (keyword arguments)."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key == "initializer":
            out[key] = _one_of(key, value, _INITIALIZERS)
        elif key == "activation":
            out[key] = _one_of(key, value, _ACTIVATIONS)
        elif key == "depth":
            out[key] = _integer(key, value, 1, 100)
        elif key == "seed":
            out[key] = _integer(key, value, 0, 2**31 - 1)
        elif key in ("width", "batch"):
            out[key] = int(_one_of(key, value, _WIDTHS if key == "width" else _BATCHES))
        elif key in _RANGES:
            out[key] = _number(key, value, *_RANGES[key])
        else:
            raise TypeError(
                f"show() got an unknown setting {key!r}; the settings are "
                + ", ".join(_SETTINGS)
            )
    return out


def _config(
    preset: str, views: Sequence[str] | None, settings: dict[str, Any]
) -> dict[str, Any]:
    if preset not in PRESETS:
        raise ValueError(
            f"preset: got {preset!r}; allowed values are "
            + ", ".join(map(repr, PRESETS))
        )
    cfg: dict[str, Any] = {"preset": preset}
    if views is not None:
        if isinstance(views, str) or not all(isinstance(v, str) for v in views):
            raise TypeError(f"views: expected a sequence of view names, got {views!r}")
        bad = [v for v in views if v not in VIEWS]
        if bad or not views:
            raise ValueError(
                f"views: got {list(views)!r}; choose one or more of {', '.join(VIEWS)}"
            )
        cfg["views"] = list(views)
    state = _check_settings(settings)
    if state:
        cfg["state"] = state
    return cfg


def _needs_digits(cfg: dict[str, Any]) -> bool:
    views = cfg.get("views")
    if views is None:
        return cfg["preset"] in ("default", "four-fates")
    return "training" in views


def _script(text: str, name: str) -> str:
    if "</script" in text.lower():
        raise ValueError(
            f"{name} contains '</script' and cannot be inlined in an HTML page"
        )
    return f"<script>\n{text}</script>\n"


def _container(cfg: dict[str, Any]) -> str:
    data = _html.escape(
        json.dumps(cfg, sort_keys=True, separators=(",", ":")), quote=True
    )
    return (
        '<div class="icx tex2jax_ignore mathjax_ignore" '
        f'data-initcourse-explorer="{data}"><p>The interactive explorer needs '
        "JavaScript; it is loading (or JavaScript is off).</p></div>\n"
    )


def html(
    preset: str = "default", *, views: Sequence[str] | None = None, **settings: Any
) -> str:
    """The explorer as one self-contained HTML fragment (styles and scripts inlined).

    Parameters
    ----------
    preset : str
        One of :data:`PRESETS`: ``"default"`` (every view but the fates, He normal and
        ReLU, 30 layers of 128 units), ``"four-fates"`` (chapter 1: buttons for the
        vanishing, exploding, saturating, symmetric and healthy starts, 10 layers of 64
        units, and the training race) or ``"mean-field"`` (chapter 4: tanh, the
        mean-field overlay and the phase diagram).
    views : sequence of str, optional
        Sections to show, from :data:`VIEWS` (default: those of the preset). The digits
        data (about 60 KB) are inlined only when ``"training"`` is among them.
    **settings
        Starting state overriding the preset's: ``initializer``, ``activation``,
        ``depth`` (1..100), ``width`` (8, 16, ..., 512), ``batch`` (16, ..., 256),
        ``bias_std`` (0..1), ``seed``, ``stddev`` (of ``random_normal``), ``value`` (of
        ``constant``), ``gain`` (of ``orthogonal``).

    Returns
    -------
    str
        The same text for the same arguments (notebook outputs stay deterministic).

    Raises
    ------
    ValueError, TypeError
        An unknown preset, view or setting, or a value out of range; the message names
        it.
    """
    cfg = _config(preset, views, settings)
    parts = [
        _container(cfg),
        "<style>\n" + asset_path("css").read_text(encoding="utf-8") + "</style>\n",
    ]
    if _needs_digits(cfg):
        parts.append(
            _script(asset_path("digits").read_text(encoding="utf-8"), _FILES["digits"])
        )
    parts.append(_script(asset_path("js").read_text(encoding="utf-8"), _FILES["js"]))
    return "".join(parts)


def show(
    preset: str = "default", *, views: Sequence[str] | None = None, **settings: Any
):
    """Display the explorer in a notebook (Jupyter, JupyterLab, VS Code, Colab).

    Returns an ``IPython.display.HTML`` object.

    Arguments as in :func:`html`. The code and data are inlined, so it needs no server,
    no kernel once shown, and no network; the notebook's stored output is the same text
    on every machine.
    """
    from IPython.display import HTML

    return HTML(html(preset, views=views, **settings))


def standalone_html(
    preset: str = "default",
    *,
    views: Sequence[str] | None = None,
    assets_href: str | None = None,
    **settings: Any,
) -> str:
    """A complete HTML page with the explorer (for a static file, or the tests).

    With ``assets_href`` (a folder URL such as ``"_static/"``) the page loads the three
    static files from there, as the website does; without it, everything is inlined.
    """
    if assets_href is None:
        body = html(preset, views=views, **settings)
    else:
        cfg = _config(preset, views, settings)
        base = assets_href if assets_href.endswith("/") else assets_href + "/"
        body = (
            _container(cfg) + f'<link rel="stylesheet" href="{base}{_FILES["css"]}">\n'
        )
        if _needs_digits(cfg):
            body += f'<script src="{base}{_FILES["digits"]}"></script>\n'
        body += f'<script src="{base}{_FILES["js"]}"></script>\n'
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<link rel="icon" href="data:,">\n'
        "<title>Initialization explorer</title>\n</head>\n<body>\n<main>\n"
        "<h1>Initialization explorer</h1>\n"
        f"{body}</main>\n</body>\n</html>\n"
    )
