"""Extra metrics of a study: computed on each model's test predictions, one column each.

A study's ``metrics`` names metrics besides the built-in test metric (accuracy or
MSE): a name of :data:`SCORES` (``mae``, ``rmse``, ``r2`` for regression;
``macro_f1`` for classification), a ``"module:function"`` or ``"file.py:function"``
reference, or a callable ``(y_true, y_pred) -> float``. Each becomes the column
``test_<name>`` (a callable's ``__name__``), computed at the weights the test metric
is reported at (the best-validation checkpoint under early stopping), on the test
split as the model sees it (standardised targets where the task standardises them,
like ``test_mse``). ``y_true`` is ``(n,)`` int class labels or ``(n, k)`` floats;
``y_pred`` is ``(n, C)`` logits or ``(n, k)`` predictions, numpy arrays. A diverged
model's values are NaN.

The functions are pure; :func:`evaluate_scores` runs trained models (in the worker
that trained them) to get their predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike
from progfusion.models.data import ModelData
from progfusion.models.keyed import modality_keys, model_inputs
from torch import nn

__all__ = ["SCORES", "ScoreRef", "evaluate_scores", "macro_f1", "mae", "r2", "rmse", "score_name"]

#: A metric as a study names it: a name of SCORES, a reference, or a callable.
ScoreRef = str | Callable[[np.ndarray, np.ndarray], float]


def _pair(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if t.size == 0:
        raise ValueError("y_true must not be empty")
    if t.shape != p.shape:
        raise ValueError(f"y_pred shape {p.shape} differs from y_true shape {t.shape}")
    return t, p


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error over samples and outputs; arrays ``(n,)`` or ``(n, k)``."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(np.abs(t - p)))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error over samples and outputs."""
    t, p = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def r2(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination ``1 - SS_res / SS_tot``, averaged over outputs.

    Per output ``k``: ``1 - sum_i (t_ik - p_ik)^2 / sum_i (t_ik - mean_i t_ik)^2``
    (scikit-learn's ``r2_score`` with ``multioutput="uniform_average"``); NaN for an
    output whose targets are constant.
    """
    t, p = _pair(y_true, y_pred)
    t, p = t.reshape(len(t), -1), p.reshape(len(p), -1)
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per_output = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1), np.nan)
    return float(np.mean(per_output))


def macro_f1(y_true: ArrayLike, y_pred_or_logits: ArrayLike) -> float:
    """F1 score averaged over the classes present in ``y_true`` or predicted.

    ``y_true``: ``(n,)`` labels; ``y_pred_or_logits``: ``(n,)`` labels or ``(n, C)``
    scores (argmax). A class's F1 is ``2 TP / (2 TP + FP + FN)``.
    """
    t = np.asarray(y_true)
    p = np.asarray(y_pred_or_logits)
    if p.ndim == 2:
        p = p.argmax(axis=1)
    if t.ndim != 1 or t.shape != p.shape or t.size == 0:
        raise ValueError(f"expected labels [n] (or scores [n, C]), got {t.shape} and {p.shape}")
    classes = np.union1d(t, p)
    f1 = []
    for c in classes:
        tp = np.sum((p == c) & (t == c))
        wrong = np.sum((p == c) != (t == c))  # false positives and false negatives
        f1.append(2 * tp / (2 * tp + wrong))
    return float(np.mean(f1))


#: The extra metrics a study names by name, and the objective each is for.
SCORES: dict[str, tuple[Callable[[ArrayLike, ArrayLike], float], str]] = {
    "mae": (mae, "regression"),
    "rmse": (rmse, "regression"),
    "r2": (r2, "regression"),
    "macro_f1": (macro_f1, "classification"),
}


def score_name(ref: ScoreRef) -> str:
    """The column suffix of a metric: its name, or its function's ``__name__``."""
    if isinstance(ref, str):
        return ref.rpartition(":")[2]
    return getattr(ref, "__name__", type(ref).__name__)


def score_function(ref: ScoreRef) -> Callable[[np.ndarray, np.ndarray], float]:
    """The function of a metric name, reference or callable."""
    if callable(ref):
        return ref
    if ref in SCORES:
        return SCORES[ref][0]
    from .designs import resolve_reference  # the one place references are imported

    function = resolve_reference(ref)
    if not callable(function):
        raise ValueError(f"metric {ref!r} is not callable")
    return function


def evaluate_scores(
    models: Sequence[nn.Module | None], data: Sequence[ModelData], refs: Sequence[ScoreRef]
) -> list[dict[str, float]]:
    """``test_<name>`` of each metric for each trained model (None: diverged, NaN).

    ``models``: trained models on the CPU; ``data``: each one's task instance.
    """
    functions = [(score_name(r), score_function(r)) for r in refs]
    rows = []
    for model, d in zip(models, data, strict=True):
        if model is None:
            rows.append({f"test_{name}": float("nan") for name, _ in functions})
            continue
        y_true, y_pred = _predictions(model, d)
        rows.append({f"test_{name}": _value(f(y_true, y_pred), name) for name, f in functions})
    return rows


def _predictions(model: nn.Module, data: ModelData) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    inputs = [torch.as_tensor(x, dtype=torch.float32) for x in data.test.inputs]
    with torch.no_grad():
        out = model(model_inputs(modality_keys(model), inputs))
    return torch.as_tensor(data.test.target).numpy(), out.numpy()


def _value(value: Any, name: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"metric {name!r} must return a number, got {value!r}") from None
