"""The gap study (ours): where the paper's "close to 90%" and "8%" could come from.

At Figure 7(a)'s exact setting (:data:`~.fig7.GRID_PAPER`: task, sample sizes,
models, grid) late fusion, pro-fusion and the controls (:data:`~.gap_studies.CONTROLS`:
iterative fusion, the paper's ablation; late fusion widened to pro-fusion's
parameters, effective parameters and multiply-adds; early fusion) are trained on the
same data with the same base seed. The studies (:mod:`.gap_studies`, each a
:class:`Study`):

- ``gap-steps``: fixed steps, test MSE recorded after 100, 200, 400, ..., 12,800;
- ``gap-stopping``: 7(a)'s protocol (early stopping within 12,800 steps);
- ``gap-tuned``, ``gap-tuned-steps``: every design tuned alike (learning rate and
  width chosen on the validation split per cell and trial), under early stopping and
  at the fixed steps that match the paper;
- ``gap-<factor>``: one factor changed at a time from 7(a)'s setting (training
  samples, standardised or raw targets, learning rate, encoder width h, R, p, the
  context form), late against pro only, under early stopping, on a smaller grid with
  fewer trials (:data:`~.gap_studies.FACTOR_GRID`, :data:`~.gap_studies.FACTOR_TRIALS`).

The tables become one row per *setting* (a fixed number of steps, 7(a)'s early
stopping, or one value of one factor) with, for each paired comparison
(:data:`COMPARISONS`), the win fraction and the mean percentage MSE improvement with
their 95% intervals and three verdicts by the report's rule
(:func:`~.verdicts.verdict`): the win fraction against "close to 90%"
(:data:`~.fig7.WIN_BAND`), the mean improvement against "8%"
(:data:`~.fig7.IMPROVEMENT_BAND`), and its direction (above 0).
:func:`answer` writes the paragraph from that table alone; :func:`draw` plots it.
``gap.md`` adds the paper's mechanism against each control (:mod:`.gap_mechanism`);
the README's paragraph on tuning, controls and mechanism is :mod:`.gap_headline`'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments.analysis import compare_by_step, compare_designs
from progfusion.experiments.store import atomic_write_text
from progfusion.experiments.tuning import select_tuned

from . import fig7, gap_mechanism
from .fig7 import IMPROVEMENT_BAND, WIN_BAND
from .figure import Figure, Tables
from .gap_studies import (
    BASE_VALUES,
    CHOSEN,
    COMPARISONS,
    DESIGNS,
    FACTOR_GRID,
    FACTOR_TRIALS,
    FACTORS,
    GAP_STEPS,
    NARROW_WIN_BAND,
    SETTINGS,
    SIZES,
    STEPS,
    STOPPING,
    TUNED,
    TUNED_STEPS,
    TUNING,
    factor_table,
)
from .plots import DESIGN_LABELS, design_colors
from .style import PAPER, TEXT_WIDTH_IN, figsize, use_style
from .verdicts import direction, verdict

__all__ = [
    "COMPARISONS",
    "DESIGNS",
    "FACTORS",
    "FACTOR_GRID",
    "FACTOR_TRIALS",
    "FIGURE",
    "GAP_STEPS",
    "SIZES",
    "answer",
    "draw",
    "gap_form",
    "gap_markdown",
    "markdown_table",
    "settings_table",
]


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


def draw(tables: Tables, *, style=PAPER, width_in: float = TEXT_WIDTH_IN * 1.4) -> plt.Figure:
    """The gap figure from the settings table (:func:`settings_table`).

    (a) win fraction and (b) mean MSE improvement against late fusion, 95% intervals,
    against fixed training steps, per design; the paper's bands shaded. (c) pro vs
    late in every other setting (early stopping, factors), with its interval.
    """
    settings = tables[SETTINGS]
    by_step = settings[settings["study"] == STEPS]
    others = settings[(settings["study"] != STEPS) & (settings["new"] == "pro")]
    others = others[others["base"] == "late"]
    width, height = figsize(width_in=width_in, ncols=3)
    height = max(height, 0.13 * len(others) + 1.0)  # (c): a readable line per setting
    with use_style(style):
        fig, axes = plt.subplots(1, 3, figsize=(width, height))
        _band(axes[0], WIN_BAND, 100.0)
        _lines(axes[0], by_step, "win_fraction", "win_low", "win_high", 100.0)
        axes[0].set_ylabel("wins against late (%)")
        axes[0].set_title("(a) win fraction")
        fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center",
                   ncol=4, fontsize="small")  # fmt: skip
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
    return fig


_KEYS = list(fig7.PAIR_KEYS)

_REPRODUCED = "reproduced"


def _show(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _with_verdicts(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.copy()
    rows["win_verdict"] = [verdict(r.win_low, r.win_high, WIN_BAND, r.n) for r in rows.itertuples()]
    rows["improvement_verdict"] = [
        verdict(r.ci_low, r.ci_high, IMPROVEMENT_BAND, r.n) for r in rows.itertuples()
    ]
    rows["direction_verdict"] = [
        verdict(r.ci_low, r.ci_high, direction(), r.n) for r in rows.itertuples()
    ]
    rows["narrow_win_verdict"] = [
        verdict(r.win_low, r.win_high, NARROW_WIN_BAND, r.n) for r in rows.itertuples()
    ]
    rows["replicate"] = [
        r.factor in BASE_VALUES and r.value == BASE_VALUES[r.factor] for r in rows.itertuples()
    ]
    return rows


def settings_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every setting of the gap tables (by table name) with its comparisons and verdicts.

    Columns: ``study``, ``setting`` (its label), ``factor``, ``value``, ``new``,
    ``base``, ``n`` (pairs), ``win_fraction``, ``win_low``, ``win_high`` (0..1),
    ``mean_improvement``, ``ci_low``, ``ci_high`` (percent), ``wilcoxon_p``, and
    ``win_verdict``, ``improvement_verdict``, ``direction_verdict``.
    """
    frames = []
    if STEPS in tables:
        by_step = compare_by_step(tables[STEPS], _KEYS, COMPARISONS)
        by_step = by_step.assign(
            study=STEPS,
            factor="steps",
            value=by_step["steps"],
            setting=[f"fixed, {s:,} steps" for s in by_step["steps"]],
        )
        frames.append(by_step.drop(columns="steps"))
    if STOPPING in tables:
        rows = compare_designs(tables[STOPPING], _KEYS, COMPARISONS)
        frames.append(
            rows.assign(
                study=STOPPING,
                factor="protocol",
                value="early-stopping",
                setting="early stopping (7(a))",
            )  # fmt: skip
        )
    frames += _tuned_frames(tables)
    for factor in FACTORS:
        name = factor_table(factor)
        if name not in tables:
            continue
        table = tables[name]
        for value in dict.fromkeys(table[factor]):
            rows = compare_designs(table[table[factor] == value], _KEYS, COMPARISONS)
            frames.append(
                rows.assign(
                    study=name, factor=factor, value=value, setting=f"{factor} = {_show(value)}"
                )  # fmt: skip
            )
    if not frames:
        raise ValueError("tables: no gap table (gap-steps, gap-stopping or gap-<factor>)")
    table = pd.concat(frames, ignore_index=True)
    lead = ["study", "setting", "factor", "value", "new", "base"]
    table = table[lead + [c for c in table.columns if c not in lead]]
    return _with_verdicts(table)


