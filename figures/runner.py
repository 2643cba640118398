"""Run figures end to end: train each table once, derive, draw, summarise, record.

:func:`run_figures` works for any figures of the registry (:mod:`.registry`): it
trains every table they need once (Figure 8 reads Figure 7's), computes their
derived tables, draws each image, writes what else each figure writes, prints each
summary and records the command in ``run.json``. Before anything is trained, the
folder is claimed for the run's configuration (:mod:`progfusion.experiments.folder`).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments.analysis import status_counts
from progfusion.experiments.executors import Executors, open_executors
from progfusion.experiments.folder import prepare_folder
from progfusion.experiments.record import finish_record, start_record, versions
from progfusion.experiments.run import train_study
from progfusion.experiments.seeds import ROOT_SEED
from progfusion.experiments.store import atomic_write_text

from .figure import Figure, Tables
from .images import IMAGE_FORMATS, save_image
from .presets import Preset
from .registry import FIGURES

__all__ = ["RunOptions", "figure_outputs", "run_figures", "write_figure"]


@dataclass(frozen=True)
class RunOptions:
    """How to run: everything except the experiment sizes (the preset)."""

    out: Path
    protocol: str = "early-stopping"
    seed: int = ROOT_SEED
    device: str = "cpu"
    workers: int = 1
    scheduler: str | None = None
    chunk: int = 128
    compile: str | None = None  # a torch.compile mode for the training step; None: eager
    quiet: bool = False
    force: bool = False  # discard results of another configuration in ``out``
    command: tuple[str, ...] = ()  # the command line's arguments, for run.json (default: sys.argv)
    progress: bool | None = None  # progress bars: None on a terminal only; quiet: none


def _configuration(preset: Preset, opts: RunOptions) -> dict[str, object]:
    """What every figure table in ``opts.out`` must share (see ``experiments.folder``)."""
    return {
        "root_seed": opts.seed,
        "preset": preset.name,
        "protocol": opts.protocol,
        "progfusion": versions()["progfusion"],
    }


#: The report's file, written beside the tables by ``progfusion report`` (:mod:`.report`).
REPORT = "REPORT.md"


def figure_outputs(figures: Sequence[Figure] | None = None) -> list[str]:
    """The files the figures write beside their tables (derived tables, images and what
    each writes besides), and the report."""
    figures = list(FIGURES.values()) if figures is None else figures
    names = [f"{t}.csv" for f in figures for t in f.derived]
    names += [f"{f.image}.{ext}" for f in figures for ext in IMAGE_FORMATS]
    return [*names, *(name for f in figures for name in f.written), REPORT]


def run_figures(
    names: Sequence[str],
    preset: Preset,
    opts: RunOptions,
    echo: Callable[[str], None] = print,
    *,
    studies: dict | None = None,
) -> dict[str, float]:
    """Regenerate the figures ``names`` (registry names) into ``opts.out``; return the
    wall seconds per figure (by its image name).

    ``studies``: the run's studies by table, when the caller built them already
    (:meth:`~.presets.Preset.studies`, which checks the sizes). Before anything is
    trained, ``opts.out`` is claimed for this configuration (a ``FolderError`` if it
    holds another, unless ``opts.force``), and this command gets its entry in
    ``run.json``. With ``opts.scheduler``, one Dask client serves every table.
    """
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise ValueError(f"figures must be among {', '.join(FIGURES)}, got {unknown[0]!r}")
    figures = [FIGURES[n] for n in names]
    if studies is None:
        studies = preset.studies(seed=opts.seed, protocol=opts.protocol, figures=names)
    with open_executors(opts.workers, opts.scheduler) as executors:  # a local pool starts lazily
        prepare_folder(opts.out, _configuration(preset, opts), force=opts.force,
                       also=figure_outputs())  # fmt: skip
        entry = start_record(
            opts.out, command=opts.command or sys.argv[1:], device=opts.device,
            root_seed=opts.seed, preset=preset.as_dict(studies),
            options={k: v for k, v in asdict(opts).items() if k != "command"},
        )  # fmt: skip
        return _run(figures, studies, opts, echo, executors, entry)


def _run(figures, studies, opts, echo, executors, entry) -> dict[str, float]:
    timings: dict[str, float] = {}
    tables: dict[str, pd.DataFrame] = {}
    for figure in figures:
        start = time.perf_counter()
        for table in figure.tables:
            if table not in tables:
                tables[table] = _train(table, studies[table], opts, executors)
        write_figure(figure, tables, opts.out, echo)
        timings[figure.image] = time.perf_counter() - start
        finish_record(opts.out, entry, timings)
    for figure in _refreshed(figures, tables, opts.out):  # stale outputs of another figure
        write_figure(figure, tables, opts.out, echo=None)
    return {k: round(v, 2) for k, v in timings.items()}


def _train(table: str, study, opts: RunOptions, executors: Executors) -> pd.DataFrame:
    """Train every model of one table (resuming in ``opts.out``) and return the table."""
    return train_study(
        study, opts.out, table=table, device=opts.device, chunk=opts.chunk,
        compile=opts.compile, progress=False if opts.quiet else opts.progress,
        executors=executors,
    )  # fmt: skip


def _refreshed(done: Sequence[Figure], tables: Tables, out: Path) -> list[Figure]:
    """Figures not run whose tables were all trained now and whose derived tables lie
    in ``out``: they were drawn from an older state of those tables (Figure 8 after
    ``figure 7``), so they are derived and drawn again."""
    return [
        f
        for f in FIGURES.values()
        if f not in done
        and f.derived
        and all(t in tables for t in f.tables)
        and any((Path(out) / f"{d}.csv").is_file() for d in f.derived)
    ]


def write_figure(
    figure: Figure, tables: Tables, out: Path, echo: Callable[[str], None] | None = print
) -> Tables:
    """Derive ``figure``'s tables (written as ``<name>.csv``), draw and save its image,
    write its other files, and print its summary with the models left out (``echo``;
    None: print nothing). Returns the tables with the derived ones."""
    tables = figure.with_derived(tables)
    for name in (n for n in figure.derived if n in tables):
        atomic_write_text(Path(out) / f"{name}.csv", tables[name].to_csv(index=False))
    fig = figure.draw(tables)
    try:
        save_image(fig, Path(out), figure.image)
    finally:
        plt.close(fig)
    figure.write(tables, Path(out))
    if echo is not None:
        for line in figure.summary(tables):
            echo(line)
        left_out = _left_out([tables[t] for t in figure.tables if t in tables])
        if left_out:
            echo(f"  left out of every mean: {left_out}")
    return tables


def _left_out(tables: Sequence[pd.DataFrame]) -> dict[str, int]:
    """Models not ``ok`` in ``tables``, by status (diverged, failed)."""
    counts: dict[str, int] = {}
    for table in tables:
        for status, n in status_counts(table).items():
            if status != "ok":
                counts[status] = counts.get(status, 0) + n
    return counts
