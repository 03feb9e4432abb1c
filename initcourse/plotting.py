"""The course's figures: one style and a few plot helpers (matplotlib, no TensorFlow).

Every helper takes ``ax=None`` (or ``axes=None``), draws on the given axes or on a new
figure, returns the axes, never calls ``plt.show()`` and never sets a title: in the book
the caption (cell metadata) says what a figure shows.

The style (:data:`COURSE_STYLE`) is applied globally by :func:`use_style` or temporarily
by :func:`style_context`:

* small figures (6.4 × 3.8 in) shown 576 px wide (``dpi`` 90); in a Jupyter kernel
  :func:`use_style` stores them as PNGs at twice that resolution ("retina") with their
  display size in the output's metadata, so they stay sharp on high-resolution screens
  and when a reader zooms on a phone;
* 10-point fonts, light grid, no top/right spines, legends without frames;
* the Okabe–Ito colour cycle, distinguishable with the common forms of colour blindness.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm

__all__ = [
    "OKABE_ITO",
    "COURSE_STYLE",
    "use_style",
    "retina_inline_figures",
    "style_context",
    "layer_histograms",
    "std_profile",
    "singular_value_hist",
    "phase_diagram",
    "training_curves",
]

OKABE_ITO: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#E69F00",  # orange
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)
"""Okabe & Ito's colour-blind-safe palette, in the order the course uses it."""

COURSE_STYLE: dict[str, Any] = {
    "figure.figsize": (6.4, 3.8),
    "figure.dpi": 90,
    "savefig.dpi": 90,
    "figure.constrained_layout.use": True,
    "font.size": 10,
    "axes.titlesize": 10,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "axes.prop_cycle": cycler(color=list(OKABE_ITO)),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
    "lines.markersize": 4,
    "image.cmap": "viridis",
}
"""The rcParams of the course style."""

QUANTITY_LABELS = {
    "preact_mean": "mean of pre-activations",
    "preact_std": "std of pre-activations",
    "act_mean": "mean of activations",
    "act_std": "std of activations",
    "saturated": "fraction saturated",
    "grad_mean": "mean of gradient wrt pre-activations",
    "grad_std": "std of gradient wrt pre-activations",
    "weight_grad_std": "std of weight gradient",
}


def use_style() -> None:
    """Apply the course style (:data:`COURSE_STYLE`) for the rest of the session.

    Call it once in a chapter's import cell. It returns nothing, so a cell that ends
    with it prints nothing. In IPython (a Jupyter kernel) it also makes inline figures
    "retina" PNGs: drawn at ``2 * figure.dpi`` with the display size (``figure.dpi``)
    stored as the output's width/height metadata (:func:`retina_inline_figures`). Use
    :func:`style_context` to apply the style only inside a ``with`` block.
    """
    mpl.rcParams.update(COURSE_STYLE)  # type: ignore[arg-type]  # str keys, not Literal
    retina_inline_figures()


