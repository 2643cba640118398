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

What can be wrapped: any late-fusion model, given by its parts. A module is
read by its attribute names (the first layout that fits):

=======================  ============  =================  ===============
model                    encoders      fusion             head
=======================  ============  =================  ===============
:class:`.LateFusion`     ``encoders``  ``fusion``         ``head``
torchmultimodal          ``encoders``  ``fusion_module``  ``head_module``
``LateFusion``
MultiBench ``MMDL``      ``encoders``  ``fuse``           ``head``
=======================  ============  =================  ===============

with ``encoders`` an ``nn.ModuleDict`` (modalities by name) or ``nn.ModuleList``
(by position). An ``(encoders, fusion, head)`` triple is also accepted, its
encoders a list, tuple, ``nn.ModuleList``, dict or ``nn.ModuleDict``. The wrapper
encodes the modalities in the base's order (an ``nn.ModuleDict``'s order, which
torchmultimodal sorts) and hands the fusion what the base hands it: a dict of
features in that order for named encoders, a list for positional ones (and, as
MMDL does, the first element of a tuple the fusion returns). So the first step
is the base model's own computation, and the identity above holds for all of
them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from ._checks import positive_int
from .fusion import LateFusion, Modalities, check_modalities
from .layers import Features, Linear, feature_dim

__all__ = ["ProFusion", "IterativeFusion", "ContextForm", "Base", "Widths"]

ContextForm = Literal["add", "concat"]
#: A late-fusion model: a module (see the module docstring for the layouts read)
#: or an ``(encoders, fusion, head)`` triple.
Base = nn.Module | Sequence[Any]
#: One width per modality: a sequence in the encoders' order, or (named
#: encoders) a mapping from modality name to width.
Widths = Sequence[int] | Mapping[str, int]
_CONTEXT_FORMS = ("add", "concat")
_AFFINE = (nn.Linear, Linear)


@dataclass(frozen=True)
class _Layout:
    """The attribute names under which a late-fusion module keeps its parts."""

    model: str  # for messages
    encoders: str
    fusion: str
    head: str
    first_of_tuple: bool = False  # MMDL.forward: ``if type(out) is tuple: out = out[0]``


_LAYOUTS = (
    _Layout("progfusion LateFusion", "encoders", "fusion", "head"),
    _Layout("torchmultimodal LateFusion", "encoders", "fusion_module", "head_module"),
    _Layout("MultiBench MMDL", "encoders", "fuse", "head", first_of_tuple=True),
)


def _check_context(context: str) -> str:
    if context not in _CONTEXT_FORMS:
        raise ValueError(f"context must be one of {_CONTEXT_FORMS}, got {context!r}")
    return context


def _resolve(base: Base) -> tuple[nn.Module, _Layout]:
    """The module to wrap and where it keeps its parts, or a ValueError naming ``base``."""
    if isinstance(base, LateFusion):  # its fusion and head may be any callables
        return base, _LAYOUTS[0]
    if isinstance(base, Sequence) and not isinstance(base, str) and len(base) == 3:
        return LateFusion(*base), _LAYOUTS[0]
    for layout in _LAYOUTS if isinstance(base, nn.Module) else ():
        names = (layout.encoders, layout.fusion, layout.head)
        if not all(isinstance(getattr(base, n, None), nn.Module) for n in names):
            continue
        encoders = getattr(base, layout.encoders)
        if not isinstance(encoders, nn.ModuleDict | nn.ModuleList) or len(encoders) == 0:
            raise ValueError(
                f"base: read as a {layout.model}, its `{layout.encoders}` must be a non-empty "
                f"nn.ModuleDict or nn.ModuleList, got {type(encoders).__name__}"
            )
        if getattr(base, "has_padding", False):
            raise ValueError(
                "base: has_padding=True (encoders called on [inputs, lengths]) is not "
                "supported; wrap a model whose encoders take one tensor per modality"
            )
        return base, layout
    raise ValueError(
        "base must be a late-fusion model: this package's LateFusion, torchmultimodal's "
        "LateFusion (encoders, fusion_module, head_module), MultiBench's MMDL (encoders, "
        "fuse, head), or an (encoders, fusion, head) triple; "
        f"got {type(base).__name__}"
    )


