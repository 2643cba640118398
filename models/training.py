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
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call

from .data import ModelData, Split, stack_splits
from .init import hashed_init
from .keyed import modality_keys, model_inputs
from .layers import STACK_AWARE
from .protocol import TrainConfig, batch_indices, epoch_permutation, model_seeds

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

#: the :func:`torch.compile` modes ``train_stack(compile=...)`` accepts (``None``: eager)
COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
#: the modes that replay the compiled step as CUDA graphs on a GPU
CUDA_GRAPH_MODES = ("reduce-overhead", "max-autotune")

StackPath = Literal["auto", "fast", "vmap"]
#: a stack's parameters: one ``(N, *shape)`` tensor per parameter of the architecture,
#: in ``named_parameters()`` order (also Adam's moments and the best weights)
Params = tuple[Tensor, ...]
InitScheme = Literal["factory", "hashed"]


@dataclass
class ModelResult:
    """The outcome of one model's training.

    Attributes
    ----------
    seed
        The model's seed.
    status
        ``"ok"`` or ``"diverged"`` (a non-finite training loss; its metrics are NaN).
    steps
        Optimiser steps taken; ``best_step``: the step of the reported weights.
    val_loss
        Validation loss of the reported weights (NaN without a validation split).
    test_loss, test_metric
        Test loss and metric (accuracy for classification, MSE for regression).
    noise_metric
        Test metric on corrupted inputs, one per ``TrainConfig.noise_levels``.
    recorded
        ``step -> test metric`` for each of ``TrainConfig.record_steps`` reached.
    state
        The reported weights as a state dict of CPU tensors (if requested).
    """

    seed: int
    status: str = "ok"
    steps: int = 0
    best_step: int = 0
    val_loss: float = math.nan
    test_loss: float = math.nan
    test_metric: float = math.nan
    noise_metric: list[float] = field(default_factory=list)
    recorded: dict[int, float] = field(default_factory=dict)
    state: dict[str, Tensor] | None = None


