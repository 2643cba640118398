"""Property tests for the wrappers' defining identity (paper "Technical Analysis").

The augmented model must satisfy ``c = 0 => F_hat(x, c) = F(x)``. With bias-free
back-projections this means: ``ProFusion(base, steps=1)`` and ``ProFusion(base,
steps=R)`` with every back-projection weight zero return ``base(x)``; exactly in
float64 (the implementation runs the base model's own operations), within 1e-6 in
float32. The same holds for :class:`IterativeFusion`. The identities are checked
over random late-fusion architectures (depths, widths, activations, layer types,
fusion modules, modality counts and container forms), and the converse is checked
too: with non-zero back-projections and R >= 2 the wrapper changes the output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from progfusion.models import Concat, IterativeFusion, LateFusion, Linear, ModelSpec, ProFusion
from torch import Tensor, nn

from tests.helpers import assert_close
from tests.test_models_wrap import (
    CONTAINERS,
    MMDL,
    MultiBenchConcat,
    TmmConcatFusionModule,
    TmmLateFusion,
)

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
WRAPPERS = {"pro": ProFusion, "iterative": IterativeFusion}
ACTIVATIONS = {"ReLU": nn.ReLU, "Tanh": nn.Tanh, "Identity": nn.Identity}


# --- a random late-fusion architecture, as plain data (printed on failure) -----------


@dataclass(frozen=True)
class Layer:
    kind: str  # "pf": progfusion.models.Linear, "torch": torch.nn.Linear
    width: int  # output width
    act: str | None  # a key of ACTIVATIONS, or None


@dataclass(frozen=True)
class Arch:
    in_dims: tuple[int, ...]
    encoders: tuple[tuple[Layer, ...], ...]
    encoder_form: str  # "seq": nn.Sequential; "bare": the lone Linear; "custom": a user module
    fusion: str  # "concat", "lazy" (lazy Concat) or "sum" (a user fusion)
    head: tuple[Layer, ...]
    form: str  # modalities as a "list", a "tuple" or a "dict"
    key_order: tuple[int, ...]  # insertion order of the input dict (form "dict")
    context: str
    batch: int
    seed: int

    @property
    def n(self) -> int:
        return len(self.in_dims)


class SumFusion(nn.Module):
    """A user fusion: the sum of equal-width features (given as a list or a dict)."""

    def forward(self, features):
        if isinstance(features, Mapping):
            features = list(features.values())
        out = features[0]
        for f in features[1:]:
            out = out + f
        return out


class CustomEncoder(nn.Module):
    """A user encoder that is neither a Linear nor an nn.Sequential."""

    def __init__(self, body: nn.Module) -> None:
        super().__init__()
        self.body = body

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


@st.composite
def layers(draw, n: int, *, last_width: int | None, acts: tuple[str, ...], first_pf: bool):
    out = []
    for j in range(n):
        width = last_width if (j == n - 1 and last_width is not None) else draw(st.integers(1, 5))
        kind = "pf" if (j == 0 and first_pf) else draw(st.sampled_from(["pf", "torch"]))
        act = draw(st.sampled_from([None, *acts]))
        out.append(Layer(kind, width, act))
    return tuple(out)


@st.composite
def architectures(draw, *, acts: tuple[str, ...] = tuple(ACTIVATIONS)):
    n = draw(st.integers(1, 4))
    context = draw(st.sampled_from(["add", "concat"]))
    fusion = draw(st.sampled_from(["concat", "lazy", "sum"]))
    common = draw(st.integers(1, 5)) if fusion == "sum" else None
    in_dims = tuple(draw(st.lists(st.integers(1, 5), min_size=n, max_size=n)))
    encoders = tuple(
        draw(layers(draw(st.integers(1, 3)), last_width=common, acts=acts, first_pf=False))
        for _ in range(n)
    )
    forms = ["seq", "custom"] if context == "add" else ["seq"]
    if all(len(e) == 1 for e in encoders):
        forms.append("bare")
    encoder_form = draw(st.sampled_from(forms))
    if encoder_form == "bare":  # a lone Linear: no activation after it
        encoders = tuple((Layer(e[0].kind, e[0].width, None),) for e in encoders)
    head_depth = draw(st.integers(1, 2))
    head = draw(layers(head_depth, last_width=None, acts=acts, first_pf=fusion == "lazy"))
    form = draw(st.sampled_from(["list", "tuple", "dict"]))
    key_order = tuple(draw(st.permutations(range(n))))
    return Arch(
        in_dims=in_dims,
        encoders=encoders,
        encoder_form=encoder_form,
        fusion=fusion,
        head=head,
        form=form,
        key_order=key_order,
        context=context,
        batch=draw(st.integers(1, 8)),
        seed=draw(st.integers(0, 2**31 - 1)),
    )


def _stack(in_dim: int, spec: tuple[Layer, ...]) -> list[nn.Module]:
    mods: list[nn.Module] = []
    for layer in spec:
        cls = Linear if layer.kind == "pf" else nn.Linear
        mods.append(cls(in_dim, layer.width))
        if layer.act is not None:
            mods.append(ACTIVATIONS[layer.act]())
        in_dim = layer.width
    return mods


def build_base(arch: Arch) -> LateFusion:
    """The late-fusion model ``arch`` describes (draws from the global generator)."""
    encoders: list[nn.Module] = []
    for d, spec in zip(arch.in_dims, arch.encoders, strict=True):
        mods = _stack(d, spec)
        if arch.encoder_form == "bare":
            encoders.append(mods[0])
        elif arch.encoder_form == "custom":
            encoders.append(CustomEncoder(nn.Sequential(*mods)))
        else:
            encoders.append(nn.Sequential(*mods))
    fusion = {"concat": Concat(), "lazy": Concat(lazy=True), "sum": SumFusion()}[arch.fusion]
    widths = [spec[-1].width for spec in arch.encoders]
    fused = widths[0] if arch.fusion == "sum" else sum(widths)
    head = nn.Sequential(*_stack(fused, arch.head))
    if arch.form == "dict":
        return LateFusion({f"m{i}": e for i, e in enumerate(encoders)}, fusion, head)
    return LateFusion(encoders, fusion, head)


def make_inputs(arch: Arch, dtype: torch.dtype):
    """One ``(B, f_i)`` tensor per modality, in the container ``arch.form`` names."""
    g = torch.Generator().manual_seed(arch.seed)
    xs = [torch.randn(arch.batch, d, generator=g, dtype=dtype) for d in arch.in_dims]
    if arch.form == "dict":  # inserted in a shuffled order: matched by key, not position
        return {f"m{i}": xs[i] for i in arch.key_order}
    return tuple(xs) if arch.form == "tuple" else xs


def build_wrapped(arch: Arch, wrapper: str, *, steps: int, backproj_dim, dtype, zero: bool):
    """``(wrapped model, its base)`` in ``dtype``; back-projections zeroed if ``zero``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(arch.seed)
        base = build_base(arch)
        input_dims = list(arch.in_dims) if arch.encoder_form == "custom" else None
        model = WRAPPERS[wrapper](
            base, steps=steps, context=arch.context, backproj_dim=backproj_dim,
            input_dims=input_dims,
        )  # fmt: skip
    model = model.to(dtype)  # converts the shared base too
    proj = model.backproj if wrapper == "pro" else model.feedback
    params = list(proj.parameters())
    assert len(params) >= arch.n  # at least one back-projection map per modality
    if zero:
        with torch.no_grad():
            for p in params:
                p.zero_()
    else:
        assert all(p.abs().sum() > 0 for p in params)
    return model, base


