"""Robustness per modality (issue 26, item 4): each modality noisy alone, and missing.

A model that reads X1 only is unmoved by anything done to X2, and under noise on X1
alone it sees exactly the draw that the both-modality columns give it; the missing
fills equal the metric computed by hand; a study with ``per_modality`` gets the
columns and leaves every other column as it was; bad values are named.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
import torch
from progfusion.experiments import LatentTask, LatticeTask, Protocol, Study, run_study
from progfusion.experiments.modalities import evaluate_modalities, modality_columns
from progfusion.experiments.studyfile import load_study, save_study
from progfusion.experiments.tasks import corrupted_split
from progfusion.models.data import ModelData, Split
from torch import nn

from tests.helpers import assert_close

LEVELS = (0.0, 0.5, 1.0)
PROTOCOL = Protocol(max_steps=20, eval_every=10, patience=2, batch_size=32)


class FirstOnly(nn.Module):
    """Reads X1 alone: ``y = x1 @ w`` (a fixed map to 2 outputs)."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-1.0, 1.0, 6).reshape(3, 2))

    def forward(self, xs):
        return xs[0] @ self.w


def _data(seed: int = 0) -> ModelData:
    rng = np.random.default_rng(seed)
    train = Split.of(
        [rng.normal(2.0, 1.0, (40, 3)), rng.normal(size=(40, 4))], rng.normal(size=(40, 2))
    )
    test = Split.of(
        [rng.normal(2.0, 1.0, (30, 3)), rng.normal(size=(30, 4))], rng.normal(size=(30, 2))
    )
    corrupted = functools.partial(corrupted_split, test, seed=7)
    return ModelData(train=train, test=test, corrupted_test=corrupted)


def _mse(model: nn.Module, inputs, target) -> float:
    with torch.no_grad():
        out = model([torch.as_tensor(x, dtype=torch.float32) for x in inputs])
    return float(((out - torch.as_tensor(target, dtype=torch.float32)) ** 2).mean())


def test_a_model_of_x1_alone_sees_x2_untouched_and_x1s_own_noise() -> None:
    data, model = _data(), FirstOnly()
    (row,) = evaluate_modalities([model], [data], LEVELS, "regression")
    assert list(row) == modality_columns("mse", 2, LEVELS)
    clean = _mse(model, data.test.inputs, data.test.target)
    for level in LEVELS:
        both = data.corrupted_test(level)  # both modalities: X2's noise does not matter here
        assert row[f"mse_x1_noise_{level:g}"] == pytest.approx(
            _mse(model, both.inputs, both.target), rel=1e-6
        )
        assert row[f"mse_x2_noise_{level:g}"] == pytest.approx(clean, rel=1e-6)
    assert row["mse_x1_noise_1"] > row["mse_x1_noise_0"] == pytest.approx(clean, rel=1e-6)
    assert (
        row["mse_x2_missing_zero"] == row["mse_x2_missing_mean"] == pytest.approx(clean, rel=1e-6)
    )


def test_missing_fills_are_zeros_and_the_training_mean() -> None:
    data, model = _data(), FirstOnly()
    (row,) = evaluate_modalities([model], [data], (), "regression")
    assert set(row) == {f"mse_x{m}_missing_{f}" for m in (1, 2) for f in ("zero", "mean")}
    x1, x2 = data.test.inputs
    zeros = _mse(model, [torch.zeros_like(x1), x2], data.test.target)
    mean = data.train.inputs[0].double().mean(0).float().expand_as(x1)
    means = _mse(model, [mean, x2], data.test.target)
    assert row["mse_x1_missing_zero"] == pytest.approx(zeros, rel=1e-6)
    assert row["mse_x1_missing_mean"] == pytest.approx(means, rel=1e-6)
    assert row["mse_x1_missing_zero"] != pytest.approx(row["mse_x1_missing_mean"])  # mean 2, not 0


def test_a_diverged_model_gets_nan() -> None:
    (row,) = evaluate_modalities([None], [_data()], LEVELS, "regression")
    assert len(row) == len(modality_columns("mse", 2, LEVELS))
    assert all(np.isnan(v) for v in row.values())


def _study(**changes) -> Study:
    study = Study(
        name="alone", task=LatentTask(n_train=64, n_val=32, n_test=48), designs=("late", "pro"),
        params={"width": 4}, grid={"eta": [0.0, 2.0]}, protocol=PROTOCOL, trials=2,
        noise_levels=LEVELS, per_modality=True,
    )  # fmt: skip
    return study.with_(**changes)


def test_a_study_gets_the_columns_and_keeps_the_others() -> None:
    alone = run_study(_study(), progress=False)
    plain = run_study(_study(per_modality=False), progress=False)
    new = modality_columns("mse", 2, LEVELS)
    after = list(plain.columns).index("mse_noise_1") + 1  # after the both-modality noise
    assert list(alone.columns) == [*plain.columns[:after], *new, *plain.columns[after:]]
    assert alone["config"][0] != plain["config"][0]  # two configurations, never mixed
    for column in plain.columns.drop("config"):
        np.testing.assert_array_equal(alone[column].to_numpy(), plain[column].to_numpy())
    for m in (1, 2):  # at noise 0, the clean test MSE (the model's own forward, float32)
        assert_close(alone[f"mse_x{m}_noise_0"].to_numpy(), alone["test_mse"].to_numpy(),
                     dtype="float32")  # fmt: skip
    standardised = alone[["mse_x1_missing_zero", "mse_x1_missing_mean"]].to_numpy()
    assert_close(standardised[:, 0], standardised[:, 1], dtype="float32")  # training mean ~ 0


def test_a_classification_study_gets_accuracy_columns() -> None:
    task = LatticeTask(n_train=64, n_val=32, n_test=64, D=4, embed_dim=4)
    study = Study(
        name="alone-acc", task=task, designs=("late",), params={"width": 4, "depth": 1},
        protocol=PROTOCOL, trials=1, per_modality=True,
    )  # fmt: skip
    table = run_study(study, progress=False)
    values = table[modality_columns("accuracy", 2, ())].to_numpy()
    assert ((values >= 0) & (values <= 1)).all()


def test_per_modality_round_trips_and_bad_values_are_named(tmp_path: Path) -> None:
    assert load_study(save_study(_study(), tmp_path / "s.toml")).per_modality is True
    assert (
        "per_modality"
        not in (save_study(_study(per_modality=False), tmp_path / "p.toml")).read_text()
    )
    with pytest.raises(ValueError, match="per_modality must be True or False"):
        _study(per_modality="yes")
