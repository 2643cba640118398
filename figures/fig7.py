"""Figure 7: pro- against late fusion over the (eta, sigma2) grid of the latent task.

(a) per cell, the mean percentage MSE improvement of pro over late fusion and the
fraction of trials pro wins; (b, ours) with the fixed-steps protocol, both against
training steps, so that a reader sees how the comparison depends on when training
stops. Late and pro-fusion of one (cell, trial) share data and seed (paired). The
paper's numbers it is read against (appendix, "Synthetic Experiments"): "in close
to 90% of all trials we found the pro-fusion model to perform better ... with an
average improvement of 8%".
"""

from __future__ import annotations

from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from progfusion.experiments import LatentTask, Protocol, Study
from progfusion.experiments.analysis import cell_summary, improvement_summary, pairs
from progfusion.experiments.columns import step_columns
from progfusion.experiments.metrics import (
    improvement_readings,
    percent_improvement,
    summarise,
    win_indicators,
)
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from .figure import Figure, Tables
from .plots import plot_grid_heatmap, plot_improvement_vs_steps
from .readout import comparison_rows, estimate, frac, pct, too_few
from .style import PAPER, TEXT_WIDTH_IN, panel_layout, use_style
from .verdicts import EmpiricalClaim, claim, direction

__all__ = [
    "FIGURE",
    "GRID_KEYS",
    "GRID_SIZES",
    "GRID_TABLE",
    "IMPROVEMENT_BAND",
    "PAIR_KEYS",
    "STEPS_SIZES",
    "STEPS_TABLE",
    "WIN_BAND",
    "grid_improvement",
    "grid_pairs",
    "steps_summary",
]

#: Its tables: 7(a)'s grid (Figure 8 reads it too) and 7(b)'s fixed-steps study.
GRID_TABLE, STEPS_TABLE = "figure7", "figure7b"
#: The columns that name a cell, and a pair of models (a cell's trial).
GRID_KEYS = ("eta", "sigma2")
PAIR_KEYS = (*GRID_KEYS, "trial")
#: The designs compared: pro-fusion (new) against late fusion (base).
BASE, NEW = "late", "pro"

#: The paper's two numbers, their words, and the bands a measurement must lie in to
#: reproduce them (the report's rule, :mod:`.verdicts`).
WIN_QUOTE = "in close to 90% of all trials we found the pro-fusion model to perform better"
GAIN_QUOTE = "with an average improvement of 8%"
PAPER_WIN_FRACTION = 0.90
PAPER_MEAN_IMPROVEMENT = 8.0  # percent
WIN_BAND = (0.80, 1.0)  # "close to 90%": within 10 points of it
IMPROVEMENT_BAND = (4.0, 12.0)  # "an average improvement of 8%": within half of it
BANDS = (
    f'"close to 90%" is {WIN_BAND[0]:.0%} to {WIN_BAND[1]:.0%}; "an average improvement of '
    f'8%" is {IMPROVEMENT_BAND[0]:g}% to {IMPROVEMENT_BAND[1]:g}%'
)

#: Noise levels of the robustness evaluation (SPEC section 3.3): 0, 0.1, ..., 1.
NOISE_LEVELS = tuple(round(0.1 * i, 10) for i in range(11))
#: Steps at which the fixed-steps panel (Figure 7b) records test MSE: 100 to 6,400.
STEP_GRID = (100, 200, 400, 800, 1600, 3200, 6400)
#: The Figure 7/8 models (SPEC section 4): three-layer MLPs of width h = 8; pro-fusion
#: with R = 2 and its fused vector through a 16-wide back-projection, concatenated.
MODEL = {"width": 8, "depth": 2, "R": 2, "p": 16, "context": "concat"}

#: Figures 7(a) and 8 at the paper's scale: a 9 x 9 (eta, sigma2) grid, 30 trials per
#: cell, 16,384 training samples, early stopping within 12,800 steps; every model is
#: also evaluated with each modality noisy alone and missing (Figure 8's per-modality
#: rows, :mod:`progfusion.experiments.modalities`).
GRID_PAPER = Study(
    name="7",
    labels={"figure": "7"},
    task=LatentTask(n_train=16_384, n_val=1_024, n_test=2_048),
    designs=("late", "pro"),
    params=MODEL,
    grid={
        "eta": [0.5 * i for i in range(9)],  # 0, 0.5, ..., 4
        "sigma2": [0.25 * i for i in range(9)],  # 0, 0.25, ..., 2
    },
    protocol=Protocol(max_steps=12_800, eval_every=100, patience=10),
    trials=30,
    noise_levels=NOISE_LEVELS,
    per_modality=True,
)

