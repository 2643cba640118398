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
    """A tensor as it is; a numpy array as a tensor sharing its memory; else a ValueError."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    raise ValueError(f"split: expected tensors or numpy arrays, got {type(x).__name__}")


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

    def __post_init__(self) -> None:
        """Numpy arrays given directly are taken as tensors (no copy), as :meth:`of` does."""
        object.__setattr__(self, "inputs", tuple(_as_tensor(x) for x in self.inputs))
        object.__setattr__(self, "target", _as_tensor(self.target))

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


def stack_splits(
    splits: Sequence[Split], *, device: torch.device | str, dtype: torch.dtype
) -> Split:
    """Stack N same-shaped splits into one with a leading model dimension.

    Returns inputs ``(N, n, f_i)`` in ``dtype`` and targets ``(N, n)`` (int64) or
    ``(N, n, k)`` (``dtype``), on ``device``.
    """
    first = splits[0]
    for j, s in enumerate(splits):
        if s.target.shape != first.target.shape or s.widths != first.widths:
            raise ValueError(
                "data: every model in a stack needs the same split sizes and widths; "
                f"model 0 has n={len(first)}, widths={first.widths}, "
                f"target {tuple(first.target.shape)}, model {j} has n={len(s)}, "
                f"widths={s.widths}, target {tuple(s.target.shape)}"
            )
        if s.target.dtype != first.target.dtype:
            raise ValueError(
                f"data: model {j}'s target is {s.target.dtype}, model 0's {first.target.dtype}"
            )
    device = torch.device(device)
    inputs = tuple(
        _stack_rows([s.inputs[i] for s in splits], dtype=dtype, device=device)
        for i in range(len(first.inputs))
    )
    target_dtype = dtype if first.target.is_floating_point() else first.target.dtype
    target = _stack_rows([s.target for s in splits], dtype=target_dtype, device=device)
    return Split(inputs, target)


#: Models per pinned host buffer when stacking onto a GPU (2 buffers, reused).
STAGE_MODELS = 256


def _stack_rows(rows: Sequence[Tensor], *, dtype: torch.dtype, device: torch.device) -> Tensor:
    """``torch.stack(rows).to(device, dtype)``, without a full-size host copy for a GPU.

    On a CPU the rows are written straight into the result (one copy, converting
    the dtype on the way). For CUDA, a full-size stacked host tensor would be
    freshly allocated pageable memory (first-touch page faults cost more than the
    copy itself: about 0.3 s for the 0.5 GB of one input of 4,096 Figure 7
    models) followed by a pageable transfer. Instead, ``STAGE_MODELS`` rows at a
    time are stacked into one of two reused pinned buffers and copied to the
    device asynchronously, so stacking one chunk overlaps the transfer of the last.
    """
    shape = (len(rows), *rows[0].shape)
    if any(r.device.type != "cpu" for r in rows) or device.type not in ("cpu", "cuda"):
        return torch.stack([r.to(device) for r in rows]).to(dtype)
    out = torch.empty(shape, dtype=dtype, device=device)
    if device.type == "cpu":
        return torch.stack(list(rows), out=out)
    size = min(STAGE_MODELS, len(rows))
    buffers = [torch.empty((size, *shape[1:]), dtype=dtype, pin_memory=True) for _ in range(2)]
    copied: list[torch.cuda.Event | None] = [None, None]
    for j, a in enumerate(range(0, len(rows), size)):
        b, slot = min(a + size, len(rows)), j % 2
        if copied[slot] is not None:  # wait until this buffer's last transfer has finished
            copied[slot].synchronize()
        staged = torch.stack(list(rows[a:b]), out=buffers[slot][: b - a])
        out[a:b].copy_(staged, non_blocking=True)
        copied[slot] = torch.cuda.Event()
        copied[slot].record()
    for event in copied:  # the buffers are released on return: let every transfer finish
        if event is not None:
            event.synchronize()
    return out
