"""Rendering of the theory results: the claims table, the counts table, the errata,
the README block and the ``progfusion theory`` command.

Nothing here decides anything: the verdicts, evidence and errata come from
:mod:`.claims`, which runs the computations of the section modules. The same
:func:`run` serves ``progfusion theory [--markdown] [--write FILE] [--readme
README.md]`` and ``python -m progfusion.theory`` (same options).
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

from . import claims, counting_claims
from ._records import CORRECTED, FALSE, HOLDS, ClaimResult, Erratum
from .multiplicative import MonomialCounts

__all__ = [
    "main",
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


def _claims_text(results: Sequence[ClaimResult]) -> str:
    widths = (4, 34, 16, 11, 52)
    rule = "-+-".join("-" * w for w in widths)
    lines = _wrapped_rows(("#", "claim (paper)", "where", "verdict", "evidence (computed)"), widths)
    lines.append(rule)
    for r in results:
        where = r.location.replace("Appendix, ", "")
        lines += _wrapped_rows((r.key, f'"{r.quote}"', where, r.verdict, r.evidence), widths)
        lines.append(rule)
    return "\n".join(lines)


def render_counts_table(markdown: bool = False) -> str:
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
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    return "\n".join([fmt.format(*head)] + [fmt.format(*r) for r in rows])


_COUNTS_NOTE = (
    "Counts for n modalities of dimension D, each cell 'enumerated / products of "
    "different terms only / printed' (features: pairwise products of the inputs; "
    "pairs: pairwise products of the features; printed: early nC2 and nC2 C2, late "
    "n^D C2 and n^D C2 C2, read literally); last column: distinct quartic monomials."
)


def render_claims_table(
    markdown: bool = False, results: Sequence[ClaimResult] | None = None
) -> str:
    """The claims table with its tally and the counts table.

    Parameters
    ----------
    markdown
        Markdown (for the README, ``docs/theory_table.md`` and the report) instead of
        wrapped plain text; plain text also gives the computing time.
    results
        Decided claims; default: :func:`.claims.evaluate_claims` (every claim).
    """
    results = claims.evaluate_claims() if results is None else list(results)
    tally = {v: sum(r.verdict == v for r in results) for v in (HOLDS, CORRECTED, FALSE)}
    seconds = sum(r.seconds for r in results)
    summary = (
        f"{len(results)} claims: {tally[HOLDS]} hold, {tally[CORRECTED]} hold with a "
        f"correction, {tally[FALSE]} false as written"
        + ("." if markdown else f" (computed in {seconds:.1f} s of CPU time).")
    )
    table = _claims_markdown(results) if markdown else _claims_text(results)
    return "\n\n".join([table, summary, _COUNTS_NOTE, render_counts_table(markdown)]) + "\n"


# ------------------------------------------------------------------ errata
def _errata_text(items: Sequence[Erratum]) -> str:
    blocks = []
    for e in items:
        lines = [f"{e.key} [{e.kind}] {e.location.replace('Appendix, ', '')}"]
        fields = (("printed", e.printed), ("corrected", e.corrected), ("found by", e.found_by))
        for label, text in fields:
            wrapped = textwrap.wrap(text, 88 - 14) or [""]
            lines.append(f"  {label:<11} {wrapped[0]}")
            lines += [" " * 14 + w for w in wrapped[1:]]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_errata(markdown: bool = False, items: Sequence[Erratum] | None = None) -> str:
    """The errata: a Markdown table (one row each) or wrapped plain text, and a tally.

    ``items`` defaults to :func:`.claims.errata` (every erratum, numbered).
    """
    items = claims.errata() if items is None else list(items)
    n_math = sum(e.kind == "mathematical" for e in items)
    summary = (
        f"{len(items)} errata: {n_math} mathematical (corrected expression computed), "
        f"{len(items) - n_math} typographical (found by reading)."
    )
    if not markdown:
        return _errata_text(items) + "\n\n" + summary + "\n"
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
    "<!-- Generated by `progfusion theory --write docs/theory_table.md --readme README.md`; "
    "do not edit by hand. -->\n\n"
)


def write_table(path: str | Path, table: str | None = None) -> None:
    """Write the Markdown claims table, under a title, to ``path``."""
    table = render_claims_table(markdown=True) if table is None else table
    Path(path).write_text(_DOC_HEADER + table, encoding="utf-8")


def update_readme(path: str | Path, table: str | None = None) -> bool:
    """Write the Markdown claims table between the README's theory-table markers.

    Returns False (and leaves the file alone) when the markers are missing.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        return False
    table = render_claims_table(markdown=True) if table is None else table
    pattern = re.compile(re.escape(README_START) + r".*?" + re.escape(README_END), re.DOTALL)
    block = f"{README_START}\n{table.strip()}\n{README_END}"
    path.write_text(pattern.sub(lambda _: block, text, count=1), encoding="utf-8")
    return True


# ------------------------------------------------------------------ command line
def run(
    *, markdown: bool = False, write: str | Path | None = None, readme: str | Path | None = None
) -> int:
    """``progfusion theory``: print the table, or write it to ``write`` and ``readme``.

    Prints the plain-text table, or Markdown with ``markdown``; with ``write`` or
    ``readme`` the Markdown table is written there (and printed only with
    ``markdown``). Returns the exit code: 1 when the README has no markers.
    """
    if not (write or readme):
        sys.stdout.write(render_claims_table(markdown=markdown))
        return 0
    table = render_claims_table(markdown=True)
    if write:
        write_table(write, table)
    if readme and not update_readme(readme, table):
        print(f"no theory-table markers in {readme}", file=sys.stderr)
        return 1
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
    args = parser.parse_args(argv)
    return run(markdown=args.markdown, write=args.write, readme=args.readme)
