"""The stacked trainer (SPEC 4.1, 4.2): a model trained in a stack is the model trained alone.

Everything runs in float64 on tiny tasks, so "equal" means equal to float64 rounding
(``assert_close(..., dtype=F64)``: 1e-12), far inside the spec's 1e-5 relative on the
test metric. The tight tolerance is deliberate: a misplaced Adam epsilon or a
bias-correction slip moves results by ~1e-8, which 1e-5 would not see.

Checked: stack of 8 == stack of 1 == ``reference.train_one`` (late and pro-fusion on the
latent task, late fusion on the lattice task, both protocols, both initialisations);
order and size of the stack change nothing; fast path == vmap path; modules that are
not stack-aware go through vmap; a planted divergence is reported and harms no
neighbour; recorded steps, corrupted-test evaluation, early stopping and the returned
best weights; global RNG independence; input validation; CUDA == CPU when a GPU is
present.
"""

from __future__ import annotations

import functools
import math
import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from progfusion.models import DESIGNS, TASKS, Concat, LateFusion, ModelSpec, ProFusion
from progfusion.models.data import ModelData, Split
from progfusion.models.protocol import TrainConfig
from progfusion.models.reference import train_one
from progfusion.models.training import ModelResult, build_model, stack_path, train_stack
from progfusion.synthetic import Standardizer, corrupt, make_latent_sin, make_lattice_lookup
from torch import nn

from tests.helpers import assert_close

F64 = torch.float64
SEEDS = [11, 0, 7, 3, 25, 1, 9, 14]  # eight model seeds, deliberately not sorted
SPEC_RTOL = 1e-5  # SPEC 4.1: stacked == alone within 1e-5 relative on the test metric


pytestmark = pytest.mark.usefixtures("one_thread")


# --- tiny data ------------------------------------------------------------------------


def _corrupted_split(
    level: float, *, inputs: tuple[np.ndarray, ...], target: np.ndarray, seed: int
) -> Split:
    """The test split with every (standardised) modality corrupted at ``level``.

    Module-level so that ``functools.partial`` of it pickles; each modality gets its
    own child seed; ``scale=1.0`` because the inputs are already standardised.
    """
    children = np.random.SeedSequence(seed).spawn(len(inputs))
    noisy = [corrupt(x, level, scale=1.0, seed=s) for x, s in zip(inputs, children, strict=True)]
    return Split.of(noisy, target)


def latent_data(seed: int, *, n_train: int = 128, n_val: int = 64, n_test: int = 64) -> ModelData:
    """One latent lReLU/sin task instance, standardised with its training statistics."""
    task = make_latent_sin(n_train, n_test, n_val=n_val, eta=1.0, sigma2=0.5, seed=seed)
    s1, s2, sy = (Standardizer.fit(a) for a in (task.train.x1, task.train.x2, task.train.y))

    def split(part) -> Split:
        return Split.of([s1.transform(part.x1), s2.transform(part.x2)], sy.transform(part.y))

    test = split(task.test)
    noisy = functools.partial(
        _corrupted_split,
        inputs=tuple(x.numpy() for x in test.inputs),
        target=test.target.numpy(),
        seed=seed,
    )
    return ModelData(train=split(task.train), val=split(task.val), test=test, corrupted_test=noisy)


def lattice_data(seed: int, *, n_train: int = 128, n_val: int = 64, n_test: int = 64) -> ModelData:
    """Lattice lookup train/val/test sets from three child seeds, inputs standardised."""
    train, val, test = (
        make_lattice_lookup(n, seed=s)
        for n, s in zip(
            (n_train, n_val, n_test), np.random.SeedSequence(seed).spawn(3), strict=True
        )
    )
    s1, s2 = Standardizer.fit(train.x1), Standardizer.fit(train.x2)

    def split(part) -> Split:
        return Split.of([s1.transform(part.x1), s2.transform(part.x2)], part.y)

    return ModelData(train=split(train), val=split(val), test=split(test))


#: name -> (model recipe, data maker, objective)
CASES = {
    "latent-late": (ModelSpec("latent", "late", 8), latent_data, "regression"),
    "latent-pro": (ModelSpec("latent", "pro", 8), latent_data, "regression"),
    "lattice-late": (ModelSpec("lattice", "late", 4), lattice_data, "classification"),
}
PROTOCOLS = ("early-stopping", "fixed-steps")


