"""Checks a study passes on the main process before any model trains.

:func:`check_study` builds the task once and every distinct model of the study once
(each design with each set of parameters the grid gives it), and runs each model on
a few training samples of the task. A design whose factory raises, that returns
something other than an ``nn.Module``, has no trainable parameter, or whose forward
raises or gives another shape than ``(batch, output_dim)``, is refused with one
line naming the design, its parameters and what was expected. Nothing is written
and no worker is started before these checks pass, so a bad design costs a second,
not a run. Torch's global random state is left as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from progfusion.models.data import ModelData
from progfusion.models.keyed import modality_keys, model_inputs
from progfusion.models.training import check_device
from torch import nn

from .designs import ModelRecipe, design_label
from .jobs import DataRecipe
from .study import Study

__all__ = ["SAMPLE_BATCH", "check_model", "check_study"]

#: Samples of the task's training split each model is run on.
SAMPLE_BATCH = 4


def check_study(study: Study, *, device: str = "cpu") -> None:
    """Refuse ``study`` (a ``ValueError`` or ``TypeError``, one line) if any model would fail.

    Checks ``device`` exists here (CUDA asked for without a GPU), builds the first
    cell's task instance (its first trial's data) and every distinct
    ``(design, parameters, task shape)`` once, and checks each with
    :func:`check_model`.
    """
    check_device(device, torch.float32)
    sample: dict[tuple, list[torch.Tensor]] = {}
    seen: set[ModelRecipe] = set()
    with torch.random.fork_rng(devices=[]):
        for i, cell in enumerate(study.cells()):
            task, protocol, params = study.cell_settings(cell)
            shape = (tuple(task.input_dims), int(task.output_dim))
            if shape not in sample:
                sample[shape], n_train = _sample_inputs(task, shape[0], first=i == 0)
            if i > 0:
                n_train = getattr(task, "n_train", None)
            for ref in study.designs:
                own, keywords, _ = study.design_settings(ref, task, protocol, params)
                _check_batch(own.batch_size, n_train, design_label(ref))
                recipe = ModelRecipe.of(ref, task.input_dims, task.output_dim, keywords)
                if recipe not in seen:
                    seen.add(recipe)
                    check_model(recipe, sample[shape])


def _check_batch(batch_size: int, n_train: int | None, label: str) -> None:
    if isinstance(n_train, int) and batch_size > n_train:
        raise ValueError(
            f"protocol.batch_size ({batch_size}) of design {label!r} exceeds the task's "
            f"training split ({n_train} samples)"
        )


def _sample_inputs(
    task: Any, input_dims: Sequence[int], *, first: bool
) -> tuple[list[torch.Tensor], int | None]:
    """The first rows of the task's training split and its size (building the task), or
    zeros of its widths and None.

    The task is built once, for the study's first cell (``first``): a task whose
    ``build`` raises is refused here. Other input shapes of the grid get zeros.
    """
    if not first:
        return [torch.zeros(SAMPLE_BATCH, int(d)) for d in input_dims], None
    name = type(task).__name__
    try:
        data = DataRecipe(task, 0).build()
    except Exception as exc:  # noqa: BLE001 - the user's task, reported in one line
        raise ValueError(f"task {name}: build(seed) raised {_error(exc)}") from None
    if not isinstance(data, ModelData):
        raise TypeError(f"task {name}: build(seed) must return a ModelData, got {_kind(data)}")
    inputs = [torch.as_tensor(x[:SAMPLE_BATCH]) for x in data.train.inputs]
    if len(inputs) != len(input_dims) or any(
        x.shape[-1] != d for x, d in zip(inputs, input_dims, strict=False)
    ):
        given = [tuple(x.shape[1:]) for x in inputs]
        raise ValueError(
            f"task {name}: input_dims is {tuple(input_dims)} but build() gives inputs of "
            f"widths {given}"
        )
    return inputs, len(data.train)


def check_model(recipe: ModelRecipe, inputs: Sequence[torch.Tensor]) -> None:
    """Build ``recipe``'s model and run it on ``inputs`` (one tensor ``(batch, width)`` each).

    Raises a ``TypeError`` when the factory does not return an ``nn.Module`` and a
    ``ValueError`` when it raises, has no trainable parameter, or its forward raises
    or returns anything but a float tensor of shape ``(batch, recipe.output_dim)``.
    """
    label = design_label(recipe.design)
    called = f"design {label!r} ({_described(recipe)})"
    try:
        model = recipe.build()
    except Exception as exc:  # noqa: BLE001 - the user's factory, reported in one line
        raise ValueError(f"{called}: its factory raised {_error(exc)}") from None
    if not isinstance(model, nn.Module):
        raise TypeError(f"{called}: its factory must return an nn.Module, got {_kind(model)}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"{called}: the model has no trainable parameter")
    batch = len(inputs[0])
    try:
        with torch.no_grad():
            out = model(_as_model_input(model, list(inputs)))
    except Exception as exc:  # noqa: BLE001 - the user's forward, reported in one line
        shapes = ", ".join(str(tuple(x.shape)) for x in inputs)
        raise ValueError(f"{called}: its forward raised {_error(exc)} on inputs {shapes}") from None
    expected = (batch, recipe.output_dim)
    if not isinstance(out, torch.Tensor) or not out.is_floating_point():
        raise ValueError(f"{called}: its forward must return a float tensor, got {_kind(out)}")
    if tuple(out.shape) != expected:
        raise ValueError(
            f"{called}: its output has shape {tuple(out.shape)}, expected {expected} "
            f"(batch, output_dim) for this task"
        )


def _as_model_input(model: nn.Module, inputs: list[torch.Tensor]) -> Any:
    """The modalities as the trainer hands them to ``model`` (a mapping for keyed encoders)."""
    return model_inputs(modality_keys(model), inputs)


def _described(recipe: ModelRecipe) -> str:
    params = ", ".join(f"{k}={v!r}" for k, v in recipe.params)
    dims = f"input_dims={recipe.input_dims}, output_dim={recipe.output_dim}"
    return f"{dims}, {params}" if params else dims


def _error(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


def _kind(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return f"{type(value).__name__}"
