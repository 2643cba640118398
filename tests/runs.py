"""Helpers for the tests that run the command line on the ``tiny`` preset.

The session-scoped runs themselves are fixtures in ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
from progfusion.experiments import run as run_module

__all__ = [
    "TABLES",
    "alive",
    "descendants",
    "run_and_kill",
    "start_run",
    "wait_for_part",
    "TinyRun",
    "counting_training",
    "no_training",
    "read_table",
    "tiny_argv",
]

#: The tables of ``progfusion figures``.
TABLES = ("figure4", "figure7", "figure7b", "figure8")


def tiny_argv(out: Path, *args: str, command=("figures",), workers: int = 1) -> list[str]:
    """The command line of a tiny run into ``out``, in ``workers`` processes, no progress bars."""
    return [
        *command, "--preset", "tiny", "--workers", str(workers), "--quiet", "--out", str(out),
        *args,
    ]  # fmt: skip


def read_table(out: Path, name: str) -> pd.DataFrame:
    """``<out>/<name>.csv`` (no column differs between two runs of one command)."""
    return pd.read_csv(out / f"{name}.csv")


def _patched_training(calls: list[int], *, train: bool):
    real = run_module.train_stack

    def train_stack(factory, seeds, *args, **kwargs):
        calls.append(len(seeds))
        if not train:
            raise AssertionError("a model was trained")
        return real(factory, seeds, *args, **kwargs)

    return train_stack


@contextlib.contextmanager
def counting_training() -> Iterator[list[int]]:
    """Train as usual, recording how many models each stack holds."""
    calls: list[int] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "train_stack", _patched_training(calls, train=True))
        yield calls


@contextlib.contextmanager
def no_training() -> Iterator[list[int]]:
    """Make any training fail loudly (and record it): a skipped model never trains."""
    calls: list[int] = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run_module, "train_stack", _patched_training(calls, train=False))
        yield calls


@dataclass(frozen=True)
class TinyRun:
    """A finished tiny run: its folder, the stacks it trained, the executors it made."""

    out: Path
    trained: list[int] = field(default_factory=list)  # models per stack trained
    pools: list[int] = field(default_factory=list)  # workers of each executor made


def start_run(argv: list[str]) -> subprocess.Popen:
    """``progfusion ARGV`` in a subprocess (stderr piped, as text)."""
    command = [sys.executable, "-m", "progfusion.figures.cli", *argv]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_part(proc: subprocess.Popen, parts: Path, *, timeout_s: float = 180) -> bool:
    """Wait until a part file is in ``parts`` (True) or ``proc`` has ended (False)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if any(parts.glob("part-*.csv")):
            return True
        time.sleep(0.005)
    raise AssertionError(f"no part file appeared in {parts} within {timeout_s:.0f} s")


def descendants(pid: int) -> set[int]:
    """Every live (not zombie) process below ``pid``, read from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pids: set[int]) -> set[int]:
    """Those of ``pids`` still running (zombies count as ended)."""
    running = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            running.add(pid)
    return running


def run_and_kill(argv: list[str], parts: Path, *, timeout_s: float = 180) -> int | None:
    """Run ``progfusion ARGV`` in a subprocess; SIGKILL it once a part file is in ``parts``.

    Returns the exit status the process had *before* the kill (None: it was killed).
    """
    proc = start_run(argv)
    try:
        if not wait_for_part(proc, parts, timeout_s=timeout_s):
            return proc.returncode
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        return None
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
