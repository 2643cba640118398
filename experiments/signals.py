"""Stopping a run on SIGINT or SIGTERM: keep what finished, then stop, or abandon at once.

:func:`stop_on_signals` (the command line wraps every training command in it)
installs handlers for SIGINT (Ctrl-C) and SIGTERM (``kill``, a batch scheduler's
time limit):

- SIGINT, the first one, stops the run. While :func:`~.run.run_sweep` waits on a
  pool of workers (inside :func:`finishing`), it hands out no more shards, cancels
  those not started, lets the running ones finish and keeps their rows, then
  raises :class:`Interrupted`. Anywhere else (training in this process, drawing a
  figure) :class:`Interrupted` is raised at once: a shard trained in this process
  is cancelled, and every shard written before it is kept (writes are atomic);
- SIGTERM stops at once: while shards run on a pool it abandons them (as below),
  since a batch scheduler that sends SIGTERM sends SIGKILL soon after (SLURM: 30 s
  later) and waiting for them would buy nothing; anywhere else it raises
  :class:`Interrupted` at once, like SIGINT;
- a second signal, or SIGTERM while shards run on a pool, abandons the running
  shards at once: ``abandon(signum, running)`` kills the pool's workers and writes
  its line to stderr, and the process exits with ``128 + signum`` of that signal
  (130 for SIGINT, 143 for SIGTERM) without unwinding, so no traceback is printed
  and nothing waits. Every shard finished before is kept: its rows were written
  when it finished.

Outside :func:`stop_on_signals` (a library call) nothing is installed, and Ctrl-C
raises :class:`KeyboardInterrupt` as usual.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = [
    "ABANDON_SIGNALS",
    "Interrupted",
    "STOP_SIGNALS",
    "finishing",
    "requested",
    "stop_on_signals",
]

#: The signals that stop a run.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

#: The signals that abandon running shards the first time (SIGINT lets them finish).
ABANDON_SIGNALS = (signal.SIGTERM,)


class Interrupted(KeyboardInterrupt):
    """The run was stopped by signal ``signum``; every finished shard is on disk."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        """``128 + signum``: 130 for SIGINT, 143 for SIGTERM (the shell's convention)."""
        return 128 + self.signum


@dataclass
class _State:
    signum: int | None = None  # the first stop signal received
    count: int = 0  # stop signals received
    finishing: int = 0  # depth of finishing() blocks: a first SIGINT only sets signum
    running: Callable[[], int] | None = None  # the innermost finishing() block's count
    abandon: Callable[[int, int], None] | None = None


_STATE = _State()


def requested() -> int | None:
    """The first stop signal received under :func:`stop_on_signals` (None: none yet).

    Only while its handlers are installed: once another handler is back (the block
    ended, or a caller restored its own), an earlier run's signal stops nothing.
    """
    ours = any(signal.getsignal(s) is _handle for s in STOP_SIGNALS)
    return _STATE.signum if ours else None


@contextlib.contextmanager
def finishing(running: Callable[[], int] | None = None) -> Iterator[None]:
    """A block in which shards run on a pool and :func:`requested` is polled.

    There a first SIGINT raises nothing (the block lets the running shards finish),
    and SIGTERM abandons them at once. ``running()``: how many shards are running,
    for the abandon message (the innermost block's is used).
    """
    outer = _STATE.running
    _STATE.finishing += 1
    _STATE.running = running
    try:
        yield
    finally:
        _STATE.finishing -= 1
        _STATE.running = outer


def _handle(signum: int, _frame) -> None:
    _STATE.count += 1
    if _STATE.signum is None:
        _STATE.signum = signum
    if _STATE.count >= 2 or (_STATE.finishing and signum in ABANDON_SIGNALS):
        _abandon(signum)
    if not _STATE.finishing:
        raise Interrupted(signum)


def _abandon(signum: int) -> None:
    """Abandon the running shards: ``abandon(signum, running)``, then exit at once."""
    if _STATE.abandon is not None:
        running = _STATE.running() if _STATE.running is not None else 0
        _STATE.abandon(signum, running)
    os._exit(128 + signum)  # no unwinding, no atexit joins


@contextlib.contextmanager
def stop_on_signals(abandon: Callable[[int, int], None] | None = None) -> Iterator[None]:
    """Handle SIGINT and SIGTERM as the module says, inside the block (main thread only).

    ``abandon(signum, running)``: called when running shards are abandoned (a
    second signal, or SIGTERM while shards run on a pool), with the signal and how
    many shards were running, just before the process exits (kill workers, write
    one line to stderr; it must not raise). When the block ends with
    :class:`Interrupted` the handlers stay installed, so that a second signal while
    the process exits still abandons cleanly; otherwise the previous handlers are
    put back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    _STATE.signum, _STATE.count, _STATE.finishing, _STATE.abandon = None, 0, 0, abandon
    _STATE.running = None
    for s in STOP_SIGNALS:
        signal.signal(s, _handle)
    try:
        yield
    except Interrupted:
        raise  # keep the handlers: a second signal while exiting still abandons
    except BaseException:
        _restore(previous)
        raise
    else:
        _restore(previous)


def _restore(previous: dict) -> None:
    for s, handler in previous.items():
        signal.signal(s, handler)
    _STATE.abandon = None
