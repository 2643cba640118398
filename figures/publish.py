"""Published numbers and images, regenerated from committed result tables (issue 12, item 7).

``progfusion report --publish DIR`` copies a run's tables into ``DIR`` (normally
``docs/results``) as ``<table>.csv.gz`` with its ``run.json`` (its commands' folders
by name alone, :func:`.paper_report.portable_run`). Then, and whenever ``--readme``
or ``--paper-report`` is given, :func:`refresh` works from the published tables
alone (no training): it draws the images into the same folder (``figure4.png``,
``figure7.png``, ``figure8.png``, and ``gap.png`` when gap tables are published;
:func:`.redraw.draw_tables`), so an image can never disagree with the tables beside
it, and rewrites the generated blocks: the README's headline block (between
``<!-- report-headline:start -->`` and ``<!-- report-headline:end -->``: what the
published figures measured, beside the paper, whether pro-fusion's gain survives
equal tuning, the matched controls and the mechanism test (:mod:`.gap_headline`),
and where the paper's numbers come from) and the paper report's
(:mod:`.paper_report`: every number, the verdicts, the images and how the tables
were made). :func:`check_readme` names the README block
when it differs from what the tables give, so a hand edit of a number fails a test.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from progfusion.experiments.tables import read_results_table
from progfusion.theory.blocks import check_file, require_markers, rewrite_file

from .gap_headline import paragraph
from .paper_report import MARKERS, load_runs, portable_run, update_paper_report
from .redraw import draw_tables
from .registry import FIGURES, with_derived

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
#: The README's generated block: name -> (start marker, end marker).
BLOCKS = {"headline": ("<!-- report-headline:start -->", "<!-- report-headline:end -->")}


def _published(apart: bool) -> list[str]:
    """The tables published of the figures with claims (``apart=False``) or of the others,
    trained apart (the gap study): what each trains and the derived tables it publishes."""
    return [t for f in FIGURES.values() if f.has_claims != apart for t in (*f.tables, *f.published)]


def publish(out: Path, results: Path, *, gap_out: Path | None = None) -> list[Path]:
    """Copy the tables of a run in ``out`` (and its ``run.json``) into ``results``, gzipped.

    ``gap_out``: the folder of the figures without claims (the gap study) when they
    were trained apart (another preset, e.g. ``cpu``, is another configuration, so
    another ``--out``); its ``run.json`` is published as ``gap-run.json``. Default:
    ``out``. The published ``run.json`` names each command's ``--out`` and ``--gap-out``
    folders by their names alone (:func:`.paper_report.portable_run`).
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
            record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
            record["runs"] = [portable_run(run) for run in record.get("runs", [])]
            target = results / name
            target.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
            written.append(target)
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


def render_blocks(tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """The text of the README's block (without markers), from the tables alone: each
    published figure's rows of what it measured beside the paper, the paragraph on
    whether pro-fusion's gain survives tuning, the controls and the mechanism test
    (:func:`.gap_headline.paragraph`), and the gap study's sentence on where the
    paper's numbers come from."""
    tables = with_derived(tables)  # each derived table once (nothing when already given)
    present = [f for f in FIGURES.values() if f.tables[0] in tables]
    rows = [line for f in present for line in f.readme(tables)]
    survives = paragraph(tables)
    headline = [
        f"Measured on the published run (the tables in `{RESULTS_DIR}/`), beside the paper:",
        "",
        "| | paper | measured (95% CI, paired trials) |",
        "| --- | --- | --- |",
        *(r for r in rows if r.startswith("|")),
    ]
    if survives:
        headline += ["", survives]
    for text in (r for r in rows if not r.startswith("|")):
        headline += ["", text]
    headline += [
        "",
        "Every number of the run, each claim of the paper with its verdict, and the "
        "commands that made the tables: [docs/paper-report.md](docs/paper-report.md).",
    ]
    return {"headline": "\n".join(headline)}


def update_readme(path: Path, tables: dict[str, pd.DataFrame]) -> None:
    """Rewrite the README's block at ``path`` (ValueError when a marker is missing)."""
    rewrite_file(path, render_blocks(tables), BLOCKS, "readme")


def check_readme(path: Path, tables: dict[str, pd.DataFrame]) -> list[str]:
    """``["headline"]`` when the README's block differs from what the tables give (or
    lacks its markers), else ``[]``."""
    return check_file(path, render_blocks(tables), BLOCKS)


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
    tables = with_derived(load_tables(results))  # derived once for the images and documents
    images = draw_tables(tables, results)
    lines = [f"drew {', '.join(p.name for p in images)} into {results} from its tables"]
    if readme is not None:
        update_readme(readme, tables)
        lines.append(f"rewrote the headline block of {readme} from {results}")
    if paper_report is not None:
        update_paper_report(paper_report, tables, results)
        lines.append(f"rewrote the generated block of {paper_report} from {results}")
    return lines
