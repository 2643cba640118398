"""Structure of the models: module sharing, the paper's MLPs (ModelSpec), stacked
parameters, the Linear layer, and input validation.

The identity ``c = 0 => ProFusion(base) == base`` is property-tested in
``test_models_identity.py``.
"""

from __future__ import annotations

import pytest
import torch
from progfusion.models import (
    DESIGNS,
    TASKS,
    Concat,
    EarlyFusion,
    IterativeFusion,
    LateFusion,
    Linear,
    ModelSpec,
    ProFusion,
)
from torch import nn
from torch.func import functional_call

from tests.helpers import assert_close

F64 = torch.float64


@pytest.fixture(autouse=True)
def _seeded_global_rng():
    """Layers draw their initial weights from torch's global generator: seed it per
    test (every test is reproducible) and restore it afterwards (no test leaks)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        yield


def build(spec: ModelSpec, seed: int) -> nn.Module:
    """``spec.build()`` under ``seed``, without touching the global generator."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return spec.build()


def inputs(dims, batch: int, seed: int, *, lead: tuple[int, ...] = ()) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*lead, batch, d, generator=g, dtype=F64) for d in dims]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- ProFusion shares the base's modules ------------------------------------------------


@pytest.mark.parametrize("context", ["add", "concat"])
@pytest.mark.parametrize("wrapper", [ProFusion, IterativeFusion])
def test_wrapper_shares_the_base_modules(wrapper, context):
    late = build(ModelSpec("latent", "late", 4), seed=0).double()
    with torch.random.fork_rng(devices=[]):
        model = wrapper(late, steps=2, context=context).double()
    assert model.base is late
    base_ids = {id(p) for p in late.parameters()}
    assert base_ids <= {id(p) for p in model.parameters()}
    extra = n_params(model) - n_params(late)
    assert extra > 0  # the back-projections, counted once; base not copied
    x = inputs((16, 16), batch=4, seed=1)
    # update a base weight in place, as an optimiser does: both models change.
    # The first encoder layer is the one the concat form splits off and widens.
    for param in (late.encoders[0][0].weight, late.head[0].bias):
        with torch.no_grad():
            before_late, before_model = late(x), model(x)
            param.add_(0.25)
            assert not torch.equal(late(x), before_late)
            assert not torch.equal(model(x), before_model)
    # nothing in the wrapper is stale: it equals a wrapper built after the update
    with torch.random.fork_rng(devices=[]):
        fresh = wrapper(late, steps=2, context=context).double()
    fresh.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert torch.equal(model(x), fresh(x))
    # and an optimiser step on the wrapper moves the base
    snapshot = {k: v.clone() for k, v in late.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model(x).pow(2).mean().backward()
    opt.step()
    assert all(not torch.equal(late.state_dict()[k], v) for k, v in snapshot.items())


def test_wrapper_sees_a_loaded_base_state():
    """Loading weights into the base is loading them into the wrapper."""
    late = build(ModelSpec("latent", "late", 4), seed=0).double()
    other = build(ModelSpec("latent", "late", 4), seed=1).double()
    pro = ProFusion(late, steps=1, context="concat").double()
    x = inputs((16, 16), batch=3, seed=2)
    late.load_state_dict(other.state_dict())
    assert torch.equal(pro(x), other(x))


# --- ModelSpec: the paper's MLPs ---------------------------------------------------------

OUT = {"lattice": 9, "latent": 1}


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("design", DESIGNS)
def test_every_spec_builds_with_its_output_shape(task, design):
    spec = ModelSpec(task, design, 3)
    model = build(spec, seed=0).double()
    x = inputs(spec.input_dims, batch=5, seed=0)
    assert spec.input_dims == ((33, 16) if task == "lattice" else (16, 16))
    assert model(x).shape == (5, OUT[task])
    assert model(tuple(x)).shape == (5, OUT[task])
    if task == "lattice":
        hidden = build(ModelSpec(task, design, 3, head_hidden=7), seed=0).double()
        assert hidden(x).shape == (5, 9)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("design", ["pro", "iterative"])
@pytest.mark.parametrize("context", ["add", "concat"])
def test_late_and_wrapped_share_base_weights_under_one_seed(task, design, context):
    spec = ModelSpec(task, "late", 3, context=context)
    late = build(spec, seed=7)
    wrapped = build(spec.with_design(design), seed=7)
    late_state, base_state = late.state_dict(), wrapped.base.state_dict()
    assert late_state.keys() == base_state.keys()
    for key, value in late_state.items():
        assert torch.equal(value, base_state[key]), key
    # and the seed matters (this test could fail)
    other = build(spec, seed=8).state_dict()
    assert not any(torch.equal(v, other[k]) for k, v in late_state.items())


def test_parameter_counts_by_hand():
    def linear(i, o, bias=True):
        return i * o + (o if bias else 0)

    h, p = 8, 16  # latent task: h = 8, back-projection width p = 16
    latent_late = 2 * (linear(16, h) + linear(h, h)) + linear(2 * h, 1)
    assert latent_late == 2 * (16 * 8 + 8 + 8 * 8 + 8) + 16 * 1 + 1 == 433
    assert n_params(build(ModelSpec("latent", "late", h), 0)) == latent_late
    early = linear(32, 2 * h) + linear(2 * h, 2 * h) + linear(2 * h, 1)
    assert n_params(build(ModelSpec("latent", "early", h), 0)) == early == 817
    # concat: per modality W_i (2h -> p, no bias) and p new columns of Linear(16 + p, h)
    pro = latent_late + 2 * (linear(2 * h, p, False) + linear(p, h, False))
    assert n_params(build(ModelSpec("latent", "pro", h), 0)) == pro == 1201
    # iterative: per modality V_i (h -> p, no bias) and the p new columns
    it = latent_late + 2 * (linear(h, p, False) + linear(p, h, False))
    assert n_params(build(ModelSpec("latent", "iterative", h), 0)) == it == 945
    # add with backproj_dim=p: a rank-p bottleneck 2h -> p -> input width 16
    add = latent_late + 2 * (linear(2 * h, p, False) + linear(p, 16, False))
    assert n_params(build(ModelSpec("latent", "pro", h, context="add"), 0)) == add == 1457

    d = 4  # lattice task, Figure 4: Linear(33, d), Linear(16, d), head Linear(2d, 9)
    lattice_late = linear(33, d) + linear(16, d) + linear(2 * d, 9)
    assert n_params(build(ModelSpec("lattice", "late", d), 0)) == lattice_late == 285
    hidden = linear(33, d) + linear(16, d) + linear(2 * d, 64) + linear(64, 9)
    spec = ModelSpec("lattice", "late", d, head_hidden=64)
    assert n_params(build(spec, 0)) == hidden == 1365
    early = linear(49, 2 * d) + linear(2 * d, 9)
    assert n_params(build(ModelSpec("lattice", "early", d), 0)) == early == 481


# --- the recurrence as the paper writes it (eqs. 7-9) -------------------------------------


def matrix(linear_map: nn.Module) -> torch.Tensor:
    """The bias-free linear map (a Linear, or a Sequential of them) as one matrix."""
    layers = [linear_map] if isinstance(linear_map, Linear) else list(linear_map)
    out = None
    for layer in layers:
        assert isinstance(layer, Linear) and layer.bias is None
        out = layer.weight if out is None else layer.weight @ out
    return out


def as_tensor(features) -> torch.Tensor:
    return features if isinstance(features, torch.Tensor) else torch.cat(list(features), -1)


def injected(model, i: int, encoder: nn.Sequential, x: torch.Tensor, v: torch.Tensor):
    """``G_i(x_i (+) W_i v)`` built literally from the wrapper's maps.

    "add" (eq. 7): ``G_i(x_i + W_i v)``. "concat" (Technical Analysis):
    ``G_i([x_i, W_i v])`` with G_i's first layer widened to ``[A, B]``.
    """
    maps = model.backproj if isinstance(model, ProFusion) else model.feedback
    if model.context == "add":
        return encoder(x + v @ matrix(maps[i]).T)
    w_i, new_columns = maps[i][0].weight, maps[i][1].weight  # (p, src), (width, p)
    first = encoder[0]
    wide = torch.cat([first.weight, new_columns], dim=1)  # (width, in + p)
    h = nn.functional.linear(torch.cat([x, v @ w_i.T], -1), wide, first.bias)
    return encoder[1:](h)


def reference_profusion(model: ProFusion, xs: list[torch.Tensor]) -> torch.Tensor:
    """c_0 = 0; c_t = F(G_1(x_1 (+) W_1 c_{t-1}), ...); y = P(c_R)."""
    base = model.base
    c = torch.zeros(xs[0].shape[0], model.fused_dim, dtype=F64)
    for _ in range(model.steps):
        pairs = enumerate(zip(base.encoders, xs, strict=True))
        feats = [injected(model, i, g, x, c) for i, (g, x) in pairs]
        c = as_tensor(base.fusion(feats))
    return base.head(c)


def reference_iterative(model: IterativeFusion, xs: list[torch.Tensor]) -> torch.Tensor:
    """e_i^0 = 0; e_i^t = G_i(x_i (+) V_i e_i^{t-1}); y = P(F(e_1^R, ...))."""
    base = model.base
    es = [torch.zeros(xs[0].shape[0], d, dtype=F64) for d in model.encoder_dims]
    for _ in range(model.steps):
        triples = enumerate(zip(base.encoders, xs, es, strict=True))
        es = [injected(model, i, g, x, e) for i, (g, x, e) in triples]
    return base.head(as_tensor(base.fusion(es)))


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("design", ["pro", "iterative"])
@pytest.mark.parametrize("context", ["add", "concat"])
@pytest.mark.parametrize("backproj_dim", [None, 5])
@pytest.mark.parametrize("steps", [2, 3])
def test_wrapper_computes_the_paper_recurrence(task, design, context, backproj_dim, steps):
    spec = ModelSpec(task, design, 3, context=context, backproj_dim=backproj_dim, steps=steps)
    model = build(spec, seed=5).double()
    xs = inputs(spec.input_dims, batch=4, seed=6)
    reference = reference_profusion if design == "pro" else reference_iterative
    with torch.no_grad():
        expected = reference(model, xs)
        assert_close(model(xs), expected, dtype=F64)
        # a different R gives a different model (the loop really runs R times)
        model.steps = steps + 1
        assert not torch.equal(model(xs), expected)


@pytest.mark.parametrize("wrapper", [None, ProFusion, IterativeFusion])
def test_keyed_modalities_are_matched_by_key(wrapper):
    """Keyed encoders take a dict in any order and equal the same modules in sequence."""
    encs = [nn.Sequential(Linear(2, 3), nn.Tanh()), nn.Sequential(Linear(4, 3), nn.Tanh())]
    head = Linear(6, 2)
    in_order = LateFusion(encs, Concat(), head).double()
    keyed = LateFusion({"b": encs[0], "a": encs[1]}, Concat(), head).double()
    if wrapper is not None:
        in_order = wrapper(in_order, context="add").double()
        keyed = wrapper(keyed, context="add").double()
        maps = "backproj" if wrapper is ProFusion else "feedback"
        getattr(keyed, maps).load_state_dict(getattr(in_order, maps).state_dict())
    x_b, x_a = inputs((2, 4), batch=3, seed=0)
    with torch.no_grad():
        expected = in_order([x_b, x_a])
        assert torch.equal(keyed({"a": x_a, "b": x_b}), expected)
        assert torch.equal(keyed({"b": x_b, "a": x_a}), expected)


# --- stacked parameters: one module, N models -------------------------------------------

STACK_CASES = [
    (task, design, context, head_hidden)
    for task in TASKS
    for design, context in [
        ("late", "concat"),
        ("early", "concat"),
        ("pro", "add"),
        ("pro", "concat"),
        ("iterative", "add"),
        ("iterative", "concat"),
    ]
    for head_hidden in ([None, 5] if task == "lattice" else [None])
]


@pytest.mark.parametrize(("task", "design", "context", "head_hidden"), STACK_CASES)
def test_stacked_parameters_equal_models_one_at_a_time(task, design, context, head_hidden):
    spec = ModelSpec(task, design, 3, head_hidden=head_hidden, context=context, steps=3)
    models = [build(spec, seed=s).double() for s in range(3)]
    names = [n for n, _ in models[0].named_parameters()]
    stacked = {
        n: torch.stack([dict(m.named_parameters())[n] for m in models]).detach() for n in names
    }
    xs = inputs(spec.input_dims, batch=4, seed=11, lead=(3,))  # each (N, B, f_i)
    with torch.no_grad():
        actual = functional_call(models[0], stacked, (xs,), strict=True)
        expected = torch.stack([m([x[k] for x in xs]) for k, m in enumerate(models)])
    assert actual.shape == (3, 4, OUT[task])
    assert_close(actual, expected, dtype=F64)


def test_stacked_parameters_through_vmap_agree_with_the_fast_path():
    """The generic path (stack_module_state + vmap) computes the same as the fast path."""
    spec = ModelSpec("latent", "pro", 3)
    models = [build(spec, seed=s).double() for s in range(2)]
    params, buffers = torch.func.stack_module_state(models)
    xs = inputs(spec.input_dims, batch=4, seed=1, lead=(2,))

    def one(p, b, x):
        return functional_call(models[0], (p, b), (x,))

    with torch.no_grad():
        generic = torch.vmap(one)(params, buffers, xs)
        fast = functional_call(models[0], params, (xs,))
    assert_close(fast, generic, dtype=F64)


# --- Linear ------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_linear_tuple_input_is_concatenation(bias):
    layer = Linear(7, 3, bias=bias).double()
    g = torch.Generator().manual_seed(0)
    parts = [torch.randn(5, w, generator=g, dtype=F64) for w in (2, 1, 4)]
    assert_close(layer(tuple(parts)), layer(torch.cat(parts, -1)), dtype=F64)
    assert_close(layer(parts), layer(torch.cat(parts, -1)), dtype=F64)
    # stacked weights (N, out, in) with stacked parts (N, B, in_j)
    w = torch.randn(2, 3, 7, generator=g, dtype=F64)
    params = {"weight": w} | ({"bias": torch.randn(2, 3, generator=g, dtype=F64)} if bias else {})
    sparts = [torch.randn(2, 5, k, generator=g, dtype=F64) for k in (2, 1, 4)]
    out = functional_call(layer, params, (tuple(sparts),))
    cat = torch.cat(sparts, -1)
    expected = torch.stack(
        [nn.functional.linear(cat[k], w[k], params["bias"][k] if bias else None) for k in range(2)]
    )
    assert_close(out, expected, dtype=F64)


def test_linear_equals_torch_linear():
    ours, theirs = Linear(4, 3).double(), nn.Linear(4, 3).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(6, 4, dtype=F64)
    assert torch.equal(ours(x), theirs(x))


def test_concat_lazy_and_eager_agree():
    g = torch.Generator().manual_seed(0)
    feats = [torch.randn(3, w, generator=g, dtype=F64) for w in (2, 3)]
    layer = Linear(5, 2).double()
    assert torch.equal(Concat()(feats), torch.cat(feats, -1))
    assert isinstance(Concat(lazy=True)(feats), tuple)
    assert_close(layer(Concat(lazy=True)(feats)), layer(Concat()(feats)), dtype=F64)
    keyed = {"a": feats[0], "b": feats[1]}
    assert torch.equal(Concat()(keyed), torch.cat(feats, -1))


def test_early_fusion_concatenates_raw_inputs():
    net = nn.Sequential(Linear(5, 4), nn.ReLU(), Linear(4, 2)).double()
    g = torch.Generator().manual_seed(0)
    x = [torch.randn(3, w, generator=g, dtype=F64) for w in (2, 3)]
    expected = net(torch.cat(x, -1))
    assert torch.equal(EarlyFusion(net)(x), expected)
    assert_close(EarlyFusion(net, lazy=True)(x), expected, dtype=F64)


# --- known bugs in models/ (these fail until fixed) --------------------------------------


@pytest.mark.parametrize("wrapper", [ProFusion, IterativeFusion])
def test_bug_wrapping_must_not_update_base_batchnorm_stats(wrapper):
    """BUG in models/profusion.py: ``ProFusion.__init__`` (and ``IterativeFusion``'s)
    infers the fused / encoder widths by running the base on a batch of zeros while
    the base is in training mode, so wrapping a base that has BatchNorm moves its
    running statistics (and num_batches_tracked). The wrapper then no longer starts
    from the base it was given, and a late and a pro model built under one seed
    differ in their base buffers. Fix: run the probe with the base in eval mode
    (restoring each module's ``training`` flag), or restore the buffers after it.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        encs = [nn.Sequential(Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU()) for _ in range(2)]
        late = LateFusion(encs, Concat(), Linear(6, 1))
    before = {k: v.clone() for k, v in late.state_dict().items()}
    wrapper(late, steps=2)
    changed = [k for k, v in late.state_dict().items() if not torch.equal(v, before[k])]
    assert changed == []


# --- bad input: a ValueError naming the parameter ----------------------------------------


def small_late(*, keyed: bool = False) -> LateFusion:
    encs = [nn.Sequential(Linear(2, 3), nn.ReLU()), nn.Sequential(Linear(4, 3), nn.ReLU())]
    if keyed:
        return LateFusion({"a": encs[0], "b": encs[1]}, Concat(), Linear(6, 1))
    return LateFusion(encs, Concat(), Linear(6, 1))


@pytest.mark.parametrize("wrapper", [ProFusion, IterativeFusion])
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"steps": 0}, "steps"),
        ({"steps": 1.5}, "steps"),
        ({"steps": True}, "steps"),
        ({"context": "mul"}, "context"),
        ({"backproj_dim": 0}, "backproj_dim"),
        ({"backproj_dim": 0, "context": "add"}, "backproj_dim"),
        ({"input_dims": [2]}, "input_dims"),
        ({"input_dims": [2, 4, 5]}, "input_dims"),
    ],
)
def test_wrapper_rejects_bad_arguments(wrapper, kwargs, match):
    kwargs = {"context": "concat"} | kwargs
    with pytest.raises(ValueError, match=match):
        wrapper(small_late(), **kwargs)


@pytest.mark.parametrize("wrapper", [ProFusion, IterativeFusion])
def test_wrapper_rejects_encoders_it_cannot_widen_or_measure(wrapper):
    late = LateFusion([nn.Sequential(nn.Tanh(), Linear(2, 3))], Concat(), Linear(3, 1))
    with pytest.raises(ValueError, match="context"):
        wrapper(late, context="concat", input_dims=[2])
    with pytest.raises(ValueError, match="input_dims"):  # add form: width not inferable
        wrapper(late, context="add")
    wrapper(late, context="add", input_dims=[2])  # fine once the width is given
    with pytest.raises(ValueError, match="base"):
        wrapper(nn.Linear(2, 3))


@pytest.mark.parametrize(
    "make",
    [
        lambda: small_late(),
        lambda: ProFusion(small_late(), context="concat"),
        lambda: IterativeFusion(small_late(), context="add"),
    ],
)
def test_forward_rejects_wrong_modalities_for_sequence_encoders(make):
    model = make()
    x = [torch.randn(2, 2), torch.randn(2, 4)]
    model(x)  # the right inputs work
    for bad in ([x[0]], [*x, x[0]], {"a": x[0], "b": x[1]}, torch.randn(2, 6)):
        with pytest.raises(ValueError, match="inputs"):
            model(bad)


@pytest.mark.parametrize(
    "make",
    [
        lambda: small_late(keyed=True),
        lambda: ProFusion(small_late(keyed=True), context="concat"),
        lambda: IterativeFusion(small_late(keyed=True), context="add"),
    ],
)
def test_forward_rejects_wrong_modalities_for_keyed_encoders(make):
    model = make()
    x = {"b": torch.randn(2, 4), "a": torch.randn(2, 2)}
    model(x)  # keyed inputs in any order work
    for bad in ([x["a"], x["b"]], {"a": x["a"]}, {"a": x["a"], "c": x["b"]}):
        with pytest.raises(ValueError, match="inputs"):
            model(bad)


def test_early_fusion_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_modalities"):
        EarlyFusion(Linear(3, 1), n_modalities=0)
    early = EarlyFusion(Linear(3, 1), n_modalities=2)
    with pytest.raises(ValueError, match="inputs"):
        early([torch.randn(2, 3)])
    with pytest.raises(ValueError, match="inputs: this EarlyFusion has no modality names"):
        early({"a": torch.randn(2, 1), "b": torch.randn(2, 2)})
    for keys in (["a"], ["a", "a"]):
        with pytest.raises(ValueError, match="keys"):
            EarlyFusion(Linear(3, 1), keys=keys)


def test_early_fusion_with_keys_concatenates_in_their_order():
    net = Linear(3, 1).double()
    a, b = torch.randn(4, 1, dtype=F64), torch.randn(4, 2, dtype=F64)
    early = EarlyFusion(net, keys=["a", "b"])
    expected = net(torch.cat([a, b], -1))
    assert torch.equal(early({"b": b, "a": a}), expected)  # any order of the mapping
    for bad in ([a, b], {"a": a}, {"a": a, "c": b}):
        with pytest.raises(ValueError, match="inputs"):
            early(bad)


def test_late_fusion_rejects_no_encoders():
    with pytest.raises(ValueError, match="encoders"):
        LateFusion([], Concat(), Linear(3, 1))
    with pytest.raises(ValueError, match="encoders"):
        LateFusion({}, Concat(), Linear(3, 1))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"task": "video"}, "task"),
        ({"design": "middle"}, "design"),
        ({"width": 0}, "width"),
        ({"width": 2.0}, "width"),
        ({"width": True}, "width"),
        ({"head_hidden": 0, "task": "lattice"}, "head_hidden"),
        ({"head_hidden": 8, "task": "latent"}, "head_hidden"),
        ({"in_dims": ()}, "in_dims"),
        ({"in_dims": (3, 0)}, "in_dims"),
        ({"out_dim": 0}, "out_dim"),
    ],
)
def test_model_spec_rejects_bad_arguments(kwargs, match):
    args = {"task": "latent", "design": "late", "width": 4} | kwargs
    with pytest.raises(ValueError, match=match):
        ModelSpec(**args)


def test_linear_rejects_bad_widths():
    with pytest.raises(ValueError, match="in_features"):
        Linear(0, 3)
    with pytest.raises(ValueError, match="out_features"):
        Linear(3, 0)
    layer = Linear(3, 2)
    with pytest.raises(ValueError, match="expects 3 input features, got 4"):
        layer(torch.randn(5, 4))
    with pytest.raises(ValueError, match="expects 3 input features, got 4"):
        layer((torch.randn(5, 2), torch.randn(5, 2)))
