"""Containers for the data a trainer consumes: splits of one model's task.

A :class:`ModelData` holds one model's own train, validation and test splits.
Models trained in one stack each have their own data (different task instances,
different samples), but the same split sizes and widths, so the trainer can stack
them along a leading model dimension.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

__all__ = ["Split", "ModelData", "stack_splits"]


def _as_tensor(x: np.ndarray | Tensor) -> Tensor:
    return x if isinstance(x, Tensor) else torch.from_numpy(np.ascontiguousarray(x))


@dataclass(frozen=True)
class Split:
    """One split of one model's data.

    Attributes
    ----------
    inputs
        One tensor per modality, each ``(n, f_i)``, floating point.
    target
        ``(n,)`` int64 class labels (classification) or ``(n, k)`` floats
        (regression).
    """

    inputs: tuple[Tensor, ...]
    target: Tensor

    @classmethod
    def of(cls, inputs: Sequence[np.ndarray | Tensor], target: np.ndarray | Tensor) -> Split:
        """Build a split from numpy arrays or tensors (no copy where possible)."""
        xs = tuple(_as_tensor(x) for x in inputs)
        y = _as_tensor(target)
        n = y.shape[0]
        for i, x in enumerate(xs):
            if x.dim() != 2 or x.shape[0] != n:
                raise ValueError(
                    f"inputs: modality {i} must have shape (n, f) with n = {n} "
                    f"(the target's length), got {tuple(x.shape)}"
                )
            if not x.is_floating_point():
                raise ValueError(f"inputs: modality {i} must be floating point, got {x.dtype}")
        if y.dim() not in (1, 2):
            raise ValueError(f"target must be (n,) labels or (n, k) values, got {tuple(y.shape)}")
        return cls(xs, y)

    def __len__(self) -> int:
        return self.target.shape[0]

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(x.shape[1] for x in self.inputs)


@dataclass(frozen=True)
class ModelData:
    """Everything one model is trained and evaluated on.

    Attributes
    ----------
    train, test
        Training and test splits.
    val
        Validation split, required by the early-stopping protocol.
    corrupted_test
        Optional ``level -> Split``: the test split with its inputs corrupted at a
        noise level (SPEC section 3.3), called once per level at evaluation. It
        must be picklable (a module-level function or a ``functools.partial``)
        for multi-process sweeps, and deterministic given its own seed.
    """

    train: Split
    test: Split
    val: Split | None = None
    corrupted_test: Callable[[float], Split] | None = None


def stack_splits(splits: Sequence[Split], *, device: torch.device, dtype: torch.dtype) -> Split:
    """Stack N same-shaped splits into one with a leading model dimension.

    Returns inputs ``(N, n, f_i)`` in ``dtype`` and targets ``(N, n)`` (int64) or
    ``(N, n, k)`` (``dtype``), on ``device``.
    """
    first = splits[0]
    for j, s in enumerate(splits):
        if len(s) != len(first) or s.widths != first.widths:
            raise ValueError(
                "data: every model in a stack needs the same split sizes and widths; "
                f"model 0 has n={len(first)}, widths={first.widths}, "
                f"model {j} has n={len(s)}, widths={s.widths}"
            )
    inputs = tuple(
        torch.stack([s.inputs[i] for s in splits]).to(device=device, dtype=dtype)
        for i in range(len(first.inputs))
    )
    target = torch.stack([s.target for s in splits]).to(device)
    if target.is_floating_point():
        target = target.to(dtype)
    return Split(inputs, target)