def _tuned_frames(tables: Mapping[str, pd.DataFrame]) -> list[pd.DataFrame]:
    """The comparisons of the tuned studies' kept models (one per design, cell, trial)."""
    frames = []
    labels = {TUNED: "tuned, early stopping", TUNED_STEPS: "tuned, fixed steps"}
    for name, label in labels.items():
        if name in tables:
            kept = select_tuned(tables[name], list(TUNING), _KEYS)
            steps = int(kept["max_steps"].max()) if name == TUNED_STEPS else None
            setting = f"tuned, fixed {steps:,} steps" if steps else label
            rows = compare_designs(kept, _KEYS, COMPARISONS)
            frames.append(rows.assign(study=name, factor="tuning", value=setting, setting=setting))
    return frames


def chosen(tables: Tables) -> pd.DataFrame:
    """The tuned studies' kept models, with their chosen ``lr`` and ``width``."""
    frames = [
        select_tuned(tables[name], list(TUNING), _KEYS).assign(study=name)
        for name in (TUNED, TUNED_STEPS)
        if name in tables
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.1f}%"


def _signed(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:+.2f}%"


def _against(row) -> str:
    """``late-wide: -4.14% [-5.85%, -2.65%], wins 18.9%`` (pro-fusion against a control)."""
    return (
        f"{row['base']}: {_signed(row['mean_improvement'])} [{_signed(row['ci_low'])}, "
        f"{_signed(row['ci_high'])}], wins {_pct(row['win_fraction'])}"
    )


def _controls(settings: pd.DataFrame, setting: str) -> str:
    """Pro-fusion against every control trained at ``setting``."""
    rows = settings[(settings["setting"] == setting) & (settings["new"] == "pro")]
    rows = rows[rows["base"] != "late"]
    where = (
        "Under 7(a)'s early stopping" if setting.startswith("early stopping") else f"At {setting}"
    )
    if not len(rows):
        return f"{where} no control was trained"
    return f"{where}, pro-fusion against " + "; against ".join(
        _against(r) for _, r in rows.iterrows()
    )


