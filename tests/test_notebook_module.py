"""initcourse.notebook.glue writes myst-nb's glue format, with plain Python numbers."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

from initcourse.notebook import GLUE_PREFIX, glue


@pytest.fixture
def captured(monkeypatch):
    calls = []
    import IPython.display

    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: calls.append((a, k)))
    InteractiveShell.instance()
    return calls


def test_glue_stores_hidden_record(captured):
    glue("answer", 0.5)
    (bundle,), kwargs = captured[0]
    assert bundle == {GLUE_PREFIX + "text/plain": "0.5"}
    assert kwargs["metadata"]["scrapbook"] == {"name": "answer", "mime_prefix": GLUE_PREFIX}
    assert kwargs["raw"] is True


def test_glue_unwraps_numpy_scalars(captured):
    glue("x", np.float64(32.00000000000002))
    glue("n", np.int64(7))
    texts = [call[0][0][GLUE_PREFIX + "text/plain"] for call in captured]
    assert texts == ["32.00000000000002", "7"]


def test_glue_rejects_bad_name():
    with pytest.raises(ValueError, match="name"):
        glue("", 1.0)
