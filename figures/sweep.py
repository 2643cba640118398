"""Run a sweep of trainings: jobs grouped into shards, shards sent to an executor.

A *job* is one model to train: a model recipe, a data recipe, a seed and the
labels of its table row. Jobs of one architecture and protocol are grouped into
*shards* (chunks of ``chunk`` models) and each shard is trained as one stack by
:func:`run_shard`. Shards go to any :class:`concurrent.futures.Executor`: the
driver itself (``workers=1``), a local process pool with one thread per worker,
or a Dask cluster (``Client.get_executor()``). Results come back to the driver,
which alone writes the table (:class:`~.store.ResultsStore`), so resuming and
atomic writes work the same everywhere. A shard whose worker fails is retried
once; if it fails again its models are written with status ``"failed"``. (On
Dask, the scheduler itself first reruns the tasks of a worker that died, up to
``distributed.scheduler.allowed-failures`` times, before the shard's future
raises ``KilledWorker``; only then does the retry here count.)

Seeds: one root seed; each job's model and data seeds derive from it and from
the job's key alone (:func:`derive_seed`), never from its position in the sweep.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from progfusion.models import ModelSpec
from progfusion.models.protocol import TrainConfig
from progfusion.models.training import train_stack

from .store import ResultsStore

__all__ = [
    "Job",
    "Shard",
    "derive_seed",
    "make_shards",
    "run_shard",
    "run_sweep",
    "make_executor",
    "Executors",
    "open_executors",
    "SchedulerUnreachable",
]

#: Held while a shard trains: model initialisation seeds torch's global generator
#: (inside ``fork_rng``), which is not thread-safe, so shards sent to one process
#: by several threads (a Dask worker started with ``--nthreads`` > 1) train one
#: at a time and their results stay those of a single-process run.
_TRAIN_LOCK = threading.Lock()


def derive_seed(root: int, *key: object) -> int:
    """A 32-bit seed from the root seed and a key (strings and numbers).

    ``SeedSequence(root, spawn_key=hash(key))``: independent streams for different
    keys, the same seed for the same key wherever and whenever it is computed.
    """
    digest = hashlib.sha256(repr(key).encode()).digest()
    words = tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    return int(np.random.SeedSequence(root, spawn_key=words).generate_state(1)[0])


@dataclass(frozen=True)
class Job:
    """One model to train and the labels of its row in the table."""

    job_id: str
    spec: ModelSpec
    data: Any  # a recipe with .build() -> ModelData (see tasks.py)
    seed: int
    labels: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Shard:
    """Jobs of one architecture and protocol, trained as one stack."""

    jobs: tuple[Job, ...]
    config: TrainConfig
    device: str = "cpu"
    threads: int = 1
    compile: str | None = None  # a torch.compile mode for the training step; None: eager

    @property
    def spec(self) -> ModelSpec:
        return self.jobs[0].spec


def make_shards(
    jobs: Sequence[Job],
    config: TrainConfig,
    *,
    chunk: int,
    device: str,
    threads: int = 1,
    compile: str | None = None,  # noqa: A002 (the CLI's --compile)
) -> list[Shard]:
    """Group jobs by model recipe (in first-seen order) and cut groups into chunks."""
    groups: dict[ModelSpec, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.spec, []).append(job)
    shards = []
    for group in groups.values():
        for a in range(0, len(group), chunk):
            shards.append(Shard(tuple(group[a : a + chunk]), config, device, threads, compile))
    return shards


def _rows(shard: Shard, results, seconds: float) -> list[dict[str, Any]]:
    config = shard.config
    metric = "accuracy" if config.objective == "classification" else "mse"
    rows = []
    for job, res in zip(shard.jobs, results, strict=True):
        row: dict[str, Any] = {"job_id": job.job_id, **dict(job.labels), "seed": job.seed}
        row.update(
            status=res.status,
            steps=res.steps,
            best_step=res.best_step,
            val_loss=res.val_loss,
            test_loss=res.test_loss,
        )
        row[f"test_{metric}"] = res.test_metric
        for level, value in zip(config.noise_levels, res.noise_metric, strict=False):
            row[f"{metric}_noise_{level:g}"] = value
        for step in config.record_steps:
            row[f"{metric}_step_{step}"] = res.recorded.get(step, float("nan"))
        row["shard_seconds"] = seconds
        rows.append(row)
    return rows


def run_shard(shard: Shard) -> list[dict[str, Any]]:
    """Train one shard as one stack and return its table rows (runs in a worker).

    Sets torch's intra-op threads to ``shard.threads`` (1: one thread per worker
    process, in a local pool and on Dask workers alike).
    """
    with _TRAIN_LOCK:
        if shard.threads:
            torch.set_num_threads(shard.threads)
        start = time.perf_counter()
        data = {}
        for job in shard.jobs:  # late and pro of one trial share a recipe: build once
            if job.data not in data:
                data[job.data] = job.data.build()
        results = train_stack(
            shard.spec.build,
            [job.seed for job in shard.jobs],
            [data[job.data] for job in shard.jobs],
            shard.config,
            device=shard.device,
            compile=shard.compile,
        )
        return _rows(shard, results, time.perf_counter() - start)


def _failed_rows(shard: Shard, error: BaseException) -> list[dict[str, Any]]:
    message = f"{type(error).__name__}: {error}"[:200]
    return [
        {"job_id": j.job_id, **dict(j.labels), "seed": j.seed, "status": "failed", "error": message}
        for j in shard.jobs
    ]


def _init_worker() -> None:
    torch.set_num_threads(1)


class SchedulerUnreachable(ConnectionError):
    """The Dask scheduler given by ``--scheduler`` could not be reached."""


def make_executor(workers: int, client: Any = None) -> cf.Executor | None:
    """A fresh executor for one round of shards.

    ``client``: a connected ``dask.distributed.Client``, whose executor is returned
    (tasks are submitted with ``pure=False``, so a retried shard is computed again
    rather than matched to the failed task's key); otherwise ``workers == 1``:
    None, meaning the driver process itself; otherwise a process pool of
    ``workers`` processes, each with one torch thread (measured faster than
    threads in one process for these small models).
    """
    if client is not None:
        return client.get_executor(pure=False)
    if workers == 1:
        return None
    return cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
    )


class Executors:
    """Where each round of :func:`run_sweep` runs its shards.

    ``make`` returns a new executor (None: this process). With ``keep``, the
    executor of a round that went cleanly serves the next round and the next
    sweep too (a local process pool: its workers start once, about 5-10 s, and
    keep what they compiled), until :meth:`close`; after a round with a failure
    (perhaps a dead worker, which breaks a pool) it is shut down and replaced.
    Without ``keep`` every round gets a new executor. Calling the object returns
    :meth:`get`'s executor.
    """

    def __init__(self, make: Callable[[], cf.Executor | None], *, keep: bool = False) -> None:
        self._make = make
        self._keep = keep
        self._kept: cf.Executor | None = None

    def get(self) -> cf.Executor | None:
        if self._kept is not None:
            return self._kept
        executor = self._make()
        if self._keep:
            self._kept = executor
        return executor

    __call__ = get

    def release(self, executor: cf.Executor | None, *, clean: bool) -> None:
        """The round on ``executor`` is over; ``clean``: no shard failed or was cut short."""
        if executor is None or (clean and executor is self._kept):
            return
        if executor is self._kept:
            self._kept = None
        _shutdown(executor)

    def close(self) -> None:
        if self._kept is not None:
            kept, self._kept = self._kept, None
            _shutdown(kept)


@contextlib.contextmanager
def open_executors(workers: int, scheduler: str | None = None) -> Iterator[Executors]:
    """Yield the :class:`Executors` of :func:`run_sweep` for ``--workers`` / ``--scheduler``.

    With ``scheduler`` (the address of a Dask scheduler; needs the ``dask``
    extra), one ``Client`` is connected for the whole block and closed at its
    end; every round gets a new executor on that client. Without it, one local
    process pool (none for ``workers == 1``) serves every sweep of the block,
    replaced after a round in which a shard failed, and shut down at the end.
    """
    if scheduler is None:
        executors = Executors(lambda: make_executor(workers), keep=True)
        try:
            yield executors
        finally:
            executors.close()
        return
    try:
        from dask.distributed import Client
    except ImportError:  # pragma: no cover - depends on the environment
        raise ValueError(
            '--scheduler needs Dask: install the extra with pip install -e ".[dask]"'
        ) from None
    try:
        client = Client(scheduler, set_as_default=False)
    except (OSError, ValueError) as exc:  # refused or timed out; a malformed address
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {scheduler}: {first_line}"
        ) from None
    try:
        yield Executors(lambda: make_executor(workers, client))
    finally:
        client.close()


def run_sweep(
    shards: Sequence[Shard],
    store: ResultsStore,
    *,
    executor_factory: Executors | Callable[[], cf.Executor | None],
    progress: Callable[[int], None] | None = None,
    retries: int = 1,
) -> None:
    """Train every shard not yet in ``store`` and add each one's rows as it finishes.

    ``executor_factory``: an :class:`Executors` (see :func:`open_executors`), or a
    function returning a new executor for each round (None: run in this process).
    A round with a failure gets a new executor for the next, so a broken process
    pool (a worker died) is replaced and the remaining shards go on. Each shard is
    retried ``retries`` times before its models are marked ``"failed"``.
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
                    outcome = _failed_rows(shard, outcome)
                store.add(outcome)
                if progress is not None:
                    progress(len(shard.jobs))
            clean = failures == 0
        finally:  # after a failure or an interruption (Ctrl-C), never reuse the executor
            executors.release(executor, clean=clean)


def _shutdown(executor: cf.Executor) -> None:
    """Stop ``executor`` without waiting, cancelling shards not yet started.

    ``cancel_futures`` is new in Python 3.9's Executor API; Dask's
    ``ClientExecutor.shutdown`` has only ``wait`` (and ``wait=False`` cancels).
    """
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:
        executor.shutdown(wait=False)


def _outcomes(executor: cf.Executor | None, shards: Sequence[Shard]) -> Iterator[tuple]:
    """``(shard, rows or the exception it raised)``, in order of completion."""
    if executor is None:
        for shard in shards:
            try:
                yield shard, run_shard(shard)
            except Exception as exc:  # noqa: BLE001 - reported as the shard's failure
                yield shard, exc
        return
    futures = {executor.submit(run_shard, s): s for s in shards}
    for future in cf.as_completed(futures):
        try:
            yield futures[future], future.result()
        except Exception as exc:  # noqa: BLE001 - a worker's failure, e.g. BrokenProcessPool
            yield futures[future], exc


def _without(shard: Shard, done: set[str]) -> Shard | None:
    jobs = tuple(j for j in shard.jobs if j.job_id not in done)
    if not jobs:
        return None
    return replace(shard, jobs=jobs)


def default_workers(device: str) -> int:
    """One worker per core on CPU; one driver process on a GPU."""
    return 1 if device.startswith("cuda") else max(1, os.cpu_count() or 1)
