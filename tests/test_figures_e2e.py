"""Figures 4, 7 and 8 end to end on the ``tiny`` preset, through the command line.

Checked: every output file exists (PNG, PDF, tables, ``run.json``); the PNGs are
valid images under 300 KB; each table has its columns, one row per trained model
in run order, and values in range; ``run.json`` holds the config, versions,
device, root seed and wall times; the same seed gives the same tables (byte for
byte: no column holds a timing), another seed other tables, and two worker
processes the tables of one; no figure is left open and no temporary file is left.
The runs of seed 0, of seed 1 and of two workers are the session's
(``tests/conftest.py``).
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from progfusion.experiments.jobs import study_jobs
from progfusion.figures import fig4
from progfusion.figures.cli import main
from progfusion.figures.presets import get_preset

from tests.helpers import assert_close
from tests.runs import TABLES, TinyRun, read_table, tiny_argv

TINY = get_preset("tiny")
STUDIES = TINY.studies()  # root seed 0, early stopping: the session's tiny run


def _assert_same_tables(a: Path, b: Path, names=TABLES) -> None:
    for name in names:  # byte for byte, as the README promises
        assert (a / f"{name}.csv").read_bytes() == (b / f"{name}.csv").read_bytes(), name


@pytest.fixture
def run_a(tiny_run: Path) -> Path:
    """The three figures, tiny preset, root seed 0, in this process (the session's run)."""
    return tiny_run


# --- files ------------------------------------------------------------------------------


def test_every_output_file_is_written(run_a: Path) -> None:
    for n in ("4", "7", "8"):
        for ext in ("png", "pdf", "csv"):
            assert (run_a / f"figure{n}.{ext}").is_file(), f"figure{n}.{ext}"
    assert (run_a / "figure7b.csv").is_file()
    assert (run_a / "run.json").is_file()
    # no temporary file is left anywhere (they start with '.')
    assert [p for p in run_a.rglob(".*")] == []


def test_images_are_valid_and_small(run_a: Path) -> None:
    for n in ("4", "7", "8"):
        png = run_a / f"figure{n}.png"
        image = mpimg.imread(png)
        assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
        assert png.stat().st_size < 300_000
        assert (run_a / f"figure{n}.pdf").read_bytes().startswith(b"%PDF")


# --- tables -----------------------------------------------------------------------------


def _check_common(table: pd.DataFrame, jobs) -> None:
    for column in ("job_id", "figure", "design", "trial", "seed", "status", "steps"):
        assert column in table.columns, column
    # one row per trained model, in run order
    assert list(table["job_id"]) == [j.job_id for j in jobs]
    assert list(table["seed"]) == [j.seed for j in jobs]
    assert set(table["status"]) <= {"ok", "diverged"}
    assert table["config"].nunique() == 1


def test_figure4_table(run_a: Path) -> None:
    s = STUDIES["figure4"]
    widths = s.grid["width"]
    table = pd.read_csv(run_a / "figure4.csv")
    _check_common(table, study_jobs(s))
    assert len(table) == s.trials * len(fig4.PANELS) * len(widths) * len(s.designs)
    for column in ("panel", "width", "head_hidden", "majority", "test_accuracy"):
        assert column in table.columns, column
    assert not [c for c in table.columns if "seconds" in c]  # timings are in run.json
    assert set(table["figure"]) == {4}
    assert set(table["design"]) == set(s.designs)
    assert set(table["panel"]) == set(fig4.PANELS)
    assert set(table["width"]) == set(widths)
    assert set(table["trial"]) == set(range(s.trials))
    ok = table[table["status"] == "ok"]
    assert ok["test_accuracy"].between(0, 1).all()
    assert table["majority"].between(0, 1).all()
    max_steps = s.protocol.max_steps
    assert (table["steps"] <= max_steps).all() and (table["best_step"] <= table["steps"]).all()
    # the task, design and training parameters of every model are columns too
    assert (table["n_train"] == s.task.n_train).all()
    assert (table["depth"] == s.params["depth"]).all()
    assert (table["max_steps"] == max_steps).all()


def test_figure7_table(run_a: Path) -> None:
    g = STUDIES["figure7"]
    etas, sigma2s = g.grid["eta"], g.grid["sigma2"]
    table = pd.read_csv(run_a / "figure7.csv")
    _check_common(table, study_jobs(g))
    assert len(table) == g.trials * len(etas) * len(sigma2s) * 2  # late and pro
    noise = [f"mse_noise_{level:g}" for level in g.noise_levels]
    for column in ("eta", "sigma2", "test_mse", "n_params", *noise):
        assert column in table.columns, column
    assert set(table["eta"]) == set(etas) and set(table["sigma2"]) == set(sigma2s)
    assert set(table["design"]) == {"late", "pro"}
    # pro-fusion adds its back-projection to the late model's parameters
    n_params = table.groupby("design")["n_params"].unique()
    assert len(n_params["late"]) == len(n_params["pro"]) == 1
    assert n_params["pro"][0] > n_params["late"][0] > 0
    ok = table[table["status"] == "ok"]
    assert (ok[["test_mse", *noise]] >= 0).all().all()
    # level 0 is the clean test split
    assert_close(ok["mse_noise_0"].to_numpy(), ok["test_mse"].to_numpy(), dtype="float32")


def test_figure7b_table(run_a: Path) -> None:
    st = STUDIES["figure7b"]
    record_steps = st.protocol.record_steps
    table = pd.read_csv(run_a / "figure7b.csv")
    _check_common(table, study_jobs(st))
    assert len(table) == st.trials * len(st.grid["eta"]) * len(st.grid["sigma2"]) * 2
    assert set(table["protocol"]) == {"fixed-steps"}
    steps = [f"mse_step_{n}" for n in record_steps]
    for column in ("eta", "sigma2", "test_mse", *steps):
        assert column in table.columns, column
    ok = table[table["status"] == "ok"]
    assert (ok[["test_mse", *steps]] >= 0).all().all()
    assert (table["steps"] == max(record_steps)).all()  # fixed steps: no early stop
    last = f"mse_step_{max(record_steps)}"
    assert_close(ok[last].to_numpy(), ok["test_mse"].to_numpy(), dtype="float32")


def test_figure8_table(run_a: Path) -> None:
    g = STUDIES["figure7"]
    table = pd.read_csv(run_a / "figure8.csv")
    grid = pd.read_csv(run_a / "figure7.csv")
    _check_common(table.assign(config="same"), study_jobs(g))
    assert set(table["figure"]) == {8}
    assert "robust_auc" in table.columns
    # the same models as Figure 7's table, with their robust AUC of -MSE
    same = [c for c in table.columns if c not in ("figure", "robust_auc")]
    pd.testing.assert_frame_equal(table[same], grid[same], check_exact=True)
    ok = table[table["status"] == "ok"]
    levels = np.array(g.noise_levels)
    perf = -ok[[f"mse_noise_{level:g}" for level in levels]].to_numpy()
    expected = np.sum(np.diff(levels) * (perf[:, 1:] + perf[:, :-1]) / 2, axis=1)
    assert_close(ok["robust_auc"].to_numpy(), expected, dtype="float64")
    assert (ok["robust_auc"] <= 0).all()


def test_run_record(run_a: Path) -> None:
    folder = json.loads((run_a / "run.json").read_text())
    assert folder["configuration"] == {
        "root_seed": 0,
        "preset": "tiny",
        "protocol": "early-stopping",
        "progfusion": metadata.version("progfusion"),
    }
    (record,) = folder["runs"]  # one command ran in this folder
    for key in ("command", "preset", "options", "versions", "device", "root_seed", "wall_seconds"):
        assert key in record, key
    # the full config: the preset's sizes and the run options
    studies = TINY.studies(figures=["4", "7", "8"])
    assert record["preset"] == json.loads(json.dumps(TINY.as_dict(studies)))
    assert record["options"]["seed"] == "0" and record["options"]["workers"] == "1"
    assert record["root_seed"] == 0
    assert record["device"] == "cpu" and record["device_name"]
    # the command as given to main(), not the test runner's own argv
    assert record["command"].startswith("progfusion figures --preset tiny")
    assert record["versions"]["progfusion"] == metadata.version("progfusion")
    for library in ("torch", "numpy", "pandas", "matplotlib"):
        assert record["versions"][library] == metadata.version(library)
    assert set(record["wall_seconds"]) == {"figure4", "figure7", "figure8"}
    assert all(v >= 0 for v in record["wall_seconds"].values())


# --- determinism ------------------------------------------------------------------------


@pytest.mark.slow
def test_the_same_seed_gives_the_same_tables(run_a: Path, tmp_path: Path) -> None:
    open_before = set(plt.get_fignums())
    assert main(tiny_argv(tmp_path / "b")) == 0  # a second run in this process
    _assert_same_tables(run_a, tmp_path / "b")
    assert set(plt.get_fignums()) <= open_before  # the run closed every figure it drew


def test_another_seed_gives_other_tables(run_a: Path, tiny_run_seed1: TinyRun) -> None:
    # figure 7 --seed 1, in a copy of run_a
    other = tiny_run_seed1.out
    for name in ("figure7", "figure7b"):
        a, b = read_table(run_a, name), read_table(other, name)
        assert list(a["job_id"]) == list(b["job_id"])  # the same models...
        assert (a["seed"] != b["seed"]).all()  # ...with other seeds
        assert (a["data_seed"] != b["data_seed"]).all()  # ...other data
        assert (a["test_mse"] != b["test_mse"]).all()  # ...other results
        assert a["config"].iloc[0] != b["config"].iloc[0]
    assert json.loads((other / "run.json").read_text())["configuration"]["root_seed"] == 1


def test_two_workers_give_the_tables_of_one(run_a: Path, tiny_run_two_workers: TinyRun) -> None:
    # figure 7, then figure 8, with --workers 2: one process pool, its shards (late,
    # pro) back in any order
    other = tiny_run_two_workers.out
    _assert_same_tables(run_a, other, names=("figure7", "figure7b", "figure8"))
    runs = json.loads((other / "run.json").read_text())["runs"]
    assert [r["options"]["workers"] for r in runs] == ["2", "2"]  # figure 7, then figure 8
    assert [set(r["wall_seconds"]) for r in runs] == [{"figure7"}, {"figure8"}]
