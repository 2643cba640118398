"""The run record: what a command or a ``run_study`` call ran, where, and how long.

Every run appends one entry to its folder's ``run.json`` (:mod:`.folder` keeps the
file): the command line, the study's protocol and root seed (or a preset's sizes),
the options, the device and its name (a CPU by model name and core count), package
and Python versions, the start time, and the wall seconds per table as they finish.
A table itself holds nothing that differs between two runs of the same command;
whatever does lives here.
"""

from __future__ import annotations

import platform
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from .folder import append_run, update_run

__all__ = ["cpu_model_names", "device_name", "finish_record", "start_record", "versions"]

#: The packages whose versions every record names.
LIBRARIES = ("progfusion", "torch", "numpy", "scipy", "sympy", "pandas", "matplotlib", "seaborn")


def versions() -> dict[str, str]:
    """The installed version of each of :data:`LIBRARIES` (``"not installed"`` if absent)."""
    found = {}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover
            found[name] = "not installed"
    return found


def cpu_model_names() -> list[str]:
    """The ``model name`` of each core in ``/proc/cpuinfo`` (Linux); empty elsewhere."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return []
    return [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]


def device_name(device: str) -> str:
    """A GPU's name, or the CPU's model name and core count (``"cpu"`` when unknown)."""
    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    names = cpu_model_names()
    if names:
        return f"{names[0]} ({len(names)} cores)"
    return f"{platform.processor() or platform.machine()} CPU"


def start_record(
    out: Path,
    *,
    command: Sequence[str] | None,
    device: str,
    root_seed: int,
    options: Mapping[str, Any] | None = None,
    **details: Any,
) -> int:
    """Append this run's entry to ``out/run.json``; return its index for :func:`finish_record`.

    ``command``: the command line's words after ``progfusion`` (None: a Python call,
    recorded as the script's own command line); ``details``: what else describes
    the run (the study's ``protocol``, a figure command's ``preset``).
    """
    if command is None:
        line = shlex.join([Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]])
    else:
        line = shlex.join(["progfusion", *command])
    entry = {
        "command": line,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **details,
        "options": {k: str(v) for k, v in (options or {}).items()},
        "root_seed": root_seed,
        "device": device,
        "device_name": device_name(device),
        "versions": versions(),
        "python": platform.python_version(),
        "wall_seconds": {},
    }
    return append_run(out, entry)


def finish_record(out: Path, index: int, wall_seconds: Mapping[str, float]) -> None:
    """Record the wall seconds per table (rounded to 0.01 s) in entry ``index``."""
    update_run(out, index, {"wall_seconds": {k: round(v, 2) for k, v in wall_seconds.items()}})
