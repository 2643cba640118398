"""The paper's MLPs for its two synthetic tasks, in every fusion design.

Lattice lookup (paper Figure 4, "a 2 layer MLP ... with different sizes for the
hidden layer", read literally; SPEC section 4):

- late: each modality ``Linear(in_i, d) + ReLU``; fusion by concatenation; head
  ``Linear(2d, 9)``, or with ``head_hidden=h``: ``Linear(2d, h) + ReLU + Linear(h, 9)``;
- early: ``Linear(in_1 + in_2, 2d) + ReLU`` and the same head;
- pro / iterative: the late model wrapped (context concatenated to each input,
  back-projection width 16, R = 2 unroll steps).

Latent lReLU/sin task (paper Figures 7 and 8, "a 3 layer MLP ... Fusion was done
via plain concatenation of the second layer"):

- late: each modality ``Linear(16, h) + ReLU + Linear(h, h) + ReLU``, fusion by
  concatenation, head ``Linear(2h, 1)``; h = 8;
- early: ``Linear(32, 2h) + ReLU + Linear(2h, 2h) + ReLU + Linear(2h, 1)``;
- pro: "the same fusion vector was linearly transformed and fed along with the
  input": the fused 2h vector through a bias-free ``Linear(2h, p)``, p = 16,
  concatenated to each input; R = 2.

Every model is built from :mod:`.layers`, so the stacked trainer's fast path
applies, and fusion is a lazy :class:`~.layers.Concat` (no ``torch.cat``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from torch import nn

from ._checks import positive_int
from .fusion import EarlyFusion, LateFusion
from .layers import Concat, Linear
from .profusion import ContextForm, IterativeFusion, ProFusion

__all__ = ["ModelSpec", "DESIGNS", "TASKS", "mlp_model"]

Design = Literal["late", "early", "pro", "iterative"]
Task = Literal["lattice", "latent"]
#: The designs :class:`ModelSpec` builds (the study engine adds ``late-wide``).
DESIGNS: tuple[str, ...] = ("late", "early", "pro", "iterative")
#: The tasks :class:`ModelSpec` sizes its models for: ``lattice`` (Figure 4), ``latent``
#: (Figures 7 and 8).
TASKS: tuple[str, ...] = ("lattice", "latent")

_LATTICE_IN = (33, 16)  # D + 1 = 33 lattice values, 16-entry position embedding
_LATTICE_CLASSES = 9  # first non-zero digit 1..9
_LATENT_IN = (16, 16)  # dx = 16 for both modalities
_LATENT_OUT = 1  # dy = 1


def _mlp(widths: list[int], *, final_relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(Linear(a, b))
        if final_relu or i < len(widths) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


@dataclass(frozen=True)
class ModelSpec:
    """A picklable recipe for one of the paper's models; :meth:`build` makes it.

    Parameters
    ----------
    task
        ``"lattice"`` (Figure 4) or ``"latent"`` (Figures 7 and 8).
    design
        ``"late"``, ``"early"``, ``"pro"`` or ``"iterative"``.
    width
        Hidden width per modality: d for the lattice task, h for the latent task.
    head_hidden
        Lattice task only: width of a hidden layer in the head (None: a linear
        head, the literal two-layer MLP).
    in_dims, out_dim
        Input widths per modality and output width; None uses the task's defaults.
    steps, context, backproj_dim
        Pro-fusion / iterative settings (see :class:`~.profusion.ProFusion`).
    """

    task: Task
    design: Design
    width: int
    head_hidden: int | None = None
    in_dims: tuple[int, ...] | None = None
    out_dim: int | None = None
    steps: int = 2
    context: ContextForm = "concat"
    backproj_dim: int | None = 16

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.design not in DESIGNS:
            raise ValueError(f"design must be one of {DESIGNS}, got {self.design!r}")
        for name in ("width", "steps"):
            object.__setattr__(self, name, positive_int(name, getattr(self, name)))
        for name in ("head_hidden", "out_dim", "backproj_dim"):  # each None or an integer >= 1
            if getattr(self, name) is not None:
                object.__setattr__(self, name, positive_int(name, getattr(self, name)))
        if self.head_hidden is not None and self.task != "lattice":
            raise ValueError("head_hidden applies to the lattice task only")
        if self.in_dims is not None:
            if len(self.in_dims) < 1:
                raise ValueError(f"in_dims must be positive widths, got {self.in_dims!r}")
            for i, value in enumerate(self.in_dims):
                positive_int(f"in_dims[{i}]", value)
        if self.context not in ("add", "concat"):
            raise ValueError(f"context must be 'add' or 'concat', got {self.context!r}")

    @property
    def input_dims(self) -> tuple[int, ...]:
        default = _LATTICE_IN if self.task == "lattice" else _LATENT_IN
        return tuple(self.in_dims) if self.in_dims is not None else default

    @property
    def output_dim(self) -> int:
        if self.out_dim is not None:
            return self.out_dim
        return _LATTICE_CLASSES if self.task == "lattice" else _LATENT_OUT

    def with_design(self, design: Design) -> ModelSpec:
        """The same recipe in another design."""
        return replace(self, design=design)

    def build(self) -> nn.Module:
        """A freshly initialised model (draws from torch's global generator).

        Late, pro and iterative models built under the same seed share the base
        weights: the wrappers draw their back-projections after the base.
        """
        return mlp_model(
            self.design,
            self.input_dims,
            self.output_dim,
            width=self.width,
            depth=1 if self.task == "lattice" else 2,
            head_hidden=self.head_hidden,
            steps=self.steps,
            context=self.context,
            backproj_dim=self.backproj_dim,
        )


def mlp_model(
    design: Design,
    input_dims: Sequence[int],
    output_dim: int,
    *,
    width: int,
    depth: int,
    head_hidden: int | None = None,
    steps: int = 2,
    context: ContextForm = "concat",
    backproj_dim: int | None = 16,
) -> nn.Module:
    """One of the paper's MLPs in ``design``, freshly initialised from torch's global generator.

    Late fusion: per modality ``depth`` layers ``Linear + ReLU`` of width ``width``,
    fusion by (lazy) concatenation, head ``Linear(width * K, output_dim)``, or with
    ``head_hidden``: ``Linear(width * K, head_hidden) + ReLU + Linear(head_hidden,
    output_dim)``. Early fusion: ``depth`` layers of width ``width * K`` on the
    concatenated inputs and the same head. Pro / iterative: the late model wrapped
    (``steps`` = R, ``context``, ``backproj_dim`` = p), drawn after the base so that
    every design built under one seed shares the base weights.
    """
    fused = width * len(input_dims)
    hidden = [head_hidden] if head_hidden else []

    def head() -> nn.Sequential:  # drawn after the encoders (or the early body)
        return _mlp([fused, *hidden, output_dim], final_relu=False)

    if design == "early":
        body = _mlp([sum(input_dims)] + [fused] * depth, final_relu=True)
        return EarlyFusion(nn.Sequential(*body, *head()), n_modalities=len(input_dims), lazy=True)
    encoders = [_mlp([d] + [width] * depth, final_relu=True) for d in input_dims]
    late = LateFusion(encoders, Concat(lazy=True), head())
    if design == "late":
        return late
    wrapper = ProFusion if design == "pro" else IterativeFusion
    return wrapper(late, steps=steps, context=context, backproj_dim=backproj_dim)
