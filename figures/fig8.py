"""Figure 8: the robustness of pro- against late fusion, on Figure 7(a)'s models.

The same trained models as 7(a), evaluated on test inputs corrupted at each noise
level (SPEC section 3.3): per cell, the mean Delta robust AUC (the area under -MSE
against the noise level, pro minus late) and the mean effective robustness of pro
(Taori et al.: its deviation from the late-fusion trend of corrupted against clean
-MSE, integrated with the same trapezoid, so both share a scale). Figure 8 trains
nothing of its own: its table is derived from Figure 7's.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from progfusion.experiments.analysis import cell_summary
from progfusion.experiments.columns import noise_columns
from progfusion.experiments.metrics import (
    delta_auc,
    effective_robustness,
    robust_auc,
    summarise,
)
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from . import fig7
from .figure import Figure, Tables
from .plots import plot_grid_heatmap
from .readout import comparison_rows, estimate, frac, too_few
from .style import PAPER, TEXT_WIDTH_IN, panel_layout, use_style
from .verdicts import EmpiricalClaim, claim, direction

__all__ = ["FIGURE", "TABLE", "model_robust_auc", "robustness_pairs", "robustness_table"]

#: Its table, derived from Figure 7(a)'s.
TABLE = "figure8"


def robustness_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Per pair: Delta robust AUC of pro vs late, and pro's effective robustness.

    Performance is ``-MSE`` (higher is better), so both are positive when pro is
    the more robust design. Robust AUC is the trapezoid area over the actual noise
    levels. Effective robustness is Taori et al.'s: pro's deviation from the
    baseline trend (corrupted against clean ``-MSE``) fitted across the late-fusion
    models of every pair in the table (all cells), integrated with the same
    trapezoid (:func:`~progfusion.experiments.metrics.effective_robustness`);
    ``effective_robustness_late`` is late's own (its mean over the pairs is 0 by
    construction).
    """
    levels, cols = noise_columns(table)
    p = fig7.grid_pairs(table, cols)
    late = -p[[f"{c}_late" for c in cols]].to_numpy()  # [pairs, L]
    pro = -p[[f"{c}_pro" for c in cols]].to_numpy()
    out = p[list(fig7.PAIR_KEYS)].copy()
    empty = np.array([])
    out["delta_auc"] = np.atleast_1d(delta_auc(levels, pro, late)) if len(p) else empty
    out["effective_robustness"] = (
        np.atleast_1d(effective_robustness(levels, pro, late)) if len(p) else empty
    )
    out["effective_robustness_late"] = (
        np.atleast_1d(effective_robustness(levels, late, late)) if len(p) else empty
    )
    return out


def model_robust_auc(table: pd.DataFrame) -> np.ndarray:
    """Robust AUC of ``-MSE`` over the noise levels, per row (NaN where not ok)."""
    levels, cols = noise_columns(table)
    return np.asarray(robust_auc(levels, -table[cols].to_numpy(dtype=float)))


def robustness_table(grid: pd.DataFrame) -> pd.DataFrame:
    """The Figure 8 table: one row per trained model, with its robust AUC of -MSE.

    The rows keep Figure 7's ``config`` column, so a Figure 8 table names the
    Figure 7 run its models come from.
    """
    table = grid.copy()
    table["figure"] = "8"
    table["robust_auc"] = model_robust_auc(table)
    return table


def derive(tables: Tables) -> dict[str, pd.DataFrame]:
    """Its table from Figure 7(a)'s, when that is given."""
    if fig7.GRID_TABLE not in tables:
        return {}
    return {TABLE: robustness_table(tables[fig7.GRID_TABLE])}


def draw(tables: Tables, *, style=PAPER, width_in: float = TEXT_WIDTH_IN) -> plt.Figure:
    """Per cell, mean Delta robust AUC and mean effective robustness, a triangle on each
    cell whose 95% interval excludes 0. ``width_in``: the figure's width (inches)."""
    per_pair = robustness_pairs(tables[TABLE])
    panels = (
        ("delta_auc", r"$\Delta$ robust AUC", "(a) robust AUC, pro minus late"),
        # Taori et al.'s, integrated with robust AUC's trapezoid: (a) and (b) share a scale
        (
            "effective_robustness",
            "effective robustness",
            "(b) effective robustness of pro (vs late trend)",
        ),
    )
    with use_style(style):
        fig, axes = panel_layout(2, width_in=width_in)
        for ax, (value, label, title) in zip(axes, panels, strict=True):
            cells = cell_summary(per_pair, value, fig7.GRID_KEYS)
            plot_grid_heatmap(ax, table=cells, value=value, sign=f"{value}_sign", cbar_label=label)
            ax.set_title(title)
    return fig


