"""Figure 4: test accuracy against hidden width on the lattice-lookup task.

Two panels (SPEC section 6): (a) the literal two-layer MLPs (linear head), (b) the
head with one hidden layer. In each trial, every width and design is trained on
the same data; late, early and pro-fusion of one (panel, width, trial) share
their seed, so their comparison is paired.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.models import ModelSpec
from progfusion.models.protocol import TrainConfig

from .analysis import width_summary
from .plots import plot_accuracy_vs_width
from .presets import Fig4Settings
from .style import PAPER, TEXT_WIDTH_IN, figsize, use_style
from .sweep import Job, derive_seed
from .tasks import LatticeRecipe

__all__ = ["jobs", "train_config", "draw", "summary_lines", "PANELS"]

PANELS = {"a": "linear head (two-layer MLP)", "b": "head with a hidden layer"}


def train_config(s: Fig4Settings, protocol: str) -> TrainConfig:
    return TrainConfig(
        objective="classification",
        protocol=protocol,
        max_steps=s.max_steps,
        eval_every=s.eval_every,
        patience=s.patience,
    )


def jobs(s: Fig4Settings, root_seed: int) -> list[Job]:
    """Every model of Figure 4, in table order."""
    out = []
    for trial in range(s.trials):
        data_seed = derive_seed(root_seed, "fig4-data", trial)
        recipe = LatticeRecipe(data_seed, s.n_train, s.n_val, s.n_test)
        majority = recipe.majority_accuracy()
        for panel, head_hidden in (("a", None), ("b", s.head_hidden)):
            for width in s.widths:
                seed = derive_seed(root_seed, "fig4-model", panel, width, trial)
                for design in s.designs:
                    spec = ModelSpec("lattice", design, width, head_hidden=head_hidden)
                    labels = (
                        ("figure", "4"),
                        ("panel", panel),
                        ("head_hidden", head_hidden if head_hidden is not None else 0),
                        ("width", width),
                        ("design", design),
                        ("trial", trial),
                        ("data_seed", data_seed),
                        ("majority", majority),
                    )
                    job_id = f"fig4|panel={panel}|width={width}|design={design}|trial={trial}"
                    out.append(Job(job_id, spec, recipe, seed, labels))
    return out


def draw(table: pd.DataFrame, out: Path | None = None) -> plt.Figure:
    """Draw both panels from the table; save PNG and PDF into ``out`` if given."""
    ok = table[table["status"] == "ok"]
    with use_style(PAPER):
        fig, axes = plt.subplots(
            1, 2, figsize=figsize(width_in=TEXT_WIDTH_IN, ncols=2), sharey=True
        )
        for ax, (panel, title) in zip(axes, PANELS.items(), strict=True):
            rows = ok[ok["panel"] == panel]
            if len(rows):
                plot_accuracy_vs_width(ax, table=rows, majority=float(rows["majority"].mean()))
            ax.set_title(f"({panel}) {title}")
        if out is not None:
            for ext in ("png", "pdf"):
                fig.savefig(Path(out) / f"figure4.{ext}")
    return fig


def summary_lines(table: pd.DataFrame) -> list[str]:
    """Mean accuracy per design and width, and the pro-late and early-late gaps."""
    s = width_summary(table)
    lines = []
    for panel, g in s.groupby("panel"):
        lines.append(f"Figure 4 ({panel}) {PANELS[panel]}: mean test accuracy [95% CI]")
        for width, w in g.groupby("width"):
            cells = "  ".join(
                f"{r.design} {r.mean:.3f} [{r.ci_low:.3f}, {r.ci_high:.3f}]" for r in w.itertuples()
            )
            lines.append(f"  d={width:<4d} {cells}")
    return lines
