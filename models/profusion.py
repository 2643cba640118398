"""Pro-Fusion (paper eqs. 7-9) and the unimodal iterative ablation (paper Figure 12).

Pro-Fusion wraps a late-fusion model ``P(F(G_1(x_1), ..., G_K(x_K)))``. Bias-free
back-projections ``W_i`` map the fused vector ``c`` back into each encoder's input,
and the model is unrolled for ``steps`` = R steps from ``c_0 = 0``::

    c_t = F(G_1(x_1 (+) W_1 c_{t-1}), ..., G_K(x_K (+) W_K c_{t-1})),  t = 1..R
    y   = P(c_R)

with two injection forms ``(+)``:

``"add"`` (paper eq. 7)
    ``G_i(x_i + W_i c)``; ``W_i`` maps the fused width to the input width of
    modality i (through a rank-``backproj_dim`` bottleneck when one is given).
``"concat"`` (paper appendix, "Technical Analysis")
    ``G_i([x_i, W_i c])`` with ``W_i`` of width ``p = backproj_dim`` and ``G_i``'s
    first (affine) layer widened by p input columns. The widened layer keeps the
    original weights on the x part, so it is computed as ``A x + b + B (W_i c)``:
    the original first layer plus a bias-free ``B``. ``A x + b`` does not depend
    on c and is computed once per forward pass, not once per step.

Because every ``W_i`` is bias-free, ``W_i(0) = 0`` and **c = 0 gives the base
model**: with ``steps=1``, or with every ``W_i`` zero, the output equals the base
model's output bit for bit (the first step runs exactly the base model's
operations, and adding an exact zero changes no float).

The wrapper shares the base model's modules (it does not copy them), so a
:class:`ProFusion` built from a freshly initialised base starts from the same
encoder, fusion and head weights as that base.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from ._checks import positive_int
from .fusion import LateFusion, Modalities
from .layers import Features, Linear, feature_dim

__all__ = ["ProFusion", "IterativeFusion", "ContextForm"]

ContextForm = Literal["add", "concat"]
_CONTEXT_FORMS = ("add", "concat")
_AFFINE = (nn.Linear, Linear)



def _check_context(context: str) -> str:
    if context not in _CONTEXT_FORMS:
        raise ValueError(f"context must be one of {_CONTEXT_FORMS}, got {context!r}")
    return context


def _as_late(base: LateFusion | Sequence[nn.Module]) -> LateFusion:
    if isinstance(base, LateFusion):
        return base
    if isinstance(base, Sequence) and len(base) == 3:
        return LateFusion(*base)
    raise ValueError(
        "base must be a LateFusion or an (encoders, fusion, head) triple, "
        f"got {type(base).__name__}"
    )


def _first_affine(encoder: nn.Module, i: int) -> tuple[nn.Module, nn.Module]:
    """Split an encoder into (first affine layer, rest) for the concat form."""
    if isinstance(encoder, _AFFINE):
        return encoder, nn.Identity()
    if isinstance(encoder, nn.Sequential) and len(encoder) > 0 and isinstance(encoder[0], _AFFINE):
        return encoder[0], encoder[1:]
    raise ValueError(
        f"context='concat' widens each encoder's first layer, so encoder {i} must be "
        f"a Linear or an nn.Sequential starting with one (got {type(encoder).__name__}); "
        "use context='add' for other encoders"
    )


def _input_width(encoder: nn.Module, i: int, input_dims: Sequence[int] | None) -> int:
    if input_dims is not None:
        return int(input_dims[i])
    first = encoder[0] if isinstance(encoder, nn.Sequential) and len(encoder) else encoder
    if isinstance(first, _AFFINE):
        return first.in_features
    raise ValueError(
        f"input_dims: cannot infer the input width of encoder {i} "
        f"({type(encoder).__name__}); pass input_dims=[...] (one per modality)"
    )


def _bias_free(in_dim: int, out_dim: int, *, bound_in: int | None = None) -> Linear:
    layer = Linear(in_dim, out_dim, bias=False)
    if bound_in is not None:  # initialise like the columns of a widened layer
        layer.init_bound = 1.0 / math.sqrt(bound_in)
        nn.init.uniform_(layer.weight, -layer.init_bound, layer.init_bound)
    return layer


class _Unrolled(nn.Module):
    """Shared machinery: inject a context vector into every encoder, R times."""

    def __init__(
        self,
        base: LateFusion | Sequence[nn.Module],
        *,
        steps: int,
        context: str,
        input_dims: Sequence[int] | None,
    ) -> None:
        super().__init__()
        self.base = _as_late(base)
        self.steps = positive_int("steps", steps)
        self.context = _check_context(context)
        encoders = self.base.encoder_list()
        if input_dims is not None and len(input_dims) != len(encoders):
            raise ValueError(
                f"input_dims: expected {len(encoders)} widths (one per modality), "
                f"got {len(input_dims)}"
            )
        self.input_dims = [_input_width(e, i, input_dims) for i, e in enumerate(encoders)]
        if context == "concat":
            split = [_first_affine(e, i) for i, e in enumerate(encoders)]
            self._first = [f for f, _ in split]
            self._rest = [r for _, r in split]
            self.first_widths = [f.out_features for f in self._first]

    @property
    def n_modalities(self) -> int:
        return self.base.n_modalities

    def _projections(self, src_dims: Sequence[int], backproj_dim: int | None) -> nn.ModuleList:
        """Bias-free maps from each context source (width ``src_dims[i]``) into modality i.

        "add": ``src -> input width`` (through a rank-p bottleneck if p is given);
        "concat": ``src -> p`` (the back-projection ``W_i``) followed by the p new
        columns of the widened first layer (``src -> p -> first-layer width``).
        """
        if backproj_dim is not None:
            backproj_dim = positive_int("backproj_dim", backproj_dim)
        maps: list[nn.Module] = []
        for i, (src, in_dim) in enumerate(zip(src_dims, self.input_dims, strict=True)):
            if self.context == "add":
                if backproj_dim is None:
                    maps.append(_bias_free(src, in_dim))
                else:
                    maps.append(
                        nn.Sequential(
                            _bias_free(src, backproj_dim), _bias_free(backproj_dim, in_dim)
                        )
                    )
            else:
                p = src if backproj_dim is None else backproj_dim
                fan_in = self._first[i].in_features + p  # fan-in of the widened layer
                maps.append(
                    nn.Sequential(
                        _bias_free(src, p),  # W_i: context -> R^p
                        _bias_free(p, self.first_widths[i], bound_in=fan_in),  # new columns
                    )
                )
        return self._match_base(nn.ModuleList(maps))

    def _probe(self) -> list:
        """Encoder outputs on zero inputs, to read widths. Runs in eval mode without
        gradients, so the base's state (e.g. BatchNorm statistics) is left untouched."""
        p = next(self.base.parameters())
        zeros = [torch.zeros(2, d, dtype=p.dtype, device=p.device) for d in self.input_dims]
        modes = {m: m.training for m in self.base.modules()}
        try:
            self.base.eval()
            with torch.no_grad():
                return self._encode(zeros, None, None)
        finally:
            for module, mode in modes.items():
                module.training = mode

    def _match_base(self, module: nn.Module) -> nn.Module:
        """``module`` moved to the base's dtype and device."""
        p = next(self.base.parameters())
        return module.to(dtype=p.dtype, device=p.device)

    def _encode(self, xs: list[Tensor], starts: list[Tensor] | None, ctx: list | None) -> list:
        """Encoder outputs given per-modality contexts (None: the base model's path)."""
        if ctx is None and starts is not None:  # rest(first(x)) is enc(x), op for op
            return [rest(h) for rest, h in zip(self._rest, starts, strict=True)]
        encoders = self.base.encoder_list()
        if ctx is None:
            return [enc(x) for enc, x in zip(encoders, xs, strict=True)]
        if self.context == "add":
            return [enc(x + c) for enc, x, c in zip(encoders, xs, ctx, strict=True)]
        return [rest(h + c) for rest, h, c in zip(self._rest, starts, ctx, strict=True)]

    def _starts(self, xs: list[Tensor]) -> list[Tensor] | None:
        """``A x + b`` of each widened first layer (concat form), computed once."""
        if self.context != "concat":
            return None
        return [first(x) for first, x in zip(self._first, xs, strict=True)]


