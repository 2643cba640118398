"""The state of a stack in training: fixed, per model, and the results.

:class:`_Run` holds what stays fixed while a stack trains (the forward, the protocol,
the caller's data and the results being filled in); :class:`_Models` the per-model
state of the models still training, one row per model (parameters, Adam's moments,
the best weights, early-stopping bookkeeping, the data), from which finished models
are dropped by row (:meth:`_Models.keep`). :func:`_stage` puts a stack's initial
state on its device, with the training split packed into one tensor (:func:`_pack`).
:class:`ModelResult` is what each model's training returns.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import torch
from torch import Tensor

from .data import ModelData, Split, stack_splits
from .protocol import TrainConfig, model_seeds
from .stack import CUDA_GRAPH_MODES, Params, _Forward

__all__ = ["ModelResult"]


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


@dataclass(eq=False)
class _Models:
    """The per-model state of the models still training, one row per model.

    Row ``r`` of every field is the model ``alive[r]`` (its index in the caller's
    list), and every field has that model dimension first, so :meth:`keep` selects
    the rows of all of them at once (a field of a type it does not know is an error).
    Fields with ``init=False`` are derived from the others and recomputed. The
    exception, marked ``whole``: the training data keep the rows of every model of the
    stack (row ``alive[r]`` is model ``r``'s), since a step gathers its minibatch from
    them by flat index anyway; so a model's stop copies no training split.
    """

    alive: Tensor  # (N,) int64: each row's index in the caller's list
    params: Params  # the parameters, (N, *shape) each
    m: Params  # Adam's first moment, shaped as ``params``
    v: Params  # Adam's second moment
    best: Params  # the weights to report: best validation so far (or the latest)
    best_loss: Tensor  # (N,) float64 validation loss of ``best``
    best_step: Tensor  # (N,) int64 the step of ``best``
    since_best: Tensor  # (N,) int64 evaluations since ``best`` last improved
    nonfinite: Tensor  # (N, W) bool: each step's loss non-finite, since the last evaluation
    order: Tensor  # (N,) int64 data-order seeds (:func:`~.protocol.model_seeds`)
    lr: Tensor  # (N, 1) float64 learning rates
    lrs: list[float]  # the same learning rates, on the host
    # (N0, n_train, F), N0 the models the stack started with: inputs and regression targets
    train: Tensor = field(metadata={"whole": True})  # (_pack)
    labels: Tensor | None = field(metadata={"whole": True})  # (N0, n_train) int64, or None
    test: Split
    val: Split | None  # None without a validation split (or under fixed steps, for some model)
    perm: Tensor | None  # (N, n_train) this epoch's sample order (None before the first step)
    offsets: Tensor = field(init=False)  # (N, 1): row r's samples start at alive[r] * n_train
    same_lr: bool = field(init=False)  # one learning rate for all rows (a faster Adam step)

    def __post_init__(self) -> None:
        # row r's samples start at alive[r] * n_train in the flattened (N0 * n_train, ...) data
        self.offsets = self.alive.unsqueeze(1) * self.train.shape[1]
        self.same_lr = len(set(self.lrs)) <= 1

    def keep(self, rows: Tensor) -> _Models:
        """The models of the stack rows ``rows`` (sorted, int64 ``(K,)``), every field."""
        picked = {
            f.name: getattr(self, f.name)
            if f.metadata.get("whole")
            else _rows(getattr(self, f.name), rows)
            for f in fields(self)
            if f.init
        }
        return _Models(**picked)


def _rows(value, rows: Tensor):
    """Rows ``rows`` of one per-model field (model dimension first)."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        return value.index_select(0, rows)
    if isinstance(value, tuple) and all(isinstance(v, Tensor) for v in value):  # Params
        return tuple(v.index_select(0, rows) for v in value)
    if isinstance(value, Split):
        return _select(value, rows)
    if isinstance(value, list):
        return [value[i] for i in rows.tolist()]
    raise TypeError(f"no row selection for a per-model field of type {type(value).__name__}")


def _select(split: Split, rows: Tensor) -> Split:
    return Split(tuple(x.index_select(0, rows) for x in split.inputs), split.target[rows])


@dataclass(frozen=True)
class _Run:
    """What stays fixed while a stack trains: the step, the protocol, the results."""

    forward: _Forward
    config: TrainConfig
    data: Sequence[ModelData]  # the caller's, for the corrupted test splits
    results: list[ModelResult]  # one per model, in the caller's order; filled in place
    device: torch.device
    dtype: torch.dtype
    eval_chunk: int
    return_state: bool
    n_train: int  # training samples per model
    widths: tuple[int, ...]  # the column widths of ``_Models.train`` (:func:`_pack`)

    @property
    def early(self) -> bool:
        return self.config.protocol == "early-stopping"

    @property
    def cuda_graphs(self) -> bool:
        """Whether the compiled step replays as CUDA graphs (these modes, on a GPU)."""
        return self.device.type == "cuda" and self.forward.mode in CUDA_GRAPH_MODES

    def is_evaluation_point(self, step: int) -> bool:
        return step % self.config.eval_every == 0 or step == self.config.max_steps


def _stage(
    params: Params,
    seeds: Sequence[int],
    data: Sequence[ModelData],
    config: TrainConfig,
    lrs: Sequence[float] | None,
    *,
    device: torch.device,
    dtype: torch.dtype,
) -> _Models:
    """The models' initial state on ``device``: parameters ``params``, fresh
    Adam moments and bookkeeping, and their data splits, stacked."""
    early = config.protocol == "early-stopping"
    train = stack_splits([d.train for d in data], device=device, dtype=dtype)
    test = stack_splits([d.test for d in data], device=device, dtype=dtype)
    # the validation split: for early stopping, and for the final weights' validation loss
    # under fixed steps (what a tuned comparison chooses by) when every model has one
    with_val = early or all(d.val is not None and len(d.val) for d in data)
    val = stack_splits([d.val for d in data], device=device, dtype=dtype) if with_val else None
    n_models, n_train = len(seeds), train.inputs[0].shape[1]
    if config.batch_size > n_train:
        raise ValueError(
            f"batch_size ({config.batch_size}) exceeds the training split ({n_train} samples)"
        )
    params = tuple(p.to(device=device, dtype=dtype) for p in params)
    lr_values = [config.lr] * n_models if lrs is None else [float(x) for x in lrs]
    window = min(config.eval_every, config.max_steps)  # most steps between evaluations

    def zeros(*shape: int, dtype: torch.dtype) -> Tensor:
        return torch.zeros(shape, dtype=dtype, device=device)

    return _Models(
        alive=torch.arange(n_models, device=device),
        params=params,
        m=tuple(torch.zeros_like(p) for p in params),
        v=tuple(torch.zeros_like(p) for p in params),
        best=tuple(p.clone() for p in params),
        best_loss=torch.full((n_models,), math.inf, dtype=torch.float64, device=device),
        best_step=zeros(n_models, dtype=torch.int64),
        since_best=zeros(n_models, dtype=torch.int64),
        nonfinite=zeros(n_models, window, dtype=torch.bool),
        order=torch.tensor([model_seeds(s)[1] for s in seeds], dtype=torch.int64, device=device),
        lr=torch.tensor(lr_values, dtype=torch.float64, device=device).unsqueeze(1),
        lrs=lr_values,
        train=_pack(train, config.objective),
        labels=train.target if config.objective == "classification" else None,
        test=test,
        val=val,
        perm=None,
    )


def _packed_parts(split: Split, objective: str) -> list[Tensor]:
    """What :func:`_pack` puts side by side, for one model's split ``(n, f)`` or a
    stack's ``(N, n, f)``: each modality's features, then (regression) the target's
    columns; classification labels stay apart."""
    parts = list(split.inputs)
    if objective != "classification":
        parts.append(split.target.flatten(split.inputs[0].dim() - 1))
    return parts


def _widths(split: Split, objective: str) -> tuple[int, ...]:
    """The column widths of :func:`_pack`'s rows: each modality's, then the target's."""
    return tuple(part.shape[-1] for part in _packed_parts(split, objective))


def _pack(train: Split, objective: str) -> Tensor:
    """The stacked training split as one ``(N, n, F)`` tensor (:func:`_packed_parts`).

    A training step then gathers each sample's row once, not once per tensor (a
    random row costs a cache miss or more wherever its columns live)."""
    return torch.cat(_packed_parts(train, objective), dim=2)
