"""Where shards run: this process, a local process pool, or a Dask cluster.

:func:`open_executors` yields an :class:`Executors` for one run: one local process
pool (one torch thread per worker) serves every round of every table of the run,
and is replaced after a round in which a shard failed (a dead worker breaks a
pool); with a Dask scheduler address, one ``Client`` serves the run and each round
gets a new executor on it.

Workers of a local pool never outlive the process that started them: each one
ignores SIGINT and SIGTERM (the main process decides what a signal means, see
:mod:`.signals`) and watches its parent from a daemon thread, exiting within
:data:`PARENT_POLL_S` of the parent's death, even a SIGKILL. (Polling
``os.getppid()`` works on every POSIX system, unlike Linux's ``PR_SET_PDEATHSIG``,
which also fires when the thread that started the worker ends.)

Nor does a pool leave named semaphores behind. Its queues hold five POSIX
semaphores (the locks of its call and result queues, the call queue's size), which
a spawned worker opens *by name* as it starts. multiprocessing unlinks the names
only when the pool is collected or the process exits normally, so after a SIGKILL
or an abandon (``os._exit``) its resource tracker, a process that outlives the run
until the last worker has gone, found them and printed "There appear to be 5
leaked semaphore objects to clean up at shutdown". Here every worker of a pool
starts with the pool and says when it has opened them (:class:`_WorkerSetup`), a
fraction of a second later; the names are then released (the open semaphores
work on without them), and :func:`kill_workers` releases those of a pool whose
workers are still starting.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import multiprocessing
import operator
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from multiprocessing import context, synchronize, util
from typing import Any

import torch

__all__ = [
    "Executors",
    "SchedulerUnreachable",
    "CONNECT_TIMEOUT_S",
    "PARENT_POLL_S",
    "RELEASE_WAIT_S",
    "default_workers",
    "kill_workers",
    "make_executor",
    "open_executors",
]

#: Seconds between a pool worker's checks that its parent is alive.
PARENT_POLL_S = 0.25

#: Seconds to wait for a Dask scheduler before giving up.
CONNECT_TIMEOUT_S = 5

#: Seconds :func:`kill_workers` waits for the pools' semaphore names to be released.
RELEASE_WAIT_S = 1.0

#: Every local pool made here and not yet shut down (their workers are killed on abandon).
_POOLS: weakref.WeakSet[cf.ProcessPoolExecutor] = weakref.WeakSet()


def _init_worker(parent: int) -> None:
    """Set up a pool worker: one torch thread, stop signals ignored, the parent watched.

    ``parent``: the pid of the process that made the pool, passed in rather than read
    here: a worker still starting when its parent is killed would read the pid of the
    process it was handed to (init), and then watch that one forever.
    """
    torch.set_num_threads(1)
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


class _WorkerSetup:
    """A pool's initializer: :func:`_init_worker`, and a worker's signal that it started.

    A spawned worker unpickles its arguments in order: the pool's call and result
    queues (opening their semaphores by name), then this initializer. Pickled, it
    is ``itemgetter(1)((os.close(fd), partial(_init_worker, parent)))``: the worker
    first closes its copy of ``fd``, the write end of the pool's ``started`` pipe
    (importing nothing), then imports this module (and torch) to rebuild
    :func:`_init_worker`. Once every worker has closed it (or died), the parent reads
    EOF from the pipe: no worker will open the semaphores by name again.
    """

    def __init__(self, parent: int, started: int) -> None:
        self.parent, self.started = parent, started

    def __call__(self) -> None:  # in the parent only; a worker gets the partial
        _init_worker(self.parent)

    def __reduce__(self):
        fd = context.get_spawning_popen().duplicate_for_child(self.started)  # same number there
        setup = functools.partial(_init_worker, self.parent)
        return operator.itemgetter(1), ((_Closed(fd), setup),)


class _Closed:
    """Pickles as ``os.close(fd)``: closes ``fd`` where it is unpickled."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self):
        return os.close, (self.fd,)


def _watch_parent(parent: int) -> None:
    """Exit this worker at once when its parent ``parent`` (a pid) has gone."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


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
    started, started_w = os.pipe()
    try:
        pool = cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_WorkerSetup(os.getpid(), started_w),
        )
        _POOLS.add(pool)
        # every worker now, rather than one per submit (the pool's way under spawn), so
        # that once they have started none will open the semaphores by name again
        pool._launch_processes()
    finally:
        os.close(started_w)  # the workers have their copies
    threading.Thread(
        target=_release_when_started, args=(started, _named_semaphores(pool)), daemon=True
    ).start()
    return pool


def _named_semaphores(pool: cf.ProcessPoolExecutor) -> list[synchronize.SemLock]:
    """The semaphores of a pool's call and result queues (named, under spawn)."""
    queues = (pool._call_queue, pool._result_queue)
    return [v for q in queues for v in vars(q).values() if isinstance(v, synchronize.SemLock)]


def _release_when_started(started: int, semaphores: Sequence[synchronize.SemLock]) -> None:
    """Release ``semaphores``' names once every worker has closed its end of ``started``.

    (Nothing is written to the pipe: EOF means that each worker has opened the
    semaphores, or died, which breaks the pool for good; no worker is started later.)
    """
    try:
        while os.read(started, 1):
            pass
    finally:
        os.close(started)
    _release_names(semaphores)


