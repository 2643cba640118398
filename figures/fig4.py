"""Figure 4: test accuracy against hidden width on the lattice-lookup task.

Two panels (SPEC section 6): (a) the literal two-layer MLPs (linear head), (b) the
head with one hidden layer. The figure is a :class:`~progfusion.experiments.Study`
(its sizes below) plus a plot. In each trial, every width and design is trained on
the same data; late, early and pro-fusion of one (panel, width, trial) share their
seed, so their comparison is paired.
"""

from __future__ import annotations

from functools import partial

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from progfusion.experiments import LatticeTask, Protocol, Study
from progfusion.experiments.analysis import ok_rows, pairs
from progfusion.experiments.metrics import summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED

from .figure import Figure, Tables
from .plots import plot_accuracy_vs_width
from .readout import too_few
from .style import GOLDEN_RATIO, PAPER, TEXT_WIDTH_IN, panel_grid, use_style
from .verdicts import EmpiricalClaim, claim, direction

__all__ = [
    "FIGURE",
    "PANELS",
    "ROUNDING",
    "SIZES",
    "TABLE",
    "capped",
    "capped_note",
    "width_summary",
]

#: Its table.
TABLE = "figure4"
#: Every comparison is against late fusion.
BASE = "late"
MATCH_MARGIN = 0.01  # "late fusion matches ... early fusion": within one accuracy point
#: Float-rounding distance of its verdicts, in accuracy: its plotted means differ by up to
#: 0.003 between two CPUs (tests/test_engine_parity.py), early stopping amplifying the
#: last digits of float32 into other stopping steps (see :mod:`.verdicts`).
ROUNDING = 0.003

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


