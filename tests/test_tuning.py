"""Tuning with one budget for all (issue 26, item 1): the choice on the validation split.

A table small enough to read: two designs, two trials, three learning rates; the kept
model is the one of lowest validation loss per design and trial, a failed or diverged
candidate is never kept, and a tuned column cannot also pair models.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from progfusion.experiments.tuning import select_tuned


def _table() -> pd.DataFrame:
    rows = []
    val = {  # (design, trial) -> val_loss at lr 3e-4, 1e-3, 3e-3
        ("late", 0): (0.5, 0.3, 0.4),
        ("late", 1): (0.2, 0.3, 0.1),
        ("pro", 0): (0.6, 0.7, np.nan),
        ("pro", 1): (0.9, 0.8, 0.7),
    }
    for (design, trial), losses in val.items():
        for lr, loss in zip((3e-4, 1e-3, 3e-3), losses, strict=True):
            status = "ok" if loss == loss else "diverged"
            rows.append({"design": design, "trial": trial, "lr": lr, "val_loss": loss,
                         "test_mse": 10 * loss, "status": status})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_lowest_validation_loss_is_kept_per_design_and_trial() -> None:
    kept = select_tuned(_table(), ["lr"], ["trial"])
    chosen = {(r.design, r.trial): r.lr for r in kept.itertuples()}
    assert chosen == {("late", 0): 1e-3, ("late", 1): 3e-3, ("pro", 0): 3e-4, ("pro", 1): 3e-3}
    assert list(kept["candidates"]) == [3, 3, 2, 3]  # pro's trial 0: one candidate diverged
    assert list(kept.index) == sorted(kept.index)  # table order


def test_a_failed_candidate_is_never_kept() -> None:
    table = _table()
    table.loc[(table["design"] == "late") & (table["lr"] == 3e-3), "status"] = "failed"
    kept = select_tuned(table, ["lr"], ["trial"])
    assert kept.set_index(["design", "trial"]).loc[("late", 1), "lr"] == 3e-4


def test_a_tuned_column_cannot_pair_models() -> None:
    with pytest.raises(ValueError, match="tuned and keys share"):
        select_tuned(_table(), ["lr"], ["lr", "trial"])
    with pytest.raises(ValueError, match="no column 'width'"):
        select_tuned(_table(), ["width"], ["trial"])
