"""Run the figure experiments end to end: sweep, table, plot, summary, run record."""

from __future__ import annotations

import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch
from progfusion.experiments import Study, load_study, run_study, study_to_toml
from progfusion.experiments.analysis import design_comparison
from progfusion.experiments.columns import metric_of
from progfusion.experiments.executors import Executors, open_executors
from progfusion.experiments.folder import append_run, prepare_folder, update_run
from progfusion.experiments.run import study_fingerprint
from progfusion.experiments.store import atomic_write_text

from . import fig4, fig7_8
from .presets import Preset

__all__ = ["RunOptions", "run_figures", "run_study_file", "FIGURES", "cpu_model_names"]

FIGURES = ("4", "7", "8")
_LIBRARIES = ("progfusion", "torch", "numpy", "scipy", "sympy", "pandas", "matplotlib", "seaborn")


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


def _versions() -> dict[str, str]:
    found = {}
    for name in _LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            found[name] = "not installed"
    return found


def _device_name(device: str) -> str:
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    return _cpu_model() or f"{platform.processor() or platform.machine()} CPU"


def cpu_model_names() -> list[str]:
    """The ``model name`` of each core in ``/proc/cpuinfo`` (Linux); empty elsewhere."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]


def _cpu_model() -> str | None:
    """The CPU's model name and its core count, or None."""
    names = cpu_model_names()
    return f"{names[0]} ({len(names)} cores)" if names else None


def _sweep(table: str, study: Study, opts: RunOptions, executors: Executors) -> pd.DataFrame:
    """Train every model of one table's study (resuming in ``opts.out``), and return the table."""
    return run_study(
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
        "progfusion": _versions()["progfusion"],
    }


def _start_record(opts: RunOptions, preset: dict | None, root_seed: int) -> int:
    """Append this command's entry to ``run.json``; return its index."""
    entry = {
        "command": shlex.join(["progfusion", *(opts.command or sys.argv[1:])]),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "preset": preset,
        "options": {k: str(v) for k, v in asdict(opts).items() if k != "command"},
        "root_seed": root_seed,
        "device": opts.device,
        "device_name": _device_name(opts.device),
        "versions": _versions(),
        "python": platform.python_version(),
        "wall_seconds": {},
    }
    return append_run(opts.out, entry)


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

    Writes ``<out>/<name>.csv`` (resumable, like every table) and ``<out>/<name>.toml``
    (the study as run, with the ``trials`` and ``seed`` given here). A ValueError
    names what is wrong with the file.
    """
    study = load_study(path)
    study = study.with_(trials=trials or study.trials, seed=study.seed if seed is None else seed)
    configuration = {
        "study": study.name,
        "study_config": study_fingerprint(study, study.name),
        "root_seed": study.seed,
        "progfusion": _versions()["progfusion"],
    }
    start = time.perf_counter()
    with open_executors(opts.workers, opts.scheduler) as executors:
        prepare_folder(opts.out, configuration, force=opts.force)
        entry = _start_record(opts, None, study.seed)
        table = _sweep(study.name, study, opts, executors)
    seconds = time.perf_counter() - start
    update_run(opts.out, entry, {"wall_seconds": {study.name: round(seconds, 2)}})
    atomic_write_text(opts.out / f"{study.name}.toml", study_to_toml(study))
    metric = metric_of(study.task.objective)
    keys = [*study.grid, "trial"]
    echo(f"study {study.name}: {len(table)} models ({_counts(table)}) in {seconds:.1f} s")
    if not (table["status"] == "ok").any():
        echo("  no model finished: see the error column of the table")
        return table
    for r in design_comparison(table, keys, metric).itertuples():
        line = (
            f"  {r.design:<12} test {metric} {r.mean:.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}] n={r.n}"
        )
        if hasattr(r, "pairs") and r.pairs == r.pairs:  # NaN for the reference design
            gain = "lower" if metric == "mse" else "higher"
            line += (
                f"; {gain} than {table['design'].iloc[0]} in {100 * r.win_fraction:.0f}% of "
                f"{int(r.pairs)} pairs, mean gain {r.mean_gain:+.4g} "
                f"[{r.gain_low:+.4g}, {r.gain_high:+.4g}]"
            )
        echo(line)
    echo(f"wrote {opts.out / (study.name + '.csv')} and {study.name}.toml")
    return table