def summary(tables: Tables) -> list[str]:
    """Delta robust AUC and effective robustness, with n, 95% intervals and what to read
    them against. At most 80 columns."""
    per_pair = robustness_pairs(tables[TABLE])
    if not len(per_pair):
        return ["Figure 8: no complete pairs"]
    d = summarise(per_pair["delta_auc"].to_numpy(), seed=BOOTSTRAP_SEED)
    e = summarise(per_pair["effective_robustness"].to_numpy(), seed=BOOTSTRAP_SEED)

    def num(x: float) -> str:
        return f"{x:+.4f}"

    bare = {"show_n": False, "label": False}
    rows = [
        ("Delta robust AUC", estimate(d.mean, d.ci_low, d.ci_high, d.n, num, **bare),
         "> 0, no value", "none 0"),
        ("effective robustness", estimate(e.mean, e.ci_low, e.ci_high, e.n, num, **bare),
         "(not in it)", "none 0"),
    ]  # fmt: skip
    lines = [
        f"Figure 8: robustness of pro against late fusion, n = {d.n} paired trials",
        "  (performance -MSE over the noise levels; positive: pro is the more robust)",
        *comparison_rows(rows),
        f"  Delta robust AUC is positive in {frac((per_pair['delta_auc'] > 0).mean())} "
        "of the pairs",
    ]
    warning = too_few(d.n)
    if warning:
        lines.insert(1, f"  warning: {warning}")
    return lines


def claims(tables: Tables) -> list[EmpiricalClaim]:
    """Figure 8: the AUC (robustness) improvement of pro-fusion over late fusion."""
    per_pair = robustness_pairs(tables[TABLE])
    cells = len(per_pair[list(fig7.GRID_KEYS)].drop_duplicates())
    return [
        claim("8", "the improvement in AUC of the pro-fusion model over direct fusion",
              "Delta robust AUC of -MSE, pro - late", direction(), per_pair["delta_auc"]),
        claim("8", None, f"deviation of pro from a late-fusion trend (corrupted against clean "
              f"-MSE) fitted across all {cells} cells, integrated over noise",
              direction(), per_pair["effective_robustness"],
              statement="under noise, pro-fusion keeps more -MSE than a late-fusion trend "
              "fitted across all cells predicts from its clean -MSE"),
    ]  # fmt: skip


def readme(tables: Tables) -> list[str]:
    """The README's rows for Figure 8."""
    per_pair = robustness_pairs(tables[TABLE])
    d = summarise(per_pair["delta_auc"].to_numpy(), seed=BOOTSTRAP_SEED)
    e = summarise(per_pair["effective_robustness"].to_numpy(), seed=BOOTSTRAP_SEED)
    positive = 100 * float(np.mean(per_pair["delta_auc"] > 0))
    return [
        f"| Figure 8: Delta robust AUC of -MSE (pro - late) | pro more robust | {d.mean:+.3f} "
        f"[{d.ci_low:+.3f}, {d.ci_high:+.3f}], positive in {positive:.0f}% of pairs |",
        "| Figure 8: deviation of pro from a late-fusion trend fitted across all cells (same "
        f"scale) | (not in the paper) "
        f"| {e.mean:+.3f} [{e.ci_low:+.3f}, {e.ci_high:+.3f}] |",
    ]


FIGURE = Figure(
    name="8",
    title="Figure 8: robustness of pro against late fusion",
    sizes={size: {fig7.GRID_TABLE: study} for size, study in fig7.GRID_SIZES.items()},
    follows_protocol=(fig7.GRID_TABLE,),
    derived=(TABLE,),
    published=(TABLE,),
    derive=derive,
    draw=draw,
    summary=summary,
    claims=claims,
    readme=readme,
)
