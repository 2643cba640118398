"""Stacking per-model splits into (N, ...) tensors for the stacked trainer."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from progfusion.models import data as data_module
from progfusion.models.data import Split, stack_splits

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def splits(n_models: int, *, classes: bool, seed: int = 0) -> list[Split]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_models):
        xs = [rng.standard_normal((5, 3)), rng.standard_normal((5, 2)).astype(np.float32)]
        y = rng.integers(0, 4, 5) if classes else rng.standard_normal((5, 1))
        out.append(Split.of(xs, y))
    return out


@pytest.mark.parametrize("classes", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stacking_equals_torch_stack_in_the_requested_dtype(classes, dtype) -> None:
    parts = splits(7, classes=classes)
    stacked = stack_splits(parts, device="cpu", dtype=dtype)
    for i in range(2):
        expected = torch.stack([p.inputs[i] for p in parts]).to(dtype)
        assert stacked.inputs[i].dtype == dtype
        assert torch.equal(stacked.inputs[i], expected)
    expected_y = torch.stack([p.target for p in parts])
    assert stacked.target.dtype == (torch.int64 if classes else dtype)
    assert torch.equal(stacked.target, expected_y.to(stacked.target.dtype))


def test_models_with_other_sizes_or_targets_are_refused() -> None:
    parts = splits(2, classes=False)
    short = Split(tuple(x[:4] for x in parts[1].inputs), parts[1].target[:4])
    with pytest.raises(ValueError, match="same split sizes"):
        stack_splits([parts[0], short], device="cpu", dtype=torch.float32)
    flat = Split(parts[1].inputs, parts[1].target[:, 0])
    with pytest.raises(ValueError, match="target"):
        stack_splits([parts[0], flat], device="cpu", dtype=torch.float32)
    labels = splits(1, classes=True)[0]
    with pytest.raises(ValueError, match="target is torch.int64"):
        stack_splits(
            [parts[0], Split(parts[0].inputs, labels.target[:, None])],
            device="cpu",
            dtype=torch.float32,
        )


@needs_cuda
def test_staged_copy_to_cuda_equals_stacking_on_the_cpu(monkeypatch) -> None:
    monkeypatch.setattr(data_module, "STAGE_MODELS", 3)  # 7 models: chunks of 3, 3, 1
    for classes in (False, True):
        parts = splits(7, classes=classes, seed=1)
        on_gpu = stack_splits(parts, device="cuda", dtype=torch.float32)
        on_cpu = stack_splits(parts, device="cpu", dtype=torch.float32)
        for a, b in zip(
            (*on_gpu.inputs, on_gpu.target), (*on_cpu.inputs, on_cpu.target), strict=True
        ):
            assert a.device.type == "cuda"
            assert torch.equal(a.cpu(), b)