def retina_inline_figures() -> bool:
    """Show inline figures as 2x PNGs with their display size, if running under IPython.

    Uses ``matplotlib_inline.backend_inline.set_matplotlib_formats("retina")``: IPython
    then renders each figure at twice ``figure.dpi`` and records half the pixel size as
    the PNG's ``width``/``height`` metadata, which Jupyter and the book use as the
    display size. Returns True if the format was set, False outside IPython (plain
    Python, tests).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with Jupyter
        return False
    if get_ipython() is None:
        return False
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("retina")
    return True


def style_context() -> AbstractContextManager:
    """Return a context manager applying the course style in a ``with`` block only."""
    return mpl.rc_context(COURSE_STYLE)  # type: ignore[arg-type]  # str keys


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def _get_ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
        return ax
    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax: expected a matplotlib Axes or None, got {type(ax).__name__}"
        )
    return ax


def _check_mapping(values: Any, name: str) -> Mapping:
    if not isinstance(values, Mapping) or len(values) == 0:
        raise TypeError(
            f"{name}: expected a non-empty dict {{label: values}}, got "
            f"{type(values).__name__} {values!r:.80}"
        )
    return values


def _check_bins(bins: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins < 1:
        raise ValueError(f"bins: must be a positive int, got {bins!r}")
    return int(bins)


def _as_1d(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"{name}: expected a non-empty 1-D array, got shape {arr.shape}"
        )
    return arr


# --------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------
def _default_layers(n: int, max_panels: int = 6) -> list[int]:
    if n <= max_panels:
        return list(range(n))
    return sorted({int(round(i)) for i in np.linspace(0, n - 1, max_panels)})


def layer_histograms(
    activations: Sequence[np.ndarray],
    *,
    layers: Sequence[int] | None = None,
    bins: int = 60,
    axes: np.ndarray | Sequence[Axes] | None = None,
    label: str | None = None,
    ax: Axes | np.ndarray | Sequence[Axes] | None = None,
) -> np.ndarray:
    """One histogram per layer of the values in ``activations`` (a grid of panels).

    Parameters
    ----------
    activations : sequence of numpy.ndarray
        Per-layer arrays (e.g. ``simulate(..., keep_activations=True).activations``);
        each is flattened.
    layers : sequence of int, optional
        0-based indices into ``activations`` to show. Default: all layers if there are
        at most 6, else 6 evenly spaced ones including the first and the last.
    bins : int
        Number of bins per histogram.
    axes : array of Axes, optional
        Draw into these (one per shown layer), e.g. to overlay a second initializer with
        another ``label``; default: a new figure with up to 3 panels per row.
    label : str, optional
        Legend label of this set of histograms (a legend is drawn in the first panel).
    ax : Axes or array of Axes, optional
        The same as ``axes`` (the name the other helpers use); a single Axes serves one
        shown layer. Give ``ax`` or ``axes``, not both.

    Returns
    -------
    numpy.ndarray
        The 1-D array of the axes used, one per shown layer. Each panel's x-label names
        the layer (counted from 1); the y-axis is a density.
    """
    if (
        isinstance(activations, np.ndarray)
        or not isinstance(activations, Sequence)
        or len(activations) == 0
    ):
        raise TypeError(
            "activations: expected a non-empty list of per-layer arrays, got "
            f"{type(activations).__name__}"
        )
    bins = _check_bins(bins)
    if ax is not None:
        if axes is not None:
            raise ValueError("ax: give either ax or axes (the same thing), not both")
        axes = [ax] if isinstance(ax, Axes) else ax
    n = len(activations)
    if layers is None:
        idx = _default_layers(n)
    else:
        idx = []
        for i in layers:
            if (
                isinstance(i, bool)
                or not isinstance(i, numbers.Integral)
                or not 0 <= i < n
            ):
                raise ValueError(
                    f"layers: every entry must be an index in 0..{n - 1}, got {i!r}"
                )
            idx.append(int(i))
        if not idx:
            raise ValueError("layers: must not be empty")
    if axes is None:
        # two columns at most: 6.4 inches wide, so labels stay legible on a phone
        ncols = min(2, len(idx))
        nrows = math.ceil(len(idx) / ncols)
        fig, grid = plt.subplots(
            nrows, ncols, figsize=(3.2 * ncols, 2.4 * nrows), squeeze=False
        )
        flat = grid.ravel()
        for extra in flat[len(idx) :]:
            fig.delaxes(extra)
        ax_list = flat[: len(idx)]
    else:
        ax_list = np.asarray(axes, dtype=object).ravel()
        if ax_list.size < len(idx) or not all(isinstance(a, Axes) for a in ax_list):
            raise ValueError(
                f"axes: need at least {len(idx)} matplotlib Axes (one per layer), "
                f"got {ax_list.size}"
            )
        ax_list = ax_list[: len(idx)]
    for ax, i in zip(ax_list, idx, strict=True):
        assert isinstance(ax, Axes)  # checked above; tells the type checker
        values = np.asarray(activations[i], dtype=float).ravel()
        ax.hist(
            values,
            bins=bins,
            density=True,
            histtype="stepfilled",
            alpha=0.55,
            label=label,
        )
        ax.set_xlabel(f"layer {i + 1}")
    if label is not None:
        ax_list[0].legend()
    return np.asarray(ax_list, dtype=object)


def std_profile(
    results: Mapping[str, Any],
    *,
    quantity: str = "act_std",
    ax: Axes | None = None,
    log: bool = True,
) -> Axes:
    """Plot a per-layer statistic versus depth, one line per entry of ``results``.

    Parameters
    ----------
    results : dict
        ``{label: PropagationResult or 1-D array}``; for a result, its attribute
        ``quantity`` is plotted.
    quantity : str
        Attribute of :class:`initcourse.propagation.PropagationResult` (``"act_std"``,
        ``"grad_std"``, ...); also the y-label.
    ax : Axes, optional
        Where to draw (default: a new figure).
    log : bool
        Logarithmic y-axis (default), where a constant factor per layer is a straight
        line.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check_mapping(results, "results")
    if quantity not in QUANTITY_LABELS:
        raise ValueError(
            f"quantity: got {quantity!r}; allowed values are "
            + ", ".join(map(repr, QUANTITY_LABELS))
        )
    ax = _get_ax(ax)
    for name, res in results.items():
        if isinstance(res, (np.ndarray, list, tuple)):
            values = _as_1d(res, f"results[{name!r}]")
        else:
            if not hasattr(res, quantity):
                raise TypeError(
                    f"results[{name!r}]: expected a PropagationResult or an array, "
                    f"got {type(res).__name__}"
                )
            raw = getattr(res, quantity)
            if raw is None:
                raise ValueError(
                    f"quantity: results[{name!r}] has no {quantity!r} "
                    "(simulated with backward=False?)"
                )
            values = _as_1d(raw, f"results[{name!r}]")
        ax.plot(
            np.arange(1, values.size + 1),
            values,
            marker="o",
            markersize=3,
            label=str(name),
        )
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("layer")
    ax.set_ylabel(QUANTITY_LABELS[quantity])
    ax.legend()
    return ax


