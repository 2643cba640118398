"""The stacked module: N models of one architecture as one forward pass.

Each parameter of the architecture is held as one leaf tensor ``(N, *shape)``, the
model dimension first (:data:`Params`). :class:`_Forward` computes the outputs of the
N models on their own inputs ``(N, B, f_i)``, by one of two paths, tested equal:

- **fast**: for models built from this package's stack-aware layers
  (:func:`stack_path`), the stacked parameters are swapped into the single model
  (directly, :func:`_swapped`, or with :func:`torch.func.functional_call` for a
  compiled step) and every matmul becomes a batched matmul;
- **vmap**: for any other module, :func:`torch.vmap` over the model dimension.

Also here: building one model under its seed (:func:`build_model`) and a stack's
initial parameters (:func:`_initialise`), the per-model losses and metrics, the
training step's loss on a packed minibatch, and the cache of compiled forwards.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from typing import Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call

from .init import hashed_init
from .keyed import modality_keys, model_inputs
from .layers import STACK_AWARE
from .protocol import model_seeds

__all__ = [
    "COMPILE_MODES",
    "Params",
    "build_model",
    "loss_and_metric",
    "model_losses",
    "stack_path",
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


def _gather(x: Tensor, flat_idx: Tensor) -> Tensor:
    """Rows ``flat_idx`` ``(N, B)`` of ``x`` ``(N0, n, ...)`` viewed as ``(N0 * n, ...)``,
    returned as ``(N, B, ...)``: one flat ``index_select``, several times faster than
    ``x[rows, idx]``."""
    picked = x.reshape(-1, *x.shape[2:]).index_select(0, flat_idx.reshape(-1))
    return picked.view(*flat_idx.shape, *x.shape[2:])


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
