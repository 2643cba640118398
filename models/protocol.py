"""Training protocol settings, per-model seeds, and the minibatch order.

Everything random about one model's training derives from its own integer seed:

- its initialisation: the model is built under ``torch.manual_seed(init_seed)``
  inside :func:`torch.random.fork_rng` (global state is restored afterwards);
- its data order: minibatches are slices of per-epoch permutations, each a pure
  function of ``(order_seed, epoch)`` (a 32-bit integer hash of the sample index,
  sorted), computed the same on any device and for any stack.

So a model's result never depends on which models share its stack, the stack
size or the order of a sweep.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from ._checks import positive_int

__all__ = [
    "PROTOCOLS",
    "Protocol",
    "TrainConfig",
    "model_seeds",
    "epoch_permutation",
    "batch_indices",
]

#: The protocols: early stopping on the validation split, or a fixed number of steps.
PROTOCOLS = ("early-stopping", "fixed-steps")
ProtocolName = Literal["early-stopping", "fixed-steps"]
Objective = Literal["classification", "regression"]


@dataclass(frozen=True)
class Protocol:
    """How models train, whatever the task (SPEC section 4.2; the paper states none).

    The one statement of the training protocol: a study holds one
    (``progfusion.experiments.Study.protocol``), and the trainer's
    :class:`TrainConfig` is one with the task's objective added.

    Parameters
    ----------
    name
        ``"early-stopping"``: evaluate on the validation split every
        ``eval_every`` steps, keep each model's best-validation weights, stop a
        model after ``patience`` evaluations without improvement (or at
        ``max_steps``); test metrics are those of the best checkpoint.
        ``"fixed-steps"``: train exactly ``max_steps`` steps and test the final
        weights.
    lr, batch_size
        Adam's learning rate and the minibatch size.
    max_steps, eval_every, patience
        In optimiser steps, steps and evaluations.
    record_steps
        Steps after which each model's test metric is also recorded (used for the
        metric-against-training-steps panel); any protocol. Not a table column of its
        own: each step's metric is (``<metric>_step_<s>``).
    """

    name: ProtocolName = "early-stopping"
    lr: float = 1e-3
    batch_size: int = 128
    max_steps: int = 6400
    eval_every: int = 100
    patience: int = 10
    record_steps: tuple[int, ...] = field(default=(), metadata={"column": False})

    def __post_init__(self) -> None:
        object.__setattr__(self, "record_steps", tuple(self.record_steps))
        if self.name not in PROTOCOLS:
            raise ValueError(
                f"protocol.name must be one of {', '.join(PROTOCOLS)}, got {self.name!r}"
            )
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"protocol: lr must be a finite number > 0, got {self.lr!r}")
        for name in ("batch_size", "max_steps", "eval_every", "patience"):
            try:
                object.__setattr__(self, name, positive_int(name, getattr(self, name)))
            except ValueError as exc:
                raise ValueError(f"protocol: {exc}") from None
        if any(s < 1 or s > self.max_steps for s in self.record_steps):
            raise ValueError(
                f"protocol: record_steps must lie in 1..max_steps, got {self.record_steps}"
            )

    @property
    def protocol(self) -> str:
        """The protocol's name (as the trainer reads it: ``config.protocol``)."""
        return self.name

    def train_config(self, objective: Objective, noise_levels=()) -> TrainConfig:
        """This protocol for a task of ``objective``, evaluated at ``noise_levels``."""
        own = {f.name: getattr(self, f.name) for f in fields(Protocol)}
        return TrainConfig(**own, objective=objective, noise_levels=tuple(noise_levels))


@dataclass(frozen=True)
class TrainConfig(Protocol):
    """How to train one stack: a :class:`Protocol` with the task's objective and the
    test-time noise levels, and Adam's constants. The parameters not listed below are
    :class:`Protocol`'s.

    Parameters
    ----------
    objective
        ``"classification"`` (cross-entropy; metric: accuracy) or ``"regression"``
        (mean squared error; metric: MSE).
    betas, eps
        Adam's (PyTorch's defaults).
    noise_levels
        Levels at which the best weights are evaluated on corrupted test inputs
        (needs ``ModelData.corrupted_test``).
    """

    objective: Objective = "regression"
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    noise_levels: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.objective not in ("classification", "regression"):
            raise ValueError(
                f"objective must be 'classification' or 'regression', got {self.objective!r}"
            )
        object.__setattr__(self, "noise_levels", tuple(self.noise_levels))
        if any(not math.isfinite(v) or v < 0 for v in self.noise_levels):
            raise ValueError(f"noise_levels must be finite and >= 0, got {self.noise_levels}")
        if list(self.noise_levels) != sorted(set(self.noise_levels)):
            raise ValueError(f"noise_levels must be strictly increasing, got {self.noise_levels}")


