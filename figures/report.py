"""``progfusion report``: REPORT.md with every claim, its measurement and its verdict.

The report reuses the tables of an earlier ``progfusion figures`` run in the same
``--out`` (the sweep resumes, so nothing finished is trained again) and adds the
theory table and errata, computed by :mod:`progfusion.theory` (rendered by
:mod:`progfusion.theory.render`). Its sections loop over the registry
(:mod:`.registry`): each figure's image and its own lines, then every figure's
claims with their verdicts.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import pandas as pd
from progfusion.experiments.analysis import status_counts as count_statuses
from progfusion.experiments.metrics import MIN_PAIRS
from progfusion.experiments.store import atomic_write_text
from progfusion.experiments.tables import read_results_table

from .figure import Figure, Tables
from .presets import Preset
from .readout import decide_theory
from .registry import FIGURES
from .runner import RunOptions, run_figures
from .verdicts import EmpiricalClaim
from .verdicts import __doc__ as VERDICT_RULE

__all__ = [
    "claims_of",
    "claims_table",
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


def claims_table(claims: list[EmpiricalClaim]) -> list[str]:
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


def _present(tables: Tables) -> list[tuple[Figure, dict[str, pd.DataFrame]]]:
    """Each registered figure whose tables are given, with its derived tables added."""
    found = []
    for figure in FIGURES.values():
        if figure.tables and all(t in tables for t in figure.tables[:1]):
            found.append((figure, figure.with_derived(tables)))
    return found


def claims_of(tables: Tables) -> list[EmpiricalClaim]:
    """Every claim of every figure whose tables are given, in registry order."""
    return [c for figure, given in _present(tables) for c in figure.claims(given)]


def empirical_section(tables: Tables) -> list[str]:
    """The empirical-claims section: the rule, the bands, then one row per claim."""
    rule = "\n".join(line.strip() for line in VERDICT_RULE.strip().splitlines()[2:])
    bands = "; ".join(f.bands for f, _ in _present(tables) if f.bands)
    return [
        "## Empirical claims",
        "",
        rule,
        "",
        f"Bands used: {bands}; direction claims are above 0. Figure 4 effects are accuracy "
        "differences (fractions); Figure 8 effects use -MSE as the performance, so positive "
        "means pro-fusion is more robust.",
        "",
        *claims_table(claims_of(tables)),
        "",
    ]


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


def status_counts(tables: Tables) -> str:
    """One sentence: the models behind the claims (each claiming figure's first table,
    each table once), by status."""
    behind = dict.fromkeys(f.tables[0] for f, _ in _present(tables) if f.has_claims)
    counts: dict[str, int] = {}
    for name in behind:
        for status, n in count_statuses(tables[name]).items():
            counts[status] = counts.get(status, 0) + n
    return f"Models by status: {_plain(counts)} (only `ok` models enter the statistics)."


def tables_section(tables: Tables, *, images: str = "") -> list[str]:
    """The part of a report drawn from the tables alone, as Markdown lines.

    Per figure whose tables are given, in registry order: its title, its image
    (``images``: the folder of the PNGs relative to the report, with a trailing
    slash; ``""``: beside it) and its own lines; then the empirical claims.
    """
    lines = []
    for figure, given in _present(tables):
        lines += [f"## {figure.title}", "", f"![{figure.title}]({images}{figure.image}.png)", ""]
        lines += figure.report(given)
    return lines + empirical_section(tables)


def write_report(
    preset: Preset,
    opts: RunOptions,
    *,
    echo=print,
    width: int | None = None,
    gap_out: Path | None = None,
) -> Path:
    """Run (or reuse) the figures with claims and write ``<out>/REPORT.md``.

    The figures without claims of their own (the gap study) enter it when their
    tables lie in ``gap_out`` (default ``opts.out``). Prints (through ``echo``) the
    headline verdict table, fitted to ``width`` columns (default: the terminal's, 80
    off a terminal), while a progress bar on stderr shows the theory computations.
    Tables already in ``opts.out`` are reused, and the sweeps say so.
    """
    from progfusion.theory.render import terminal_width

    claiming = [n for n, f in FIGURES.items() if f.has_claims and preset.name in f.sizes]
    timings = run_figures(claiming, preset, opts, echo=lambda _line: None)
    tables = _read_tables(opts.out, claiming)
    others = [n for n in FIGURES if n not in claiming]
    tables.update(_read_tables(opts.out if gap_out is None else gap_out, others))
    seconds = ", ".join(f"{name} {t:.1f} s" for name, t in timings.items())
    lines = [
        "# progfusion report",
        "",
        f"Preset `{preset.name}`, protocol `{opts.protocol}`, root seed {opts.seed}, device "
        f"`{opts.device}`. {status_counts(tables)} Wall time of this call per figure "
        f"(drawing only, when the tables were reused): {seconds}.",
        "",
        *tables_section(tables),
    ]
    decide_theory(quiet=opts.quiet, progress=opts.progress)
    lines += _theory_section()
    path = opts.out / "REPORT.md"
    atomic_write_text(path, "\n".join(lines) + "\n")
    for line in headline_lines(claims_of(tables), width or terminal_width()):
        echo(line)
    return path


def _read_tables(folder: Path, names: list[str]) -> dict[str, pd.DataFrame]:
    """The trained tables of the figures ``names`` found in ``folder``, read and checked."""
    found = {}
    for name in names:
        for table in FIGURES[name].tables:
            path = Path(folder) / f"{table}.csv"
            if path.is_file():
                found[table] = read_results_table(path)
    return found
