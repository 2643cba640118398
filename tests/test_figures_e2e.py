"""Figures 4, 7 and 8 end to end on the ``tiny`` preset, through the command line.

Checked: every output file exists (PNG, PDF, tables, ``run.json``); the PNGs are
valid images under 300 KB; each table has its columns, one row per trained model
in run order, and values in range; ``run.json`` holds the config, versions,
device, root seed and wall times; the same seed gives the same tables, another
seed other tables, and two worker processes the tables of one (timing column
``shard_seconds`` aside); no figure is left open and no temporary file is left.
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
from progfusion.figures import fig4, fig7_8
from progfusion.figures.cli import main
from progfusion.figures.presets import get_preset

from tests.helpers import assert_close

TINY = get_preset("tiny")
TABLES = ("figure4", "figure7", "figure7b", "figure8")
TIMING = "shard_seconds"  # wall time of a shard: the one column allowed to differ


def _run(out: Path, *args: str, command=("figures",), workers: int = 1) -> Path:
    argv = [*command, "--preset", "tiny", "--workers", str(workers), "--quiet", "--out", str(out)]
    argv += args
    assert main(argv) == 0
    return out


def _table(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.csv").drop(columns=TIMING, errors="ignore")


def _assert_same_tables(a: Path, b: Path, names=TABLES) -> None:
    for name in names:
        pd.testing.assert_frame_equal(_table(a, name), _table(b, name), check_exact=True)


@pytest.fixture(scope="module")
def run_a(tmp_path_factory) -> Path:
    """The three figures, tiny preset, root seed 0, in this process."""
    return _run(tmp_path_factory.mktemp("run_a"))


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
    s = TINY.fig4
    table = pd.read_csv(run_a / "figure4.csv")
    _check_common(table, fig4.jobs(s, 0))
    assert len(table) == s.trials * len(fig4.PANELS) * len(s.widths) * len(s.designs)
    for column in ("panel", "width", "head_hidden", "majority", "test_accuracy", TIMING):
        assert column in table.columns, column
    assert set(table["figure"]) == {4}
    assert set(table["design"]) == set(s.designs)
    assert set(table["width"]) == set(s.widths)
    assert set(table["trial"]) == set(range(s.trials))
    ok = table[table["status"] == "ok"]
    assert ok["test_accuracy"].between(0, 1).all()
    assert table["majority"].between(0, 1).all()
    assert (table["steps"] <= s.max_steps).all() and (table["best_step"] <= table["steps"]).all()
    assert (table[TIMING] >= 0).all()


def test_figure7_table(run_a: Path) -> None:
    g = TINY.grid
    table = pd.read_csv(run_a / "figure7.csv")
    _check_common(table, fig7_8.grid_jobs(g, 0))
    assert len(table) == g.trials * len(g.etas) * len(g.sigma2s) * 2  # late and pro
    noise = [f"mse_noise_{level:g}" for level in g.noise_levels]
    for column in ("eta", "sigma2", "test_mse", *noise):
        assert column in table.columns, column
    assert set(table["eta"]) == set(g.etas) and set(table["sigma2"]) == set(g.sigma2s)
    assert set(table["design"]) == {"late", "pro"}
    ok = table[table["status"] == "ok"]
    assert (ok[["test_mse", *noise]] >= 0).all().all()
    # level 0 is the clean test split
    assert_close(ok["mse_noise_0"].to_numpy(), ok["test_mse"].to_numpy(), dtype="float32")


def test_figure7b_table(run_a: Path) -> None:
    st = TINY.steps
    table = pd.read_csv(run_a / "figure7b.csv")
    _check_common(table, fig7_8.steps_jobs(st, 0))
    assert len(table) == st.trials * len(st.etas) * len(st.sigma2s) * 2
    steps = [f"mse_step_{n}" for n in st.record_steps]
    for column in ("eta", "sigma2", "test_mse", *steps):
        assert column in table.columns, column
    ok = table[table["status"] == "ok"]
    assert (ok[["test_mse", *steps]] >= 0).all().all()
    assert (table["steps"] == max(st.record_steps)).all()  # fixed steps: no early stop
    last = f"mse_step_{max(st.record_steps)}"
    assert_close(ok[last].to_numpy(), ok["test_mse"].to_numpy(), dtype="float32")


def test_figure8_table(run_a: Path) -> None:
    g = TINY.grid
    table = pd.read_csv(run_a / "figure8.csv")
    grid = pd.read_csv(run_a / "figure7.csv")
    _check_common(table.assign(config="same"), fig7_8.grid_jobs(g, 0))
    assert set(table["figure"]) == {8}
    assert "robust_auc" in table.columns and TIMING not in table.columns
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
    record = json.loads((run_a / "run.json").read_text())
    for key in ("preset", "options", "versions", "device", "root_seed", "wall_seconds"):
        assert key in record, key
    # the full config: the preset's sizes and the run options
    assert record["preset"] == json.loads(json.dumps(TINY.as_dict()))
    assert record["options"]["seed"] == "0" and record["options"]["workers"] == "1"
    assert record["root_seed"] == 0
    assert record["device"] == "cpu" and record["device_name"]
    assert record["versions"]["progfusion"] == metadata.version("progfusion")
    for library in ("torch", "numpy", "pandas", "matplotlib"):
        assert record["versions"][library] == metadata.version(library)
    assert set(record["wall_seconds"]) == {"figure4", "figure7", "figure8"}
    assert all(v >= 0 for v in record["wall_seconds"].values())


# --- determinism ------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_tables(run_a: Path, tmp_path: Path) -> None:
    open_before = set(plt.get_fignums())
    _assert_same_tables(run_a, _run(tmp_path / "b"))
    assert set(plt.get_fignums()) <= open_before  # the run closed every figure it drew


def test_another_seed_gives_other_tables(run_a: Path, tmp_path: Path) -> None:
    other = _run(tmp_path / "seed1", "--seed", "1", command=("figure", "7"))
    for name in ("figure7", "figure7b"):
        a, b = _table(run_a, name), _table(other, name)
        assert list(a["job_id"]) == list(b["job_id"])  # the same models...
        assert (a["seed"] != b["seed"]).all()  # ...with other seeds
        assert (a["data_seed"] != b["data_seed"]).all()  # ...other data
        assert (a["test_mse"] != b["test_mse"]).all()  # ...other results
        assert a["config"].iloc[0] != b["config"].iloc[0]
    assert json.loads((other / "run.json").read_text())["root_seed"] == 1


def test_two_workers_give_the_tables_of_one(run_a: Path, tmp_path: Path) -> None:
    # Figure 8 alone: one sweep, so one process pool to start (the slow part); its
    # two shards (late, pro) train in parallel and may come back in either order.
    other = _run(tmp_path / "w2", command=("figure", "8"), workers=2)
    _assert_same_tables(run_a, other, names=("figure7", "figure8"))
    assert json.loads((other / "run.json").read_text())["options"]["workers"] == "2"
