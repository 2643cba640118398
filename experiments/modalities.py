"""Robustness per modality: each modality corrupted alone, and each modality missing.

A study with ``per_modality=True`` evaluates every trained model, at the weights its
test metric is reported at, on test inputs where

- modality ``m`` alone is corrupted at each of the study's noise levels, the others
  left clean: column ``<metric>_x<m>_noise_<level>``. Modality ``m`` gets the same
  noise draw as in the ``<metric>_noise_<level>`` columns, which corrupt every
  modality at once (SPEC 3.3);
- modality ``m`` is missing, its inputs replaced by zeros
  (``<metric>_x<m>_missing_zero``) or by the training split's per-feature mean
  (``<metric>_x<m>_missing_mean``).

``m`` counts from 1, as the paper's X1 and X2. With standardised inputs (the
built-in tasks' default) the training mean is 0 up to rounding, so the two missing
columns agree to float precision; they differ for unstandardised inputs.

The metric is the task's own (``mse`` or ``accuracy``, :func:`~progfusion.models.stack.
loss_and_metric`), computed with the model's own forward on the CPU, in float32: the
clean value (``x1_noise_0``) can differ from ``test_<metric>``, which the stacked
trainer computes, in the last bits. A diverged model's values are NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from progfusion.models.data import ModelData
from progfusion.models.keyed import modality_keys, model_inputs
from progfusion.models.stack import loss_and_metric
from torch import Tensor, nn

from .columns import metric_of, noise_columns

__all__ = [
    "MISSING_FILLS",
    "evaluate_modalities",
    "missing_column",
    "modality_columns",
    "modality_noise_column",
    "modality_noise_columns",
]

#: How a missing modality is filled: with zeros, or with its training mean.
MISSING_FILLS = ("zero", "mean")


def modality_noise_column(metric: str, modality: int, level: float) -> str:
    """``<metric>_x<m>_noise_<level>``: ``modality`` (from 1) alone corrupted at ``level``."""
    return f"{metric}_x{modality}_noise_{level:g}"


def modality_noise_columns(
    table: pd.DataFrame, metric: str, modality: int
) -> tuple[np.ndarray, list[str]]:
    """Noise levels (ascending) and their ``<metric>_x<m>_noise_<level>`` columns."""
    return noise_columns(table, f"{metric}_x{modality}")  # the prefix <metric>_x<m>_noise_


def missing_column(metric: str, modality: int, fill: str) -> str:
    """``<metric>_x<m>_missing_<fill>``: ``modality`` (from 1) missing, filled with ``fill``."""
    return f"{metric}_x{modality}_missing_{fill}"


def modality_columns(metric: str, n_modalities: int, levels: Sequence[float]) -> list[str]:
    """Every per-modality column, in table order: per modality, its noise levels, then
    its missing fills."""
    columns = []
    for m in range(1, n_modalities + 1):
        columns += [modality_noise_column(metric, m, level) for level in levels]
        columns += [missing_column(metric, m, fill) for fill in MISSING_FILLS]
    return columns


def _variants(data: ModelData, levels: Sequence[float]) -> list[tuple[Tensor, ...]]:
    """The test inputs of every per-modality column of one task instance, in
    :func:`modality_columns` order: tuples of ``(n_test, d_i)`` tensors."""
    clean = tuple(torch.as_tensor(x, dtype=torch.float32) for x in data.test.inputs)
    corrupted = []
    if levels:
        if data.corrupted_test is None:
            raise ValueError("per_modality: noise levels need a task with corrupted_test")
        corrupted = [
            tuple(torch.as_tensor(x, dtype=torch.float32) for x in data.corrupted_test(lv).inputs)
            for lv in levels
        ]
    variants = []
    for m, x in enumerate(clean):
        variants += [(*clean[:m], noisy[m], *clean[m + 1 :]) for noisy in corrupted]
        mean = torch.as_tensor(data.train.inputs[m], dtype=torch.float64).mean(dim=0)
        for fill in (torch.zeros_like(x), mean.to(x.dtype).expand_as(x)):
            variants.append((*clean[:m], fill, *clean[m + 1 :]))
    return variants


def evaluate_modalities(
    models: Sequence[nn.Module | None],
    data: Sequence[ModelData],
    levels: Sequence[float],
    objective: str,
) -> list[dict[str, float]]:
    """Every per-modality column of each trained model (None: diverged, NaN).

    ``models``: trained models on the CPU; ``data``: each one's task instance (models
    of one instance share its inputs, built once); ``levels``: the noise levels;
    ``objective``: the task's, which names the metric. One forward per model, over
    every variant's test inputs at once.
    """
    metric = metric_of(objective)
    built: dict[int, tuple[list[tuple[Tensor, ...]], Tensor]] = {}
    rows = []
    for model, d in zip(models, data, strict=True):
        columns = modality_columns(metric, len(d.test.inputs), levels)
        if model is None:
            rows.append(dict.fromkeys(columns, float("nan")))
            continue
        if id(d) not in built:
            built[id(d)] = (_variants(d, levels), torch.as_tensor(d.test.target))
        variants, target = built[id(d)]
        values = _metrics(model, variants, target, objective)
        rows.append(dict(zip(columns, values, strict=True)))
    return rows


def _metrics(
    model: nn.Module, variants: list[tuple[Tensor, ...]], target: Tensor, objective: str
) -> list[float]:
    """The metric of ``model`` on each variant's inputs (all ``(n_test, d_i)``)."""
    n, k = len(target), len(variants)
    inputs = [torch.cat([v[i] for v in variants]) for i in range(len(variants[0]))]
    model.eval()
    with torch.no_grad():
        out = model(model_inputs(modality_keys(model), inputs))  # (k n, ...)
    out = out.reshape(k, n, *out.shape[1:])
    targets = target.unsqueeze(0).expand(k, *target.shape)
    if objective == "regression" and targets.dtype != out.dtype:
        targets = targets.to(out.dtype)
    return loss_and_metric(out, targets, objective)[1].tolist()
