"""Run the figure experiments end to end: sweep, table, plot, summary, run record."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments import Study, load_study, run_study
from progfusion.experiments.analysis import design_comparison
from progfusion.experiments.columns import metric_of
from progfusion.experiments.executors import Executors, open_executors
from progfusion.experiments.folder import prepare_folder, update_run
from progfusion.experiments.record import start_record, versions
from progfusion.experiments.run import train_study
from progfusion.experiments.store import atomic_write_text

from . import fig4, fig7_8
from .presets import Preset

__all__ = ["RunOptions", "comparison_lines", "run_figures", "run_study_file", "FIGURES"]

FIGURES = ("4", "7", "8")


@dataclass(frozen=True)
class RunOptions:
    """How to run: everything except the experiment sizes (the preset)."""

    out: Path
    protocol: str = "early-stopping"
    seed: int = 0
    device: str = "cpu"
    workers: int = 1
    scheduler: str | None = None
    chunk: int = 128
    compile: str | None = None  # a torch.compile mode for the training step; None: eager
    quiet: bool = False
    force: bool = False  # discard results of another configuration in ``out``
    command: tuple[str, ...] = ()  # the command line's arguments, for run.json (default: sys.argv)


def _sweep(table: str, study: Study, opts: RunOptions, executors: Executors) -> pd.DataFrame:
    """Train every model of one table's study (resuming in ``opts.out``), and return the table."""
    return train_study(
        study,
        opts.out,
        table=table,
        device=opts.device,
        chunk=opts.chunk,
        compile=opts.compile,
        progress=not opts.quiet,
        executors=executors,
    )


def _configuration(preset: Preset, opts: RunOptions) -> dict[str, object]:
    """What every figure table in ``opts.out`` must share (see ``experiments.folder``)."""
    return {
        "root_seed": opts.seed,
        "preset": preset.name,
        "protocol": opts.protocol,
        "progfusion": versions()["progfusion"],
    }


def _start_record(opts: RunOptions, preset: dict | None, root_seed: int) -> int:
    """Append this command's entry to ``run.json``; return its index."""
    options = {k: v for k, v in asdict(opts).items() if k != "command"}
    return start_record(
        opts.out, command=opts.command or sys.argv[1:], device=opts.device,
        root_seed=root_seed, options=options, preset=preset,
    )  # fmt: skip


def _print_summary(lines: list[str], counts: dict[str, int], echo: Callable[[str], None]) -> None:
    bad = {k: v for k, v in counts.items() if k != "ok"}
    for line in lines:
        echo(line)
    if bad:
        echo(f"  left out of every mean: {bad}")


def run_figures(
    figures: Sequence[str], preset: Preset, opts: RunOptions, echo: Callable[[str], None] = print
) -> dict[str, float]:
    """Regenerate ``figures`` (a subset of 4, 7, 8 and ``"gap"``, the gap study) into
    ``opts.out``; return wall times.

    Before anything is trained, ``opts.out`` is checked and claimed for this
    configuration (:func:`~progfusion.experiments.folder.prepare_folder`: a
    ``FolderError`` if it holds another, unless ``opts.force``), and this command
    gets its own entry in ``run.json``. With ``opts.scheduler``, one Dask client
    serves every sweep of the call and is closed at the end.
    """
    if any(f not in (*FIGURES, "gap") for f in figures):
        raise ValueError(f"figures must be among {(*FIGURES, 'gap')}, got {list(figures)}")
    sizes = {"seed": opts.seed, "protocol": opts.protocol, "figures": figures}
    studies = preset.studies(**sizes)  # sizes checked here
    with open_executors(opts.workers, opts.scheduler) as executors:  # a local pool starts lazily
        prepare_folder(opts.out, _configuration(preset, opts), force=opts.force)
        entry = _start_record(opts, preset.as_dict(**sizes), opts.seed)
        return _run_figures(figures, preset, studies, opts, echo, executors, entry)