def check_is_base(model: nn.Module, base: nn.Module, arch: Arch, dtype: torch.dtype) -> None:
    inputs = make_inputs(arch, dtype)
    with torch.no_grad():
        actual, expected = model(inputs), base(inputs)
    assert actual.dtype == dtype and actual.shape == (arch.batch, arch.head[-1].width)
    if dtype == torch.float64:  # designed to be bit-exact: test exactness
        assert torch.equal(actual, expected), (actual - expected).abs().max()
    else:
        assert_close(actual, expected, dtype=dtype)


backproj_dims = st.one_of(st.none(), st.integers(1, 4))
dtypes = st.sampled_from([torch.float64, torch.float32])


# --- c = 0 gives the base model --------------------------------------------------------


@pytest.mark.parametrize("wrapper", ["pro", "iterative"])
@PROPERTY
@given(arch=architectures(), backproj_dim=backproj_dims, dtype=dtypes)
def test_one_step_is_base_model(wrapper, arch, backproj_dim, dtype):
    """R = 1: the (random, non-zero) back-projections are never used."""
    model, base = build_wrapped(
        arch, wrapper, steps=1, backproj_dim=backproj_dim, dtype=dtype, zero=False
    )
    check_is_base(model, base, arch, dtype)


@pytest.mark.parametrize("wrapper", ["pro", "iterative"])
@PROPERTY
@given(arch=architectures(), steps=st.integers(1, 4), backproj_dim=backproj_dims, dtype=dtypes)
def test_zero_backprojection_is_base_model(wrapper, arch, steps, backproj_dim, dtype):
    """Any R: W_i = 0 maps every context to exactly zero."""
    model, base = build_wrapped(
        arch, wrapper, steps=steps, backproj_dim=backproj_dim, dtype=dtype, zero=True
    )
    check_is_base(model, base, arch, dtype)


