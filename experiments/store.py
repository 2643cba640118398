"""A resumable, crash-safe results table: one CSV per figure, one row per trained model.

Finished shards are written as part files (``<table>.parts/part-<hash>.csv``), each
written to a temporary file and renamed into place, so a crash (even SIGKILL)
never leaves a half-written file. After every part, the table itself is rebuilt
from the parts and replaced atomically. On a rerun, rows whose ``job_id`` and
``config`` match the current run count as done and are not trained again; rows of
another configuration stay in their part files but are left out of the table.
Rows with status ``"failed"`` do not count as done: a rerun retries them.

Without a folder (``out=None``) the part files are kept in memory, read back
through the same CSV parser, so a table is the same wherever it was kept.

A part file that cannot be read, is empty or was cut short (damaged by hand or
by a full disk: a part is always written whole and ends with a newline) raises
:class:`PartFileError`, naming the file and what to do: delete it, and the next
run trains its models again. :func:`check_parts` checks a whole folder before
anything is trained.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["PartFileError", "ResultsStore", "atomic_write_text", "check_parts", "config_hash"]

#: The columns every part file has.
PART_COLUMNS = ("job_id", "status", "config")


class PartFileError(ValueError):
    """A part file of a results folder is unreadable, empty or truncated."""


def _parse_part(text: str, name: str) -> pd.DataFrame:
    """The rows of one part file, or a :class:`PartFileError` naming it and the way out."""
    fix = "delete it and rerun: its models are trained again"
    if not text.strip():
        raise PartFileError(f"{name} is empty; {fix}")
    if not text.endswith("\n"):
        raise PartFileError(f"{name} is truncated (its last row is cut short); {fix}")
    try:
        part = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise PartFileError(f"{name} is not a valid part file ({exc}); {fix}") from None
    missing = [c for c in PART_COLUMNS if c not in part.columns]
    if missing or part[list(PART_COLUMNS)].isna().any().any():
        raise PartFileError(
            f"{name} is not a whole part file (missing {missing or 'values'}); {fix}"
        )
    return part


def _read_part_file(path: Path) -> pd.DataFrame:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise PartFileError(
            f"{path} cannot be read ({reason}); delete it and rerun: its models are trained again"
        ) from None
    return _parse_part(text, str(path))


def check_parts(folder: Path) -> None:
    """Read every part file of every table in ``folder``: a :class:`PartFileError` if one is bad."""
    for path in sorted(Path(folder).glob("*.parts/part-*.csv")):
        _read_part_file(path)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


def config_hash(config: Any) -> str:
    """A short stable hash of a JSON-serialisable configuration."""
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha1(blob).hexdigest()[:12]


class ResultsStore:
    """The table ``<out>/<name>.csv`` and its part files.

    Parameters
    ----------
    out
        Output folder (None: parts kept in memory, no file written).
    name
        Table name without extension (e.g. ``"figure7"``).
    config
        Hash of the run configuration; rows of other configurations are ignored.
    order
        Every ``job_id`` of the run, in table order: the table is sorted by it,
        so the same run always yields the same table, however it was interrupted.
    columns
        The label columns of the rows in table order (their union over the run's
        jobs): the table's columns start with these, then the results in the order
        training writes them, ``error`` last, whichever part file was written first.
    """

    def __init__(
        self,
        out: Path | None,
        name: str,
        config: str,
        order: Sequence[str],
        columns: Sequence[str] = (),
    ) -> None:
        self.path = Path(out) / f"{name}.csv" if out is not None else None
        self.parts = Path(out) / f"{name}.parts" if out is not None else None
        self.config = config
        self.rank = {job_id: i for i, job_id in enumerate(order)}
        self.columns = tuple(columns)
        self._memory: dict[str, str] = {}  # part name -> CSV text, when out is None

    def _part_frames(self) -> list[pd.DataFrame]:
        if self.parts is None:
            return [_parse_part(self._memory[name], name) for name in sorted(self._memory)]
        return [_read_part_file(p) for p in sorted(self.parts.glob("part-*.csv"))]

    def _ordered(self, table: pd.DataFrame) -> list[str]:
        """The table's columns: labels in run order, results as training writes them, error."""
        labels = [c for c in self.columns if c in table.columns]
        rest = [c for c in table.columns if c not in labels and c != "error"]
        return labels + rest + (["error"] if "error" in table.columns else [])

    def _read_parts(self) -> pd.DataFrame:
        frames = self._part_frames()
        if not frames:
            return pd.DataFrame()
        # parts of trained models first: their columns (in the order training writes
        # them) lead, whether or not a part of failed models was written before them
        frames.sort(key=lambda frame: bool(frame["status"].eq("failed").any()))
        table = pd.concat(frames, ignore_index=True)
        table = table[(table["config"] == self.config) & table["job_id"].isin(self.rank)]
        # a model found in several parts (it failed, and a rerun retried it): a
        # finished row beats a "failed" one whatever the order of the part files
        failed = table["status"].eq("failed").to_numpy()
        table = pd.concat([table[failed], table[~failed]], ignore_index=True)
        return table.drop_duplicates("job_id", keep="last")

    def done(self) -> set[str]:
        """``job_id`` of every finished row of this configuration.

        Rows with status ``"failed"`` (a worker error, not a training outcome) do
        not count: a rerun trains them again.
        """
        table = self._read_parts()
        return set(table.loc[table["status"] != "failed", "job_id"]) if len(table) else set()

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        """Save one finished shard's rows, then rebuild the table."""
        rows = [dict(r, config=self.config) for r in rows]
        if not rows:
            return
        digest = hashlib.sha1("\n".join(r["job_id"] for r in rows).encode()).hexdigest()[:16]
        buf = io.StringIO()
        pd.DataFrame(rows).to_csv(buf, index=False)
        if self.parts is None:
            self._memory[f"part-{digest}.csv"] = buf.getvalue()
        else:
            atomic_write_text(self.parts / f"part-{digest}.csv", buf.getvalue())
            self.rebuild()

    def rebuild(self) -> pd.DataFrame:
        """Write the table from the parts (sorted in run order) and return it."""
        table = self._read_parts()
        if len(table):
            table = table.assign(_rank=table["job_id"].map(self.rank))
            table = table.sort_values("_rank").drop(columns="_rank").reset_index(drop=True)
            table = table[self._ordered(table)]
        if self.path is not None:
            buf = io.StringIO()
            table.to_csv(buf, index=False)
            atomic_write_text(self.path, buf.getvalue())
        return table
