"""The gap study (ours): where the paper's "close to 90%" and "8%" could come from.

At Figure 7(a)'s exact setting (:data:`~.fig7_8.GRID_PAPER`: task, sample sizes,
models, grid) four designs are trained on the same data with the same base seed:
late fusion, pro-fusion, iterative fusion (the paper's ablation: no cross-modal
path) and late-wide (late fusion widened to at least pro-fusion's parameter count,
the capacity control). Three kinds of study, each a :class:`Study`:

- ``gap-steps``: fixed steps, test MSE recorded after 100, 200, 400, ..., 12,800;
- ``gap-stopping``: 7(a)'s protocol (early stopping within 12,800 steps);
- ``gap-<factor>``: one factor changed at a time from 7(a)'s setting (training
  samples, standardised or raw targets, learning rate, encoder width h, R, p, the
  context form), late against pro only, under early stopping, on a smaller grid with
  fewer trials (:data:`FACTOR_GRID`, :data:`FACTOR_TRIALS`).

:mod:`.gap_table` turns the tables into one row per setting with its verdicts and
the generated answer; :func:`draw` plots them.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments import LatentTask, Protocol, Study

from .fig7_8 import GRID_PAPER
from .plots import DESIGN_LABELS, design_colors
from .style import PAPER, TEXT_WIDTH_IN, figsize, use_style
from .verdicts import IMPROVEMENT_BAND, WIN_BAND

__all__ = [
    "COMPARISONS",
    "DESIGNS",
    "FACTORS",
    "FACTOR_GRID",
    "FACTOR_TRIALS",
    "GAP_STEPS",
    "SIZES",
    "draw",
    "gap_studies",
]

#: Designs of the steps and stopping studies; the factor studies train the first two.
DESIGNS = ("late", "pro", "iterative", "late-wide")
#: Paired comparisons ``(new, base)`` reported for every setting.
COMPARISONS = (
    ("pro", "late"),
    ("iterative", "late"),
    ("late-wide", "late"),
    ("pro", "late-wide"),
    ("pro", "iterative"),
)
#: Steps at which the fixed-steps study records test MSE: 100, 200, 400, ..., 12,800.
GAP_STEPS = tuple(100 * 2**i for i in range(8))
#: The factors, each changed alone from 7(a)'s setting (which is one of the values).
FACTORS: dict[str, list] = {
    "n_train": [1_024, 4_096, 16_384],
    "standardize_y": [True, False],
    "lr": [3e-4, 1e-3, 3e-3],
    "width": [4, 8, 32],
    "R": [1, 2, 3, 4],
    "p": [1, 4, 16],
    "context": ["add", "concat"],
}
#: The factor studies' grid and trials at the paper size: 3 x 3 cells of 7(a)'s
#: 9 x 9 (its corners and centre lines), 10 trials per cell instead of 30.
FACTOR_GRID = {"eta": [0.0, 2.0, 4.0], "sigma2": [0.0, 1.0, 2.0]}
FACTOR_TRIALS = 10


def _studies(base: Study, factor_grid: dict, factor_trials: int, steps: tuple[int, ...]):
    """The three kinds of gap study derived from ``base`` (7(a)'s study at one size)."""
    labels = {"figure": "gap"}
    fixed = Protocol(
        name="fixed-steps",
        lr=base.protocol.lr,
        batch_size=base.protocol.batch_size,
        max_steps=max(steps),
        eval_every=max(steps),
        record_steps=steps,
    )
    studies = {
        "gap-steps": base.with_(name="gap-steps", labels=labels, designs=DESIGNS, protocol=fixed),
        "gap-stopping": base.with_(name="gap-stopping", labels=labels, designs=DESIGNS),
    }
    for factor, values in FACTORS.items():
        studies[f"gap-{factor}"] = base.with_(
            name=f"gap-{factor}",
            labels=labels,
            designs=DESIGNS[:2],
            grid={factor: values, **factor_grid},
            trials=factor_trials,
        )
    return studies


_PAPER = GRID_PAPER.with_(noise_levels=())
_QUICK = _PAPER.with_(
    grid={"eta": [2.0, 4.0], "sigma2": [0.0, 1.0]},
    trials=3,
    task=LatentTask(n_train=4_096, n_val=1_024, n_test=2_048),
    protocol=Protocol(max_steps=3_200),
)
_TINY = _PAPER.with_(
    grid={"eta": [4.0], "sigma2": [0.0]},
    trials=2,
    task=LatentTask(n_train=256, n_val=128, n_test=256),
    protocol=Protocol(max_steps=100, eval_every=50, patience=1),
)

#: Every gap study by table name, in four sizes. ``paper``: 7(a)'s grid (9 x 9, 30
#: trials, 16,384 samples, at most 12,800 steps); factors on :data:`FACTOR_GRID`, 10
#: trials (about 2 x 10^8 model-steps: sized for a GPU). ``cpu``: the paper size with
#: every study, the steps and stopping studies too, on :data:`FACTOR_GRID` with
#: :data:`FACTOR_TRIALS` trials (7(a)'s task, models and protocols unchanged; about
#: 4 x 10^7 model-steps, under an hour on 2 CPU cores; the published tables' form).
#: ``quick``: 2 x 2 cells, 3 trials, 4,096 samples, at most 3,200 steps; factors on one
#: cell (eta 4, sigma2 0), 3 trials. ``tiny`` (tests): one cell, 2 trials, 256 samples,
#: 100 steps.
SIZES: dict[str, dict[str, Study]] = {
    "paper": _studies(_PAPER, FACTOR_GRID, FACTOR_TRIALS, GAP_STEPS),
    "cpu": _studies(
        _PAPER.with_(grid=FACTOR_GRID, trials=FACTOR_TRIALS), FACTOR_GRID, FACTOR_TRIALS, GAP_STEPS
    ),
    "quick": _studies(_QUICK, {"eta": [4.0], "sigma2": [0.0]}, 3, GAP_STEPS[:6]),
    "tiny": _studies(_TINY, {"eta": [4.0], "sigma2": [0.0]}, 2, (25, 50, 100)),
}


def gap_studies(size: str = "quick", *, seed: int = 0, trials: int | None = None) -> dict:
    """The gap studies at ``size`` (``tiny``, ``quick``, ``cpu``, ``paper``), by table name.

    ``trials``: per cell for every study (default: each study's own).
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    return {
        name: study.with_(seed=seed, trials=trials or study.trials)
        for name, study in SIZES[size].items()
    }


def _band(ax, band: tuple[float, float], scale: float = 1.0) -> None:
    lo, hi = band
    ax.axhspan(lo * scale, hi * scale, color="0.85", zorder=0, label="paper's band")


def _lines(ax, by_step: pd.DataFrame, value: str, low: str, high: str, scale: float) -> None:
    """One line (and 95% band) per comparison against late fusion, against steps."""
    against_late = by_step[by_step["base"] == "late"]
    colors = design_colors(list(dict.fromkeys(against_late["new"])))
    for new, rows in against_late.groupby("new", sort=False):
        steps = rows["value"].astype(float)  # the setting's value: its step count
        color = colors[new]
        ax.plot(steps, rows[value] * scale, "o-", color=color,
                label=DESIGN_LABELS.get(new, new))  # fmt: skip
        ax.fill_between(steps, rows[low] * scale, rows[high] * scale,
                        color=color, alpha=0.25, linewidth=0)  # fmt: skip
    ax.set_xscale("log", base=2)
    ticks = sorted(set(against_late["value"].astype(float)))
    ax.set_xticks(ticks, [f"{t:,.0f}" for t in ticks], fontsize="x-small", rotation=45)
    ax.set_xlabel("training steps (fixed)")


def draw(settings: pd.DataFrame, out: Path | None = None) -> plt.Figure:
    """The gap figure from the settings table (:func:`.gap_table.settings_table`).

    (a) win fraction and (b) mean MSE improvement against late fusion, 95% intervals,
    against fixed training steps, per design; the paper's bands shaded. (c) pro vs
    late in every other setting (early stopping, factors), with its interval.
    """
    by_step = settings[settings["study"] == "gap-steps"]
    others = settings[(settings["study"] != "gap-steps") & (settings["new"] == "pro")]
    others = others[others["base"] == "late"]
    with use_style(PAPER):
        fig, axes = plt.subplots(1, 3, figsize=figsize(width_in=TEXT_WIDTH_IN * 1.4, ncols=3))
        _band(axes[0], WIN_BAND, 100.0)
        _lines(axes[0], by_step, "win_fraction", "win_low", "win_high", 100.0)
        axes[0].set_ylabel("wins against late (%)")
        axes[0].set_title("(a) win fraction")
        axes[0].legend(fontsize="small")
        _band(axes[1], IMPROVEMENT_BAND)
        _lines(axes[1], by_step, "mean_improvement", "ci_low", "ci_high", 1.0)
        axes[1].axhline(0.0, color="0.4", linewidth=0.8, linestyle=":")
        axes[1].set_ylabel("improvement over late (%)")
        axes[1].set_title("(b) mean improvement")
        ax = axes[2]
        y = range(len(others))
        ax.errorbar(others["mean_improvement"], y, fmt="o", color=design_colors(["pro"])["pro"],
                    xerr=[others["mean_improvement"] - others["ci_low"],
                          others["ci_high"] - others["mean_improvement"]])  # fmt: skip
        ax.axvspan(*IMPROVEMENT_BAND, color="0.85", zorder=0)
        ax.axvline(0.0, color="0.4", linewidth=0.8, linestyle=":")
        ax.set_yticks(list(y), list(others["setting"]), fontsize="x-small")
        ax.invert_yaxis()
        ax.set_xlabel("pro vs late: mean MSE improvement (%)")
        ax.set_title("(c) early stopping and factors")
        if out is not None:
            for ext in ("png", "pdf"):
                fig.savefig(Path(out) / f"gap.{ext}")
    return fig
