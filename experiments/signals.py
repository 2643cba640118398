"""Stopping a run on SIGINT or SIGTERM: keep what finished, then stop, or abandon at once.

:func:`stop_on_signals` (the command line wraps every training command in it)
installs handlers for SIGINT (Ctrl-C) and SIGTERM (``kill``, a SLURM time limit):

- the first signal stops the run. While :func:`~.run.run_sweep` waits on a pool of
  workers (inside :func:`finishing`), it hands out no more shards, cancels those
  not started, lets the running ones finish and keeps their rows, then raises
  :class:`Interrupted`. Anywhere else (training in this process, drawing a
  figure) :class:`Interrupted` is raised at once: a shard trained in this process
  is cancelled, and every shard written before it is kept (writes are atomic);
- a second signal abandons the running shards at once: the pool's workers are
  killed, ``abandon_message`` is written to stderr and the process exits with
  ``128 + signal number`` (130 for SIGINT, 143 for SIGTERM) without unwinding,
  so no traceback is printed and nothing waits.

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

__all__ = ["Interrupted", "STOP_SIGNALS", "finishing", "requested", "stop_on_signals"]

#: The signals that stop a run.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


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
    finishing: int = 0  # depth of finishing() blocks: a first signal only sets signum
    abandon: Callable[[int], None] | None = None


_STATE = _State()


def requested() -> int | None:
    """The first stop signal received under :func:`stop_on_signals` (None: none yet).

    Only while its handlers are installed: once another handler is back (the block
    ended, or a caller restored its own), an earlier run's signal stops nothing.
    """
    ours = any(signal.getsignal(s) is _handle for s in STOP_SIGNALS)
    return _STATE.signum if ours else None


@contextlib.contextmanager
def finishing() -> Iterator[None]:
    """A block that polls :func:`requested` itself: a first signal there raises nothing."""
    _STATE.finishing += 1
    try:
        yield
    finally:
        _STATE.finishing -= 1


def _handle(signum: int, _frame) -> None:
    _STATE.count += 1
    if _STATE.signum is None:
        _STATE.signum = signum
    if _STATE.count >= 2:
        if _STATE.abandon is not None:
            _STATE.abandon(_STATE.signum)
        os._exit(128 + _STATE.signum)  # abandon: no unwinding, no atexit joins
    if not _STATE.finishing:
        raise Interrupted(signum)


@contextlib.contextmanager
def stop_on_signals(abandon: Callable[[int], None] | None = None) -> Iterator[None]:
    """Handle SIGINT and SIGTERM as the module says, inside the block (main thread only).

    ``abandon(signum)``: called on the second signal, just before the process
    exits (kill workers, write one line to stderr; it must not raise). When the
    block ends with :class:`Interrupted` the handlers stay installed, so that a
    second signal while the process exits still abandons cleanly; otherwise the
    previous handlers are put back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be installed from the main thread
        return
    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    _STATE.signum, _STATE.count, _STATE.finishing, _STATE.abandon = None, 0, 0, abandon
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
