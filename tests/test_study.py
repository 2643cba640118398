"""The study engine (experiments/): a Study as data, its grid, seeds, designs and table.

Checked: grid crossing order and named settings; which axes enter the data seed and
the model seed (designs of a cell are paired, data shared across non-task axes);
late-wide's width is the smallest that reaches pro-fusion's parameter count; every
bad field is a ValueError naming it; a user's design that is not built from the
package's layers trains through the vmap path and equals the same model trained
alone; a table kept in memory equals one written to disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from progfusion.experiments import (
    LatentTask,
    LatticeTask,
    Protocol,
    Study,
    parameter_count,
    run_study,
)
from progfusion.experiments import designs as designs_module
from progfusion.experiments.designs import resolve_reference
from progfusion.experiments.jobs import study_jobs
from progfusion.experiments.seeds import derive_seed
from progfusion.models.training import stack_path
from torch import nn

from tests.helpers import assert_close, global_rng_untouched
from tests.runs import counting_training

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
TINY_TASK = LatentTask(n_train=96, n_val=32, n_test=64)
TINY_PROTOCOL = Protocol(max_steps=40, eval_every=20, patience=2, batch_size=32)


def _study(**changes) -> Study:
    base = Study(
        name="t",
        task=TINY_TASK,
        designs=("late", "pro"),
        params={"width": 4},
        grid={"eta": [0.0, 2.0], "R": [1, 2]},
        protocol=TINY_PROTOCOL,
        trials=2,
    )
    return base.with_(**changes)


# --- the grid and the jobs ----------------------------------------------------------------


def test_cells_cross_the_axes_in_order_first_axis_slowest() -> None:
    study = _study(grid={"eta": [0.0, 2.0], "R": [1, 2, 3]})
    assert [c.key for c in study.cells()] == [(e, r) for e in (0.0, 2.0) for r in (1, 2, 3)]
    assert study.cells()[4].params == {"width": 4, "eta": 2.0, "R": 2}


def test_numpy_grid_values_give_the_seeds_of_python_values() -> None:
    plain = study_jobs(_study(grid={"eta": [0.0, 2.0]}))
    arrays = study_jobs(
        _study(grid={"eta": np.linspace(0.0, 2.0, 2)}, params={"width": np.int64(4)})
    )
    assert [j.row() for j in plain] == [j.row() for j in arrays]


def test_named_settings_give_one_column_for_the_setting_and_one_per_parameter() -> None:
    study = _study(grid={"panel": {"a": {"R": 1, "p": 4}, "b": {"R": 3, "p": 8}}})
    cells = study.cells()
    assert [c.key for c in cells] == [("a",), ("b",)]
    assert dict(cells[1].columns) == {"panel": "b", "R": 3, "p": 8}
    rows = [job.row() for job in study_jobs(study)]
    assert {(r["panel"], r["R"], r["p"]) for r in rows} == {("a", 1, 4), ("b", 3, 8)}


def test_jobs_run_cells_then_trials_then_designs_with_readable_ids() -> None:
    jobs = study_jobs(_study())
    assert len(jobs) == 4 * 2 * 2
    assert [j.job_id for j in jobs[:4]] == [
        "t|eta=0|R=1|design=late|trial=0",
        "t|eta=0|R=1|design=pro|trial=0",
        "t|eta=0|R=1|design=late|trial=1",
        "t|eta=0|R=1|design=pro|trial=1",
    ]


def test_designs_of_a_cell_share_data_and_model_seed() -> None:
    jobs = study_jobs(_study())
    for a, b in zip(jobs[0::2], jobs[1::2], strict=True):
        assert (a.row()["design"], b.row()["design"]) == ("late", "pro")
        assert a.seed == b.seed and a.data == b.data


def test_data_seed_depends_on_task_axes_only_and_model_seed_on_every_axis() -> None:
    rows = pd.DataFrame([job.row() for job in study_jobs(_study())])
    per = rows.groupby(["eta", "trial"])["data_seed"].nunique()
    assert (per == 1).all()  # R is not a task axis: every R sees the same data
    assert rows.groupby(["eta", "R", "trial"])["seed"].nunique().eq(1).all()
    assert rows["seed"].nunique() == 4 * 2  # one per (cell, trial)
    assert rows["data_seed"].nunique() == 2 * 2  # one per (eta, trial)
    # the documented derivation, and independence from the trial count
    eta, R, trial = 2.0, 2, 1
    row = rows[(rows["eta"] == eta) & (rows["R"] == R) & (rows["trial"] == trial)].iloc[0]
    assert row["data_seed"] == derive_seed(0, "t-data", eta, trial)
    assert row["seed"] == derive_seed(0, "t-model", eta, R, trial)
    more = pd.DataFrame([job.row() for job in study_jobs(_study(trials=3))])
    pd.testing.assert_frame_equal(more[more["trial"] < 2].reset_index(drop=True), rows)


def test_rows_carry_every_parameter_and_the_parameter_count() -> None:
    row = study_jobs(_study())[1].row()
    for name in ("n_train", "eta", "sigma2", "dz", "standardize", "width", "R", "lr"):
        assert name in row
    assert row["protocol"] == "early-stopping" and row["max_steps"] == 40
    built = designs_module.pro((16, 16), 1, width=4, R=1)
    assert row["n_params"] == sum(p.numel() for p in built.parameters())


def test_building_jobs_leaves_global_random_state_alone() -> None:
    with global_rng_untouched():
        study_jobs(_study(designs=("late", "pro", "late-wide")))


# --- late-wide --------------------------------------------------------------------------


@pytest.mark.parametrize("width", [2, 8, 32])
@pytest.mark.parametrize("R", [2, 3])
def test_late_wide_is_the_narrowest_late_model_with_pro_fusions_parameter_count(width, R):
    dims, params = (16, 16), {"depth": 2, "head_hidden": 0, "R": R, "p": 16, "context": "concat"}
    target = parameter_count(designs_module.pro, dims, 1, width=width, **params)
    wide = designs_module.late_wide_width(dims, 1, width=width, **params)
    late = designs_module.late
    assert parameter_count(late, dims, 1, width=wide, depth=2) >= target
    assert parameter_count(late, dims, 1, width=wide - 1, depth=2) < target
    model = designs_module.late_wide(dims, 1, width=width, **params)
    assert sum(p.numel() for p in model.parameters()) >= target


@pytest.mark.parametrize("width", [2, 8])
def test_iterative_wide_is_the_narrowest_iterative_model_with_pro_fusions_parameter_count(width):
    dims, params = (16, 16), {"depth": 2, "head_hidden": 0, "R": 2, "p": 16, "context": "concat"}
    target = parameter_count(designs_module.pro, dims, 1, width=width, **params)
    iterative = designs_module.iterative
    assert parameter_count(iterative, dims, 1, width=width, **params) < target  # narrower
    model = designs_module.iterative_wide(dims, 1, width=width, **params)
    wide = designs_module.matched_width(iterative, dims, 1, width=width, **params)
    assert parameter_count(iterative, dims, 1, width=wide, **params) >= target
    assert parameter_count(iterative, dims, 1, width=wide - 1, **params) < target
    assert sum(p.numel() for p in model.parameters()) == parameter_count(
        iterative, dims, 1, width=wide, **params
    )


# --- validation ---------------------------------------------------------------------------


def _needs_scale(input_dims, output_dim, *, scale):
    return nn.Linear(sum(input_dims), output_dim)


@pytest.mark.parametrize(
    ("changes", "names"),
    [
        ({"designs": ("late", "nope")}, "unknown design 'nope'"),
        ({"designs": (_needs_scale,), "params": {}, "grid": {}}, "needs parameter 'scale'"),
        ({"trials": 0}, "trials"),
        ({"seed": -1}, "seed"),
        ({"grid": {"widht": [4, 8]}}, "'widht' is not a parameter"),
        ({"grid": {"R": []}}, "grid.R"),
        ({"params": {"n_train": 5}}, "params.n_train is a task parameter"),
        ({"grid": {"seed": [1, 2]}}, "'seed' is a column the engine writes"),
        ({"noise_levels": (0.5, 0.1)}, "noise_levels"),
        ({"designs": ("late", "late")}, "distinct names"),
        ({"task": LatentTask}, "task must be a task instance"),
        ({"grid": {"lr": [-1.0]}}, "lr"),
    ],
)
def test_bad_fields_are_value_errors_naming_the_field(changes, names) -> None:
    with pytest.raises(ValueError, match=names):
        _study(**changes)


@pytest.mark.parametrize(
    ("task", "kwargs", "names"),
    [
        (LatentTask, {"n_train": -4}, r"task.n_train must be an integer >= 1"),
        (LatticeTask, {"n_val": -1}, r"task.n_val must be an integer >= 0"),
        (LatentTask, {"sigma2": -1.0}, "sigma2"),
        (LatticeTask, {"D": 0}, "D"),
        (Protocol, {"name": "forever"}, "protocol.name must be one of early-stopping"),
        (Protocol, {"batch_size": 0}, "protocol: batch_size"),
    ],
)
def test_bad_task_or_protocol_parameters_are_refused_on_construction(task, kwargs, names) -> None:
    with pytest.raises(ValueError, match=names):
        task(**kwargs)


# --- training -----------------------------------------------------------------------------


def test_a_table_kept_in_memory_equals_the_one_written_to_disk(tmp_path: Path) -> None:
    study = _study(grid={"R": [1, 2]}, trials=1)
    in_memory = run_study(study, progress=False)
    on_disk = run_study(study, tmp_path, progress=False)
    pd.testing.assert_frame_equal(in_memory, on_disk, check_exact=True)
    assert (tmp_path / "t.csv").is_file()
    assert (in_memory["status"] == "ok").all()
    # R = 1 is the base model: pro equals late exactly (c = 0)
    first = in_memory[in_memory["R"] == 1]
    assert first["test_mse"].nunique() == 1


def test_a_user_design_trains_through_vmap_and_equals_the_model_trained_alone() -> None:
    gated_pro = resolve_reference(f"{EXAMPLES / 'gated_fusion.py'}:gated_pro")
    assert stack_path(gated_pro((16, 16), 1, width=4, R=2)) == "vmap"
    study = _study(designs=(gated_pro,), grid={"R": [2]}, trials=3)
    with counting_training() as stacks:
        stacked = run_study(study, chunk=3, progress=False)
        alone = run_study(study, chunk=1, progress=False)
    assert stacks == [3, 1, 1, 1]  # one stack of three, then three alone
    assert (stacked["status"] == "ok").all()
    assert_close(stacked["test_mse"].to_numpy(), alone["test_mse"].to_numpy(), dtype="float32")
    assert stacked["test_mse"].nunique() == 3  # three different models, not one repeated


def test_noise_levels_corrupt_any_task_with_its_training_scale() -> None:
    study = Study(
        name="n",
        task=LatticeTask(n_train=64, n_val=32, n_test=64),
        designs=("late",),
        params={"depth": 1, "width": 4},
        protocol=TINY_PROTOCOL,
        trials=1,
        noise_levels=(0.0, 5.0),
    )
    table = run_study(study, progress=False)
    assert table["accuracy_noise_0"].iloc[0] == table["test_accuracy"].iloc[0]
    assert table["accuracy_noise_5"].iloc[0] != table["accuracy_noise_0"].iloc[0]