def model_seeds(seed: int) -> tuple[int, int]:
    """``(init_seed, order_seed)`` of the model with integer ``seed`` (each < 2**32)."""
    return _seed_pair(positive_int("seeds", seed, minimum=0))


@functools.lru_cache(maxsize=2**14)
def _seed_pair(seed: int) -> tuple[int, int]:
    # ~8 us each: a stack of 4,096 models asks twice (initialisation, order)
    init_seed, order_seed = np.random.SeedSequence(seed).generate_state(2)
    return int(init_seed), int(order_seed)


_MASK32 = 0xFFFFFFFF
_MUL = 0x45D9F3B  # a well-mixing odd multiplier < 2**31, so products fit in int64


def _mix32(x: Tensor) -> Tensor:
    """A 32-bit integer hash, computed in int64 (values stay below 2**63)."""
    x = (((x >> 16) ^ x) * _MUL) & _MASK32
    x = (((x >> 16) ^ x) * _MUL) & _MASK32
    return (x >> 16) ^ x


def epoch_permutation(order_seeds: Tensor, epoch: int, n: int) -> Tensor:
    """Per-model permutation of ``range(n)`` for one epoch.

    ``order_seeds``: int64 ``(N,)``; returns int64 ``(N, n)`` on the same device.
    Row j depends only on ``order_seeds[j]``, ``epoch`` and ``n``: it is the
    order that sorts the 32-bit keys ``mix32(mix32(seed ^ mix32(epoch)) + i)``,
    ``i < n`` (distinct, since ``mix32`` is a bijection, so any sort gives the same
    order). On a CPU the keys are hashed in numpy ``uint32`` and sorted as one
    int64 per sample (key above, index below: numpy's vectorised sort), about
    twice as fast as torch's argsort; other devices use torch. Both give the
    same permutation.
    """
    if order_seeds.device.type == "cpu" and n <= 2**31:
        return _epoch_permutation_numpy(order_seeds, epoch, n)
    return _epoch_permutation_torch(order_seeds, epoch, n)


def _epoch_permutation_torch(order_seeds: Tensor, epoch: int, n: int) -> Tensor:
    salt = _mix32(torch.tensor(epoch & _MASK32, dtype=torch.int64, device=order_seeds.device))
    base = _mix32(order_seeds ^ salt).unsqueeze(1)  # (N, 1)
    idx = torch.arange(n, dtype=torch.int64, device=order_seeds.device)
    keys = _mix32((base + idx) & _MASK32)  # (N, n)
    return torch.argsort(keys, dim=1)


def _mix32_numpy(x: np.ndarray) -> np.ndarray:
    """:func:`_mix32` on ``uint32`` arrays, in place (products wrap modulo 2**32)."""
    mul, shift = np.uint32(_MUL), np.uint32(16)
    for _ in range(2):
        x ^= x >> shift
        x *= mul
    x ^= x >> shift
    return x


def _epoch_permutation_numpy(order_seeds: Tensor, epoch: int, n: int) -> Tensor:
    salt = _mix32_numpy(np.array([epoch & _MASK32], dtype=np.uint32))
    base = _mix32_numpy(order_seeds.numpy().astype(np.uint32) ^ salt)  # (N,)
    keys = _mix32_numpy(base[:, None] + np.arange(n, dtype=np.uint32))  # (N, n), wraps
    bits = max(1, (n - 1).bit_length())
    packed = (keys.astype(np.int64) << bits) | np.arange(n, dtype=np.int64)  # < 2**63
    packed.sort(axis=1)
    packed &= (1 << bits) - 1
    return torch.from_numpy(packed)


def batch_indices(perm: Tensor, step_in_epoch: int, batch_size: int) -> Tensor:
    """The minibatch ``(N, batch_size)`` at ``step_in_epoch`` of an epoch's permutation.

    Epochs drop their last incomplete batch, so every step has a full batch.
    """
    start = step_in_epoch * batch_size
    return perm[:, start : start + batch_size]
