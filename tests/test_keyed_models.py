"""Models with keyed encoders train in the stacked trainer with no adapter (issue 24, item 3).

torchmultimodal's ``LateFusion(encoders: nn.ModuleDict, fusion_module, head_module)``
sorts its encoders by key at construction and its forward takes ``Dict[str, Tensor]``,
asserting every key is there (``assert key in modalities, f"{key} missing in input"``);
handed the trainer's list of modalities it failed on every model. ``TmmLateFusion``
(from :mod:`tests.test_models_wrap`) has that structure line for line
(``torchmultimodal/models/late_fusion.py``), with ``TmmConcatFusionModule``
(``modules/fusions/concat_fusion.py``: concatenation of the dict's values in sorted
key order).

Checked: :func:`~progfusion.models.keyed.modality_keys` reads the keys of such a model,
directly or through ProFusion / IterativeFusion, and of this package's keyed models,
and none of an adapter that takes a list; ``train_stack`` trains it (and ProFusion
around it) on both paths (torch layers: vmap; this package's ``Linear``: the fast
path), stacked as alone, and as the reference loop trains it through a hand-written
adapter; the data's modality i meets the ModuleDict's i-th key; a task with another
number of modalities is refused by name. Stacked equals alone also over random
keys and widths (hypothesis).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from progfusion.models import Concat, EarlyFusion, IterativeFusion, LateFusion, Linear, ProFusion
from progfusion.models.data import ModelData, Split
from progfusion.models.keyed import modality_keys, model_inputs
from progfusion.models.protocol import TrainConfig
from progfusion.models.reference import train_one
from progfusion.models.training import ModelResult, build_model, stack_path, train_stack
from torch import Tensor, nn

from tests.helpers import assert_close
from tests.test_models_wrap import TmmConcatFusionModule, TmmLateFusion

F64 = torch.float64
#: modality name -> input width, inserted unsorted: the model's order is the sorted one
KEYS = {"video": 4, "audio": 3, "text": 5}
ORDER = tuple(sorted(KEYS))  # ("audio", "text", "video"): the ModuleDict's order
WIDTHS = tuple(KEYS[k] for k in ORDER)  # the task's modalities, by position
LAYERS = {"torch": nn.Linear, "progfusion": Linear}  # vmap path / fast path
PATHS = {"torch": "vmap", "progfusion": "fast"}
CFG = TrainConfig(objective="regression", name="fixed-steps", lr=1e-2, batch_size=32, max_steps=80)


pytestmark = pytest.mark.usefixtures("one_thread")


class ListToDict(nn.Module):
    """The hand-written adapter users needed: takes a list, feeds the model a dict."""

    def __init__(self, model: nn.Module, keys: tuple[str, ...]) -> None:
        super().__init__()
        self.model, self.keys = model, keys

    def forward(self, xs: list[Tensor]) -> Tensor:
        return self.model(dict(zip(self.keys, xs, strict=True)))


# --- models and data ---------------------------------------------------------------------


def tmm(layer: str = "torch", keys: dict[str, int] = KEYS, width: int = 4) -> TmmLateFusion:
    """A torchmultimodal late-fusion regression model over ``keys`` (name -> width)."""
    linear = LAYERS[layer]
    encoders = nn.ModuleDict(
        {k: nn.Sequential(linear(d, width), nn.Tanh()) for k, d in keys.items()}
    )
    head = nn.Sequential(linear(width * len(keys), 6), nn.ReLU(), linear(6, 1))
    return TmmLateFusion(encoders, TmmConcatFusionModule(), head)


def pro_tmm(layer: str = "torch", context: str = "add") -> ProFusion:
    return ProFusion(tmm(layer), steps=2, context=context, backproj_dim=2)


def iterative_tmm(layer: str = "torch") -> IterativeFusion:
    return IterativeFusion(tmm(layer), steps=2)


def regression_split(widths: tuple[int, ...], n: int, seed: int) -> Split:
    """``y = x_0 . w_0 + tanh(x_1 . w_1) + x_2 . w_2 + ...`` plus noise, one function for
    every split: every modality matters, each differently, so feeding a modality under
    another key changes the fit."""
    g = torch.Generator().manual_seed(seed)
    xs = [torch.randn(n, d, generator=g, dtype=F64) for d in widths]
    fixed = torch.Generator().manual_seed(12345)
    w = [torch.randn(d, generator=fixed, dtype=F64) / d**0.5 for d in widths]  # x_i.w_i ~ N(0, 1)
    parts = [x @ wi for x, wi in zip(xs, w, strict=True)]
    y = sum(torch.tanh(z) if i == 1 else z for i, z in enumerate(parts))
    return Split.of(xs, (y + 0.1 * torch.randn(n, generator=g, dtype=F64)).unsqueeze(1))


def task(seed: int, widths: tuple[int, ...] = WIDTHS, n_train: int = 256) -> ModelData:
    return ModelData(
        train=regression_split(widths, n_train, seed),
        val=None,
        test=regression_split(widths, 128, seed + 1),
    )


def mse_of(model: nn.Module, split: Split, keys: tuple[str, ...]) -> float:
    """The model's test MSE, fed ``{keys[i]: modality i}``."""
    with torch.no_grad():
        out = model(dict(zip(keys, split.inputs, strict=True)))
        return float((out - split.target).square().mean())


