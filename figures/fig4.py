"""Figure 4: test accuracy against hidden width on the lattice-lookup task.

Two panels (SPEC section 6): (a) the literal two-layer MLPs (linear head), (b) the
head with one hidden layer. The figure is a :class:`~progfusion.experiments.Study`
(its sizes below) plus a plot. In each trial, every width and design is trained on
the same data; late, early and pro-fusion of one (panel, width, trial) share their
seed, so their comparison is paired.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments import LatticeTask, Protocol, Study
from progfusion.experiments.analysis import width_summary

from .plots import plot_accuracy_vs_width
from .readout import too_few
from .style import GOLDEN_RATIO, PAPER, TEXT_WIDTH_IN, panel_grid, use_style

__all__ = ["SIZES", "study", "draw", "summary_lines", "PANELS"]

PANELS = {"a": "linear head (two-layer MLP)", "b": "head with a hidden layer"}

#: Figure 4 at the paper's scale (SPEC section 6): 30 trials of 7 widths, 2 panels,
#: 3 designs; the lattice task with 20,000 training samples; at most 20,000 steps.
PAPER_STUDY = Study(
    name="fig4",
    labels={"figure": "4"},
    task=LatticeTask(n_train=20_000, n_val=2_000, n_test=4_000),
    designs=("late", "early", "pro"),
    # depth 1: the literal two-layer MLPs; pro-fusion: R = 2, p = 16, context concatenated
    params={"depth": 1, "R": 2, "p": 16, "context": "concat"},
    grid={
        "panel": {"a": {"head_hidden": 0}, "b": {"head_hidden": 64}},  # (b): hidden head layer
        "width": [2, 4, 8, 16, 32, 64, 128],
    },
    protocol=Protocol(max_steps=20_000, eval_every=100, patience=10),
    trials=30,
)

#: The three sizes: ``quick`` keeps every width on fewer trials, half the samples and
#: a tenth of the steps (minutes on a 2-core CPU); ``tiny`` is for tests (seconds).
SIZES: dict[str, Study] = {
    "paper": PAPER_STUDY,
    "quick": PAPER_STUDY.with_(
        trials=8,
        task=LatticeTask(n_train=10_000, n_val=1_000, n_test=2_000),
        protocol=Protocol(max_steps=2_000),
    ),
    "tiny": PAPER_STUDY.with_(
        trials=2,
        task=LatticeTask(n_train=512, n_val=128, n_test=256),
        grid={"panel": PAPER_STUDY.grid["panel"], "width": [2, 8]},
        protocol=Protocol(max_steps=200, eval_every=50, patience=2),
    ),
}


def study(
    size: str = "quick",
    *,
    seed: int = 0,
    protocol: str = "early-stopping",
    trials: int | None = None,
) -> Study:
    """Figure 4's study at ``size`` (``tiny``, ``quick``, ``paper``) with these settings."""
    base = SIZES[size]
    return base.with_(
        seed=seed,
        protocol=replace(base.protocol, name=protocol),
        trials=trials or base.trials,
    )


def draw(
    table: pd.DataFrame, out: Path | None = None, *, width_in: float = TEXT_WIDTH_IN
) -> plt.Figure:
    """Draw both panels from the table; save PNG and PDF into ``out`` if given.

    ``width_in``: the figure's width in inches; narrower than two panels, they stack.
    """
    ok = table[table["status"] == "ok"]
    nrows, ncols, size = panel_grid(2, width_in=width_in, height_ratio=1 / GOLDEN_RATIO)
    with use_style(PAPER):
        fig, axes = plt.subplots(nrows, ncols, figsize=size, sharey=True, squeeze=False)
        for ax, (panel, title) in zip(axes.flat, PANELS.items(), strict=True):
            rows = ok[ok["panel"] == panel]
            if len(rows):
                plot_accuracy_vs_width(ax, table=rows, majority=float(rows["majority"].mean()))
            ax.set_title(f"({panel}) {title}")
        if out is not None:
            for ext in ("png", "pdf"):
                fig.savefig(Path(out) / f"figure4.{ext}")
    return fig


def summary_lines(table: pd.DataFrame) -> list[str]:
    """Mean test accuracy per panel, width and design, beside n and the majority class.

    Each panel: a header naming what to read the numbers against (the majority-class
    accuracy, the task's chance baseline; the paper prints no values for Figure 4,
    only its plot and three sentences, which the report tests), then one line per
    width with each design's mean and 95% interval (or, with fewer than 5 trials, a
    warning instead of the intervals). At most 80 columns.
    """
    s = width_summary(table)
    ok = table[table["status"] == "ok"]
    lines = []
    for panel, g in s.groupby("panel"):
        designs = list(dict.fromkeys(g["design"]))
        majority = float(ok.loc[ok["panel"] == panel, "majority"].mean())
        n = int(g["n"].min())
        lines += [
            f"Figure 4 ({panel}) {PANELS[panel]}: test accuracy, mean [95% CI]",
            f"  read against: majority class {majority:.3f} (chance); n = {n} trials a point",
            "  paper: no values printed (plot and claims only; see progfusion report)",
        ]
        warning = too_few(n, "trials a point")
        if warning:
            lines.append(f"  warning: {warning}")
        lines.append("  " + f"{'d':>4}" + "".join(f"  {d:<20}" for d in designs).rstrip())
        for width, w in g.groupby("width"):
            by = w.set_index("design")
            cells = [_accuracy_cell(by.loc[d]) if d in by.index else "n/a" for d in designs]
            lines.append("  " + f"{width:>4d}" + "".join(f"  {c:<20}" for c in cells).rstrip())
    return lines


def _accuracy_cell(row) -> str:
    """``0.842 [0.835, 0.849]``, or the mean alone when there are too few trials."""
    if too_few(int(row["n"])):
        return f"{row['mean']:.3f}"
    return f"{row['mean']:.3f} [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
