"""Train many small models of one architecture at once, as one stack.

N models (different seeds, different data) are trained together: each parameter
of the architecture is one leaf tensor ``(N, *shape)`` (the model dimension first),
the loss is the *sum* of the per-model mean losses (so each model's gradient is
exactly its own), and Adam is elementwise (``torch._foreach_*`` over the leaves), so
each model follows the trajectory it would follow alone (to floating-point
rounding). Two forward paths, tested equal:

- **fast**: for models built from this package's stack-aware layers, the stacked
  parameters ``(N, ...)`` are swapped into the single model (directly, or with
  :func:`torch.func.functional_call` for a compiled step) and every matmul
  becomes a batched matmul;
- **vmap**: for any other module, :func:`torch.vmap` over the model dimension.

A model stops when its protocol says so (or diverges: a non-finite training
loss) and then leaves the stack, so finished models cost nothing. Per-model results
reach the host as whole lists, so a GPU waits for the host once per evaluation
point, not once per model.

Optionally (``compile=`` one of :data:`COMPILE_MODES`) the training step's gather,
forward and loss, and so its backward, are compiled with :func:`torch.compile`; Adam
and evaluation stay eager. Results equal the eager ones to floating-point rounding,
not bit for bit. Compiling takes from seconds to a minute, once per process, factory
(hashable ones, such as ``ModelSpec(...).build``, are recognised across calls), device
and mode, and again once when the stack size first changes; it pays off for long
runs. On a GPU, ``"reduce-overhead"`` replays the step as a CUDA graph (the step of
these small models is bound by kernel launches).

This module holds the loop (:func:`train_stack`) and its argument checks; the rest is
split by job: :mod:`.stack` (the stacked forward, model building, losses),
:mod:`.state` (the per-model and fixed state of a run, staging, :class:`ModelResult`),
:mod:`.step` (the training step and Adam) and :mod:`.evaluation` (validation, early
stopping, reporting).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .data import ModelData
from .evaluation import _evaluation_point, _finish, _record
from .protocol import TrainConfig
from .stack import (
    COMPILE_MODES,
    InitScheme,
    StackPath,
    _Forward,
    _initialise,
    build_model,
    loss_and_metric,
    model_losses,
    stack_path,
)
from .state import ModelResult, _Models, _Run, _stage, _widths
from .step import _train_step

__all__ = [
    "COMPILE_MODES",
    "ModelResult",
    "TRAIN_DTYPES",
    "check_device",
    "train_stack",
    "build_model",
    "stack_path",
    "loss_and_metric",
    "model_losses",
]


def train_stack(
    factory: Callable[[], nn.Module],
    seeds: Sequence[int],
    data: Sequence[ModelData],
    config: TrainConfig,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    path: StackPath = "auto",
    lrs: Sequence[float] | None = None,
    return_state: bool = False,
    eval_chunk: int = 4096,
    init: InitScheme = "factory",
    compile: str | None = None,  # noqa: A002 (torch.compile's name, as users know it)
) -> list[ModelResult]:
    """Train ``len(seeds)`` models of one architecture as one stack.

    Parameters
    ----------
    factory
        Builds one freshly initialised model (called once per seed, under that
        seed; see :func:`build_model`). Its forward takes a list of modality
        tensors or, a model whose encoders are keyed (an ``nn.ModuleDict``, as in
        torchmultimodal's ``LateFusion``, directly or inside a
        :class:`~.profusion.ProFusion`), a mapping from its keys to them: the
        ModuleDict's first key gets the data's modality 0, and so on
        (:func:`~.keyed.modality_keys`).
    seeds
        One non-negative integer per model: its initialisation and data order.
    data
        One :class:`~.data.ModelData` per model; all with equal split sizes.
    config
        The protocol (:class:`~.protocol.TrainConfig`).
    device, dtype
        Where and in what precision to train (``"cuda"`` for a GPU).
    path
        ``"fast"`` (stack-aware layers only), ``"vmap"`` (any module) or
        ``"auto"`` (fast whenever possible).
    lrs
        Optional per-model learning rates overriding ``config.lr``.
    return_state
        Also return each model's reported weights as a CPU state dict.
    eval_chunk
        Evaluation batch size (samples per forward pass), to bound memory.
    init
        ``"factory"`` (default): each model as its factory draws it under its seed
        (one module build per model, about 1 ms each on a CPU); ``"hashed"``: for
        models made of stack-aware layers, the per-seed hashed initialisation of
        :mod:`.init`, computed for all models at once on the device (same
        distribution; for thousands of models on a GPU). Either way
        :func:`build_model` with the same ``init`` reproduces a model's weights.
    compile
        ``None`` (default): eager PyTorch; or one of :data:`COMPILE_MODES`: the
        training step's gather, forward and loss (so also its backward) are
        compiled with that :func:`torch.compile` mode (see the module docstring).

    Returns
    -------
    list[ModelResult]
        One per seed, in the order given. A diverged model's ``steps`` is the
        step whose training loss was first non-finite (or the evaluation step
        whose validation loss was), as in :func:`~.reference.train_one`.
    """
    if len(seeds) == 0:
        return []
    _check_arguments(seeds, data, config, lrs, init=init, path=path, compile=compile)
    device = check_device(device, dtype)
    forward, params = _initialise(factory, seeds, init=init, path=path, device=device, mode=compile)
    _check_keys(forward.keys, len(data[0].train.inputs))
    models = _stage(params, seeds, data, config, lrs, device=device, dtype=dtype)
    if config.objective == "classification":
        _check_classes(forward, models)
    results = [ModelResult(seed=int(s)) for s in seeds]
    n_train, widths = models.train.shape[1], _widths(data[0].train, config.objective)
    run = _Run(
        forward, config, data, results, device, dtype, eval_chunk, return_state, n_train, widths
    )
    step = last_eval = 0  # steps taken; the step of the last evaluation point
    while step < config.max_steps and models.alive.numel() > 0:
        _train_step(run, models, step, since_eval=step - last_eval)
        step += 1
        if step in config.record_steps:
            _record(run, models, step)
        if run.is_evaluation_point(step):
            stopped, diverged, first_bad = _evaluation_point(run, models, step, last_eval)
            models = _finish(run, models, step, stopped, diverged, first_bad)
            last_eval = step
    return results


def _check_arguments(
    seeds: Sequence[int],
    data: Sequence[ModelData],
    config: TrainConfig,
    lrs: Sequence[float] | None,
    *,
    init: str,
    path: str,
    compile: str | None,  # noqa: A002
) -> None:
    """Raise a ValueError naming the first bad argument of :func:`train_stack`."""
    n_models = len(seeds)
    if len(data) != n_models:
        raise ValueError(f"data: expected one ModelData per seed ({n_models}), got {len(data)}")
    if lrs is not None and len(lrs) != n_models:
        raise ValueError(f"lrs: expected one learning rate per seed ({n_models}), got {len(lrs)}")
    if lrs is not None and not all(math.isfinite(lr) and lr > 0 for lr in lrs):
        raise ValueError(f"lrs must be finite and > 0, got {list(lrs)}")
    if init not in ("factory", "hashed"):
        raise ValueError(f"init must be 'factory' or 'hashed', got {init!r}")
    if path not in ("auto", "fast", "vmap"):
        raise ValueError(f"path must be 'auto', 'fast' or 'vmap', got {path!r}")
    for j, d in enumerate(data):
        if not isinstance(d, ModelData):
            raise ValueError(f"data: model {j}'s data must be a ModelData, got {type(d).__name__}")
        _check_targets(d, config.objective, j)
    if config.protocol == "early-stopping" and any(d.val is None for d in data):
        raise ValueError("data: the early-stopping protocol needs a validation split (val)")
    if config.noise_levels and any(d.corrupted_test is None for d in data):
        raise ValueError("data: noise_levels need ModelData.corrupted_test for every model")
    if compile is not None and compile not in COMPILE_MODES:
        raise ValueError(
            f"compile must be None or one of {', '.join(COMPILE_MODES)}; got {compile!r}"
        )


#: Dtypes training runs in on every device; half precisions only on a GPU (on a CPU
#: float16 matrix products and Adam's small updates lose every model to rounding).
TRAIN_DTYPES = (torch.float32, torch.float64)
GPU_ONLY_DTYPES = (torch.float16, torch.bfloat16)


def check_device(device: str | torch.device, dtype: torch.dtype) -> torch.device:
    """``device`` as a ``torch.device`` that exists here and can train in ``dtype``.

    Raises a ValueError naming ``device`` (not a device name; CUDA asked for
    where none is available, or an index beyond the GPUs there) or ``dtype`` (not
    a floating dtype; float16 or bfloat16 on a CPU).
    """
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r} ({exc})"
        ) from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {str(device)!r}: no CUDA GPU is available here (use 'cpu')")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"device {str(device)!r}: only {torch.cuda.device_count()} CUDA GPU(s) here"
            )
    allowed = TRAIN_DTYPES + (GPU_ONLY_DTYPES if device.type == "cuda" else ())
    if dtype not in allowed:
        names = ", ".join(str(d).removeprefix("torch.") for d in allowed)
        raise ValueError(f"dtype {dtype} cannot train on {device.type}: use one of {names}")
    return device


def _check_targets(data: ModelData, objective: str, j: int) -> None:
    """Targets that fit ``objective``: (n,) integer labels >= 0, or (n, k) floats."""
    for name in ("train", "val", "test"):
        split = getattr(data, name)
        if split is None:
            continue
        y = split.target
        if objective == "classification" and (
            y.dim() != 1 or y.is_floating_point() or y.dtype == torch.bool or bool((y < 0).any())
        ):
            raise ValueError(
                f"data: model {j}'s {name} target must be (n,) integer class labels >= 0 for "
                f"the classification objective, got {tuple(y.shape)} {y.dtype}"
            )
        if objective == "regression" and (y.dim() != 2 or not y.is_floating_point()):
            raise ValueError(
                f"data: model {j}'s {name} target must be (n, k) floats for the regression "
                f"objective, got {tuple(y.shape)} {y.dtype}"
            )


def _check_keys(keys: tuple[str, ...] | None, n_modalities: int) -> None:
    """A model that takes its modalities by name takes as many as the data hold."""
    if keys is not None and len(keys) != n_modalities:
        raise ValueError(
            f"data: the model takes {len(keys)} modalities by name {list(keys)} (fed the "
            f"data's modalities in that order), but the data have {n_modalities}"
        )


def _check_classes(forward: _Forward, models: _Models) -> None:
    """Class labels below the models' class count (their output width, from a forward
    pass on one test sample), so that a wrong label is named here and not by torch."""
    with torch.no_grad():
        n_classes = forward(models.params, tuple(x[:, :1] for x in models.test.inputs)).shape[-1]
    splits = {"train": models.labels, "test": models.test.target}
    if models.val is not None:
        splits["val"] = models.val.target
    for name, labels in splits.items():
        too_large = labels >= n_classes
        if bool(too_large.any()):
            row = int(too_large.any(1).nonzero()[0])
            raise ValueError(
                f"data: model {int(models.alive[row])}'s {name} labels must be below the "
                f"model's {n_classes} classes (its output width), got {int(labels.max())}"
            )
