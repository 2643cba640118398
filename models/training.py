"""Train many small models of one architecture at once, as one stack.

N models (different seeds, different data) are trained together: their parameters
live in one flat tensor ``(N, P)``, the loss is the *sum* of the per-model mean
losses (so each model's gradient is exactly its own), and Adam is elementwise, so
each model follows the trajectory it would follow alone (to floating-point
rounding). Two forward paths, tested equal:

- **fast**: for models built from this package's stack-aware layers, the stacked
  parameters ``(N, ...)`` are swapped into the single model with
  :func:`torch.func.functional_call` and every matmul becomes a batched matmul;
- **vmap**: for any other module, :func:`torch.vmap` over the model dimension.

A model stops when its protocol says so (or diverges: a non-finite training
loss) and then leaves the stack, so finished models cost nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call

from .data import ModelData, Split, stack_splits
from .init import hashed_init
from .layers import STACK_AWARE
from .protocol import TrainConfig, batch_indices, epoch_permutation, model_seeds

__all__ = ["ModelResult", "train_stack", "build_model", "stack_path", "loss_and_metric"]

Path = Literal["auto", "fast", "vmap"]
InitScheme = Literal["factory", "hashed"]


@dataclass
class ModelResult:
    """The outcome of one model's training.

    Attributes
    ----------
    seed
        The model's seed.
    status
        ``"ok"`` or ``"diverged"`` (a non-finite training loss; its metrics are NaN).
    steps
        Optimiser steps taken; ``best_step``: the step of the reported weights.
    val_loss
        Validation loss of the reported weights (NaN without a validation split).
    test_loss, test_metric
        Test loss and metric (accuracy for classification, MSE for regression).
    noise_metric
        Test metric on corrupted inputs, one per ``TrainConfig.noise_levels``.
    recorded
        ``step -> test metric`` for each of ``TrainConfig.record_steps`` reached.
    state
        The reported weights as a state dict of CPU tensors (if requested).
    """

    seed: int
    status: str = "ok"
    steps: int = 0
    best_step: int = 0
    val_loss: float = math.nan
    test_loss: float = math.nan
    test_metric: float = math.nan
    noise_metric: list[float] = field(default_factory=list)
    recorded: dict[int, float] = field(default_factory=dict)
    state: dict[str, Tensor] | None = None


def _build(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    init_seed, _ = model_seeds(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        return factory()


def build_model(
    factory: Callable[[], nn.Module], seed: int, *, init: InitScheme = "factory"
) -> nn.Module:
    """Build one model with the initialisation that ``seed`` gives it.

    The factory runs under ``torch.manual_seed(init_seed)`` inside
    :func:`torch.random.fork_rng`, so the caller's global random state is left as
    it was. With ``init="hashed"``, models made of stack-aware layers then get the
    per-seed hashed initialisation of :mod:`.init` instead (the one a stack of any
    size gives them; much faster for thousands of models).
    """
    model = _build(factory, seed)
    flat = hashed_init(model, [seed]) if init == "hashed" else None
    if flat is not None:
        with torch.no_grad():
            for p, values in zip(model.parameters(), _split(model, flat[0]), strict=True):
                p.copy_(values)
    return model


def _split(model: nn.Module, row: Tensor) -> list[Tensor]:
    sizes = [p.numel() for p in model.parameters()]
    return [v.view(p.shape) for v, p in zip(row.split(sizes), model.parameters(), strict=True)]


def stack_path(model: nn.Module) -> Literal["fast", "vmap"]:
    """``"fast"`` if every module holding parameters is a stack-aware layer."""
    for module in model.modules():
        if any(True for _ in module.parameters(recurse=False)) and not isinstance(
            module, STACK_AWARE
        ):
            return "vmap"
    return "fast"


def loss_and_metric(out: Tensor, target: Tensor, objective: str) -> tuple[Tensor, Tensor]:
    """Per-model mean loss and metric, each ``(N,)``.

    ``out``: ``(N, n, C)`` logits or ``(N, n, k)`` predictions; ``target``:
    ``(N, n)`` labels or ``(N, n, k)`` values. Classification: cross-entropy and
    accuracy; regression: mean squared error (over samples and outputs), twice.
    """
    if objective == "classification":
        n_models, n, n_classes = out.shape
        ce = nn.functional.cross_entropy(
            out.reshape(n_models * n, n_classes), target.reshape(-1), reduction="none"
        )
        acc = (out.argmax(-1) == target).to(out.dtype).mean(1)
        return ce.view(n_models, n).mean(1), acc
    mse = (out - target).square().flatten(1).mean(1)
    return mse, mse


class _Stack:
    """The live state of the models still training: flat parameters and Adam moments."""

    def __init__(self, model: nn.Module, flat: Tensor, path: str, device, dtype):
        self.model = model
        self.names = [n for n, _ in model.named_parameters()]
        self.shapes = [p.shape for _, p in model.named_parameters()]
        self.sizes = [p.numel() for _, p in model.named_parameters()]
        self.flat = flat.to(device=device, dtype=dtype)
        self.m = torch.zeros_like(self.flat)
        self.v = torch.zeros_like(self.flat)
        self.best = self.flat.clone()
        # the single model's buffers, broadcast along the model dimension if any
        self.buffers = {n: b.to(device) for n, b in model.named_buffers()}
        if path == "vmap":
            template = model

            def call(params: dict[str, Tensor], xs: tuple[Tensor, ...]) -> Tensor:
                def one(p, *x):
                    return functional_call(template, (p, self.buffers), (list(x),))

                return torch.vmap(one)(params, *xs)

            self.call = call
        else:

            def call(params: dict[str, Tensor], xs: tuple[Tensor, ...]) -> Tensor:
                return functional_call(model, (params, self.buffers), (list(xs),))

            self.call = call

    def params(self, flat: Tensor) -> dict[str, Tensor]:
        n = flat.shape[0]
        parts = flat.split(self.sizes, dim=1)
        return {
            name: part.view(n, *shape)
            for name, part, shape in zip(self.names, parts, self.shapes, strict=True)
        }

    def forward(self, flat: Tensor, xs: tuple[Tensor, ...]) -> Tensor:
        return self.call(self.params(flat), xs)

    def keep(self, idx: Tensor) -> None:
        self.flat, self.m, self.v, self.best = (
            t.index_select(0, idx) for t in (self.flat, self.m, self.v, self.best)
        )


def _gather(x: Tensor, flat_idx: Tensor) -> Tensor:
    """Rows ``flat_idx`` of ``x`` viewed as ``(N * n, ...)``, returned as ``(N, B, ...)``."""
    n_models = x.shape[0]
    picked = x.reshape(-1, *x.shape[2:]).index_select(0, flat_idx)
    return picked.view(n_models, -1, *x.shape[2:])


def _evaluate(stack: _Stack, flat: Tensor, split: Split, objective: str, chunk: int):
    """Per-model loss and metric on a stacked split, in sample chunks (no grad)."""
    n = split.inputs[0].shape[1]  # samples per model
    losses, metrics = [], []
    with torch.no_grad():
        for a in range(0, n, chunk):
            xs = tuple(x[:, a : a + chunk] for x in split.inputs)
            out = stack.forward(flat, xs)
            loss, metric = loss_and_metric(out, split.target[:, a : a + chunk], objective)
            w = min(chunk, n - a) / n
            losses.append(loss * w)
            metrics.append(metric * w)
    return torch.stack(losses).sum(0), torch.stack(metrics).sum(0)


def train_stack(
    factory: Callable[[], nn.Module],
    seeds: Sequence[int],
    data: Sequence[ModelData],
    config: TrainConfig,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    path: Path = "auto",
    lrs: Sequence[float] | None = None,
    return_state: bool = False,
    eval_chunk: int = 4096,
    init: InitScheme = "factory",
) -> list[ModelResult]:
    """Train ``len(seeds)`` models of one architecture as one stack.

    Parameters
    ----------
    factory
        Builds one freshly initialised model (called once per seed, under that
        seed; see :func:`build_model`). Its forward takes a list of modality
        tensors.
    seeds
        One non-negative integer per model: its initialisation and data order.
    data
        One :class:`~.data.ModelData` per model; all with equal split sizes.
    config
        The protocol (:class:`~.protocol.TrainConfig`).
    device, dtype
        Where and in what precision to train (``"cuda"`` for a GPU).
    path
        ``"fast"`` (stack-aware layers only), ``"vmap"`` (any module) or
        ``"auto"`` (fast whenever possible).
    lrs
        Optional per-model learning rates overriding ``config.lr``.
    return_state
        Also return each model's reported weights as a CPU state dict.
    eval_chunk
        Evaluation batch size (samples per forward pass), to bound memory.
    init
        ``"factory"`` (default): each model as its factory draws it under its seed
        (one module build per model, about 1 ms each on a CPU);
        ``"hashed"``: for models made of stack-aware layers, the per-seed hashed
        initialisation of :mod:`.init`, computed for all models at once on the
        device (same distribution; use it for thousands of models on a GPU).
        Either way a model's initial weights depend only on its seed, and
        :func:`build_model` with the same ``init`` reproduces them.

    Returns
    -------
    list[ModelResult]
        One per seed, in the order given.
    """
    n_models = len(seeds)
    if n_models == 0:
        return []
    if len(data) != n_models:
        raise ValueError(f"data: expected one ModelData per seed ({n_models}), got {len(data)}")
    if lrs is not None and len(lrs) != n_models:
        raise ValueError(f"lrs: expected one learning rate per seed ({n_models}), got {len(lrs)}")
    if lrs is not None and not all(math.isfinite(lr) and lr > 0 for lr in lrs):
        raise ValueError(f"lrs must be finite and > 0, got {list(lrs)}")
    if init not in ("factory", "hashed"):
        raise ValueError(f"init must be 'factory' or 'hashed', got {init!r}")
    if path not in ("auto", "fast", "vmap"):
        raise ValueError(f"path must be 'auto', 'fast' or 'vmap', got {path!r}")
    early = config.protocol == "early-stopping"
    if early and any(d.val is None for d in data):
        raise ValueError("data: the early-stopping protocol needs a validation split (val)")
    if config.noise_levels and any(d.corrupted_test is None for d in data):
        raise ValueError("data: noise_levels need ModelData.corrupted_test for every model")
    device = torch.device(device)

    template = _build(factory, seeds[0])
    # in the dtype a model built alone holds (float32), so that float64 training starts
    # from the same values as build_model(...).to(float64), as train_one does
    param_dtype = next(template.parameters()).dtype
    flat = None
    if init == "hashed":  # (N, P), computed on the device
        flat = hashed_init(template, seeds, device=device, dtype=param_dtype)
    if flat is None:  # any module: each model as its factory draws it under its seed
        flat = torch.stack(
            [
                torch.cat([p.detach().reshape(-1) for p in _build(factory, s).parameters()])
                for s in seeds
            ]
        )
    chosen = stack_path(template) if path == "auto" else path
    if chosen == "fast" and stack_path(template) != "fast":
        raise ValueError("path='fast' needs a model built from progfusion.models layers only")
    stack = _Stack(template, flat, chosen, device, dtype)

    train = stack_splits([d.train for d in data], device=device, dtype=dtype)
    test = stack_splits([d.test for d in data], device=device, dtype=dtype)
    val = stack_splits([d.val for d in data], device=device, dtype=dtype) if early else None
    n_train = train.inputs[0].shape[1]
    if config.batch_size > n_train:
        raise ValueError(
            f"batch_size ({config.batch_size}) exceeds the training split ({n_train} samples)"
        )

    results = [ModelResult(seed=int(s)) for s in seeds]
    alive = torch.arange(n_models, device=device)  # original index of each stack row
    order = torch.tensor([model_seeds(s)[1] for s in seeds], dtype=torch.int64, device=device)
    lr_values = [config.lr] * n_models if lrs is None else [float(x) for x in lrs]
    same_lr = len(set(lr_values)) == 1
    lr_col = torch.tensor(lr_values, dtype=torch.float64, device=device).unsqueeze(1)
    best_loss = torch.full((n_models,), math.inf, dtype=torch.float64, device=device)
    best_step = torch.zeros(n_models, dtype=torch.int64, device=device)
    since_best = torch.zeros(n_models, dtype=torch.int64, device=device)
    bad = torch.zeros(n_models, dtype=torch.bool, device=device)
    beta1, beta2 = config.betas
    steps_per_epoch = n_train // config.batch_size
    record = set(config.record_steps)
    rows = torch.arange(n_models, device=device).unsqueeze(1)
    perm = None

    def select(split: Split, idx: Tensor) -> Split:
        return Split(tuple(x.index_select(0, idx) for x in split.inputs), split.target[idx])

    def finish(rows_done: Tensor, step: int) -> None:
        for r in rows_done.tolist():
            res = results[int(alive[r])]
            res.steps = step
            if not early:
                res.best_step = step

    def report(rows: Tensor) -> None:
        """Evaluate the best weights of the stack rows ``rows`` and fill their results."""
        flat = stack.best.index_select(0, rows)
        sub = Split(tuple(x.index_select(0, rows) for x in test.inputs), test.target[rows])
        loss, metric = _evaluate(stack, flat, sub, config.objective, eval_chunk)
        originals = [int(alive[r]) for r in rows.tolist()]
        noise = []
        for level in config.noise_levels:
            corrupted = stack_splits(
                [data[i].corrupted_test(level) for i in originals], device=device, dtype=dtype
            )
            noise.append(
                _evaluate(stack, flat, corrupted, config.objective, eval_chunk)[1].tolist()
            )
        for j, i in enumerate(originals):
            res = results[i]
            res.test_loss = float(loss[j])
            res.test_metric = float(metric[j])
            res.noise_metric = [curve[j] for curve in noise]
            if early:
                res.val_loss = float(best_loss[rows[j]])
                res.best_step = int(best_step[rows[j]])
            if return_state:
                params = stack.params(flat[j : j + 1])
                res.state = {k: v[0].detach().cpu().clone() for k, v in params.items()}

    step = 0
    while step < config.max_steps and alive.numel() > 0:
        epoch, in_epoch = divmod(step, steps_per_epoch)
        if in_epoch == 0 or perm is None:
            perm = epoch_permutation(order, epoch, n_train)
        idx = batch_indices(perm, in_epoch, config.batch_size)  # (N, B)
        # one flat index_select per tensor: several times faster than x[rows, idx]
        flat_idx = (rows * n_train + idx).reshape(-1)
        xb = tuple(_gather(x, flat_idx) for x in train.inputs)
        yb = _gather(train.target, flat_idx)
        flat = stack.flat.requires_grad_(True)
        losses, _ = loss_and_metric(stack.forward(flat, xb), yb, config.objective)
        (grad,) = torch.autograd.grad(losses.sum(), flat)
        stack.flat = flat.detach()
        bad |= ~torch.isfinite(losses)
        step += 1
        with torch.no_grad():  # Adam, as torch.optim.Adam computes it, per model
            stack.m.lerp_(grad, 1 - beta1)
            stack.v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bc1 = 1 - beta1**step
            denom = (stack.v.sqrt() / math.sqrt(1 - beta2**step)).add_(config.eps)
            if same_lr:
                stack.flat.addcdiv_(stack.m, denom, value=-lr_values[0] / bc1)
            else:
                step_size = (lr_col / bc1).to(dtype)
                stack.flat.sub_(step_size * (stack.m / denom))

        if step in record:
            _, metric = _evaluate(stack, stack.flat, test, config.objective, eval_chunk)
            for r, value in enumerate(metric.tolist()):
                results[int(alive[r])].recorded[step] = value
        if step % config.eval_every and step != config.max_steps:
            continue
        # evaluation point: divergence, validation, early stopping
        keep = ~bad
        if early:
            loss, _ = _evaluate(stack, stack.flat, val, config.objective, eval_chunk)
            loss = loss.to(torch.float64)
            keep &= torch.isfinite(loss)
            improved = keep & (loss < best_loss)
            best_loss = torch.where(improved, loss, best_loss)
            best_step = torch.where(improved, step, best_step)
            since_best = torch.where(improved, 0, since_best + 1)
            stack.best = torch.where(improved.unsqueeze(1), stack.flat, stack.best)
            stopped = keep & (since_best >= config.patience)
        else:
            stack.best = stack.flat
            stopped = torch.zeros_like(keep)
        if step == config.max_steps:
            stopped = keep.clone()
        diverged = ~keep
        for r in diverged.nonzero().flatten().tolist():
            results[int(alive[r])].status = "diverged"
        done = stopped | diverged
        if bool(done.any()):
            finish(done.nonzero().flatten(), step)
            # report the stopped models, then drop every finished one from the stack
            out_rows = stopped.nonzero().flatten()
            if out_rows.numel():
                report(out_rows)
            live = (~done).nonzero().flatten()
            stack.keep(live)
            alive, order, lr_col = alive[live], order[live], lr_col[live]
            best_loss, best_step, since_best, bad = (
                t[live] for t in (best_loss, best_step, since_best, bad)
            )
            lr_values = [lr_values[i] for i in live.tolist()]
            perm = perm[live]
            rows = torch.arange(alive.numel(), device=device).unsqueeze(1)
            train = select(train, live)
            test = select(test, live)
            val = select(val, live) if val is not None else None
    return results