def _release_names(semaphores: Sequence[synchronize.SemLock]) -> None:
    """Unlink the names of ``semaphores`` now and tell the resource tracker so.

    Runs the cleanup multiprocessing registered for each of them at creation (a
    ``util.Finalize``, otherwise run when the semaphore is collected or at a normal
    exit); each runs once, whichever thread or exit calls it first.
    """
    ids = {id(s) for s in semaphores}
    for finalizer in list(util._finalizer_registry.values()):
        ref = getattr(finalizer, "_weakref", None)
        if ref is not None and id(ref()) in ids:
            finalizer()


def _worker_processes(pool: cf.Executor) -> list:
    """The live worker processes of a local pool (none for other executors)."""
    processes = getattr(pool, "_processes", None) or {}  # ProcessPoolExecutor's own record
    return [p for p in list(processes.values()) if p.is_alive()]


def kill_workers() -> int:
    """SIGKILL every worker of every local pool still open; return how many were running.

    For abandoning a run (SIGTERM, a second Ctrl-C) just before ``os._exit``: a
    killed worker's shard is lost, the rows already written are not. The names of
    the pools' semaphores are released too (those of a pool whose workers were
    still starting), so that the resource tracker finds nothing left; that is done
    in a helper thread given :data:`RELEASE_WAIT_S`, as the signal handler calling
    this may have interrupted this thread inside the tracker's lock.
    """
    killed, semaphores = 0, []
    for pool in list(_POOLS):
        for process in _worker_processes(pool):
            process.kill()
            killed += 1
        semaphores += _named_semaphores(pool)
    helper = threading.Thread(target=_release_names, args=(semaphores,), daemon=True)
    helper.start()
    helper.join(RELEASE_WAIT_S)
    return killed


class Executors:
    """Where each round of :func:`~.run.run_sweep` runs its shards.

    ``make`` returns a new executor (None: this process). With ``keep``, the
    executor of a round that went cleanly serves the next round and the next
    sweep too (a local process pool: its workers start once, about 5-10 s, and
    keep what they compiled), until :meth:`close`; after a round with a failure
    (perhaps a dead worker, which breaks a pool) it is shut down and replaced.
    Without ``keep`` every round gets a new executor. Calling the object returns
    :meth:`get`'s executor. ``where``: ``"here"`` (this process: shards are never
    pickled), ``"pool"`` (local worker processes) or ``"dask"``.
    """

    def __init__(
        self, make: Callable[[], cf.Executor | None], *, keep: bool = False, where: str = "pool"
    ) -> None:
        self.where = where
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
    """Yield the :class:`Executors` of :func:`~.run.run_sweep` for ``--workers`` / ``--scheduler``.

    With ``scheduler`` (the address of a Dask scheduler; needs the ``dask``
    extra), one ``Client`` is connected for the whole block and closed at its
    end; every round gets a new executor on that client. Without it, one local
    process pool (none for ``workers == 1``) serves every sweep of the block,
    replaced after a round in which a shard failed, and shut down at the end.
    """
    if scheduler is None:
        where = "here" if workers == 1 else "pool"
        executors = Executors(lambda: make_executor(workers), keep=True, where=where)
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
    _check_address(scheduler)
    try:
        client = Client(scheduler, set_as_default=False, timeout=CONNECT_TIMEOUT_S)
    except (OSError, ValueError) as exc:  # refused or timed out; a malformed address
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SchedulerUnreachable(
            f"cannot reach the Dask scheduler at {scheduler}: {first_line}"
        ) from None
    try:
        yield Executors(lambda: make_executor(workers, client), where="dask")
    finally:
        client.close()


def _check_address(scheduler: str) -> None:
    """Refuse an address Dask could not connect to, before any connection is tried.

    An address is ``protocol://host:port`` (``tcp://10.0.0.5:8786``) or ``host:port``;
    ``inproc://`` and other protocols without ports are passed through. (A client
    built on a malformed address fails, then hangs in its own ``__del__``.)
    """
    from distributed.comm import parse_address
    from distributed.comm.addressing import parse_host_port

    try:
        protocol, location = parse_address(scheduler)
        if protocol in ("tcp", "tls", "ws", "wss"):
            parse_host_port(location)
    except (ValueError, TypeError) as exc:
        raise SchedulerUnreachable(
            f"--scheduler {scheduler!r} is not a Dask scheduler address "
            f"(expected protocol://host:port, e.g. tcp://10.0.0.5:8786): {exc}"
        ) from None


def _shutdown(executor: cf.Executor) -> None:
    """Stop ``executor`` without waiting, cancelling shards not yet started.

    ``cancel_futures`` is new in Python 3.9's Executor API; Dask's
    ``ClientExecutor.shutdown`` has only ``wait`` (and ``wait=False`` cancels).
    A local pool's workers stop by themselves once idle: its manager thread, started
    by the first submit, tells them. A pool never given a shard has no such thread,
    and its workers (started with the pool) are killed here, or the interpreter's
    exit would wait for them for ever. Workers that may be running a shard are not
    killed: one killed while sending its result would leave the manager thread
    waiting on half a message, and the exit with it. (Abandoning a run kills them,
    :func:`kill_workers`, and then exits at once.)
    """
    never_used = (
        _worker_processes(executor)  # listed first: shutdown forgets them
        if getattr(executor, "_executor_manager_thread", True) is None
        else []
    )
    try:
        executor.shutdown(wait=False, cancel_futures=True)
    except TypeError:
        executor.shutdown(wait=False)
    for process in never_used:
        process.kill()
        process.join()
    if isinstance(executor, cf.ProcessPoolExecutor):
        _POOLS.discard(executor)


def default_workers(device: str) -> int:
    """One worker per core on CPU; one driver process on a GPU."""
    return 1 if device.startswith("cuda") else max(1, os.cpu_count() or 1)
