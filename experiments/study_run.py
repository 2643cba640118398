"""``run_study``: a study's checks, its results folder, its run record and its failures.

Around the engine's step (:func:`~.run.train_study`), in this order:

1. the options (``out`` names a folder, ``errors`` is ``"raise"`` or ``"record"``)
   and the study itself (:func:`~.preflight.check_study`: the task and every design
   built once on this process, ``device`` available) are checked, before any file is
   written or worker started;
2. the folder is claimed for the study's configuration (:mod:`.folder`): a folder
   holding another configuration is refused unless ``force=True``, which discards
   its results; the study is saved beside its table (``<table>.toml``, so that
   ``progfusion plot`` redraws the folder) and the call gets its entry in
   ``run.json`` (:mod:`.record`);
3. the models train, their rows written as each stack finishes;
4. failed models raise :class:`~.failures.StudyError` (``errors="raise"``) or stay
   rows of the returned table (``errors="record"``).

The command line's ``progfusion study`` is this function with ``errors="record"``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .analysis import design_comparison, higher_is_better, status_counts
from .columns import metric_of
from .executors import Executors
from .failures import StudyError
from .folder import prepare_folder
from .portable import make_portable
from .preflight import check_study
from .record import finish_record, start_record, versions
from .run import study_fingerprint, train_study
from .store import atomic_write_text
from .study import Study
from .studyfile import load_study, study_to_toml

__all__ = ["ERRORS", "comparison_lines", "run_study", "run_study_file", "study_configuration"]

#: What ``run_study`` does with failed models.
ERRORS = ("raise", "record")


def study_configuration(study: Study, table: str) -> dict[str, object]:
    """What a folder holding ``study``'s table must hold nothing but (see :mod:`.folder`)."""
    return {
        "study": table,
        "study_config": study_fingerprint(study, table),
        "root_seed": study.seed,
        "progfusion": versions()["progfusion"],
    }


def check_out(out: str | Path | None) -> Path | None:
    """``out`` as a Path; an empty name is refused (it would mean the current folder)."""
    if out is None:
        return None
    if not isinstance(out, str | Path) or not str(out).strip():
        raise ValueError(f"out must name a folder (None: keep the table in memory), got {out!r}")
    return Path(out)


