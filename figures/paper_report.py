"""``docs/paper-report.md``: the report of the published run, its numbers generated.

The file is hand-written prose around one generated block (between
``<!-- paper-report:start -->`` and ``<!-- paper-report:end -->``): the part of
``progfusion report``'s REPORT.md that comes from the tables
(:func:`.report.tables_section`: each figure's image and section, then the
empirical claims and verdicts), rendered from the published tables (:mod:`.publish`), with
the images drawn beside them. ``progfusion report --paper-report FILE`` rewrites
the block; :func:`check_paper_report` names it when it differs from the tables,
so a hand edit of a number fails a test. The block ends with how the tables were made:
the models per table and the commands that wrote them, read from the published
``run.json`` and ``gap-run.json`` (:func:`provenance`), with no path of the machine
they ran on (:func:`portable_command`).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path, PurePath

import pandas as pd
from progfusion.theory.blocks import check_file, rewrite_file

from .report import status_counts, tables_section

__all__ = [
    "MARKERS",
    "PAPER_REPORT",
    "check_paper_report",
    "load_runs",
    "portable_command",
    "portable_run",
    "provenance",
    "render",
    "update_paper_report",
]

#: Where the paper report lives, relative to the repository root.
PAPER_REPORT = Path("docs/paper-report.md")
#: Its generated block.
MARKERS = {"paper-report": ("<!-- paper-report:start -->", "<!-- paper-report:end -->")}


def _configuration(results: Path) -> str:
    """The published runs' configurations, from ``results/run.json`` and, when the gap
    study was trained apart, ``results/gap-run.json`` (empty if neither is there)."""
    described = []
    for name, prefix in (("run.json", ""), ("gap-run.json", "gap study: ")):
        path = Path(results) / name
        if not path.is_file():
            continue
        config = json.loads(path.read_text(encoding="utf-8")).get("configuration", {})
        keys = ("preset", "protocol", "root_seed")
        parts = [f"{key} `{config[key]}`" for key in keys if key in config]
        if parts:
            described.append(prefix + ", ".join(parts))
    return f" ({'; '.join(described)})" if described else ""


#: The options whose value is a folder of the machine a command ran on.
FOLDER_OPTIONS = ("--out", "--gap-out")


def portable_command(command: str) -> str:
    """``command`` (a ``run.json`` command line) with each ``--out`` and ``--gap-out``
    folder by its name alone: ``--out /work/paper-out`` becomes ``--out paper-out``,
    so that nothing published names a path of the machine it ran on."""
    try:
        words = shlex.split(command)
    except ValueError:  # not a shell line: the folders' values cannot be told apart
        return command
    portable = []
    for i, word in enumerate(words):
        option, equals, value = word.partition("=")
        if equals and option in FOLDER_OPTIONS:
            word = f"{option}={PurePath(value).name or value}"
        elif i and words[i - 1] in FOLDER_OPTIONS:
            word = PurePath(word).name or word
        portable.append(word)
    return shlex.join(portable)


def portable_run(run: dict) -> dict:
    """A ``run.json`` entry as published: its command through :func:`portable_command`
    and its ``out`` and ``gap_out`` options by their folders' names alone."""
    run = dict(run)
    if isinstance(run.get("command"), str):
        run["command"] = portable_command(run["command"])
    if isinstance(run.get("options"), dict):
        run["options"] = {
            key: (PurePath(value).name or value)
            if key in ("out", "gap_out") and isinstance(value, str) and value != "None"
            else value
            for key, value in run["options"].items()
        }
    return run


def load_runs(results: Path) -> list[dict]:
    """The commands that made the published tables: every ``runs`` entry of
    ``results/run.json`` and then of ``gap-run.json`` (empty when neither is there)."""
    runs = []
    for name in ("run.json", "gap-run.json"):
        path = Path(results) / name
        if path.is_file():
            runs += json.loads(path.read_text(encoding="utf-8")).get("runs", [])
    return runs


def provenance(runs: Sequence[dict]) -> list[str]:
    """One line per command that wrote into the published folders: the command (its
    folders by name, :func:`portable_command`), the device (a CPU by its model and core
    count), torch's version, when it started and its wall time per table."""
    lines = []
    for run in runs:
        walls = run.get("wall_seconds") or {}
        took = ", ".join(f"{name} {seconds / 60:.1f} min" for name, seconds in walls.items())
        torch_version = run.get("versions", {}).get("torch", "?")
        where = f"{run.get('device', '?')}, {run.get('device_name', '?')}, torch {torch_version}"
        command = portable_command(run.get("command", "?"))
        lines.append(
            f"- `{command}` ({where}, started {run.get('started', '?')}): "
            f"{took or 'stopped before a figure finished (its finished stacks were kept)'}"
        )
    return lines


def _how_made(tables: dict[str, pd.DataFrame], results: Path) -> list[str]:
    published = [n for n in tables if (Path(results) / f"{n}.csv.gz").is_file()]
    counts = ", ".join(f"{name} {len(tables[name]):,.0f}" for name in published)
    lines = ["## How the tables were made", "", f"Models per table: {counts}."]
    runs = load_runs(results)
    if runs:
        lines += ["", "The commands that wrote them (wall time per table):", ""]
        lines += provenance(runs)
    return lines


def render(tables: dict[str, pd.DataFrame], results: Path, report: Path) -> dict[str, str]:
    """The block's text, from ``tables`` (those published in ``results``), for the file
    ``report`` (the images are referred to relative to it)."""
    images = Path(os.path.relpath(Path(results).resolve(), Path(report).resolve().parent))
    lines = [
        f"Generated by `progfusion report --paper-report` from the published tables in "
        f"`{images.as_posix()}/`{_configuration(results)}; do not edit by hand. "
        f"{status_counts(tables)}",
        "",
        *tables_section(tables, images=f"{images.as_posix()}/"),
    ]
    while lines and not lines[-1].strip():
        lines.pop()
    lines += ["", *_how_made(tables, results)]
    return {"paper-report": "\n".join(lines)}


def update_paper_report(path: Path, tables: dict[str, pd.DataFrame], results: Path) -> None:
    """Rewrite the block of the paper report at ``path`` (ValueError when a marker is missing)."""
    rewrite_file(path, render(tables, results, path), MARKERS, "paper_report")


def check_paper_report(path: Path, tables: dict[str, pd.DataFrame], results: Path) -> list[str]:
    """``["paper-report"]`` when the block at ``path`` differs from the tables (or is missing)."""
    return check_file(path, render(tables, results, path), MARKERS)