class ProFusion(_Unrolled):
    """Progressive fusion around any late-fusion model.

    Parameters
    ----------
    base
        A :class:`~.fusion.LateFusion`, or an ``(encoders, fusion, head)`` triple.
    steps
        Unroll steps R >= 1. R = 1 is the base model; R = 2 (default) uses the
        back-projection once.
    context
        ``"add"`` or ``"concat"`` (see the module docstring).
    backproj_dim
        Width p of the back-projection. ``"concat"``: the number of context
        columns added to each encoder's first layer (default: the fused width).
        ``"add"``: an optional rank-p bottleneck ``W_i = B_i A_i`` (default: a
        full fused-width x input-width matrix).
    input_dims
        Input width of each modality; inferred when each encoder is (or starts
        with) a linear layer.
    fused_dim
        Width of the fused vector; inferred by one forward pass on zeros.

    Shapes
    ------
    Inputs: one tensor per modality, ``(B, f_i)`` (or ``(N, B, f_i)`` with stacked
    parameters); output: the head's output, ``(B, out)``.
    """

    def __init__(
        self,
        base: LateFusion | Sequence[nn.Module],
        *,
        steps: int = 2,
        context: ContextForm = "add",
        backproj_dim: int | None = None,
        input_dims: Sequence[int] | None = None,
        fused_dim: int | None = None,
    ) -> None:
        super().__init__(base, steps=steps, context=context, input_dims=input_dims)
        if fused_dim is None:
            with torch.no_grad():
                fused_dim = feature_dim(self.base.fuse(self._probe()))
        self.fused_dim = int(fused_dim)
        self.backproj_dim = backproj_dim
        self.backproj = self._projections([self.fused_dim] * self.n_modalities, backproj_dim)

    def forward(self, inputs: Modalities) -> Tensor:
        xs = self.base.as_list(inputs)
        starts = self._starts(xs)
        fused: Features = self.base.fuse(self._encode(xs, starts, None))  # c_1: c_0 = 0
        for _ in range(self.steps - 1):
            ctx = [w(fused) for w in self.backproj]
            fused = self.base.fuse(self._encode(xs, starts, ctx))
        return self.base.head(fused)


