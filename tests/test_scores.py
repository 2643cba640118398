"""Extra metrics of a study (issue 24): pure functions checked by hand, columns, comparisons.

The functions on arrays small enough to compute by hand; a study naming ``mae``,
``r2`` and a user callable gets one ``test_<name>`` column each, equal to the metric
of the model's own test predictions (rebuilt from its trained weights), while the
built-in columns stay what they are without extra metrics; ``design_comparison``
compares designs on an extra metric; bad metrics are named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from progfusion.experiments import LatentTask, LatticeTask, Protocol, Study, run_study
from progfusion.experiments.analysis import design_comparison
from progfusion.experiments.scores import macro_f1, mae, r2, rmse
from progfusion.experiments.studyfile import load_study, save_study

from tests.helpers import assert_close

TASK = LatentTask(n_train=64, n_val=32, n_test=48)
PROTOCOL = Protocol(max_steps=20, eval_every=10, patience=2, batch_size=32)


def test_mae_rmse_r2_by_hand() -> None:
    t, p = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 3.0, 3.0, 2.0])
    assert mae(t, p) == pytest.approx(3 / 4)
    assert rmse(t, p) == pytest.approx(np.sqrt(5 / 4))
    assert r2(t, p) == pytest.approx(1 - 5 / 5)  # SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5
    assert r2(t, t) == 1.0
    assert r2(t[:, None].repeat(2, 1), np.stack([p, t], 1)) == pytest.approx((0 + 1) / 2)


def test_r2_of_constant_targets_is_nan_and_shapes_must_match() -> None:
    assert np.isnan(r2(np.ones(3), np.zeros(3)))
    with pytest.raises(ValueError, match="differs from y_true shape"):
        mae(np.ones(3), np.ones((3, 1)))


def test_macro_f1_by_hand() -> None:
    t = np.array([0, 0, 1, 1, 2])
    p = np.array([0, 1, 1, 1, 0])
    # class 0: tp 1, fp 1, fn 1 -> 1/2; class 1: tp 2, fp 1 -> 4/5; class 2: tp 0 -> 0
    assert macro_f1(t, p) == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    logits = np.eye(3)[p] * 5.0
    assert macro_f1(t, logits) == macro_f1(t, p)
    assert macro_f1(t, t) == 1.0


def median_abs(y_true, y_pred) -> float:
    """A user's own metric."""
    return float(np.median(np.abs(y_true - y_pred)))


def _study(**changes) -> Study:
    study = Study(
        name="scores", task=TASK, designs=("late", "pro"), params={"width": 4},
        grid={"eta": [0.0, 2.0]}, protocol=PROTOCOL, trials=2,
        metrics=("mae", "r2", median_abs),
    )  # fmt: skip
    return study.with_(**changes)


@pytest.fixture(scope="module")
def scored():
    return run_study(_study(), progress=False)


def test_each_extra_metric_is_a_column_and_the_rest_is_unchanged(scored) -> None:
    plain = run_study(_study(metrics=()), progress=False)
    assert {"test_mae", "test_r2", "test_median_abs"} <= set(scored.columns)
    assert not {"test_mae", "test_r2"} & set(plain.columns)
    for column in ("test_mse", "steps", "best_step", "val_loss"):
        np.testing.assert_array_equal(scored[column].to_numpy(), plain[column].to_numpy())
    assert (scored["test_mae"] > 0).all() and (scored["test_r2"] < 1).all()


def test_extra_metrics_are_those_of_the_models_own_predictions(scored) -> None:
    """RMSE equals sqrt(test_mse) model by model: the same weights and test split."""
    table = run_study(_study(metrics=("rmse",)), progress=False)
    assert_close(table["test_rmse"].to_numpy() ** 2, table["test_mse"].to_numpy(), dtype="float32")
    assert (scored["test_median_abs"] <= scored["test_mae"] * 1.5).all()


def test_design_comparison_accepts_an_extra_metric(scored) -> None:
    compared = design_comparison(scored, ["eta", "trial"], "mae")
    late = scored.loc[scored["design"] == "late", "test_mae"].mean()
    assert compared.loc[0, "mean"] == pytest.approx(late)
    assert compared.loc[1, "pairs"] == 4
    with pytest.raises(ValueError, match="no test_smape column"):
        design_comparison(scored, ["eta", "trial"], "smape")


def test_a_classification_study_gets_macro_f1() -> None:
    task = LatticeTask(n_train=64, n_val=32, n_test=64, D=4, embed_dim=4)
    study = Study(
        name="f1", task=task, designs=("late",), params={"width": 4, "depth": 1},
        protocol=PROTOCOL, trials=1, metrics=("macro_f1",),
    )  # fmt: skip
    table = run_study(study, progress=False)
    assert 0 <= table.loc[0, "test_macro_f1"] <= 1


@pytest.mark.parametrize(
    ("metrics", "match"),
    [
        (("macro_f1",), "'macro_f1' is for classification, the task is regression"),
        (("smape",), "metrics: expected mae, rmse, r2, macro_f1"),
        (("mse",), "expected"),
        (("mae", "mae"), "distinct names"),
        (("nowhere_module:f",), "cannot import"),
    ],
)
def test_bad_metrics_are_named(metrics, match) -> None:
    with pytest.raises(ValueError, match=match):
        _study(metrics=metrics)


def test_a_builtin_metric_name_cannot_be_an_extra_column() -> None:
    def mse(y_true, y_pred):
        return 0.0

    with pytest.raises(ValueError, match="'mse' cannot name a column"):
        _study(metrics=(mse,))


def test_metrics_round_trip_through_the_study_file(tmp_path: Path) -> None:
    study = _study(metrics=("mae", "r2"))
    assert load_study(save_study(study, tmp_path / "s.toml")).metrics == ("mae", "r2")
