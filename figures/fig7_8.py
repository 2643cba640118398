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
    cell_summary,
    grid_improvement,
    improvement_summary,
    model_robust_auc,
    pairs,
    robustness_pairs,
    steps_summary,
)
from progfusion.experiments.metrics import improvement_readings, summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from .plots import plot_grid_heatmap, plot_improvement_vs_steps
from .readout import comparison_rows, estimate, frac, pct, too_few
from .style import PAPER, TEXT_WIDTH_IN, panel_grid, use_style
from .verdicts import figure7_claims

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


def _panels(n: int, width_in: float) -> tuple[plt.Figure, list]:
    """A figure of ``n`` panels laid out for ``width_in`` (:func:`~.style.panel_grid`)."""
    nrows, ncols, size = panel_grid(n, width_in=width_in)
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False)
    axes = list(axes.flat)
    for extra in axes[n:]:
        extra.remove()
    return fig, axes[:n]


def draw7(
    grid: pd.DataFrame,
    steps: pd.DataFrame | None,
    out: Path | None = None,
    *,
    width_in: float = TEXT_WIDTH_IN,
) -> plt.Figure:
    """Figure 7: (a) per cell, the mean improvement and the win fraction of pro over
    late fusion, a triangle on each cell whose 95% interval excludes 0 (or 0.5);
    (b) improvement and win fraction against steps, if ``steps`` is given.

    ``width_in``: the figure's width (inches); narrower than three panels, they stack.
    """
    with_steps = steps is not None and len(steps) > 0
    cells = grid_improvement(grid)
    with use_style(PAPER):
        fig, axes = _panels(3 if with_steps else 2, width_in)
        plot_grid_heatmap(
            axes[0], table=cells, value="improvement", sign="improvement_sign",
            cbar_label="mean MSE improvement (%)",
        )  # fmt: skip
        axes[0].set_title("(a) improvement of pro over late")
        plot_grid_heatmap(
            axes[1], table=cells, value="win_fraction", sign="win_fraction_sign",
            center=0.5, spread=0.5, cbar_label="fraction of trials pro wins",
        )  # fmt: skip
        axes[1].set_title("(a) trials pro wins")
        if with_steps:
            plot_improvement_vs_steps(axes[2], table=steps_summary(steps))
            axes[2].set_title("(b) fixed steps")
        _save(fig, out, "figure7")
    return fig


def draw7b(
    steps: pd.DataFrame, out: Path | None = None, *, width_in: float = TEXT_WIDTH_IN
) -> plt.Figure:
    """Figure 7 (b) alone, from the fixed-steps table: improvement against training steps."""
    with use_style(PAPER):
        fig, (ax,) = _panels(1, width_in)
        plot_improvement_vs_steps(ax, table=steps_summary(steps))
        ax.set_title("(b) fixed steps: against training steps")
        _save(fig, out, "figure7b")
    return fig


def robustness_table(grid: pd.DataFrame) -> pd.DataFrame:
    """The Figure 8 table: one row per trained model, with its robust AUC of -MSE.

    The rows keep Figure 7's ``config`` column, so a Figure 8 table names the
    Figure 7 run its models come from.
    """
    table = grid.copy()
    table["figure"] = "8"
    table["robust_auc"] = model_robust_auc(table)
    return table


def draw8(table: pd.DataFrame, out: Path | None = None, *, width_in=TEXT_WIDTH_IN) -> plt.Figure:
    """Figure 8: per cell, mean Delta robust AUC and mean effective robustness, a
    triangle on each cell whose 95% interval excludes 0. ``width_in`` as :func:`draw7`."""
    per_pair = robustness_pairs(table)
    with use_style(PAPER):
        fig, axes = _panels(2, width_in)
        for ax, value, label, title in (
            (axes[0], "delta_auc", r"$\Delta$ robust AUC", "(a) robust AUC, pro minus late"),
            # Taori et al.'s, integrated with robust AUC's trapezoid: (a) and (b) share a scale
            (
                axes[1],
                "effective_robustness",
                "effective robustness",
                "(b) effective robustness of pro (vs late trend)",
            ),
        ):
            cells = cell_summary(per_pair, value)
            plot_grid_heatmap(ax, table=cells, value=value, sign=f"{value}_sign", cbar_label=label)
            ax.set_title(title)
        _save(fig, out, "figure8")
    return fig


