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
from .registry import FIGURES, with_derived
from .runner import REPORT, RunOptions, run_figures
from .verdicts import ALPHA, N_BOOT, EmpiricalClaim, Row, judge
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
    """The verdict table (Markdown), one row per statistic (:func:`~.verdicts.judge`):
    the claims it stands for, the effect, band, n, mean and 95% interval, the per-row
    verdict (marked *fragile* when float rounding could move it) and the verdict after
    Holm's correction over the family of rows; then one line naming the family."""
    rows = judge(claims)
    m = len(rows)
    lines = [
        "| figure | claim (the paper's words in quotation marks; ours labelled) | effect "
        f"measured | claimed band | n | mean [95% CI] | verdict | Holm over the {m} rows: "
        "adjusted p, verdict |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        c = row.first
        interval = f"[{_fmt(c.ci_low)}, {_fmt(c.ci_high)}]"
        if c.n < MIN_PAIRS:  # as the terminal says it: no interval from so few pairs
            interval = "(too few for an interval)"
        fragile = " (fragile)" if row.fragile else ""
        lines.append(
            f"| {c.figure} | {_cell(_claims_text(row))} | {_cell(_effect_text(row))} | "
            f"{_band(c.band)} | {c.n} | {_fmt(c.mean)} {interval} | **{row.verdict}**{fragile} | "
            f"{_p(row.p_holm)}: **{row.corrected}** |"
        )
    return [*lines, "", _family_note(rows)]


def _family_note(rows: list[Row]) -> str:
    merged = sum(len(r.claims) for r in rows) - len(rows)
    fragile = sum(r.fragile for r in rows)
    return (
        f"Family: the {len(rows)} rows above ({merged} readings merged into rows that compute "
        "the same statistic); Holm's step-down over their bootstrap p-values, family-wise "
        f"error {ALPHA:g}. *Fragile*: an end of the interval within float-rounding distance "
        f"of the band's edge ({fragile} of {len(rows)} rows). The rule, the p-values and the "
        "rounding distances are stated with the claims in the report."
    )


def _claims_text(row: Row) -> str:
    """The claims a row stands for: one, or several numbered ``(1) ...; (2) ...``."""
    texts = list(dict.fromkeys(c.text for c in row.claims))
    if len(texts) == 1:
        return texts[0]
    return "; ".join(f"({i}) {t}" for i, t in enumerate(texts, 1))


def _effect_text(row: Row) -> str:
    """The effect of a row, or of each reading it merges (tagged with its claim's
    number), and the row's caveats."""
    texts = list(dict.fromkeys(c.text for c in row.claims))
    effects = list(dict.fromkeys(
        c.effect + (f" [claim {texts.index(c.text) + 1}]" if len(texts) > 1 else "")
        for c in row.claims
    ))  # fmt: skip
    text = effects[0]
    if len(effects) > 1:
        text = f"one statistic, read {len(effects)} ways (the same values): " + "; ".join(effects)
    notes = list(dict.fromkeys(c.note for c in row.claims if c.note))
    return "; ".join([text, *(f"**{n}**" for n in notes)])


def _cell(text: str) -> str:
    """Text for a Markdown table cell: a ``|`` (as in ``|pro - late|``) escaped."""
    return text.replace("|", "\\|")


def _p(p: float) -> str:
    """An adjusted p-value: ``0.0012``, or ``< 0.0002`` below the bootstrap's resolution."""
    if p == 0:
        return f"p < {2 / N_BOOT:g}"
    return f"p = {p:.2g}"


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
    """The verdict table for the terminal, within ``width`` columns: per row (claims of
    one statistic merged), its figure, verdict (marked when fragile) and Holm-corrected
    verdict, then mean [95% CI] and n, then the claim (shortened to one line, with how
    many more it stands for; REPORT.md has them whole); last, the family and rule."""
    rows = judge(claims)
    labels = [r.verdict + (" (fragile)" if r.fragile else "") for r in rows]
    verdict_w = max(len(label) for label in labels)
    lines = [f"{'fig':<4}{'verdict':<{verdict_w}}  Holm  /  mean [95% CI], n  /  claim"]
    for row, label in zip(rows, labels, strict=True):
        c = row.first
        est = f"{_fmt(c.mean)} [{_fmt(c.ci_low)}, {_fmt(c.ci_high)}], n = {c.n}"
        if c.n < MIN_PAIRS:
            est = f"{_fmt(c.mean)}, n = {c.n} (too few for an interval)"
        more = len(dict.fromkeys(x.effect for x in row.claims)) - 1
        capped = "; capped" if any(x.note for x in row.claims) else ""
        suffix = f" (+{more} reading{'s' * (more > 1)})" if more else ""
        text = _shorten(c.text, max(12, width - 4 - len(suffix))) + suffix
        lines += [
            f"{c.figure:<4}{label:<{verdict_w}}  Holm: {row.corrected}{capped}"[:width],
            f"    {est}"[:width],
            f"    {text}",
        ]
    note = (
        f"{len(rows)} rows tested at once ({len(claims)} claims and readings, those that "
        "compute the same statistic merged), each on its own 95% interval and corrected "
        f"by Holm's step-down over the {len(rows)} rows; intervals pooled over a grid hold "
        "for that fixed grid only. The verdict rule and the whole claims are in REPORT.md."
    )
    return lines + textwrap.wrap(note, width)


def _shorten(text: str, room: int) -> str:
    """``text`` within ``room`` characters, cut with ``...`` (a quotation kept closed)."""
    if len(text) <= room:
        return text
    end = '..."' if text.endswith('"') else "..."
    return text[: room - len(end)].rstrip() + end


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
    tables = with_derived(tables)  # once, for every section below
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
    path = opts.out / REPORT
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
