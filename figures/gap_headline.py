"""The README's headline paragraph: does pro-fusion's gain over late fusion survive?

One paragraph, generated from the tables alone (:func:`paragraph`), with a number and
its 95% interval for each test it can make from the tables given:

- equal tuning: pro against late fusion in the tuned studies (``gap-tuned``,
  ``gap-tuned-steps``: every design's learning rate and width chosen alike on the
  validation split, per cell and trial), with the win fraction;
- the capacity and compute controls (:data:`MATCHED`): pro against late fusion
  widened to pro's nominal parameters, effective parameters and multiply-adds, at
  the fixed step count that matches the paper (:func:`~.gap_mechanism.match_steps`)
  and under 7(a)'s early stopping;
- the paper's mechanism, pro against late (:func:`~.fig7.mechanism_claims`): on Figure
  7's grid when its table is given, else on the gap study's early-stopping grid.

Each test reads "holds" (its interval above 0), "reverses" (below 0) or "is not
resolved" (the report's rule, :func:`~.verdicts.verdict`, against 0). A test whose
table or designs are absent is left out without a word; with none, the paragraph is
empty.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import pandas as pd
from progfusion.experiments.metrics import MIN_PAIRS

from . import fig7
from .gap_mechanism import STOPPING_LABEL, at_match_steps, match_steps, mechanism, row_verdict
from .gap_studies import SETTINGS, STEPS, STOPPING, TUNING
from .verdicts import EmpiricalClaim

__all__ = ["MATCHED", "paragraph"]

#: The controls matched to pro-fusion, and what each is matched in.
MATCHED = {
    "late-wide": "nominal parameters",
    "late-wide-eff": "effective parameters",
    "late-wide-flops": "multiply-adds",
}
#: A direction verdict (against 0) as the paragraph says it of a gain.
_HOLDS = {"reproduced": "holds", "not reproduced": "reverses", "inconclusive": "is not resolved"}
#: The mechanism's verdict (:func:`~.gap_mechanism.row_verdict`) as the paragraph says it.
_SUPPORTED = {
    "reproduced": "supported",
    "not reproduced": "not supported",
    "inconclusive": "not resolved",
}


def _gain(mean: float, low: float, high: float, n: int, unit: str = "%") -> str:
    """``+1.00% [+0.91, +1.08]`` (the README's form); without its interval, from fewer
    than :data:`~progfusion.experiments.metrics.MIN_PAIRS` values, as the report does."""
    if not math.isfinite(mean):
        return "n/a"
    if n < MIN_PAIRS or not (math.isfinite(low) and math.isfinite(high)):
        return f"{mean:+.2f}{unit} (n = {n}, no interval)"
    return f"{mean:+.2f}{unit} [{low:+.2f}, {high:+.2f}]"


def _row_gain(row) -> str:
    return _gain(row["mean_improvement"], row["ci_low"], row["ci_high"], int(row["n"]))


def _pro_against(settings: pd.DataFrame, setting: str, base: str):
    """The settings row of pro against ``base`` at ``setting``, or None."""
    rows = settings[
        (settings["setting"] == setting) & (settings["new"] == "pro") & (settings["base"] == base)
    ]
    return rows.iloc[0] if len(rows) else None


def _where(setting: str) -> str:
    """A setting's label as the paragraph says it: ``under early stopping``, ``at 200
    fixed steps``."""
    if "early stopping" in setting:
        return "under early stopping"
    steps = re.search(r"([\d,]+) steps", setting)
    return f"at {steps.group(1)} fixed steps" if steps else f"at {setting}"


def _wins(row) -> str:
    return f"pro wins {100 * row['win_fraction']:.1f}% of {row['n']:,.0f} pairs"


def _tuned(settings: pd.DataFrame) -> str:
    """Pro against late fusion with every design tuned alike, per tuned setting."""
    labels = dict.fromkeys(settings.loc[settings["factor"] == "tuning", "setting"])
    rows = [r for r in (_pro_against(settings, label, "late") for label in labels) if r is not None]
    if not rows:
        return ""
    candidates = " and ".join(
        f"{k} in {', '.join(f'{v:g}' for v in vs)}" for k, vs in TUNING.items()
    )
    parts = [
        f"{_HOLDS[r['direction_verdict']]} {_where(r['setting'])}, {_row_gain(r)} ({_wins(r)})"
        for r in rows
    ]
    return (
        f"With every design tuned alike ({candidates}, chosen on the validation split per "
        f"cell and trial), pro-fusion's gain over late fusion {_and(parts)}."
    )


def _steps_setting(settings: pd.DataFrame) -> str | None:
    """The fixed-steps setting that matches the paper (:func:`match_steps`), or None."""
    steps = settings.loc[settings["study"] == STEPS, "value"]
    matched = match_steps(sorted(set(steps.astype(int)))) if len(steps) else None
    return None if matched is None else f"fixed, {matched:,} steps"


def _at(settings: pd.DataFrame, setting: str, *, first: bool) -> str:
    """Pro against each matched control at ``setting`` (and against late, for scale),
    or ``""`` when no matched control was trained there; what each control is matched
    in is said the ``first`` time."""
    controls = [(b, _pro_against(settings, setting, b)) for b in MATCHED]
    controls = [(b, r) for b, r in controls if r is not None]
    if not controls:
        return ""
    where = _where(setting)
    late = _pro_against(settings, setting, "late")
    if late is not None:
        reproduces = late["win_verdict"] == late["improvement_verdict"] == "reproduced"
        paper = ", reproducing the paper's two numbers" if reproduces else ""
        where += f", where pro-fusion gains {_row_gain(late)} over late fusion{paper}"
    against = [
        f"{_HOLDS[r['direction_verdict']]} against {b}"
        + (f" (matched in {MATCHED[b]})" if first else "")
        + f", {_row_gain(r)}"
        for b, r in controls
    ]
    return f"{where[0].upper()}{where[1:]}, its gain {_and(against)}."


def _and(parts: list[str]) -> str:
    """``a``, ``a and b``, ``a; b; and c``."""
    if len(parts) < 3:
        return " and ".join(parts)
    return "; ".join(parts[:-1]) + f"; and {parts[-1]}"


def _controls(settings: pd.DataFrame) -> str:
    """Pro against each matched control, at the matching steps and under early stopping."""
    parts: list[str] = []
    for setting in (_steps_setting(settings), STOPPING_LABEL):
        if setting is not None and (part := _at(settings, setting, first=not parts)):
            parts.append(part)
    return " ".join(parts)


def _mechanism_grid(tables: Mapping[str, pd.DataFrame]) -> tuple[str, pd.DataFrame | None]:
    """Where the mechanism of pro against late is read, and the table (late and pro)."""
    if fig7.GRID_TABLE in tables:
        return "on Figure 7's grid", tables[fig7.GRID_TABLE]
    if STOPPING in tables:
        return "on the gap study's early-stopping grid", tables[STOPPING]
    return "", None


def _mechanism(tables: Mapping[str, pd.DataFrame]) -> str:
    """The paper's mechanism for pro against late: the control reading and both slopes,
    then the control reading at the fixed steps that match the paper."""
    where, grid = _mechanism_grid(tables)
    claims = mechanism(grid, "late") if grid is not None else []
    if not claims:
        return ""
    along_eta, along_sigma, control = claims
    word = _SUPPORTED[row_verdict([c.verdict for c in claims])]
    (e0, e1), (s0, _) = ((grid[k].min(), grid[k].max()) for k in fig7.GRID_KEYS)
    text = (
        "The paper's mechanism (pro-fusion helps when X1 is corrupted and X2 is clean) is "
        f"{word} {where} ({control.n} trials; all three readings must lie above 0, each on its "
        f"own 95% interval): at sigma2 "
        f"= {s0:g} the gain at eta = {e1:g} minus the gain at eta = {e0:g}, where no modality "
        f"is corrupted, is {_points(control)} points, and the gain's slope along eta is "
        f"{_points(along_eta)} points per unit; at eta = {e1:g} the gain falls by "
        f"{_points(along_sigma)} points per unit of sigma2."
    )
    matched = at_match_steps(tables)
    steps = mechanism(matched[1], "late") if matched is not None else []
    if steps:
        text += (
            f" At {matched[0]:,} fixed steps (the gap study's grid, {steps[2].n} trials) it is "
            f"{_SUPPORTED[row_verdict([c.verdict for c in steps])]}, the same control reading "
            f"{_points(steps[2])} points."
        )
    return text


def _points(c: EmpiricalClaim) -> str:
    return _gain(c.mean, c.ci_low, c.ci_high, c.n, unit="")


def paragraph(tables: Mapping[str, pd.DataFrame]) -> str:
    """The headline paragraph from ``tables`` (by name; the gap study's settings table
    :data:`~.gap_studies.SETTINGS` among them for the tuned and control clauses), or
    ``""`` when none of its tests can be made."""
    settings = tables.get(SETTINGS)
    clauses = [_tuned(settings), _controls(settings)] if settings is not None else []
    clauses.append(_mechanism(tables))
    text = " ".join(c for c in clauses if c)
    return (
        f"Does pro-fusion's gain over late fusion survive a fair comparison? {text}" if text else ""
    )