def summary7(grid: pd.DataFrame, steps: pd.DataFrame | None) -> list[str]:
    """Figure 7's printed summary: each number beside the paper's, chance, n and its
    interval; the readings of "an average improvement of 8%"; what the intervals are
    conditional on. At most 80 columns."""
    p = pairs(grid, "test_mse", ["eta", "sigma2", "trial"])
    late, pro = p["test_mse_late"].to_numpy(), p["test_mse_pro"].to_numpy()
    if not len(p):
        return ["Figure 7(a): no complete pairs"]
    s = improvement_summary(late, pro)
    wins = summarise((pro < late) + 0.5 * (pro == late), seed=BOOTSTRAP_SEED)
    r = improvement_readings(late, pro)
    n_cells = len(p.groupby(["eta", "sigma2"]))
    lines = [
        f"Figure 7(a): pro- against late fusion, n = {s.n_pairs} paired trials ({n_cells} cells)",
        *comparison_rows(
            [
                (
                    "trials pro wins",
                    estimate(wins.mean, wins.ci_low, wins.ci_high, wins.n, frac, **_BARE),
                    f"close to {100 * PAPER_WIN_FRACTION:.0f}%",
                    "chance 50%",
                ),
                (
                    "mean improvement",
                    estimate(s.mean_improvement, s.ci_low, s.ci_high, s.n_pairs, **_BARE),
                    f"{PAPER_MEAN_IMPROVEMENT:+g}%",
                    "none 0%",
                ),
            ]
        ),
        f"  Wilcoxon signed-rank p = {s.wilcoxon_p:.2g} (two-sided)",
        f'  "an average improvement of {PAPER_MEAN_IMPROVEMENT:g}%", read four ways:',
        f"    mean of per-pair ratios {pct(r.mean_of_ratios):>8}   "
        f"ratio of mean MSEs {pct(r.ratio_of_means):>8}",
        f"    median per pair         {pct(r.median):>8}   "
        f"mean over the {r.n_wins} trials pro wins {pct(r.mean_over_wins)}",
        f"  The intervals pool this fixed grid of {n_cells} cells and hold for it only;",
        f"  {len(figure7_claims(grid))} claims are tested on these pairs at once "
        "(no correction for multiplicity).",
    ]
    warning = too_few(s.n_pairs)
    if warning:
        lines.insert(1, f"  warning: {warning}")
    if steps is not None and len(steps):
        lines += _steps_lines(steps)
    return lines


_BARE = {"show_n": False, "label": False}  # estimates in a column headed "[95% CI]"


def _steps_lines(steps: pd.DataFrame) -> list[str]:
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


def summary8(table: pd.DataFrame) -> list[str]:
    """Figure 8's printed summary: Delta robust AUC and effective robustness, with n,
    95% intervals and what to read them against. At most 80 columns."""
    per_pair = robustness_pairs(table)
    if not len(per_pair):
        return ["Figure 8: no complete pairs"]
    d = summarise(per_pair["delta_auc"].to_numpy(), seed=BOOTSTRAP_SEED)
    e = summarise(per_pair["effective_robustness"].to_numpy(), seed=BOOTSTRAP_SEED)

    def num(x: float) -> str:
        return f"{x:+.4f}"

    lines = [
        f"Figure 8: robustness of pro against late fusion, n = {d.n} paired trials",
        "  (performance -MSE over the noise levels; positive: pro is the more robust)",
        *comparison_rows(
            [
                (
                    "Delta robust AUC",
                    estimate(d.mean, d.ci_low, d.ci_high, d.n, num, **_BARE),
                    "> 0, no value",
                    "none 0",
                ),
                (
                    "effective robustness",
                    estimate(e.mean, e.ci_low, e.ci_high, e.n, num, **_BARE),
                    "(not in it)",
                    "none 0",
                ),
            ]
        ),
        f"  Delta robust AUC is positive in {frac((per_pair['delta_auc'] > 0).mean())} "
        "of the pairs",
    ]
    warning = too_few(d.n)
    if warning:
        lines.insert(1, f"  warning: {warning}")
    return lines
