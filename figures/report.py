"""``progfusion report``: REPORT.md with every claim, its measurement and its verdict.

The report reuses the tables of an earlier ``progfusion figures`` run in the same
``--out`` (the sweep resumes, so nothing finished is trained again) and adds the
theory table and errata, computed by :mod:`progfusion.theory` (rendered by
:mod:`progfusion.theory.render`).
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pandas as pd
from progfusion.experiments.metrics import MIN_PAIRS
from progfusion.experiments.store import atomic_write_text

from .presets import Preset
from .readout import decide_theory
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

__all__ = [
    "empirical_section",
    "headline_lines",
    "status_counts",
    "tables_section",
    "write_report",
]


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
        interval = f"[{_fmt(c.ci_low)}, {_fmt(c.ci_high)}]"
        if c.n < MIN_PAIRS:  # as the terminal says it: no interval from so few pairs
            interval = "(too few for an interval)"
        lines.append(
            f'| {c.figure} | "{_cell(c.quote)}" | {_cell(c.effect)} | {_band(c.band)} | {c.n} | '
            f"{_fmt(c.mean)} {interval} | **{c.verdict}** |"
        )
    return lines


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a ``|`` (as in ``|pro - late|``) escaped."""
    return text.replace("|", "\\|")


def empirical_section(fig4: pd.DataFrame, grid: pd.DataFrame, fig8: pd.DataFrame) -> list[str]:
    """The empirical-claims section: the rule, then one row per claim."""
    claims = _claims(fig4, grid, fig8)
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


def _claims(fig4: pd.DataFrame, grid: pd.DataFrame, fig8: pd.DataFrame) -> list[EmpiricalClaim]:
    return figure4_claims(fig4) + figure7_claims(grid) + figure8_claims(fig8)


def headline_lines(claims: list[EmpiricalClaim], width: int = 80) -> list[str]:
    """The verdict table for the terminal, within ``width`` columns: per claim, its
    figure, verdict, mean [95% CI] and n, then the quote (shortened to one line;
    REPORT.md has it whole); last, how many claims were tested at once."""
    verdict_w = max(len(c.verdict) for c in claims)
    lines = [f"{'fig':<4}{'verdict':<{verdict_w}}  mean [95% CI], n  /  claim (paper)"]
    for c in claims:
        est = f"{_fmt(c.mean)} [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}], n = {c.n}"
        if c.n < MIN_PAIRS:
            est = f"{_fmt(c.mean)}, n = {c.n} (too few for an interval)"
        quote = f'"{c.quote}"'
        room = max(12, width - 4)
        quote = quote if len(quote) <= room else quote[: room - 4].rstrip() + '..."'
        lines += [f"{c.figure:<4}{c.verdict:<{verdict_w}}  {est}"[:width], f"    {quote}"]
    note = (
        f"{len(claims)} claims tested at once, each on its own 95% interval, with no "
        "correction for multiplicity; intervals pooled over a grid hold for that fixed "
        "grid only. The verdict rule and the whole quotes are in REPORT.md."
    )
    return lines + textwrap.wrap(note, width)


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


def _plain(counts: dict[str, int]) -> str:
    """``{'ok': 636, 'diverged': 2}`` as ``636 ok, 2 diverged``."""
    return ", ".join(f"{v} {k}" for k, v in counts.items()) or "none"


def status_counts(fig4: pd.DataFrame, grid: pd.DataFrame) -> str:
    """One sentence: the models of Figures 4 and 7 (8 reuses 7's) by status."""
    counts = {
        str(k): int(v)
        for k, v in pd.concat([fig4["status"], grid["status"]]).value_counts().items()
    }
    return f"Models by status: {_plain(counts)} (only `ok` models enter the statistics)."


def tables_section(
    fig4: pd.DataFrame,
    grid: pd.DataFrame,
    fig8: pd.DataFrame,
    *,
    steps: pd.DataFrame | None = None,
    gap_text: str | None = None,
    images: str = "",
) -> list[str]:
    """The part of a report drawn from the tables alone, as Markdown lines.

    The figures (``images``: the folder of their PNGs relative to the report, with a
    trailing slash; ``""``: beside it), the empirical claims, Figure 7(b) against
    training steps when ``steps`` (its table) is given, and the gap study when
    ``gap_text`` (:func:`~.gap_table.gap_markdown`) is.
    """
    lines = []
    for name in ("4", "7", "8"):
        lines += [f"![Figure {name}]({images}figure{name}.png)", ""]
    lines += empirical_section(fig4, grid, fig8)
    if steps is not None:
        from .fig7_8 import summary7

        lines += [
            "### Figure 7(b): the comparison against training steps (fixed-steps protocol)",
            "",
            "```",
            *summary7(grid, steps)[1:],
            "```",
            "",
        ]
    if gap_text:
        lines += ["## The gap study (ours)", "", f"![The gap study]({images}gap.png)", ""]
        lines += [gap_text.strip(), ""]
    return lines


def write_report(
    preset: Preset,
    opts: RunOptions,
    *,
    echo=print,
    width: int | None = None,
    gap_out: Path | None = None,
) -> Path:
    """Run (or reuse) the three figures' sweeps and write ``<out>/REPORT.md``.

    Its gap section is ``gap.md`` of ``gap_out`` (default ``opts.out``) when there.

    Prints (through ``echo``) the headline verdict table, fitted to ``width`` columns
    (default: the terminal's, 80 off a terminal), while a progress bar on stderr
    shows the theory computations. Tables already in ``opts.out`` are reused, and
    the sweeps say so.
    """
    from progfusion.theory.render import terminal_width

    timings = run_figures(["4", "7", "8"], preset, opts, echo=lambda _line: None)
    out = opts.out
    fig4 = pd.read_csv(out / "figure4.csv")
    grid = pd.read_csv(out / "figure7.csv")
    fig8 = pd.read_csv(out / "figure8.csv")
    steps = pd.read_csv(out / "figure7b.csv") if (out / "figure7b.csv").is_file() else None
    gap_text, gap_md = None, (out if gap_out is None else gap_out) / "gap.md"
    if gap_md.is_file():  # written by progfusion figure gap
        gap_text = gap_md.read_text().split("\n", 1)[1]
    seconds = ", ".join(f"{name} {t:.1f} s" for name, t in timings.items())
    lines = [
        "# progfusion report",
        "",
        f"Preset `{preset.name}`, protocol `{opts.protocol}`, root seed {opts.seed}, device "
        f"`{opts.device}`. {status_counts(fig4, grid)} Wall time of this call per figure "
        f"(drawing only, when the tables were reused): {seconds}.",
        "",
        *tables_section(fig4, grid, fig8, steps=steps, gap_text=gap_text),
    ]
    decide_theory(quiet=opts.quiet)
    lines += _theory_section()
    path = out / "REPORT.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    for line in headline_lines(_claims(fig4, grid, fig8), width or terminal_width()):
        echo(line)
    return path