def _build(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    init_seed, _ = model_seeds(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(init_seed)
        return factory()


def build_model(
    factory: Callable[[], nn.Module], seed: int, *, init: InitScheme = "factory"
) -> nn.Module:
    """Build one model with the initialisation that ``seed`` gives it.

    The factory runs under ``torch.manual_seed(init_seed)`` inside
    :func:`torch.random.fork_rng`, so the caller's global random state is left as
    it was. With ``init="hashed"``, models made of stack-aware layers then get the
    per-seed hashed initialisation of :mod:`.init` instead (the one a stack of any
    size gives them; much faster for thousands of models).
    """
    model = _build(factory, seed)
    flat = hashed_init(model, [seed]) if init == "hashed" else None
    if flat is not None:
        with torch.no_grad():
            for p, values in zip(model.parameters(), _split(model, flat[0]), strict=True):
                p.copy_(values)
    return model


def _split(model: nn.Module, row: Tensor) -> list[Tensor]:
    sizes = [p.numel() for p in model.parameters()]
    return [v.view(p.shape) for v, p in zip(row.split(sizes), model.parameters(), strict=True)]


def stack_path(model: nn.Module) -> Literal["fast", "vmap"]:
    """``"fast"`` if every module holding parameters is a stack-aware layer."""
    for module in model.modules():
        if any(True for _ in module.parameters(recurse=False)) and not isinstance(
            module, STACK_AWARE
        ):
            return "vmap"
    return "fast"


def model_losses(out: Tensor, target: Tensor, objective: str) -> Tensor:
    """Per-model mean loss ``(N,)``: cross-entropy or mean squared error (over samples
    and outputs); shapes as in :func:`loss_and_metric`.

    The cross-entropy is taken with the classes on dimension 1, ``(N, C, n)``: on a
    CPU, log-softmax over a short last dimension (the 9 classes of the lattice task)
    is several times slower than over a middle one, for the same values.
    """
    if objective == "classification":
        logits = out.transpose(1, 2).contiguous()  # (N, C, n)
        return nn.functional.cross_entropy(logits, target, reduction="none").mean(1)
    return (out - target).square().flatten(1).mean(1)


def loss_and_metric(out: Tensor, target: Tensor, objective: str) -> tuple[Tensor, Tensor]:
    """Per-model mean loss and metric, each ``(N,)``.

    ``out``: ``(N, n, C)`` logits or ``(N, n, k)`` predictions; ``target``:
    ``(N, n)`` labels or ``(N, n, k)`` values. Classification: cross-entropy and
    accuracy; regression: mean squared error (over samples and outputs), twice.
    """
    loss = model_losses(out, target, objective)
    if objective == "classification":
        return loss, (out.argmax(-1) == target).to(out.dtype).mean(1)
    return loss, loss


class _Forward:
    """The stacked forward of one architecture: parameter layout and the call.

    Stateless (it holds a template model whose own weights are never used), so one
    instance serves every stack of its architecture; compiled instances are kept
    for reuse (:func:`_forward_for`).
    """

    def __init__(self, model: nn.Module, path: str, device: torch.device, mode: str | None):
        self.model = model
        self.names = [n for n, _ in model.named_parameters()]
        self.shapes = [p.shape for _, p in model.named_parameters()]
        self.sizes = [p.numel() for _, p in model.named_parameters()]
        # the single model's buffers, broadcast along the model dimension if any
        self.buffers = {n: b.to(device) for n, b in model.named_buffers()}
        self.vmap = path == "vmap"
        # the model's modality names (encoders in an nn.ModuleDict): it is fed
        # {keys[i]: xs[i]}, in the ModuleDict's order; None: it is fed a list
        self.keys = modality_keys(model)
        self.mode = mode  # the torch.compile mode of the step; None: eager
        self.slots = _slots(model)
        # the training step's forward and loss; the backward follows the compiled graph
        self.step_losses = self._step_losses if mode is None else self._compiled(mode)

    def params(self, stack: Params) -> dict[str, Tensor]:
        """The stack's parameters by name, each ``(N, *shape)``."""
        return dict(zip(self.names, stack, strict=True))

    def unflatten(self, flat: Tensor) -> Params:
        """Flat ``(N, P)`` parameters (each model's concatenated) as contiguous leaves."""
        n = flat.shape[0]
        parts = flat.split(self.sizes, dim=1)
        return tuple(
            part.reshape(n, *shape).contiguous()
            for part, shape in zip(parts, self.shapes, strict=True)
        )

    def __call__(self, stack: Params, xs: tuple[Tensor, ...]) -> Tensor:
        """Outputs ``(N, B, ...)`` of the N models on inputs ``(N, B, f_i)``, handed to
        the model as a list, or as a mapping from its keys (:mod:`.keyed`)."""
        params = self.params(stack)
        if self.vmap:

            def one(p, *x):
                return functional_call(self.model, (p, self.buffers), (model_inputs(self.keys, x),))

            return torch.vmap(one)(params, *xs)
        inputs = model_inputs(self.keys, xs)
        if self.mode is None:  # eager: swap the tensors in directly (see _swapped)
            with _swapped(self.slots, stack, self.buffers):
                return self.model(inputs)
        return functional_call(self.model, (params, self.buffers), (inputs,))

    def _compiled(self, mode: str) -> Callable[..., Tensor]:
        """:meth:`_step_losses` compiled, with a code object of its own.

        TorchDynamo keeps compiled graphs, and its limit of recompilations (8), per
        code object; one shared by every architecture would run the ninth
        architecture of a sweep eagerly. A copy of the code per instance gives each
        architecture its own cache.
        """
        fn = _Forward._step_losses
        own = types.FunctionType(fn.__code__.replace(), fn.__globals__, fn.__name__)
        return torch.compile(types.MethodType(own, self), mode=mode)

    def _step_losses(
        self,
        stack: Params,
        rows: Tensor,
        labels: Tensor | None,
        widths: tuple[int, ...],
        flat_idx: Tensor,
        objective: str,
    ) -> Tensor:
        """Per-model mean training loss ``(N,)`` on the minibatch rows ``flat_idx``
        ``(N, B)`` of the packed training data (:func:`_pack`: ``rows``, ``labels``,
        column ``widths``; rows of the flattened ``(N0 * n, ...)`` data)."""
        parts = _gather(rows, flat_idx).split(widths, dim=2)  # (N, B, f) views
        if labels is None:  # regression: the target's columns come last
            return model_losses(self(stack, parts[:-1]), parts[-1], objective)
        return model_losses(self(stack, parts), _gather(labels, flat_idx), objective)


#: where one tensor of a model lives: (module, "_parameters" or "_buffers", attribute,
#: index of the tensor in ``named_parameters()`` order, or the buffer's name)
_Slot = tuple[nn.Module, str, str, "int | str"]


def _slots(model: nn.Module) -> list[_Slot]:
    """Every place a parameter or buffer of ``model`` is held, tied ones included."""
    index = {id(p): i for i, (_, p) in enumerate(model.named_parameters())}
    named_buffers = {id(b): n for n, b in model.named_buffers()}
    slots = []
    for module in model.modules():
        for attr, p in module._parameters.items():
            if p is not None:
                slots.append((module, "_parameters", attr, index[id(p)]))
        for attr, b in module._buffers.items():
            if b is not None and id(b) in named_buffers:
                slots.append((module, "_buffers", attr, named_buffers[id(b)]))
    return slots


@contextmanager
def _swapped(slots: list[_Slot], stack: Params, buffers: dict[str, Tensor]):
    """The template model holding the stack's parameters (and ``buffers``), restored on exit.

    What :func:`torch.func.functional_call` does, for the eager fast path, without
    its per-call bookkeeping (about 0.2 ms a step, a fifth of the host time of a
    training step of one small model): the slots are found once per stack. An eager
    :class:`_Forward` and its template belong to one :func:`train_stack` call, so no
    other caller sees the swapped model.
    """
    saved = [getattr(module, kind)[attr] for module, kind, attr, _ in slots]
    try:
        for module, kind, attr, key in slots:
            getattr(module, kind)[attr] = stack[key] if kind == "_parameters" else buffers[key]
        yield
    finally:
        for (module, kind, attr, _), tensor in zip(slots, saved, strict=True):
            getattr(module, kind)[attr] = tensor


#: compiled forwards, by (factory, path, device, mode): compiling takes seconds to
#: a minute, so a sweep that trains many stacks of one architecture compiles once
_COMPILED: dict[tuple, _Forward] = {}


def _forward_for(
    factory: Callable[[], nn.Module],
    template: nn.Module,
    path: str,
    device: torch.device,
    mode: str | None,
) -> _Forward:
    if mode is None:
        return _Forward(template, path, device, None)
    key = (factory, path, str(device), mode)
    try:
        cached = _COMPILED.get(key)
    except TypeError:  # an unhashable factory: compiled afresh for this call
        return _Forward(template, path, device, mode)
    if cached is None:
        cached = _COMPILED[key] = _Forward(template, path, device, mode)
    return cached


@dataclass(eq=False)
class _Models:
    """The per-model state of the models still training, one row per model.

    Row ``r`` of every field is the model ``alive[r]`` (its index in the caller's
    list), and every field has that model dimension first, so :meth:`keep` selects
    the rows of all of them at once (a field of a type it does not know is an error).
    Fields with ``init=False`` are derived from the others and recomputed. The
    exception, marked ``whole``: the training data keep the rows of every model of the
    stack (row ``alive[r]`` is model ``r``'s), since a step gathers its minibatch from
    them by flat index anyway; so a model's stop copies no training split.
    """

    alive: Tensor  # (N,) int64: each row's index in the caller's list
    params: Params  # the parameters, (N, *shape) each
    m: Params  # Adam's first moment, shaped as ``params``
    v: Params  # Adam's second moment
    best: Params  # the weights to report: best validation so far (or the latest)
    best_loss: Tensor  # (N,) float64 validation loss of ``best``
    best_step: Tensor  # (N,) int64 the step of ``best``
    since_best: Tensor  # (N,) int64 evaluations since ``best`` last improved
    nonfinite: Tensor  # (N, W) bool: each step's loss non-finite, since the last evaluation
    order: Tensor  # (N,) int64 data-order seeds (:func:`~.protocol.model_seeds`)
    lr: Tensor  # (N, 1) float64 learning rates
    lrs: list[float]  # the same learning rates, on the host
    # (N0, n_train, F), N0 the models the stack started with: inputs and regression targets
    train: Tensor = field(metadata={"whole": True})  # (_pack)
    labels: Tensor | None = field(metadata={"whole": True})  # (N0, n_train) int64, or None
    test: Split
    val: Split | None  # None without early stopping
    perm: Tensor | None  # (N, n_train) this epoch's sample order (None before the first step)
    offsets: Tensor = field(init=False)  # (N, 1): row r's samples start at alive[r] * n_train
    same_lr: bool = field(init=False)  # one learning rate for all rows (a faster Adam step)

    def __post_init__(self) -> None:
        # row r's samples start at alive[r] * n_train in the flattened (N0 * n_train, ...) data
        self.offsets = self.alive.unsqueeze(1) * self.train.shape[1]
        self.same_lr = len(set(self.lrs)) <= 1

    def keep(self, rows: Tensor) -> _Models:
        """The models of the stack rows ``rows`` (sorted, int64 ``(K,)``), every field."""
        picked = {
            f.name: getattr(self, f.name)
            if f.metadata.get("whole")
            else _rows(getattr(self, f.name), rows)
            for f in fields(self)
            if f.init
        }
        return _Models(**picked)


def _rows(value, rows: Tensor):
    """Rows ``rows`` of one per-model field (model dimension first)."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        return value.index_select(0, rows)
    if isinstance(value, tuple) and all(isinstance(v, Tensor) for v in value):  # Params
        return tuple(v.index_select(0, rows) for v in value)
    if isinstance(value, Split):
        return _select(value, rows)
    if isinstance(value, list):
        return [value[i] for i in rows.tolist()]
    raise TypeError(f"no row selection for a per-model field of type {type(value).__name__}")


def _select(split: Split, rows: Tensor) -> Split:
    return Split(tuple(x.index_select(0, rows) for x in split.inputs), split.target[rows])


def _gather(x: Tensor, flat_idx: Tensor) -> Tensor:
    """Rows ``flat_idx`` ``(N, B)`` of ``x`` ``(N0, n, ...)`` viewed as ``(N0 * n, ...)``,
    returned as ``(N, B, ...)``: one flat ``index_select``, several times faster than
    ``x[rows, idx]``."""
    picked = x.reshape(-1, *x.shape[2:]).index_select(0, flat_idx.reshape(-1))
    return picked.view(*flat_idx.shape, *x.shape[2:])


def _evaluate(
    forward: _Forward, stack: Params, split: Split, objective: str, chunk: int, *, metric=True
) -> tuple[Tensor, Tensor]:
    """Per-model loss and metric ``(N,)`` on a stacked split, in sample chunks (no
    grad). ``metric=False``: the loss only (the metric returned is the loss)."""
    n = split.inputs[0].shape[1]  # samples per model
    losses, metrics = [], []
    with torch.no_grad():
        for a in range(0, n, chunk):
            xs = tuple(x[:, a : a + chunk] for x in split.inputs)
            out, target = forward(stack, xs), split.target[:, a : a + chunk]
            if metric:
                loss, value = loss_and_metric(out, target, objective)
            else:
                loss = value = model_losses(out, target, objective)
            w = min(chunk, n - a) / n
            losses.append(loss * w)
            metrics.append(value * w)
    return torch.stack(losses).sum(0), torch.stack(metrics).sum(0)


@dataclass(frozen=True)
class _Run:
    """What stays fixed while a stack trains: the step, the protocol, the results."""

    forward: _Forward
    config: TrainConfig
    data: Sequence[ModelData]  # the caller's, for the corrupted test splits
    results: list[ModelResult]  # one per model, in the caller's order; filled in place
    device: torch.device
    dtype: torch.dtype
    eval_chunk: int
    return_state: bool
    n_train: int  # training samples per model
    widths: tuple[int, ...]  # the column widths of ``_Models.train`` (:func:`_pack`)

    @property
    def early(self) -> bool:
        return self.config.protocol == "early-stopping"

    @property
    def cuda_graphs(self) -> bool:
        """Whether the compiled step replays as CUDA graphs (these modes, on a GPU)."""
        return self.device.type == "cuda" and self.forward.mode in CUDA_GRAPH_MODES

    def is_evaluation_point(self, step: int) -> bool:
        return step % self.config.eval_every == 0 or step == self.config.max_steps


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


def _initialise(
    factory: Callable[[], nn.Module],
    seeds: Sequence[int],
    *,
    init: str,
    path: str,
    device: torch.device,
    mode: str | None,
) -> tuple[_Forward, Params]:
    """The stacked forward, and every model's initial parameters.

    The parameters are in the dtype a model built alone holds (float32), so that
    float64 training starts from the same values as ``build_model(...).to(float64)``,
    as :func:`~.reference.train_one` does; ``"hashed"`` computes them on ``device``.
    """
    template = _build(factory, seeds[0])
    param_dtype = next(template.parameters()).dtype
    flat = None
    if init == "hashed":  # None for a model that is not made of stack-aware layers
        flat = hashed_init(template, seeds, device=device, dtype=param_dtype)
    if flat is None:  # any module: each model as its factory draws it under its seed
        flat = torch.stack(
            [
                torch.cat([p.detach().reshape(-1) for p in _build(factory, s).parameters()])
                for s in seeds
            ]
        )
    chosen = stack_path(template) if path == "auto" else path
    if chosen == "fast" and stack_path(template) != "fast":
        raise ValueError("path='fast' needs a model built from progfusion.models layers only")
    forward = _forward_for(factory, template, chosen, device, mode)
    return forward, forward.unflatten(flat)


def _stage(
    params: Params,
    seeds: Sequence[int],
    data: Sequence[ModelData],
    config: TrainConfig,
    lrs: Sequence[float] | None,
    *,
    device: torch.device,
    dtype: torch.dtype,
) -> _Models:
    """The models' initial state on ``device``: parameters ``params``, fresh
    Adam moments and bookkeeping, and their data splits, stacked."""
    early = config.protocol == "early-stopping"
    train = stack_splits([d.train for d in data], device=device, dtype=dtype)
    test = stack_splits([d.test for d in data], device=device, dtype=dtype)
    val = stack_splits([d.val for d in data], device=device, dtype=dtype) if early else None
    n_models, n_train = len(seeds), train.inputs[0].shape[1]
    if config.batch_size > n_train:
        raise ValueError(
            f"batch_size ({config.batch_size}) exceeds the training split ({n_train} samples)"
        )
    params = tuple(p.to(device=device, dtype=dtype) for p in params)
    lr_values = [config.lr] * n_models if lrs is None else [float(x) for x in lrs]
    window = min(config.eval_every, config.max_steps)  # most steps between evaluations

    def zeros(*shape: int, dtype: torch.dtype) -> Tensor:
        return torch.zeros(shape, dtype=dtype, device=device)

    return _Models(
        alive=torch.arange(n_models, device=device),
        params=params,
        m=tuple(torch.zeros_like(p) for p in params),
        v=tuple(torch.zeros_like(p) for p in params),
        best=tuple(p.clone() for p in params),
        best_loss=torch.full((n_models,), math.inf, dtype=torch.float64, device=device),
        best_step=zeros(n_models, dtype=torch.int64),
        since_best=zeros(n_models, dtype=torch.int64),
        nonfinite=zeros(n_models, window, dtype=torch.bool),
        order=torch.tensor([model_seeds(s)[1] for s in seeds], dtype=torch.int64, device=device),
        lr=torch.tensor(lr_values, dtype=torch.float64, device=device).unsqueeze(1),
        lrs=lr_values,
        train=_pack(train, config.objective),
        labels=train.target if config.objective == "classification" else None,
        test=test,
        val=val,
        perm=None,
    )


def _packed_parts(split: Split, objective: str) -> list[Tensor]:
    """What :func:`_pack` puts side by side, for one model's split ``(n, f)`` or a
    stack's ``(N, n, f)``: each modality's features, then (regression) the target's
    columns; classification labels stay apart."""
    parts = list(split.inputs)
    if objective != "classification":
        parts.append(split.target.flatten(split.inputs[0].dim() - 1))
    return parts


def _widths(split: Split, objective: str) -> tuple[int, ...]:
    """The column widths of :func:`_pack`'s rows: each modality's, then the target's."""
    return tuple(part.shape[-1] for part in _packed_parts(split, objective))


def _pack(train: Split, objective: str) -> Tensor:
    """The stacked training split as one ``(N, n, F)`` tensor (:func:`_packed_parts`).

    A training step then gathers each sample's row once, not once per tensor (a
    random row costs a cache miss or more wherever its columns live)."""
    return torch.cat(_packed_parts(train, objective), dim=2)


def _train_step(run: _Run, models: _Models, step: int, *, since_eval: int) -> None:
    """Optimiser step ``step + 1`` of every model in the stack, in place.

    ``step``: steps taken so far; ``since_eval``: of them, since the last evaluation
    point (the column of ``models.nonfinite`` that this step's losses fill).
    """
    config = run.config
    if run.cuda_graphs:  # a new replay may overwrite the last step's static outputs
        torch.compiler.cudagraph_mark_step_begin()
    epoch, in_epoch = divmod(step, run.n_train // config.batch_size)
    if in_epoch == 0 or models.perm is None:
        models.perm = epoch_permutation(models.order, epoch, run.n_train)
    idx = batch_indices(models.perm, in_epoch, config.batch_size)  # (N, B)
    flat_idx = models.offsets + idx  # (N, B) rows of the flattened training data
    leaves = tuple(p.requires_grad_(True) for p in models.params)
    losses = run.forward.step_losses(
        leaves, models.train, models.labels, run.widths, flat_idx, config.objective
    )  # (N,)
    # a parameter the forward never uses (pro-fusion's back-projections at R = 1) gets a
    # zero gradient, as a flat parameter tensor's gradient would hold for it
    grads = torch.autograd.grad(losses.sum(), leaves, allow_unused=True, materialize_grads=True)
    models.params = tuple(p.detach() for p in leaves)
    torch.logical_not(torch.isfinite(losses.detach()), out=models.nonfinite[:, since_eval])
    with torch.no_grad():
        _adam_step(models, grads, step + 1, *config.betas, config.eps)


def _adam_step(
    models: _Models, grads: Params, step: int, beta1: float, beta2: float, eps: float
) -> None:
    """One Adam update of every row, as ``torch.optim.Adam`` computes it, per model
    (elementwise, so the same arithmetic as on one flat tensor, leaf by leaf).

    One learning rate for the stack: :func:`_fused_adam`. Per-model learning rates: the
    same arithmetic in ``_foreach`` operators, with a per-row step size.
    """
    params, m, v = list(models.params), list(models.m), list(models.v)
    if models.same_lr:
        _fused_adam(params, list(grads), m, v, step, models.lrs[0], beta1, beta2, eps)
        return
    torch._foreach_lerp_(m, grads, 1 - beta1)
    torch._foreach_mul_(v, beta2)
    torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)
    bc1 = 1 - beta1**step
    denom = torch._foreach_sqrt(v)
    torch._foreach_div_(denom, math.sqrt(1 - beta2**step))
    torch._foreach_add_(denom, eps)
    step_size = (models.lr / bc1).to(params[0].dtype)  # (N, 1)
    for p, update in zip(params, torch._foreach_div(m, denom), strict=True):
        p.sub_(step_size.view(-1, *[1] * (p.dim() - 1)) * update)


def _fused_adam(
    params: list[Tensor],
    grads: list[Tensor],
    m: list[Tensor],
    v: list[Tensor],
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
) -> None:
    """Adam step ``step`` (from 1) of every element, in place: ``torch._fused_adam_``,
    what ``Adam(fused=True)`` calls.

    One vectorised pass over each leaf: on a CPU about a third of the time of the
    same update in eight ``_foreach`` calls (which loop over the leaves one operator
    at a time); the float rounding may differ in the last bit (measured: at most one
    float32 ulp after 50 steps). The CPU kernel reads its tensors as contiguous
    whatever their strides, so a transposed gradient (a stacked ``Linear``'s weight)
    is made contiguous first, and the state must be contiguous (it is: stacked).
    """
    grads = [g if g.is_contiguous() else g.contiguous() for g in grads]
    if not all(t.is_contiguous() for t in (*params, *m, *v)):
        raise RuntimeError("the stacked parameters and Adam moments must be contiguous")
    steps = [torch.tensor(float(step), device=params[0].device)] * len(params)
    torch._fused_adam_(
        params, grads, m, v, [], steps, lr=lr, beta1=beta1, beta2=beta2,
        weight_decay=0.0, eps=eps, amsgrad=False, maximize=False,
    )  # fmt: skip


def _record(run: _Run, models: _Models, step: int) -> None:
    """Record each model's test metric after ``step`` (``TrainConfig.record_steps``)."""
    objective = run.config.objective
    _, metric = _evaluate(run.forward, models.params, models.test, objective, run.eval_chunk)
    for i, value in zip(models.alive.tolist(), metric.tolist(), strict=True):
        run.results[i].recorded[step] = value


def _evaluation_point(
    run: _Run, models: _Models, step: int, last_eval: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Divergence, validation and early stopping after ``step``; updates ``models``.

    Returns boolean ``(N,)`` masks of the models that stop now and of those that
    diverged, and for each the first step whose loss was non-finite.
    """
    config = run.config
    nonfinite = models.nonfinite[:, : step - last_eval]  # (N, steps since the last one)
    first_bad = last_eval + 1 + nonfinite.to(torch.int8).argmax(1)  # first True, if any
    finite = ~nonfinite.any(1)
    if run.early:
        loss, _ = _evaluate(
            run.forward, models.params, models.val, config.objective, run.eval_chunk, metric=False
        )
        loss = loss.to(torch.float64)
        first_bad = torch.where(finite, step, first_bad)  # a non-finite validation loss
        finite &= torch.isfinite(loss)
        improved = finite & (loss < models.best_loss)
        models.best_loss = torch.where(improved, loss, models.best_loss)
        models.best_step = torch.where(improved, step, models.best_step)
        models.since_best = torch.where(improved, 0, models.since_best + 1)
        models.best = tuple(
            torch.where(improved.view(-1, *[1] * (p.dim() - 1)), p, best)
            for p, best in zip(models.params, models.best, strict=True)
        )
        stopped = finite & (models.since_best >= config.patience)
    else:
        models.best = models.params
        stopped = torch.zeros_like(finite)
    if step == config.max_steps:
        stopped = finite.clone()
    return stopped, ~finite, first_bad


def _finish(
    run: _Run, models: _Models, step: int, stopped: Tensor, diverged: Tensor, first_bad: Tensor
) -> _Models:
    """Fill in the results of the models that stopped or diverged at ``step``, and
    return the others (the stack without those rows).

    The one scalar read of an evaluation point is here (is any model done?);
    per-model values reach the host as whole lists.
    """
    done = stopped | diverged
    if not bool(done.any()):
        return models
    alive, best_steps = models.alive.tolist(), models.best_step.tolist()
    first_bad_steps = first_bad.tolist()
    for r in diverged.nonzero().flatten().tolist():
        res = run.results[alive[r]]
        res.status, res.steps = "diverged", first_bad_steps[r]
        res.best_step = best_steps[r] if run.early else 0
        res.recorded = {k: v for k, v in res.recorded.items() if k < res.steps}
    out_rows = stopped.nonzero().flatten()
    for r in out_rows.tolist():
        res = run.results[alive[r]]
        res.steps = step
        res.best_step = best_steps[r] if run.early else step
    if out_rows.numel():
        _report(run, models, out_rows, alive)
    return models.keep((~done).nonzero().flatten())


def _report(run: _Run, models: _Models, rows: Tensor, alive: list[int]) -> None:
    """Evaluate the best weights of the stack rows ``rows`` and fill their results.

    ``alive``: ``models.alive`` on the host. Per-model values reach the host as
    whole lists (one transfer each, not one device synchronisation per model).
    """
    config, forward, chunk = run.config, run.forward, run.eval_chunk
    best = _rows(models.best, rows)
    loss, metric = _evaluate(forward, best, _select(models.test, rows), config.objective, chunk)
    originals = [alive[r] for r in rows.tolist()]
    noise = []
    for level in config.noise_levels:
        parts = [run.data[i].corrupted_test(level) for i in originals]
        corrupted = stack_splits(parts, device=run.device, dtype=run.dtype)
        noise.append(_evaluate(forward, best, corrupted, config.objective, chunk)[1].tolist())
    losses, metrics = loss.tolist(), metric.tolist()
    val_losses = models.best_loss.index_select(0, rows).tolist() if run.early else None
    states = forward.params(tuple(p.detach().cpu() for p in best)) if run.return_state else None
    for j, i in enumerate(originals):
        res = run.results[i]
        res.test_loss, res.test_metric = losses[j], metrics[j]
        res.noise_metric = [curve[j] for curve in noise]
        if val_losses is not None:
            res.val_loss = val_losses[j]
        if states is not None:
            res.state = {k: v[j].clone() for k, v in states.items()}