def config(objective: str = "regression", protocol: str = "early-stopping", **kw) -> TrainConfig:
    """A small protocol. lr 3e-3 on 128 samples overfits fast, so early stopping stops
    most models well before ``max_steps``, at different steps, and some models improve
    after others have left the stack (measured; asserted where it matters)."""
    base = dict(lr=3e-3, batch_size=32, max_steps=300, eval_every=25, patience=2)
    return TrainConfig(objective=objective, name=protocol, **(base | kw))


def data_for(case: str, seeds=SEEDS) -> list[ModelData]:
    make = CASES[case][1]
    return [make(1000 + s) for s in seeds]  # each model its own task instance


def assert_same(actual: ModelResult, expected: ModelResult) -> None:
    """Two trainings of one seed agree: status, steps, best step and every metric."""
    assert actual.seed == expected.seed
    assert actual.status == expected.status
    assert (actual.steps, actual.best_step) == (expected.steps, expected.best_step)
    assert math.isnan(actual.val_loss) == math.isnan(expected.val_loss)
    if not math.isnan(expected.val_loss):
        assert_close(actual.val_loss, expected.val_loss, dtype=F64)
    assert_close(actual.test_loss, expected.test_loss, dtype=F64)
    assert_close(actual.test_metric, expected.test_metric, dtype=F64)
    assert abs(actual.test_metric - expected.test_metric) <= SPEC_RTOL * abs(expected.test_metric)
    assert sorted(actual.recorded) == sorted(expected.recorded)
    for step, value in expected.recorded.items():
        assert_close(actual.recorded[step], value, dtype=F64)
    assert_close(actual.noise_metric, expected.noise_metric, dtype=F64)


# --- equivalence: stack == alone == reference ------------------------------------------


#: Per-model learning rates for the early-stopping runs: the fast learners stop within
#: ~100 steps while the slow ones still improve, so models leave the stack at different
#: times and some keep training (and improving) after others have left.
SPREAD_LRS = [3e-3, 1e-2, 1e-3, 3e-3, 1e-2, 1e-3, 5e-3, 2e-3]


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("case", list(CASES))
def test_stack_of_8_equals_alone_and_reference(case: str, protocol: str) -> None:
    """Early stopping with per-model learning rates, fixed steps with one shared rate
    (the two branches of the stacked Adam update)."""
    spec, _, objective = CASES[case]
    cfg = config(objective, protocol)
    lrs = SPREAD_LRS if protocol == "early-stopping" else [cfg.lr] * len(SEEDS)
    data = data_for(case)
    stacked = train_stack(spec.build, SEEDS, data, cfg, dtype=F64, lrs=lrs)
    assert [r.seed for r in stacked] == SEEDS
    assert all(r.status == "ok" for r in stacked)
    for seed, d, lr, result in zip(SEEDS, data, lrs, stacked, strict=True):
        assert_same(result, train_one(spec.build, seed, d, replace(cfg, lr=lr), dtype=F64))
    alone = train_stack(spec.build, [SEEDS[4]], [data[4]], cfg, dtype=F64, lrs=[lrs[4]])
    assert_same(alone[0], stacked[4])
    if protocol == "early-stopping":  # the case exercises stopping, not just max_steps,
        assert any(r.steps < cfg.max_steps for r in stacked)
        # and a model whose best weights come after another model left the stack
        assert min(r.steps for r in stacked) < max(r.best_step for r in stacked)
    else:
        assert all(r.steps == r.best_step == cfg.max_steps for r in stacked)


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("design", DESIGNS)
def test_every_design_of_both_tasks_trains_stacked_as_alone(design: str, task: str) -> None:
    """The paper's MLPs of every design (late, early, pro-fusion, iterative) on both
    tasks train through the fast path, and three of them stacked equal each alone."""
    spec = ModelSpec(task, design, 4)
    objective = "classification" if task == "lattice" else "regression"
    make = lattice_data if task == "lattice" else latent_data
    seeds = SEEDS[:3]
    data = [make(1000 + s) for s in seeds]
    assert stack_path(spec.build()) == "fast"
    cfg = config(objective, "fixed-steps", max_steps=50)
    stacked = train_stack(spec.build, seeds, data, cfg, dtype=F64)
    for seed, d, result in zip(seeds, data, stacked, strict=True):
        assert result.status == "ok"
        assert_same(result, train_one(spec.build, seed, d, cfg, dtype=F64))


