"""What a model costs: its parameters, its effective parameters and its work per sample.

Three counts, so that a comparison can match a control to a model three ways (SPEC
section 5):

- :func:`parameter_count`: the trainable parameters, as stored (nominal);
- :func:`effective_parameter_count`: the dimension of the set of functions the
  parameters reach, where a chain of bias-free linear maps applied in series (a
  back-projection ``W_i`` followed by the new columns ``B_i`` of a widened first layer,
  or a rank-p bottleneck) counts as the one linear map it computes: a product
  ``out x p x in`` of rank at most ``r = min(p, in, out)`` spans the rank-``r``
  matrices, a manifold of dimension ``r (in + out) - r^2``, so that with
  ``p >= min(in, out)`` it is a full ``out x in`` matrix;
- :func:`flops_per_sample`: the multiply-adds of one forward pass of one sample
  (matrix products counted by :class:`torch.utils.flop_counter.FlopCounterMode`,
  halved: it counts a multiply-add as two operations), so that unrolled steps count
  as often as they run.

For the Figure 7 models (h = 8, p = 16, R = 2): late fusion 433 parameters;
pro-fusion 1,201 nominal, 689 effective (each modality's 16 -> 16 -> 8 back-projection
equals one 8 x 16 map: 128 instead of 384 parameters).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .keyed import modality_keys, model_inputs
from .layers import Linear

__all__ = ["effective_parameter_count", "flops_per_sample", "parameter_count"]


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters of ``model`` (one model, not a stack)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _bias_free(module: nn.Module) -> bool:
    if isinstance(module, Linear):
        return module.bias is None
    return isinstance(module, nn.Linear) and module.bias is None


def _chains(model: nn.Module) -> list[list[nn.Module]]:
    """Runs of two or more consecutive bias-free linear layers inside an ``nn.Sequential``."""
    found = []
    for module in model.modules():
        if not isinstance(module, nn.Sequential):
            continue
        run: list[nn.Module] = []
        for child in [*module, None]:
            if child is not None and _bias_free(child):
                run.append(child)
                continue
            if len(run) > 1:
                found.append(run)
            run = []
    return found


def _shape(layer: nn.Module) -> tuple[int, int]:
    """``(in, out)`` of a linear layer (the package's or torch's)."""
    return layer.in_features, layer.out_features


def effective_parameter_count(model: nn.Module) -> int:
    """:func:`parameter_count` with every chain of bias-free linear maps in series counted
    as the one map it computes (see the module docstring)."""
    count = parameter_count(model)
    for chain in _chains(model):
        dims = [_shape(chain[0])[0], *(_shape(layer)[1] for layer in chain)]
        rank = min(dims)
        nominal = sum(parameter_count(layer) for layer in chain)
        count -= nominal - min(nominal, rank * (dims[0] + dims[-1]) - rank * rank)
    return count


def flops_per_sample(model: nn.Module, input_dims: Sequence[int]) -> int:
    """Multiply-adds of ``model``'s forward pass on one sample of ``input_dims`` widths.

    Counted on a batch of one, in float32 zeros, without gradients; the model's
    modalities are given as it takes them (a mapping for keyed encoders).
    """
    inputs = [torch.zeros(1, int(d)) for d in input_dims]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(model_inputs(modality_keys(model), inputs))
    return int(counter.get_total_flops()) // 2
