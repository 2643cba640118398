"""Tiny figure runs shared by the whole session (issue 11).

Training is what makes the end-to-end tests slow, so each run that several tests
only read is made once per session, here:

- ``tiny_run``: ``progfusion figures --preset tiny`` (2 trials, root seed 0, one
  process, the default chunk), the reference table of every end-to-end test.
  Read it, never write into it: a test that runs a command in it (which rewrites
  ``run.json`` and the tables) takes ``tiny_run_copy``;
- ``tiny_run_two_workers``: ``figure 7`` then ``figure 8`` with ``--workers 2``,
  and the worker count of every executor made;
- ``tiny_run_seed1``: a copy of ``tiny_run`` in which ``figure 7 --seed 1 --force``
  ran (discarding seed 0's results), and the size of every stack it trained;
- ``gap_run``: ``progfusion figure gap --preset tiny`` (read only, like ``tiny_run``).

Tests that check a behaviour of a run itself (resuming, killing, a Dask cluster,
a second run of the same seed) still make their own runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from progfusion.experiments import executors as executors_module
from progfusion.figures.cli import main

from tests.runs import TinyRun, counting_training, tiny_argv


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a module's tests (``pytestmark =
    pytest.mark.usefixtures("one_thread")``): their models are tiny, and on a busy
    2-core machine two OpenMP threads contending with other processes run ~100x
    slower (measured)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """``progfusion figures --preset tiny`` in one process (read only: see the module)."""
    out = tmp_path_factory.mktemp("tiny_run")
    assert main(tiny_argv(out)) == 0
    return out


@pytest.fixture
def tiny_run_copy(tiny_run: Path, tmp_path: Path) -> Path:
    """A copy of ``tiny_run`` of this test's own, to run commands in."""
    return Path(shutil.copytree(tiny_run, tmp_path / "tiny_run"))


@pytest.fixture(scope="session")
def tiny_run_two_workers(tmp_path_factory) -> TinyRun:
    """``figure 7 --workers 2`` (two tables, one local pool), then ``figure 8`` on its table.

    ``pools``: the workers of each executor the first command made. (Figure 4 is
    left out: in a pool on two busy cores it costs more than the rest together.)
    """
    out = tmp_path_factory.mktemp("tiny_run_two_workers")
    pools: list[int] = []
    real = executors_module.make_executor

    def counting(workers, client=None):
        pools.append(workers)
        return real(workers, client)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(executors_module, "make_executor", counting)
        assert main(tiny_argv(out, command=("figure", "7"), workers=2)) == 0
        made = list(pools)
        assert main(tiny_argv(out, command=("figure", "8"), workers=2)) == 0
    assert pools == made  # figure 8 drew from figure 7's table: no executor, no training
    return TinyRun(out, pools=made)


@pytest.fixture(scope="session")
def tiny_run_seed1(tiny_run: Path, tmp_path_factory) -> TinyRun:
    """``figure 7 --seed 1 --force`` run in a copy of ``tiny_run`` (which held seed 0)."""
    out = Path(shutil.copytree(tiny_run, tmp_path_factory.mktemp("tiny_run_seed1") / "run"))
    with counting_training() as trained:
        assert main(tiny_argv(out, "--seed", "1", "--force", command=("figure", "7"))) == 0
    return TinyRun(out, trained=trained)


@pytest.fixture(scope="session")
def gap_run(tmp_path_factory) -> Path:
    """``progfusion figure gap --preset tiny`` in one process (about 15 s; read only)."""
    out = tmp_path_factory.mktemp("gap_run")
    argv = ["figure", "gap", "--preset", "tiny", "--out", str(out), "--workers", "1", "--quiet"]
    assert main(argv) == 0
    return out