def test_a_parameter_the_forward_never_uses_trains_stacked_as_alone() -> None:
    """Pro-fusion with one step (R = 1) never uses its back-projections: they get zero
    gradients and keep their initial values, stacked as alone."""
    from functools import partial

    from progfusion.models.mlp import mlp_model

    factory = partial(mlp_model, "pro", (16, 16), 1, width=4, depth=2, steps=1)
    seeds, data = SEEDS[:3], data_for("latent-pro", SEEDS[:3])
    cfg = config("regression", "fixed-steps", max_steps=30)
    stacked = train_stack(factory, seeds, data, cfg, dtype=F64, return_state=True)
    for seed, d, result in zip(seeds, data, stacked, strict=True):
        assert_same(result, train_one(factory, seed, d, cfg, dtype=F64))
        initial = build_model(factory, seed).state_dict()
        unused = [name for name in result.state if "backproj" in name]
        assert unused and all(torch.equal(result.state[n], initial[n].double()) for n in unused)


@pytest.fixture(scope="module")
def pro_stack_of_8() -> list[ModelResult]:
    spec, _, objective = CASES["latent-pro"]
    return train_stack(spec.build, SEEDS, data_for("latent-pro"), config(objective), dtype=F64)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.permutations(range(len(SEEDS))), st.integers(1, len(SEEDS)))
def test_order_and_size_of_the_stack_change_nothing(pro_stack_of_8, order, size) -> None:
    """Any sub-stack in any order gives each model the result it has in the full stack."""
    spec, _, objective = CASES["latent-pro"]
    picked = list(order[:size])
    seeds = [SEEDS[i] for i in picked]
    data = data_for("latent-pro", seeds)
    results = train_stack(spec.build, seeds, data, config(objective), dtype=F64)
    for i, result in zip(picked, results, strict=True):
        assert_same(result, pro_stack_of_8[i])


# --- the two paths ---------------------------------------------------------------------


@pytest.mark.parametrize("case", ["latent-late", "latent-pro"])
def test_fast_path_equals_vmap_path(case: str) -> None:
    spec, _, objective = CASES[case]
    assert stack_path(spec.build()) == "fast"
    seeds, data = SEEDS[:4], data_for(case, SEEDS[:4])
    cfg = config(objective)
    fast = train_stack(spec.build, seeds, data, cfg, dtype=F64, path="fast")
    vmap = train_stack(spec.build, seeds, data, cfg, dtype=F64, path="vmap")
    for a, b in zip(fast, vmap, strict=True):
        assert_same(a, b)