def _run_figures(figures, preset, studies, opts, echo, executors, entry) -> dict[str, float]:
    timings: dict[str, float] = {}
    grid = None
    for figure in figures:
        start = time.perf_counter()
        if figure == "4":
            table = _sweep("figure4", studies["figure4"], opts, executors)
            plt.close(fig4.draw(table, opts.out))
            _print_summary(fig4.summary_lines(table), _counts(table), echo)
        elif figure in ("7", "8"):
            if grid is None:
                grid = _sweep("figure7", studies["figure7"], opts, executors)
            if figure == "7":
                steps = _sweep("figure7b", studies["figure7b"], opts, executors)
                plt.close(fig7_8.draw7(grid, steps, opts.out))
                _print_summary(fig7_8.summary7(grid, steps), _counts(grid, steps), echo)
            if figure == "8" or ("8" not in figures and (opts.out / "figure8.csv").is_file()):
                # Figure 8 is Figure 7's models: redrawn whenever Figure 7's table is remade
                table8 = fig7_8.robustness_table(grid)
                atomic_write_text(opts.out / "figure8.csv", table8.to_csv(index=False))
                plt.close(fig7_8.draw8(table8, opts.out))
                if figure == "8":
                    _print_summary(fig7_8.summary8(table8), _counts(table8), echo)
        elif figure == "gap":
            from .gap_run import run_gap

            run_gap(
                preset.name, seed=opts.seed, trials=preset.trials, out=opts.out, echo=echo,
                sweep=lambda name, study: _sweep(name, study, opts, executors),
            )  # fmt: skip
        else:
            raise ValueError(f"figure must be one of {(*FIGURES, 'gap')}, got {figure!r}")
        timings["gap" if figure == "gap" else f"figure{figure}"] = round(
            time.perf_counter() - start, 2
        )
        update_run(opts.out, entry, {"wall_seconds": timings})
    return timings


def _counts(*tables: pd.DataFrame) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in tables:
        for k, v in t["status"].value_counts().items():
            counts[str(k)] = counts.get(str(k), 0) + int(v)
    return counts


def run_study_file(
    path: Path,
    opts: RunOptions,
    *,
    trials: int | None = None,
    seed: int | None = None,
    echo: Callable[[str], None] = print,
) -> pd.DataFrame:
    """``progfusion study FILE``: train the study, write its table, TOML and a summary.

    Writes ``<out>/<name>.csv`` (resumable, like every table), ``<out>/<name>.toml``
    (the study as run, with the ``trials`` and ``seed`` given here) and ``run.json``
    (:func:`~progfusion.experiments.run_study`, failed models kept as rows). A
    ValueError names what is wrong with the file or a design.
    """
    study = load_study(path)
    study = study.with_(trials=trials or study.trials, seed=study.seed if seed is None else seed)
    start = time.perf_counter()
    with open_executors(opts.workers, opts.scheduler) as executors:
        table = run_study(
            study, opts.out, device=opts.device, chunk=opts.chunk, compile=opts.compile,
            progress=not opts.quiet, executors=executors, errors="record", force=opts.force,
            command=opts.command or sys.argv[1:],
        )  # fmt: skip
    seconds = time.perf_counter() - start
    echo(f"study {study.name}: {len(table)} models ({_counts(table)}) in {seconds:.1f} s")
    for line in comparison_lines(table, [*study.grid, "trial"], metric_of(study.task.objective)):
        echo(line)
    echo(f"wrote {opts.out / (study.name + '.csv')} and {study.name}.toml")
    return table


def comparison_lines(table: pd.DataFrame, keys: Sequence[str], metric: str) -> list[str]:
    """Per design: its mean test metric, its comparison with the first design, its failures."""
    lines = []
    for r in design_comparison(table, keys, metric).itertuples():
        if r.n == 0:
            line = f"  {r.design:<12} no model finished"
        else:
            line = (
                f"  {r.design:<12} test {metric} {r.mean:.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}] "
                f"n={r.n}"
            )
        pairs = getattr(r, "pairs", float("nan"))  # NaN for the reference design
        if pairs == pairs and pairs > 0:
            gain = "lower" if metric == "mse" else "higher"
            line += (
                f"; {gain} than {table['design'].iloc[0]} in {100 * r.win_fraction:.0f}% of "
                f"{int(r.pairs)} pairs, mean gain {r.mean_gain:+.4g} "
                f"[{r.gain_low:+.4g}, {r.gain_high:+.4g}]"
            )
        if r.failed or r.diverged:
            line += f"; {r.failed} failed, {r.diverged} diverged"
        if r.failed:
            line += f" (first error: {r.first_error})"
        lines.append(line)
    return lines
