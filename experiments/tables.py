"""Reading a results table back: the one reader, with its checks.

A table written by the engine (``<name>.csv``) or published (``<name>.csv.gz``) is
read by :func:`read_results_table`, which refuses (a ``ValueError`` naming the file
and the fault) a table that is not one, is empty or truncated, holds a model twice,
or mixes configurations (its ``config`` column holds more than one value) or
figures (its ``figure`` label). ``progfusion plot``, the report and publishing all
read through it.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd

__all__ = ["REQUIRED", "read_results_table", "split_name", "table_path"]

#: Columns every results table has.
REQUIRED = ("job_id", "design", "status")


def split_name(path: Path) -> tuple[str, str]:
    """``figure7.csv.gz`` as (``figure7``, ``.csv.gz``), ``figure7.csv`` as (..., ``.csv``)."""
    path = Path(path)
    suffix = ".csv.gz" if path.name.endswith(".csv.gz") else path.suffix
    return path.name[: len(path.name) - len(suffix)], suffix


def table_path(beside: Path, name: str) -> Path:
    """The table called ``name`` beside the table ``beside``, with its suffix."""
    beside = Path(beside)
    return beside.parent / f"{name}{split_name(beside)[1]}"


def read_results_table(path: Path) -> pd.DataFrame:
    """Read a results table, refusing one that is damaged or mixed (see the module)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such table: {path}")
    try:
        text = path.read_bytes()
        if split_name(path)[1] == ".csv.gz":
            text = gzip.decompress(text)
        table = pd.read_csv(io.BytesIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError, EOFError) as exc:  # fmt: skip
        raise ValueError(f"{path} is not a progfusion results table ({exc})") from None
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing or not len(table):
        raise ValueError(f"{path} is not a progfusion results table (or is empty)")
    if not text.endswith(b"\n") or table[list(REQUIRED)].isna().any().any():
        raise ValueError(f"{path} is truncated (its last row is cut short): rerun its command")
    duplicated = table["job_id"].duplicated()
    if duplicated.any():
        first = table.loc[duplicated, "job_id"].iloc[0]
        raise ValueError(f"{path} holds {int(duplicated.sum())} duplicated rows (e.g. {first})")
    for column, what in (("config", "configurations (seeds or settings)"), ("figure", "figures")):
        if column in table.columns and table[column].nunique(dropna=False) > 1:
            raise ValueError(f"{path} mixes {table[column].nunique(dropna=False)} {what}")
    return table