class _Scaled(nn.Module):
    """Multiplies by a buffer (no parameters): stack-aware, its buffer shared by the stack."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(0.5))

    def forward(self, x):
        return x * self.scale


class _TiedLate(nn.Module):
    """Late fusion whose two encoders' first layers share their weight (a tied
    parameter, held by two modules; each its own bias), with a buffer in each
    encoder: stack-aware layers only."""

    def __init__(self) -> None:
        super().__init__()
        from progfusion.models.layers import Linear

        first = [Linear(16, 8), Linear(16, 8)]
        first[1].weight = first[0].weight
        self.encoders = nn.ModuleList(
            nn.Sequential(layer, nn.ReLU(), Linear(8, 4), _Scaled()) for layer in first
        )
        self.head = Linear(8, 1)

    def forward(self, xs):
        return self.head([enc(x) for enc, x in zip(self.encoders, xs, strict=True)])


def test_fast_path_with_a_tied_layer_and_buffers_trains_as_alone() -> None:
    """The fast path swaps the stack's tensors into every place a parameter is held
    (a tied one in two modules) and the buffers into theirs."""
    model = _TiedLate()
    assert stack_path(model) == "fast"
    assert len(list(model.parameters())) == 9  # the tied weight counted once
    seeds, data = SEEDS[:3], data_for("latent-late", SEEDS[:3])
    cfg = config("regression", "fixed-steps", max_steps=40)
    stacked = train_stack(_TiedLate, seeds, data, cfg, dtype=F64, path="fast")
    vmap = train_stack(_TiedLate, seeds, data, cfg, dtype=F64, path="vmap")
    for seed, d, a, b in zip(seeds, data, stacked, vmap, strict=True):
        assert_same(a, train_one(_TiedLate, seed, d, cfg, dtype=F64))
        assert_same(a, b)


def test_swapped_parameters_are_restored_even_after_an_error() -> None:
    from progfusion.models.stack import _slots, _swapped

    model = _TiedLate()
    before = {n: t for n, t in model.named_parameters()}
    stack = tuple(torch.zeros(3, *p.shape) for p in model.parameters())
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    with pytest.raises(RuntimeError, match="inside"):
        with _swapped(_slots(model), stack, buffers):
            first = model.encoders[0][0]
            assert first.weight is stack[0] and model.encoders[1][0].weight is stack[0]
            assert model.encoders[0][3].scale is buffers["encoders.0.3.scale"]
            raise RuntimeError("inside")
    assert {n: t for n, t in model.named_parameters()} == before
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())
    assert model.encoders[0][3].scale is not buffers["encoders.0.3.scale"]


def torch_linear_late() -> nn.Module:
    """The Figure 7 late model from plain ``torch.nn.Linear`` layers (not stack-aware)."""
    encoders = [
        nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU()) for _ in range(2)
    ]
    return LateFusion(encoders, Concat(), nn.Linear(16, 1))


def torch_linear_pro() -> nn.Module:
    """Pro-fusion around a user-supplied ``torch.nn.Linear`` base."""
    return ProFusion(torch_linear_late(), steps=2, context="concat", backproj_dim=16)


@pytest.mark.parametrize("factory", [torch_linear_late, torch_linear_pro])
def test_modules_that_are_not_stack_aware_train_through_vmap(factory) -> None:
    assert stack_path(factory()) == "vmap"
    seeds, data = SEEDS[:3], data_for("latent-late", SEEDS[:3])
    cfg = config()
    results = train_stack(factory, seeds, data, cfg, dtype=F64)  # path="auto"
    for seed, d, result in zip(seeds, data, results, strict=True):
        assert_same(result, train_one(factory, seed, d, cfg, dtype=F64))
    with pytest.raises(ValueError, match="path='fast'"):
        train_stack(factory, seeds, data, cfg, dtype=F64, path="fast")
    # the hashed initialisation needs stack-aware layers; others keep their factory's
    hashed = train_stack(factory, seeds, data, cfg, dtype=F64, init="hashed")
    for a, b in zip(hashed, results, strict=True):
        assert_same(a, b)


# --- divergence ------------------------------------------------------------------------

#: Adam moves each weight by at most ~lr per step, and the ReLUs of a model kicked that
#: hard die at once (its output collapses to the head bias), so in float64 lr = 1e6
#: leaves the loss finite (~1e13 after 200 steps, measured). At lr = 1e100 the first
#: update's weights overflow the forward pass: the loss is non-finite at step 2.
HUGE_LR = 1e100


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("case", ["latent-late", "latent-pro"])
def test_planted_divergence_is_reported_and_harms_no_neighbour(case: str, protocol: str) -> None:
    spec, _, objective = CASES[case]
    cfg = config(objective, protocol, record_steps=(1, 10))
    data = data_for(case)
    lrs = [HUGE_LR if i == 3 else cfg.lr for i in range(len(SEEDS))]
    with_bad = train_stack(spec.build, SEEDS, data, cfg, dtype=F64, lrs=lrs)
    bad = with_bad[3]
    assert bad.status == "diverged"
    assert math.isnan(bad.test_metric) and math.isnan(bad.test_loss)
    assert bad.steps < cfg.eval_every  # it diverged before the first evaluation point
    keep = [i for i in range(len(SEEDS)) if i != 3]
    without = train_stack(
        spec.build, [SEEDS[i] for i in keep], [data[i] for i in keep], cfg, dtype=F64
    )
    for i, result in zip(keep, without, strict=True):
        assert with_bad[i].status == "ok"
        assert_same(with_bad[i], result)
    huge = replace(cfg, lr=HUGE_LR)
    reference = train_one(spec.build, SEEDS[3], data[3], huge, dtype=F64)
    assert reference.status == "diverged"  # the naive loop agrees it diverges, and where
    assert (bad.steps, bad.best_step) == (reference.steps, reference.best_step)
    assert list(bad.recorded) == list(reference.recorded) == [1]  # steps before it diverged
    a, e = bad.recorded[1], reference.recorded[1]  # weights of ~1e100 after step 1:
    assert a == e or (math.isnan(a) and math.isnan(e))  # inf or NaN, the same both ways


# --- recording, corrupted tests, early stopping ---------------------------------------


def test_recorded_steps_equal_runs_stopped_there() -> None:
    spec, _, objective = CASES["latent-late"]
    seeds, data = SEEDS[:3], data_for("latent-late", SEEDS[:3])
    record = (25, 100)
    # recorded under early stopping: the trajectory does not depend on the protocol
    cfg = config(objective, "early-stopping", record_steps=record, patience=100)
    results = train_stack(spec.build, seeds, data, cfg, dtype=F64)
    for step in record:
        stopped = train_stack(
            spec.build, seeds, data, config(objective, "fixed-steps", max_steps=step), dtype=F64
        )
        for result, short in zip(results, stopped, strict=True):
            assert sorted(result.recorded) == list(record)
            assert_close(result.recorded[step], short.test_metric, dtype=F64)
    for seed, d, result in zip(seeds, data, results, strict=True):
        assert_same(result, train_one(spec.build, seed, d, cfg, dtype=F64))


def test_noise_levels_evaluate_the_corrupted_test_split() -> None:
    spec, _, objective = CASES["latent-pro"]
    seeds, data = SEEDS[:3], data_for("latent-pro", SEEDS[:3])
    pickle.dumps(data[0].corrupted_test)  # picklable, for multi-process sweeps
    levels = (0.0, 0.5, 1.0)
    cfg = config(objective, noise_levels=levels)
    results = train_stack(spec.build, seeds, data, cfg, dtype=F64)
    for seed, d, result in zip(seeds, data, results, strict=True):
        assert len(result.noise_metric) == len(levels)
        assert result.noise_metric[0] == result.test_metric  # level 0 is the clean test
        assert result.noise_metric[2] != result.test_metric  # the corruption does something
        assert_same(result, train_one(spec.build, seed, d, cfg, dtype=F64))


def _val_loss(spec: ModelSpec, state: dict[str, torch.Tensor], val: Split) -> float:
    """Validation MSE of the weights ``state``, loaded into a freshly built model."""
    model = spec.build().to(F64)  # a different initialisation, overwritten below
    model.load_state_dict(state)
    with torch.no_grad():
        out = model([x.to(F64) for x in val.inputs])
    return float((out - val.target.to(F64)).square().mean())


def test_early_stopping_stops_and_returns_the_best_weights() -> None:
    spec, _, objective = CASES["latent-late"]
    seeds = SEEDS[:4]
    data = [latent_data(1000 + s, n_train=64) for s in seeds]  # tiny: overfits quickly
    cfg = config(objective, lr=1e-2, max_steps=2000)
    results = train_stack(spec.build, seeds, data, cfg, dtype=F64, return_state=True)
    for seed, d, result in zip(seeds, data, results, strict=True):
        assert result.status == "ok"
        assert result.steps < cfg.max_steps
        assert result.steps == result.best_step + cfg.patience * cfg.eval_every
        assert result.state is not None
        assert_close(_val_loss(spec, result.state, d.val), result.val_loss, dtype=F64)
        # the reported weights are those after best_step steps, not the last ones
        fixed = config(objective, "fixed-steps", lr=1e-2, max_steps=result.best_step)
        (at_best,) = train_stack(spec.build, [seed], [d], fixed, dtype=F64, return_state=True)
        for name, value in result.state.items():
            assert_close(value, at_best.state[name], dtype=F64)
        assert_same(result, train_one(spec.build, seed, d, cfg, dtype=F64))


# --- seeding ---------------------------------------------------------------------------


def test_results_do_not_depend_on_or_touch_the_global_rng() -> None:
    spec, _, objective = CASES["latent-pro"]
    seeds, data = SEEDS[:3], data_for("latent-pro", SEEDS[:3])
    cfg = config(objective, max_steps=100)
    torch.manual_seed(0)
    first = train_stack(spec.build, seeds, data, cfg, dtype=F64)
    torch.manual_seed(12345)
    torch.rand(17)
    np.random.seed(99)  # noqa: NPY002 (the legacy global state is what is being checked)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()  # noqa: NPY002
    second = train_stack(spec.build, seeds, data, cfg, dtype=F64)
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert np.array_equal(after[1], numpy_state[1]) and after[2:] == numpy_state[2:]
    for a, b in zip(first, second, strict=True):
        assert a.test_metric == b.test_metric and a.best_step == b.best_step


# --- validation ------------------------------------------------------------------------


def _short(seed: int = 0, **kw) -> ModelData:
    return latent_data(1000 + seed, **kw)


def _no_val(seed: int = 0) -> ModelData:
    d = _short(seed)
    return ModelData(train=d.train, test=d.test)


def _no_corrupted(seed: int = 0) -> ModelData:
    d = _short(seed)
    return ModelData(train=d.train, val=d.val, test=d.test)


BAD_CALLS = {
    "data length": (dict(seeds=[0, 1], data=lambda: [_short()]), "data"),
    "lrs length": (dict(lrs=[1e-3, 1e-3]), "lrs"),
    "negative seed": (dict(seeds=[-1]), "seeds"),
    "batch too big": (dict(config=config(batch_size=1024)), "batch_size"),
    "no val": (dict(data=lambda: [_no_val()]), "val"),
    "no corrupted test": (
        dict(data=lambda: [_no_corrupted()], config=config(noise_levels=(0.5,))),
        "corrupted_test",
    ),
    "unknown path": (dict(path="slow"), "path"),
    "split sizes": (
        dict(seeds=[0, 1], data=lambda: [_short(0), _short(1, n_train=96)]),
        "data",
    ),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_bad_input_raises_value_error_naming_the_parameter(name: str) -> None:
    changes, word = BAD_CALLS[name]
    call = dict(seeds=[0], data=lambda: [_short()], config=config(max_steps=10)) | changes
    spec = CASES["latent-late"][0]
    with pytest.raises(ValueError, match=word):
        train_stack(
            spec.build,
            call["seeds"],
            call["data"](),
            call["config"],
            dtype=F64,
            path=call.get("path", "auto"),
            lrs=call.get("lrs"),
        )


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        (dict(lr=0), "lr"),
        (dict(lr=-1e-3), "lr"),
        (dict(objective="x"), "objective"),
        (dict(name="x"), "protocol.name"),
        (dict(batch_size=0), "batch_size"),
        (dict(record_steps=(0,)), "record_steps"),
        (dict(noise_levels=(-0.1,)), "noise_levels"),
    ],
)
def test_bad_train_config_raises_value_error_naming_the_parameter(kwargs, word) -> None:
    with pytest.raises(ValueError, match=word):
        TrainConfig(**kwargs)


# --- CUDA ------------------------------------------------------------------------------


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("case", ["latent-late", "latent-pro"])
@pytest.mark.parametrize(("dtype", "rtol"), [(torch.float64, 1e-6), (torch.float32, 1e-3)])
def test_cuda_training_matches_cpu(case: str, dtype: torch.dtype, rtol: float) -> None:
    """Same seeds on CUDA and CPU: final test metric within float32 tolerance.

    float64 on both devices differs only by summation order (rtol 1e-6 is generous);
    float32 over 100 Adam steps may amplify rounding a little more (rtol 1e-3).
    """
    spec, _, objective = CASES[case]
    seeds, data = SEEDS[:4], data_for(case, SEEDS[:4])
    cfg = config(objective, "fixed-steps", max_steps=100)
    cpu = train_stack(spec.build, seeds, data, cfg, dtype=dtype)
    gpu = train_stack(spec.build, seeds, data, cfg, dtype=dtype, device="cuda")
    for a, b in zip(gpu, cpu, strict=True):
        assert a.status == b.status == "ok"
        assert a.test_metric == pytest.approx(b.test_metric, rel=rtol)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("mode", ["default", "reduce-overhead"])
def test_cuda_compiled_training_matches_eager(mode: str) -> None:
    """The compiled step on a GPU ("reduce-overhead": replayed as CUDA graphs), with
    early stopping, so that the stack shrinks between replays."""
    spec, _, objective = CASES["latent-pro"]
    cfg = config(objective)
    data = data_for("latent-pro")
    run = functools.partial(
        train_stack, spec.build, SEEDS, data, cfg, dtype=F64, lrs=SPREAD_LRS, device="cuda"
    )
    eager, compiled = run(), run(compile=mode)
    assert len({r.steps for r in eager}) > 1
    for c, e in zip(compiled, eager, strict=True):
        assert (c.status, c.steps, c.best_step) == (e.status, e.steps, e.best_step)
        assert c.test_metric == pytest.approx(e.test_metric, rel=1e-9)


# --- the hashed initialisation (init="hashed") -------------------------------------------


@pytest.mark.parametrize("case", ["latent-late", "latent-pro"])
def test_hashed_init_stack_equals_alone_and_reference(case: str) -> None:
    """init="hashed" computes every model's weights at once; a model in a stack still
    equals the same seed alone and in the naive loop, and a permuted stack changes
    nothing."""
    spec, _, objective = CASES[case]
    cfg = config(objective, "fixed-steps", max_steps=100)
    data = data_for(case)
    stacked = train_stack(spec.build, SEEDS, data, cfg, dtype=F64, init="hashed")
    for seed, d, result in zip(SEEDS, data, stacked, strict=True):
        assert_same(result, train_one(spec.build, seed, d, cfg, dtype=F64, init="hashed"))
    order = SEEDS[::-1]
    flipped = train_stack(spec.build, order, data[::-1], cfg, dtype=F64, init="hashed")
    for result in flipped:
        assert_same(result, stacked[SEEDS.index(result.seed)])
    factory_init = train_stack(spec.build, SEEDS, data, cfg, dtype=F64)
    assert any(a.test_metric != b.test_metric for a, b in zip(stacked, factory_init, strict=True))


def test_hashed_init_draws_pytorch_bounds_and_keeps_pro_paired_with_late() -> None:
    from progfusion.models.training import build_model

    late = build_model(ModelSpec("latent", "late", 8).build, 7, init="hashed")
    pro = build_model(ModelSpec("latent", "pro", 8).build, 7, init="hashed")
    other = build_model(ModelSpec("latent", "late", 8).build, 8, init="hashed")
    for name, value in late.state_dict().items():
        assert torch.equal(pro.state_dict()[f"base.{name}"], value)  # same base weights
        assert not torch.equal(other.state_dict()[name], value)  # another seed differs
    first = late.encoders[0][0].weight.detach()  # Linear(16, 8): uniform within 1/sqrt(16)
    assert first.abs().max() <= 0.25 and first.abs().max() > 0.2
    assert abs(float(first.mean())) < 0.1


def test_unknown_init_is_rejected() -> None:
    spec, _, objective = CASES["latent-late"]
    with pytest.raises(ValueError, match="init"):
        train_stack(spec.build, [0], data_for("latent-late", [0]), config(objective), init="x")


# --- torch.compile (optional) ----------------------------------------------------------


def test_compiled_step_equals_eager_and_compiles_once_per_factory() -> None:
    """Early stopping with spread learning rates, so the stack shrinks (and the compiled
    step meets a new stack size); compiled kernels may round differently, so the
    metrics agree to 1e-9 relative here rather than bit for bit."""
    from progfusion.models import stack

    spec, _, objective = CASES["latent-pro"]
    cfg = config(objective)
    data = data_for("latent-pro")
    eager = train_stack(spec.build, SEEDS, data, cfg, dtype=F64, lrs=SPREAD_LRS)
    assert len({r.steps for r in eager}) > 1  # models left the stack at different steps
    before = len(stack._COMPILED)
    for _ in range(2):  # the second call reuses the first call's compiled step
        compiled = train_stack(
            spec.build, SEEDS, data, cfg, dtype=F64, lrs=SPREAD_LRS, compile="default"
        )
        assert len(stack._COMPILED) == before + 1
        for c, e in zip(compiled, eager, strict=True):
            assert (c.status, c.steps, c.best_step) == (e.status, e.steps, e.best_step)
            for name in ("val_loss", "test_loss", "test_metric"):
                assert getattr(c, name) == pytest.approx(getattr(e, name), rel=1e-9)


@pytest.mark.parametrize("value", ["fast", "off", 1, True, False])
def test_unknown_compile_mode_is_rejected(value) -> None:
    spec, _, objective = CASES["latent-late"]
    with pytest.raises(ValueError, match="compile must be"):
        train_stack(spec.build, [0], data_for("latent-late", [0]), config(objective), compile=value)


def test_every_architecture_gets_its_own_compiled_step(caplog) -> None:
    """TorchDynamo limits recompilations per code object; with a limit of 1, two
    architectures sharing one would run the second eagerly (and log a warning)."""
    import torch._dynamo

    cfg = config(max_steps=3, eval_every=3, protocol="fixed-steps")
    data = data_for("latent-late", [0, 1])
    with torch._dynamo.config.patch(recompile_limit=1), caplog.at_level("WARNING"):
        for width in (2, 3):
            spec = ModelSpec("latent", "late", width)
            before = torch._dynamo.utils.counters["frames"]["ok"]
            train_stack(spec.build, [0, 1], data, cfg, dtype=F64, compile="default")
            assert torch._dynamo.utils.counters["frames"]["ok"] > before  # compiled
    assert not [r for r in caplog.records if "recompile_limit" in r.getMessage()]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_device_synchronisations_do_not_grow_with_the_stack(protocol: str) -> None:
    """Reading one model's value (``.item()``, ``float(t[j])``) waits for a GPU each
    time; results must reach the host as whole lists. Counted on the CPU with a
    dispatch mode: one scalar read per evaluation point (is any model done?), for
    any number of models."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class ScalarReads(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.overloadpacket is torch.ops.aten._local_scalar_dense:
                self.count += 1
            return func(*args, **(kwargs or {}))

    spec, _, objective = CASES["latent-late"]
    cfg = config(objective, protocol, record_steps=(25,), noise_levels=(0.5,))
    for n in (2, 8):
        with ScalarReads() as reads:
            results = train_stack(
                spec.build, SEEDS[:n], data_for("latent-late", SEEDS[:n]), cfg, dtype=F64
            )
        evaluations = math.ceil(max(r.steps for r in results) / cfg.eval_every)
        assert reads.count == evaluations


