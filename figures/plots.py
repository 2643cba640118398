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
from matplotlib.ticker import MaxNLocator, NullLocator
from progfusion.experiments.metrics import summarise

from .style import DESIGN_COLORS, OKABE_ITO

__all__ = [
    "DESIGN_LABELS",
    "design_colors",
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
    ax.set_xticks(list(ticks), [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())


def plot_accuracy_vs_width(
    ax: Axes | None = None,
    *,
    table: pd.DataFrame,
    majority: float | None = None,
    seed: int = 0,
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
        ax.axhline(majority, color="0.4", linestyle="--", label="majority class")
    _exact_log_ticks(ax, np.sort(table["width"].unique()), base=2)
    ax.set_xlabel("hidden width $d$")
    ax.set_ylabel("test accuracy")
    ax.legend()
    return ax


def _design_lines(ax, table, x, metric, values, positions, seed, n_boot) -> None:
    """Per design, the mean of ``metric`` at each of ``values`` of ``x`` (drawn at
    ``positions``) as a line, and its 95% bootstrap interval as a band."""
    for design, color in design_colors(list(dict.fromkeys(table["design"]))).items():
        rows = table[table["design"] == design]
        stats = [
            summarise(rows.loc[rows[x] == v, metric].to_numpy(), seed=seed, n_boot=n_boot)
            for v in values
        ]
        label = DESIGN_LABELS.get(design, design)
        (line,) = ax.plot(positions, [s.mean for s in stats], "o-", color=color, label=label)
        lo, hi = [s.ci_low for s in stats], [s.ci_high for s in stats]
        ax.fill_between(positions, lo, hi, color=line.get_color(), alpha=_BAND_ALPHA, linewidth=0)


def design_colors(designs: list[str]) -> dict[str, str]:
    """A colour per design, in drawing order: the paper's designs keep theirs
    (:data:`~.style.DESIGN_COLORS`), any other takes the next unused Okabe-Ito colour."""
    spare = [c for c in OKABE_ITO if c not in DESIGN_COLORS.values()]
    named = [d for d in DESIGN_COLORS if d in designs]
    others = [d for d in designs if d not in DESIGN_COLORS]
    colors = {d: DESIGN_COLORS[d] for d in named}
    colors.update({d: spare[i % len(spare)] for i, d in enumerate(others)})
    return colors


def plot_metric_vs_parameter(
    ax: Axes | None = None,
    *,
    table: pd.DataFrame,
    x: str,
    metric: str,
    seed: int = 0,
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
    cmap: str = "RdBu",
    contour_levels: int = 6,
) -> Axes:
    """Figures 7a and 8: a value over the (eta, sigma2) grid, heatmap plus contours.

    The colour map is diverging and symmetric about ``center`` (blue above, red
    below with the default ``"RdBu"``); contour lines are drawn through the cell
    centres (negative levels dashed) when the grid is at least 2 x 2 and not constant.

    Parameters
    ----------
    ax : matplotlib Axes, optional
    table : DataFrame with columns ``eta``, ``sigma2`` and ``value``, exactly one row
        per cell (aggregate first); missing cells are left blank. Any spacing.
    value : name of the column to show (e.g. ``"mean_improvement"``).
    xlabel, ylabel, cbar_label : axis and colour-bar labels (no colour bar if None).
    center : value mapped to the middle (white) of the colour map.
    cmap : a diverging matplotlib colour map name.
    contour_levels : approximate number of contour levels.
    """
    _require(table, ["eta", "sigma2", value])
    if table.duplicated(["eta", "sigma2"]).any():
        raise ValueError("table must have one row per (eta, sigma2) cell; aggregate it first")
    ax = _get_ax(ax)
    grid = table.pivot(index="sigma2", columns="eta", values=value).sort_index().sort_index(axis=1)
    x = grid.columns.to_numpy(dtype=float)  # [nx] eta
    y = grid.index.to_numpy(dtype=float)  # [ny] sigma2
    z = np.ma.masked_invalid(grid.to_numpy(dtype=float))  # [ny, nx]
    spread = float(np.max(np.abs(z - center))) if z.count() else 0.0
    spread = spread if spread > 0 else 1.0  # constant grid: any symmetric range works
    norm = Normalize(vmin=center - spread, vmax=center + spread)
    mesh = ax.pcolormesh(_edges(x), _edges(y), z, cmap=cmap, norm=norm, shading="flat")
    if len(x) >= 2 and len(y) >= 2 and z.count() and z.min() < z.max():
        levels = MaxNLocator(contour_levels).tick_values(z.min(), z.max())
        levels = levels[(levels > z.min()) & (levels < z.max())]
        if len(levels):
            cs = ax.contour(x, y, z, levels=levels, colors="k", linewidths=0.6)
            ax.clabel(cs, fontsize="x-small", fmt="%g")
    if cbar_label is not None:
        ax.figure.colorbar(mesh, ax=ax, label=cbar_label)
    ax.set_xticks(x, [f"{v:g}" for v in x])
    ax.set_yticks(y, [f"{v:g}" for v in y])
    ax.grid(False)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax


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
    (imp,) = ax.plot(steps, t["mean_improvement"], "o-", color=color, label="mean improvement")
    ax.fill_between(steps, t["ci_low"], t["ci_high"], color=color, alpha=_BAND_ALPHA, linewidth=0)
    ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle=":")
    _exact_log_ticks(ax, steps, base=10)
    ax.set_xlabel("training steps")
    ax.set_ylabel("MSE improvement (%)")
    right = ax.twinx()
    (win,) = right.plot(steps, t["win_fraction"], "s--", color="0.3", label="win fraction")
    right.set_ylim(0.0, 1.0)
    right.set_ylabel("win fraction of pro")
    right.spines["right"].set_visible(True)
    right.grid(False)
    ax.legend(handles=[imp, win])
    return ax