def _first_clause(pro: pd.DataFrame, both: pd.DataFrame) -> str:
    """How many distinct configurations reproduce both numbers, replicates counted once."""
    distinct = pro[~pro["replicate"]]
    replicates = pro[pro["replicate"]]
    spread = ""
    if len(replicates):
        low, high = replicates["win_fraction"].min(), replicates["win_fraction"].max()
        spread = (
            f" ({len(pro)} settings, {len(replicates)} of them 7(a)'s early stopping again on "
            f"other seeds, which win in {_pct(low)} to {_pct(high)} of their pairs)"
        )
    if len(both):
        names = ", ".join(both["setting"])
        return (
            f"Of {len(distinct)} distinct configurations{spread}, {len(both)} "
            f'reproduce{"s" if len(both) == 1 else ""} both "close to 90%" and "8%" for pro- '
            f"against late fusion: {names}"
        )
    if not len(pro):
        return "No setting compares pro- with late fusion"
    closest = pro.loc[(pro["mean_improvement"] - fig7.PAPER_MEAN_IMPROVEMENT).abs().idxmin()]
    return (
        f'None of {len(distinct)} distinct configurations{spread} reproduces both "close to '
        f'90%" and "8%" for pro- against late fusion (closest: {closest["setting"]}, wins '
        f"{_pct(closest['win_fraction'])}, {_signed(closest['mean_improvement'])})"
    )


def answer(settings: pd.DataFrame) -> str:
    """A paragraph, generated from ``settings`` (:func:`settings_table`).

    It counts the distinct configurations (a factor at 7(a)'s own value is 7(a)'s
    early stopping again, on other seeds: counted once, its spread of win fractions
    shown), names those whose pro-vs-late win fraction and mean improvement are both
    *reproduced* against the paper's bands, reports pro-fusion against every control
    at each of them and under 7(a)'s early stopping, and says whether they still
    reproduce with "close to 90%" read as :data:`NARROW_WIN_BAND`.
    """
    pro = settings[(settings["new"] == "pro") & (settings["base"] == "late")]
    both = pro[(pro["win_verdict"] == _REPRODUCED) & (pro["improvement_verdict"] == _REPRODUCED)]
    sentences = [_first_clause(pro, both)]
    if len(both):
        narrow = both[both["narrow_win_verdict"] == _REPRODUCED]
        low, high = NARROW_WIN_BAND
        which = f": {', '.join(narrow['setting'])}" if len(narrow) else ""
        sentences.append(
            f'With "close to 90%" read as {100 * low:.0f}% to {100 * high:.0f}%, '
            f"{len(narrow)} of them still reproduce{'s' if len(narrow) == 1 else ''} both{which}"
        )
    stopping = "early stopping (7(a))"
    at = [*both["setting"], *([stopping] if pro["setting"].eq(stopping).any() else [])]
    sentences += [_controls(settings, setting) for setting in dict.fromkeys(at)]
    for i, setting in enumerate(_tuned_settings(settings)):
        sentences.append(_tuned(settings, setting, first=i == 0))
    return ". ".join(sentences) + "."


def _tuned_settings(settings: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(settings.loc[settings["factor"] == "tuning", "setting"]))


def _tuned(settings: pd.DataFrame, setting: str, *, first: bool) -> str:
    """Pro-fusion against late fusion and every control, all tuned alike, at ``setting``."""
    rows = settings[(settings["setting"] == setting) & (settings["new"] == "pro")]
    how = "Every design tuned alike"
    if first:
        each = " and ".join(f"{k} in {', '.join(_show(v) for v in vs)}" for k, vs in TUNING.items())
        how += f" ({each}, chosen on validation per cell and trial)"
    return f"{how}, {setting.removeprefix('tuned, ')}: pro-fusion against " + "; against ".join(
        _against(r) for _, r in rows.iterrows()
    )


