"""Tests for initcourse.plotting (Agg): axes, artists, labels, no titles, reuse."""

from __future__ import annotations

import base64
import os
import struct
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib as mpl  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402

from initcourse import meanfield, plotting, propagation  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _no_titles(ax: Axes) -> bool:
    fig = ax.figure
    return all(ax.get_title(loc=loc) == "" for loc in ("left", "center", "right")) and (
        getattr(fig, "_suptitle", None) is None
    )


def _legend_texts(ax: Axes) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg is not None else []


# ------------------------------------------------------------------------------------
# style
def test_use_style_sets_rcparams_and_context_restores():
    before = mpl.rcParams["figure.dpi"]
    with plotting.style_context():
        assert mpl.rcParams["figure.dpi"] == 90
        assert (
            mpl.rcParams["axes.prop_cycle"].by_key()["color"][0]
            == plotting.OKABE_ITO[0]
        )
    assert mpl.rcParams["figure.dpi"] == before
    try:
        assert plotting.use_style() is None  # a cell ending with it prints nothing
        assert mpl.rcParams["figure.dpi"] == 90
        assert mpl.rcParams["savefig.dpi"] == 90
        assert mpl.rcParams["font.size"] == 10
        _, ax = plt.subplots()
        (line,) = ax.plot([0, 1])
        assert (
            matplotlib.colors.to_hex(line.get_color()) == plotting.OKABE_ITO[0].lower()
        )
    finally:
        mpl.rcdefaults()
        matplotlib.use("Agg")