def run_study(
    study: Study,
    out: str | Path | None = None,
    *,
    device: str = "cpu",
    workers: int = 1,
    scheduler: str | None = None,
    chunk: int = 128,
    compile: str | None = None,  # noqa: A002 (torch.compile's name, as users know it)
    progress: bool | None = None,
    table: str | None = None,
    executors: Executors | None = None,
    errors: str = "raise",
    force: bool = False,
    command: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Train every model of ``study`` and return its tidy table (one row per model).

    Parameters
    ----------
    study
        What to train.
    out
        Folder of the table ``<out>/<table>.csv`` and its part files: rows are
        written as each stack finishes, and a rerun on the same folder trains only
        what is missing (Ctrl-C or a crash loses at most the stacks in flight).
        The folder holds one configuration: one of another study (or other
        parameters) is refused with a :class:`~.folder.FolderError`, unless
        ``force``. Beside the table: ``<table>.toml`` (the study, when its designs
        and task can be named in a file) and ``run.json`` (one entry per call).
        None: keep the table in memory only.
    device, workers, scheduler, chunk, compile
        ``"cpu"`` or ``"cuda"``; local worker processes (one torch thread each; 1:
        this process); a Dask scheduler address instead of local processes; models
        per stack; a :func:`torch.compile` mode for the training step (None: eager).
    progress
        Show a progress bar (models trained); None: only when stderr is a terminal.
    table
        Name of the table file (default: ``study.name``).
    executors
        An open :class:`~.executors.Executors`, to share one worker pool between
        several studies (default: one opened for this call).
    errors
        ``"raise"``: a :class:`~.failures.StudyError` when any model failed (its
        ``table`` holds every row); ``"record"``: failed models are rows with
        status ``failed`` and their ``error``. Diverged models are rows either way.
    force
        Discard the results of another configuration held in ``out``.
    command
        The command line recorded in ``run.json`` (default: this process's).

    Raises
    ------
    ValueError, TypeError
        A bad option, or a design or task that cannot train or cannot be sent to the
        workers (one line, before anything is written).
    RuntimeError
        ``workers > 1`` from a script whose call is not under
        ``if __name__ == "__main__":`` (each worker process runs the script again).
    FolderError
        ``out`` holds results of another configuration (and not ``force``).
    StudyError
        Models failed, with ``errors="raise"``.
    """
    folder = check_out(out)
    if errors not in ERRORS:
        raise ValueError(f"errors must be one of {', '.join(ERRORS)}, got {errors!r}")
    check_study(study, device=device)
    make_portable(study, workers=workers, scheduler=scheduler, executors=executors)
    table = table or study.name
    entry = (
        _claim(folder, study, table, device=device, force=force, command=command)
        if (folder is not None)
        else None
    )
    start = time.perf_counter()
    result = train_study(
        study, folder, device=device, workers=workers, scheduler=scheduler, chunk=chunk,
        compile=compile, progress=progress, table=table, executors=executors,
    )  # fmt: skip
    if entry is not None:
        finish_record(folder, entry, {table: time.perf_counter() - start})
    if errors == "raise" and (result["status"] == "failed").any():
        where = f"{folder / table}.csv" if folder is not None else "the table (StudyError.table)"
        raise StudyError(result, list(study.grid), where)
    return result


def _claim(folder: Path, study: Study, table: str, *, device: str, force: bool, command) -> int:
    """Claim ``folder`` for the study, save the study beside its table, start the record."""
    prepare_folder(folder, study_configuration(study, table), force=force)
    try:
        text = study_to_toml(study, base=folder)
    except ValueError:  # a design or task of __main__ or a lambda: no file can name it
        text = None
    if text is not None:
        atomic_write_text(folder / f"{table}.toml", text)
    return start_record(
        folder, command=command, device=device, root_seed=study.seed,
        study=table, protocol=study.protocol.name,
    )  # fmt: skip


def run_study_file(
    path: str | Path,
    out: str | Path,
    *,
    trials: int | None = None,
    seed: int | None = None,
    echo: Callable[[str], None] = print,
    **options: Any,
) -> pd.DataFrame:
    """``progfusion study FILE``: train the study file's study into ``out`` and print a summary.

    ``trials``, ``seed``: override the file's. ``options``: :func:`run_study`'s
    (device, workers, ...); failed models are kept as rows (``errors="record"``).
    Writes ``<out>/<name>.csv``, ``<name>.toml`` (the study as run) and ``run.json``;
    prints the models by status, each design's mean test metric against the first
    design's, and each design's failures. A ValueError names what is wrong with the
    file or a design.
    """
    study = load_study(path)
    study = study.with_(trials=trials or study.trials, seed=study.seed if seed is None else seed)
    start = time.perf_counter()
    table = run_study(study, out, errors="record", **options)
    seconds = time.perf_counter() - start
    echo(f"study {study.name}: {len(table)} models ({status_counts(table)}) in {seconds:.1f} s")
    for line in comparison_lines(table, [*study.grid, "trial"], metric_of(study.task.objective)):
        echo(line)
    echo(f"wrote {Path(out) / (study.name + '.csv')} and {study.name}.toml")
    return table


def comparison_lines(table: pd.DataFrame, keys: Sequence[str], metric: str) -> list[str]:
    """Per design: its mean test metric, its comparison with the first design, its failures."""
    lines = []
    better = "higher" if higher_is_better(metric) else "lower"
    for r in design_comparison(table, keys, metric).itertuples():
        line = f"  {r.design:<12} no model finished"
        if r.n:
            line = (
                f"  {r.design:<12} test {metric} {r.mean:.4g} [{r.ci_low:.4g}, {r.ci_high:.4g}] "
                f"n={r.n}"
            )
        pairs = getattr(r, "pairs", float("nan"))  # NaN for the reference design
        if pairs == pairs and pairs > 0:
            line += (
                f"; {better} than {table['design'].iloc[0]} in {100 * r.win_fraction:.0f}% of "
                f"{int(pairs)} pairs, mean gain {r.mean_gain:+.4g} "
                f"[{r.gain_low:+.4g}, {r.gain_high:+.4g}]"
            )
        if r.failed or r.diverged:
            line += f"; {r.failed} failed, {r.diverged} diverged"
        if r.failed:
            line += f" (first error: {r.first_error})"
        lines.append(line)
    return lines
