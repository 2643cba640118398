"""Published numbers and images, regenerated from committed result tables (issue 12, item 7).

``progfusion report --publish DIR`` copies a run's tables into ``DIR`` (normally
``docs/results``) as ``<table>.csv.gz`` with its ``run.json``. Then, and whenever
``--readme`` or ``--paper-report`` is given, :func:`refresh` works from the
published tables alone (no training): it draws the images into the same folder
(``figure4.png``, ``figure7.png``, ``figure8.png``, and ``gap.png`` when gap
tables are published; :func:`.redraw.draw_tables`), so an image can never disagree
with the tables beside it, and rewrites the generated blocks: the README's
figures block (between ``<!-- figures:start -->`` and ``<!-- figures:end -->``:
what the figures show, beside the paper) and headline block (``report-headline``
markers: the empirical claims with their verdicts), and the paper report's
(:mod:`.paper_report`). :func:`check_readme` names every README block that differs
from what the tables give, so a hand edit of a number fails a test.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from progfusion.experiments.tables import read_results_table
from progfusion.theory.blocks import check_file, require_markers, rewrite_file

from .paper_report import MARKERS, update_paper_report
from .redraw import draw_tables
from .registry import FIGURES
from .report import claims_of, claims_table

__all__ = [
    "BLOCKS",
    "RESULTS_DIR",
    "check_readme",
    "load_runs",
    "load_tables",
    "publish",
    "refresh",
    "render_blocks",
    "require_documents",
    "update_readme",
]

#: Where the published tables live, relative to the repository root.
RESULTS_DIR = Path("docs/results")
#: The README's generated blocks: name -> (start marker, end marker).
BLOCKS = {
    "figures": ("<!-- figures:start -->", "<!-- figures:end -->"),
    "headline": ("<!-- report-headline:start -->", "<!-- report-headline:end -->"),
}


def _published(apart: bool) -> list[str]:
    """The tables published of the figures with claims (``apart=False``) or of the others,
    trained apart (the gap study): what each trains and the derived tables it publishes."""
    return [t for f in FIGURES.values() if f.has_claims != apart for t in (*f.tables, *f.published)]


def publish(out: Path, results: Path, *, gap_out: Path | None = None) -> list[Path]:
    """Copy the tables of a run in ``out`` (and its ``run.json``) into ``results``, gzipped.

    ``gap_out``: the folder of the figures without claims (the gap study) when they
    were trained apart (another preset, e.g. ``cpu``, is another configuration, so
    another ``--out``); its ``run.json`` is published as ``gap-run.json``. Default:
    ``out``.
    """
    results.mkdir(parents=True, exist_ok=True)
    gap_out = out if gap_out is None else gap_out
    sources = [(out, n) for n in dict.fromkeys(_published(False))]
    sources += [(gap_out, n) for n in dict.fromkeys(_published(True)) if n not in _published(False)]
    written = []
    for folder, name in sources:
        source = folder / f"{name}.csv"
        if source.is_file():
            target = results / f"{name}.csv.gz"
            read_results_table(source).to_csv(
                target, index=False, compression={"method": "gzip", "mtime": 0}
            )
            written.append(target)
    records = [(out, "run.json")] + ([(gap_out, "gap-run.json")] if gap_out != out else [])
    for folder, name in records:
        if (folder / "run.json").is_file():
            written.append(Path(shutil.copy(folder / "run.json", results / name)))
    if not written:
        raise ValueError(f"out: no results table in {out} (run progfusion figures first)")
    return written


def load_tables(results: Path) -> dict[str, pd.DataFrame]:
    """Every published table in ``results``, by name, read and checked (a ValueError when
    a figure with claims lacks its table)."""
    names = dict.fromkeys([*_published(False), *_published(True)])
    tables = {
        name: read_results_table(results / f"{name}.csv.gz")
        for name in names
        if (results / f"{name}.csv.gz").is_file()
    }
    needed = dict.fromkeys(f.tables[0] for f in FIGURES.values() if f.has_claims)
    missing = [n for n in needed if n not in tables]
    if missing:
        raise ValueError(f"results: {results} has no {', '.join(missing)} table (.csv.gz)")
    return tables


def load_runs(results: Path) -> list[dict]:
    """The commands that made the published tables: every ``runs`` entry of
    ``results/run.json`` and then of ``gap-run.json`` (empty when neither is there)."""
    runs = []
    for name in ("run.json", "gap-run.json"):
        path = Path(results) / name
        if path.is_file():
            runs += json.loads(path.read_text(encoding="utf-8")).get("runs", [])
    return runs


def _provenance(runs: Sequence[dict]) -> list[str]:
    """One line per command that wrote into the published folders: where, how long."""
    lines = []
    for run in runs:
        walls = run.get("wall_seconds") or {}
        took = ", ".join(f"{name} {seconds / 60:.1f} min" for name, seconds in walls.items())
        torch_version = run.get("versions", {}).get("torch", "?")
        where = f"{run.get('device', '?')}, {run.get('device_name', '?')}, torch {torch_version}"
        lines.append(
            f"- `{run.get('command', '?')}` ({where}, started {run.get('started', '?')}): "
            f"{took or 'stopped before a figure finished (its finished stacks were kept)'}"
        )
    return lines


def render_blocks(tables: dict[str, pd.DataFrame], runs: Sequence[dict] = ()) -> dict[str, str]:
    """The text of each README block (without markers), from the tables alone, and the
    commands that made them (``runs``, :func:`load_runs`) when given."""
    counts = ", ".join(f"{name} {len(t):,.0f}" for name, t in tables.items())
    present = [(f, f.with_derived(tables)) for f in FIGURES.values() if f.tables[0] in tables]
    rows = [line for f, given in present for line in f.readme(given)]
    figures = [
        "### The published run",
        "",
        *(line for f, _ in present for line in (f"![{f.title}]({RESULTS_DIR}/{f.image}.png)", "")),
        f"Generated by `progfusion report --readme README.md` from the tables in "
        f"`{RESULTS_DIR}/`, and drawn from them beside them (models per table: {counts}). "
        "What they show, beside the paper (95% intervals over paired trials; every number "
        "of the run, with the verdict rule, in [docs/paper-report.md](docs/paper-report.md)):",
        "",
        "| | paper | measured (95% CI, paired trials) |",
        "| --- | --- | --- |",
        *(r for r in rows if r.startswith("|")),
    ]
    if runs:
        figures += ["", "The commands that wrote the tables (wall time per figure):", ""]
        figures += _provenance(runs)
    for paragraph in (r for r in rows if not r.startswith("|")):
        figures += ["", paragraph]
    headline = [
        "The report's headline table, from the published tables (the verdict rule is in the "
        "report: *reproduced* if the whole 95% interval lies inside the claimed band, *not "
        "reproduced* if it lies wholly outside, *inconclusive* otherwise):",
        "",
        *claims_table(claims_of(tables)),
    ]
    return {"figures": "\n".join(figures), "headline": "\n".join(headline)}


def update_readme(path: Path, tables: dict[str, pd.DataFrame], runs: Sequence[dict] = ()) -> None:
    """Rewrite both blocks of the README at ``path`` (ValueError when a marker is missing)."""
    rewrite_file(path, render_blocks(tables, runs), BLOCKS, "readme")


def check_readme(
    path: Path, tables: dict[str, pd.DataFrame], runs: Sequence[dict] = ()
) -> list[str]:
    """Names of the README's blocks that differ from what the tables give (or lack markers)."""
    return check_file(path, render_blocks(tables, runs), BLOCKS)


def require_documents(readme: Path | None, paper_report: Path | None) -> None:
    """A ValueError (naming the option) unless each document given exists with its markers."""
    if readme is not None:
        require_markers(readme, BLOCKS, "readme")
    if paper_report is not None:
        require_markers(paper_report, MARKERS, "paper_report")


def refresh(
    results: Path, *, readme: Path | None = None, paper_report: Path | None = None
) -> list[str]:
    """Draw the images in ``results`` from its tables, then rewrite the blocks of ``readme``
    and ``paper_report`` (each when given) from them; returns one line per file done.

    A ValueError, before anything is written, when ``results`` lacks a table or a
    document lacks its markers.
    """
    results = Path(results)
    require_documents(readme, paper_report)
    tables = load_tables(results)
    images = draw_tables(tables, results)
    lines = [f"drew {', '.join(p.name for p in images)} into {results} from its tables"]
    if readme is not None:
        update_readme(readme, tables, load_runs(results))
        lines.append(f"rewrote the figures and headline blocks of {readme} from {results}")
    if paper_report is not None:
        update_paper_report(paper_report, tables, results)
        lines.append(f"rewrote the generated block of {paper_report} from {results}")
    return lines