#: Figure 7(b) (ours) at the paper's scale: fixed steps, test MSE recorded on the way.
STEPS_PAPER = Study(
    name="7b",
    labels={"figure": "7b"},
    task=LatentTask(n_train=4_096, n_val=0, n_test=2_048),
    designs=("late", "pro"),
    params=MODEL,
    grid={"eta": [0.0, 1.0, 2.0, 3.0, 4.0], "sigma2": [0.0, 0.5, 1.0, 1.5, 2.0]},
    protocol=Protocol(
        name="fixed-steps",
        max_steps=max(STEP_GRID),
        eval_every=max(STEP_GRID),
        record_steps=STEP_GRID,
    ),  # fmt: skip
    trials=10,
)

_TINY_TASK = LatentTask(n_train=512, n_val=128, n_test=256)

#: Figures 7(a) and 8 in three sizes: ``quick`` is a 5 x 5 grid of 6 trials on 4,096
#: samples within 6,400 steps; ``tiny`` (tests) a 2 x 2 grid of 2 trials.
GRID_SIZES: dict[str, Study] = {
    "paper": GRID_PAPER,
    "quick": GRID_PAPER.with_(
        grid=STEPS_PAPER.grid,
        trials=6,
        task=LatentTask(n_train=4_096, n_val=1_024, n_test=2_048),
        protocol=Protocol(max_steps=6_400),
    ),
    "tiny": GRID_PAPER.with_(
        grid={"eta": [0.0, 4.0], "sigma2": [0.0, 2.0]},
        trials=2,
        task=_TINY_TASK,
        protocol=Protocol(max_steps=200, eval_every=50, patience=2),
        noise_levels=(0.0, 0.5, 1.0),
    ),
}

#: Figure 7(b) in three sizes: ``quick`` a 3 x 3 grid of 6 trials; ``tiny`` one cell.
STEPS_SIZES: dict[str, Study] = {
    "paper": STEPS_PAPER,
    "quick": STEPS_PAPER.with_(grid={"eta": [0.0, 2.0, 4.0], "sigma2": [0.0, 1.0, 2.0]}, trials=6),
    "tiny": STEPS_PAPER.with_(
        grid={"eta": [4.0], "sigma2": [0.0]},
        trials=2,
        task=replace(_TINY_TASK, n_val=0),
        protocol=Protocol(
            name="fixed-steps", max_steps=200, eval_every=200, record_steps=(50, 100, 200)
        ),
    ),
}


# ----------------------------------------------------------------------------- numbers


def grid_pairs(table: pd.DataFrame, columns: str | list[str] = "test_mse") -> pd.DataFrame:
    """One row per (cell, trial) with ``<column>_late`` and ``<column>_pro`` (ok models)."""
    return pairs(table, columns, list(PAIR_KEYS), base=BASE, new=NEW)


def grid_improvement(table: pd.DataFrame) -> pd.DataFrame:
    """Per (eta, sigma2) cell: pro over late, mean percent improvement and win fraction.

    Columns as :func:`~progfusion.experiments.analysis.cell_summary` gives them, for
    ``improvement`` (sign against 0) and ``win_fraction`` (ties count half; sign
    against 0.5), and ``n`` (pairs).
    """
    p = grid_pairs(table)
    p["improvement"] = percent_improvement(p["test_mse_late"], p["test_mse_pro"])
    late, pro = p["test_mse_late"], p["test_mse_pro"]
    p["win_fraction"] = win_indicators(late, pro, higher_is_better=False)
    gain = cell_summary(p, "improvement", GRID_KEYS)
    wins = cell_summary(p, "win_fraction", GRID_KEYS, center=0.5).drop(columns="n")
    return gain.merge(wins, on=list(GRID_KEYS))