def width_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per panel, width and design, mean test accuracy with its 95% CI (ok models)."""
    rows = []
    for (panel, width, design), g in ok_rows(table).groupby(["panel", "width", "design"]):
        s = summarise(g["test_accuracy"].to_numpy(), seed=BOOTSTRAP_SEED)
        rows.append(
            {
                "panel": panel,
                "width": int(width),
                "design": design,
                "n": s.n,
                "mean": s.mean,
                "ci_low": s.ci_low,
                "ci_high": s.ci_high,
            }
        )
    return pd.DataFrame(rows)


def draw(tables: Tables, *, style=PAPER, width_in: float = TEXT_WIDTH_IN) -> plt.Figure:
    """Both panels from the table; narrower than two panels (``width_in``, inches), they stack."""
    ok = ok_rows(tables[TABLE])
    nrows, ncols, size = panel_grid(2, width_in=width_in, height_ratio=1 / GOLDEN_RATIO)
    with use_style(style):
        fig, axes = plt.subplots(nrows, ncols, figsize=size, sharey=True, squeeze=False)
        for ax, (panel, title) in zip(axes.flat, PANELS.items(), strict=True):
            rows = ok[ok["panel"] == panel]
            if len(rows):
                plot_accuracy_vs_width(ax, table=rows, majority=float(rows["majority"].mean()))
            ax.set_title(f"({panel}) {title}")
    return fig


def summary(tables: Tables) -> list[str]:
    """Mean test accuracy per panel, width and design, beside n and the majority class.

    Each panel: a header naming what to read the numbers against (the majority-class
    accuracy, the task's chance baseline; the paper prints no values for Figure 4,
    only its plot and three sentences, which the report tests), then one line per
    width with each design's mean and 95% interval (or, with fewer than 5 trials, a
    warning instead of the intervals). At most 80 columns.
    """
    table = tables[TABLE]
    s = width_summary(table)
    ok = ok_rows(table)
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


def _gaps(rows: pd.DataFrame, new: str) -> pd.DataFrame:
    """Accuracy ``new - late`` per trial (rows) and width (columns, ascending); complete trials."""
    p = pairs(rows, "test_accuracy", ["width", "trial"], base=BASE, new=new)
    p["gap"] = p[f"test_accuracy_{new}"] - p[f"test_accuracy_{BASE}"]
    wide = p.pivot(index="trial", columns="width", values="gap")
    return wide.sort_index(axis=1).dropna()


def _slope(gaps: pd.DataFrame) -> np.ndarray:
    """Per trial: least-squares slope of the gap against log2(width) (gap per doubling)."""
    if gaps.shape[1] < 2:
        return np.array([])
    x = np.log2(gaps.columns.to_numpy(dtype=float))  # [W]
    x = x - x.mean()
    y = gaps.to_numpy()  # [trials, W]
    return (y - y.mean(axis=1, keepdims=True)) @ x / (x @ x)


def _ends(gaps: pd.DataFrame, how=lambda g: g) -> np.ndarray:
    """Per trial: (transformed) gap at the smallest width minus at the largest."""
    if gaps.shape[1] < 2:
        return np.array([])
    return (how(gaps.iloc[:, 0]) - how(gaps.iloc[:, -1])).to_numpy()


_EARLY = "early fusion is more effective than late fusion when the hidden layers are smaller"
_PRO = (
    "the effect of progressive fusion is larger when the feature layers input to late "
    "fusion is smaller"
)
_SHRINK = (
    "the gap between the pro-fusion model and late fusion model reduces as the size of "
    "the hidden representation increases"
)
_MATCH = (
    "for a large enough hidden representation, the performance of late fusion matches "
    "that of early fusion"
)


def table_claims(table: pd.DataFrame) -> list[EmpiricalClaim]:
    """The paper's statements about Figure 4, per panel (paired by trial).

    A sentence that compares widths is measured across widths; a sentence that reads
    two ways gets one row per reading (marked "reading 1/2" in the effect). A row is
    marked capped when most models of a design it compares, at the widths it reads,
    stopped at the step cap (:func:`capped_note`); its float-rounding distance is
    :data:`ROUNDING` (:mod:`.verdicts`).
    """
    claims = []
    for panel in sorted(table["panel"].unique()):
        rows = table[table["panel"] == panel]
        widths = sorted(rows["width"].unique())
        small, large = widths[0], widths[-1]
        early, pro = _gaps(rows, "early"), _gaps(rows, "pro")
        at = {w: early[w] if w in early else [] for w in (small, large)}
        ends = f"(at d = {small}) - (at d = {large})"
        row = partial(_claim, f"4{panel}", rows)
        claims += [
            row(_EARLY, f"reading 1: accuracy early - late at d = {small}", direction(),
                at[small], "early", [small]),
            row(_EARLY, f"reading 2, across widths: early - late {ends}", direction(),
                _ends(early), "early", [small, large]),
            row(_PRO, f"reading 1, across widths: pro - late {ends}", direction(),
                _ends(pro), "pro", [small, large]),
            row(_PRO, "reading 2, over all widths: -(slope of pro - late per doubling of d)",
                direction(), -_slope(pro), "pro", widths),
            row(_SHRINK, f"reading 1, signed gap: pro - late {ends}", direction(),
                _ends(pro), "pro", [small, large]),
            row(_SHRINK, f"reading 2, size of the gap: |pro - late| {ends}", direction(),
                _ends(pro, np.abs), "pro", [small, large]),
            row(_MATCH, f"accuracy early - late at d = {large}", (-MATCH_MARGIN, MATCH_MARGIN),
                at[large], "early", [large]),
        ]  # fmt: skip
    return claims


def _claim(tag, rows, quote, effect, band, values, design, widths) -> EmpiricalClaim:
    """One Figure 4 row: ``design`` against late fusion, read at ``widths``."""
    note = capped_note(rows, (BASE, design), widths)
    return claim(tag, quote, effect, band, values, rounding=ROUNDING, note=note)


def capped(table: pd.DataFrame) -> pd.DataFrame:
    """Per panel, design and width: models (``ok``) and how many stopped at the step cap
    (``steps == max_steps``); empty when the table has no ``steps``/``max_steps``."""
    keys = ["panel", "design", "width"]
    if not {"steps", "max_steps"} <= set(table.columns):
        return pd.DataFrame(columns=[*keys, "models", "at_cap", "cap"])
    ok = ok_rows(table).assign(at_cap=lambda t: t["steps"] >= t["max_steps"])
    grouped = ok.groupby(keys, sort=True)
    out = grouped.agg(models=("at_cap", "size"), at_cap=("at_cap", "sum"), cap=("max_steps", "max"))
    return out.reset_index()


def capped_note(rows: pd.DataFrame, designs, widths) -> str:
    """``capped comparison: early 26 of 30 models at the 20,000-step cap`` when more than
    half of a compared design's models at ``widths`` stopped at the cap, else ``""``."""
    counts = capped(rows)
    counts = counts[counts["design"].isin(designs) & counts["width"].isin(widths)]
    parts = []
    for design, g in counts.groupby("design", sort=False):
        at, models = int(g["at_cap"].sum()), int(g["models"].sum())
        if 2 * at > models:
            parts.append(f"{design} {at} of {models} models")
    if not parts:
        return ""
    return f"capped comparison: {', '.join(parts)} at the {int(counts['cap'].max()):,}-step cap"


