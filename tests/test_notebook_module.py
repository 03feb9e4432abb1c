"""initcourse.notebook.glue writes myst-nb's glue format, with plain Python numbers."""

from __future__ import annotations

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

from initcourse.notebook import GLUE_PREFIX, glue, round_sig


@pytest.fixture
def captured(monkeypatch):
    calls = []
    import IPython.display

    monkeypatch.setattr(
        IPython.display, "display", lambda *a, **k: calls.append((a, k))
    )
    InteractiveShell.instance()
    yield calls
    InteractiveShell.clear_instance()


def test_glue_stores_hidden_record(captured):
    glue("answer", 0.5)
    (bundle,), kwargs = captured[0]
    assert bundle == {GLUE_PREFIX + "text/plain": "0.5"}
    assert kwargs["metadata"]["scrapbook"] == {
        "name": "answer",
        "mime_prefix": GLUE_PREFIX,
    }
    assert kwargs["raw"] is True


def test_glue_unwraps_numpy_scalars(captured):
    glue("x", np.float64(32.00000000000002))
    glue("n", np.int64(7))
    texts = [call[0][0][GLUE_PREFIX + "text/plain"] for call in captured]
    assert texts == ["32.0", "7"]


def test_glue_rounds_floats_so_outputs_match_across_cpus(captured):
    # the two reprs seen on an AMD and an Intel CPU for the same computation
    glue("a", 2.7947300747035786e-13)
    glue("b", 2.794730074703579e-13)
    glue("c", np.float32(0.123456789), sig=2)
    texts = [call[0][0][GLUE_PREFIX + "text/plain"] for call in captured]
    assert texts == ["2.795e-13", "2.795e-13", "0.12"]


@pytest.mark.parametrize(
    ("value", "sig", "expected"),
    [
        (123456.0, 3, 123000.0),
        (-0.000123456, 2, -0.00012),
        (0.0, 3, 0.0),
        (9.996, 3, 10.0),
    ],
)
def test_round_sig(value, sig, expected):
    assert round_sig(value, sig) == expected


@pytest.mark.parametrize("sig", [0, 16, 2.5, True])
def test_round_sig_rejects_bad_sig(sig):
    with pytest.raises(ValueError, match="sig"):
        round_sig(1.0, sig)


def test_glue_rejects_bad_name():
    with pytest.raises(ValueError, match="name"):
        glue("", 1.0)