def singular_value_hist(
    values: Mapping[str, np.ndarray],
    *,
    ax: Axes | None = None,
    bins: int = 50,
    log: bool = False,
) -> Axes:
    """Histograms of singular values (e.g. of Jacobians), one per entry, shared bins.

    Parameters
    ----------
    values : dict
        ``{label: 1-D array of singular values}``.
    ax : Axes, optional
        Where to draw (default: a new figure).
    bins : int
        Number of bins (shared by all entries so their heights compare).
    log : bool
        Logarithmic x-axis with log-spaced bins, for spectra spanning many orders of
        magnitude (exact zeros are left out).

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check_mapping(values, "values")
    bins = _check_bins(bins)
    ax = _get_ax(ax)
    data = {str(k): _as_1d(v, f"values[{k!r}]") for k, v in values.items()}
    allv = np.concatenate(list(data.values()))
    if log:
        pos = allv[allv > 0]
        if pos.size == 0:
            raise ValueError("values: log=True needs some positive singular values")
        lo, hi = pos.min(), pos.max()
        if lo == hi:
            lo, hi = lo / 1.1, hi * 1.1
        edges = np.logspace(np.log10(lo), np.log10(hi), bins + 1)
        ax.set_xscale("log")
    else:
        lo, hi = allv.min(), allv.max()
        if lo == hi:
            lo, hi = lo - 0.05 * max(1.0, abs(lo)), hi + 0.05 * max(1.0, abs(hi))
        edges = np.linspace(lo, hi, bins + 1)
    for name, v in data.items():
        ax.hist(
            v[v > 0] if log else v,
            bins=list(edges),
            histtype="step",
            linewidth=1.8,
            label=name,
        )
    ax.set_xlabel("singular value")
    ax.set_ylabel("count")
    ax.legend()
    return ax


def phase_diagram(
    sigma_w2_grid: np.ndarray,
    sigma_b2_grid: np.ndarray,
    xi_c: np.ndarray,
    *,
    ax: Axes | None = None,
    critical: Sequence[float] | np.ndarray | None = None,
) -> Axes:
    """Order-to-chaos heat map of the depth scale.

    The depth scale is :math:`\\xi_c(\\sigma_w^2, \\sigma_b^2)`.

    Draws ``xi_c`` (shape ``(len(sigma_b2_grid), len(sigma_w2_grid))``, as returned by
    :func:`initcourse.meanfield.phase_diagram`) on a logarithmic colour scale with a
    colour bar, the critical line :math:`\\chi_1 = 1` as a white curve, and the labels
    "ordered" (left of it) and "chaotic" (right)
    :cite:`poole2016exponential,schoenholz2017deep`. Infinite values (on the critical
    line) are shown with the largest finite value.

    Parameters
    ----------
    sigma_w2_grid, sigma_b2_grid : array_like
        The 1-D grids (x and y axes).
    xi_c : array_like
        The depth scales.
    ax : Axes, optional
        Where to draw (default: a new figure).
    critical : array_like, optional
        The critical :math:`\\sigma_w^2` for each value of ``sigma_b2_grid`` (e.g. from
        :func:`initcourse.meanfield.critical_sigma_w2`). Default: the
        :math:`\\sigma_w^2` of the grid where :math:`\\xi_c` peaks in each row.

    Returns
    -------
    matplotlib.axes.Axes
    """
    w = _as_1d(sigma_w2_grid, "sigma_w2_grid")
    b = _as_1d(sigma_b2_grid, "sigma_b2_grid")
    xi = np.asarray(xi_c, dtype=float)
    if xi.shape != (b.size, w.size):
        raise ValueError(
            "xi_c: expected shape (len(sigma_b2_grid), len(sigma_w2_grid)) = "
            f"{(b.size, w.size)}, got {xi.shape}"
        )
    finite = xi[np.isfinite(xi) & (xi > 0)]
    if finite.size == 0:
        raise ValueError("xi_c: needs at least one finite positive value")
    shown = np.where(np.isfinite(xi), xi, finite.max())
    shown = np.clip(shown, finite.min(), None)
    if critical is None:
        crit = w[np.argmax(np.where(np.isfinite(xi), xi, np.inf), axis=1)]
    else:
        crit = _as_1d(critical, "critical")
        if crit.size != b.size:
            raise ValueError(
                f"critical: expected {b.size} values (one per sigma_b2), "
                f"got {crit.size}"
            )
    ax = _get_ax(ax)
    vmin, vmax = finite.min(), finite.max()
    if vmin == vmax:
        vmax = vmin * 1.01
    mesh = ax.pcolormesh(
        w, b, shown, shading="nearest", norm=LogNorm(vmin=vmin, vmax=vmax)
    )
    cbar = ax.figure.colorbar(mesh, ax=ax)
    cbar.set_label(r"depth scale $\xi_c$")
    ax.plot(crit, b, color="white", linewidth=2, label=r"critical line $\chi_1 = 1$")
    ax.set_xlim(w.min(), w.max())
    ax.set_ylim(b.min(), b.max())
    mid = b.size // 2
    y = b[mid] if b.size > 1 else b[0]
    box = dict(boxstyle="round", facecolor="white", alpha=0.8, linewidth=0)
    left = (w.min() + crit[mid]) / 2
    right = (crit[mid] + w.max()) / 2
    ax.text(left, y, "ordered", ha="center", va="center", bbox=box)
    ax.text(right, y, "chaotic", ha="center", va="center", bbox=box)
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")
    ax.grid(False)
    return ax


def training_curves(
    histories: Mapping[str, Iterable[float]],
    *,
    ax: Axes | None = None,
    ylabel: str = "loss",
    log: bool = False,
    xlabel: str = "epoch",
) -> Axes:
    """Plot one curve per entry of ``histories`` (e.g. each initializer's loss).

    Parameters
    ----------
    histories : dict
        ``{label: sequence of values}``, e.g. ``{"He": history.history["loss"]}``.
    ax : Axes, optional
        Where to draw (default: a new figure).
    ylabel, xlabel : str
        Axis labels (x counts from 1).
    log : bool
        Logarithmic y-axis.

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check_mapping(histories, "histories")
    ax = _get_ax(ax)
    for name, hist in histories.items():
        values = _as_1d(list(hist), f"histories[{name!r}]")
        ax.plot(np.arange(1, values.size + 1), values, label=str(name))
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax
