"""Resuming (SPEC section 6): finished results survive a crash, and a rerun goes on.

Checked: rerunning a finished command trains nothing and leaves the tables as they
were; a run killed with SIGKILL midway leaves only whole files (every CSV parses,
every part holds a whole shard, temporary files start with '.' and are never read
as parts), and rerunning it gives the table of an uninterrupted run, training only
what was missing; ``--trials`` up reuses the done trials and down trains nothing;
another seed in the same folder trains afresh and hides the old rows; the
``ResultsStore`` itself (atomic writes, configurations, table order, failed rows).
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from progfusion.figures import store as store_module
from progfusion.figures import sweep
from progfusion.figures.cli import main
from progfusion.figures.store import ResultsStore, atomic_write_text

TABLES = ("figure4", "figure7", "figure7b", "figure8")
TIMING = "shard_seconds"


def _argv(out: Path, *args: str, command=("figures",)) -> list[str]:
    return [*command, "--preset", "tiny", "--workers", "1", "--quiet", "--out", str(out), *args]


def _table(out: Path, name: str, *, timing: bool = False) -> pd.DataFrame:
    table = pd.read_csv(out / f"{name}.csv")
    return table if timing else table.drop(columns=TIMING, errors="ignore")


def _no_training(monkeypatch) -> list[int]:
    """Make any training fail loudly (and record it): a skipped model never trains."""
    calls: list[int] = []

    def train_stack(factory, seeds, *args, **kwargs):
        calls.append(len(seeds))
        raise AssertionError("a model was trained again")

    monkeypatch.setattr(sweep, "train_stack", train_stack)
    return calls


def _counting_training(monkeypatch) -> list[int]:
    """Train as usual, recording how many models each stack holds."""
    calls: list[int] = []
    real = sweep.train_stack

    def train_stack(factory, seeds, *args, **kwargs):
        calls.append(len(seeds))
        return real(factory, seeds, *args, **kwargs)

    monkeypatch.setattr(sweep, "train_stack", train_stack)
    return calls


# --- a finished run -----------------------------------------------------------------------


def test_rerunning_a_finished_run_trains_nothing(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "run"
    assert main(_argv(out, "--trials", "1")) == 0
    before = {name: _table(out, name, timing=True) for name in TABLES}
    parts = sorted(p.name for p in out.rglob("part-*.csv"))
    calls = _no_training(monkeypatch)
    assert main(_argv(out, "--trials", "1")) == 0
    assert calls == []
    for name in TABLES:  # identical, timing column included: nothing was retrained
        pd.testing.assert_frame_equal(_table(out, name, timing=True), before[name])
    assert sorted(p.name for p in out.rglob("part-*.csv")) == parts
    for n in ("4", "7", "8"):
        assert (out / f"figure{n}.png").is_file()


def test_trials_up_reuses_done_trials_and_another_seed_starts_afresh(
    tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "run"
    command = ("figure", "7")
    calls = _counting_training(monkeypatch)
    assert main(_argv(out, "--trials", "1", command=command)) == 0
    one = {name: _table(out, name, timing=True) for name in ("figure7", "figure7b")}
    assert sum(calls) == len(one["figure7"]) + len(one["figure7b"])

    calls.clear()
    assert main(_argv(out, "--trials", "2", command=command)) == 0
    two = {name: _table(out, name, timing=True) for name in ("figure7", "figure7b")}
    for name in ("figure7", "figure7b"):
        assert len(two[name]) == 2 * len(one[name])
        trial0 = two[name][two[name]["trial"] == 0].reset_index(drop=True)
        pd.testing.assert_frame_equal(trial0, one[name])  # reused, not retrained
    assert sum(calls) == len(one["figure7"]) + len(one["figure7b"])  # only trial 1

    calls.clear()
    assert main(_argv(out, "--trials", "1", command=command)) == 0
    assert calls == []  # fewer trials: all done already
    for name in ("figure7", "figure7b"):
        pd.testing.assert_frame_equal(_table(out, name, timing=True), one[name])

    calls.clear()
    assert main(_argv(out, "--trials", "1", "--seed", "1", command=command)) == 0
    assert sum(calls) == len(one["figure7"]) + len(one["figure7b"])  # all new
    for name in ("figure7", "figure7b"):
        seed1 = _table(out, name)
        assert list(seed1["job_id"]) == list(one[name]["job_id"])
        assert not set(seed1["seed"]) & set(one[name]["seed"])  # only the new rows


# --- a killed run -------------------------------------------------------------------------

KILL_COMMAND = ("figure", "7")
KILL_ARGS = ("--chunk", "2")  # 2 models per shard: 8 + 2 shards, so many part files


def _start_and_kill(out: Path) -> int | None:
    """Start the command in a subprocess and SIGKILL it as soon as one part exists.

    Returns the exit status the process had *before* the kill (None: it was killed).
    """
    argv = [sys.executable, "-m", "progfusion.figures.cli"]
    argv += _argv(out, *KILL_ARGS, command=KILL_COMMAND)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return proc.returncode
            if any((out / "figure7.parts").glob("part-*.csv")):
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=30)
                return None
            time.sleep(0.005)
        raise AssertionError("no part file appeared within 180 s")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


def _assert_only_whole_files(out: Path) -> int:
    """Every CSV parses and every part holds a whole shard; returns rows done."""
    rows = 0
    for path in out.rglob("*"):
        if path.name.startswith("."):  # a temporary file: never a part or a table
            assert not path.name.endswith(".csv") and not path.match("part-*.csv")
            continue
        if path.suffix != ".csv":
            continue
        table = pd.read_csv(path)
        assert {"job_id", "status", "config"} <= set(table.columns), path
        if path.parent.name.endswith(".parts"):
            assert len(table) == 2, f"{path} holds {len(table)} rows, not a whole shard of 2"
            assert table.notna()[["job_id", "status", "test_mse"]].all().all(), path
            rows += len(table)
    return rows


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_run_killed_midway_resumes_to_the_uninterrupted_tables(
    tmp_path: Path, monkeypatch
) -> None:
    reference = tmp_path / "reference"
    assert main(_argv(reference, *KILL_ARGS, command=KILL_COMMAND)) == 0
    total = len(_table(reference, "figure7")) + len(_table(reference, "figure7b"))

    # kill as soon as the first shard is on disk: 7 of figure 7's 8 shards and
    # both of figure 7(b)'s are still to go, seconds of work, so the kill lands
    # midway; should a process ever finish first, try again in a fresh folder
    for attempt in range(3):
        out = tmp_path / f"killed{attempt}"
        status = _start_and_kill(out)
        if status is None:
            break
        assert status == 0, f"the run failed by itself with status {status}"
    else:
        pytest.fail("the run finished three times before it could be killed")

    done = _assert_only_whole_files(out)
    assert 0 < done < total  # partial progress, then the kill
    assert not (out / "figure7.png").exists()
    # a kill during a write leaves a temporary file: plant some, half written
    header = "job_id,figure,status,test_mse,config\n7|eta=0|sigma2=0|design=la"
    (out / "figure7.parts" / ".part-0123456789abcdef.csv.x1y2.tmp").write_text(header)
    (out / ".figure7.csv.x3y4.tmp").write_text(header)

    calls = _counting_training(monkeypatch)
    assert main(_argv(out, *KILL_ARGS, command=KILL_COMMAND)) == 0
    assert sum(calls) == total - done  # only what was missing
    for name in ("figure7", "figure7b"):
        pd.testing.assert_frame_equal(_table(out, name), _table(reference, name), check_exact=True)
    assert (out / "figure7.png").is_file()


# --- ResultsStore ---------------------------------------------------------------------------


def _rows(ids, status="ok", value=1.0) -> list[dict]:
    return [{"job_id": i, "status": status, "test_mse": value} for i in ids]


def test_atomic_write_text_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "table.csv"
    atomic_write_text(path, "a,b\n1,2\n")
    atomic_write_text(path, "a,b\n3,4\n")  # replaces
    assert path.read_text() == "a,b\n3,4\n"
    assert [p.name for p in path.parent.iterdir()] == ["table.csv"]
    if os.name == "posix":  # like open(): 0666 less the umask, not mkstemp's 0600
        umask = os.umask(0)
        os.umask(umask)
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_atomic_write_text_keeps_the_old_file_when_the_write_fails(
    tmp_path: Path, monkeypatch
) -> None:
    path = tmp_path / "table.csv"
    atomic_write_text(path, "old\n")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(store_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_rows_of_another_configuration_are_ignored(tmp_path: Path) -> None:
    order = ["a", "b", "c"]
    first = ResultsStore(tmp_path, "t", "config-1", order)
    first.add(_rows(["a", "b"]))
    assert first.done() == {"a", "b"}
    other = ResultsStore(tmp_path, "t", "config-2", order)
    assert other.done() == set()
    assert len(other.rebuild()) == 0
    other.add(_rows(["a"], value=2.0))
    assert list(other.rebuild()["test_mse"]) == [2.0]
    # the first configuration's rows are still there for it
    again = ResultsStore(tmp_path, "t", "config-1", order)
    assert again.done() == {"a", "b"}
    assert list(again.rebuild()["test_mse"]) == [1.0, 1.0]


def test_table_order_is_the_given_order_whatever_order_parts_came_in(tmp_path: Path) -> None:
    order = ["j0", "j1", "j2", "j3", "j4"]
    s = ResultsStore(tmp_path, "t", "cfg", order)
    for ids in (["j4"], ["j1", "j3"], ["j0"], ["j2"]):
        s.add(_rows(ids))
    assert list(pd.read_csv(tmp_path / "t.csv")["job_id"]) == order
    # jobs that are not in this run (e.g. trials beyond --trials) stay out of the table
    fewer = ResultsStore(tmp_path, "t", "cfg", ["j3", "j0"])
    assert list(fewer.rebuild()["job_id"]) == ["j3", "j0"]
    assert fewer.done() == {"j0", "j3"}
    shutil.rmtree(tmp_path / "t.parts")
    assert s.done() == set() and len(s.rebuild()) == 0


@pytest.mark.parametrize("failed_part_name", ["part-0000.csv", "part-ffff.csv"])
def test_failed_rows_are_not_done_and_lose_to_finished_ones(
    tmp_path: Path, failed_part_name: str
) -> None:
    s = ResultsStore(tmp_path, "t", "cfg", ["a", "b", "c"])
    s.add(_rows(["a", "b"], status="failed", value=float("nan")))
    assert s.done() == set()  # a rerun trains them again
    assert list(s.rebuild()["status"]) == ["failed", "failed"]
    # the failed part sorts first or last among the parts: either way the finished
    # row of "a" wins, and "b" stays failed until it finishes too
    (failed,) = (tmp_path / "t.parts").glob("part-*.csv")
    failed.rename(failed.with_name(failed_part_name))
    s.add(_rows(["a", "c"], value=3.0))
    assert s.done() == {"a", "c"}
    table = s.rebuild()
    assert list(table["status"]) == ["ok", "failed", "ok"]
    assert list(table["test_mse"].fillna(-1)) == [3.0, -1, 3.0]
