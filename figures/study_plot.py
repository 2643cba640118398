"""The plot of any study's table: its test metric against the study's first grid axis.

One panel per value of the second axis (at most :data:`MAX_PANELS`; past that, and
for every further axis, models are pooled), one line and 95% band per design. A
study without a grid gets one point per design.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments import Study
from progfusion.experiments.columns import metric_of, test_column
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from .plots import plot_metric_vs_parameter
from .style import PAPER, TEXT_WIDTH_IN, figsize, use_style

__all__ = ["MAX_PANELS", "draw_study"]

#: The most panels a second grid axis gets before its values are pooled.
MAX_PANELS = 6


def draw_study(table: pd.DataFrame, study: Study, out: Path | None = None) -> plt.Figure:
    """Draw ``study``'s table; save ``<out>/<name>.png`` and ``.pdf`` if ``out`` is given."""
    metric = test_column(metric_of(study.task.objective))
    ok = table[table["status"] == "ok"].assign(_all="all")
    axes_names = list(study.grid) or ["_all"]
    x = axes_names[0]
    facet = axes_names[1] if len(axes_names) > 1 else None
    panels = list(dict.fromkeys(ok[facet])) if facet is not None else [None]
    if len(panels) > MAX_PANELS:
        panels, facet = [None], None
    with use_style(PAPER):
        fig, axes = plt.subplots(
            1,
            len(panels),
            figsize=figsize(width_in=TEXT_WIDTH_IN, ncols=max(2, len(panels))),
            sharey=True,
            squeeze=False,
        )
        for ax, value in zip(axes[0], panels, strict=True):
            rows = ok if facet is None else ok[ok[facet] == value]
            plot_metric_vs_parameter(ax, table=rows, x=x, metric=metric, seed=BOOTSTRAP_SEED)
            ax.set_title(study.name if facet is None else f"{facet} = {value}")
            if ax is not axes[0][0]:
                ax.get_legend().remove()  # one legend: the first panel's
        if out is not None:
            for ext in ("png", "pdf"):
                fig.savefig(Path(out) / f"{study.name}.{ext}")
    return fig
