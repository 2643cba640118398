"""Studies fail loudly (issue 24): failed models, bad designs, foreign folders, run records.

Checked: a forward that raises on every model of one design is a ``StudyError``
naming the design, its count, first cell and trial and the error (and rows with
``errors="record"``); a factory that raises or returns no module, a model with the
wrong output shape, a task that cannot build and CUDA without a GPU are refused
before anything is written; the CLI writes the table and exits 1 when models failed,
and its summary lists the design with no finished model; ``run_study`` claims its
folder like the CLI (another configuration refused, ``force`` discards it) and
writes ``run.json`` with the study's protocol and seed and the study file beside
the table, so ``progfusion plot`` draws it; an empty ``out`` is refused.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from progfusion.experiments import LatentTask, Protocol, Study, StudyError, run_study
from progfusion.experiments.designs import late
from progfusion.experiments.folder import FolderError
from progfusion.figures.cli import main
from torch import nn

TASK = LatentTask(n_train=64, n_val=32, n_test=32)
PROTOCOL = Protocol(max_steps=20, eval_every=10, patience=2, batch_size=32)


class _Broken(nn.Module):
    """A model whose forward raises after a few calls (the checks on one batch pass)."""

    calls = 0

    def __init__(self, input_dims, output_dim) -> None:
        super().__init__()
        self.inner = late(input_dims, output_dim, width=4)

    def forward(self, xs):
        type(self).calls += 1
        if type(self).calls > 1:
            raise RuntimeError("boom in forward")
        return self.inner(xs)


def broken(input_dims, output_dim, *, width=4):
    """A design that passes the checks and fails in training."""
    _Broken.calls = 0
    return _Broken(input_dims, output_dim)


def _study(**changes) -> Study:
    study = Study(
        name="fail", task=TASK, designs=("late", broken), params={"width": 4},
        grid={"eta": [0.0, 1.0]}, protocol=PROTOCOL, trials=2,
    )  # fmt: skip
    return study.with_(**changes)


# --- failed models -------------------------------------------------------------------------


def test_models_failing_in_training_raise_a_study_error_naming_design_cell_and_error() -> None:
    with pytest.raises(StudyError) as caught:
        run_study(_study(), progress=False)
    message = str(caught.value)
    assert "4 of 8 models failed" in message
    assert "'broken': 4 of 4 failed, the first at eta=0.0, trial 0" in message
    assert "boom in forward" in message
    assert "late" not in message.split("\n", 1)[1]  # late fusion did not fail
    table = caught.value.table
    assert (table.loc[table["design"] == "late", "status"] == "ok").all()
    assert [f.design for f in caught.value.failures] == ["broken"]


def test_errors_record_keeps_failed_models_as_rows() -> None:
    table = run_study(_study(), progress=False, errors="record")
    failed = table[table["status"] == "failed"]
    assert list(failed["design"].unique()) == ["broken"] and len(failed) == 4
    assert failed["error"].str.contains("boom in forward").all()


def test_errors_must_be_raise_or_record() -> None:
    with pytest.raises(ValueError, match="errors must be one of raise, record"):
        run_study(_study(), errors="ignore")


# --- refused before anything is written ----------------------------------------------------


def _raising(input_dims, output_dim, *, width=4):
    raise KeyError("no such layer")


def _not_a_module(input_dims, output_dim, *, width=4):
    return "a string"


def _three_outputs(input_dims, output_dim, *, width=4):
    return late(input_dims, 3, width=width)


def _no_parameters(input_dims, output_dim, *, width=4):
    return nn.Identity()


@pytest.mark.parametrize(
    ("design", "error", "match"),
    [
        (_raising, ValueError, "design '_raising' .*its factory raised KeyError: 'no such layer'"),
        (_not_a_module, TypeError, "must return an nn.Module, got str"),
        (_three_outputs, ValueError, r"output has shape \(4, 3\), expected \(4, 1\)"),
        (_no_parameters, ValueError, "no trainable parameter"),
    ],
)
def test_a_bad_design_is_refused_before_the_folder_is_touched(
    tmp_path: Path, design, error, match
) -> None:
    out = tmp_path / "out"
    with pytest.raises(error, match=match):
        run_study(_study(designs=("late", design)), out, progress=False)
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_a_gpu_is_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no CUDA GPU is available here"):
        run_study(_study(designs=("late",)), tmp_path / "out", device="cuda")
    assert not (tmp_path / "out").exists()


def test_an_empty_out_is_refused() -> None:
    with pytest.raises(ValueError, match="out must name a folder"):
        run_study(_study(designs=("late",)), "")


# --- the folder rule and the run record ----------------------------------------------------


def test_run_study_refuses_a_folder_of_another_configuration_and_force_discards(
    tmp_path: Path,
) -> None:
    study = _study(designs=("late",), trials=1)
    first = run_study(study, tmp_path, progress=False)
    other = study.with_(params={"width": 5})
    with pytest.raises(FolderError, match="--force to discard"):
        run_study(other, tmp_path, progress=False)
    assert pd.read_csv(tmp_path / "fail.csv")["width"].eq(4).all()  # untouched
    second = run_study(other, tmp_path, progress=False, force=True)
    assert second["width"].eq(5).all() and len(second) == len(first)
    assert pd.read_csv(tmp_path / "fail.csv")["width"].eq(5).all()


def test_run_json_records_the_studys_protocol_and_seed(tmp_path: Path) -> None:
    study = _study(
        designs=("late",),
        trials=1,
        seed=7,
        protocol=Protocol(name="fixed-steps", max_steps=20, batch_size=32),
    )
    run_study(study, tmp_path, progress=False)
    (entry,) = json.loads((tmp_path / "run.json").read_text())["runs"]
    assert entry["protocol"] == "fixed-steps" and entry["root_seed"] == 7
    assert set(entry["wall_seconds"]) == {"fail"}


def test_a_folder_written_from_python_is_drawn_by_plot(tmp_path: Path, capsys) -> None:
    from progfusion.experiments.designs import pro

    study = _study(designs=("late", "pro"), trials=1)
    assert pro is not None
    run_study(study, tmp_path, progress=False)
    assert (tmp_path / "fail.toml").is_file()
    assert main(["plot", str(tmp_path / "fail.csv")]) == 0
    assert (tmp_path / "fail.png").is_file()


# --- the command line ------------------------------------------------------------------------


STUDY_FILE = """
name = "clifail"
designs = ["late", "{module}:broken"]
trials = 2

