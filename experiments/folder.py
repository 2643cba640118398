"""A results folder (``--out``): one configuration, and a record of every command run in it.

The folder's ``run.json`` holds

- ``configuration``: what every table in the folder was trained with (for the
  figures: root seed, preset, protocol and package version). A command that
  would add results of another configuration is refused before anything is
  trained, unless it is run with ``force`` (``--force``), which first discards the
  folder's results (:func:`discard_results`). More trials of the same
  configuration are not another configuration: they extend the tables;
- ``runs``: one entry per command, appended, never rewritten by a later command
  (its command line, options, versions, device and wall time per table).

:func:`prepare_folder` also checks, before any training, that ``out`` is a folder
(or can be made one), that a file can be written there (a probe file is written
and removed), and that every part file already there can be read
(:func:`~.store.check_parts`). Every refusal is a :class:`FolderError`, a
``ValueError`` whose message is one line.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .store import PartFileError, atomic_write_text, check_parts

__all__ = ["RECORD", "FolderError", "append_run", "discard_results", "prepare_folder", "update_run"]

#: The record's file name inside ``--out``.
RECORD = "run.json"
#: The files of each table ``<name>``: its parts, the table, its images and its study.
_TABLE_FILES = ("csv", "png", "pdf", "toml")


class FolderError(ValueError):
    """``--out`` cannot take this command's results (one line says why and what to do)."""


def _read_record(out: Path) -> dict[str, Any]:
    path = out / RECORD
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FolderError(
            f"{path} cannot be read ({type(exc).__name__}); delete it, or use --force "
            "to discard the folder's results"
        ) from None
    if not isinstance(record, dict):
        raise FolderError(f"{path} is not a progfusion run record; delete it or use --force")
    if "configuration" not in record:  # a record of an earlier version: one command's
        record = {"runs": [record]}
    return record


def _check_writable(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise FolderError(f"--out {out} is a file, not a folder: name a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=out, prefix=".progfusion-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise FolderError(
            f"--out {out} is not writable ({exc.strerror or type(exc).__name__}): name another"
        ) from None


def _describe(config: dict[str, Any], keys: list[str]) -> str:
    return ", ".join(f"{k} {config.get(k, '(none)')}" for k in keys)


def prepare_folder(
    out: Path, configuration: dict[str, Any], *, force: bool = False, also: Sequence[str] = ()
) -> None:
    """Make ``out`` ready for results of ``configuration`` (JSON-serialisable), or refuse.

    Raises :class:`FolderError` when ``out`` is a file or not writable, when one of
    its part files is damaged, or when it holds results of another configuration
    and ``force`` is false. With ``force``, the other configuration's results are
    discarded first (:func:`discard_results`, with the files ``also`` names). On
    return ``out`` records ``configuration``.
    """
    out = Path(out)
    _check_writable(out)
    record = _read_record(out)
    held = record.get("configuration")
    configuration = json.loads(json.dumps(configuration))  # as it reads back from the file
    if held is not None and held != configuration:
        if not force:
            keys = [
                k for k in sorted({*held, *configuration}) if held.get(k) != configuration.get(k)
            ]
            raise FolderError(
                f"--out {out} holds results of {_describe(held, keys)}; this command's are "
                f"{_describe(configuration, keys)}: use another --out, or --force to discard them"
            )
        discard_results(out, also)
        record = {}
    try:
        check_parts(out)
    except PartFileError as exc:
        raise FolderError(str(exc)) from None
    if held != configuration:
        _write(out, {"configuration": configuration, "runs": record.get("runs", [])})


def discard_results(out: Path, also: Sequence[str] = ()) -> None:
    """Delete what runs wrote into ``out``: each table with its parts, images and study,
    the record, and the files named in ``also`` (what a caller writes beside the tables).

    A table is any ``<name>.parts`` folder, with ``<name>.csv``, ``.png``, ``.pdf`` and
    ``.toml`` beside it. Nothing else in the folder is touched (a study file of another
    name kept there stays).
    """
    out = Path(out)
    for parts in out.glob("*.parts"):
        name = parts.name.removesuffix(".parts")
        shutil.rmtree(parts)
        for ext in _TABLE_FILES:
            (out / f"{name}.{ext}").unlink(missing_ok=True)
    for name in (*also, RECORD):
        (out / name).unlink(missing_ok=True)


def append_run(out: Path, entry: dict[str, Any]) -> int:
    """Add one command's ``entry`` to ``out``'s record; return its index for :func:`update_run`."""
    record = _read_record(Path(out))
    record.setdefault("runs", []).append(entry)
    _write(Path(out), record)
    return len(record["runs"]) - 1


def update_run(out: Path, index: int, changes: dict[str, Any]) -> None:
    """Update the entry ``index`` of ``out``'s record with ``changes`` (e.g. its wall times)."""
    record = _read_record(Path(out))
    record["runs"][index].update(changes)
    _write(Path(out), record)


def _write(out: Path, record: dict[str, Any]) -> None:
    atomic_write_text(out / RECORD, json.dumps(record, indent=2, sort_keys=True) + "\n")
