"""Evaluating a stack: validation, early stopping, recorded metrics and results.

At each evaluation point (:func:`_evaluation_point`) divergence is detected and,
under early stopping, the validation loss updates each model's best weights;
:func:`_finish` then fills in the results of the models that stopped or diverged and
drops them from the stack, evaluating their reported weights on the test split and
its corrupted copies (:func:`_report`). :func:`_record` notes the test metric at
``TrainConfig.record_steps``. Per-model values reach the host as whole lists.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .data import Split, stack_splits
from .stack import Params, _Forward, loss_and_metric, model_losses
from .state import _Models, _rows, _Run, _select

__all__: list[str] = []


def _evaluate(
    forward: _Forward, stack: Params, split: Split, objective: str, chunk: int, *, metric=True
) -> tuple[Tensor, Tensor]:
    """Per-model loss and metric ``(N,)`` on a stacked split, in sample chunks (no
    grad). ``metric=False``: the loss only (the metric returned is the loss)."""
    n = split.inputs[0].shape[1]  # samples per model
    losses, metrics = [], []
    with torch.no_grad():
        for a in range(0, n, chunk):
            xs = tuple(x[:, a : a + chunk] for x in split.inputs)
            out, target = forward(stack, xs), split.target[:, a : a + chunk]
            if metric:
                loss, value = loss_and_metric(out, target, objective)
            else:
                loss = value = model_losses(out, target, objective)
            w = min(chunk, n - a) / n
            losses.append(loss * w)
            metrics.append(value * w)
    return torch.stack(losses).sum(0), torch.stack(metrics).sum(0)


def _record(run: _Run, models: _Models, step: int) -> None:
    """Record each model's test metric after ``step`` (``TrainConfig.record_steps``)."""
    objective = run.config.objective
    _, metric = _evaluate(run.forward, models.params, models.test, objective, run.eval_chunk)
    for i, value in zip(models.alive.tolist(), metric.tolist(), strict=True):
        run.results[i].recorded[step] = value


def _evaluation_point(
    run: _Run, models: _Models, step: int, last_eval: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Divergence, validation and early stopping after ``step``; updates ``models``.

    Returns boolean ``(N,)`` masks of the models that stop now and of those that
    diverged, and for each the first step whose loss was non-finite.
    """
    config = run.config
    nonfinite = models.nonfinite[:, : step - last_eval]  # (N, steps since the last one)
    first_bad = last_eval + 1 + nonfinite.to(torch.int8).argmax(1)  # first True, if any
    finite = ~nonfinite.any(1)
    if run.early:
        loss, _ = _evaluate(
            run.forward, models.params, models.val, config.objective, run.eval_chunk, metric=False
        )
        loss = loss.to(torch.float64)
        first_bad = torch.where(finite, step, first_bad)  # a non-finite validation loss
        finite &= torch.isfinite(loss)
        improved = finite & (loss < models.best_loss)
        models.best_loss = torch.where(improved, loss, models.best_loss)
        models.best_step = torch.where(improved, step, models.best_step)
        models.since_best = torch.where(improved, 0, models.since_best + 1)
        models.best = tuple(
            torch.where(improved.view(-1, *[1] * (p.dim() - 1)), p, best)
            for p, best in zip(models.params, models.best, strict=True)
        )
        stopped = finite & (models.since_best >= config.patience)
    else:
        models.best = models.params
        stopped = torch.zeros_like(finite)
    if step == config.max_steps:
        stopped = finite.clone()
    return stopped, ~finite, first_bad


def _finish(
    run: _Run, models: _Models, step: int, stopped: Tensor, diverged: Tensor, first_bad: Tensor
) -> _Models:
    """Fill in the results of the models that stopped or diverged at ``step``, and
    return the others (the stack without those rows).

    The one scalar read of an evaluation point is here (is any model done?);
    per-model values reach the host as whole lists.
    """
    done = stopped | diverged
    if not bool(done.any()):
        return models
    alive, best_steps = models.alive.tolist(), models.best_step.tolist()
    first_bad_steps = first_bad.tolist()
    for r in diverged.nonzero().flatten().tolist():
        res = run.results[alive[r]]
        res.status, res.steps = "diverged", first_bad_steps[r]
        res.best_step = best_steps[r] if run.early else 0
        res.recorded = {k: v for k, v in res.recorded.items() if k < res.steps}
    out_rows = stopped.nonzero().flatten()
    for r in out_rows.tolist():
        res = run.results[alive[r]]
        res.steps = step
        res.best_step = best_steps[r] if run.early else step
    if out_rows.numel():
        _report(run, models, out_rows, alive)
    return models.keep((~done).nonzero().flatten())


def _report(run: _Run, models: _Models, rows: Tensor, alive: list[int]) -> None:
    """Evaluate the best weights of the stack rows ``rows`` and fill their results.

    ``alive``: ``models.alive`` on the host. Per-model values reach the host as
    whole lists (one transfer each, not one device synchronisation per model).
    """
    config, forward, chunk = run.config, run.forward, run.eval_chunk
    best = _rows(models.best, rows)
    loss, metric = _evaluate(forward, best, _select(models.test, rows), config.objective, chunk)
    originals = [alive[r] for r in rows.tolist()]
    noise = []
    for level in config.noise_levels:
        parts = [run.data[i].corrupted_test(level) for i in originals]
        corrupted = stack_splits(parts, device=run.device, dtype=run.dtype)
        noise.append(_evaluate(forward, best, corrupted, config.objective, chunk)[1].tolist())
    losses, metrics = loss.tolist(), metric.tolist()
    val_losses = None
    if run.early:
        val_losses = models.best_loss.index_select(0, rows).tolist()
    elif models.val is not None:  # fixed steps: the final weights' validation loss
        val_losses = _evaluate(forward, best, _select(models.val, rows), config.objective, chunk)
        val_losses = val_losses[0].tolist()
    states = forward.params(tuple(p.detach().cpu() for p in best)) if run.return_state else None
    for j, i in enumerate(originals):
        res = run.results[i]
        res.test_loss, res.test_metric = losses[j], metrics[j]
        res.noise_metric = [curve[j] for curve in noise]
        if val_losses is not None:
            res.val_loss = val_losses[j]
        if states is not None:
            res.state = {k: v[j].clone() for k, v in states.items()}
