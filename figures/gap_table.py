"""The gap study's answer: one row per setting with its verdicts, and one sentence.

A *setting* is a fixed number of steps (``gap-steps``), 7(a)'s early stopping
(``gap-stopping``) or one value of one factor (``gap-<factor>``). For each setting
and each paired comparison (:data:`~.gap.COMPARISONS`) the row holds the win
fraction and the mean percentage MSE improvement with their 95% intervals, and
three verdicts by the report's rule (:func:`~.verdicts.verdict`): the win fraction
against "close to 90%" (:data:`~.verdicts.WIN_BAND`), the mean improvement against
"8%" (:data:`~.verdicts.IMPROVEMENT_BAND`), and its direction (above 0).
:func:`answer` writes the sentence from the table alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd
from progfusion.experiments.analysis import compare_by_step, compare_designs

from .gap import COMPARISONS, FACTORS
from .verdicts import IMPROVEMENT_BAND, WIN_BAND, verdict

__all__ = ["answer", "gap_form", "gap_markdown", "markdown_table", "settings_table"]

_KEYS = ["eta", "sigma2", "trial"]
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
        verdict(r.ci_low, r.ci_high, (0.0, math.inf), r.n) for r in rows.itertuples()
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
    if "gap-steps" in tables:
        by_step = compare_by_step(tables["gap-steps"], _KEYS, COMPARISONS)
        by_step = by_step.assign(
            study="gap-steps",
            factor="steps",
            value=by_step["steps"],
            setting=[f"fixed, {s:,} steps" for s in by_step["steps"]],
        )
        frames.append(by_step.drop(columns="steps"))
    if "gap-stopping" in tables:
        rows = compare_designs(tables["gap-stopping"], _KEYS, COMPARISONS)
        frames.append(
            rows.assign(
                study="gap-stopping",
                factor="protocol",
                value="early-stopping",
                setting="early stopping (7(a))",
            )  # fmt: skip
        )
    for factor in FACTORS:
        name = f"gap-{factor}"
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


def _pct(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{100 * x:.1f}%"


def _signed(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:+.2f}%"


def _survival(settings: pd.DataFrame, base: str) -> str | None:
    rows = settings[(settings["study"] == "gap-stopping") & (settings["new"] == "pro")]
    rows = rows[rows["base"] == base]
    if not len(rows):
        return None
    r = rows.iloc[0]
    word = {
        "reproduced": "survives",
        "not reproduced": "does not survive",
        "inconclusive": "is undecided",
    }[r["direction_verdict"]]
    return (
        f"{word} against {base} fusion ({_signed(r['mean_improvement'])} "
        f"[{_signed(r['ci_low'])}, {_signed(r['ci_high'])}], wins {_pct(r['win_fraction'])} "
        f"of {int(r['n'])} pairs)"
    )


def answer(settings: pd.DataFrame) -> str:
    """One sentence, generated from ``settings`` (:func:`settings_table`).

    It names the settings whose pro-vs-late win fraction and mean improvement are
    both *reproduced* against the paper's bands (or says none is, naming the closest),
    and says whether pro-fusion's gain survives against late-wide and iterative
    fusion under 7(a)'s protocol (its direction verdict against each).
    """
    pro = settings[(settings["new"] == "pro") & (settings["base"] == "late")]
    both = pro[(pro["win_verdict"] == _REPRODUCED) & (pro["improvement_verdict"] == _REPRODUCED)]
    if len(both):
        first = (
            f"Of {len(pro)} settings, {len(both)} reproduce{'s' if len(both) == 1 else ''} "
            f'both "close to 90%" and "8%" for pro- against late fusion: '
            f"{', '.join(both['setting'])}"
        )
    elif len(pro):
        closest = pro.loc[(pro["mean_improvement"] - 8.0).abs().idxmin()]
        first = (
            f'None of the {len(pro)} settings reproduces both "close to 90%" and "8%" for '
            f"pro- against late fusion (closest: {closest['setting']}, wins "
            f"{_pct(closest['win_fraction'])}, {_signed(closest['mean_improvement'])})"
        )
    else:
        first = "No setting compares pro- with late fusion"
    survivals = [s for s in (_survival(settings, b) for b in ("late-wide", "iterative")) if s]
    if not survivals:
        return first + "; no early-stopping table compares pro-fusion with late-wide or iterative."
    return (
        first + "; under 7(a)'s early stopping, pro-fusion's gain " + " and ".join(survivals) + "."
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
    main = [t for name, t in tables.items() if name in ("gap-steps", "gap-stopping")]
    factors = [t for name, t in tables.items() if name not in ("gap-steps", "gap-stopping")]
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