def test_use_style_makes_inline_figures_retina_pngs_with_their_display_size():
    """Under IPython, figures become 2x PNGs whose metadata gives the display size."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()  # another test may have left a shell behind
    assert plotting.retina_inline_figures() is False  # plain Python: nothing to set
    shell = InteractiveShell.instance()
    try:
        plotting.use_style()
        fig, ax = plt.subplots(figsize=(4.0, 2.0))
        ax.plot([0, 1], [0, 1])
        data, metadata = shell.display_formatter.format(fig)
        png = data["image/png"]
        png = base64.b64decode(png) if isinstance(png, str) else png
        width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
        shown = metadata["image/png"]
        assert (shown["width"], shown["height"]) == (width // 2, height // 2)
        # bbox_inches="tight" trims or grows the edges a little: about 4 x 2 inches at
        # 90 dpi
        assert 0.8 * 4.0 * 90 <= shown["width"] <= 1.1 * 4.0 * 90
        assert 0.8 * 2.0 * 90 <= shown["height"] <= 1.1 * 2.0 * 90
    finally:
        InteractiveShell.clear_instance()
        mpl.rcdefaults()
        matplotlib.use("Agg")


# ------------------------------------------------------------------------------------
# layer histograms
def test_layer_histograms_grid_and_overlay():
    rng = np.random.default_rng(0)
    acts = [rng.normal(0, s, (64, 16)) for s in (1.0, 0.5, 0.25, 0.1)]
    axes = plotting.layer_histograms(acts, bins=20, label="He")
    assert isinstance(axes, np.ndarray) and axes.shape == (4,)
    assert all(isinstance(a, Axes) for a in axes)
    assert [a.get_xlabel() for a in axes] == [
        "layer 1",
        "layer 2",
        "layer 3",
        "layer 4",
    ]
    assert all(len(a.patches) == 1 for a in axes)  # one stepfilled polygon per panel
    assert all(_no_titles(a) for a in axes)
    assert _legend_texts(axes[0]) == ["He"]
    # 4 panels in a 2 x 2 grid (two columns at most: 6.4 inches wide)
    assert len(axes[0].figure.axes) == 4
    assert axes[0].figure.get_figwidth() <= 6.4
    again = plotting.layer_histograms(acts, bins=20, axes=axes, label="Glorot")
    assert all(a is b for a, b in zip(again, axes, strict=True))
    assert all(len(a.patches) == 2 for a in axes)
    assert _legend_texts(axes[0]) == ["He", "Glorot"]


def test_layer_histograms_takes_ax_like_the_other_helpers():
    acts = [np.linspace(-1, 1, 50), np.linspace(-2, 2, 50)]
    axes = plotting.layer_histograms(
        acts, ax=None
    )  # ax=None: a new figure, as for every helper
    assert axes.size == 2 and all(isinstance(a, Axes) for a in axes)
    again = plotting.layer_histograms(acts, ax=axes, label="second")
    assert all(a is b for a, b in zip(again, axes, strict=True)) and all(
        len(a.patches) == 2 for a in axes
    )
    fig, single = plt.subplots()
    one = plotting.layer_histograms(
        acts, layers=[1], ax=single
    )  # one Axes for one shown layer
    assert one.size == 1 and one[0] is single and single.get_xlabel() == "layer 2"
    with pytest.raises(ValueError, match="ax"):
        plotting.layer_histograms(acts, ax=axes, axes=axes)
    with pytest.raises(ValueError, match="axes"):
        plotting.layer_histograms(acts, ax=single)  # two layers, one Axes
    plt.close(fig)


def test_layer_histograms_default_subset_and_chosen_layers():
    acts = [np.full((4, 4), float(i)) for i in range(30)]
    axes = plotting.layer_histograms(acts)
    assert axes.size == 6
    assert axes[0].get_xlabel() == "layer 1" and axes[-1].get_xlabel() == "layer 30"
    axes = plotting.layer_histograms(acts, layers=[2, 9])
    assert [a.get_xlabel() for a in axes] == ["layer 3", "layer 10"]


def test_layer_histograms_from_simulation():
    res = propagation.simulate(
        depth=3,
        width=32,
        activation="tanh",
        initializer="glorot_uniform",
        rng=0,
        batch_size=32,
        keep_activations=True,
    )
    axes = plotting.layer_histograms(res.activations)
    assert axes.size == 3


# ------------------------------------------------------------------------------------
# std profile
def test_std_profile_lines_legend_and_values():
    he = propagation.simulate(
        depth=6, width=32, initializer="he_normal", rng=0, batch_size=32
    )
    gl = propagation.simulate(
        depth=6, width=32, initializer="glorot_uniform", rng=0, batch_size=32
    )
    ax = plotting.std_profile({"He": he, "Glorot": gl, "theory": np.ones(6)})
    assert isinstance(ax, Axes) and _no_titles(ax)
    assert len(ax.get_lines()) == 3
    assert _legend_texts(ax) == ["He", "Glorot", "theory"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), he.act_std)
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), np.arange(1, 7))
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "layer"
    ax2 = plotting.std_profile({"He": he}, quantity="grad_std", ax=ax, log=False)
    assert ax2 is ax and len(ax.get_lines()) == 4
    np.testing.assert_allclose(ax.get_lines()[3].get_ydata(), he.grad_std)


def test_std_profile_errors():
    res = propagation.simulate(depth=2, width=8, rng=0, batch_size=8, backward=False)
    with pytest.raises(ValueError, match="^quantity:"):
        plotting.std_profile({"a": res}, quantity="grad_std")
    with pytest.raises(ValueError, match="^quantity:"):
        plotting.std_profile({"a": res}, quantity="nope")
    with pytest.raises(TypeError, match="^results:"):
        plotting.std_profile({})


# ------------------------------------------------------------------------------------
# singular values
def test_singular_value_hist_linear_and_log():
    gauss = propagation.product_singular_values(
        10, 32, initializer="glorot_normal", rng=0
    )
    orth = np.ones(32)
    ax = plotting.singular_value_hist({"Gaussian": gauss, "orthogonal": orth}, bins=30)
    assert isinstance(ax, Axes) and _no_titles(ax)
    assert len(ax.patches) == 2
    assert _legend_texts(ax) == ["Gaussian", "orthogonal"]
    assert ax.get_xscale() == "linear"
    _, ax_log = plt.subplots()
    out = plotting.singular_value_hist({"Gaussian": gauss}, ax=ax_log, log=True)
    assert out is ax_log and ax_log.get_xscale() == "log"
    with pytest.raises(ValueError, match="^bins:"):
        plotting.singular_value_hist({"a": orth}, bins=0)


# ------------------------------------------------------------------------------------
# phase diagram
def test_phase_diagram_heatmap_critical_line_and_labels():
    w = np.linspace(0.5, 4.0, 15)
    b = np.array([0.0, 0.05, 0.1, 0.2])
    _, xi = meanfield.phase_diagram(w, b, "tanh")
    crit = [meanfield.critical_sigma_w2(sb, "tanh") for sb in b]
    _, ax = plt.subplots()
    out = plotting.phase_diagram(w, b, xi, ax=ax, critical=crit)
    assert out is ax and _no_titles(ax)
    assert len(ax.collections) == 1  # the heat map
    (line,) = ax.get_lines()
    np.testing.assert_allclose(line.get_xdata(), crit)
    texts = [t.get_text() for t in ax.texts]
    assert texts == ["ordered", "chaotic"]
    ordered, chaotic = ax.texts
    assert ordered.get_position()[0] < crit[2] < chaotic.get_position()[0]
    assert ax.collections[0].colorbar is not None
    # default critical line: the peak of xi_c in each row, close to the true one
    ax2 = plotting.phase_diagram(w, b, xi)
    np.testing.assert_allclose(ax2.get_lines()[0].get_xdata(), crit, atol=w[1] - w[0])


def test_phase_diagram_shape_error():
    with pytest.raises(ValueError, match="^xi_c:"):
        plotting.phase_diagram([1.0, 2.0], [0.0], np.ones((2, 2)))


# ------------------------------------------------------------------------------------
# training curves
def test_training_curves():
    ax = plotting.training_curves(
        {"He": [2.3, 1.0, 0.5], "Glorot": [2.3, 2.3, 2.29]}, ylabel="loss", log=True
    )
    assert isinstance(ax, Axes) and _no_titles(ax)
    assert len(ax.get_lines()) == 2
    assert _legend_texts(ax) == ["He", "Glorot"]
    assert ax.get_ylabel() == "loss" and ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    ax2 = plotting.training_curves({"LSUV": [1.0, 0.4]}, ax=ax, ylabel="loss")
    assert ax2 is ax and len(ax.get_lines()) == 3
    with pytest.raises(TypeError, match="^ax:"):
        plotting.training_curves({"a": [1.0]}, ax="not an axes")


def test_helpers_never_show(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("plt.show() called")

    monkeypatch.setattr(plt, "show", boom)
    plotting.training_curves({"a": [1.0, 2.0]})
    plotting.singular_value_hist({"a": np.ones(4)})
    plotting.std_profile({"a": np.ones(3)})
    plotting.layer_histograms([np.ones(5)])


def test_plotting_does_not_import_tensorflow():
    code = (
        "import sys, initcourse.plotting; "
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env={**os.environ, "MPLBACKEND": "Agg"},
    )
