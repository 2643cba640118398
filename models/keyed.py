"""Models that take their modalities by name: which keys, and the inputs they take.

A late-fusion model whose encoders are an ``nn.ModuleDict`` (torchmultimodal's
``LateFusion(encoders: nn.ModuleDict, fusion_module, head_module)``, this package's
:class:`~.fusion.LateFusion` built from a dict, or a :class:`~.profusion.ProFusion`
around either) takes a mapping ``{key: tensor}``, not a list. A trainer that holds
the modalities of a task by position (modality i of the data) feeds such a model
the mapping from its keys, **in the ModuleDict's order**, to the task's modalities
in theirs: the first key gets modality 0, and so on. (torchmultimodal sorts its
encoders by key, so there the keys in sorted order meet the task's modalities.)

The keys are read once per model (:func:`modality_keys`); each forward pass then
only builds the mapping (:func:`model_inputs`).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from .fusion import EarlyFusion, LateFusion
from .profusion import IterativeFusion, ProFusion

__all__ = ["modality_keys", "model_inputs"]


def modality_keys(model: nn.Module) -> tuple[str, ...] | None:
    """The names under which ``model`` takes its modalities, or None (by position).

    Read from the model itself, not from what it holds: this package's models
    (:class:`~.fusion.LateFusion`, :class:`~.fusion.EarlyFusion`,
    :class:`~.profusion.ProFusion`, :class:`~.profusion.IterativeFusion`) by the
    names they were built with; any other module by its ``encoders`` attribute
    when that is an ``nn.ModuleDict`` (torchmultimodal's layout), in its order. A
    module that only holds a keyed model (an adapter that takes a list and builds
    the mapping itself) has no ``encoders`` of its own, so it keeps taking a list.

    Parameters
    ----------
    model
        One model (not a stack).

    Returns
    -------
    tuple[str, ...] or None
        The keys in the order the model encodes its modalities, or None for a
        model that takes a sequence.
    """
    if isinstance(model, LateFusion | EarlyFusion | ProFusion | IterativeFusion):
        return model.keys
    encoders = getattr(model, "encoders", None)
    if isinstance(encoders, nn.ModuleDict) and len(encoders) > 0:
        return tuple(encoders.keys())
    return None


def model_inputs(
    keys: tuple[str, ...] | None, xs: Sequence[Tensor]
) -> list[Tensor] | dict[str, Tensor]:
    """The modalities ``xs`` as the model with ``keys`` (:func:`modality_keys`) takes them.

    Parameters
    ----------
    keys
        The model's modality names in its order, or None.
    xs
        One tensor per modality, by position: ``(B, f_i)``, or ``(N, B, f_i)`` for a
        stack of N models.

    Returns
    -------
    list[Tensor] or dict[str, Tensor]
        ``list(xs)`` when ``keys`` is None; else ``{keys[i]: xs[i]}`` in key order.
        The tensors themselves, not copies.

    Raises
    ------
    ValueError
        ``len(xs) != len(keys)``.
    """
    if keys is None:
        return list(xs)
    if len(xs) != len(keys):
        raise ValueError(
            f"inputs: the model takes {len(keys)} modalities by name {list(keys)}, "
            f"got {len(xs)} modality tensors"
        )
    return dict(zip(keys, xs, strict=True))
