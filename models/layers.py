"""Stack-aware layers: one module definition serves one model or a stack of N models.

Every layer here computes exactly what its ``torch.nn`` counterpart computes on
inputs of shape ``(B, in)``. When its parameters carry a leading model dimension
(``weight`` of shape ``(N, out, in)`` instead of ``(out, in)``), the same module
computes N independent models at once on inputs of shape ``(N, B, in)`` with
batched matrix products. The stacked trainer (:mod:`progfusion.models.training`)
relies on this: it swaps stacked parameters into an ordinary single model with
:func:`torch.func.functional_call`, with no module surgery.

:class:`Linear` also accepts a *sequence* of tensors, read as their concatenation
along the last dimension, and multiplies each part by its slice of the weight.
This keeps ``torch.cat`` of modality features out of the hot path (measured
several times slower for the small stacked models of the paper's figures).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

__all__ = ["Linear", "Concat", "Features", "feature_dim", "STACK_AWARE"]

#: A tensor of shape ``(..., f)``, or a sequence of such tensors read as their
#: concatenation along the last dimension (the lazy output of :class:`Concat`).
Features = Tensor | Sequence[Tensor]


def feature_dim(features: Features) -> int:
    """Size of the last dimension of ``features`` (summed over parts)."""
    if isinstance(features, Tensor):
        return features.shape[-1]
    return sum(part.shape[-1] for part in features)


class Linear(nn.Module):
    """Affine map ``y = x W^T + b``, for one model or a stack of models.

    Parameters
    ----------
    in_features, out_features
        Input and output widths.
    bias
        Whether the layer has a bias. Back-projections are built bias-free, so
        that a zero context maps to exactly zero.

    Notes
    -----
    Shapes: single model, ``weight (out, in)``, ``bias (out,)``, input
    ``(..., in)``; stacked, ``weight (N, out, in)``, ``bias (N, out)``, input
    ``(N, B, in)``. Initialisation is :class:`torch.nn.Linear`'s (uniform in
    ``+-1/sqrt(in)``), drawn from the global generator, which the trainer seeds
    per model inside :func:`torch.random.fork_rng`.
    """

    def __init__(self, in_features: int, out_features: int, *, bias: bool = True) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"in_features and out_features must be >= 1, got {in_features}, {out_features}"
            )
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.bias = nn.Parameter(torch.empty(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.in_features)
        self.init_bound = bound  # read by the trainer's per-seed initialisation (init.py)
        nn.init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Features) -> Tensor:
        w, b = self.weight, self.bias
        parts = [x] if isinstance(x, Tensor) else list(x)
        width = sum(p.shape[-1] for p in parts)
        if width != self.in_features:
            raise ValueError(f"Linear expects {self.in_features} input features, got {width}")
        if w.dim() == 2:  # one model: (..., in) -> (..., out)
            out = nn.functional.linear(parts[0], w[:, : parts[0].shape[-1]], b)
            start = parts[0].shape[-1]
            for part in parts[1:]:
                stop = start + part.shape[-1]
                out = out + part @ w[:, start:stop].T
                start = stop
            return out
        # a stack of N models: (N, B, in) -> (N, B, out), computed transposed, as
        # W x^T (N, out, B): with B = 128 samples and a few outputs, a product whose
        # long side is the samples runs 2-6x faster on a CPU than x W^T (measured:
        # 8 outputs, in forward and backward alike); a later Linear takes the result's
        # transpose as it lies in memory. In place after the first bmm (bmm's backward
        # does not need its output): baddbmm with a broadcast bias would copy the bias
        # into a new tensor first, twice as slow on a CPU.
        start, out_t = 0, None
        for part in parts:
            stop = start + part.shape[-1]
            w_j, x_t = w[:, :, start:stop], part.transpose(1, 2)  # (N, out, in_j), (N, in_j, B)
            if out_t is None:
                out_t = torch.bmm(w_j, x_t)
                if b is not None:
                    out_t = out_t.add_(b.unsqueeze(2))
            else:
                out_t = out_t.baddbmm_(w_j, x_t)
            start = stop
        return out_t.transpose(1, 2)

    def extra_repr(self) -> str:
        has_bias = self.bias is not None
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={has_bias}"


class Concat(nn.Module):
    """Fusion by concatenation of the modality features along the last dimension.

    Parameters
    ----------
    lazy
        If True, return the features as a tuple, read downstream as their
        concatenation by :class:`Linear` (no copy). If False (default), return
        ``torch.cat(features, -1)``, which any module accepts.
    """

    def __init__(self, *, lazy: bool = False) -> None:
        super().__init__()
        self.lazy = lazy

    def forward(self, features: Sequence[Tensor] | Mapping[str, Tensor]) -> Features:
        if isinstance(features, Mapping):
            features = list(features.values())
        if self.lazy:
            return tuple(features)
        return torch.cat(list(features), dim=-1)

    def extra_repr(self) -> str:
        return f"lazy={self.lazy}"


#: Module types whose forward handles a leading model dimension on their
#: parameters and inputs; modules without parameters (activations, Sequential,
#: Concat) are stack-aware whenever their children are.
STACK_AWARE: tuple[type[nn.Module], ...] = (Linear,)