class IterativeFusion(_Unrolled):
    """The paper's unimodal iterative ablation (Table 5, Figure 12).

    Like :class:`ProFusion`, but each encoder's own output is fed back to its own
    input (``e_i^t = G_i(x_i (+) V_i e_i^{t-1})``, ``e_i^0 = 0``): iteration with
    no cross-modal path. The fused vector ``F(e_1^R, ..., e_K^R)`` goes to the head.
    Parameters as :class:`ProFusion`; ``encoder_dims`` (each encoder's output
    width) is inferred by one forward pass on zeros.
    """

    def __init__(
        self,
        base: LateFusion | Sequence[nn.Module],
        *,
        steps: int = 2,
        context: ContextForm = "add",
        backproj_dim: int | None = None,
        input_dims: Sequence[int] | None = None,
        encoder_dims: Sequence[int] | None = None,
    ) -> None:
        super().__init__(base, steps=steps, context=context, input_dims=input_dims)
        if encoder_dims is None:
            with torch.no_grad():
                encoder_dims = [feature_dim(e) for e in self._probe()]
        self.encoder_dims = [int(e) for e in encoder_dims]
        self.feedback = self._projections(self.encoder_dims, backproj_dim)

    def forward(self, inputs: Modalities) -> Tensor:
        xs = self.base.as_list(inputs)
        starts = self._starts(xs)
        features = self._encode(xs, starts, None)
        for _ in range(self.steps - 1):
            ctx = [v(e) for v, e in zip(self.feedback, features, strict=True)]
            features = self._encode(xs, starts, ctx)
        return self.base.head(self.base.fuse(features))
