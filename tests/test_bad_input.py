"""Bad input gives one line and exit code 2 before anything is trained (issue 15).

Checked: ``--out`` naming a file or an unwritable folder; an empty, truncated or
unreadable part file (named, with what to do); a malformed or unreachable
``--scheduler`` (within seconds); ``--trials`` beyond the model limit; ``plot`` on
a truncated table, duplicated rows, mixed configurations or a missing column;
``plot`` of ``figure7b.csv`` and ``plot --out`` as a file or a folder; and
``train_stack`` refusing, with a ValueError naming the parameter, a dtype or
device it cannot train on, targets that do not fit the objective and data that
is not ``ModelData``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from progfusion.figures.cli import main
from progfusion.models.data import ModelData, Split
from progfusion.models.protocol import TrainConfig
from progfusion.models.training import train_stack

from tests.runs import no_training, tiny_argv


def _one_line_exit_2(argv: list[str], capsys) -> str:
    with no_training() as calls, pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and calls == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


# --- --out ----------------------------------------------------------------------------------


def test_out_naming_a_file_exits_2(tmp_path: Path, capsys) -> None:
    out = tmp_path / "results"
    out.write_text("mine")
    err = _one_line_exit_2(tiny_argv(out, command=("figure", "7")), capsys)
    assert "is a file" in err and str(out) in err
    assert out.read_text() == "mine"


@pytest.mark.skipif(
    os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root writes anywhere"
)
def test_out_not_writable_exits_2_before_training(tmp_path: Path, capsys) -> None:
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o500)
    try:
        err = _one_line_exit_2(tiny_argv(out, command=("figure", "7")), capsys)
    finally:
        out.chmod(0o700)
    assert "not writable" in err


def test_out_not_writable_is_found_by_the_probe(tmp_path: Path, capsys, monkeypatch) -> None:
    # as root every folder is writable: make the probe's write fail as a read-only disk would
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    err = _one_line_exit_2(tiny_argv(tmp_path / "out", command=("figure", "7")), capsys)
    assert "not writable (Read-only file system)" in err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "is empty"),
        (b"job_id,status,config\nfigure7|eta=0|", "truncated"),
        (b"\xff\xfe\x00", "cannot be read"),
    ],
    ids=["empty", "truncated", "binary"],
)
def test_a_damaged_part_file_is_named_with_what_to_do(
    tiny_run_copy: Path, content, words, capsys
) -> None:
    part = sorted((tiny_run_copy / "figure7.parts").glob("part-*.csv"))[0]
    part.write_bytes(content)
    err = _one_line_exit_2(tiny_argv(tiny_run_copy, command=("figure", "8")), capsys)
    assert part.name in err and words in err and "delete it" in err


# --- --scheduler and sizes --------------------------------------------------------------------


@pytest.mark.parametrize("address", ["notanaddress", "tcp://127.0.0.1:x"])
def test_a_malformed_scheduler_address_exits_2(address, tmp_path: Path, capsys) -> None:
    pytest.importorskip("dask.distributed")
    argv = tiny_argv(tmp_path / "out", "--scheduler", address, command=("figure", "7"))
    err = _one_line_exit_2(argv, capsys)
    assert address in err and "tcp://" in err


def test_an_unreachable_scheduler_exits_2(tmp_path: Path, capsys) -> None:
    pytest.importorskip("dask.distributed")
    argv = tiny_argv(tmp_path / "out", "--scheduler", "tcp://127.0.0.1:1", command=("figure", "7"))
    err = _one_line_exit_2(argv, capsys)
    assert "cannot reach the Dask scheduler" in err


def test_trials_beyond_the_model_limit_exit_2_naming_the_flag(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    err = _one_line_exit_2(
        tiny_argv(out, "--trials", "1000000000", command=("figure", "7")), capsys
    )
    assert "--trials 1000000000" in err and "10,000,000" in err
    assert not out.exists()


# --- plot -------------------------------------------------------------------------------------


def _plot_exit_2(table: Path, capsys) -> str:
    return _one_line_exit_2(["plot", str(table)], capsys)


def test_plot_refuses_a_truncated_table(tiny_run: Path, tmp_path: Path, capsys) -> None:
    text = (tiny_run / "figure4.csv").read_text()
    (tmp_path / "figure4.csv").write_text(text[: len(text) - 40])  # cut mid-row
    assert "truncated" in _plot_exit_2(tmp_path / "figure4.csv", capsys)


def test_plot_refuses_duplicated_rows(tiny_run: Path, tmp_path: Path, capsys) -> None:
    table = pd.read_csv(tiny_run / "figure4.csv")
    pd.concat([table, table.iloc[:3]]).to_csv(tmp_path / "figure4.csv", index=False)
    assert "3 duplicated rows" in _plot_exit_2(tmp_path / "figure4.csv", capsys)


def test_plot_refuses_a_table_mixing_seeds(tiny_run: Path, tmp_path: Path, capsys) -> None:
    table = pd.read_csv(tiny_run / "figure7.csv")
    table.loc[table.index[-1], "config"] = "another-run"  # a row of another root seed
    table.to_csv(tmp_path / "figure7.csv", index=False)
    assert "mixes 2 configurations" in _plot_exit_2(tmp_path / "figure7.csv", capsys)


def test_plot_refuses_a_table_missing_a_column(tiny_run: Path, tmp_path: Path, capsys) -> None:
    pd.read_csv(tiny_run / "figure4.csv").drop(columns="panel").to_csv(
        tmp_path / "figure4.csv", index=False
    )
    assert "lacks the column 'panel'" in _plot_exit_2(tmp_path / "figure4.csv", capsys)


def test_plot_redraws_figure7b_and_takes_a_file_name_or_a_folder(
    tiny_run: Path, tmp_path: Path
) -> None:
    table = shutil.copy(tiny_run / "figure7b.csv", tmp_path / "figure7b.csv")
    assert main(["plot", str(table)]) == 0  # beside the table: a folder
    assert (tmp_path / "figure7b.png").is_file() and (tmp_path / "figure7b.pdf").is_file()
    assert main(["plot", str(tiny_run / "figure8.csv"), "--out", str(tmp_path / "my.svg")]) == 0
    assert (tmp_path / "my.svg").is_file() and b"<svg" in (tmp_path / "my.svg").read_bytes()
    assert main(["plot", str(tiny_run / "figure8.csv"), "--out", str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")
    assert main(["plot", str(tiny_run / "figure8.csv"), "--out", str(tmp_path / "dir")]) == 0
    assert sorted(p.name for p in (tmp_path / "dir").iterdir()) == ["figure8.pdf", "figure8.png"]


# --- train_stack ------------------------------------------------------------------------------


def _data(target: np.ndarray) -> ModelData:
    rng = np.random.default_rng(0)
    split = Split.of([rng.standard_normal((8, 3)).astype(np.float32)], target)
    return ModelData(train=split, test=split)


def _factory():
    return torch.nn.Sequential()


CONFIG = TrainConfig(objective="regression", name="fixed-steps", max_steps=1, batch_size=4)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"dtype": torch.float16, "device": "cpu"}, "dtype torch.float16 cannot train on cpu"),
        ({"dtype": torch.int64}, "dtype torch.int64"),
        ({"device": "tpu"}, "device must be"),
    ],
)
def test_train_stack_refuses_a_dtype_or_device_it_cannot_train_in(kwargs, words) -> None:
    data = _data(np.zeros((8, 1), np.float32))
    with pytest.raises(ValueError, match=words):
        train_stack(_factory, [0], [data], CONFIG, **kwargs)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is available here")
def test_train_stack_refuses_cuda_where_there_is_none() -> None:
    with pytest.raises(ValueError, match="device 'cuda': no CUDA GPU"):
        train_stack(_factory, [0], [_data(np.zeros((8, 1), np.float32))], CONFIG, device="cuda")


@pytest.mark.parametrize(
    ("objective", "target", "words"),
    [
        ("classification", np.zeros((8, 1), np.float32), "integer class labels"),
        ("classification", -np.ones(8, np.int64), "integer class labels"),
        ("regression", np.zeros(8, np.int64), r"\(n, k\) floats"),
    ],
)
def test_train_stack_refuses_targets_that_do_not_fit_the_objective(
    objective, target, words
) -> None:
    config = TrainConfig(objective=objective, name="fixed-steps", max_steps=1, batch_size=4)
    with pytest.raises(ValueError, match=f"data: model 0's train target must be .*{words}"):
        train_stack(_factory, [0], [_data(target)], config)


def test_train_stack_refuses_labels_beyond_the_models_classes() -> None:
    from progfusion.models import Concat, LateFusion, Linear

    def three_classes():
        return LateFusion([Linear(3, 4)], Concat(), Linear(4, 3))

    config = TrainConfig(objective="classification", name="fixed-steps", max_steps=1, batch_size=4)
    labels = np.array([0, 1, 2, 2, 1, 0, 1, 2])
    train_stack(three_classes, [0], [_data(labels)], config)  # labels 0-2: trains
    with pytest.raises(ValueError, match="model 1's train labels must be below the model's 3 "):
        train_stack(three_classes, [0, 1], [_data(labels), _data(labels + 1)], config)


def test_train_stack_refuses_data_that_is_not_model_data() -> None:
    with pytest.raises(ValueError, match="data: model 0's data must be a ModelData, got ndarray"):
        train_stack(_factory, [0], [np.zeros((8, 3))], CONFIG)


def test_split_takes_numpy_arrays_and_models_refuse_them_by_name() -> None:
    from progfusion.models import Concat, LateFusion, Linear

    x = np.ones((4, 3), np.float32)
    split = Split((x,), np.zeros((4, 1), np.float32))  # built directly: numpy becomes tensors
    assert isinstance(split.inputs[0], torch.Tensor) and isinstance(split.target, torch.Tensor)
    late = LateFusion([Linear(3, 2)], Concat(), Linear(2, 1))
    with pytest.raises(ValueError, match="inputs: modality 0 must be a torch.Tensor, got ndarray"):
        late([x])
