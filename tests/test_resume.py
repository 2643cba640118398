"""Resuming (SPEC section 6): finished results survive a crash, and a rerun goes on.

Checked: rerunning a finished command trains nothing and leaves the tables as they
were; a run killed with SIGKILL midway leaves only whole files (every CSV parses,
every part holds a whole shard, temporary files start with '.' and are never read
as parts), and rerunning it gives the table of an uninterrupted run, training only
what was missing; ``--trials`` down trains nothing and up reuses the done trials;
another seed in the same folder trains afresh and hides the old rows; the
``ResultsStore`` itself (atomic writes, configurations, table order, failed rows,
parts kept in memory). The finished run is the session's ``tiny_run`` (a copy of
it where a command runs again), see ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
from pathlib import Path

import pandas as pd
import pytest
from progfusion.experiments import store as store_module
from progfusion.experiments.jobs import study_jobs
from progfusion.experiments.run import make_shards
from progfusion.experiments.store import ResultsStore, atomic_write_text
from progfusion.figures.cli import main
from progfusion.figures.presets import get_preset

from tests.runs import (
    TABLES,
    TinyRun,
    counting_training,
    no_training,
    read_table,
    run_and_kill,
    tiny_argv,
)

FIGURE7 = ("figure7", "figure7b")  # the tables of progfusion figure 7
CPU_CHUNK = 128  # the command line's models per stack on a CPU


# --- a finished run -----------------------------------------------------------------------


def test_rerunning_a_finished_run_trains_nothing(tiny_run_copy: Path) -> None:
    out = tiny_run_copy
    before = {name: read_table(out, name) for name in TABLES}
    parts = sorted(p.name for p in out.rglob("part-*.csv"))
    with no_training() as calls:
        assert main(tiny_argv(out)) == 0
    assert calls == []
    for name in TABLES:  # identical, timing column included: nothing was retrained
        pd.testing.assert_frame_equal(read_table(out, name), before[name])
    assert sorted(p.name for p in out.rglob("part-*.csv")) == parts
    for n in ("4", "7", "8"):
        assert (out / f"figure{n}.png").is_file()


def test_trials_down_trains_nothing_and_trials_up_reuses_the_done_trials(
    tiny_run: Path, tiny_run_copy: Path
) -> None:
    out, command = tiny_run_copy, ("figure", "7")
    two = {name: read_table(tiny_run, name) for name in FIGURE7}  # trials 0 and 1
    with no_training() as calls:
        assert main(tiny_argv(out, "--trials", "1", command=command)) == 0
    assert calls == []  # fewer trials: all done already
    one = {name: read_table(out, name) for name in FIGURE7}
    for name in FIGURE7:
        trial0 = two[name][two[name]["trial"] == 0].reset_index(drop=True)
        pd.testing.assert_frame_equal(one[name], trial0)

    with counting_training() as calls:
        assert main(tiny_argv(out, "--trials", "3", command=command)) == 0
    assert sum(calls) == len(one["figure7"]) + len(one["figure7b"])  # only trial 2
    for name in FIGURE7:
        three = read_table(out, name)
        assert len(three) == 3 * len(one[name])
        done = three[three["trial"] < 2].reset_index(drop=True)
        pd.testing.assert_frame_equal(done, two[name])  # reused, not retrained

    with no_training() as calls:
        assert main(tiny_argv(out, "--trials", "2", command=command)) == 0
    assert calls == []
    for name in FIGURE7:
        pd.testing.assert_frame_equal(read_table(out, name), two[name])


def test_another_seed_in_the_same_folder_is_refused_in_one_line(
    tiny_run_copy: Path, capsys
) -> None:
    out = tiny_run_copy
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with no_training() as calls, pytest.raises(SystemExit) as exc:
        main(tiny_argv(out, "--seed", "1", command=("figure", "4")))
    assert exc.value.code == 2 and calls == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    for words in ("root_seed 0", "root_seed 1", "another --out", "--force"):
        assert words in err, words
    assert "see --help" not in err  # the options were right; the folder is the problem
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


@pytest.mark.parametrize(
    ("preset", "protocol", "words"),
    [
        ("tiny", "fixed-steps", "protocol early-stopping"),
        ("quick", "early-stopping", "preset tiny"),
    ],
)
def test_another_protocol_or_preset_in_the_same_folder_is_refused(
    tiny_run_copy: Path, preset, protocol, words, capsys
) -> None:
    argv = ["figure", "8", "--preset", preset, "--protocol", protocol, "--out", str(tiny_run_copy)]
    with no_training() as calls, pytest.raises(SystemExit) as exc:
        main([*argv, "--workers", "1", "--quiet"])
    assert exc.value.code == 2 and calls == []
    err = capsys.readouterr().err
    assert words in err and "root_seed" not in err  # only what differs is named


def test_force_discards_another_seeds_results_and_trains_afresh(
    tiny_run: Path, tiny_run_seed1: TinyRun
) -> None:
    # tiny_run_seed1: figure 7 --seed 1 --force in a copy of tiny_run (root seed 0's there)
    seed0 = {name: read_table(tiny_run, name) for name in FIGURE7}
    assert sum(tiny_run_seed1.trained) == sum(len(seed0[name]) for name in FIGURE7)  # all new
    for gone in ("figure4.csv", "figure4.parts", "figure4.png", "figure8.csv", "figure8.png"):
        assert not (tiny_run_seed1.out / gone).exists(), gone  # seed 0's, discarded
    for name in FIGURE7:
        seed1 = read_table(tiny_run_seed1.out, name)
        assert list(seed1["job_id"]) == list(seed0[name]["job_id"])
        assert not set(seed1["seed"]) & set(seed0[name]["seed"])  # only the new rows
        assert seed1["config"].nunique() == 1
        assert seed1["config"].iloc[0] != seed0[name]["config"].iloc[0]


# --- a killed run -------------------------------------------------------------------------

KILL_COMMAND = ("figure", "7")  # the command line's chunk: figure7 in 2 shards, figure7b in 2


def _shards() -> set[frozenset[str]]:
    """The job ids of each shard of ``figure 7 --preset tiny`` on a CPU."""
    studies = get_preset("tiny").studies()
    return {
        frozenset(job.job_id for job in shard.jobs)
        for name in FIGURE7
        for shard in make_shards(study_jobs(studies[name]), chunk=CPU_CHUNK, device="cpu")
    }


def _start_and_kill(out: Path) -> int | None:
    """Start the command in a subprocess and SIGKILL it as soon as one part exists."""
    return run_and_kill(tiny_argv(out, command=KILL_COMMAND), out / "figure7.parts")


def _assert_only_whole_files(out: Path) -> int:
    """Every CSV parses and every part holds a whole shard; returns rows done."""
    rows = 0
    shards = _shards()
    for path in out.rglob("*"):
        if path.name.startswith("."):  # a temporary file: never a part or a table
            assert not path.name.endswith(".csv") and not path.match("part-*.csv")
            continue
        if path.suffix != ".csv":
            continue
        table = pd.read_csv(path)
        assert {"job_id", "status", "config"} <= set(table.columns), path
        if path.parent.name.endswith(".parts"):
            ids = frozenset(table["job_id"])
            assert len(ids) == len(table) and ids in shards, f"{path} is not a whole shard"
            assert table.notna()[["job_id", "status", "test_mse"]].all().all(), path
            rows += len(table)
    return rows


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
def test_a_run_killed_midway_resumes_to_the_uninterrupted_tables(
    tiny_run: Path, tmp_path: Path
) -> None:
    # the uninterrupted run: the session's tiny run (same preset, seed, chunk, one process)
    total = sum(len(read_table(tiny_run, name)) for name in FIGURE7)
    assert len(_shards()) == 4  # figure7: late, pro (8 models each); figure7b: late, pro

    # kill as soon as the first shard is on disk: figure 7's other shard and both
    # of figure 7(b)'s are still to go, seconds of work, so the kill lands midway;
    # should a process ever finish first, try again in a fresh folder
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

    with counting_training() as calls:
        assert main(tiny_argv(out, command=KILL_COMMAND)) == 0
    assert sum(calls) == total - done  # only what was missing
    for name in FIGURE7:
        pd.testing.assert_frame_equal(
            read_table(out, name), read_table(tiny_run, name), check_exact=True
        )
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


def test_a_store_without_a_folder_keeps_its_parts_in_memory(tmp_path: Path) -> None:
    order = ["a", "b", "c"]
    memory = ResultsStore(None, "t", "cfg", order)
    disk = ResultsStore(tmp_path, "t", "cfg", order)
    for s in (memory, disk):
        s.add(_rows(["c"], value=0.25))
        s.add(_rows(["a", "b"], status="failed", value=float("nan")))
        s.add(_rows(["a"], value=0.5))
        s.add(_rows(["x"], value=9.0))  # not in this run
    assert memory.done() == disk.done() == {"a", "c"}
    # the same table, read back through the same parser, wherever the parts were kept
    pd.testing.assert_frame_equal(memory.rebuild(), disk.rebuild(), check_exact=True)
    assert list(memory.rebuild()["status"]) == ["ok", "failed", "ok"]
    assert memory.path is None and memory.parts is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.parts"]
