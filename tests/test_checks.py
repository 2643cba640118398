"""The one "integer >= minimum, not a bool" check, and the arguments that use it."""

from __future__ import annotations

import numpy as np
import pytest
from progfusion.models import ModelSpec
from progfusion.models._checks import positive_int
from progfusion.models.protocol import TrainConfig, model_seeds

NOT_INTEGERS = [True, False, np.bool_(True), 2.0, np.float64(2.0), "2", None]


@pytest.mark.parametrize("value", [1, 7, np.int64(7), np.int32(1), np.uint8(3)])
def test_positive_int_accepts_integers_and_returns_a_python_int(value) -> None:
    got = positive_int("n", value)
    assert type(got) is int and got == int(value)


@pytest.mark.parametrize("value", [0, -3, np.int64(0), *NOT_INTEGERS])
def test_positive_int_rejects_the_rest_naming_the_argument(value) -> None:
    with pytest.raises(ValueError, match=r"^n must be an integer >= 1, got "):
        positive_int("n", value)


def test_positive_int_minimum() -> None:
    assert positive_int("seed", 0, minimum=0) == 0
    with pytest.raises(ValueError, match="seed must be an integer >= 0, got -1"):
        positive_int("seed", -1, minimum=0)


@pytest.mark.parametrize("name", ["batch_size", "max_steps", "eval_every", "patience"])
@pytest.mark.parametrize("value", [0, *NOT_INTEGERS])
def test_train_config_counts(name, value) -> None:
    with pytest.raises(ValueError, match=name):
        TrainConfig(**{name: value})


def test_train_config_stores_numpy_counts_as_int() -> None:
    cfg = TrainConfig(batch_size=np.int64(32), max_steps=np.int32(200), patience=np.int16(3))
    assert (type(cfg.batch_size), type(cfg.max_steps), type(cfg.patience)) == (int, int, int)
    assert cfg == TrainConfig(batch_size=32, max_steps=200, patience=3)


@pytest.mark.parametrize("seed", [-1, *NOT_INTEGERS])
def test_model_seeds_rejects_what_is_not_an_integer_at_least_0(seed) -> None:
    with pytest.raises(ValueError, match="seeds"):
        model_seeds(seed)


def test_model_seeds_of_a_numpy_integer_equal_those_of_the_int() -> None:
    assert model_seeds(np.int64(5)) == model_seeds(5) != model_seeds(6)
    assert model_seeds(0) == model_seeds(np.uint32(0))


@pytest.mark.parametrize("name", ["width", "steps", "head_hidden", "out_dim", "backproj_dim"])
@pytest.mark.parametrize("value", [0, True, 2.0])
def test_model_spec_sizes(name, value) -> None:
    with pytest.raises(ValueError, match=name):
        ModelSpec(**({"task": "lattice", "design": "pro", "width": 4} | {name: value}))


@pytest.mark.parametrize("in_dims", [(), (3, 0), (3, True), (3, 2.0)])
def test_model_spec_in_dims(in_dims) -> None:
    with pytest.raises(ValueError, match="in_dims"):
        ModelSpec("latent", "late", 4, in_dims=in_dims)


def test_model_spec_stores_numpy_sizes_as_int() -> None:
    spec = ModelSpec("lattice", "late", np.int64(4), head_hidden=np.int32(5), out_dim=np.int8(3))
    assert spec == ModelSpec("lattice", "late", 4, head_hidden=5, out_dim=3)
    assert {type(spec.width), type(spec.head_hidden), type(spec.out_dim)} == {int}
