"""The paper's mechanism in the gap study: pro-fusion against late fusion and each control.

The mechanism (the paper's reason for pro-fusion): it helps when X1 is corrupted
(eta large) and X2 is clean (sigma2 small). :func:`~.fig7.mechanism_claims` tests it
for pro against late on a grid with three readings of the per-trial percentage gain:
its slope along eta at the smallest sigma2, minus its slope along sigma2 at the
largest eta, and the gain at the largest eta minus the gain at eta = 0 (the control,
where no modality is corrupted). Each is a mean over trials with a 95% bootstrap
interval and a verdict against 0 (:func:`~.verdicts.claim`, :func:`~.verdicts.direction`).

Here the same readings are taken in the gap study's early-stopping table (7(a)'s
protocol) and in its fixed-steps table at :func:`match_steps` (the step count that
matches the paper), for pro against late fusion and against each control of
:data:`~.gap_studies.CONTROLS`: :func:`mechanism` hands fig7's function the two
designs' models with the control in late fusion's place, so that every reading is
computed by one function. A row's verdict is *reproduced* when all three readings
lie above 0, *not reproduced* when one lies below 0, else *inconclusive*; beside it,
the same rule after Holm's step-down over this table's readings (:func:`~.verdicts.judge`).

Not in the report's family of claims (:mod:`.report`, Holm over its rows), for two
reasons. The gap study is trained apart (it has no claims of its own, so
``progfusion report`` does not train it and publishing does not require its tables;
a claim of its own would change both). And its pro-against-late rows repeat Figure
7's mechanism rows, which are in the family, on a 3 x 3 subgrid with fewer trials,
while the rows against the controls ask our question, not the paper's: 36 more rows
would weaken the correction of the paper's claims without testing any claim of the
paper's. This table is its own family, corrected within itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd
from progfusion.experiments.columns import step_columns

from . import fig7
from .gap_studies import CONTROLS, PAPER_MATCH_STEPS, STEPS, STOPPING
from .readout import estimate
from .verdicts import EmpiricalClaim, judge

__all__ = [
    "Mechanism",
    "at_match_steps",
    "at_steps",
    "markdown",
    "match_steps",
    "mechanism",
    "mechanism_rows",
    "row_verdict",
]

#: The section's heading in ``gap.md`` and REPORT.md.
HEADING = "### The paper's mechanism, against late fusion and each control"
#: The early-stopping setting's label (as in the settings table).
STOPPING_LABEL = "early stopping (7(a))"


def match_steps(steps: Sequence[int]) -> int | None:
    """The fixed step count that matches the paper among ``steps`` recorded:
    :data:`~.gap_studies.PAPER_MATCH_STEPS`, or the largest below it (a smaller
    preset's); None when every one is above it."""
    below = [int(s) for s in steps if int(s) <= PAPER_MATCH_STEPS]
    return max(below) if below else None


def at_steps(table: pd.DataFrame, steps: int) -> pd.DataFrame:
    """A fixed-steps table with ``test_mse`` the test MSE recorded after ``steps``."""
    return table.assign(test_mse=table[f"mse_step_{steps}"])


def mechanism(table: pd.DataFrame, base: str, new: str = "pro") -> list[EmpiricalClaim]:
    """:func:`~.fig7.mechanism_claims` for ``new`` against ``base``: the two designs'
    models, ``base`` in late fusion's place and ``new`` in pro-fusion's. None (``[]``)
    on a grid with fewer than two values of eta or sigma2."""
    two = table[table["design"].isin([base, new])]
    in_place = two["design"].map({base: fig7.BASE, new: fig7.NEW})
    return fig7.mechanism_claims(two.assign(design=in_place))


@dataclass(frozen=True)
class Mechanism:
    """The three readings of one comparison in one setting (pro against ``base``)."""

    setting: str
    base: str
    along_eta: EmpiricalClaim
    along_sigma: EmpiricalClaim
    control: EmpiricalClaim

    @property
    def claims(self) -> tuple[EmpiricalClaim, EmpiricalClaim, EmpiricalClaim]:
        return (self.along_eta, self.along_sigma, self.control)

    @property
    def verdict(self) -> str:
        return row_verdict([c.verdict for c in self.claims])


def row_verdict(verdicts: Sequence[str]) -> str:
    """*reproduced* when every reading is, *not reproduced* when one is, else
    *inconclusive*."""
    if verdicts and all(v == "reproduced" for v in verdicts):
        return "reproduced"
    return "not reproduced" if "not reproduced" in verdicts else "inconclusive"


def at_match_steps(tables: Mapping[str, pd.DataFrame]) -> tuple[int, pd.DataFrame] | None:
    """The fixed-steps table read at :func:`match_steps` (:func:`at_steps`), with the step
    count; None without that table or such a step."""
    if STEPS not in tables:
        return None
    steps = match_steps(step_columns(tables[STEPS], "mse")[0])
    return None if steps is None else (steps, at_steps(tables[STEPS], steps))


def _settings(tables: Mapping[str, pd.DataFrame]) -> list[tuple[str, pd.DataFrame]]:
    """The early-stopping table, and the fixed-steps table at :func:`match_steps`."""
    found = [(STOPPING_LABEL, tables[STOPPING])] if STOPPING in tables else []
    matched = at_match_steps(tables)
    if matched is not None:
        found.append((f"fixed, {matched[0]:,} steps", matched[1]))
    return found


def mechanism_rows(tables: Mapping[str, pd.DataFrame]) -> list[Mechanism]:
    """Per setting (:func:`_settings`), pro against late and against each control the
    table holds; none on a grid with fewer than two values of eta or sigma2."""
    rows = []
    for setting, table in _settings(tables):
        designs = set(table["design"])
        for base in ("late", *CONTROLS):
            if base in designs and "pro" in designs:
                claims = mechanism(table, base)
                if claims:
                    rows.append(Mechanism(setting, base, *claims))
    return rows


def _number(c: EmpiricalClaim) -> str:
    return estimate(c.mean, c.ci_low, c.ci_high, c.n, "{:+.2f}".format, show_n=False, label=False)


def _axes(table: pd.DataFrame) -> str:
    """Where the readings are taken on ``table``'s grid: ``eta 0 to 4, sigma2 0 to 2``."""
    (e0, e1), (s0, s1) = ((table[k].min(), table[k].max()) for k in fig7.GRID_KEYS)
    return f"eta {e0:g} to {e1:g}, sigma2 {s0:g} to {s1:g}"


def markdown(tables: Mapping[str, pd.DataFrame]) -> str:
    """The mechanism section of ``gap.md``: what is read, then one row per setting and
    comparison with the three readings, their verdict and the verdict after Holm over
    the table; a line saying why when the grid cannot test it."""
    rows = mechanism_rows(tables)
    if not rows:
        return (
            f"{HEADING}\n\nThe mechanism (the gain against eta and sigma2) needs a grid with "
            "at least two values of each; these tables have fewer.\n"
        )
    judged = judge([c for r in rows for c in r.claims])
    corrected = {(c.key, c.band): j.corrected for j in judged for c in j.claims}
    grid = _axes(_settings(tables)[0][1])
    lines = [
        HEADING,
        "",
        "Ours: per trial, the percentage gain of pro-fusion over the comparison's base, read "
        "three ways: its slope along eta at the smallest sigma2 (% per unit of eta), minus its "
        "slope along sigma2 at the largest eta (% per unit of sigma2), and the gain at the "
        "largest eta minus the gain at the smallest (eta = 0: the control, no modality "
        f"corrupted; percentage points). Grid: {grid}. Mean [95% CI] over trials; the verdict "
        "is *reproduced* when all three lie above 0, *not reproduced* when one lies below. "
        f"Holm's step-down is over this table's {len(judged)} readings "
        "(not the report's family; see `figures/gap_mechanism.py`).",
        "",
        "| setting | comparison | n | slope along eta | -slope along sigma2 | eta control "
        "| verdict | after Holm |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        holm = row_verdict([corrected[(c.key, c.band)] for c in r.claims])
        numbers = " | ".join(_number(c) for c in r.claims)
        lines.append(
            f"| {r.setting} | pro vs {r.base} | {r.control.n} | {numbers} | {r.verdict} | {holm} |"
        )
    return "\n".join(lines) + "\n"
