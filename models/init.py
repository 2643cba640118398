"""Per-seed initialisation of many models at once, computed on the training device.

Building N models one by one costs about a millisecond each on a CPU (module
construction under a seeded generator), which at N = 4,096 takes longer than
training them on a GPU. With ``init="hashed"`` (``train_stack``, ``build_model``;
the default is ``"factory"``), for models whose every parameter lives in a stack-aware
:class:`~.layers.Linear`, the initial weights are instead a pure function of
``(seed, parameter, element)``: ``(2u - 1) * bound`` with ``u`` uniform on
[0, 1) from a 32-bit counter hash (the same hash as the minibatch order) and
``bound`` the layer's ``init_bound`` (PyTorch's ``1/sqrt(fan_in)``, or a wrapper's
choice). It is the same distribution as PyTorch's default, computed for all N
models in a few vectorised operations, on any device, identical for a model
initialised alone or inside any stack.

Parameters are keyed by their name with a leading ``"base."`` removed, so a
:class:`~.profusion.ProFusion` starts from exactly the weights of the late
model it wraps when both are initialised with the same seed (paired comparisons).
Other models (any parameter outside :class:`~.layers.Linear`) keep the weights
their factory drew under the seed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .layers import Linear
from .protocol import _MASK32, _mix32, model_seeds

__all__ = ["hashed_init", "supports_hashed_init", "param_key"]


def param_key(name: str) -> int:
    """A stable 32-bit key of a parameter name, ``"base."`` prefixes removed."""
    while name.startswith("base."):
        name = name[len("base.") :]
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def _owners(model: nn.Module) -> dict[str, Linear] | None:
    """Parameter name -> its Linear, or None if some parameter lives elsewhere."""
    owners: dict[str, Linear] = {}
    for module_name, module in model.named_modules():
        direct = list(module.named_parameters(recurse=False))
        if direct and not isinstance(module, Linear):
            return None
        for pname, _ in direct:
            owners[f"{module_name}.{pname}" if module_name else pname] = module
    return owners


def supports_hashed_init(model: nn.Module) -> bool:
    """Whether every parameter of ``model`` lives in a stack-aware Linear."""
    return _owners(model) is not None


def hashed_init(
    model: nn.Module,
    seeds: Sequence[int],
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor | None:
    """Initial parameters of ``len(seeds)`` models shaped like ``model``.

    Returns ``(N, P)`` (P: the parameter count, in ``model.parameters()`` order),
    or None when ``model`` does not support hashed initialisation.
    """
    owners = _owners(model)
    if owners is None:
        return None
    init = torch.tensor([model_seeds(s)[0] for s in seeds], dtype=torch.int64, device=device)
    base = _mix32(init).unsqueeze(1)  # (N, 1)
    parts = []
    for name, param in model.named_parameters():
        idx = torch.arange(param.numel(), dtype=torch.int64, device=device)
        salted = _mix32(base ^ param_key(name))  # (N, 1)
        u = _mix32((salted + idx) & _MASK32).to(torch.float64) / 2.0**32  # (N, numel) in [0, 1)
        parts.append(((2.0 * u - 1.0) * owners[name].init_bound).to(dtype))
    return torch.cat(parts, dim=1)
