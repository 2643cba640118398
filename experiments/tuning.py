"""Tuning with one budget for all: choose each design's setting on the validation split.

A tuned comparison trains every design at every candidate setting (a grid over, say,
``lr`` and ``width``: the same candidates for every design), then keeps, per design,
cell and trial, the model with the lowest validation loss; the comparison reads the
kept models' test metrics. :func:`select_tuned` is that choice, a pure function of
the table: the kept rows keep their candidate columns (the chosen values), and
``candidates`` counts how many trained models each choice was made among. A
(design, cell, trial) none of whose models trained ``ok`` is left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .analysis import ok_rows

__all__ = ["select_tuned"]


def select_tuned(
    table: pd.DataFrame, tuned: Sequence[str], keys: Sequence[str], score: str = "val_loss"
) -> pd.DataFrame:
    """One row per design and ``keys`` (cell axes and ``trial``): the ok model of lowest
    ``score`` among the values of the ``tuned`` columns (ties: the first in table order).

    Parameters
    ----------
    table
        One row per trained model, with ``design``, ``status``, ``score``, the
        ``tuned`` columns and the ``keys`` columns.
    tuned
        The columns that hold the candidates (``["lr", "width"]``); they must not be
        among ``keys``.
    keys
        The columns that pair models across designs (the other grid axes, ``trial``).

    Returns
    -------
    The kept rows in table order, with a column ``candidates``: the ok models the
    choice was made among.
    """
    overlap = sorted(set(tuned) & set(keys))
    if overlap:
        raise ValueError(f"tuned and keys share {overlap}: a tuned column cannot pair models")
    missing = [c for c in ("design", "status", score, *tuned, *keys) if c not in table.columns]
    if missing:
        raise ValueError(f"table: no column {missing[0]!r} (needed to select tuned models)")
    ok = ok_rows(table).dropna(subset=[score])
    groups = ok.groupby(["design", *keys], sort=False)[score]
    kept = ok.loc[groups.idxmin()].assign(candidates=groups.size().to_numpy())
    return kept.sort_index()
