"""Run a study: jobs grouped into shards, shards sent to an executor, rows to a store.

Jobs of one architecture and protocol are grouped into *shards* (chunks of
``chunk`` models) and each shard is trained as one stack by :func:`run_shard`.
Shards go to the driver itself (``workers=1``), a local process pool with one
thread per worker, or a Dask cluster (:mod:`.executors`). Results come back to the
driver, which alone writes the table (:class:`~.store.ResultsStore`), so resuming
and atomic writes work the same everywhere. A shard whose worker fails is retried
once; if it fails again its models are written with status ``"failed"``. (On Dask,
the scheduler itself first reruns the tasks of a worker that died, up to
``distributed.scheduler.allowed-failures`` times, before the shard's future raises
``KilledWorker``; only then does the retry here count.)
"""

from __future__ import annotations

import concurrent.futures as cf
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from progfusion.models.data import ModelData
from progfusion.models.protocol import TrainConfig
from progfusion.models.training import train_stack
from tqdm.auto import tqdm

from . import signals
from .columns import failed_rows, result_rows
from .executors import Executors, open_executors
from .jobs import DataRecipe, Job, study_jobs
from .modalities import evaluate_modalities
from .scores import evaluate_scores
from .store import ResultsStore, config_hash
from .study import Study
from .studyfile import study_to_dict

__all__ = [
    "Shard",
    "make_shards",
    "run_shard",
    "run_sweep",
    "shard_work",
    "study_fingerprint",
    "train_study",
]

#: Held while a shard trains: model initialisation seeds torch's global generator
#: (inside ``fork_rng``), which is not thread-safe, so shards sent to one process
#: by several threads (a Dask worker started with ``--nthreads`` > 1) train one
#: at a time and their results stay those of a single-process run.
_TRAIN_LOCK = threading.Lock()

#: Seconds between the driver's checks for a stop signal while shards run on a pool.
_POLL_S = 0.2


@dataclass(frozen=True)
class Shard:
    """Jobs of one architecture and protocol, trained as one stack."""

    jobs: tuple[Job, ...]
    device: str = "cpu"
    threads: int = 1
    compile: str | None = None  # a torch.compile mode for the training step; None: eager

    @property
    def config(self) -> TrainConfig:
        return self.jobs[0].config


def make_shards(
    jobs: Sequence[Job],
    *,
    chunk: int,
    device: str,
    threads: int = 1,
    compile: str | None = None,  # noqa: A002 (the CLI's --compile)
) -> list[Shard]:
    """Group jobs by (model recipe, protocol, data shape) into chunks, longest first.

    Groups are cut in first-seen order, then the shards are ordered by their
    estimated work (:func:`shard_work`), largest first, ties in that order: on a
    pool the long stacks start first and the last to finish are short ones, so the
    workers are not left waiting on one long stack at the end (list scheduling,
    longest processing time first). The order changes no result.
    """
    groups: dict[tuple, list[Job]] = {}
    for job in jobs:
        groups.setdefault((job.model, job.config, _stack_key(job.data.task)), []).append(job)
    shards = [
        Shard(tuple(group[a : a + chunk]), device, threads, compile)
        for group in groups.values()
        for a in range(0, len(group), chunk)
    ]
    return sorted(shards, key=shard_work, reverse=True)  # stable: ties keep their order


def shard_work(shard: Shard) -> int:
    """A shard's estimated work: models x most steps x parameters per model.

    A proxy for its training time (a step's cost grows with the parameters; the
    stack trains until its last model stops, at most ``max_steps``), only used to
    order the shards.
    """
    return len(shard.jobs) * shard.config.max_steps * shard.jobs[0].model.parameter_count()


def _stack_key(task) -> object:
    """What two task instances must share for their models to train in one stack.

    A task's ``stack_key()`` (its split sizes and widths) when it has one, else the
    whole task: models of one stack need data of one shape.
    """
    key = getattr(task, "stack_key", None)
    return key() if callable(key) else task


def run_shard(shard: Shard) -> list[dict[str, Any]]:
    """Train one shard as one stack and return its table rows (runs in a worker).

    Sets torch's intra-op threads to ``shard.threads`` (1: one thread per worker
    process, in a local pool and on Dask workers alike).
    """
    with _TRAIN_LOCK:
        if shard.threads:
            torch.set_num_threads(shard.threads)
        data = _shard_data(shard.jobs)
        first = shard.jobs[0]
        results = train_stack(
            first.model.build,
            [job.seed for job in shard.jobs],
            [data[job.data] for job in shard.jobs],
            shard.config,
            device=shard.device,
            compile=shard.compile,
            return_state=bool(first.scores) or first.per_modality,
        )
        rows = [job.row() for job in shard.jobs]
        if not (first.scores or first.per_modality):
            return result_rows(rows, results, shard.config)
        models = [_trained(job, res) for job, res in zip(shard.jobs, results, strict=True)]
        instances = [data[job.data] for job in shard.jobs]
        extra = evaluate_scores(models, instances, first.scores) if first.scores else None
        modalities = None
        if first.per_modality:
            levels, objective = shard.config.noise_levels, shard.config.objective
            modalities = evaluate_modalities(models, instances, levels, objective)
        return result_rows(rows, results, shard.config, extra, modalities)


