"""Issue 24's acceptance: a study as a user writes it, run as a batch job would run it.

A study file in one folder names a user task in another (``../lib/xor3.py``), a
design shaped like torchmultimodal's ``LateFusion`` (encoders in an
``nn.ModuleDict``, a forward that takes a dict and asserts every key is there), and a
``functools.partial``-bound design. It runs from the command line with
``--workers 2``; killed with SIGKILL midway, the same command resumes to the table
of an uninterrupted run; the study file saved beside the table reruns from another
working directory to the same table, and ``progfusion plot`` draws it from there.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from tests.runs import run_and_kill

LIBRARY = '''
"""A user's task and designs, in a folder of its own."""
import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from progfusion.models.data import ModelData, Split


@dataclass(frozen=True)
class XOR3Task:
    """y = sign(x1[0] * x2[0]) as class 0/1; two modalities of width ``dim``."""

    n_train: int = 96
    n_val: int = 32
    n_test: int = 64
    dim: int = 3
    objective = "classification"

    @property
    def input_dims(self):
        return (self.dim, self.dim)

    @property
    def output_dim(self):
        return 2

    def build(self, seed):
        rng = np.random.default_rng(seed)

        def split(n):
            x1, x2 = rng.standard_normal((2, n, self.dim)).astype(np.float32)
            return Split.of([x1, x2], (x1[:, 0] * x2[:, 0] > 0).astype(np.int64))

        return ModelData(split(self.n_train), split(self.n_test), split(self.n_val))


class ConcatFusion(nn.Module):
    def forward(self, embeddings):
        return torch.cat([embeddings[k] for k in sorted(embeddings)], dim=-1)


class LateFusion(nn.Module):
    """torchmultimodal's LateFusion, as it is written there."""

    def __init__(self, encoders, fusion_module, head_module):
        super().__init__()
        self.encoders = nn.ModuleDict({k: encoders[k] for k in sorted(encoders.keys())})
        self.fusion_module = fusion_module
        self.head_module = head_module

    def forward(self, modalities):
        embeddings = {}
        for key, encoder in self.encoders.items():
            assert key in modalities, f"{key} missing in input"
            embeddings[key] = encoder(modalities[key])
        return self.head_module(self.fusion_module(embeddings))


def tmm_late(input_dims, output_dim, *, width=4):
    encoders = {
        name: nn.Sequential(nn.Linear(d, width), nn.ReLU())
        for name, d in zip(("audio", "video"), input_dims)
    }
    return LateFusion(encoders, ConcatFusion(), nn.Linear(2 * width, output_dim))


def film(input_dims, output_dim, *, width=4, depth=1):
    layers = [nn.Linear(sum(input_dims), width), nn.ReLU()]
    for _ in range(depth - 1):
        layers += [nn.Linear(width, width), nn.ReLU()]
    return _Concat(nn.Sequential(*layers, nn.Linear(width, output_dim)))


class _Concat(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, xs):
        return self.net(torch.cat(list(xs), dim=-1))


film6 = functools.partial(film, width=6)
'''

STUDY = """
name = "acceptance"
designs = ["late", "../lib/users.py:tmm_late", "../lib/users.py:film6"]
trials = 2

[task]
name = "../lib/users.py:XOR3Task"

[params]
depth = 1

[grid]
dim = [2, 3]

[design_params.late]
width = 5

[protocol]
batch_size = 32
max_steps = 60
eval_every = 20
"""


def _cli(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "progfusion.figures.cli", *argv]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "lib").mkdir()
    (root / "lib" / "users.py").write_text(LIBRARY)
    (root / "studies").mkdir()
    (root / "studies" / "acceptance.toml").write_text(textwrap.dedent(STUDY))
    return root


def _argv(project: Path, out: Path, *extra: str) -> list[str]:
    study = project / "studies" / "acceptance.toml"
    return ["study", str(study), "--out", str(out), "--workers", "2", "--quiet", *extra]


@pytest.mark.slow
def test_a_users_study_runs_on_two_workers_resumes_after_sigkill_and_reruns_elsewhere(
    project: Path, tmp_path: Path
) -> None:
    reference = tmp_path / "reference"
    done = _cli(*_argv(project, reference))
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(reference / "acceptance.csv")
    assert len(table) == 2 * 2 * 3 and (table["status"] == "ok").all()
    assert set(table["design"]) == {"late", "tmm_late", "film6"}
    assert table.loc[table["design"] == "film6", "width"].eq(6).all()  # bound, recorded
    assert table.loc[table["design"] == "late", "width"].eq(5).all()  # its own parameter

    killed = tmp_path / "killed"
    argv = _argv(project, killed, "--chunk", "1")
    assert run_and_kill(argv, killed / "acceptance.parts") is None, "finished before the kill"
    resumed = _cli(*argv)
    assert resumed.returncode == 0, resumed.stderr
    pd.testing.assert_frame_equal(pd.read_csv(killed / "acceptance.csv"), table)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    saved = reference / "acceptance.toml"
    rerun = _cli("study", str(saved), "--out", "again", "--workers", "2", "--quiet", cwd=elsewhere)
    assert rerun.returncode == 0, rerun.stderr
    again = pd.read_csv(elsewhere / "again" / "acceptance.csv")
    pd.testing.assert_frame_equal(again, table)  # the same configuration, too
    plotted = _cli("plot", str(reference / "acceptance.csv"), cwd=elsewhere)
    assert plotted.returncode == 0, plotted.stderr
    assert (reference / "acceptance.png").is_file()