def claims(tables: Tables) -> list[EmpiricalClaim]:
    return table_claims(tables[TABLE])


def report(tables: Tables) -> list[str]:
    """Figure 4's section of the report: why panel (a)'s late fusion stays at chance, and
    how many models of each design stopped at the step cap (per panel, from the table)."""
    table = tables[TABLE]
    lines = _linear_head_lines(table)
    counts = capped(table)
    if not len(counts):
        return lines
    widths = sorted(counts["width"].unique())
    cap = int(counts["cap"].max())
    lines += [
        f"Models that stopped at the step cap ({cap:,} steps: `steps == max_steps`), of the "
        "`ok` models, per panel and design, and by width. A claim that compares a design "
        "with more than half its models at the cap, at the widths the claim reads, is "
        "marked *capped comparison* in the claims table: it compares unfinished training.",
        "",
        "| panel | design | at the cap | by width: d = " + " / ".join(map(str, widths)) + " |",
        "| --- | --- | --- | --- |",
    ]
    for (panel, design), g in counts.groupby(["panel", "design"], sort=False):
        at, models = int(g["at_cap"].sum()), int(g["models"].sum())
        by = " / ".join(f"{int(a)}/{int(m)}" for a, m in zip(g["at_cap"], g["models"], strict=True))
        lines.append(f"| {panel} | {design} | {at} of {models} ({at / models:.0%}) | {by} |")
    return [*lines, ""]


def _linear_head_lines(table: pd.DataFrame) -> list[str]:
    """Why late fusion with a linear head cannot learn the lookup, with panel (a)'s numbers."""
    ok = ok_rows(table)
    late = ok[(ok["panel"] == "a") & (ok["design"] == BASE)]
    if not len(late):
        return []
    means = late.groupby("width")["test_accuracy"].mean()
    majority = float(late["majority"].mean()) if "majority" in late else float("nan")
    return [
        "Why late fusion with a linear head (panel (a)) cannot learn the lookup, at any "
        "width: its head is linear over the concatenated per-modality features "
        "[h1(x1), h2(x2)], so each class's score is a sum f(x1) + g(x2) of a function of "
        "each modality. x2 can only add the same amount to a class's score whatever x1 is, "
        "while reading X1 at the lattice index l that x2 names needs a product (an "
        "interaction) of the two; widening h1 and h2 does not change that. Early fusion "
        "(both inputs in one network) and pro-fusion (the fused vector fed back into each "
        "encoder) combine the modalities before the head, as panel (b)'s hidden head layer "
        f"does. Measured: late fusion's mean accuracy in panel (a) is {means.min():.3f} to "
        f"{means.max():.3f} over d = {int(means.index.min())} to {int(means.index.max())} "
        f"(flat), against the majority class's {majority:.3f}: what each modality tells "
        "alone, no lookup.",
        "",
    ]


def readme(tables: Tables) -> list[str]:
    """The README's rows for Figure 4: each design's accuracy at the smallest and largest d."""
    summary = width_summary(tables[TABLE])
    rows = []
    for panel, g in summary.groupby("panel"):
        small, large = g["width"].min(), g["width"].max()
        mean = g.set_index(["design", "width"])["mean"]
        cells = ", ".join(
            f"{d} {mean[d, small]:.2f} / {mean[d, large]:.2f}" for d in dict.fromkeys(g["design"])
        )
        rows.append(
            f"| Figure 4 ({panel}), d = {small} / {large}: accuracy | gap shrinks, late matches "
            f"early | {cells} |"
        )
    return rows


FIGURE = Figure(
    name="4",
    title="Figure 4: accuracy against hidden width",
    sizes={size: {TABLE: study} for size, study in SIZES.items()},
    metric="test_accuracy",
    follows_protocol=(TABLE,),
    draw=draw,
    summary=summary,
    claims=claims,
    bands=f'"matches" is within {MATCH_MARGIN * 100:g} accuracy point',
    report=report,
    readme=readme,
)
