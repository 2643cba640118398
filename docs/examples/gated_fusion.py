"""A user's own fusion design, for ``progfusion study`` and ``run_study``: gated fusion.

Gated fusion mixes the two encoders' features with a learned, per-feature gate,
``g = sigmoid(W [h1, h2] + b)``, ``fused = g * h1 + (1 - g) * h2`` (a gated multimodal
unit, simplified). :func:`gated_pro` builds it as a late-fusion model and wraps it
with :class:`~progfusion.models.ProFusion`, so the fused vector is fed back to both
encoders for ``R`` steps (``R = 1``: the plain gated model).

The module uses only ``torch.nn`` layers, so the stacked trainer trains it through
its generic (``vmap``) path. A study file names it as ``"gated_fusion.py:gated_pro"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from progfusion.models import LateFusion, ProFusion
from torch import Tensor, nn


class GatedFusion(nn.Module):
    """``fused = g * h1 + (1 - g) * h2``, ``g = sigmoid(Linear([h1, h2]))``; (..., width)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.gate = nn.Linear(2 * width, width)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        h1, h2 = features
        g = torch.sigmoid(self.gate(torch.cat([h1, h2], dim=-1)))
        return g * h1 + (1 - g) * h2


def gated_pro(
    input_dims: Sequence[int], output_dim: int, *, width: int = 8, R: int = 2, p: int = 16
) -> nn.Module:
    """Two MLP encoders (``Linear + ReLU``, twice, width ``width``), gated fusion, a linear
    head; wrapped with pro-fusion (``R`` steps, back-projection width ``p``, concatenated)."""
    encoders = [
        nn.Sequential(nn.Linear(d, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
        for d in input_dims
    ]
    base = LateFusion(encoders, GatedFusion(width), nn.Linear(width, output_dim))
    return ProFusion(base, steps=R, context="concat", backproj_dim=p)
