"""Plotting functions for Figures 4, 7 and 8, in the style of rliable's ``plot_utils``.

Every function takes its data (a tidy pandas DataFrame), an optional ``ax`` and
returns the ``ax`` it drew on (a new one when ``ax=None``), so panels compose.
Nothing here computes task metrics beyond means and intervals, reads or writes
files, or calls ``show()``; apply a style with :func:`progfusion.figures.style.use_style`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.ticker import NullLocator
from progfusion.experiments.metrics import summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from .style import DESIGN_COLORS, design_styles

__all__ = [
    "DESIGN_LABELS",
    "design_colors",
    "design_markers",
    "ETA_LABEL",
    "SIGMA2_LABEL",
    "plot_accuracy_vs_width",
    "plot_grid_heatmap",
    "plot_improvement_vs_steps",
    "plot_metric_vs_parameter",
]

DESIGN_LABELS = {
    "late": "late fusion",
    "early": "early fusion",
    "pro": "pro-fusion",
    "iterative": "iterative fusion",
}
ETA_LABEL = r"$\eta$ (corruption of $X_1$)"
SIGMA2_LABEL = r"$\sigma_2$ (noise of $X_2$)"
_BAND_ALPHA = 0.25  # interval bands light enough for overlapping designs to stay legible


def _get_ax(ax: Axes | None) -> Axes:
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _require(table: pd.DataFrame, columns: Iterable[str]) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks column(s) {missing}; it has {list(table.columns)}")
    if table.empty:
        raise ValueError("table is empty")


def _exact_log_ticks(ax: Axes, ticks: Sequence[float], base: float) -> None:
    ax.set_xscale("log", base=base)
    ax.set_xticks(list(ticks), [f"{t / 1000:g}k" if t >= 1000 else f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())


def plot_accuracy_vs_width(
    ax: Axes | None = None,
    *,
    table: pd.DataFrame,
    majority: float | None = None,
    seed: int = BOOTSTRAP_SEED,
    n_boot: int = 10_000,
) -> Axes:
    """Figure 4: test accuracy against hidden width, one line and 95% band per design.

    Parameters
    ----------
    ax : matplotlib Axes, optional
    table : DataFrame with columns ``design`` (late/early/pro/...), ``width`` (int),
        ``trial`` and ``test_accuracy``; one row per trained model. NaN accuracies
        (diverged models) are left out of the means.
    majority : float, optional
        Majority-class accuracy, drawn as a dashed horizontal line.
    seed, n_boot : bootstrap seed and resample count for the intervals.
    """
    _require(table, ["design", "width", "trial", "test_accuracy"])
    ax = _get_ax(ax)
    widths = np.sort(table["width"].unique())  # [W]
    _design_lines(ax, table, "width", "test_accuracy", list(widths), widths, seed, n_boot)
    if majority is not None:
        ax.axhline(majority, color="0.4", linestyle="--", label=f"majority class ({majority:.2f})")
    _exact_log_ticks(ax, np.sort(table["width"].unique()), base=2)
    ax.set_xlabel("hidden width $d$")
    ax.set_ylabel("test accuracy")
    ax.legend()
    return ax


def _design_lines(ax, table, x, metric, values, positions, seed, n_boot) -> None:
    """Per design, the mean of ``metric`` at each of ``values`` of ``x`` (drawn at
    ``positions``) as a line, and its 95% bootstrap interval as a band."""
    designs = list(dict.fromkeys(table["design"]))
    markers = design_markers(designs)
    for design, color in design_colors(designs).items():
        rows = table[table["design"] == design]
        stats = [
            summarise(rows.loc[rows[x] == v, metric].to_numpy(), seed=seed, n_boot=n_boot)
            for v in values
        ]
        label = DESIGN_LABELS.get(design, design)
        means = [s.mean for s in stats]
        (line,) = ax.plot(positions, means, marker=markers[design], color=color, label=label)
        lo, hi = [s.ci_low for s in stats], [s.ci_high for s in stats]
        ax.fill_between(positions, lo, hi, color=line.get_color(), alpha=_BAND_ALPHA, linewidth=0)


def design_colors(designs: list[str]) -> dict[str, str]:
    """A colour per design, the paper's designs first (in :data:`~.style.DESIGN_COLORS`'
    order), then the others as given (:func:`~.style.design_styles`)."""
    styles = design_styles(designs)
    named = [d for d in DESIGN_COLORS if d in styles]
    return {d: styles[d]["color"] for d in [*named, *(d for d in styles if d not in named)]}


def design_markers(designs: list[str]) -> dict[str, str]:
    """A marker per design (:func:`~.style.design_styles`), so lines stay apart in greyscale."""
    return {d: style["marker"] for d, style in design_styles(designs).items()}


def plot_metric_vs_parameter(
    ax: Axes | None = None,
    *,
    table: pd.DataFrame,
    x: str,
    metric: str,
    seed: int = BOOTSTRAP_SEED,
    n_boot: int = 10_000,
) -> Axes:
    """Any study: a test metric against one parameter, one line and 95% band per design.

    Parameters
    ----------
    table : DataFrame with columns ``design``, ``x`` and ``metric``; one row per trained
        model, ``ok`` rows only. Rows that differ in other parameters are pooled.
    x : the parameter on the horizontal axis (numbers: a numeric axis, else categories
        in table order).
    metric : the column on the vertical axis, e.g. ``test_mse``.
    seed, n_boot : bootstrap seed and resample count for the intervals.
    """
    _require(table, ["design", x, metric])
    ax = _get_ax(ax)
    values = list(dict.fromkeys(table[x]))
    numeric = pd.api.types.is_numeric_dtype(table[x]) and table[x].dtype != bool
    values = sorted(values) if numeric else values
    positions = values if numeric else list(range(len(values)))
    _design_lines(ax, table, x, metric, values, positions, seed, n_boot)
    if not numeric:
        ax.set_xticks(positions, [str(v) for v in values])
    ax.set_xlabel(x)
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend()
    return ax


def plot_grid_heatmap(
    ax: Axes | None = None,
    *,
    table: pd.DataFrame,
    value: str,
    xlabel: str = ETA_LABEL,
    ylabel: str = SIGMA2_LABEL,
    cbar_label: str | None = None,
    center: float = 0.0,
    spread: float | None = None,
    cmap: str = "RdBu",
    sign: str | None = None,
) -> Axes:
    """Figures 7 and 8: a value over the (eta, sigma2) grid, as a heatmap.

    The colour map is diverging and symmetric about ``center`` (blue above, red below
    with the default ``"RdBu"``). There are no contour lines: per-cell means of 30
    noisy trials make them jagged, with stray fragments that suggest structure the
    data do not carry. What a contour would claim is marked per cell instead: with
    ``sign``, a cell whose 95% interval lies wholly above ``center`` gets an upward
    triangle, wholly below a downward one (shapes, so that the sign reads in
    greyscale too, where both ends of a diverging map are dark).

    Parameters
    ----------
    ax : matplotlib Axes, optional
    table : DataFrame with columns ``eta``, ``sigma2`` and ``value`` (and ``sign`` if
        given), exactly one row per cell (aggregate first, e.g. with
        :func:`progfusion.experiments.analysis.cell_summary`); missing cells are left
        blank. Any spacing.
    value : name of the column to show (e.g. ``"improvement"``).
    xlabel, ylabel, cbar_label : axis and colour-bar labels (no colour bar if None).
    center : value mapped to the middle (white) of the colour map.
    spread : the colour range is ``center`` +- ``spread`` (default: the largest
        distance of a cell from ``center``), e.g. 0.5 for a win fraction about 0.5.
    cmap : a diverging matplotlib colour map name.
    sign : column of +1 / -1 / 0 per cell (the interval above / below ``center`` /
        neither), drawn as markers.
    """
    _require(table, ["eta", "sigma2", value] + ([sign] if sign else []))
    if table.duplicated(["eta", "sigma2"]).any():
        raise ValueError("table must have one row per (eta, sigma2) cell; aggregate it first")
    ax = _get_ax(ax)
    grid = table.pivot(index="sigma2", columns="eta", values=value).sort_index().sort_index(axis=1)
    x = grid.columns.to_numpy(dtype=float)  # [nx] eta
    y = grid.index.to_numpy(dtype=float)  # [ny] sigma2
    z = np.ma.masked_invalid(grid.to_numpy(dtype=float))  # [ny, nx]
    if spread is None:
        spread = float(np.max(np.abs(z - center))) if z.count() else 0.0
    spread = spread if spread > 0 else 1.0  # constant grid: any symmetric range works
    norm = Normalize(vmin=center - spread, vmax=center + spread)
    mesh = ax.pcolormesh(_edges(x), _edges(y), z, cmap=cmap, norm=norm, shading="flat")
    if sign is not None:
        _sign_markers(ax, table, sign)
    if cbar_label is not None:  # in an inset: beside its heatmap whatever the other panels
        # need of the figure's margins (a twin axis' label below would push it away)
        ax.figure.colorbar(mesh, cax=ax.inset_axes([1.04, 0.0, 0.05, 1.0]), label=cbar_label)
    _sparse_ticks(ax, x, y)
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


#: Markers of a cell whose interval lies wholly above (+1) or below (-1) the centre.
SIGN_MARKERS = {1: "^", -1: "v"}


def _sign_markers(ax: Axes, table: pd.DataFrame, sign: str) -> None:
    """Black triangles with a white rim (legible on any colour) on the marked cells."""
    for value, marker in SIGN_MARKERS.items():
        cells = table[table[sign] == value]
        if len(cells):
            ax.plot(
                cells["eta"], cells["sigma2"], linestyle="none", marker=marker, markersize=4,
                color="k", markeredgecolor="w", markeredgewidth=0.4, label=f"_sign{value}",
            )  # fmt: skip


def _sparse_ticks(ax: Axes, x: np.ndarray, y: np.ndarray, most: int = 5) -> None:
    """A tick on every cell, a label on every k-th so that at most ``most`` show per axis."""
    for values, set_ticks in ((x, ax.set_xticks), (y, ax.set_yticks)):
        step = int(np.ceil(len(values) / most))
        set_ticks(values, [f"{v:g}" if i % step == 0 else "" for i, v in enumerate(values)])


def _edges(centres: np.ndarray) -> np.ndarray:
    """Cell edges [n + 1] around sorted centres [n]: midpoints, half a step beyond the ends."""
    if len(centres) == 1:
        return np.array([centres[0] - 0.5, centres[0] + 0.5])
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def plot_improvement_vs_steps(
    ax: Axes | None = None, *, table: pd.DataFrame, color: str = DESIGN_COLORS["pro"]
) -> Axes:
    """Figure 7b: mean MSE improvement (left axis) and win fraction (right) vs steps.

    The two axes share their break-even line: the left axis is symmetric about 0% and
    the right one about 0.5, so "no improvement" and "wins half the pairs" are one
    dotted line, named in the legend, which also names each series' axis.

    Parameters
    ----------
    ax : matplotlib Axes, optional
    table : DataFrame with columns ``steps``, ``mean_improvement``, ``ci_low``,
        ``ci_high`` (percent) and ``win_fraction`` (0..1), one row per step count.

    Returns
    -------
    The left (improvement) axes; the win-fraction axes is its twin, in ``ax.figure.axes``.
    """
    _require(table, ["steps", "mean_improvement", "ci_low", "ci_high", "win_fraction"])
    ax = _get_ax(ax)
    t = table.sort_values("steps")
    steps = t["steps"].to_numpy(dtype=float)  # [S]
    (imp,) = ax.plot(
        steps, t["mean_improvement"], marker="o", color=color, label="mean improvement (left)"
    )
    ax.fill_between(steps, t["ci_low"], t["ci_high"], color=color, alpha=_BAND_ALPHA, linewidth=0)
    extent = np.nanmax(np.abs(t[["mean_improvement", "ci_low", "ci_high"]].to_numpy()))
    extent = 1.1 * extent if np.isfinite(extent) and extent > 0 else 1.0
    ax.set_ylim(-extent, extent)  # symmetric: 0% sits where the right axis has 0.5
    even = ax.axhline(0.0, color="0.3", linewidth=0.7, linestyle=":", label="break-even: 0% = 0.5")
    _exact_log_ticks(ax, steps, base=10)
    ax.set_xlabel("training steps")
    ax.set_ylabel("MSE improvement of pro (%)")
    right = ax.twinx()
    (win,) = right.plot(
        steps, t["win_fraction"], marker="s", linestyle="--", color="0.3",
        label="win fraction (right)",
    )  # fmt: skip
    margin = 0.06  # room for markers at 0 and 1, keeping 0.5 in the middle
    right.set_ylim(-margin, 1 + margin)
    right.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
    right.set_ylabel("win fraction of pro")
    right.spines["right"].set_visible(True)
    right.grid(False)
    # below the axes: inside, no position is free of both axes' lines at every table
    ax.legend(handles=[imp, win, even], loc="upper center", bbox_to_anchor=(0.5, -0.25))
    return ax
