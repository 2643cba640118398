"""Wrapping other libraries' late-fusion models (issue 11): torchmultimodal, MultiBench.

Neither library is installable here, so the classes below mirror their source
(attribute names, containers, call order, what the fusion is handed):

- torchmultimodal ``torchmultimodal/models/late_fusion.py``: ``LateFusion(encoders:
  nn.ModuleDict, fusion_module, head_module)`` sorts the encoders by key at
  construction; ``forward(modalities: Dict[str, Tensor])`` runs each encoder on its
  key in that order and calls ``fusion_module`` with a dict of embeddings.
  ``modules/fusions/concat_fusion.py``: ``ConcatFusionModule`` concatenates the
  dict's values in sorted key order along the last dimension.
- MultiBench ``training_structures/Supervised_Learning.py``: ``MMDL(encoders, fusion,
  head, has_padding=False)`` keeps ``encoders`` (an ``nn.ModuleList``), ``fuse`` and
  ``head``; ``forward(inputs: list)`` calls ``fuse`` with the list of encoder outputs
  and keeps the first element of a tuple it returns. ``fusions/common_fusions.py``:
  ``Concat`` flattens each modality from dimension 1 and concatenates on dimension 1.

Checked: the c = 0 identity against each model's own ``forward``, bit for bit in
float64; the fusion receives the container the base gives it and the encoders run
in the base's order; every container of encoders is accepted; widths that cannot be
inferred give a ValueError naming ``input_dims``; a few Adam steps reduce the loss;
the stacked trainer's vmap path trains wrapped models as it trains them alone.
"""

from __future__ import annotations

import pytest
import torch
from progfusion.models import Concat, IterativeFusion, LateFusion, ProFusion
from progfusion.models.data import ModelData, Split
from progfusion.models.protocol import TrainConfig
from progfusion.models.reference import train_one
from progfusion.models.training import build_model, stack_path, train_stack
from torch import Tensor, nn

from tests.helpers import assert_close

F64 = torch.float64
WRAPPERS = {"pro": ProFusion, "iterative": IterativeFusion}
#: modality name -> input width; inserted unsorted, so torchmultimodal's sort matters
MODALITIES = {"text": 5, "audio": 3, "video": 4}


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _seeded_global_rng():
    """Layers draw from torch's global generator: seed it per test, restore it after."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        yield


# --- the other libraries' classes, as their source has them -------------------------


class TmmLateFusion(nn.Module):
    """torchmultimodal's ``LateFusion``."""

    def __init__(self, encoders: nn.ModuleDict, fusion_module: nn.Module, head_module: nn.Module):
        super().__init__()
        # Sort encoders by key on init for consistency
        self.encoders = nn.ModuleDict({k: encoders[k] for k in sorted(encoders.keys())})
        self.fusion_module = fusion_module
        self.head_module = head_module

    def forward(self, modalities: dict[str, Tensor]) -> Tensor:
        embeddings = {}
        for key, encoder in self.encoders.items():
            assert key in modalities, f"{key} missing in input"
            embeddings[key] = encoder(modalities[key])
        fused = self.fusion_module(embeddings)
        return self.head_module(fused)


class TmmConcatFusionModule(nn.Module):
    """torchmultimodal's ``ConcatFusionModule``: concatenation in sorted key order."""

    def __init__(self, projection: nn.Module | None = None):
        super().__init__()
        self.projection = projection if projection else nn.Identity()

    def forward(self, embeddings: dict[str, Tensor]) -> Tensor:
        concatenated_in = torch.cat([embeddings[k] for k in sorted(embeddings.keys())], dim=-1)
        return self.projection(concatenated_in)


class MMDL(nn.Module):
    """MultiBench's ``MMDL``."""

    def __init__(self, encoders, fusion, head, has_padding=False):
        super().__init__()
        self.encoders = nn.ModuleList(encoders)
        self.fuse = fusion
        self.head = head
        self.has_padding = has_padding
        self.fuseout = None
        self.reps = []

    def forward(self, inputs):
        outs = []
        if self.has_padding:
            for i in range(len(inputs[0])):
                outs.append(self.encoders[i]([inputs[0][i], inputs[1][i]]))
        else:
            for i in range(len(inputs)):
                outs.append(self.encoders[i](inputs[i]))
        self.reps = outs
        if self.has_padding:
            if isinstance(outs[0], torch.Tensor):
                out = self.fuse(outs)
            else:
                out = self.fuse([i[0] for i in outs])
        else:
            out = self.fuse(outs)
        self.fuseout = out
        if type(out) is tuple:
            out = out[0]
        if self.has_padding and not isinstance(outs[0], torch.Tensor):
            return self.head([out, inputs[1][0]])
        return self.head(out)


