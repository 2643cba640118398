"""The matmul-only time of a stacked training step: the floor the trainer works against.

:func:`record_matmuls` runs a callable (a few steps of
:func:`~progfusion.models.training.train_stack`) under a
:class:`~torch.utils._python_dispatch.TorchDispatchMode` that counts every matrix product
it calls (``bmm``, ``baddbmm``, ``mm``, ``addmm``, forward and backward, by operand
shapes); :func:`time_matmuls` times those products alone on fresh operands of the same
shapes. What the step spends beyond that time is gathers, elementwise work, Adam and
Python: the headroom left to an implementation that keeps the same matmuls.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["MATMUL_OPS", "record_matmuls", "time_matmuls"]

_aten = torch.ops.aten
#: the aten products that count as matmul work
MATMUL_OPS = {
    _aten.bmm.default: "bmm",
    _aten.baddbmm.default: "baddbmm",
    _aten.baddbmm_.default: "baddbmm",
    _aten.mm.default: "mm",
    _aten.addmm.default: "addmm",
}

Call = tuple[str, tuple[tuple[int, ...], ...]]  # (op name, operand shapes)


class _Recorder(TorchDispatchMode):
    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[Call] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = MATMUL_OPS.get(func)
        if name is not None:
            shapes = tuple(tuple(a.shape) for a in args if isinstance(a, torch.Tensor))
            self.calls[(name, shapes)] += 1
        return func(*args, **(kwargs or {}))


def record_matmuls(run: Callable[[], object]) -> Counter[Call]:
    """The matrix products ``run()`` calls, counted by (op, operand shapes)."""
    with _Recorder() as recorder:
        run()
    return recorder.calls


def _operands(name: str, shapes: tuple[tuple[int, ...], ...], device: str) -> Callable[[], object]:
    tensors = [torch.randn(s, device=device) for s in shapes]
    if name == "bmm":
        return lambda: torch.bmm(*tensors[-2:])
    if name == "mm":
        return lambda: torch.mm(*tensors[-2:])
    if name == "baddbmm":
        return lambda: torch.baddbmm(*tensors[-3:])
    return lambda: torch.addmm(*tensors[-3:])


def time_matmuls(calls: Counter[Call], *, device: str = "cpu", repeat: int = 20) -> float:
    """Seconds that one occurrence of the recorded products takes, all of them once
    each per count (best of ``repeat`` passes, after one warm-up pass)."""
    work = [(_operands(name, shapes, device), count) for (name, shapes), count in calls.items()]

    def one_pass() -> None:
        for fn, count in work:
            for _ in range(count):
                fn()
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    one_pass()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        one_pass()
        best = min(best, time.perf_counter() - start)
    return best