def steps_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per recorded step: mean improvement (95% CI) and win fraction over all pairs."""
    steps, cols = step_columns(table, "mse")
    p = grid_pairs(table, cols)
    rows = []
    for s, c in zip(steps, cols, strict=True):
        summary = improvement_summary(p[f"{c}_late"].to_numpy(), p[f"{c}_pro"].to_numpy())
        rows.append(
            {
                "steps": s,
                "mean_improvement": summary.mean_improvement,
                "ci_low": summary.ci_low,
                "ci_high": summary.ci_high,
                "win_fraction": summary.win_fraction,
                "n": summary.n_pairs,
            }
        )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- drawing


def draw(tables: Tables, *, style=PAPER, width_in: float = TEXT_WIDTH_IN) -> plt.Figure:
    """(a) per cell, the mean improvement and the win fraction of pro over late fusion,
    a triangle on each cell whose 95% interval excludes 0 (or 0.5); (b) improvement
    and win fraction against steps, when 7(b)'s table is given.

    ``width_in``: the figure's width (inches): the heatmaps side by side when two fit,
    (b) below them across the width; at a column's width, one above the other. Given
    7(b)'s table alone, its panel alone.
    """
    steps = tables.get(STEPS_TABLE)
    with_steps = steps is not None and len(steps) > 0
    if GRID_TABLE not in tables:  # 7(b)'s table alone: its panel alone
        with use_style(style):
            fig, (ax,) = panel_layout(1, width_in=width_in)
            plot_improvement_vs_steps(ax, table=steps_summary(steps))
            ax.set_title("(b) fixed steps: against training steps")
        return fig
    cells = grid_improvement(tables[GRID_TABLE])
    with use_style(style):
        fig, axes = panel_layout(3 if with_steps else 2, width_in=width_in, span_last=True)
        plot_grid_heatmap(
            axes[0], table=cells, value="improvement", sign="improvement_sign",
            cbar_label="mean MSE improvement (%)",
        )  # fmt: skip
        axes[0].set_title("(a) improvement of pro over late")
        plot_grid_heatmap(
            axes[1], table=cells, value="win_fraction", sign="win_fraction_sign",
            center=0.5, spread=0.5, cbar_label="fraction of trials pro wins",
        )  # fmt: skip
        axes[1].set_title("(b) trials pro wins")
        if with_steps:
            plot_improvement_vs_steps(axes[2], table=steps_summary(steps))
            axes[2].set_title("(c) fixed steps: against training steps")
    return fig


# ----------------------------------------------------------------------------- summary

_BARE = {"show_n": False, "label": False}  # estimates in a column headed "[95% CI]"


def summary(tables: Tables) -> list[str]:
    """7(a)'s printed summary, then 7(b)'s when its table is given (at most 80 columns)."""
    lines = grid_lines(tables[GRID_TABLE])
    steps = tables.get(STEPS_TABLE)
    if steps is not None and len(steps):
        lines += steps_lines(steps)
    return lines


def grid_lines(grid: pd.DataFrame) -> list[str]:
    """Figure 7(a): each number beside the paper's, chance, n and its interval; the
    readings of "an average improvement of 8%"; what the intervals are conditional on."""
    p = grid_pairs(grid)
    if not len(p):
        return ["Figure 7(a): no complete pairs"]
    late, pro = p["test_mse_late"].to_numpy(), p["test_mse_pro"].to_numpy()
    s = improvement_summary(late, pro)
    wins = summarise(win_indicators(late, pro, higher_is_better=False), seed=BOOTSTRAP_SEED)
    r = improvement_readings(late, pro)
    n_cells = len(p.groupby(list(GRID_KEYS)))
    rows = [
        ("trials pro wins", estimate(wins.mean, wins.ci_low, wins.ci_high, wins.n, frac, **_BARE),
         f"close to {100 * PAPER_WIN_FRACTION:.0f}%", "chance 50%"),
        ("mean improvement",
         estimate(s.mean_improvement, s.ci_low, s.ci_high, s.n_pairs, **_BARE),
         f"{PAPER_MEAN_IMPROVEMENT:+g}%", "none 0%"),
    ]  # fmt: skip
    lines = [
        f"Figure 7(a): pro- against late fusion, n = {s.n_pairs} paired trials ({n_cells} cells)",
        *comparison_rows(rows),
        f"  Wilcoxon signed-rank p = {s.wilcoxon_p:.2g} (two-sided)",
        f'  "an average improvement of {PAPER_MEAN_IMPROVEMENT:g}%", read four ways:',
        f"    mean of per-pair ratios {pct(r.mean_of_ratios):>8}   "
        f"ratio of mean MSEs {pct(r.ratio_of_means):>8}",
        f"    median per pair         {pct(r.median):>8}   "
        f"mean over the {r.n_wins} trials pro wins {pct(r.mean_over_wins)}",
        f"  The intervals pool this fixed grid of {n_cells} cells and hold for it only;",
        f"  {len(grid_claims(grid))} claims are tested on these pairs at once (uncorrected here;",
        "  the report corrects its verdicts with Holm's step-down over all its rows).",
    ]
    warning = too_few(s.n_pairs)
    if warning:
        lines.insert(1, f"  warning: {warning}")
    return lines


def steps_lines(steps: pd.DataFrame) -> list[str]:
    """Figure 7(b)'s lines: per step count, improvement [95% CI] and trials pro wins."""
    table = steps_summary(steps)
    lines = ["Figure 7(b), fixed steps: mean improvement and trials pro wins (chance 50%)"]
    warning = too_few(int(table["n"].min())) if len(table) else None
    if warning:
        lines.append(f"  warning: {warning}")
    for r in table.itertuples():
        imp = estimate(r.mean_improvement, r.ci_low, r.ci_high, r.n, show_n=False)
        lines.append(f"  {r.steps:>5d} steps: {imp}  wins {frac(r.win_fraction)} (n = {r.n})")
    return lines


