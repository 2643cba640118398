"""Figures 7 and 8: pro vs late fusion over the (eta, sigma2) grid of the latent task.

Figure 7 (a): mean percentage MSE improvement of pro over late fusion per cell;
(b, ours): with the fixed-steps protocol, mean improvement and win fraction
against training steps. Figure 8: the same trained models as 7(a), evaluated on
corrupted test inputs: Delta robust AUC and effective robustness per cell.
Late and pro-fusion of one (cell, trial) share data and seed (paired).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.models import ModelSpec
from progfusion.models.protocol import TrainConfig

from .analysis import (
    grid_improvement,
    improvement_summary,
    model_robust_auc,
    pairs,
    robustness_pairs,
    steps_summary,
)
from .plots import plot_grid_heatmap, plot_improvement_vs_steps
from .presets import GridSettings, StepsSettings
from .style import PAPER, TEXT_WIDTH_IN, figsize, use_style
from .sweep import Job, derive_seed
from .tasks import LatentRecipe

__all__ = ["grid_jobs", "steps_jobs", "grid_config", "steps_config", "draw7", "draw8"]

PAPER_WIN_FRACTION = 0.90  # "In close to 90% of all trials ... pro-fusion ... better"
PAPER_MEAN_IMPROVEMENT = 8.0  # "... with an average improvement of 8%"


def grid_config(s: GridSettings, protocol: str) -> TrainConfig:
    return TrainConfig(
        objective="regression",
        protocol=protocol,
        max_steps=s.max_steps,
        eval_every=s.eval_every,
        patience=s.patience,
        noise_levels=s.noise_levels,
    )


def steps_config(s: StepsSettings) -> TrainConfig:
    return TrainConfig(
        objective="regression",
        protocol="fixed-steps",
        max_steps=max(s.record_steps),
        eval_every=max(s.record_steps),
        record_steps=s.record_steps,
    )


def _cell_jobs(name, etas, sigma2s, trials, width, recipe_of, root_seed) -> list[Job]:
    out = []
    for eta in etas:
        for sigma2 in sigma2s:
            for trial in range(trials):
                data_seed = derive_seed(root_seed, f"{name}-data", eta, sigma2, trial)
                seed = derive_seed(root_seed, f"{name}-model", eta, sigma2, trial)
                recipe = recipe_of(data_seed, eta, sigma2)
                for design in ("late", "pro"):
                    labels = (
                        ("figure", name),
                        ("eta", eta),
                        ("sigma2", sigma2),
                        ("width", width),
                        ("design", design),
                        ("trial", trial),
                        ("data_seed", data_seed),
                    )
                    job_id = f"{name}|eta={eta:g}|sigma2={sigma2:g}|design={design}|trial={trial}"
                    out.append(
                        Job(job_id, ModelSpec("latent", design, width), recipe, seed, labels)
                    )
    return out


def grid_jobs(s: GridSettings, root_seed: int) -> list[Job]:
    """Every model of Figures 7(a) and 8 (one sweep serves both)."""

    def recipe(seed, eta, sigma2):
        return LatentRecipe(seed, eta, sigma2, s.n_train, s.n_val, s.n_test)

    return _cell_jobs("7", s.etas, s.sigma2s, s.trials, s.width, recipe, root_seed)


def steps_jobs(s: StepsSettings, root_seed: int) -> list[Job]:
    """Every model of Figure 7(b) (fixed steps, no validation split)."""

    def recipe(seed, eta, sigma2):
        return LatentRecipe(seed, eta, sigma2, s.n_train, 0, s.n_test)

    return _cell_jobs("7b", s.etas, s.sigma2s, s.trials, s.width, recipe, root_seed)


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
        )
        axes[1].set_title("(b) effective robustness of pro")
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
    from .metrics import summarise

    per_pair = robustness_pairs(table)
    if not len(per_pair):
        return ["Figure 8: no complete pairs"]
    d = summarise(per_pair["delta_auc"].to_numpy(), seed=0)
    e = summarise(per_pair["effective_robustness"].to_numpy(), seed=0)
    return [
        f"Figure 8: Delta robust AUC (pro - late, of -MSE) {d.mean:+.4f} "
        f"[95% CI {d.ci_low:+.4f}, {d.ci_high:+.4f}], positive in "
        f"{100 * (per_pair['delta_auc'] > 0).mean():.1f}% of {d.n} pairs; "
        f"effective robustness {e.mean:+.4f} [{e.ci_low:+.4f}, {e.ci_high:+.4f}]"
    ]