def test_identity_accepts_an_encoders_fusion_head_triple():
    """The base may be given as ``(encoders, fusion, head)`` instead of a LateFusion."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(3)
        late = ModelSpec("latent", "late", 4).build().double()
    triple = (late.encoder_list(), late.fusion, late.head)
    x = [torch.randn(5, 16, dtype=torch.float64) for _ in range(2)]
    for context in ("add", "concat"):
        pro = ProFusion(triple, steps=1, context=context).double()
        assert torch.equal(pro(x), late(x))


# --- with non-zero back-projections the wrapper is not a no-op -------------------------


@pytest.mark.parametrize("task", ["lattice", "latent"])
@pytest.mark.parametrize("design", ["pro", "iterative"])
@pytest.mark.parametrize("context", ["add", "concat"])
def test_backprojection_changes_the_output_fixed_seed(task, design, context):
    spec = ModelSpec(task, "late", 4, context=context)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        late = spec.build().double()
        torch.manual_seed(0)
        wrapped = spec.with_design(design).build().double()
        x = [torch.randn(6, d, dtype=torch.float64) for d in spec.input_dims]
    with torch.no_grad():
        assert torch.equal(wrapped.base(x), late(x))  # same base weights...
        diff = (wrapped(x) - late(x)).abs()
    assert diff.max() > 1e-4  # ...yet a different model
    # every sample changes, not just one
    assert (diff.amax(dim=-1) > 0).all()


@pytest.mark.parametrize("wrapper", ["pro", "iterative"])
@PROPERTY
@given(
    arch=architectures(acts=("Tanh", "Identity")),
    steps=st.integers(2, 4),
    backproj_dim=backproj_dims,
)
def test_backprojection_changes_the_output(wrapper, arch, steps, backproj_dim):
    """R >= 2 and random W_i: the output differs from the base's.

    ReLU is left out: with all units dead for a sample, the context can be lost
    and the outputs coincide legitimately. Tanh and Identity are injective, so
    equality would need the context to fall exactly into a null space (probability
    zero for continuous random weights).
    """
    model, base = build_wrapped(
        arch, wrapper, steps=steps, backproj_dim=backproj_dim, dtype=torch.float64, zero=False
    )
    inputs = make_inputs(arch, torch.float64)
    with torch.no_grad():
        assert not torch.equal(model(inputs), base(inputs))


# --- the same identity for every shape of base model (issue 11) -------------------------

#: How the late-fusion model reaches the wrapper: this package's LateFusion, an
#: (encoders, fusion, head) triple in each container, torchmultimodal's LateFusion
#: (sorts its encoders by name) or MultiBench's MMDL (see tests/test_models_wrap.py).
BASE_SHAPES = (
    "late", "list", "tuple", "ModuleList", "dict", "ModuleDict", "torchmultimodal", "multibench",
)  # fmt: skip
NAMED_SHAPES = ("dict", "ModuleDict", "torchmultimodal")
FEW = settings(PROPERTY, max_examples=50)


def build_shaped(arch: Arch, shape: str):
    """``(base as given to the wrapper, the module whose forward is the reference)``."""
    late = build_base(replace(arch, form="list"))
    encoders, fusion, head = late.encoder_list(), late.fusion, late.head
    named = {f"m{i}": encoders[i] for i in arch.key_order}  # inserted in a shuffled order
    if shape == "late":
        return late, late
    if shape == "torchmultimodal":
        tmm_fusion = TmmConcatFusionModule() if arch.fusion == "concat" else fusion
        model = TmmLateFusion(nn.ModuleDict(named), tmm_fusion, head)
        return model, model
    if shape == "multibench":  # MMDL would keep only the first part of a lazy Concat
        mmdl_fusion = MultiBenchConcat() if arch.fusion != "sum" else fusion
        model = MMDL(encoders, mmdl_fusion, head)
        return model, model
    parts = CONTAINERS[shape](named if shape in NAMED_SHAPES else encoders)
    return (parts, fusion, head), None  # the reference: the LateFusion the wrapper builds


def shaped_inputs(arch: Arch, shape: str, dtype: torch.dtype):
    xs = make_inputs(replace(arch, form="list"), dtype)
    if shape in NAMED_SHAPES:  # matched by name, inserted in reverse
        return {f"m{i}": xs[i] for i in reversed(range(arch.n))}
    return tuple(xs) if shape == "tuple" else xs


@pytest.mark.parametrize("wrapper", ["pro", "iterative"])
@FEW
@given(
    arch=architectures(),
    shape=st.sampled_from(BASE_SHAPES),
    steps=st.integers(1, 3),
    zero=st.booleans(),
    backproj_dim=backproj_dims,
    dtype=dtypes,
)
def test_c0_identity_for_every_base_shape(wrapper, arch, shape, steps, zero, backproj_dim, dtype):
    """R = 1, or any R with W_i = 0: the wrapper is the base model's own forward."""
    steps = steps if zero else 1
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(arch.seed)
        base, reference = build_shaped(arch, shape)
        input_dims = None
        if arch.encoder_form == "custom":  # widths not inferable: given, by name if named
            input_dims = list(arch.in_dims)
            if shape in NAMED_SHAPES:
                input_dims = {f"m{i}": d for i, d in enumerate(arch.in_dims)}
        model = WRAPPERS[wrapper](
            base, steps=steps, context=arch.context, backproj_dim=backproj_dim,
            input_dims=input_dims,
        )  # fmt: skip
    model = model.to(dtype)
    reference = model.base if reference is None else reference
    assert model.base is reference
    if zero:
        with torch.no_grad():
            proj = model.backproj if wrapper == "pro" else model.feedback
            for p in proj.parameters():
                p.zero_()
    inputs = shaped_inputs(arch, shape, dtype)
    with torch.no_grad():
        actual, expected = model(inputs), reference(inputs)
    assert actual.shape == (arch.batch, arch.head[-1].width)
    if dtype == torch.float64:
        assert torch.equal(actual, expected), (actual - expected).abs().max()
    else:
        assert_close(actual, expected, dtype=dtype)
