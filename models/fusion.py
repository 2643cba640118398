"""Late and early fusion, in the paper's decomposition ``P(F(G_1(x_1), ..., G_K(x_K)))``.

:class:`LateFusion` has the constructor of torchmultimodal's
``LateFusion(encoders, fusion_module, head_module)`` and MultiBench's
``MMDL(encoders, fusion, head)``, so encoders, fusions and heads written for either
drop in. The encoders may be a list, tuple or ``nn.ModuleList`` (modalities by
position) or a dict or ``nn.ModuleDict`` (modalities by name). Modalities are
passed as a sequence (encoders given as a sequence) or as a mapping keyed like the
encoders (encoders given as a mapping); the fusion module receives the features
in the same form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from torch import Tensor, nn

from .layers import Concat, Features

__all__ = ["LateFusion", "EarlyFusion", "Encoders", "Modalities", "encoder_container"]

#: The unimodal encoders of a late-fusion model, by position or by modality name.
Encoders = Sequence[nn.Module] | nn.ModuleList | Mapping[str, nn.Module] | nn.ModuleDict

#: Inputs of a multimodal model: one tensor per modality, each ``(B, f_i)`` for
#: one model or ``(N, B, f_i)`` for a stack of N models.
Modalities = Sequence[Tensor] | Mapping[str, Tensor]


def check_modalities(inputs: Any, n: int, keys: tuple[str, ...] | None) -> list[Tensor]:
    """Return ``inputs`` as a list in encoder order, or raise a clear ``ValueError``."""
    if keys is not None:
        if not isinstance(inputs, Mapping):
            raise ValueError(
                f"inputs: the encoders are keyed {list(keys)}, so pass a mapping "
                f"with those keys, got {type(inputs).__name__}"
            )
        if set(inputs) != set(keys):
            raise ValueError(f"inputs: expected modalities {sorted(keys)}, got {sorted(inputs)}")
        return _tensors([inputs[k] for k in keys])
    if isinstance(inputs, Tensor) or not isinstance(inputs, Sequence):
        raise ValueError(
            f"inputs: expected a sequence of {n} modality tensors, got {type(inputs).__name__}"
        )
    if len(inputs) != n:
        raise ValueError(f"inputs: expected {n} modalities, got {len(inputs)}")
    return _tensors(list(inputs))


def _tensors(xs: list) -> list[Tensor]:
    """``xs`` unchanged if every modality is a tensor; else a ValueError naming the first."""
    for i, x in enumerate(xs):
        if not isinstance(x, Tensor):
            hint = " (convert it with torch.from_numpy)" if isinstance(x, np.ndarray) else ""
            raise ValueError(
                f"inputs: modality {i} must be a torch.Tensor, got {type(x).__name__}{hint}"
            )
    return xs


def encoder_container(encoders: Any) -> nn.ModuleDict | nn.ModuleList:
    """``encoders`` as an ``nn.ModuleDict`` (named) or ``nn.ModuleList`` (by position).

    A dict or ``nn.ModuleDict`` keeps its order (the order the modalities are
    encoded and fused in); a list, tuple or ``nn.ModuleList`` keeps its positions.
    The modules themselves are shared, not copied. Anything else, an empty
    container, a name nn.ModuleDict refuses or a value that is not an ``nn.Module`` raises a
    ``ValueError`` naming ``encoders``.
    """
    if isinstance(encoders, Mapping | nn.ModuleDict):
        named = dict(encoders.items())
        bad_keys = [k for k in named if not isinstance(k, str) or not k or "." in k]
        if bad_keys:  # nn.ModuleDict's rule for module names
            raise ValueError(
                f"encoders: modality names must be non-empty strings without '.', got {bad_keys!r}"
            )
        modules = list(named.values())
    elif isinstance(encoders, Sequence | nn.ModuleList) and not isinstance(encoders, str):
        named, modules = None, list(encoders)
    else:
        raise ValueError(
            "encoders must be a list, tuple, nn.ModuleList, dict or nn.ModuleDict of "
            f"modules, got {type(encoders).__name__}"
        )
    if not modules:
        raise ValueError("encoders: need at least one modality encoder")
    for i, module in enumerate(modules):
        if not isinstance(module, nn.Module):
            where = list(named)[i] if named is not None else i
            raise ValueError(
                f"encoders: encoder {where!r} must be an nn.Module, got {type(module).__name__}"
            )
    return nn.ModuleDict(named) if named is not None else nn.ModuleList(modules)


class LateFusion(nn.Module):
    """Late fusion ``P(F(G_1(x_1), ..., G_K(x_K)))``.

    Parameters
    ----------
    encoders
        The unimodal feature generators ``G_i``: a list, tuple or ``nn.ModuleList``
        (modalities by position), or a dict or ``nn.ModuleDict`` from modality
        name to module (modalities by name, encoded and fused in the container's
        order). The modules are shared, not copied.
    fusion
        The fusion ``F``: called with the list (encoders by position) or the dict
        (encoders by name, in their order) of encoder outputs, each ``(B, d_i)``.
    head
        The predictor ``P``, applied to the fused vector.

    Shapes
    ------
    Inputs: one tensor per modality, ``(B, f_i)``, as a sequence (encoders by
    position) or a mapping with exactly the encoders' names (in any order);
    output: the head's output, ``(B, out)``.
    """

    def __init__(self, encoders: Encoders, fusion: nn.Module, head: nn.Module) -> None:
        super().__init__()
        self.encoders: nn.ModuleDict | nn.ModuleList = encoder_container(encoders)
        named = isinstance(self.encoders, nn.ModuleDict)
        self.keys: tuple[str, ...] | None = tuple(self.encoders.keys()) if named else None
        self.fusion = fusion
        self.head = head

    @property
    def n_modalities(self) -> int:
        return len(self.encoders)

    def encoder_list(self) -> list[nn.Module]:
        """The encoders in modality order."""
        if self.keys is None:
            return list(self.encoders)
        return [self.encoders[k] for k in self.keys]

    def as_list(self, inputs: Modalities) -> list[Tensor]:
        """Validate ``inputs`` and return them as a list in encoder order."""
        return check_modalities(inputs, self.n_modalities, self.keys)

    def fuse(self, features: list[Tensor]) -> Features:
        """Apply ``F`` to the encoder outputs (given in encoder order)."""
        if self.keys is None:
            return self.fusion(features)
        return self.fusion(dict(zip(self.keys, features, strict=True)))

    def forward(self, inputs: Modalities) -> Tensor:
        xs = self.as_list(inputs)
        features = [enc(x) for enc, x in zip(self.encoder_list(), xs, strict=True)]
        return self.head(self.fuse(features))


class EarlyFusion(nn.Module):
    """Early fusion: concatenate the raw modality inputs, then one network.

    Parameters
    ----------
    network
        Applied to the concatenated inputs.
    n_modalities
        How many modalities ``forward`` expects (checked).
    lazy
        Pass the inputs to ``network`` as a tuple read as their concatenation
        (only for networks whose first layer is :class:`~.layers.Linear`),
        instead of a ``torch.cat`` copy.
    keys
        Modality names, in the order of concatenation; then ``forward`` takes a
        mapping with exactly these keys (in any order). Without ``keys`` it takes
        a sequence: a mapping is refused, since the order of its entries would
        silently decide which weights each modality meets.
    """

    def __init__(
        self,
        network: nn.Module,
        *,
        n_modalities: int = 2,
        lazy: bool = False,
        keys: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if keys is not None:
            keys = tuple(keys)
            if len(set(keys)) != len(keys) or len(keys) != n_modalities:
                raise ValueError(
                    f"keys must be {n_modalities} distinct modality names "
                    f"(n_modalities), got {list(keys)}"
                )
        if n_modalities < 1:
            raise ValueError(f"n_modalities must be >= 1, got {n_modalities}")
        self.network = network
        self.n_modalities = n_modalities
        self.keys: tuple[str, ...] | None = keys
        self.concat = Concat(lazy=lazy)

    def forward(self, inputs: Modalities) -> Tensor:
        if self.keys is None and isinstance(inputs, Mapping):
            raise ValueError(
                "inputs: this EarlyFusion has no modality names, so pass a sequence "
                "(or build it with keys=[...] to take a mapping)"
            )
        xs = check_modalities(inputs, self.n_modalities, self.keys)
        return self.network(self.concat(xs))