def _widths(name: str, values: Widths | None, keys: tuple[str, ...] | None, n: int):
    """``values`` (one width per modality) as a list in encoder order, or None."""
    if values is None:
        return None
    if isinstance(values, Mapping):
        if keys is None:
            raise ValueError(
                f"{name}: the encoders are positional, so pass a sequence of {n} widths, "
                "not a mapping"
            )
        if set(values) != set(keys):
            raise ValueError(f"{name}: expected modalities {sorted(keys)}, got {sorted(values)}")
        values = [values[k] for k in keys]
    elif isinstance(values, str) or not isinstance(values, Sequence):
        raise ValueError(f"{name}: expected {n} widths (one per modality), got {values!r}")
    if len(values) != n:
        raise ValueError(f"{name}: expected {n} widths (one per modality), got {len(values)}")
    return [positive_int(name, v) for v in values]


def _first_affine(encoder: nn.Module, label: object) -> tuple[nn.Module, nn.Module]:
    """Split an encoder into (first affine layer, rest) for the concat form."""
    if isinstance(encoder, _AFFINE):
        return encoder, nn.Identity()
    if isinstance(encoder, nn.Sequential) and len(encoder) > 0 and isinstance(encoder[0], _AFFINE):
        return encoder[0], encoder[1:]
    raise ValueError(
        f"context='concat' widens each encoder's first layer, so encoder {label!r} must be "
        f"a Linear or an nn.Sequential starting with one (got {type(encoder).__name__}); "
        "use context='add' for other encoders"
    )


def _first_layer(encoder: nn.Module) -> nn.Module | None:
    """The encoder's first affine layer (itself, or an ``nn.Sequential``'s first), or None."""
    first = encoder[0] if isinstance(encoder, nn.Sequential) and len(encoder) else encoder
    return first if isinstance(first, _AFFINE) else None


def _input_width(encoder: nn.Module, label: object) -> int:
    first = _first_layer(encoder)
    if first is not None:
        return first.in_features
    raise ValueError(
        f"input_dims: cannot infer the input width of encoder {label!r} "
        f"({type(encoder).__name__}: not a Linear, nor an nn.Sequential starting with one); "
        "pass input_dims=[...] (one width per modality, or a dict by modality name)"
    )


@dataclass(frozen=True)
class _InputSpec:
    """What one modality's input must be: read once, checked every forward pass."""

    label: str  # "modality 'audio'" (named encoders) or "modality 0"
    width: int  # the last dimension: the encoder's input width
    first: nn.Module | None  # the encoder's first affine layer (its weight's dtype), if any

    def check(self, x: Tensor) -> None:
        """Raise a ValueError naming the modality unless ``x`` is ``(..., width)``,
        at least 2-D, in the first layer's dtype. A few attribute reads: cheap."""
        if x.dim() < 2:
            raise ValueError(
                f"inputs: {self.label} must be at least 2-D, (batch, {self.width}), "
                f"got shape {tuple(x.shape)}"
            )
        if x.shape[-1] != self.width:
            expected = (*x.shape[:-1], self.width)
            raise ValueError(
                f"inputs: {self.label} must have {self.width} features (its encoder's input "
                f"width): expected shape {expected}, got {tuple(x.shape)}"
            )
        if self.first is not None and x.dtype != self.first.weight.dtype:
            raise ValueError(
                f"inputs: {self.label} must be {self.first.weight.dtype} (the dtype of its "
                f"encoder's first layer), got {x.dtype} (shape {tuple(x.shape)})"
            )


def _bias_free(in_dim: int, out_dim: int, *, bound_in: int | None = None) -> Linear:
    layer = Linear(in_dim, out_dim, bias=False)
    if bound_in is not None:  # initialise like the columns of a widened layer
        layer.init_bound = 1.0 / math.sqrt(bound_in)
        nn.init.uniform_(layer.weight, -layer.init_bound, layer.init_bound)
    return layer


