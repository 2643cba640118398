"""Models that failed: counted per design, named by their first cell and error.

A model *fails* when its factory, forward or loss raises, or its worker dies (status
``failed``, the error in the ``error`` column); a model *diverges* when its loss
becomes NaN or infinite (status ``diverged``), which is an outcome of training, not
a failure of the run. :func:`~.run.run_study` raises :class:`StudyError` when models
failed (``errors="raise"``, the default), or keeps them as rows
(``errors="record"``, what the command line does); either way every summary
counts both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = ["DesignFailures", "StudyError", "failure_message", "failures_by_design"]


@dataclass(frozen=True)
class DesignFailures:
    """The failed models of one design: how many of how many, and the first one's place."""

    design: str
    failed: int
    models: int
    first_cell: str  # "eta=0, R=2" ("" for a study without a grid)
    first_trial: int
    first_error: str

    def describe(self) -> str:
        where = (
            f"{self.first_cell}, trial {self.first_trial}"
            if self.first_cell
            else (f"trial {self.first_trial}")
        )
        return (
            f"{self.design!r}: {self.failed} of {self.models} failed, the first at {where}: "
            f"{self.first_error}"
        )


def failures_by_design(table: pd.DataFrame, axes: Sequence[str] = ()) -> list[DesignFailures]:
    """One entry per design with a ``failed`` model, in the table's design order.

    ``axes``: the grid's columns, to name a model's cell.
    """
    if "status" not in table or not (table["status"] == "failed").any():
        return []
    found = []
    for design, rows in table.groupby("design", sort=False):
        failed = rows[rows["status"] == "failed"]
        if failed.empty:
            continue
        first = failed.iloc[0]
        cell = ", ".join(f"{a}={first[a]}" for a in axes if a in failed)
        error = first["error"] if "error" in failed and isinstance(first["error"], str) else "?"
        found.append(
            DesignFailures(str(design), len(failed), len(rows), cell, int(first["trial"]), error)
        )
    return found


def failure_message(table: pd.DataFrame, axes: Sequence[str], where: str) -> str:
    """One paragraph: how many models failed, per design the first one, and where to look."""
    per_design = failures_by_design(table, axes)
    total = sum(f.failed for f in per_design)
    lines = [f"{total} of {len(table)} models failed; see the error column of {where}"]
    lines += [f"  design {f.describe()}" for f in per_design]
    return "\n".join(lines)


class StudyError(RuntimeError):
    """Models of a study failed (see :mod:`.failures`).

    ``table``: the whole table, failed rows included (the folder keeps it too:
    rerunning retries only the failed models); ``failures``: per design.
    """

    def __init__(self, table: pd.DataFrame, axes: Sequence[str], where: str) -> None:
        super().__init__(failure_message(table, axes, where))
        self.table = table
        self.failures = failures_by_design(table, axes)
