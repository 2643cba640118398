"""Figures 7 and 8: pro vs late fusion over the (eta, sigma2) grid of the latent task.

Figure 7 (a): mean percentage MSE improvement of pro over late fusion per cell;
(b, ours): with the fixed-steps protocol, mean improvement and win fraction
against training steps. Figure 8: the same trained models as 7(a), evaluated on
corrupted test inputs: Delta robust AUC and effective robustness per cell.
Late and pro-fusion of one (cell, trial) share data and seed (paired).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments import LatentTask, Protocol, Study
from progfusion.experiments.analysis import (
    grid_improvement,
    improvement_summary,
    model_robust_auc,
    pairs,
    robustness_pairs,
    steps_summary,
)
from progfusion.experiments.metrics import summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from .plots import plot_grid_heatmap, plot_improvement_vs_steps
from .style import PAPER, TEXT_WIDTH_IN, figsize, use_style

__all__ = ["GRID_SIZES", "STEPS_SIZES", "grid_study", "steps_study", "draw7", "draw8"]

PAPER_WIN_FRACTION = 0.90  # "In close to 90% of all trials ... pro-fusion ... better"
PAPER_MEAN_IMPROVEMENT = 8.0  # "... with an average improvement of 8%"

#: Noise levels of the robustness evaluation (SPEC section 3.3): 0, 0.1, ..., 1.
NOISE_LEVELS = tuple(round(0.1 * i, 10) for i in range(11))
#: Steps at which the fixed-steps panel (Figure 7b) records test MSE: 100 to 6,400.
STEP_GRID = (100, 200, 400, 800, 1600, 3200, 6400)
#: The Figure 7/8 models (SPEC section 4): three-layer MLPs of width h = 8; pro-fusion
#: with R = 2 and its fused vector through a 16-wide back-projection, concatenated.
MODEL = {"width": 8, "depth": 2, "R": 2, "p": 16, "context": "concat"}

#: Figures 7(a) and 8 at the paper's scale: a 9 x 9 (eta, sigma2) grid, 30 trials per
#: cell, 16,384 training samples, early stopping within 12,800 steps.
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


def grid_study(
    size: str = "quick",
    *,
    seed: int = 0,
    protocol: str = "early-stopping",
    trials: int | None = None,
) -> Study:
    """The study of Figures 7(a) and 8 at ``size`` (``tiny``, ``quick``, ``paper``)."""
    base = GRID_SIZES[size]
    return base.with_(
        seed=seed, protocol=replace(base.protocol, name=protocol), trials=trials or base.trials
    )


def steps_study(size: str = "quick", *, seed: int = 0, trials: int | None = None) -> Study:
    """The study of Figure 7(b) at ``size`` (always fixed steps)."""
    base = STEPS_SIZES[size]
    return base.with_(seed=seed, trials=trials or base.trials)


def _save(fig: plt.Figure, out: Path | None, name: str) -> None:
    if out is not None:
        for ext in ("png", "pdf"):
            fig.savefig(Path(out) / f"{name}.{ext}")


def draw7(grid: pd.DataFrame, steps: pd.DataFrame | None, out: Path | None = None) -> plt.Figure:
    """Figure 7: (a) the improvement heatmap; (b) improvement against steps, if given."""
    ncols = 2 if steps is not None and len(steps) else 1
    with use_style(PAPER):
        fig, axes = plt.subplots(1, ncols, figsize=figsize(width_in=TEXT_WIDTH_IN, ncols=2))
        axes = list(axes) if ncols > 1 else [axes]
        cells = grid_improvement(grid)
        plot_grid_heatmap(
            axes[0], table=cells, value="improvement", cbar_label="MSE improvement of pro (%)"
        )
        axes[0].set_title("(a) pro vs late, early stopping")
        if ncols > 1:
            plot_improvement_vs_steps(axes[1], table=steps_summary(steps))
            axes[1].set_title("(b) fixed steps: against training steps")
        _save(fig, out, "figure7")
    return fig


def robustness_table(grid: pd.DataFrame) -> pd.DataFrame:
    """The Figure 8 table: one row per trained model, with its robust AUC of -MSE."""
    keep = [c for c in grid.columns if c not in ("config", "shard_seconds")]
    table = grid[keep].copy()
    table["figure"] = "8"
    table["robust_auc"] = model_robust_auc(table)
    return table


def draw8(table: pd.DataFrame, out: Path | None = None) -> plt.Figure:
    """Figure 8: per cell, mean Delta robust AUC and mean effective robustness."""
    per_pair = robustness_pairs(table)
    cells = per_pair.groupby(["eta", "sigma2"], as_index=False)[
        ["delta_auc", "effective_robustness"]
    ].mean()
    with use_style(PAPER):
        fig, axes = plt.subplots(1, 2, figsize=figsize(width_in=TEXT_WIDTH_IN, ncols=2))
        plot_grid_heatmap(
            axes[0], table=cells, value="delta_auc", cbar_label=r"$\Delta$ robust AUC"
        )
        axes[0].set_title("(a) robust AUC, pro minus late")
        plot_grid_heatmap(
            axes[1], table=cells, value="effective_robustness", cbar_label="effective robustness"
        )  # Taori et al.'s, integrated with robust AUC's trapezoid: (a) and (b) share a scale
        axes[1].set_title("(b) effective robustness of pro (vs late trend)")
        _save(fig, out, "figure8")
    return fig


def summary7(grid: pd.DataFrame, steps: pd.DataFrame | None) -> list[str]:
    p = pairs(grid, "test_mse", ["eta", "sigma2", "trial"])
    s = improvement_summary(p["test_mse_late"].to_numpy(), p["test_mse_pro"].to_numpy())
    lines = [
        f"Figure 7: pro-fusion wins {100 * s.win_fraction:.1f}% of {s.n_pairs} paired trials "
        f"(paper: close to {100 * PAPER_WIN_FRACTION:.0f}%); mean MSE improvement "
        f"{s.mean_improvement:+.2f}% [95% CI {s.ci_low:+.2f}, {s.ci_high:+.2f}] "
        f"(paper: {PAPER_MEAN_IMPROVEMENT:+.0f}%); Wilcoxon p = {s.wilcoxon_p:.2g}"
    ]
    if steps is not None and len(steps):
        lines.append("Figure 7(b), fixed steps: mean improvement [95% CI], win fraction")
        for r in steps_summary(steps).itertuples():
            lines.append(
                f"  {r.steps:>5d} steps: {r.mean_improvement:+6.2f}% "
                f"[{r.ci_low:+.2f}, {r.ci_high:+.2f}]  wins {100 * r.win_fraction:5.1f}% (n={r.n})"
            )
    return lines


def summary8(table: pd.DataFrame) -> list[str]:
    per_pair = robustness_pairs(table)
    if not len(per_pair):
        return ["Figure 8: no complete pairs"]
    d = summarise(per_pair["delta_auc"].to_numpy(), seed=BOOTSTRAP_SEED)
    e = summarise(per_pair["effective_robustness"].to_numpy(), seed=BOOTSTRAP_SEED)
    return [
        f"Figure 8: Delta robust AUC (pro - late, of -MSE) {d.mean:+.4f} "
        f"[95% CI {d.ci_low:+.4f}, {d.ci_high:+.4f}], positive in "
        f"{100 * (per_pair['delta_auc'] > 0).mean():.1f}% of {d.n} pairs; "
        f"effective robustness {e.mean:+.4f} [{e.ci_low:+.4f}, {e.ci_high:+.4f}]"
    ]
