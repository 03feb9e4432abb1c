"""Helpers for the chapter notebooks (numpy-free, TensorFlow-free).

:func:`glue` stores a value in a cell output under a name, so the prose can quote it with
``{glue:text}`name:.3f` `` and every number in the text is a number the cell computed.
It writes the same output as ``myst_nb.glue`` (which is not installed on Colab).
"""

from __future__ import annotations

from typing import Any

GLUE_PREFIX = "application/papermill.record/"


def glue(name: str, value: Any, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the book's ``{glue}`` roles (myst-nb's format).

    With ``display=False`` (the default) nothing shows in the notebook; the website
    substitutes the value where the prose names it.
    """
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    if not isinstance(name, str) or not name:
        raise ValueError(f"name: must be a non-empty str, got {name!r}")
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        # numpy 2 prints scalars as `np.float64(0.5)`, which the book's format specs cannot parse
        value = value.item()
    mimebundle, metadata = format_display_data(value)
    prefix = "" if display else GLUE_PREFIX
    metadata = dict(metadata)
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)
