"""Figure 8: the robustness of pro- against late fusion, on Figure 7(a)'s models.

The same trained models as 7(a), evaluated on test inputs corrupted at each noise
level (SPEC section 3.3): per cell, the mean Delta robust AUC (the area under -MSE
against the noise level, pro minus late) and the mean effective robustness of pro
(Taori et al.: its deviation from the trend of corrupted against clean -MSE fitted
over the late-fusion models of its own cell, integrated with the same trapezoid, so
both share a scale). The paper's question is about one noisy or missing modality:
where Figure 7's table has per-modality columns
(:mod:`~progfusion.experiments.modalities`), Delta robust AUC with noise on X1 alone
and on X2 alone, and the MSE improvement with X1 or X2 missing (zeroed, or replaced by
its training mean). Figure 8 trains nothing of its own: its table is derived from
Figure 7's."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from progfusion.experiments.analysis import cell_summary
from progfusion.experiments.columns import noise_columns
from progfusion.experiments.metrics import (
    delta_auc,
    effective_robustness,
    percent_improvement,
    robust_auc,
    summarise,
)
from progfusion.experiments.modalities import (
    MISSING_FILLS,
    missing_column,
    modality_noise_columns,
)
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from . import fig7
from .figure import Figure, Tables
from .plots import plot_grid_heatmap
from .readout import comparison_rows, estimate, frac, pct, too_few
from .style import PAPER, TEXT_WIDTH_IN, panel_layout, use_style
from .verdicts import EmpiricalClaim, claim, direction

__all__ = ["FIGURE", "TABLE", "model_robust_auc", "robustness_pairs", "robustness_table"]

#: Its table, derived from Figure 7(a)'s.
TABLE = "figure8"


#: Fewest late-fusion models a cell needs for its trend (a line through two points).
MIN_TREND = 2


def robustness_pairs(table: pd.DataFrame) -> pd.DataFrame:
    """Per pair: Delta robust AUC of pro vs late, pro's effective robustness, and where
    the table has them, the per-modality readings (:func:`modality_pairs`).

    Performance is ``-MSE`` (higher is better), so every value is positive when pro
    is the more robust design. Robust AUC is the trapezoid area over the actual noise
    levels. Effective robustness is Taori et al.'s, one distribution pair at a time:
    in each cell, a baseline trend of corrupted against clean ``-MSE`` is fitted over
    that cell's late-fusion models, one line per noise level, and pro's deviation from
    it is integrated with the same trapezoid
    (:func:`~progfusion.experiments.metrics.effective_robustness`); NaN in a cell with
    fewer than :data:`MIN_TREND` late models. ``effective_robustness_late`` is late's
    own (its mean over a cell is 0 by construction).
    """
    levels, cols = noise_columns(table)
    p = fig7.grid_pairs(table, cols)
    late = -p[[f"{c}_late" for c in cols]].to_numpy()  # [pairs, L]
    pro = -p[[f"{c}_pro" for c in cols]].to_numpy()
    out = p[list(fig7.PAIR_KEYS)].copy()
    out["delta_auc"] = np.atleast_1d(delta_auc(levels, pro, late)) if len(p) else np.array([])
    own, of_late = np.full(len(p), np.nan), np.full(len(p), np.nan)
    for rows in p.groupby(list(fig7.GRID_KEYS)).indices.values():  # one cell each
        if len(rows) >= MIN_TREND:
            own[rows] = effective_robustness(levels, pro[rows], late[rows])
            of_late[rows] = effective_robustness(levels, late[rows], late[rows])
    out["effective_robustness"], out["effective_robustness_late"] = own, of_late
    alone = modality_pairs(table)
    return out if alone is None else out.merge(alone, on=list(fig7.PAIR_KEYS), how="left")


#: The per-modality readings, by column: noise on one modality (Delta robust AUC of
#: -MSE over the levels, pro - late), then one modality missing (% MSE improvement of
#: pro over late); each with what it measures, and its label in the summary.
MODALITY_READINGS: dict[str, tuple[str, str]] = {
    **{
        f"delta_auc_x{m}": (f"Delta robust AUC, noise on X{m} only", f"X{m} noisy: Delta AUC")
        for m in (1, 2)
    },
    **{
        f"gain_x{m}_missing_{fill}": (
            f"MSE improvement, X{m} missing ({how})",
            f"X{m} missing ({short}): gain",
        )
        for m in (1, 2)
        for fill, how, short in zip(
            MISSING_FILLS, ("zeroed", "training mean"), ("zeroed", "mean"), strict=True
        )
    },
}


def modality_pairs(table: pd.DataFrame) -> pd.DataFrame | None:
    """Per pair, the per-modality readings of :data:`MODALITY_READINGS` (the other
    modality clean; :mod:`~progfusion.experiments.modalities`): positive where pro is
    the more robust. None for a table without per-modality columns."""
    if missing_column("mse", 1, MISSING_FILLS[0]) not in table.columns:
        return None
    noisy = {m: modality_noise_columns(table, "mse", m) for m in (1, 2)}
    missing = [missing_column("mse", m, fill) for m in (1, 2) for fill in MISSING_FILLS]
    p = fig7.grid_pairs(table, [c for _, cols in noisy.values() for c in cols] + missing)
    out = p[list(fig7.PAIR_KEYS)].copy()
    for m, (levels, cols) in noisy.items():
        late = -p[[f"{c}_late" for c in cols]].to_numpy()  # [pairs, L]
        pro = -p[[f"{c}_pro" for c in cols]].to_numpy()
        out[f"delta_auc_x{m}"] = np.atleast_1d(delta_auc(levels, pro, late)) if len(p) else []
        for fill in MISSING_FILLS:
            c = missing_column("mse", m, fill)
            out[f"gain_x{m}_missing_{fill}"] = percent_improvement(p[f"{c}_late"], p[f"{c}_pro"])
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


#: What the effective robustness row measures (its label everywhere).
TREND = "effective robustness (Taori et al.): pro above its cell's late-fusion trend"

#: The image's panels: (column, colour-bar label, title); the last two where the
#: table has per-modality columns.
PANELS = (
    ("delta_auc", r"$\Delta$ robust AUC", "(a) robust AUC, pro minus late"),
    ("effective_robustness", "effective robustness", "(b) pro above its cell's late trend"),
    ("delta_auc_x1", r"$\Delta$ robust AUC", "(c) noise on X1 only, pro minus late"),
    ("delta_auc_x2", r"$\Delta$ robust AUC", "(d) noise on X2 only, pro minus late"),
)


def draw(tables: Tables, *, style=PAPER, width_in: float = TEXT_WIDTH_IN) -> plt.Figure:
    """Per cell, mean Delta robust AUC, mean effective robustness (Taori et al., per
    cell), and with per-modality columns, Delta robust AUC with noise on X1 alone and
    on X2 alone; a triangle on each cell whose 95% interval excludes 0. Every panel is
    on robust AUC's scale. ``width_in``: the figure's width (inches)."""
    per_pair = robustness_pairs(tables[TABLE])
    panels = [panel for panel in PANELS if panel[0] in per_pair.columns]
    with use_style(style):
        fig, axes = panel_layout(len(panels), width_in=width_in)
        for ax, (value, label, title) in zip(axes, panels, strict=True):
            ax.set_title(title)
            cells = cell_summary(per_pair, value, fig7.GRID_KEYS)
            if cells.empty:  # effective robustness with one trial a cell: no trend
                ax.text(0.5, 0.5, f"no cell has {MIN_TREND} complete pairs", ha="center",
                        va="center", transform=ax.transAxes)  # fmt: skip
                ax.set_axis_off()
                continue
            plot_grid_heatmap(ax, table=cells, value=value, sign=f"{value}_sign", cbar_label=label)
    return fig


def _num(x: float) -> str:
    return f"{x:+.4f}"


def _row(per_pair: pd.DataFrame, column: str, what: str, fmt=_num) -> tuple[str, str, str, str]:
    s = summarise(per_pair[column].dropna().to_numpy(), seed=BOOTSTRAP_SEED)
    paper = "> 0, no value" if column == "delta_auc" else "(not in it)"
    return what, estimate(s.mean, s.ci_low, s.ci_high, s.n, fmt, show_n=False, label=False), \
        paper, "none 0"  # fmt: skip


def summary(tables: Tables) -> list[str]:
    """Delta robust AUC, effective robustness and the per-modality readings, with 95%
    intervals and what to read them against. At most 80 columns."""
    per_pair = robustness_pairs(tables[TABLE])
    if not len(per_pair):
        return ["Figure 8: no complete pairs"]
    rows = [
        _row(per_pair, "delta_auc", "Delta robust AUC"),
        _row(per_pair, "effective_robustness", "above cell's late trend"),
    ]
    alone = [_row(per_pair, c, short, pct if c.startswith("gain") else _num)
             for c, (_, short) in MODALITY_READINGS.items() if c in per_pair]  # fmt: skip
    lines = [
        f"Figure 8: robustness of pro against late fusion, n = {len(per_pair)} paired trials",
        "  (performance -MSE over the noise levels; positive: pro is the more robust)",
        *comparison_rows(rows + alone),
        f"  Delta robust AUC is positive in {frac((per_pair['delta_auc'] > 0).mean())} "
        "of the pairs",
    ]
    if alone:
        lines.insert(3 + len(rows), "  one modality changed, the other clean (gain: % of MSE):")
    warning = too_few(len(per_pair))
    if warning:
        lines.insert(1, f"  warning: {warning}")
    return lines


def report(tables: Tables) -> list[str]:
    """REPORT.md's Figure 8 section: the summary (every reading, per-modality ones
    included), as the terminal prints it."""
    return ["```", *summary(tables), "```", ""]


def claims(tables: Tables) -> list[EmpiricalClaim]:
    """Figure 8: the AUC (robustness) improvement of pro-fusion over late fusion; ours:
    its effective robustness, and its robustness to noise on X1 alone and X2 alone."""
    per_pair = robustness_pairs(tables[TABLE])
    found = [
        claim("8", "the improvement in AUC of the pro-fusion model over direct fusion",
              "Delta robust AUC of -MSE, pro - late", direction(), per_pair["delta_auc"]),
        claim("8", None, "deviation of pro from the trend of corrupted against clean -MSE "
              "fitted over the late-fusion models of its own cell (Taori et al.'s effective "
              "robustness), integrated over noise", direction(),
              per_pair["effective_robustness"].dropna(),
              statement="under noise, pro-fusion keeps more -MSE than late-fusion models of "
              "its cell with the same clean -MSE"),
    ]  # fmt: skip
    for m in (1, 2):
        column = f"delta_auc_x{m}"
        if column in per_pair:
            found.append(claim("8", None, f"{MODALITY_READINGS[column][0]} (X{3 - m} clean), "
                               "pro - late", direction(), per_pair[column].dropna(),
                               statement=f"pro-fusion is more robust than late fusion to "
                               f"noise on X{m} alone"))  # fmt: skip
    return found


def readme(tables: Tables) -> list[str]:
    """The README's rows for Figure 8."""
    per_pair = robustness_pairs(tables[TABLE])

    def ci(column: str, fmt: str = "{:+.3f}") -> str:
        s = summarise(per_pair[column].dropna().to_numpy(), seed=BOOTSTRAP_SEED)
        return f"{fmt.format(s.mean)} [{fmt.format(s.ci_low)}, {fmt.format(s.ci_high)}]"

    positive = 100 * float(np.mean(per_pair["delta_auc"] > 0))
    rows = [
        f"| Figure 8: Delta robust AUC of -MSE (pro - late) | pro more robust | "
        f"{ci('delta_auc')}, positive in {positive:.0f}% of pairs |",
        f"| Figure 8: {TREND} (same scale) | (not in the paper) | {ci('effective_robustness')} |",
    ]
    if "delta_auc_x1" in per_pair:
        rows.append(
            "| Figure 8, one modality noisy, the other clean: Delta robust AUC, noise on X1 / "
            f"X2 only | (not in the paper) | {ci('delta_auc_x1')} / {ci('delta_auc_x2')} |"
        )
        rows.append(
            "| Figure 8, one modality missing (zeroed): MSE improvement of pro over late, X1 / "
            f"X2 missing | (not in the paper) | {ci('gain_x1_missing_zero', '{:+.1f}%')} / "
            f"{ci('gain_x2_missing_zero', '{:+.1f}%')} |"
        )
    return rows


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
    report=report,
    readme=readme,
)