[task]
name = "latent"
n_train = 64
n_val = 32
n_test = 32

[params]
width = 4

[protocol]
batch_size = 32
max_steps = 20
eval_every = 10
"""


def test_the_cli_writes_the_table_and_exits_1_when_models_failed(tmp_path: Path, capsys) -> None:
    study = tmp_path / "s.toml"
    study.write_text(STUDY_FILE.format(module=Path(__file__).resolve()))
    out = tmp_path / "out"
    assert main(["study", str(study), "--out", str(out), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert "2 of 4 models failed: see the error column of the table in" in captured.err
    assert "broken       no model finished; 2 failed, 0 diverged" in captured.out
    assert "boom in forward" in captured.out
    assert len(pd.read_csv(out / "clifail.csv")) == 4


def test_the_cli_refuses_a_bad_design_in_one_line_before_writing(tmp_path: Path, capsys) -> None:
    study = tmp_path / "s.toml"
    text = STUDY_FILE.format(module=Path(__file__).resolve()).replace(":broken", ":_not_a_module")
    study.write_text(text)
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exited:
        main(["study", str(study), "--out", str(out), "--quiet"])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "must return an nn.Module" in err
    assert not out.exists()


def test_the_cli_refuses_an_empty_out(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["figure", "7", "--preset", "tiny", "--out", ""])
    assert exited.value.code == 2
    assert "expected a folder name" in capsys.readouterr().err


# --- designs as users write them -------------------------------------------------------------


def film(input_dims, output_dim, *, width=8, depth=2):
    """A user design with its own width."""
    return late(input_dims, output_dim, width=width, depth=depth)


def test_a_partial_bound_width_clashing_with_the_study_is_an_error_naming_both() -> None:
    with pytest.raises(
        ValueError, match=r"'film' binds width=16 itself, but the study sets width=4"
    ):
        _study(designs=("late", functools.partial(film, width=16)))


def test_a_partial_bound_width_is_kept_and_recorded() -> None:
    study = _study(designs=("late", functools.partial(film, depth=1)), trials=1)
    table = run_study(study, progress=False)
    row = table[table["design"] == "film"].iloc[0]
    assert row["depth"] == 1
    assert row["n_params"] == sum(
        p.numel() for p in film((16, 16), 1, width=4, depth=1).parameters()
    )


def test_design_params_give_one_design_its_own_width_and_learning_rate() -> None:
    study = _study(
        designs=("late", "pro"), trials=1, design_params={"pro": {"width": 6, "lr": 3e-3}}
    )
    table = run_study(study, progress=False)
    late_rows, pro_rows = (table[table["design"] == d] for d in ("late", "pro"))
    assert late_rows["width"].eq(4).all() and late_rows["lr"].eq(1e-3).all()
    assert pro_rows["width"].eq(6).all() and pro_rows["lr"].eq(3e-3).all()
    assert (pro_rows["n_params"].to_numpy() > late_rows["n_params"].to_numpy()).all()


def test_design_params_change_only_their_design_and_only_its_results() -> None:
    base = run_study(_study(designs=("late", "pro"), trials=1), progress=False)
    tuned = run_study(
        _study(designs=("late", "pro"), trials=1, design_params={"pro": {"lr": 3e-3}}),
        progress=False,
    )
    cols = ["test_mse", "steps", "seed", "data_seed"]
    late_rows = [t[t["design"] == "late"][cols].reset_index(drop=True) for t in (base, tuned)]
    pd.testing.assert_frame_equal(*late_rows)
    pro_rows = [t[t["design"] == "pro"]["test_mse"].to_numpy() for t in (base, tuned)]
    assert (pro_rows[0] != pro_rows[1]).all()


@pytest.mark.parametrize(
    ("design_params", "match"),
    [
        ({"nope": {"R": 2}}, "design_params.nope: no such design"),
        ({"pro": {"eta": 2.0}}, "design_params.pro.eta is a task parameter"),
        ({"pro": {"colour": 1}}, "design_params.pro.colour is neither a parameter"),
        ({"late": {"R": 2}}, "design_params.late.R is neither a parameter of design 'late'"),
        ({"pro": {"protocol": "fixed-steps"}}, "design_params.pro.protocol: not a parameter"),
        ({"pro": {"lr": -1.0}}, "design_params.pro: "),
    ],
)
def test_bad_design_params_are_named(design_params, match) -> None:
    with pytest.raises(ValueError, match=match):
        _study(designs=("late", "pro"), design_params=design_params)


def test_a_design_param_that_is_also_a_grid_axis_is_refused() -> None:
    with pytest.raises(ValueError, match="design_params.pro.R is also a grid axis"):
        _study(designs=("late", "pro"), grid={"R": [1, 2]}, design_params={"pro": {"R": 3}})


def test_design_params_round_trip_through_the_study_file(tmp_path: Path) -> None:
    from progfusion.experiments import load_study, save_study

    study = _study(designs=("late", "pro"), design_params={"pro": {"R": 3, "lr": 3e-3}})
    loaded = load_study(save_study(study.with_(designs=("late", "pro")), tmp_path / "s.toml"))
    assert dict(loaded.design_params["pro"]) == {"R": 3, "lr": 3e-3}


def test_a_batch_larger_than_the_training_split_is_refused_up_front(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"protocol.batch_size \(128\) of design 'late' exceeds"):
        run_study(_study(protocol=Protocol(max_steps=20)), tmp_path / "out")
    assert not (tmp_path / "out").exists()