class MultiBenchConcat(nn.Module):
    """MultiBench's ``Concat``: flatten each modality from dim 1, concatenate on dim 1."""

    def forward(self, modalities):
        flattened = []
        for modality in modalities:
            flattened.append(torch.flatten(modality, start_dim=1))
        return torch.cat(flattened, dim=1)


class TupleFusion(nn.Module):
    """A MultiBench-style fusion returning ``(fused, extras)``: MMDL keeps ``fused``."""

    def forward(self, modalities):
        fused = torch.cat(list(modalities), dim=1)
        return fused, fused.square().mean()


class DictInputs(nn.Module):
    """Feeds a keyed model the list of modality tensors the stacked trainer passes."""

    def __init__(self, model: nn.Module, keys: tuple[str, ...]) -> None:
        super().__init__()
        self.model = model
        self.keys = keys

    def forward(self, xs: list[Tensor]) -> Tensor:
        return self.model(dict(zip(self.keys, xs, strict=True)))


# --- builders --------------------------------------------------------------------------


def encoder(in_dim: int, width: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, width), nn.Tanh(), nn.Linear(width, width), nn.Tanh())


def tmm_model(width: int = 4, out: int = 2) -> TmmLateFusion:
    """A torchmultimodal late-fusion model over ``MODALITIES`` (widths differ per
    modality, so a wrong order would change the result or fail)."""
    encoders = nn.ModuleDict(
        {k: encoder(d, width + i) for i, (k, d) in enumerate(MODALITIES.items())}
    )
    fused = sum(width + i for i in range(len(MODALITIES)))
    head = nn.Sequential(nn.Linear(fused, 6), nn.ReLU(), nn.Linear(6, out))
    return TmmLateFusion(encoders, TmmConcatFusionModule(), head)


def mmdl_model(width: int = 4, out: int = 2, fusion: nn.Module | None = None) -> MMDL:
    dims = list(MODALITIES.values())
    encoders = [encoder(d, width + i) for i, d in enumerate(dims)]
    fused = sum(width + i for i in range(len(dims)))
    head = nn.Sequential(nn.Linear(fused, 6), nn.ReLU(), nn.Linear(6, out))
    return MMDL(encoders, fusion if fusion is not None else MultiBenchConcat(), head)


def keyed_inputs(batch: int = 5, seed: int = 1, dtype=F64) -> dict[str, Tensor]:
    """One ``(batch, f)`` tensor per modality, inserted in reverse order."""
    g = torch.Generator().manual_seed(seed)
    xs = {k: torch.randn(batch, d, generator=g, dtype=dtype) for k, d in MODALITIES.items()}
    return dict(reversed(xs.items()))


def list_inputs(batch: int = 5, seed: int = 1, dtype=F64) -> list[Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(batch, d, generator=g, dtype=dtype) for d in MODALITIES.values()]


def projections(model: nn.Module) -> nn.ModuleList:
    return model.backproj if isinstance(model, ProFusion) else model.feedback


def zero_projections(model: nn.Module) -> None:
    with torch.no_grad():
        for p in projections(model).parameters():
            p.zero_()


SHAPES = {
    "torchmultimodal": (tmm_model, keyed_inputs),
    "multibench": (mmdl_model, list_inputs),
}


# --- c = 0 gives the base model, bit for bit ------------------------------------------


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@pytest.mark.parametrize("context", ["add", "concat"])
def test_wrapped_model_at_c0_is_the_base_forward(shape, wrapper, context):
    make, inputs = SHAPES[shape]
    base = make().double()
    x = inputs()
    with torch.no_grad():
        expected = base(x)
        one_step = WRAPPERS[wrapper](base, steps=1, context=context)
        assert one_step.base is base  # the model itself is wrapped, not a copy
        assert torch.equal(one_step(x), expected)
        model = WRAPPERS[wrapper](base, steps=3, context=context, backproj_dim=2)
        assert not torch.equal(model(x), expected)  # R >= 2 with random W_i: a new model
        zero_projections(model)
        assert torch.equal(model(x), expected)


def test_torchmultimodal_modalities_are_read_in_its_sorted_order():
    base = tmm_model()
    model = ProFusion(base)
    assert model.keys == ("audio", "text", "video") == tuple(base.encoders.keys())
    assert model.input_dims == [MODALITIES[k] for k in model.keys]
    names = {n for n, _ in model.named_parameters()}  # the base's own names, under base.
    assert {"base.encoders.audio.0.weight", "base.head_module.2.bias"} <= names