# --- the per-model state ----------------------------------------------------------------


def _leading(value) -> set[int]:
    """The leading dimension(s) of a per-model field."""
    if isinstance(value, torch.Tensor):
        return {value.shape[0]}
    if isinstance(value, Split):
        return {x.shape[0] for x in (*value.inputs, value.target)}
    if isinstance(value, tuple):  # parameters: one (N, *shape) tensor per parameter
        return {x.shape[0] for x in value}
    return {len(value)}


def _rows_of(value, rows: list[int]):
    if isinstance(value, torch.Tensor):
        return value[rows]
    if isinstance(value, Split):
        return Split(tuple(x[rows] for x in value.inputs), value.target[rows])
    if isinstance(value, tuple):
        return tuple(x[rows] for x in value)
    return [value[i] for i in rows]


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, Split):
        return _same(a.target, b.target) and all(map(_same, a.inputs, b.inputs))
    return a == b


def test_keeping_rows_keeps_those_rows_of_every_per_model_field() -> None:
    """The stack's per-model state has the model dimension first in every field, and
    dropping finished models selects the same rows of all of them; derived fields are
    recomputed for the smaller stack."""
    from dataclasses import fields

    from progfusion.models import stack, state
    from progfusion.models.protocol import epoch_permutation

    spec, _, objective = CASES["latent-late"]
    seeds, n = SEEDS[:5], 5
    data = data_for("latent-late", seeds)
    params = (torch.randn(n, 3, 2, dtype=F64), torch.randn(n, 7, dtype=F64))
    lrs = [1e-3, 2e-3, 3e-3, 2e-3, 1e-3]
    cpu = torch.device("cpu")
    models = state._stage(params, seeds, data, config(objective), lrs, device=cpu, dtype=F64)
    models.perm = epoch_permutation(models.order, 0, 128)
    models.m, models.v, models.best = (tuple(torch.randn_like(p) for p in params) for _ in range(3))
    models.best_loss = torch.randn(n, dtype=F64)
    models.nonfinite = torch.rand(models.nonfinite.shape) < 0.5
    per_model = [f.name for f in fields(models) if f.init]
    per_model = [name for name in per_model if getattr(models, name) is not None]
    for name in per_model:  # (nonfinite is (N, 25): a layout (25, N) would show)
        assert _leading(getattr(models, name)) == {n}, name
    rows = [1, 2, 4]
    kept = models.keep(torch.tensor(rows))
    whole = {f.name for f in fields(models) if f.metadata.get("whole")}
    assert whole == {"train", "labels"}  # the training data stay whole: no copy per stop
    for name in per_model:
        expected = getattr(models, name) if name in whole else _rows_of(getattr(models, name), rows)
        assert _same(getattr(kept, name), expected), name
    assert torch.equal(kept.offsets, torch.tensor([[128], [256], [512]]))
    idx = torch.tensor([[0, 5, 127]]).expand(3, 3)  # (N, B) samples of each kept row
    picked = stack._gather(kept.train, kept.offsets + idx)  # model alive[r]'s samples
    assert torch.equal(picked, models.train[rows][:, [0, 5, 127]])
    assert not kept.same_lr and models.keep(torch.tensor([0, 4])).same_lr
    with pytest.raises(TypeError, match="dict"):
        state._rows({"not": "per-model"}, torch.tensor(rows))
