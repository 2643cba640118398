"""A user's own designs and tasks train on workers, and their study files travel (issue 24).

The user's code lives where users put it: a module in a project folder of its own
(``project/xor3.py``: a 3-modality XOR task and a concatenation design), a script's
``__main__`` (run here as a subprocess reading the script from stdin, as a notebook
would: no worker can import that code, so it must travel by value), or a closure
(refused when it holds a lock). Every study is tiny: two designs, two trials, a few
steps on 64 samples.
"""

from __future__ import annotations

import ast
import functools
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pandas as pd
import pytest
from progfusion.experiments import Protocol, Study, load_study, run_study, save_study
from progfusion.experiments.designs import factory_of, late, resolve_reference
from progfusion.experiments.portable import _guarded_lines, make_portable, travels_by_value
from progfusion.experiments.run import study_fingerprint
from progfusion.experiments.studyfile import study_to_dict
from progfusion.experiments.tasks import LatentTask

PYTHON = sys.executable
PROTOCOL = Protocol(max_steps=20, eval_every=10, patience=2, batch_size=32)

USER_MODULE = '''
"""A user's task and design, in a folder of its own."""

from dataclasses import dataclass

import numpy as np
import torch
from progfusion.models.data import ModelData, Split
from torch import nn


@dataclass(frozen=True)
class XOR3Task:
    """Three 2-wide modalities; the class is the XOR of their first features' signs."""

    n_train: int = 64
    n_val: int = 32
    n_test: int = 32

    objective = "classification"
    input_dims = (2, 2, 2)
    output_dim = 2

    def _split(self, n, rng):
        xs = [rng.standard_normal((n, 2)).astype(np.float32) for _ in range(3)]
        y = (sum((x[:, 0] > 0).astype(int) for x in xs) % 2).astype(np.int64)
        return Split.of(xs, y)

    def build(self, seed):
        rng = np.random.default_rng(seed)
        sizes = (self.n_train, self.n_val, self.n_test)
        train, val, test = (self._split(n, rng) for n in sizes)
        return ModelData(train=train, val=val, test=test)


class Concat(nn.Module):
    def __init__(self, width, output_dim, total):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(total, width), nn.ReLU(), nn.Linear(width, output_dim))

    def forward(self, xs):
        return self.net(torch.cat(list(xs), dim=-1))


def concat(input_dims, output_dim, *, width=4):
    return Concat(width, output_dim, sum(input_dims))
'''


def _tiny(task, designs, name: str = "user") -> Study:
    return Study(
        name=name, task=task, designs=designs, params={"width": 4}, protocol=PROTOCOL, trials=2
    )


def _text(table: pd.DataFrame) -> str:
    return table.to_csv(index=False)


