"""Run the figure experiments end to end: sweep, table, plot, summary, run record."""

from __future__ import annotations

import json
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import torch
from tqdm.auto import tqdm

from . import fig4, fig7_8
from .presets import Preset
from .store import ResultsStore, atomic_write_text, config_hash
from .sweep import Executors, Job, make_shards, open_executors, run_sweep

__all__ = ["RunOptions", "run_figures", "FIGURES"]

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
    return f"{platform.processor() or platform.machine()} CPU"


def _sweep(
    name: str,
    jobs: Sequence[Job],
    config,
    settings,
    opts: RunOptions,
    executors: Executors | None = None,
) -> pd.DataFrame:
    """Train every job of one table (resuming), and return the table.

    Rows count as done when they were made with the same settings, training
    configuration and root seed. The trial count is left out of that fingerprint,
    so rerunning with more ``--trials`` trains only the new trials. ``executors``:
    the :class:`~.sweep.Executors` of :func:`~.sweep.open_executors` (default: one opened
    for this table alone).
    """
    if executors is None:
        with open_executors(opts.workers, opts.scheduler) as executors:
            return _sweep(name, jobs, config, settings, opts, executors)
    sizes = {k: v for k, v in asdict(settings).items() if k != "trials"}
    fingerprint = config_hash(
        {"settings": sizes, "config": asdict(config), "seed": opts.seed, "table": name}
    )
    store = ResultsStore(opts.out, name, fingerprint, [j.job_id for j in jobs])
    shards = make_shards(jobs, config, chunk=opts.chunk, device=opts.device, compile=opts.compile)
    with tqdm(total=len(jobs), desc=f"{name}: models", unit="model", disable=opts.quiet) as bar:
        run_sweep(
            shards,
            store,
            executor_factory=executors,
            progress=bar.update,
        )
    return store.rebuild()


def _record(opts: RunOptions, preset: Preset, timings: dict[str, float]) -> None:
    path = opts.out / "run.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    record = {
        "command": " ".join(["progfusion", *sys.argv[1:]]),
        "preset": preset.as_dict(),
        "options": {k: str(v) for k, v in asdict(opts).items()},
        "root_seed": opts.seed,
        "device": opts.device,
        "device_name": _device_name(opts.device),
        "versions": _versions(),
        "python": platform.python_version(),
        "wall_seconds": {**previous.get("wall_seconds", {}), **timings},
    }
    atomic_write_text(path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def _print_summary(lines: list[str], counts: dict[str, int], echo: Callable[[str], None]) -> None:
    bad = {k: v for k, v in counts.items() if k != "ok"}
    for line in lines:
        echo(line)
    if bad:
        echo(f"  left out of every mean: {bad}")


def run_figures(
    figures: Sequence[str], preset: Preset, opts: RunOptions, echo: Callable[[str], None] = print
) -> dict[str, float]:
    """Regenerate ``figures`` (a subset of 4, 7, 8) into ``opts.out``; return wall times.

    With ``opts.scheduler``, one Dask client serves every sweep of the call and is
    closed at the end.
    """
    with open_executors(opts.workers, opts.scheduler) as executors:
        opts.out.mkdir(parents=True, exist_ok=True)
        return _run_figures(figures, preset, opts, echo, executors)


def _run_figures(figures, preset, opts, echo, executors) -> dict[str, float]:
    timings: dict[str, float] = {}
    grid = None
    for figure in figures:
        start = time.perf_counter()
        if figure == "4":
            s = preset.fig4
            table = _sweep(
                "figure4",
                fig4.jobs(s, opts.seed),
                fig4.train_config(s, opts.protocol),
                s,
                opts,
                executors,
            )
            plt.close(fig4.draw(table, opts.out))
            _print_summary(fig4.summary_lines(table), _counts(table), echo)
        elif figure in ("7", "8"):
            if grid is None:
                g = preset.grid
                grid = _sweep(
                    "figure7",
                    fig7_8.grid_jobs(g, opts.seed),
                    fig7_8.grid_config(g, opts.protocol),
                    g,
                    opts,
                    executors,
                )
            if figure == "7":
                st = preset.steps
                steps = _sweep(
                    "figure7b",
                    fig7_8.steps_jobs(st, opts.seed),
                    fig7_8.steps_config(st),
                    st,
                    opts,
                    executors,
                )
                plt.close(fig7_8.draw7(grid, steps, opts.out))
                _print_summary(fig7_8.summary7(grid, steps), _counts(grid, steps), echo)
            else:
                table8 = fig7_8.robustness_table(grid)
                buf = table8.to_csv(index=False)
                atomic_write_text(opts.out / "figure8.csv", buf)
                plt.close(fig7_8.draw8(table8, opts.out))
                _print_summary(fig7_8.summary8(table8), _counts(table8), echo)
        else:
            raise ValueError(f"figure must be one of {FIGURES}, got {figure!r}")
        timings[f"figure{figure}"] = round(time.perf_counter() - start, 2)
        _record(opts, preset, timings)
    return timings


def _counts(*tables: pd.DataFrame) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in tables:
        for k, v in t["status"].value_counts().items():
            counts[str(k)] = counts.get(str(k), 0) + int(v)
    return counts