def markdown_table(settings: pd.DataFrame) -> str:
    """The settings table as Markdown (one row per setting and comparison)."""
    lines = [
        "| setting | comparison | n | win fraction [95% CI] | verdict (close to 90%) "
        "| mean improvement [95% CI] | verdict (8%) | verdict (> 0) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in settings.itertuples():
        lines.append(
            f"| {r.setting} | {r.new} vs {r.base} | {r.n} | {_pct(r.win_fraction)} "
            f"[{_pct(r.win_low)}, {_pct(r.win_high)}] | {r.win_verdict} | "
            f"{_signed(r.mean_improvement)} [{_signed(r.ci_low)}, {_signed(r.ci_high)}] | "
            f"{r.improvement_verdict} | {r.direction_verdict} |"
        )
    return "\n".join(lines) + "\n"


def _grid_form(table: pd.DataFrame) -> str:
    """A table's grid and trials: ``3 x 3 cells (eta ...; sigma2 ...), 10 trials a cell``."""
    eta, sigma2 = (sorted(table[axis].unique()) for axis in ("eta", "sigma2"))
    trials = table.groupby(["eta", "sigma2"])["trial"].nunique()
    low, high = trials.min(), trials.max()
    per_cell = f"{low}" if low == high else f"{low}-{high}"
    return (
        f"{len(eta)} x {len(sigma2)} cells (eta {', '.join(_show(float(e)) for e in eta)}; "
        f"sigma2 {', '.join(_show(float(v)) for v in sigma2)}), {per_cell} trials a cell"
    )


def gap_form(tables: Mapping[str, pd.DataFrame]) -> str:
    """What the gap tables hold, read from them: the grid, trials and training samples of
    the steps and stopping studies, and the grid and trials of the factor studies (whose
    samples are one of the factors); one clause when the grids agree."""
    main = [t for name, t in tables.items() if name in (STEPS, STOPPING)]
    factors = [t for name, t in tables.items() if name not in (STEPS, STOPPING)]
    main_grid = _grid_form(pd.concat(main)) if main else None
    factor_grid = _grid_form(pd.concat(factors)) if factors else None
    if main_grid is not None:
        samples = ", ".join(f"{n:,}" for n in sorted(pd.concat(main)["n_train"].unique()))
        if factor_grid in (None, main_grid):
            return f"every study on {main_grid}, {samples} training samples"
        return f"steps and stopping studies on {main_grid}, {samples} training samples; " + (
            f"factor studies on {factor_grid}"
        )
    return f"factor studies on {factor_grid}" if factor_grid else ""


def gap_markdown(settings: pd.DataFrame, form: str | None = None) -> str:
    """The generated answer, then the settings table in Markdown (``gap.md`` without its
    title); ``form`` (:func:`gap_form`), when given, is stated first."""
    intro = f"Tables: {form}.\n\n" if form else ""
    return f"{intro}{answer(settings)}\n\n{markdown_table(settings)}"


# ----------------------------------------------------------------------------- the plug-in


def derive(tables: Tables) -> dict[str, pd.DataFrame]:
    """The settings table, from whichever gap tables are given, and the tuned studies'
    kept models with their chosen values (when those tables are given)."""
    studies = {k: v for k, v in tables.items() if k in FIGURE.tables}
    derived = {}
    if studies and SETTINGS not in tables:  # bootstraps every setting: only when missing
        derived[SETTINGS] = settings_table(studies)
    if (TUNED in studies or TUNED_STEPS in studies) and CHOSEN not in tables:
        derived[CHOSEN] = chosen(studies)
    return derived


def summary(tables: Tables) -> list[str]:
    return [f"Gap study: {answer(tables[SETTINGS])}"]


def markdown(tables: Tables) -> str:
    """``gap.md`` without its title: the tables' form, the answer, the settings table and
    the mechanism against each control (:mod:`.gap_mechanism`)."""
    studies = {k: v for k, v in tables.items() if k in FIGURE.tables}
    text = gap_markdown(tables[SETTINGS], gap_form(studies) if studies else None)
    return f"{text}\n\n{gap_mechanism.markdown(studies)}" if studies else text


#: The file ``write`` makes: the answer and the settings table in Markdown.
MARKDOWN = "gap.md"


def write(tables: Tables, out: Path) -> list[Path]:
    """``gap.md``: the generated answer and the settings table in Markdown."""
    path = Path(out) / MARKDOWN
    atomic_write_text(path, f"# The gap study\n\n{markdown(tables)}")
    return [path]


def report(tables: Tables) -> list[str]:
    """REPORT.md's section (under its image): the generated answer with its table."""
    return [markdown(tables).strip(), ""]


def readme(tables: Tables) -> list[str]:
    """The README's sentence on where the paper's numbers come from."""
    studies = {k: v for k, v in tables.items() if k in FIGURE.tables}
    return [
        f"Where the paper's numbers come from (the gap study, {gap_form(studies)}): "
        f"{answer(tables[SETTINGS])}"
    ]


FIGURE = Figure(
    name="gap",
    title="The gap study: pro-fusion against late fusion and its controls",
    sizes=SIZES,
    image="gap",
    derived=(SETTINGS, CHOSEN),
    derive=derive,
    draw=draw,
    summary=summary,
    report=report,
    readme=readme,
    write=write,
    written=(MARKDOWN,),
)
