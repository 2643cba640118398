"""The result columns of a study table: written here, and parsed back here.

A table has one row per trained model. Besides the columns that describe the
model (the study's labels, one column per grid axis and per parameter, ``design``,
``trial``, ``data_seed``, ``seed``), training writes these:

========================  ==========================================================
``status``                ``ok``, ``diverged`` or ``failed`` (a worker error)
``steps``, ``best_step``  optimiser steps taken; step of the kept weights
``val_loss``, ``test_loss``  at the kept weights
``test_<metric>``         ``test_accuracy`` (classification) or ``test_mse``
``test_<name>``           each extra metric the study names (:mod:`.scores`)
``<metric>_noise_<l>``    the metric on test inputs corrupted at noise level ``l``
``<metric>_x<m>_...``     modality ``m`` alone corrupted, or missing (:mod:`.modalities`)
``<metric>_step_<s>``     the test metric after ``s`` steps (``record_steps``)
``n_params``              the model's parameter count (nominal)
``n_params_effective``    its parameters with each chain of bias-free linear maps in
                          series counted as the one map it computes
``flops_per_sample``      multiply-adds of one forward pass of one sample
                          (:mod:`progfusion.models.counting`)
``config``                hash of the study's configuration (the store's fingerprint)
``error``                 the worker's error, for ``failed`` rows
========================  ==========================================================

No column holds a timing or anything else that differs between two runs of the
same command, so tables are bit-identical from run to run (wall times are kept
in ``run.json``, one entry per command).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "METRICS",
    "RESULT_COLUMNS",
    "failed_rows",
    "metric_of",
    "noise_column",
    "noise_columns",
    "result_rows",
    "step_column",
    "step_columns",
    "test_column",
]

#: The test metric of each objective.
METRICS = {"classification": "accuracy", "regression": "mse"}

#: Columns that training writes for every model (besides the per-level and per-step ones).
RESULT_COLUMNS = ("status", "steps", "best_step", "val_loss", "test_loss")


def metric_of(objective: str) -> str:
    """``"accuracy"`` or ``"mse"``, the metric of ``objective``."""
    return METRICS[objective]


def test_column(metric: str) -> str:
    return f"test_{metric}"


def noise_column(metric: str, level: float) -> str:
    return f"{metric}_noise_{level:g}"


def step_column(metric: str, step: int) -> str:
    return f"{metric}_step_{step}"


def result_rows(
    labels: Iterable[dict[str, Any]],
    results: Sequence,
    config,
    extra: Sequence[dict[str, float]] | None = None,
    modalities: Sequence[dict[str, float]] | None = None,
) -> list[dict[str, Any]]:
    """Table rows of one trained stack: each job's labels followed by its results.

    ``results``: :class:`~progfusion.models.training.ModelResult` per job; ``config``:
    the stack's :class:`~progfusion.models.protocol.TrainConfig`; ``extra``: per job,
    the study's extra metrics (``test_<name>`` columns, after the test metric);
    ``modalities``: per job, the per-modality columns (:mod:`.modalities`, after the
    noise columns).
    """
    metric = metric_of(config.objective)
    rows = []
    extra = extra if extra is not None else [{} for _ in results]
    modalities = modalities if modalities is not None else [{} for _ in results]
    for label, res, more, alone in zip(labels, results, extra, modalities, strict=True):
        row = dict(label)
        row.update(
            status=res.status,
            steps=res.steps,
            best_step=res.best_step,
            val_loss=res.val_loss,
            test_loss=res.test_loss,
        )
        row[test_column(metric)] = res.test_metric
        row.update(more)
        for level, value in zip(config.noise_levels, res.noise_metric, strict=False):
            row[noise_column(metric, level)] = value
        row.update(alone)
        for step in config.record_steps:
            row[step_column(metric, step)] = res.recorded.get(step, float("nan"))
        rows.append(row)
    return rows


def failed_rows(labels: Iterable[dict[str, Any]], error: BaseException) -> list[dict[str, Any]]:
    """Rows for jobs whose worker failed: status ``failed`` and the error's first 200 characters."""
    message = f"{type(error).__name__}: {error}"[:200]
    return [dict(label, status="failed", error=message) for label in labels]


def _suffixed(table: pd.DataFrame, prefix: str) -> list[tuple[float, str]]:
    found = []
    for column in table.columns:
        if column.startswith(prefix):
            try:
                found.append((float(column[len(prefix) :]), column))
            except ValueError:
                continue
    return sorted(found)


def noise_columns(table: pd.DataFrame, metric: str = "mse") -> tuple[np.ndarray, list[str]]:
    """Noise levels (ascending) and their ``<metric>_noise_<level>`` columns."""
    found = _suffixed(table, f"{metric}_noise_")
    return np.array([level for level, _ in found]), [column for _, column in found]


def step_columns(table: pd.DataFrame, metric: str = "mse") -> tuple[list[int], list[str]]:
    """Recorded steps (ascending) and their ``<metric>_step_<step>`` columns."""
    found = _suffixed(table, f"{metric}_step_")
    return [int(step) for step, _ in found], [column for _, column in found]