class Recorder(nn.Module):
    """Wraps a module; appends ``(name, what it was given)`` to a shared log."""

    def __init__(self, name: str, module: nn.Module, log: list) -> None:
        super().__init__()
        self.name, self.module, self.log = name, module, log

    def forward(self, x):
        if isinstance(x, dict):
            given = ("dict", tuple(x))
        elif isinstance(x, list | tuple):
            given = (type(x).__name__, len(x))
        else:
            given = ("tensor", tuple(x.shape))
        self.log.append((self.name, given))
        return self.module(x)


def recorded(shape: str, log: list) -> nn.Module:
    base = SHAPES[shape][0]().double()
    if shape == "torchmultimodal":
        for key in base.encoders:
            base.encoders[key] = Recorder(key, base.encoders[key], log)
        base.fusion_module = Recorder("fusion", base.fusion_module, log)
    else:
        for i in range(len(base.encoders)):
            base.encoders[i] = Recorder(str(i), base.encoders[i], log)
        base.fuse = Recorder("fusion", base.fuse, log)
    return base


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_fusion_gets_the_base_container_and_encoders_run_in_base_order(shape, wrapper):
    """torchmultimodal: a dict in sorted key order; MultiBench: a list."""
    log: list = []
    base = recorded(shape, log)
    x = SHAPES[shape][1]()
    with torch.no_grad():
        base(x)
        by_base = list(log)
        # recorded encoders hide their first Linear: widths given (by name where named)
        dims = MODALITIES if shape == "torchmultimodal" else list(MODALITIES.values())
        model = WRAPPERS[wrapper](base, steps=1, input_dims=dims)
        log.clear()
        model(x)
    assert log == by_base
    fusion_calls = [given for name, given in by_base if name == "fusion"]
    expected = ("dict", ("audio", "text", "video")) if shape == "torchmultimodal" else ("list", 3)
    assert fusion_calls == [expected]


def test_multibench_tuple_fusion_output_keeps_its_first_element():
    base = mmdl_model(fusion=TupleFusion()).double()
    x = list_inputs()
    model = ProFusion(base, steps=3)
    assert model.fused_dim == sum(4 + i for i in range(3))
    with torch.no_grad():
        expected = base(x)
        assert torch.equal(ProFusion(base, steps=1)(x), expected)
        zero_projections(model)
        assert torch.equal(model(x), expected)


# --- every container of encoders -------------------------------------------------------


CONTAINERS = {
    "list": list,
    "tuple": tuple,
    "ModuleList": nn.ModuleList,
    "dict": dict,
    "ModuleDict": nn.ModuleDict,
}


@pytest.mark.parametrize("container", sorted(CONTAINERS))
@pytest.mark.parametrize("context", ["add", "concat"])
def test_triple_accepts_every_encoder_container(container, context):
    keyed = container in ("dict", "ModuleDict")
    encs = [encoder(d, 3) for d in MODALITIES.values()]
    items = dict(zip(MODALITIES, encs, strict=True)) if keyed else encs
    encoders = CONTAINERS[container](items)
    head = nn.Linear(9, 2)
    late = LateFusion(encoders, Concat(), head).double()
    x = keyed_inputs() if keyed else list_inputs()
    model = ProFusion((encoders, Concat(), head), steps=1, context=context)
    assert isinstance(model.base, LateFusion) and model.keys == late.keys
    with torch.no_grad():
        assert torch.equal(model(x), late(x))


def test_the_issue_call_wraps_torchmultimodal_parts_like_the_model():
    """``ProFusion((tmm.encoders, tmm.fusion_module, tmm.head_module), steps=2)``: the
    issue's TypeError; now the same model as ``ProFusion(tmm)``."""
    tmm = tmm_model().double()
    parts = ProFusion((tmm.encoders, tmm.fusion_module, tmm.head_module), steps=2)
    whole = ProFusion(tmm, steps=2)
    whole.backproj.load_state_dict(parts.backproj.state_dict())
    x = keyed_inputs()
    with torch.no_grad():
        assert torch.equal(parts(x), whole(x))
    assert {id(p) for p in tmm.parameters()} <= {id(p) for p in parts.parameters()}


