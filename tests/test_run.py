"""Running a study (experiments/run.py, executors.py, jobs.py, seeds.py) and the analysis
of its tables (experiments/analysis.py).

Checked: derived seeds are deterministic (also in another process, whatever its
hash seed), key-sensitive and independent of the order they are asked for; the
figures' job lists give paired designs one seed and one data recipe, and do not
depend on the trial count; ``make_shards`` groups by model recipe and protocol and
cuts chunks; ``run_sweep`` retries a failing shard once (the retry gives the rows
of a clean run), writes a shard failing twice as ``"failed"`` without touching its
neighbours, and a rerun trains the failed models again; one local process pool
serves every table of a run; rows that are not ``ok`` (diverged) are left out of
every statistic, on hand-checkable tables.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np
import pandas as pd
import pytest
from progfusion.experiments import LatentTask, analysis
from progfusion.experiments import run as run_module
from progfusion.experiments.designs import ModelRecipe
from progfusion.experiments.executors import Executors
from progfusion.experiments.jobs import DataRecipe, Job, study_jobs
from progfusion.experiments.run import make_shards, run_sweep, shard_work
from progfusion.experiments.seeds import derive_seed
from progfusion.experiments.store import ResultsStore
from progfusion.figures import fig4, fig7, fig8
from progfusion.figures.presets import get_preset
from progfusion.models.protocol import TrainConfig

from tests.helpers import assert_close
from tests.runs import TinyRun

F64 = "float64"
TINY = get_preset("tiny")

# --- derive_seed ------------------------------------------------------------------------


def test_derive_seed_is_deterministic_and_a_32_bit_integer() -> None:
    keys = [("fig4-model", "a", 2, 0), ("7-data", 0.0, 2.0, 1), (), ("x",)]
    for key in keys:
        seed = derive_seed(0, *key)
        assert seed == derive_seed(0, *key)
        assert isinstance(seed, int) and 0 <= seed < 2**32


def test_derive_seed_is_the_same_in_another_process_with_another_hash_seed() -> None:
    key = ("7-model", 4.0, 0.5, 3)
    code = (
        f"from progfusion.experiments.seeds import derive_seed; print(derive_seed(12345, *{key!r}))"
    )
    env = dict(os.environ, PYTHONHASHSEED="271828")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert int(out.stdout.strip()) == derive_seed(12345, *key)


def test_derive_seed_is_key_sensitive() -> None:
    keys = [
        ("fig4-model", "a", 2, 0),
        ("fig4-model", "a", 2, 1),  # another trial
        ("fig4-model", "b", 2, 0),  # another panel
        ("fig4-model", "a", 8, 0),  # another width
        ("fig4-data", "a", 2, 0),  # another stream
        ("fig4-model", 2, "a", 0),  # same parts, other order
        ("fig4-model", "a", "2", 0),  # a string, not the number
    ]
    seeds = [derive_seed(0, *k) for k in keys]
    assert len(set(seeds)) == len(keys)
    # the root seed matters too
    assert derive_seed(1, *keys[0]) != derive_seed(0, *keys[0])


def test_derive_seed_does_not_depend_on_the_order_of_the_calls() -> None:
    keys = [("7-model", eta, s2, t) for eta in (0.0, 4.0) for s2 in (0.0, 2.0) for t in range(5)]
    forward = {k: derive_seed(3, *k) for k in keys}
    shuffled = list(keys)
    random.Random(0).shuffle(shuffled)
    backward = {k: derive_seed(3, *k) for k in shuffled}
    assert forward == backward
    assert len(set(forward.values())) == len(keys)


def test_figure_jobs_pair_designs_and_do_not_depend_on_the_trial_count() -> None:
    for name, study in TINY.studies().items():
        three = study_jobs(study.with_(trials=3))
        one = study_jobs(study.with_(trials=1))
        assert len({j.job_id for j in three}) == len(three), name  # unique ids
        assert all(j.labels[0] == ("job_id", j.job_id) for j in three)  # the row's first column
        trial0 = [j for j in three if dict(j.labels)["trial"] == 0]
        assert [(j.job_id, j.seed, j.data, j.labels) for j in trial0] == [
            (j.job_id, j.seed, j.data, j.labels) for j in one
        ], name
        # designs of one cell and trial share their seed and their data (paired)
        by_pair: dict[tuple, set] = {}
        for j in three:
            own = ("job_id", "design", "n_params", "n_params_effective", "flops_per_sample")
            labels = {k: v for k, v in j.labels if k not in own}
            by_pair.setdefault(tuple(sorted(labels.items())), set()).add((j.seed, j.data))
        assert len(by_pair) == len(three) // len(study.designs), name
        assert all(len(v) == 1 for v in by_pair.values()), name
        # and different trials get different seeds
        assert len({next(iter(v))[0] for v in by_pair.values()}) > 1, name


# --- make_shards ------------------------------------------------------------------------

LATE = ModelRecipe.of("late", (16, 16), 1, {"width": 8})
PRO = ModelRecipe.of("pro", (16, 16), 1, {"width": 8})
CONFIG = TrainConfig(objective="regression", name="fixed-steps", max_steps=10, eval_every=10)
TASK = LatentTask(n_train=64, n_val=0, n_test=32)  # 16-wide inputs, as LATE and PRO take


def _fake_job(i: int, model: ModelRecipe, config: TrainConfig = CONFIG) -> Job:
    """A job whose data is never built here (``run_shard`` is replaced where it would run)."""
    labels = (("job_id", f"job{i}"), ("trial", i), ("design", model.design))
    return Job(f"job{i}", model, DataRecipe(TASK, i // 2), 100 + i, config, labels)


def test_make_shards_groups_by_model_and_cuts_chunks_largest_work_first() -> None:
    models = [PRO, LATE, PRO, LATE, PRO, PRO, LATE]
    jobs = [_fake_job(i, m) for i, m in enumerate(models)]
    shards = make_shards(jobs, chunk=2, device="cpu", threads=3, compile="default")
    assert [[j.job_id for j in s.jobs] for s in shards] == [
        ["job0", "job2"],
        ["job4", "job5"],
        ["job1", "job3"],
        ["job6"],
    ]
    assert [s.jobs[0].model for s in shards] == [PRO, PRO, LATE, LATE]
    assert all(len({j.model for j in s.jobs}) == 1 for s in shards)
    assert all(s.config == CONFIG and s.device == "cpu" and s.threads == 3 for s in shards)
    assert all(s.compile == "default" for s in shards)
    # every job exactly once, whatever the chunk
    for chunk in (1, 3, 100):
        shards = make_shards(jobs, chunk=chunk, device="cpu")
        ids = sorted(j.job_id for s in shards for j in s.jobs)
        assert ids == sorted(j.job_id for j in jobs)
        assert max(len(s.jobs) for s in shards) <= chunk
    assert len(make_shards(jobs, chunk=100, device="cpu")) == 2  # one per model


def test_make_shards_orders_by_work_ties_in_first_seen_order() -> None:
    """Pro-fusion (1,201 parameters a model against late fusion's 433) first although
    late fusion came first; equal work keeps its order; more steps are more work."""
    models = [LATE, LATE, LATE, LATE, LATE, PRO, PRO, LATE, LATE, LATE]
    jobs = [_fake_job(i, m) for i, m in enumerate(models)]
    shards = make_shards(jobs, chunk=3, device="cpu")
    assert (PRO.parameter_count(), LATE.parameter_count()) == (1201, 433)
    assert [[j.job_id for j in s.jobs] for s in shards] == [
        ["job5", "job6"],  # 2 x 1201
        ["job0", "job1", "job2"],  # 3 x 433, in first-seen order
        ["job3", "job4", "job7"],
        ["job8", "job9"],
    ]
    works = [shard_work(s) for s in shards]
    assert works == sorted(works, reverse=True)
    longer = replace(CONFIG, max_steps=10 * CONFIG.max_steps)
    jobs = [_fake_job(0, PRO), _fake_job(1, LATE, longer)]
    assert [s.jobs[0].job_id for s in make_shards(jobs, chunk=2, device="cpu")] == ["job1", "job0"]


def test_make_shards_keeps_models_of_another_protocol_apart() -> None:
    longer = replace(CONFIG, max_steps=20, eval_every=20)
    jobs = [_fake_job(0, LATE), _fake_job(1, LATE, longer), _fake_job(2, LATE)]
    shards = make_shards(jobs, chunk=100, device="cpu")
    assert [[j.job_id for j in s.jobs] for s in shards] == [["job0", "job2"], ["job1"]]
    assert [s.config for s in shards] == [CONFIG, longer]  # each stack trains by one protocol


# --- run_sweep: retries and failures ----------------------------------------------------


def test_a_shard_reuses_the_task_data_of_the_previous_shard_in_its_process(monkeypatch) -> None:
    late, pro = _steps_jobs()[0::2], _steps_jobs()[1::2]  # two trials each, the same recipes
    other = [replace(job, data=replace(job.data, seed=job.data.seed + 1)) for job in late]
    builds: list[DataRecipe] = []
    real_build = DataRecipe.build

    def counted(recipe: DataRecipe):
        builds.append(recipe)
        return real_build(recipe)

    monkeypatch.setattr(DataRecipe, "build", counted)
    shard = make_shards(late, chunk=2, device="cpu")[0]
    fresh = run_module.run_shard(shard)
    assert len(builds) == 2
    run_module.run_shard(make_shards(pro, chunk=2, device="cpu")[0])  # the same trials' data
    assert len(builds) == 2
    run_module.run_shard(make_shards(other, chunk=2, device="cpu")[0])
    assert len(builds) == 4 and set(run_module._LAST_DATA) == {job.data for job in other}
    run_module._LAST_DATA.clear()
    again = run_module.run_shard(shard)  # built anew: the same rows
    assert len(builds) == 6
    pd.testing.assert_frame_equal(pd.DataFrame(again), pd.DataFrame(fresh))


def test_a_sweep_in_this_process_leaves_no_task_data_behind(tmp_path) -> None:
    _sweep_table(tmp_path, "t")
    assert run_module._LAST_DATA == {}


def _steps_jobs() -> list[Job]:
    # 4 real (tiny) models: 2 trials x late/pro
    return study_jobs(fig7.FIGURE.studies("tiny", seed=0)[fig7.STEPS_TABLE])


def _sweep_table(tmp_path, name: str, run_shard=None, monkeypatch=None) -> pd.DataFrame:
    jobs = _steps_jobs()
    if run_shard is not None:
        monkeypatch.setattr(run_module, "run_shard", run_shard)
    store = ResultsStore(tmp_path, name, "cfg", [j.job_id for j in jobs])
    shards = make_shards(jobs, chunk=1, device="cpu")
    run_sweep(shards, store, executor_factory=lambda: None)
    return store.rebuild()


def _flaky(real, fail_on: str, times: int, calls: dict[str, int]):
    def run_shard(shard):
        key = shard.jobs[0].job_id
        calls[key] = calls.get(key, 0) + 1
        if key == fail_on and calls[key] <= times:
            raise RuntimeError(f"planted failure {calls[key]}")
        return real(shard)

    return run_shard


@pytest.fixture(scope="module")
def clean_table(tmp_path_factory) -> pd.DataFrame:
    table = _sweep_table(tmp_path_factory.mktemp("clean"), "clean")
    assert set(table["status"]) <= {"ok", "diverged"}
    return table


def test_a_shard_failing_once_is_retried_and_gives_the_clean_rows(
    tmp_path, monkeypatch, clean_table
) -> None:
    real = run_module.run_shard
    target = _steps_jobs()[1].job_id
    calls: dict[str, int] = {}
    table = _sweep_table(tmp_path, "t", _flaky(real, target, 1, calls), monkeypatch)
    assert calls[target] == 2
    assert all(n == 1 for k, n in calls.items() if k != target)
    assert "error" not in table.columns
    pd.testing.assert_frame_equal(table, clean_table)


def test_a_shard_failing_twice_is_marked_failed_and_a_rerun_retries_it(
    tmp_path, monkeypatch, clean_table
) -> None:
    real = run_module.run_shard
    target = _steps_jobs()[2].job_id
    calls: dict[str, int] = {}
    table = _sweep_table(tmp_path, "t", _flaky(real, target, 99, calls), monkeypatch)
    assert calls[target] == 2  # tried, retried once, given up
    failed = table[table["job_id"] == target]
    assert list(failed["status"]) == ["failed"]
    assert "RuntimeError: planted failure 2" in failed["error"].iloc[0]
    others = table[table["job_id"] != target].drop(columns=["error"])
    expected = clean_table[clean_table["job_id"] != target]
    pd.testing.assert_frame_equal(
        others.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
    )
    # "failed" is a worker error, not a result: a rerun trains that model again
    # (and only it), and its new row replaces the failed one
    calls.clear()
    rerun = _sweep_table(tmp_path, "t", _flaky(real, target, 0, calls), monkeypatch)
    assert calls == {target: 1}
    assert set(rerun["status"]) <= {"ok", "diverged"}
    pd.testing.assert_frame_equal(rerun.drop(columns=["error"], errors="ignore"), clean_table)


def test_retry_rounds_ask_the_executor_factory_again(tmp_path, monkeypatch) -> None:
    jobs = [_fake_job(i, s) for i, s in enumerate([LATE, PRO, LATE, PRO])]
    attempts: dict[str, int] = {}

    def fake_run_shard(shard):
        key = shard.jobs[0].job_id
        attempts[key] = attempts.get(key, 0) + 1
        if key == "job0" and attempts[key] == 1:
            raise OSError("worker died")
        return [{"job_id": j.job_id, "status": "ok", "test_mse": 1.0} for j in shard.jobs]

    monkeypatch.setattr(run_module, "run_shard", fake_run_shard)
    rounds = []
    progress = []
    store = ResultsStore(tmp_path, "t", "cfg", [j.job_id for j in jobs])
    run_sweep(
        make_shards(jobs, chunk=1, device="cpu"),
        store,
        executor_factory=lambda: rounds.append(1),  # returns None: run in this process
        progress=progress.append,
    )
    assert len(rounds) == 2  # the first round, then one retry round
    assert sum(progress) == len(jobs)
    table = store.rebuild()
    assert list(table["job_id"]) == [j.job_id for j in jobs]
    assert set(table["status"]) == {"ok"}
    # nothing left to do: no executor, no training
    rounds.clear()
    attempts.clear()
    run_sweep(
        make_shards(jobs, chunk=1, device="cpu"),
        store,
        executor_factory=lambda: rounds.append(1),
    )
    assert rounds == [] and attempts == {}


class _FakeExecutor:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self.log.append(f"shutdown {self.name}")


def test_a_kept_executor_serves_clean_rounds_and_is_replaced_after_a_failure() -> None:
    log: list[str] = []
    made = iter("abc")
    executors = Executors(lambda: _FakeExecutor(log, next(made)), keep=True)
    a = executors.get()
    executors.release(a, clean=True)
    assert executors.get() is a and log == []  # a clean round: the same pool goes on
    executors.release(a, clean=False)
    assert log == ["shutdown a"]
    b = executors.get()
    assert b is not a
    executors.release(b, clean=True)
    executors.close()
    assert log == ["shutdown a", "shutdown b"]
    # without keep (a function, as run_sweep also accepts): a new executor every round
    fresh = Executors(lambda: _FakeExecutor(log, "d"))
    d = fresh.get()
    fresh.release(d, clean=True)
    assert log[-1] == "shutdown d" and fresh.get() is not d


def test_one_local_pool_serves_every_table_of_a_run(tiny_run_two_workers: TinyRun) -> None:
    # progfusion figure 7 --workers 2: two tables (figure7, figure7b), one pool
    assert tiny_run_two_workers.pools == [2]


# --- analysis: diverged rows are left out ------------------------------------------------


def _grid_table() -> pd.DataFrame:
    """Cell (0, 0): two complete pairs, late 1.0 / pro 0.9 and late 2.0 / pro 1.8 (+10%
    each), and a third pair whose pro diverged (its huge MSE would dominate any mean).
    Cell (1, 0): one complete pair late 0.5 / pro 0.6 (-20%) and one whose late diverged.
    """
    rows = []

    def add(eta, trial, late, pro, late_status="ok", pro_status="ok"):
        for design, mse, status in (("late", late, late_status), ("pro", pro, pro_status)):
            rows.append(
                {
                    "figure": "7",
                    "eta": eta,
                    "sigma2": 0.0,
                    "design": design,
                    "trial": trial,
                    "status": status,
                    "test_mse": mse,
                    "mse_noise_0": mse,
                    "mse_noise_0.5": mse + 1.0 if design == "late" else mse + 0.5,
                    "mse_step_100": mse,
                }
            )

    add(0.0, 0, 1.0, 0.9)
    add(0.0, 1, 2.0, 1.8)
    add(0.0, 2, 1.0, 1e12, pro_status="diverged")
    add(1.0, 0, 0.5, 0.6)
    add(1.0, 1, np.nan, 0.1, late_status="diverged")
    return pd.DataFrame(rows)


def test_pairs_keep_only_complete_ok_pairs() -> None:
    keys = ["eta", "sigma2", "trial"]
    p = analysis.pairs(_grid_table(), "test_mse", keys, base="late", new="pro")
    assert list(zip(p["eta"], p["trial"], strict=True)) == [(0.0, 0), (0.0, 1), (1.0, 0)]
    assert_close(p["test_mse_late"].to_numpy(), [1.0, 2.0, 0.5], dtype=F64)
    assert_close(p["test_mse_pro"].to_numpy(), [0.9, 1.8, 0.6], dtype=F64)


def test_grid_improvement_leaves_diverged_pairs_out() -> None:
    cells = fig7.grid_improvement(_grid_table()).set_index("eta")
    assert_close(cells.loc[0.0, "improvement"], 10.0, dtype=F64)
    assert_close(cells.loc[1.0, "improvement"], -20.0, dtype=F64)
    assert cells.loc[0.0, "win_fraction"] == 1.0 and cells.loc[1.0, "win_fraction"] == 0.0
    assert cells.loc[0.0, "n"] == 2 and cells.loc[1.0, "n"] == 1


def test_improvement_summary_on_hand_checkable_pairs() -> None:
    s = analysis.improvement_summary(np.array([1.0, 2.0, 0.5]), np.array([0.9, 1.8, 0.6]))
    assert s.n_pairs == 3
    assert_close(s.win_fraction, 2 / 3, dtype=F64)
    assert_close(s.mean_improvement, 0.0, dtype=F64)  # (10 + 10 - 20) / 3
    assert s.ci_low <= s.mean_improvement <= s.ci_high
    two = analysis.improvement_summary(np.array([1.0, 2.0]), np.array([0.9, 1.8]))
    assert two.n_pairs == 2 and two.win_fraction == 1.0
    assert_close(two.mean_improvement, 10.0, dtype=F64)
    assert_close([two.ci_low, two.ci_high], [10.0, 10.0], dtype=F64)  # no spread


def test_steps_and_robustness_summaries_leave_diverged_pairs_out() -> None:
    table = _grid_table()
    steps = fig7.steps_summary(table)
    assert list(steps["steps"]) == [100]
    assert steps["n"].iloc[0] == 3
    assert_close(steps["mean_improvement"].iloc[0], 0.0, dtype=F64)
    rob = fig8.robustness_pairs(table)
    assert len(rob) == 3
    # perf = -MSE at levels (0, 0.5); late loses 1.0 between them, pro 0.5: pro is
    # the more robust. Trapezoid: AUC = 0.5 * (perf(0) + perf(0.5)) / 2.
    late0 = np.array([1.0, 2.0, 0.5])
    pro0 = np.array([0.9, 1.8, 0.6])
    auc_late = 0.5 * 0.5 * (-late0 + -(late0 + 1.0))
    auc_pro = 0.5 * 0.5 * (-pro0 + -(pro0 + 0.5))
    assert_close(rob["delta_auc"].to_numpy(), auc_pro - auc_late, dtype=F64)
    # cell (0, 0): late loses exactly 1.0 at level 0.5 in both pairs, so its cell's trend
    # is perf(0.5) = perf(0) - 1; pro sits 0.5 above it there, 0 at level 0: trapezoid
    # 0.5 * (0 + 0.5) / 2 = 0.125. Cell (1, 0) has one late model: no trend, NaN.
    assert_close(rob["effective_robustness"].to_numpy()[:2], [0.125, 0.125], dtype=F64)
    assert_close(rob["effective_robustness_late"].to_numpy()[:2], [0.0, 0.0], dtype=F64)
    assert rob[["effective_robustness", "effective_robustness_late"]].iloc[2].isna().all()
    auc = fig8.model_robust_auc(table)
    assert np.isnan(auc[table["test_mse"].isna().to_numpy()]).all()


def test_figure8_without_a_trend_in_any_cell_says_so() -> None:
    """One complete pair per cell: no late-fusion trend, so panel (b) says why it is empty."""
    table = _grid_table()
    table = table[table["trial"] == 0]
    assert fig8.robustness_pairs(table)["effective_robustness"].isna().all()
    figure = fig8.draw({fig8.TABLE: table})
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert f"no cell has {fig8.MIN_TREND} complete pairs" in texts
    plt.close(figure)


def test_width_summary_leaves_diverged_models_out() -> None:
    table = pd.DataFrame(
        {
            "panel": ["a"] * 4,
            "width": [2] * 4,
            "design": ["late", "late", "late", "pro"],
            "trial": [0, 1, 2, 0],
            "status": ["ok", "ok", "diverged", "ok"],
            "test_accuracy": [0.25, 0.75, 0.0, 0.5],
        }
    )
    s = fig4.width_summary(table).set_index("design")
    assert s.loc["late", "n"] == 2 and s.loc["pro", "n"] == 1
    assert_close(s.loc["late", "mean"], 0.5, dtype=F64)
    assert s.loc["late", "ci_low"] <= 0.5 <= s.loc["late", "ci_high"]


def test_cell_summary_signs_need_five_pairs_and_a_clear_interval() -> None:
    rows = [{"eta": 0.0, "trial": t, "v": 1.0 + 0.1 * t} for t in range(6)]  # all > 0
    rows += [{"eta": 1.0, "trial": t, "v": -1.0 - 0.1 * t} for t in range(6)]  # all < 0
    rows += [{"eta": 2.0, "trial": t, "v": (-1.0) ** t} for t in range(6)]  # straddles 0
    rows += [{"eta": 3.0, "trial": t, "v": 1.0} for t in range(4)]  # too few pairs
    cells = analysis.cell_summary(pd.DataFrame(rows), "v", ["eta"]).set_index("eta")
    assert list(cells["v_sign"]) == [1, -1, 0, 0]
    assert list(cells["n"]) == [6, 6, 6, 4]
    assert (cells["v_low"] <= cells["v"]).all() and (cells["v"] <= cells["v_high"]).all()
    against_half = analysis.cell_summary(pd.DataFrame(rows[:6]), "v", ["eta"], center=2.0)
    assert list(against_half["v_sign"]) == [-1]