def _trained(job: Job, result) -> torch.nn.Module | None:
    """``job``'s model with its reported weights (None when it diverged)."""
    if result.status != "ok" or result.state is None:
        return None
    with torch.random.fork_rng(devices=[]):
        model = job.model.build()
    model.load_state_dict(result.state)
    return model


#: The task instances of the last shard this process trained, by recipe. A recipe
#: builds the same data every time, and the next shard often needs the same ones:
#: Figure 4's 42 stacks (design x width x panel) train on the same 30 instances.
_LAST_DATA: dict[DataRecipe, ModelData] = {}


def _shard_data(jobs: Sequence[Job]) -> dict[DataRecipe, ModelData]:
    """Each recipe of ``jobs`` built once (the designs of one trial share a recipe),
    reusing what the previous shard in this process built; keeps these for the next.

    Only one shard's data are held: those the new shard does not use are dropped
    before anything is built. Call under ``_TRAIN_LOCK``.
    """
    wanted = dict.fromkeys(job.data for job in jobs)  # in job order
    kept = {recipe: _LAST_DATA[recipe] for recipe in wanted if recipe in _LAST_DATA}
    _LAST_DATA.clear()
    for recipe in wanted:
        _LAST_DATA[recipe] = kept[recipe] if recipe in kept else recipe.build()
    return _LAST_DATA.copy()


def run_sweep(
    shards: Sequence[Shard],
    store: ResultsStore,
    *,
    executor_factory: Executors | Callable[[], cf.Executor | None],
    progress: Callable[[int], None] | None = None,
    retries: int = 1,
) -> None:
    """Train every shard not yet in ``store`` and add each one's rows as it finishes.

    ``executor_factory``: an :class:`~.executors.Executors` (see
    :func:`~.executors.open_executors`), or a function returning a new executor for
    each round (None: run in this process). A round with a failure gets a new
    executor for the next, so a broken process pool (a worker died) is replaced and
    the remaining shards go on. Each shard is retried ``retries`` times before its
    models are marked ``"failed"``.
    """
    executors = (
        executor_factory if isinstance(executor_factory, Executors) else Executors(executor_factory)
    )
    done = store.done()
    todo = [s for s in (_without(s, done) for s in shards) if s is not None]
    if progress is not None:
        progress(sum(len(s.jobs) for s in shards) - sum(len(s.jobs) for s in todo))
    attempts = {id(s): 0 for s in todo}
    pending = list(todo)
    while pending:
        executor = executors.get()
        batch, pending = pending, []
        clean = False
        try:
            failures = 0
            for shard, outcome in _outcomes(executor, batch):
                if isinstance(outcome, BaseException):
                    failures += 1
                    attempts[id(shard)] += 1
                    if attempts[id(shard)] <= retries:
                        pending.append(shard)
                        continue
                    outcome = failed_rows([job.row() for job in shard.jobs], outcome)
                store.add(outcome)
                if progress is not None:
                    progress(len(shard.jobs))
            clean = failures == 0
        finally:  # after a failure or an interruption (Ctrl-C), never reuse the executor
            executors.release(executor, clean=clean)


def _outcomes(executor: cf.Executor | None, shards: Sequence[Shard]) -> Iterator[tuple]:
    """``(shard, rows or the exception it raised)``, in order of completion.

    On a pool, a first SIGINT (:mod:`.signals`) cancels the shards not started,
    announces the running ones, yields them as they finish, then raises
    :class:`~.signals.Interrupted`; SIGTERM, or a second signal, abandons the
    running ones at once (the handler exits the process, told how many ran).
    """
    if executor is None:
        try:
            for shard in shards:
                try:
                    yield shard, run_shard(shard)
                except Exception as exc:  # noqa: BLE001 - reported as the shard's failure
                    yield shard, exc
        finally:  # this process goes on after the run: hold no task data
            _LAST_DATA.clear()
        return
    waiting, window = deque(shards), _window(executor, len(shards))
    futures: dict[cf.Future, Shard] = {}  # submitted, not yet yielded

    def running() -> int:
        return sum(not f.done() for f in futures)

    with signals.finishing(running):  # before the first submit: a SIGINT while submitting
        # also lets the running shards finish (it is not raised in the middle of the submits)
        stopping = None
        while waiting or futures:
            while waiting and stopping is None and len(futures) < window:
                shard = waiting.popleft()
                futures[executor.submit(run_shard, shard)] = shard
            done, _ = cf.wait(futures, timeout=_POLL_S, return_when=cf.FIRST_COMPLETED)
            for future in done:
                yield futures.pop(future), _result(future)
            if stopping is None and signals.requested() is not None:
                stopping = signals.requested()
                waiting.clear()
                for future in [f for f in futures if f.cancel()]:  # keep the running ones
                    del futures[future]
                if futures:
                    n = len(futures)
                    tqdm.write(
                        f"finishing {n} running shard{'s' if n > 1 else ''}, "
                        "Ctrl-C again to abandon them",
                        file=sys.stderr,
                    )
    if stopping is not None:
        raise signals.Interrupted(stopping)