def test_late_fusion_takes_module_containers_as_their_plain_forms():
    encs = [encoder(d, 3) for d in MODALITIES.values()]
    named = dict(zip(MODALITIES, encs, strict=True))
    head = nn.Linear(9, 2)
    as_dict, as_module_dict = (
        LateFusion(named, Concat(), head),
        LateFusion(nn.ModuleDict(named), Concat(), head),
    )
    as_list, as_module_list = (
        LateFusion(encs, Concat(), head),
        LateFusion(nn.ModuleList(encs), Concat(), head),
    )
    assert as_module_dict.keys == as_dict.keys == tuple(MODALITIES)
    assert as_module_list.keys is None
    kx, lx = keyed_inputs(dtype=torch.float32), list_inputs(dtype=torch.float32)
    with torch.no_grad():
        assert torch.equal(as_module_dict(kx), as_dict(kx))
        assert torch.equal(as_module_list(lx), as_list(lx))


@pytest.mark.parametrize(
    "bad",
    [
        nn.Sequential(nn.Linear(2, 3)),
        "ab",
        nn.Linear(2, 3),
        [],
        nn.ModuleDict(),
        [nn.Linear(2, 3), "not a module"],
        {1: nn.Linear(2, 3)},
        {"a.b": nn.Linear(2, 3)},
        {"a": lambda x: x},
    ],
)
def test_late_fusion_rejects_bad_encoder_containers(bad):
    with pytest.raises(ValueError, match="encoders"):
        LateFusion(bad, Concat(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match="encoders"):
        ProFusion((bad, Concat(), nn.Linear(3, 1)))


# --- widths that cannot be inferred; what is refused ----------------------------------


class Custom(nn.Module):
    """An encoder whose input width is not readable from a first Linear."""

    def __init__(self, in_dim: int, width: int) -> None:
        super().__init__()
        self.body = encoder(in_dim, width)

    def forward(self, x: Tensor) -> Tensor:
        return self.body(x)


def custom_tmm() -> TmmLateFusion:
    encoders = nn.ModuleDict({k: Custom(d, 3) for k, d in MODALITIES.items()})
    return TmmLateFusion(encoders, TmmConcatFusionModule(), nn.Linear(9, 2))


@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
def test_uninferable_input_width_asks_for_input_dims(wrapper):
    base = custom_tmm().double()
    with pytest.raises(ValueError, match=r"input_dims: cannot infer .* encoder 'audio'"):
        WRAPPERS[wrapper](base)
    by_name = WRAPPERS[wrapper](base, steps=1, input_dims=MODALITIES)
    in_order = WRAPPERS[wrapper](base, steps=1, input_dims=[3, 5, 4])  # sorted: audio, text, video
    assert by_name.input_dims == in_order.input_dims == [3, 5, 4]
    x = keyed_inputs()
    with torch.no_grad():
        assert torch.equal(by_name(x), base(x))
    bad = [
        ({"audio": 3, "text": 5}, "input_dims: expected modalities"),
        ([3, 5], "input_dims: expected 3 widths"),
        ([3, 4, 5], "input_dims: the encoders fail on zero inputs"),  # wrong widths
        ([3, 5, 0], "input_dims"),
        ("354", "input_dims"),
    ]
    for input_dims, match in bad:
        with pytest.raises(ValueError, match=match):
            WRAPPERS[wrapper](base, input_dims=input_dims)
    with pytest.raises(ValueError, match="context='concat'.*encoder 'audio'"):
        WRAPPERS[wrapper](base, context="concat", input_dims=MODALITIES)


def test_positional_encoders_refuse_widths_by_name_and_keyed_inputs():
    base = mmdl_model()
    with pytest.raises(ValueError, match="input_dims: the encoders are positional"):
        ProFusion(base, input_dims=MODALITIES)
    with pytest.raises(ValueError, match="encoder_dims"):
        IterativeFusion(base, encoder_dims=[4, 5])
    with pytest.raises(ValueError, match="inputs"):
        ProFusion(base)(keyed_inputs(dtype=torch.float32))
    with pytest.raises(ValueError, match="inputs"):
        ProFusion(tmm_model())(list_inputs(dtype=torch.float32))


def test_fused_dim_failure_is_named():
    class Broken(nn.Module):
        def forward(self, features):
            raise RuntimeError("boom")

    base = MMDL([encoder(2, 3)], Broken(), nn.Linear(3, 1))
    with pytest.raises(ValueError, match="fused_dim: the fusion fails.*boom"):
        ProFusion(base)
    ProFusion(base, fused_dim=3)  # given, no probe


def test_unsupported_bases_are_refused_naming_base():
    padded = mmdl_model()
    padded.has_padding = True
    with pytest.raises(ValueError, match="has_padding"):
        ProFusion(padded)

    class SequentialEncoders(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoders = nn.Sequential(nn.Linear(2, 3))
            self.fuse, self.head = MultiBenchConcat(), nn.Linear(3, 1)

    with pytest.raises(ValueError, match="base: read as a MultiBench MMDL, its `encoders`"):
        ProFusion(SequentialEncoders())
    for base in (nn.Linear(2, 3), ProFusion(tmm_model()), (nn.Linear(2, 3),)):
        with pytest.raises(ValueError, match="base must be a late-fusion model"):
            ProFusion(base)


# --- training ----------------------------------------------------------------------------


def regression_split(n: int, seed: int) -> Split:
    """``y = tanh(x_text . a) * (x_audio . b) + x_video . c`` plus noise: every modality
    matters, and the product makes the modalities interact."""
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(n, d, generator=g, dtype=F64) for d in MODALITIES.values()]
    a, b, c = (torch.randn(d, generator=torch.Generator().manual_seed(d)) for d in (5, 3, 4))
    y = torch.tanh(xs[0] @ a.double()) * (xs[1] @ b.double()) + xs[2] @ c.double()
    y = y + 0.1 * torch.randn(n, generator=g, dtype=F64)
    return Split.of(xs, y.unsqueeze(1))


def task(seed: int) -> ModelData:
    return ModelData(
        train=regression_split(256, seed), val=None, test=regression_split(128, seed + 1)
    )


def mse(model: nn.Module, split: Split, keyed: bool) -> Tensor:
    xs = list(split.inputs)
    x = dict(zip(MODALITIES, xs, strict=True)) if keyed else xs
    return (model(x) - split.target).square().mean()


@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("wrapper", sorted(WRAPPERS))
@pytest.mark.parametrize("context", ["add", "concat"])
def test_a_few_adam_steps_reduce_the_loss(shape, wrapper, context):
    model = WRAPPERS[wrapper](SHAPES[shape][0](out=1), steps=2, context=context).double()
    data, keyed = task(3), shape == "torchmultimodal"
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for step in range(40):
        loss = mse(model, data.train, keyed)
        opt.zero_grad()
        loss.backward()
        if step == 0:  # the back-projections are trained too
            assert all(p.grad.abs().sum() > 0 for p in projections(model).parameters())
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def tmm_pro() -> nn.Module:
    """A stacked-trainer factory: the trainer passes a list, torchmultimodal takes a dict."""
    return DictInputs(ProFusion(tmm_model(out=1), steps=2), tuple(MODALITIES))


def mmdl_pro() -> nn.Module:
    return ProFusion(mmdl_model(out=1), steps=2, context="concat", backproj_dim=3)


def mmdl_iterative() -> nn.Module:
    return IterativeFusion(mmdl_model(out=1), steps=2)


@pytest.mark.parametrize("factory", [tmm_pro, mmdl_pro, mmdl_iterative])
def test_stacked_trainer_vmap_path_trains_wrapped_models(factory):
    seeds = [4, 0, 9]
    data = [task(100 + s) for s in seeds]
    cfg = TrainConfig(
        objective="regression", name="fixed-steps", lr=1e-2, batch_size=32, max_steps=40
    )
    assert stack_path(factory()) == "vmap"  # torch.nn layers: the generic path
    results = train_stack(factory, seeds, data, cfg, dtype=F64, path="vmap")
    for seed, d, result in zip(seeds, data, results, strict=True):
        assert result.status == "ok" and result.steps == 40
        alone = train_one(factory, seed, d, cfg, dtype=F64)
        assert_close(result.test_metric, alone.test_metric, dtype=F64)
        with torch.no_grad():
            untrained = mse(build_model(factory, seed).double(), d.test, keyed=False)
        assert result.test_metric < 0.5 * float(untrained)


def test_late_fusion_with_plain_callable_fusion_and_head_is_still_wrapped():
    def add(features):
        return features[0] + features[1]

    def head(fused):
        return fused.sum(-1, keepdim=True)

    encs = [nn.Linear(2, 3), nn.Linear(4, 3)]
    late = LateFusion(encs, add, head).double()
    x = [torch.randn(5, 2, dtype=F64), torch.randn(5, 4, dtype=F64)]
    for base in (late, (encs, add, head)):
        with torch.no_grad():
            assert torch.equal(ProFusion(base, steps=1)(x), late(x))
