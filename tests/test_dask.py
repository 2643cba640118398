"""Sweeps on a Dask cluster or a local process pool give the single-process table (issue 7).

One tiny Figure 7 run (``--chunk 1``: 8 + 2 shards, so there is something to spread)
is made in this process (``--workers 1``) and compared, cell by cell as text, with
the same run on a 2-worker ``LocalCluster`` and on a cluster that loses a worker
mid-sweep. The session's tiny run in one process is compared the same way with
``figure 7`` and ``figure 8`` on a 2-process local pool (``tests/conftest.py``).
The chunk is the same in each comparison: the size of a stack changes the last
bits of batched float32 arithmetic.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from progfusion.experiments.executors import open_executors
from progfusion.experiments.jobs import study_jobs
from progfusion.experiments.run import make_shards, run_sweep
from progfusion.experiments.store import ResultsStore
from progfusion.figures import fig7
from progfusion.figures.cli import main

from tests.runs import TinyRun

ARGS = ["figure", "7", "--preset", "tiny", "--trials", "1", "--chunk", "1", "--quiet"]
TABLES = ("figure7", "figure7b")
N_SHARDS = 8 + 2  # figure7: 4 cells x (late, pro); figure7b: 1 cell x (late, pro)


def _tables(out: Path, names=TABLES) -> dict[str, pd.DataFrame]:
    """Each table as text (no float parsing, so equality is exact)."""
    return {
        name: pd.read_csv(out / f"{name}.csv", dtype=str, keep_default_na=False) for name in names
    }


def _assert_same_tables(out: Path, reference: dict[str, pd.DataFrame]) -> None:
    tables = _tables(out, reference)
    for name in reference:
        pd.testing.assert_frame_equal(tables[name], reference[name], check_exact=True)
        assert set(tables[name]["status"]) == {"ok"}


def _cluster(n_workers: int = 2):
    distributed = pytest.importorskip("dask.distributed")
    # The scheduler's HTTP server starts even without a dashboard, on port 8787 unless
    # told otherwise; ":0" takes a free port, so two clusters alive at once (or a
    # developer's own scheduler) never meet the "Port 8787 is already in use" warning.
    return distributed.LocalCluster(
        n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("single")
    assert main([*ARGS, "--workers", "1", "--out", str(out)]) == 0
    return _tables(out)


@pytest.fixture(scope="module")
def cluster():
    """A 2-worker LocalCluster and a client on it, closed when the module's tests are done."""
    from dask.distributed import Client

    with _cluster() as local, Client(local, set_as_default=False) as client:
        yield local, client


@pytest.mark.slow
def test_dask_cluster_gives_the_single_process_table(cluster, reference, tmp_path):
    from dask.distributed import get_task_stream

    local, client = cluster
    clients_before = set(local.scheduler.clients)
    with get_task_stream(client=client) as stream:
        assert main([*ARGS, "--scheduler", local.scheduler_address, "--out", str(tmp_path)]) == 0
    _assert_same_tables(tmp_path, reference)
    shards = [t for t in stream.data if str(t["key"]).startswith("run_shard")]
    assert len(shards) == N_SHARDS
    assert {t["worker"] for t in shards} == set(local.scheduler.workers)  # both workers trained
    deadline = time.monotonic() + 10  # the run's one client is closed (the scheduler hears of it)
    while set(local.scheduler.clients) != clients_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(local.scheduler.clients) == clients_before


def test_local_process_pool_gives_the_single_process_table(
    tiny_run: Path, tiny_run_two_workers: TinyRun
):
    # figure 7 (2 + 2 shards, back from two processes in any order), then figure 8
    _assert_same_tables(tiny_run_two_workers.out, _tables(tiny_run, (*TABLES, "figure8")))


@pytest.mark.slow
def test_killing_a_worker_mid_sweep_still_gives_the_complete_table(cluster, reference, tmp_path):
    """SIGKILL one worker process while it holds a shard; Dask reruns the shard elsewhere.

    The module's cluster: its nanny starts a new worker in place of the killed one,
    and the test waits for it, so the tests after this one find two workers again.
    """
    local, client = cluster
    parts = tmp_path / "figure7.parts"
    killed: dict[str, object] = {}
    stop = threading.Event()

    def kill_one_busy_worker() -> None:
        pids = client.run(os.getpid)  # worker address -> pid
        while not stop.is_set():
            busy = [w for w, keys in client.processing().items() if keys and w in pids]
            if busy and any(parts.glob("part-*.csv")):  # mid-sweep: one shard done, more to go
                killed["parts"] = len(list(parts.glob("part-*.csv")))
                killed["pid"] = pids[busy[0]]
                os.kill(pids[busy[0]], signal.SIGKILL)
                return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_busy_worker, daemon=True)
    killer.start()
    try:
        code = main([*ARGS, "--scheduler", local.scheduler_address, "--out", str(tmp_path)])
    finally:
        stop.set()
        killer.join(timeout=10)
        client.wait_for_workers(2, timeout=120)
    assert code == 0
    assert "pid" in killed, "no worker was killed during the sweep"
    assert killed["pid"] not in client.run(os.getpid).values()
    assert killed["parts"] < 8  # figure7 was still running when the worker died
    _assert_same_tables(tmp_path, reference)
    assert set(_tables(tmp_path)["figure7"]["job_id"]) == set(reference["figure7"]["job_id"])


def test_a_shard_that_raises_on_a_worker_is_retried_once_then_marked_failed(cluster, tmp_path):
    """The worker's exception comes back through ``future.result()`` to the retry logic."""
    local, _ = cluster
    good, other = study_jobs(fig7.FIGURE.studies("tiny", seed=0, trials=1)[fig7.GRID_TABLE])[:2]
    shards = make_shards([good, other], chunk=1, device="cpu")
    # run_shard calls data.build() on the worker: an AttributeError there
    k = next(k for k, shard in enumerate(shards) if shard.jobs[0] == other)
    shards[k] = dataclasses.replace(shards[k], jobs=(dataclasses.replace(other, data=0),))
    bad = shards[k].jobs[0]
    store = ResultsStore(tmp_path, "t", "cfg", [good.job_id, bad.job_id])
    rounds = []
    with open_executors(1, local.scheduler_address) as executors:

        def counting():
            rounds.append(1)
            return executors()

        run_sweep(shards, store, executor_factory=counting)
    table = store.rebuild().set_index("job_id")
    assert len(rounds) == 2  # the first round, and one retry of the failed shard
    assert table.loc[good.job_id, "status"] == "ok"
    assert table.loc[bad.job_id, "status"] == "failed"
    assert table.loc[bad.job_id, "error"].startswith("AttributeError")


def test_open_executors_uses_one_client_and_closes_it(cluster):
    local, _ = cluster
    with open_executors(1, local.scheduler_address) as executors:
        first, second = executors(), executors()
        assert first._client is second._client  # one client for every retry round
        client = first._client
        assert client.status == "running"
    assert client.status == "closed"


def test_scheduler_without_dask_is_one_line_and_exit_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # import fails
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main([*ARGS, "--scheduler", "tcp://127.0.0.1:8786", "--out", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert 'pip install -e ".[dask]"' in err
    assert not out.exists()


def test_unusable_scheduler_address_is_one_line_and_exit_2(capsys, tmp_path):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        main([*ARGS, "--scheduler", "no-port-here", "--out", str(out)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "--scheduler 'no-port-here' is not a Dask scheduler address" in err
    assert not out.exists()
