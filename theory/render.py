"""Rendering of the theory results: the claims table, the counts table, the errata,
the README block and the ``progfusion theory`` command.

Nothing here decides anything: the verdicts, evidence and errata come from
:mod:`.claims`, which runs the computations of the section modules. The same
:func:`run` serves ``progfusion theory [--markdown] [--write FILE] [--readme
README.md]`` and ``python -m progfusion.theory`` (same options).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from . import claims, counting_claims
from ._records import CORRECTED, FALSE, HOLDS, ClaimResult, Erratum
from .blocks import missing_markers, replace_blocks
from .multiplicative import MonomialCounts

__all__ = [
    "main",
    "update_theory_sections",
    "terminal_width",
    "render_claims_table",
    "render_counts_table",
    "render_errata",
    "run",
    "update_readme",
    "write_table",
]

#: The markers around the claims table in the README.
README_START = "<!-- theory-table:start -->"
README_END = "<!-- theory-table:end -->"
#: The errata's markers in a report (``docs/paper-report.md``).
ERRATA_START, ERRATA_END = "<!-- errata:start -->", "<!-- errata:end -->"


def terminal_width(default: int = 80) -> int:
    """Columns of the terminal on stdout: ``$COLUMNS`` if set, else the terminal's
    width, else (output to a file or a pipe) ``default``."""
    if os.environ.get("COLUMNS", "").isdigit():
        return int(os.environ["COLUMNS"])
    if not sys.stdout.isatty():
        return default
    return shutil.get_terminal_size((default, 24)).columns


def _wrap(text: str, width: int, indent: str = "") -> str:
    """``text`` wrapped to ``width`` columns, continuation lines indented."""
    return "\n".join(textwrap.wrap(text, width, subsequent_indent=indent)) or text


def _md(text: str) -> str:
    """A Markdown table cell: pipes escaped, one line."""
    return text.replace("|", "\\|").replace("\n", " ")


def _wrapped_rows(cells: Sequence[str], widths: Sequence[int]) -> list[str]:
    """One table row as text lines, each cell wrapped to its column width."""
    wrapped = [textwrap.wrap(c, w) or [""] for c, w in zip(cells, widths, strict=True)]
    height = max(len(w) for w in wrapped)
    return [
        " | ".join(
            (w[i] if i < len(w) else "").ljust(width)
            for w, width in zip(wrapped, widths, strict=True)
        ).rstrip()
        for i in range(height)
    ]


# ------------------------------------------------------------------ claims
def _claims_markdown(results: Sequence[ClaimResult]) -> str:
    lines = [
        "| # | Claim (quoted) | Where | Verdict | Evidence (computed) | Decided by |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f'| {r.key} | "{_md(r.quote)}" | {_md(r.location)} | **{r.verdict}** | '
            f"{_md(r.evidence)} | `{_md(r.computation)}` |"
        )
    return "\n".join(lines)


def _claims_text(results: Sequence[ClaimResult], width: int) -> str:
    """One block per claim, wrapped to ``width`` columns: key, verdict and place on the
    first line, then the quoted claim and the computed evidence, indented."""
    indent = " " * 4
    blocks = []
    for r in results:
        head = f"{r.key:<4}[{r.verdict}]  {r.location.replace('Appendix, ', '')}"
        blocks.append(
            "\n".join(
                [
                    _wrap(head, width, indent),
                    _wrap(f'{indent}claim: "{r.quote}"', width, indent + "  "),
                    _wrap(f"{indent}evidence: {r.evidence}", width, indent + "  "),
                ]
            )
        )
    return "\n\n".join(blocks)


def render_counts_table(markdown: bool = False, width: int | None = None) -> str:
    """Exact feature and monomial counts beside the paper's printed ones.

    Cells read "enumerated / distinct-only / printed": features are pairwise
    products of the inputs (squares included / products of different inputs only /
    the printed formula read literally); pairs are pairwise products of those
    features. Quartic: distinct degree-4 monomials each design can produce.
    """
    head = (
        "n",
        "D",
        "early features",
        "late features",
        "early pairs",
        "late pairs",
        "quartic early / late / pro (bias)",
    )

    def cell(c: MonomialCounts, printed: dict[str, int], name: str) -> str:
        return f"{getattr(c, name)} / {getattr(c, name + '_distinct')} / {printed[name]}"

    names = [f"{d}_{kind}" for kind in ("features", "pairs") for d in ("early", "late")]
    rows = [
        (
            str(c.n),
            str(c.D),
            *(cell(c, printed, name) for name in names),
            f"{c.early_quartic} / {c.late_quartic} / {c.pro_quartic_bias}",
        )
        for c, printed in counting_claims.count_table()
    ]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    text_head = (*head[:-1], "quartic e/l/p")  # the full name is in the note above
    return _fit_columns(text_head, rows, width or terminal_width(), keys=2)


def _fit_columns(head: Sequence[str], rows: Sequence[Sequence[str]], width: int, keys: int) -> str:
    """A right-aligned text table; when wider than ``width``, its columns are split
    into several tables, each repeating the first ``keys`` columns."""
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    groups: list[list[int]] = [list(range(keys))]
    for i in range(keys, len(head)):
        used = sum(widths[j] + 2 for j in groups[-1])
        if len(groups[-1]) > keys and used + widths[i] > width:
            groups.append(list(range(keys)))
        groups[-1].append(i)
    tables = []
    for cols in groups:
        fmt = "  ".join(f"{{:>{widths[j]}}}" for j in cols)
        lines = [fmt.format(*(head[j] for j in cols))]
        lines += [fmt.format(*(r[j] for j in cols)) for r in rows]
        tables.append("\n".join(lines))
    return "\n\n".join(tables)


_COUNTS_NOTE = (
    "Counts for n modalities of dimension D, each cell 'enumerated / products of "
    "different terms only / printed' (features: pairwise products of the inputs; "
    "pairs: pairwise products of the features; printed: early nC2 and nC2 C2, late "
    "n^D C2 and n^D C2 C2, read literally); last column: distinct quartic monomials."
)


def render_claims_table(
    markdown: bool = False,
    results: Sequence[ClaimResult] | None = None,
    width: int | None = None,
) -> str:
    """The claims table with its tally and the counts table.

    Parameters
    ----------
    markdown
        Markdown (for the README, ``docs/theory_table.md`` and the report) instead of
        plain text; plain text also gives the computing time.
    results
        Decided claims; default: :func:`.claims.evaluate_claims` (every claim).
    width
        Plain text only: the columns to fit (default :func:`terminal_width`; 80 when
        stdout is not a terminal). Markdown lines are never wrapped.
    """
    width = width or terminal_width()
    results = claims.evaluate_claims() if results is None else list(results)
    tally = {v: sum(r.verdict == v for r in results) for v in (HOLDS, CORRECTED, FALSE)}
    seconds = sum(r.seconds for r in results)
    summary = (
        f"{len(results)} claims: {tally[HOLDS]} hold, {tally[CORRECTED]} hold with a "
        f"correction, {tally[FALSE]} false as written"
        + ("." if markdown else f" (computed in {seconds:.1f} s of CPU time).")
    )
    if markdown:
        parts = [_claims_markdown(results), summary, _COUNTS_NOTE, render_counts_table(True)]
    else:
        parts = [
            _claims_text(results, width),
            _wrap(summary, width),
            _wrap(_COUNTS_NOTE, width),
            render_counts_table(False, width),
        ]
    return "\n\n".join(parts) + "\n"


# ------------------------------------------------------------------ errata
def _errata_text(items: Sequence[Erratum], width: int) -> str:
    blocks = []
    for e in items:
        lines = [_wrap(f"{e.key} [{e.kind}] {e.location.replace('Appendix, ', '')}", width, "  ")]
        fields = (("printed", e.printed), ("corrected", e.corrected), ("found by", e.found_by))
        for label, text in fields:
            wrapped = textwrap.wrap(text, max(20, width - 14)) or [""]
            lines.append(f"  {label:<11} {wrapped[0]}")
            lines += [" " * 14 + w for w in wrapped[1:]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_errata(
    markdown: bool = False, items: Sequence[Erratum] | None = None, width: int | None = None
) -> str:
    """The errata: a Markdown table (one row each) or plain text wrapped to ``width``
    (default :func:`terminal_width`), and a tally.

    ``items`` defaults to :func:`.claims.errata` (every erratum, numbered).
    """
    items = claims.errata() if items is None else list(items)
    n_math = sum(e.kind == "mathematical" for e in items)
    summary = (
        f"{len(items)} errata: {n_math} mathematical (corrected expression computed), "
        f"{len(items) - n_math} typographical (found by reading)."
    )
    if not markdown:
        width = width or terminal_width()
        return _errata_text(items, width) + "\n\n" + _wrap(summary, width) + "\n"
    lines = ["| # | Where | Printed | Corrected | Kind | Found by |", "|---|---|---|---|---|---|"]
    lines += [
        f"| {e.key} | {_md(e.location)} | {_md(e.printed)} | {_md(e.corrected)} | "
        f"{e.kind} | {_md(e.found_by)} |"
        for e in items
    ]
    return "\n".join(lines) + "\n\n" + summary + "\n"


# ------------------------------------------------------------------ files
_DOC_HEADER = (
    "# The paper's appendix claims, decided by computation\n\n"
    "<!-- Generated by `progfusion theory --write docs/theory_table.md`; "
    "do not edit by hand. -->\n\n"
)


def write_table(path: str | Path, table: str | None = None) -> None:
    """Write the Markdown claims table, under a title, to ``path``."""
    table = render_claims_table(markdown=True) if table is None else table
    Path(path).write_text(_DOC_HEADER + table, encoding="utf-8")


def _replace_blocks(path: str | Path, blocks: dict[tuple[str, str], str]) -> bool:
    """Replace the text between each ``(start, end)`` marker pair of the file at ``path``
    with its body; False (the file left alone) when a marker is missing."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    markers = {str(i): pair for i, pair in enumerate(blocks)}
    if missing_markers(text, markers):
        return False
    bodies = {str(i): body for i, body in enumerate(blocks.values())}
    path.write_text(replace_blocks(text, bodies, markers), encoding="utf-8")
    return True


