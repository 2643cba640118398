"""The naive way: train one model at a time with ``torch.optim.Adam``.

This is the reference the stacked trainer is tested against (a model trained in a
stack must match it) and the baseline its benchmark is measured against. It follows
the same protocol, the same initialisation and the same minibatch order
(:mod:`.protocol`), with a plain module, a plain optimiser and a Python loop.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

from .data import ModelData, Split
from .protocol import TrainConfig, epoch_permutation, model_seeds
from .stack import build_model
from .state import ModelResult

__all__ = ["train_one"]


def _metrics(model: nn.Module, split: Split, objective: str, device, dtype) -> tuple[float, float]:
    xs = [x.to(device=device, dtype=dtype) for x in split.inputs]
    y = split.target.to(device)
    with torch.no_grad():
        out = model(xs)
        if objective == "classification":
            loss = nn.functional.cross_entropy(out, y)
            return float(loss), float((out.argmax(-1) == y).to(dtype).mean())
        mse = (out - y.to(dtype)).square().mean()
        return float(mse), float(mse)


def train_one(
    factory: Callable[[], nn.Module],
    seed: int,
    data: ModelData,
    config: TrainConfig,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    init: str = "factory",
) -> ModelResult:
    """Train one model alone; same protocol, ``init`` and result fields as ``train_stack``."""
    device = torch.device(device)
    model = build_model(factory, seed, init=init).to(device=device, dtype=dtype)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas, eps=config.eps)
    xs = [x.to(device=device, dtype=dtype) for x in data.train.inputs]
    y = data.train.target.to(device)
    if y.is_floating_point():
        y = y.to(dtype)
    n = y.shape[0]
    if config.batch_size > n:
        raise ValueError(f"batch_size ({config.batch_size}) exceeds the training split ({n})")
    order = torch.tensor([model_seeds(seed)[1]], dtype=torch.int64, device=device)
    per_epoch = n // config.batch_size
    early = config.protocol == "early-stopping"
    result = ModelResult(seed=int(seed))
    best_loss, since_best = math.inf, 0
    best_state = copy.deepcopy(model.state_dict())
    perm = None
    for step in range(1, config.max_steps + 1):
        epoch, in_epoch = divmod(step - 1, per_epoch)
        if in_epoch == 0:
            perm = epoch_permutation(order, epoch, n)[0]
        idx = perm[in_epoch * config.batch_size : (in_epoch + 1) * config.batch_size]
        out = model([x[idx] for x in xs])
        if config.objective == "classification":
            loss = nn.functional.cross_entropy(out, y[idx])
        else:
            loss = (out - y[idx]).square().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        result.steps = step
        if not math.isfinite(float(loss.detach())):
            result.status = "diverged"
            return result
        if step in config.record_steps:
            result.recorded[step] = _metrics(model, data.test, config.objective, device, dtype)[1]
        if step % config.eval_every and step != config.max_steps:
            continue
        if not early:
            continue
        val_loss, _ = _metrics(model, data.val, config.objective, device, dtype)
        if not math.isfinite(val_loss):
            result.status = "diverged"
            return result
        if val_loss < best_loss:
            best_loss, since_best, result.best_step = val_loss, 0, step
            best_state = copy.deepcopy(model.state_dict())
        else:
            since_best += 1
            if since_best >= config.patience:
                break
    if early:
        model.load_state_dict(best_state)
        result.val_loss = best_loss
    else:
        result.best_step = result.steps
        if data.val is not None and len(data.val):  # the final weights' validation loss
            result.val_loss = _metrics(model, data.val, config.objective, device, dtype)[0]
    result.test_loss, result.test_metric = _metrics(
        model, data.test, config.objective, device, dtype
    )
    for level in config.noise_levels:
        result.noise_metric.append(
            _metrics(model, data.corrupted_test(level), config.objective, device, dtype)[1]
        )
    return result