def _window(executor: cf.Executor, n_shards: int) -> int:
    """How many shards to keep submitted at once: a local pool's worker count (a
    process pool moves one shard more than it runs into its call queue, where it can
    no longer be cancelled, so a stop would wait for a shard no worker had started);
    on an executor without one (Dask's, whose queued tasks cancel) all of them."""
    workers = getattr(executor, "_max_workers", None)  # concurrent.futures' pools
    return max(1, workers if isinstance(workers, int) else n_shards)


def _no_bar(progress: bool | None) -> bool | None:
    """tqdm's ``disable`` for ``progress``: None lets tqdm decide (no bar unless its
    stream, stderr, is a terminal; ``tqdm.auto``'s notebook widget always shows)."""
    return None if progress is None else not progress


def _result(future: cf.Future) -> list[dict[str, Any]] | BaseException:
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - a worker's failure, e.g. BrokenProcessPool
        return exc


def _without(shard: Shard, done: set[str]) -> Shard | None:
    jobs = tuple(j for j in shard.jobs if j.job_id not in done)
    if not jobs:
        return None
    return replace(shard, jobs=jobs)


def study_fingerprint(study: Study, table: str) -> str:
    """The store's configuration hash: everything about the study but its trial count.

    Rows of another configuration in the same folder are never mixed in; more
    trials later train only the new ones.
    """
    described = study_to_dict(study, strict=False)
    described.pop("trials")
    return config_hash({"study": described, "table": table})


def train_study(
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
) -> pd.DataFrame:
    """Train every model of ``study`` into ``out`` and return its tidy table (one row per model).

    The engine's step, without :func:`~.study_run.run_study`'s checks, folder rule, run
    record and failure handling: for callers that claim a folder for several tables
    themselves (the figures). Failed models come back as rows (status ``failed``).

    Parameters
    ----------
    study
        What to train.
    out
        Folder of the table ``<out>/<table>.csv`` and its part files: rows are
        written as each stack finishes, and a rerun on the same folder trains only
        what is missing (Ctrl-C or a crash loses at most the stacks in flight).
        None: keep the table in memory only.
    device, workers, scheduler, chunk, compile
        ``"cpu"`` or ``"cuda"``; local worker processes (one torch thread each; 1:
        this process); a Dask scheduler address instead of local processes; models
        per stack; a :func:`torch.compile` mode for the training step (None: eager).
    progress
        A progress bar of the models trained, on stderr: None (default) only when
        stderr is a terminal (a redirected log gets no carriage-return lines; a
        notebook shows its widget), True always, False never (nor the line saying
        how many models an earlier run trained).
    table
        Name of the table file (default: ``study.name``).
    executors
        An open :class:`~.executors.Executors`, to share one worker pool between
        several studies (default: one opened for this call).
    """
    if executors is None:
        with open_executors(workers, scheduler) as opened:
            return train_study(
                study, out, device=device, chunk=chunk, compile=compile,
                progress=progress, table=table, executors=opened,
            )  # fmt: skip
    table = table or study.name
    jobs = study_jobs(study)
    order = [job.job_id for job in jobs]
    fingerprint = study_fingerprint(study, table)
    columns = dict.fromkeys(name for job in jobs for name, _ in job.labels)
    store = ResultsStore(
        Path(out) if out is not None else None, table, fingerprint, order, columns=list(columns)
    )
    shards = make_shards(jobs, chunk=chunk, device=device, compile=compile)
    reused = len(store.done().intersection(order))
    if progress is not False and reused:  # reused work is said, not counted into the bar's rate
        where = f" in {out}" if out is not None else ""
        message = f"{table}: reusing {reused} of {len(jobs)} models already trained{where}"
        tqdm.write(message, file=sys.stderr)
    counted = [False]

    def update(n: int) -> None:
        if counted[0]:
            bar.update(n)
        counted[0] = True  # run_sweep's first call counts the reused models: skip it

    with tqdm(
        total=len(jobs), initial=reused, desc=f"{table}: models", unit="model",
        disable=True if reused == len(jobs) else _no_bar(progress),
    ) as bar:  # fmt: skip
        run_sweep(shards, store, executor_factory=executors, progress=update)
    return store.rebuild()