def update_readme(path: str | Path, table: str | None = None) -> bool:
    """Write the Markdown claims table between the README's theory-table markers.

    Returns False (and leaves the file alone) when the markers are missing.
    """
    table = render_claims_table(markdown=True) if table is None else table
    return _replace_blocks(path, {(README_START, README_END): table})


def update_theory_sections(path: str | Path, table: str | None = None) -> bool:
    """Write the Markdown claims table (with its tally and counts) and the errata between
    the theory-table and errata markers of a report (``docs/paper-report.md``).

    Returns False (and leaves the file alone) when a marker is missing.
    """
    table = render_claims_table(markdown=True) if table is None else table
    blocks = {(README_START, README_END): table, (ERRATA_START, ERRATA_END): render_errata(True)}
    return _replace_blocks(path, blocks)


# ------------------------------------------------------------------ command line
def run(
    *,
    markdown: bool = False,
    write: str | Path | None = None,
    readme: str | Path | None = None,
    paper_report: str | Path | None = None,
) -> int:
    """``progfusion theory``: print the table, or write it to ``write``, ``readme`` and
    ``paper_report``.

    Prints the plain-text table, fitted to the terminal's width (:func:`terminal_width`:
    80 columns when stdout is not a terminal), or the full Markdown table with
    ``markdown`` (one line per claim, for files and renderers); with ``write``,
    ``readme`` or ``paper_report`` the Markdown table is written there (the paper
    report also gets the errata; :func:`update_theory_sections`), and printed only
    with ``markdown``. Returns the exit code: 2 (bad input, one line on stderr) when a
    document lacks its markers.
    """
    if not (write or readme or paper_report):
        sys.stdout.write(render_claims_table(markdown=markdown))
        return 0
    table = render_claims_table(markdown=True)
    if write:
        write_table(write, table)
    if readme and not update_readme(readme, table):
        print(f"--readme: no theory-table markers in {readme}", file=sys.stderr)
        return 2
    if paper_report and not update_theory_sections(paper_report, table):
        print(
            f"--paper-report: no theory-table or errata markers in {paper_report}", file=sys.stderr
        )
        return 2
    if markdown:
        sys.stdout.write(table)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m progfusion.theory``: the options of ``progfusion theory``."""
    parser = argparse.ArgumentParser(
        prog="python -m progfusion.theory", description="the same as `progfusion theory`"
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--write", type=Path, metavar="FILE", help="write the Markdown table")
    parser.add_argument("--readme", type=Path, metavar="README", help="refresh its table")
    parser.add_argument(
        "--paper-report", type=Path, metavar="FILE", help="refresh its table and errata"
    )
    args = parser.parse_args(argv)
    return run(
        markdown=args.markdown, write=args.write, readme=args.readme, paper_report=args.paper_report
    )