def report(tables: Tables) -> list[str]:
    """REPORT.md's Figure 7 sections: 7(a) over the grid, and 7(b) when its table is given."""
    grid = tables[GRID_TABLE]
    title = "### Figure 7(a): pro- against late fusion over the grid"
    if "protocol" in grid.columns:
        title += f" ({grid['protocol'].iloc[0]} protocol)"
    lines = [
        title,
        "",
        "```",
        *grid_lines(grid),
        "```",
        "",
    ]
    steps = tables.get(STEPS_TABLE)
    if steps is not None:
        lines += [
            "### Figure 7(b): the comparison against training steps (fixed-steps protocol)",
            "",
            "```",
            *steps_lines(steps),
            "```",
            "",
        ]
    return lines


# ----------------------------------------------------------------------------- claims


def claims(tables: Tables) -> list[EmpiricalClaim]:
    return grid_claims(tables[GRID_TABLE]) + mechanism_claims(tables[GRID_TABLE])


def _slopes(gains: pd.DataFrame) -> np.ndarray:
    """Per trial (row): the least-squares slope of the gain against the columns' values."""
    x = gains.columns.to_numpy(dtype=float)
    x = x - x.mean()
    y = gains.to_numpy(dtype=float)  # [trials, values]
    return (y - y.mean(axis=1, keepdims=True)) @ x / (x @ x)


def mechanism_claims(grid: pd.DataFrame) -> list[EmpiricalClaim]:
    """The paper's mechanism, as claims of ours: pro-fusion helps when X1 is corrupted
    (eta large) and X2 is clean (sigma2 small); the eta = 0 cell, where no modality is
    corrupted, is the control. Per trial (trials of different cells are independent
    draws, paired by index), the percentage gain over late fusion is read along eta at
    the smallest sigma2 and along sigma2 at the largest eta. None on a grid with fewer
    than two values on either axis."""
    p = grid_pairs(grid)
    p["gain"] = percent_improvement(p["test_mse_late"], p["test_mse_pro"])
    gains = p.pivot_table(index="trial", columns=list(GRID_KEYS), values="gain").dropna()
    etas, sigmas = (sorted(set(gains.columns.get_level_values(k))) for k in GRID_KEYS)
    if len(etas) < 2 or len(sigmas) < 2:
        return []
    (e0, e1), s0 = (etas[0], etas[-1]), sigmas[0]
    along_eta = gains.xs(s0, level="sigma2", axis=1)[etas]
    along_sigma = gains.xs(e1, level="eta", axis=1)[sigmas]
    control = along_eta[e1] - along_eta[e0]
    return [
        claim("7", None, f"per-trial slope of the gain over late against eta at sigma2 = {s0:g} "
              "(% per unit of eta)", direction(), _slopes(along_eta),
              statement="the gain grows with the corruption of X1 when X2 is clean"),
        claim("7", None, f"-(per-trial slope of the gain against sigma2 at eta = {e1:g})",
              direction(), -_slopes(along_sigma),
              statement="the gain shrinks as X2 grows noisy when X1 is the most corrupted"),
        claim("7", None, f"gain at eta = {e1:g} minus gain at eta = {e0:g} (no corruption, the "
              f"control), at sigma2 = {s0:g}", direction(), control.to_numpy(),
              statement="the gain with X1 corrupted exceeds the gain without corruption"),
    ]  # fmt: skip