class _Unrolled(nn.Module):
    """Shared machinery: inject a context vector into every encoder, R times."""

    def __init__(self, base: Base, *, steps: int, context: str, input_dims: Widths | None) -> None:
        super().__init__()
        self.base, self._layout = _resolve(base)
        self.steps = positive_int("steps", steps)
        self.context = _check_context(context)
        container = getattr(self.base, self._layout.encoders)
        named = isinstance(container, nn.ModuleDict)
        #: modality names in the base's order (named encoders), else None
        self.keys: tuple[str, ...] | None = tuple(container.keys()) if named else None
        encoders = self._encoders()
        labels = list(self.keys) if named else list(range(len(encoders)))
        given = _widths("input_dims", input_dims, self.keys, len(encoders))
        self.input_dims = given or [
            _input_width(e, k) for e, k in zip(encoders, labels, strict=True)
        ]
        self._input_specs = [
            _InputSpec(f"modality {k!r}", d, _first_layer(e))
            for e, k, d in zip(encoders, labels, self.input_dims, strict=True)
        ]
        if context == "concat":
            split = [_first_affine(e, k) for e, k in zip(encoders, labels, strict=True)]
            self._first = [f for f, _ in split]
            self._rest = [r for _, r in split]
            self.first_widths = [f.out_features for f in self._first]

    @property
    def n_modalities(self) -> int:
        return len(self.input_dims)

    # --- the base model's parts, called as the base calls them ----------------------

    def _encoders(self) -> list[nn.Module]:
        """The encoders in the base's order."""
        container = getattr(self.base, self._layout.encoders)
        return list(container) if self.keys is None else [container[k] for k in self.keys]

    def _as_list(self, inputs: Modalities) -> list[Tensor]:
        """Validate ``inputs`` and return them as a list in encoder order.

        The number (or names) of the modalities, and each modality's last dimension,
        at least two dimensions and dtype (:class:`_InputSpec`); a ValueError names
        the first modality that does not fit.
        """
        xs = check_modalities(inputs, self.n_modalities, self.keys)
        for spec, x in zip(self._input_specs, xs, strict=True):
            spec.check(x)
        return xs

    def _fuse(self, features: list) -> Features:
        """``F`` applied to the encoder outputs: a dict in the base's order (named
        encoders) or a list, as the base passes them."""
        fusion = getattr(self.base, self._layout.fusion)
        if self.keys is None:
            fused = fusion(features)
        else:
            fused = fusion(dict(zip(self.keys, features, strict=True)))
        if self._layout.first_of_tuple and type(fused) is tuple:
            fused = fused[0]
        return fused

    def _head(self, fused: Features) -> Tensor:
        return getattr(self.base, self._layout.head)(fused)

    # --- construction helpers ------------------------------------------------------

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
        return nn.ModuleList(maps).to(**self._like_base())

    def _like_base(self) -> dict[str, Any]:
        """The dtype and device of the base's parameters (defaults if it has none)."""
        p = next(self.base.parameters(), None)
        return {} if p is None else {"dtype": p.dtype, "device": p.device}

    def _probe(self, *, fuse: bool) -> Features | list:
        """Encoder outputs (or, with ``fuse``, the fused vector) on zero inputs, to
        read widths. Runs in eval mode without gradients, so the base's state (e.g.
        BatchNorm statistics) is left untouched."""
        zeros = [torch.zeros(2, d, **self._like_base()) for d in self.input_dims]
        modes = {m: m.training for m in self.base.modules()}
        try:
            self.base.eval()
            with torch.no_grad():
                try:
                    features = self._encode(zeros, None, None)
                except Exception as err:
                    raise ValueError(
                        f"input_dims: the encoders fail on zero inputs of widths "
                        f"{self.input_dims} ({type(err).__name__}: {err}); pass each "
                        "modality's input width as input_dims=[...]"
                    ) from err
                if not fuse:
                    return features
                try:
                    return self._fuse(features)
                except Exception as err:
                    raise ValueError(
                        f"fused_dim: the fusion fails on the encoders' outputs "
                        f"({type(err).__name__}: {err})"
                    ) from err
        finally:
            for module, mode in modes.items():
                module.training = mode

    # --- the unrolled forward ------------------------------------------------------

    def _encode(self, xs: list[Tensor], starts: list[Tensor] | None, ctx: list | None) -> list:
        """Encoder outputs given per-modality contexts (None: the base model's path)."""
        if ctx is None and starts is not None:  # rest(first(x)) is enc(x), op for op
            return [rest(h) for rest, h in zip(self._rest, starts, strict=True)]
        encoders = self._encoders()
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
        The late-fusion model ``P(F(G_1(x_1), ..., G_K(x_K)))``, shared, not
        copied. One of: this package's :class:`~.fusion.LateFusion`;
        torchmultimodal's ``LateFusion`` (``encoders`` an ``nn.ModuleDict``,
        ``fusion_module``, ``head_module``); MultiBench's ``MMDL`` (``encoders``
        an ``nn.ModuleList``, ``fuse``, ``head``; ``has_padding=False``); any
        module with those attribute names; or an ``(encoders, fusion, head)``
        triple whose encoders are a list, tuple, ``nn.ModuleList``, dict or
        ``nn.ModuleDict``. Named encoders are encoded in the base's order and
        fused as a dict in that order; positional ones as a list. It becomes
        ``self.base`` (a triple becomes a :class:`~.fusion.LateFusion`).
    steps
        Unroll steps R >= 1. R = 1 is the base model; R = 2 (default) uses the
        back-projection once.
    context
        ``"add"`` or ``"concat"`` (see the module docstring). ``"concat"`` needs
        every encoder to be a Linear or an ``nn.Sequential`` starting with one.
    backproj_dim
        Width p of the back-projection. ``"concat"``: the number of context
        columns added to each encoder's first layer (default: the fused width).
        ``"add"``: an optional rank-p bottleneck ``W_i = B_i A_i`` (default: a
        full fused-width x input-width matrix).
    input_dims
        Input width ``f_i`` of each modality (the back-projections' target): a
        sequence in the encoders' order or, for named encoders, a dict by name.
        Inferred when each encoder is (or is an ``nn.Sequential`` starting with)
        a linear layer; other encoders need it (a ValueError says so).
    fused_dim
        Width of the fused vector; inferred by one forward pass on zeros.

    Shapes
    ------
    Inputs: one tensor per modality, ``(B, f_i)`` (or ``(N, B, f_i)`` with stacked
    parameters), as a sequence (positional encoders) or a mapping with exactly the
    encoders' names, in any order (named encoders); output: the head's output,
    ``(B, out)``. Each forward pass checks the inputs: their number (or names),
    and for each modality at least two dimensions, the last one ``f_i`` and, where
    its encoder starts with a linear layer, that layer's dtype; a ValueError names
    the first modality that does not fit, with the expected and the given shape
    (or dtype).
    """

    def __init__(
        self,
        base: Base,
        *,
        steps: int = 2,
        context: ContextForm = "add",
        backproj_dim: int | None = None,
        input_dims: Widths | None = None,
        fused_dim: int | None = None,
    ) -> None:
        super().__init__(base, steps=steps, context=context, input_dims=input_dims)
        if fused_dim is None:
            fused_dim = feature_dim(self._probe(fuse=True))
        self.fused_dim = positive_int("fused_dim", fused_dim)
        self.backproj_dim = backproj_dim
        self.backproj = self._projections([self.fused_dim] * self.n_modalities, backproj_dim)

    def forward(self, inputs: Modalities) -> Tensor:
        xs = self._as_list(inputs)
        starts = self._starts(xs)
        fused: Features = self._fuse(self._encode(xs, starts, None))  # c_1: c_0 = 0
        for _ in range(self.steps - 1):
            ctx = [w(fused) for w in self.backproj]
            fused = self._fuse(self._encode(xs, starts, ctx))
        return self._head(fused)


class IterativeFusion(_Unrolled):
    """The paper's unimodal iterative ablation (Table 5, Figure 12).

    Like :class:`ProFusion`, but each encoder's own output is fed back to its own
    input (``e_i^t = G_i(x_i (+) V_i e_i^{t-1})``, ``e_i^0 = 0``): iteration with
    no cross-modal path. The fused vector ``F(e_1^R, ..., e_K^R)`` goes to the head.

    Parameters
    ----------
    base, steps, context, backproj_dim, input_dims
        As :class:`ProFusion` (the same late-fusion models are accepted).
    encoder_dims
        Each encoder's output width ``d_i`` (a sequence, or a dict by name for
        named encoders); inferred by one forward pass on zeros.

    Shapes
    ------
    Inputs: one tensor per modality, ``(B, f_i)`` (or ``(N, B, f_i)`` with stacked
    parameters), as a sequence (positional encoders) or a mapping with exactly the
    encoders' names, in any order (named encoders); output: the head's output,
    ``(B, out)``. Each forward pass checks the inputs: their number (or names),
    and for each modality at least two dimensions, the last one ``f_i`` and, where
    its encoder starts with a linear layer, that layer's dtype; a ValueError names
    the first modality that does not fit, with the expected and the given shape
    (or dtype).
    """

    def __init__(
        self,
        base: Base,
        *,
        steps: int = 2,
        context: ContextForm = "add",
        backproj_dim: int | None = None,
        input_dims: Widths | None = None,
        encoder_dims: Widths | None = None,
    ) -> None:
        super().__init__(base, steps=steps, context=context, input_dims=input_dims)
        dims = _widths("encoder_dims", encoder_dims, self.keys, self.n_modalities)
        self.encoder_dims = dims or [feature_dim(e) for e in self._probe(fuse=False)]
        self.feedback = self._projections(self.encoder_dims, backproj_dim)

    def forward(self, inputs: Modalities) -> Tensor:
        xs = self._as_list(inputs)
        starts = self._starts(xs)
        features = self._encode(xs, starts, None)
        for _ in range(self.steps - 1):
            ctx = [v(e) for v, e in zip(self.feedback, features, strict=True)]
            features = self._encode(xs, starts, ctx)
        return self._head(self._fuse(features))
