"""The plot of any study's table: its test metric against the study's first grid axis.

One panel per value of the second axis (at most :data:`MAX_PANELS`; past that, and
for every further axis, models are pooled), one line and 95% band per design. A
study without a grid gets one point per design.

The horizontal axis follows its values (:func:`format_x_axis`): powers of two
(widths, sample counts) get a base-2 logarithmic axis labelled with the values
themselves, positive values spanning more than a factor of :data:`LOG_SPAN` a
base-10 logarithmic one, whole numbers (``R`` = 1, 2, 3) whole-number ticks only;
text values are categories in table order. Every design keeps one colour and one
marker in every panel (:func:`~.style.design_styles`: the package's designs their
own, a user's the next spare ones in table order).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter, NullLocator
from progfusion.experiments import Study
from progfusion.experiments.analysis import ok_rows
from progfusion.experiments.columns import metric_of, test_column
from progfusion.experiments.metrics import summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from .plots import DESIGN_LABELS
from .style import PAPER, TEXT_WIDTH_IN, design_styles, figsize, use_style

__all__ = [
    "LOG_SPAN",
    "MAX_PANELS",
    "MAX_VALUE_TICKS",
    "draw_study",
    "format_x_axis",
    "plot_study_panel",
    "x_scale",
]

#: The most panels a second grid axis gets before its values are pooled.
MAX_PANELS = 6
#: Positive values whose largest is more than this many times their smallest get a
#: logarithmic axis: on a linear one the smallest values would crowd at its left end.
LOG_SPAN = 8
#: The most values a logarithmic axis labels one by one; past that (or where two
#: would crowd) matplotlib chooses the ticks.
MAX_VALUE_TICKS = 8
_BAND_ALPHA = 0.25  # as plots.py: bands light enough for overlapping designs to stay legible


def _require_columns(table: pd.DataFrame, columns: Iterable[str], what: str = "table") -> None:
    """Refuse ``table`` in one line when it lacks any of ``columns``.

    Raises
    ------
    ValueError
        Naming the missing columns and the ones ``table`` has.
    """
    missing = [c for c in columns if c not in table.columns]
    if missing:
        s = "s" if len(missing) > 1 else ""
        raise ValueError(
            f"{what} lacks the column{s} {', '.join(map(repr, missing))}; "
            f"it has: {', '.join(str(c) for c in table.columns)}"
        )


def _is_numeric(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def x_scale(values: Sequence[float]) -> tuple[str, int | None]:
    """How an axis shows ``values`` (numbers): ``("log", 2)``, ``("log", 10)``,
    ``("integer", None)`` or ``("linear", None)`` (see the module docstring)."""
    v = np.unique(np.asarray(values, dtype=float))  # [n] sorted, distinct
    v = v[np.isfinite(v)]
    whole = bool(len(v)) and bool(np.all(v == np.round(v)))
    if len(v) >= 2 and v[0] > 0:
        if whole and all((int(x) & (int(x) - 1)) == 0 for x in v):  # 1, 2, 4, 8, ...
            return "log", 2
        if v[-1] / v[0] > LOG_SPAN:
            return "log", 10
    return ("integer", None) if whole else ("linear", None)


def _label(value: float) -> str:
    """A tick label: ``64``, ``16384``, ``0.1`` (whole numbers without a decimal point)."""
    return str(int(round(value))) if value == round(value) else f"{value:g}"


def format_x_axis(ax: Axes, values: Sequence[float]) -> Axes:
    """Set ``ax``'s horizontal scale and ticks for the grid ``values`` it shows.

    Parameters
    ----------
    ax : the axes, already drawn on.
    values : [n] the numbers the horizontal axis shows.

    Returns
    -------
    ``ax``.
    """
    scale, base = x_scale(values)
    if scale == "log":
        ax.set_xscale("log", base=base)
        ticks = np.unique(np.asarray(values, dtype=float))  # [n] sorted, distinct
        ticks = ticks[np.isfinite(ticks)]
        logs = np.log(ticks) / np.log(base)
        crowded = np.min(np.diff(logs)) < (logs[-1] - logs[0]) / (2 * MAX_VALUE_TICKS)
        if len(ticks) <= MAX_VALUE_TICKS and not crowded:
            ax.set_xticks(ticks, [_label(t) for t in ticks])
            ax.xaxis.set_minor_locator(NullLocator())
        else:
            ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _: _label(t)))
            ax.xaxis.set_minor_formatter(NullFormatter())
    elif scale == "integer":
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _: _label(t)))
    return ax


def plot_study_panel(
    ax: Axes | None = None,
    *,
    table: pd.DataFrame,
    x: str,
    metric: str,
    styles: Mapping[str, Mapping[str, str]] | None = None,
    seed: int = BOOTSTRAP_SEED,
    n_boot: int = 10_000,
) -> Axes:
    """A test metric against one parameter, one line and 95% band per design.

    Parameters
    ----------
    ax : matplotlib Axes, optional (a new one when None).
    table : DataFrame with columns ``design``, ``x`` and ``metric``; one row per
        trained model, ``ok`` rows only. Rows that differ in other parameters are pooled.
    x : the parameter on the horizontal axis (numbers: scaled by :func:`format_x_axis`;
        anything else: categories in table order).
    metric : the column on the vertical axis, e.g. ``test_mse``.
    styles : ``{design: {"color": ..., "marker": ...}}`` (default:
        :func:`~.style.design_styles` of the table's designs); pass one mapping to
        every panel of a figure so that a design looks the same in each.
    seed, n_boot : bootstrap seed and resample count for the intervals.

    Returns
    -------
    The axes drawn on.
    """
    _require_columns(table, ["design", x, metric])
    styles = design_styles(table["design"]) if styles is None else styles
    unstyled = [d for d in dict.fromkeys(table["design"]) if d not in styles]
    if unstyled:
        raise ValueError(f"styles names no colour and marker for design(s) {unstyled}")
    if ax is None:
        _, ax = plt.subplots()
    numeric = _is_numeric(table[x])
    values = list(dict.fromkeys(table[x]))
    values = sorted(values) if numeric else values
    position = {v: (v if numeric else i) for i, v in enumerate(values)}
    for design, rows in table.groupby("design", sort=False):
        drawn = [v for v in values if (rows[x] == v).any()]  # a design may lack a value
        stats = [
            summarise(rows.loc[rows[x] == v, metric].to_numpy(), seed=seed, n_boot=n_boot)
            for v in drawn
        ]
        at = [position[v] for v in drawn]
        label = DESIGN_LABELS.get(design, design)
        ax.plot(at, [s.mean for s in stats], label=label, **styles[design])
        lo, hi = [s.ci_low for s in stats], [s.ci_high for s in stats]
        ax.fill_between(at, lo, hi, color=styles[design]["color"], alpha=_BAND_ALPHA, linewidth=0)
    if numeric:
        format_x_axis(ax, values)
    else:
        ax.set_xticks(range(len(values)), [str(v) for v in values])
    ax.set_xlabel(x)
    ax.set_ylabel(metric.replace("_", " "))
    ax.legend()
    return ax


def draw_study(
    table: pd.DataFrame, study: Study, *, style=PAPER, width_in: float = TEXT_WIDTH_IN
) -> plt.Figure:
    """Draw ``study``'s table: its metric against its first grid axis, a panel per value
    of the second, in ``style`` at ``width_in`` inches (save it with
    :func:`~.images.save_image`).

    Raises
    ------
    ValueError
        When the table lacks a column the plot needs (the study's metric, a grid
        axis, ``design`` or ``status``), or holds no model that trained ``ok``.
    """
    metric = test_column(metric_of(study.task.objective))
    _require_columns(
        table, ["design", "status", metric, *study.grid], f"the table of study {study.name!r}"
    )
    ok = ok_rows(table).assign(_all="all")
    if not len(ok):
        raise ValueError(f"no model of study {study.name!r} trained ok: nothing to draw")
    styles = design_styles(table["design"])  # the whole table's order: same in every panel
    axes_names = list(study.grid) or ["_all"]
    x = axes_names[0]
    facet = axes_names[1] if len(axes_names) > 1 else None
    panels = list(dict.fromkeys(ok[facet])) if facet is not None else [None]
    if len(panels) > MAX_PANELS:
        panels, facet = [None], None
    with use_style(style):
        fig, axes = plt.subplots(
            1,
            len(panels),
            figsize=figsize(width_in=width_in, ncols=max(2, len(panels))),
            sharey=True,
            squeeze=False,
        )
        for ax, value in zip(axes[0], panels, strict=True):
            rows = ok if facet is None else ok[ok[facet] == value]
            plot_study_panel(ax, table=rows, x=x, metric=metric, styles=styles)
            ax.set_title(study.name if facet is None else f"{facet} = {value}")
            if ax is not axes[0][0]:
                ax.set_ylabel("")  # the panels share it
        _one_legend(fig, list(axes[0]), [DESIGN_LABELS.get(d, d) for d in styles])
    return fig


def _one_legend(fig: plt.Figure, axes: list[Axes], order: list[str]) -> None:
    """One legend, right of the panels (never over a line or a title, however many
    panels), naming every design drawn in any panel in ``order`` (their labels in
    table order)."""
    handles: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
        ax.get_legend().remove()
    labels = [label for label in order if label in handles]
    fig.legend([handles[label] for label in labels], labels, loc="outside right upper")
