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
    "run_and_kill",
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


def run_and_kill(argv: list[str], parts: Path, *, timeout_s: float = 180) -> int | None:
    """Run ``progfusion ARGV`` in a subprocess; SIGKILL it once a part file is in ``parts``.

    Returns the exit status the process had *before* the kill (None: it was killed).
    """
    command = [sys.executable, "-m", "progfusion.figures.cli", *argv]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return proc.returncode
            if any(parts.glob("part-*.csv")):
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return None
            time.sleep(0.005)
        raise AssertionError(f"no part file appeared in {parts} within {timeout_s:.0f} s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