def trained_alike(factory: Callable[[], nn.Module], seeds: list[int]) -> list[ModelResult]:
    """Train ``factory``'s models stacked, check each equals itself trained alone (a
    stack of one) and improved on its untrained self; return the stacked results."""
    data = [task(100 + s) for s in seeds]
    stacked = train_stack(factory, seeds, data, CFG, dtype=F64)
    for seed, d, result in zip(seeds, data, stacked, strict=True):
        assert result.status == "ok" and result.steps == CFG.max_steps
        (alone,) = train_stack(factory, [seed], [d], CFG, dtype=F64)
        assert_close(result.test_metric, alone.test_metric, dtype=F64)
        untrained = mse_of(build_model(factory, seed).double(), d.test, ORDER)
        assert result.test_metric < 0.5 * untrained
    return stacked


# --- which keys -------------------------------------------------------------------------


def test_modality_keys_are_the_moduledicts_in_its_order():
    model = tmm()
    assert tuple(model.encoders.keys()) == ORDER != tuple(KEYS)  # sorted, not as inserted
    assert modality_keys(model) == ORDER
    assert modality_keys(ProFusion(model)) == ORDER
    assert modality_keys(IterativeFusion(model)) == ORDER
    named = {k: nn.Linear(d, 2) for k, d in KEYS.items()}
    assert modality_keys(LateFusion(named, Concat(), nn.Linear(6, 1))) == tuple(KEYS)
    early = EarlyFusion(nn.Linear(12, 1), n_modalities=3, keys=tuple(KEYS))
    assert modality_keys(early) == tuple(KEYS)
    # by position: an adapter holding a keyed model, positional encoders, no encoders
    assert modality_keys(ListToDict(model, ORDER)) is None
    assert modality_keys(LateFusion(list(named.values()), Concat(), nn.Linear(6, 1))) is None
    assert modality_keys(nn.Linear(2, 1)) is None


def test_model_inputs_map_keys_to_modalities_by_position():
    xs = [torch.zeros(2, d) for d in WIDTHS]
    fed = model_inputs(ORDER, xs)
    assert list(fed) == list(ORDER) and all(fed[k] is x for k, x in zip(ORDER, xs, strict=True))
    assert model_inputs(None, tuple(xs)) == xs
    with pytest.raises(ValueError, match=r"takes 3 modalities by name .* got 2"):
        model_inputs(ORDER, xs[:2])


# --- training ----------------------------------------------------------------------------


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_torchmultimodal_late_fusion_trains_stacked_as_alone(layer):
    factory = partial(tmm, layer)
    assert stack_path(factory()) == PATHS[layer]
    seeds = [4, 0, 9]
    stacked = trained_alike(factory, seeds)
    # the reference loop, fed through the adapter users had to write: the same models
    for seed, result in zip(seeds, stacked, strict=True):
        alone = train_one(
            lambda: ListToDict(factory(), ORDER), seed, task(100 + seed), CFG, dtype=F64
        )
        assert_close(result.test_metric, alone.test_metric, dtype=F64)


@pytest.mark.parametrize("layer", sorted(LAYERS))
@pytest.mark.parametrize("context", ["add", "concat"])
def test_profusion_around_it_trains_stacked_as_alone(layer, context):
    factory = partial(pro_tmm, layer, context)
    assert stack_path(factory()) == PATHS[layer]
    trained_alike(factory, [3, 1])


def test_iterative_fusion_around_it_trains_stacked_as_alone():
    trained_alike(partial(iterative_tmm, "progfusion"), [2, 5])


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_the_datas_modality_i_meets_the_moduledicts_key_i(layer):
    """Equal widths, so no shape catches a wrong pairing: the trained weights, fed
    modality i under the i-th key, give the test MSE the trainer reported; fed in the
    keys' insertion order (the model was given ``video`` first), they do not."""
    keys = dict.fromkeys(KEYS, 3)
    factory = partial(tmm, layer, keys)
    data = task(7, widths=(3, 3, 3))
    (result,) = train_stack(factory, [1], [data], CFG, dtype=F64, return_state=True)
    model = factory().double()
    model.load_state_dict(result.state)
    assert_close(mse_of(model, data.test, ORDER), result.test_metric, dtype=F64)
    assert abs(mse_of(model, data.test, tuple(keys)) - result.test_metric) > 1e-3


def test_a_task_with_another_number_of_modalities_is_refused():
    data = [task(0, widths=WIDTHS[:2])]
    with pytest.raises(
        ValueError, match=r"takes 3 modalities by name \['audio', 'text', 'video'\]"
    ):
        train_stack(tmm, [0], data, CFG, dtype=F64)


keys_and_widths = st.dictionaries(
    st.text(alphabet="abcxyz_", min_size=1, max_size=4), st.integers(1, 4), min_size=1, max_size=3
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=keys_and_widths, layer=st.sampled_from(sorted(LAYERS)), wrap=st.booleans())
def test_random_keyed_models_train_stacked_as_alone(keys, layer, wrap):
    def factory() -> nn.Module:
        base = tmm(layer, keys, width=2)
        return ProFusion(base, steps=2) if wrap else base

    widths = tuple(keys[k] for k in sorted(keys))
    cfg = TrainConfig(objective="regression", name="fixed-steps", batch_size=8, max_steps=6)
    seeds = [0, 1]
    data = [task(10 + s, widths=widths, n_train=32) for s in seeds]
    stacked = train_stack(factory, seeds, data, cfg, dtype=F64)
    for seed, d, result in zip(seeds, data, stacked, strict=True):
        (alone,) = train_stack(factory, [seed], [d], cfg, dtype=F64)
        assert result.status == alone.status == "ok"
        assert_close(result.test_metric, alone.test_metric, dtype=F64)
