"""``progfusion report``: REPORT.md with every claim, its measurement and its verdict.

The report reuses the tables of an earlier ``progfusion figures`` run in the same
``--out`` (the sweep resumes, so nothing finished is trained again) and adds the
theory table and errata, computed by :mod:`progfusion.theory` (rendered by
:mod:`progfusion.theory.render`).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from progfusion.experiments.store import atomic_write_text

from .presets import Preset
from .runner import RunOptions, run_figures
from .verdicts import (
    IMPROVEMENT_BAND,
    MATCH_MARGIN,
    WIN_BAND,
    EmpiricalClaim,
    figure4_claims,
    figure7_claims,
    figure8_claims,
)
from .verdicts import __doc__ as VERDICT_RULE

__all__ = ["write_report", "empirical_section"]


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def _band(band: tuple[float, float]) -> str:
    lo, hi = band
    if hi == math.inf:
        return f"> {_fmt(lo)}"
    return f"[{_fmt(lo)}, {_fmt(hi)}]"


def _claims_table(claims: list[EmpiricalClaim]) -> list[str]:
    lines = [
        "| figure | claim (paper) | effect measured | claimed band | n | mean [95% CI] | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in claims:
        lines.append(
            f'| {c.figure} | "{c.quote}" | {c.effect} | {_band(c.band)} | {c.n} | '
            f"{_fmt(c.mean)} [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}] | **{c.verdict}** |"
        )
    return lines


def empirical_section(fig4: pd.DataFrame, grid: pd.DataFrame, fig8: pd.DataFrame) -> list[str]:
    """The empirical-claims section: the rule, then one row per claim."""
    claims = figure4_claims(fig4) + figure7_claims(grid) + figure8_claims(fig8)
    rule = "\n".join(line.strip() for line in VERDICT_RULE.strip().splitlines()[2:])
    return [
        "## Empirical claims",
        "",
        rule,
        "",
        f'Bands used: "close to 90%" is {WIN_BAND[0]:.0%} to {WIN_BAND[1]:.0%}; "an average '
        f'improvement of 8%" is {IMPROVEMENT_BAND[0]:g}% to {IMPROVEMENT_BAND[1]:g}%; '
        f'"matches" is within {MATCH_MARGIN * 100:g} accuracy point; direction claims are '
        "above 0. Figure 4 effects are accuracy differences (fractions); Figure 8 effects "
        "use -MSE as the performance, so positive means pro-fusion is more robust.",
        "",
        *_claims_table(claims),
        "",
    ]


def _theory_section() -> list[str]:
    from progfusion.theory.render import render_claims_table, render_errata

    return [
        "## Theoretical claims (appendix), decided by exact computation",
        "",
        render_claims_table(markdown=True),
        "",
        "## Errata found in the appendix",
        "",
        render_errata(markdown=True),
        "",
    ]


def write_report(preset: Preset, opts: RunOptions) -> Path:
    """Run (or reuse) the three figures' sweeps and write ``<out>/REPORT.md``."""
    timings = run_figures(["4", "7", "8"], preset, opts, echo=lambda _line: None)
    out = opts.out
    fig4 = pd.read_csv(out / "figure4.csv")
    grid = pd.read_csv(out / "figure7.csv")
    fig8 = pd.read_csv(out / "figure8.csv")
    steps_note = []
    if (out / "figure7b.csv").is_file():
        from .fig7_8 import summary7

        steps_note = [
            "### Figure 7(b): the comparison against training steps (fixed-steps protocol)",
            "",
            "```",
            *summary7(grid, pd.read_csv(out / "figure7b.csv"))[1:],
            "```",
            "",
        ]
    gap_note = []
    if (out / "gap.md").is_file():  # written by progfusion figure gap in the same --out
        gap_text = (out / "gap.md").read_text().split("\n", 1)[1].strip()
        gap_note = ["## The gap study (ours)", "", "![The gap study](gap.png)", "", gap_text, ""]
    counts = pd.concat([fig4["status"], grid["status"]]).value_counts().to_dict()
    lines = [
        "# progfusion report",
        "",
        f"Preset `{preset.name}`, protocol `{opts.protocol}`, root seed {opts.seed}, device "
        f"`{opts.device}`. Models by status: {counts} (only `ok` models enter the statistics). "
        "Wall time of this call per figure (seconds; drawing only, when the tables were "
        f"reused): {timings}.",
        "",
        "![Figure 4](figure4.png)",
        "",
        "![Figure 7](figure7.png)",
        "",
        "![Figure 8](figure8.png)",
        "",
        *empirical_section(fig4, grid, fig8),
        *steps_note,
        *gap_note,
        *_theory_section(),
    ]
    path = out / "REPORT.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