def _run(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [PYTHON, *args], cwd=cwd, input=stdin, capture_output=True, text=True, env=env,
        timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """``<tmp>/project/xor3.py`` (a module name unique to this session: imported once)."""
    folder = tmp_path_factory.mktemp("work") / "project"
    folder.mkdir()
    path = folder / f"xor3_{uuid.uuid4().hex[:8]}.py"
    path.write_text(USER_MODULE)
    return path


@pytest.fixture(scope="module")
def user_study(project) -> Study:
    task = resolve_reference(f"{project}:XOR3Task")()
    return _tiny(task, (f"{project}:concat", "late"), name="xor3")


@pytest.fixture(scope="module")
def one_process(user_study, project) -> tuple[Path, pd.DataFrame]:
    """The study trained in this process, into ``<tmp>/out`` beside ``project``."""
    out = project.parents[1] / "out"
    return out, run_study(user_study, out, progress=False)


def test_user_module_trains_on_a_pool_as_in_one_process(user_study, one_process, tmp_path):
    table = run_study(user_study, tmp_path / "pool", workers=2, progress=False)
    assert set(table["status"]) == {"ok"}
    assert _text(table) == _text(one_process[1])
    assert travels_by_value(user_study.designs[0]) and travels_by_value(type(user_study.task))
    assert not travels_by_value("late")


def test_saved_study_names_user_files_relative_to_its_folder(user_study, one_process, project):
    out, _ = one_process
    saved = load_study(out / "xor3.toml")  # from this test's working directory
    text = (out / "xor3.toml").read_text()
    assert f'"../project/{project.name}:XOR3Task"' in text
    assert f'"../project/{project.name}:concat"' in text
    assert saved.designs[0] == f"{project}:concat"
    assert study_fingerprint(saved, "xor3") == study_fingerprint(user_study, "xor3")
    beside = save_study(user_study, project.parent / "xor3.toml").read_text()
    assert f'"{project.name}:XOR3Task"' in beside  # the study file beside the module
    deeper = project.parents[1] / "out" / "deeper"  # the module two levels up: absolute
    elsewhere = study_to_dict(user_study, base=deeper)
    assert elsewhere["task"]["name"] == f"{project.as_posix()}:XOR3Task"


def test_saved_study_reruns_and_plots_from_another_directory(one_process, tmp_path):
    """The whole project moved elsewhere; a fresh interpreter in another folder draws the
    table, then trains it again from the saved study file on two workers."""
    out, table = one_process
    moved = tmp_path / "moved"
    shutil.copytree(out.parent, moved)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    folder = moved / "out"
    script = f"""
import shutil
from pathlib import Path
from progfusion.figures.cli import main
folder = Path({str(folder)!r})
assert main(["plot", str(folder / "xor3.csv")]) in (0, None)
(folder / "xor3.csv").unlink()
shutil.rmtree(folder / "xor3.parts")
assert main(["study", str(folder / "xor3.toml"), "--out", str(folder), "--workers", "2",
             "--quiet"]) == 0
"""
    done = _run(["-c", script], cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (folder / "xor3.png").is_file()
    assert _text(pd.read_csv(folder / "xor3.csv")) == _text(pd.read_csv(out / "xor3.csv"))


def test_fingerprint_names_a_partial_with_its_keywords(user_study):
    concat = factory_of(user_study.designs[0])

    def bound(width: int) -> Study:
        return user_study.with_(designs=(functools.partial(concat, width=width),), params={})

    first, other = (study_to_dict(bound(w), strict=False)["designs"] for w in (2, 3))
    assert first != other and first[0].endswith(":concat, width=2)")
    with pytest.raises(ValueError, match="design_params"):
        study_to_dict(bound(2))


def test_reference_to_a_package_file_imports_it_as_the_package_module(tmp_path):
    name = f"userpkg_{uuid.uuid4().hex[:8]}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text("WIDTH = 3\n")
    (package / "designs.py").write_text(
        "from .base import WIDTH\n\ndef width():\n    return WIDTH\n"
    )
    found = resolve_reference(f"{package / 'designs.py'}:width")
    assert found() == 3 and found.__module__ == f"{name}.designs"


def test_reference_to_a_second_file_of_the_same_name_is_refused(tmp_path):
    stem = f"clash_{uuid.uuid4().hex[:8]}"
    for folder, value in (("a", 1), ("b", 2)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / f"{stem}.py").write_text(f"VALUE = {value}\n")
    assert resolve_reference(f"{tmp_path / 'a' / stem}.py:VALUE") == 1
    with pytest.raises(ValueError, match="already imported"):
        resolve_reference(f"{tmp_path / 'b' / stem}.py:VALUE")


def test_unpicklable_factory_is_refused_before_training(tmp_path):
    lock = threading.Lock()

    def guarded_late(input_dims, output_dim, *, width=4):
        with lock:
            return late(input_dims, output_dim, width=width)

    study = _tiny(LatentTask(n_train=64, n_val=32, n_test=32), (guarded_late, "late"))
    with pytest.raises(ValueError, match=r"design 'guarded_late' cannot be sent to worker") as err:
        run_study(study, tmp_path / "out", workers=2, progress=False)
    assert "\n" not in str(err.value) and "workers=1" in str(err.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    make_portable(study, workers=1)  # in this process: nothing to send


SCRIPT_HEAD = """
from progfusion.experiments import LatentTask, Protocol, Study, run_study

study = Study(
    name="guard", task=LatentTask(n_train=64, n_val=32, n_test=32), designs=("late",),
    params={"width": 4}, protocol=Protocol(max_steps=20, eval_every=10, batch_size=32),
    trials=2,
)
"""


def test_script_without_main_guard_is_refused_in_one_line(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(SCRIPT_HEAD + "table = run_study(study, workers=2, progress=False)\n")
    done = _run([str(script)], tmp_path)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: run_study with workers=2 is called at the top level of")
    line = len(SCRIPT_HEAD.splitlines()) + 1  # the call's
    assert f"{script} (line {line})" in last and 'if __name__ == "__main__":' in last
    assert "BrokenProcessPool" not in done.stderr and "bootstrapping" not in done.stderr


@pytest.mark.parametrize(
    ("source", "blocks"),
    [
        ("x = 1\nif __name__ == '__main__':\n    run()\n", [(3, 3)]),
        ("if '__main__' == __name__ and ok:\n    run()\n    more()\n", [(2, 3)]),
        ("if __name__ != '__main__':\n    pass\nelse:\n    run()\n", [(4, 4)]),
        ("if name == '__main__':\n    run()\n", []),
    ],
)
def test_main_guard_blocks_are_found(source, blocks):
    assert _guarded_lines(ast.parse(source)) == blocks


MAIN_DESIGN = """
import dataclasses
import torch
from torch import nn
from progfusion.experiments import Protocol, Study, run_study
from progfusion.experiments.portable import travels_by_value
from progfusion.models.data import ModelData, Split


@dataclasses.dataclass(frozen=True)
class SumTask:
    n_train: int = 64
    n_val: int = 32
    n_test: int = 32

    objective = "regression"
    input_dims = (3, 2)
    output_dim = 1

    def build(self, seed):
        g = torch.Generator().manual_seed(seed)
        def split(n):
            xs = [torch.randn(n, d, generator=g) for d in self.input_dims]
            return Split.of(xs, sum(x.sum(1, keepdim=True) for x in xs))
        return ModelData(train=split(self.n_train), val=split(self.n_val), test=split(self.n_test))


def summed(input_dims, output_dim, *, width=4):
    heads = [nn.Sequential(nn.Linear(d, width), nn.Tanh()) for d in input_dims]

    class Sum(nn.Module):
        def __init__(self):
            super().__init__()
            self.heads = nn.ModuleList(heads)
            self.out = nn.Linear(width, output_dim)

        def forward(self, xs):
            return self.out(sum(h(x) for h, x in zip(self.heads, xs)))

    return Sum()


if __name__ == "__main__":
    study = Study(
        name="main", task=SumTask(), designs=(summed, "late"), params={"width": 4},
        protocol=Protocol(max_steps=20, eval_every=10, batch_size=32), trials=2,
    )
    one = run_study(study, progress=False)
    pool = run_study(study, workers=2, progress=False)
    assert travels_by_value(summed) and travels_by_value(SumTask)
    assert set(pool["status"]) == {"ok"}, pool["error"].dropna().iloc[0]
    assert one.to_csv(index=False) == pool.to_csv(index=False)
    print("same tables")
"""


def test_design_and_task_of_main_without_a_file_train_on_a_pool(tmp_path):
    """As in a notebook (``python -c``: ``__main__`` has no file), workers can get the code
    only by value."""
    done = _run(["-c", textwrap.dedent(MAIN_DESIGN)], tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "same tables" in done.stdout


def test_script_read_from_stdin_is_refused_on_a_pool(tmp_path):
    """Its workers would run ``<stdin>`` again as a file: refused before they start."""
    done = _run(
        ["-"], tmp_path, stdin=SCRIPT_HEAD + "run_study(study, workers=2, progress=False)\n"
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: run_study with workers=2: every worker process")
    assert "<stdin> is not a file" in last and "BrokenProcessPool" not in done.stderr


def test_user_module_trains_on_dask_by_value(tmp_path):
    """The Dask worker starts before the module exists: it can only get the code by value."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as cluster:
        folder = tmp_path / "late_code"
        folder.mkdir()
        path = folder / f"dask_xor3_{uuid.uuid4().hex[:8]}.py"
        path.write_text(USER_MODULE)
        design = resolve_reference(f"{path}:concat")  # a function: no file name travels
        study = _tiny(resolve_reference(f"{path}:XOR3Task")(), (design, "late"), name="dask")
        table = run_study(study, scheduler=cluster.scheduler_address, progress=False)
    assert set(table["status"]) == {"ok"}, table["error"].dropna().iloc[0]
    assert _text(table) == _text(run_study(study, progress=False))
