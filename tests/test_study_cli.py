"""``progfusion study FILE.toml``: a hand-written study runs, resumes and fails cleanly.

The study: a 3 x 3 grid over training samples x R, late and pro-fusion and a user's
own design (``docs/examples/gated_fusion.py``), at a size that trains in seconds.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from progfusion.figures.cli import main

from tests.runs import run_and_kill

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "gated_fusion.py"
STUDY = f"""
name = "hand"
designs = ["late", "pro", "{EXAMPLE}:gated_pro"]
trials = 1

[task]
name = "latent"
eta = 3.0
sigma2 = 0.25
n_val = 32
n_test = 64

[params]
width = 4

[grid]
n_train = [64, 96, 128]
R = [1, 2, 3]

[protocol]
batch_size = 32
max_steps = 40
eval_every = 20
"""


def _write(folder: Path, text: str = STUDY) -> Path:
    path = folder / "hand.toml"
    path.write_text(text)
    return path


def _argv(study: Path, out: Path, *extra: str) -> list[str]:
    return ["study", str(study), "--out", str(out), "--workers", "1", "--quiet", *extra]


def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "hand.csv")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path]:
    """The study file and the folder of one uninterrupted run."""
    folder = tmp_path_factory.mktemp("hand")
    study = _write(folder)
    out = folder / "out"
    assert main(_argv(study, out)) == 0
    return study, out


def test_a_hand_written_study_runs_and_its_table_loads_with_pandas(finished, capsys) -> None:
    _, out = finished
    table = pd.read_csv(out / "hand.csv")
    assert len(table) == 3 * 3 * 3
    assert (table["status"] == "ok").all()
    assert set(table["design"]) == {"late", "pro", "gated_pro"}
    assert sorted(set(zip(table["n_train"], table["R"], strict=True))) == [
        (n, r) for n in (64, 96, 128) for r in (1, 2, 3)
    ]
    assert (out / "hand.toml").is_file()
    # R = 1 is the base model: pro-fusion equals late fusion exactly there
    r1 = table[table["R"] == 1].pivot(index="n_train", columns="design", values="test_mse")
    assert (r1["late"] == r1["pro"]).all()


def test_the_summary_names_each_design_against_the_first(tmp_path: Path, capsys) -> None:
    study = _write(tmp_path, STUDY.replace('"late", "pro", ', '"late", ').replace("64, 96, ", ""))
    assert main(_argv(study, tmp_path / "out")) == 0
    printed = capsys.readouterr().out
    assert "study hand: 6 models" in printed
    assert "gated_pro" in printed and "than late in" in printed


def _run_and_kill(study: Path, out: Path) -> int | None:
    """Start the study in a subprocess, SIGKILL it once a part file exists."""
    return run_and_kill(_argv(study, out, "--chunk", "1"), out / "hand.parts")


@pytest.mark.slow
def test_a_study_killed_midway_resumes_to_the_uninterrupted_table(finished, tmp_path) -> None:
    study, reference = finished
    out = tmp_path / "out"
    assert _run_and_kill(study, out) is None, "the run finished before it could be killed"
    done = sum(len(pd.read_csv(p)) for p in (out / "hand.parts").glob("part-*.csv"))
    assert 0 < done < 27
    assert main(_argv(study, out, "--chunk", "1")) == 0
    pd.testing.assert_frame_equal(_table(out), _table(reference))


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('"late", "pro"', '"late", "prog"'), "unknown design 'prog'"),
        (("[params]\nwidth = 4", "[params]\nwidth = 4\nhead = 2"), "'head' is not a parameter"),
        (("n_val = 32", "n_val = -32"), "task.n_val must be an integer >= 0"),
        (("batch_size = 32", 'name = "annealing"\nbatch_size = 32'), "protocol.name must be"),
        (('name = "hand"\n', ""), "name: missing"),
        (("trials = 1", "trials = 1\n["), "not valid TOML"),
    ],
)
def test_bad_study_files_are_one_line_and_exit_code_2(tmp_path, capsys, edit, message) -> None:
    old, new = edit
    assert old in STUDY
    study = _write(tmp_path, STUDY.replace(old, new, 1))
    with pytest.raises(SystemExit) as exit_info:
        main(_argv(study, tmp_path / "out"))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "out" / "hand.csv").exists()


def test_a_missing_study_file_is_one_line(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(_argv(tmp_path / "nope.toml", tmp_path / "out"))
    assert exit_info.value.code == 2
    assert "cannot read study file" in capsys.readouterr().err


def test_plot_draws_a_study_table_from_the_study_file_beside_it(finished, tmp_path) -> None:
    _, out = finished
    assert main(["plot", str(out / "hand.csv"), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "hand.png").stat().st_size > 0 and (tmp_path / "hand.pdf").is_file()


def test_plot_refuses_a_study_table_without_its_study_file(finished, tmp_path, capsys) -> None:
    _, out = finished
    lone = tmp_path / "hand.csv"
    lone.write_text((out / "hand.csv").read_text())
    with pytest.raises(SystemExit) as exit_info:
        main(["plot", str(lone)])
    assert exit_info.value.code == 2
    assert "hand.toml is missing" in capsys.readouterr().err