def grid_claims(grid: pd.DataFrame) -> list[EmpiricalClaim]:
    """ "In close to 90% of all trials ... pro-fusion ... better with an average
    improvement of 8%" (appendix, Synthetic Experiments)."""
    p = grid_pairs(grid)
    late, pro = p["test_mse_late"].to_numpy(), p["test_mse_pro"].to_numpy()
    wins = win_indicators(late, pro, higher_is_better=False) if len(p) else np.array([])
    gain = percent_improvement(late, pro) if len(p) else np.array([])
    return [
        claim("7", WIN_QUOTE, "fraction of paired trials where pro has the lower test MSE",
              WIN_BAND, wins),
        claim("7", GAIN_QUOTE,
              "reading 1: mean of per-pair percentage MSE improvements of pro over late",
              IMPROVEMENT_BAND, gain),
        _ratio_claim(late, pro),
        claim("7", None, "mean percentage MSE improvement of pro over late", direction(), gain,
              statement="pro-fusion's MSE is lower than late fusion's on average (the "
              "direction of the paper's 8%, without its size)"),
    ]  # fmt: skip


def _ratio_of_means(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """``100 (mean late - mean pro) / mean late`` of paired MSEs ``values[..., 0:2]``."""
    means = values.mean(axis=axis)  # [..., 2]
    return 100.0 * (means[..., 0] - means[..., 1]) / means[..., 0]


def _ratio_claim(late: np.ndarray, pro: np.ndarray) -> EmpiricalClaim:
    """ "an average improvement of 8%", reading 2: the improvement of the mean MSE."""
    effect = "reading 2: percentage improvement of pro's mean MSE over late's"
    both = np.stack([late, pro], axis=1)  # [n, 2]; rows with a NaN are left out
    return claim("7", GAIN_QUOTE, effect, IMPROVEMENT_BAND, both, statistic=_ratio_of_means)


# ----------------------------------------------------------------------------- published


def readme(tables: Tables) -> list[str]:
    """The README's rows for Figure 7 (the table of what the figures show)."""
    p = grid_pairs(tables[GRID_TABLE])
    s = improvement_summary(p["test_mse_late"].to_numpy(), p["test_mse_pro"].to_numpy())
    wins = grid_claims(tables[GRID_TABLE])[0]
    rows = [
        f'| Figure 7: trials where pro-fusion has the lower MSE | "close to 90%" | '
        f"{100 * s.win_fraction:.1f}% [{100 * wins.ci_low:.1f}, {100 * wins.ci_high:.1f}] "
        f"of {s.n_pairs:,.0f} |",
        f"| Figure 7: mean MSE improvement of pro over late | 8% | {s.mean_improvement:+.2f}% "
        f"[{s.ci_low:+.2f}, {s.ci_high:+.2f}]; Wilcoxon p = {s.wilcoxon_p:.1g} |",
    ]
    if STEPS_TABLE in tables:
        st = steps_summary(tables[STEPS_TABLE])
        steps = " / ".join(f"{s:,}" for s in st["steps"])
        gains = " / ".join(f"{g:+.1f}%" for g in st["mean_improvement"])
        wins_ = " / ".join(f"{100 * w:.0f}%" for w in st["win_fraction"])
        rows.append(
            f"| Figure 7(b), fixed steps: improvement after {steps} steps | (not in the paper) "
            f"| {gains}; pro wins {wins_} |"
        )
    return rows


FIGURE = Figure(
    name="7",
    title="Figure 7: MSE improvement of pro over late fusion",
    sizes={
        size: {GRID_TABLE: GRID_SIZES[size], STEPS_TABLE: STEPS_SIZES[size]} for size in GRID_SIZES
    },
    follows_protocol=(GRID_TABLE,),
    draw=draw,
    summary=summary,
    claims=claims,
    report=report,
    readme=readme,
    bands=BANDS,
)
