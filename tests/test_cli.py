"""The ``progfusion`` command line (figures/cli.py, figures/redraw.py).

Checked: the installed console script answers ``--help`` and ``--version``; every
bad argument exits with code 2 and one line on stderr naming what was wrong,
before anything is trained or written; ``plot TABLE`` redraws Figures 4, 7 and 8
from the tables of the session's tiny run (``tests/conftest.py``) alone, without
training, into the same pixels; ``--compile`` reaches the trainer.
(``--scheduler`` without Dask is not tested: Dask is installed where the tests run.)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from progfusion.experiments import run as run_module
from progfusion.figures.cli import main

from tests.runs import no_training as no_training_at_all
from tests.runs import tiny_argv


def _console_script() -> list[str]:
    """The installed ``progfusion`` script (the one in this interpreter's bin folder)."""
    script = shutil.which("progfusion", path=str(Path(sys.executable).parent))
    if script is None:  # pragma: no cover - not installed as a script
        pytest.skip("the progfusion console script is not installed next to this Python")
    return [script]


# --- help and version ---------------------------------------------------------------------


def test_help_exits_0_and_lists_the_commands() -> None:
    done = subprocess.run([*_console_script(), "--help"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for command in ("figures", "figure", "study", "plot", "theory", "report"):
        assert command in done.stdout
    assert done.stderr == ""


def test_version_exits_0_and_prints_the_installed_version() -> None:
    done = subprocess.run([*_console_script(), "--version"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"progfusion {metadata.version('progfusion')}"


@pytest.mark.parametrize("command", [["figures"], ["figure"], ["study"], ["plot"], ["report"]])
def test_subcommand_help_exits_0(command, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*command, "--help"])
    assert exc.value.code == 0
    assert "usage: progfusion" in capsys.readouterr().out


# --- bad arguments --------------------------------------------------------------------------


def _assert_one_line_error(argv: list[str], words: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    for word in words:
        assert word in err, f"{word!r} not in {err!r}"
    return err


BAD_RUN_ARGS = [
    (["figure", "5"], ["name", "'5'"]),
    (["figure", "7", "--trials", "0"], ["--trials", "'0'"]),
    (["figure", "7", "--trials", "x"], ["--trials", "'x'"]),
    (["figure", "7", "--seed", "-1"], ["--seed", "'-1'"]),
    (["figure", "7", "--preset", "huge"], ["--preset", "'huge'"]),
    (["figure", "7", "--protocol", "nope"], ["--protocol", "'nope'"]),
    (["figures", "--workers", "0"], ["--workers"]),
    (["figures", "--chunk", "-3"], ["--chunk"]),
    (["figures", "--device", "tpu"], ["--device", "'tpu'"]),
    (["figures", "--compile", "fast"], ["--compile", "'fast'"]),
    (["figures", "--bogus"], ["--bogus"]),
    (["figure"], ["name"]),
    ([], ["command"]),
]


@pytest.mark.parametrize(("argv", "words"), BAD_RUN_ARGS, ids=lambda v: " ".join(v))
def test_bad_arguments_exit_2_with_one_line_naming_them(argv, words, tmp_path, capsys) -> None:
    out = tmp_path / "never"
    if argv and argv[0] in ("figure", "figures"):
        argv = [*argv, "--out", str(out)]
    _assert_one_line_error(argv, words, capsys)
    assert not out.exists()  # nothing trained, nothing written


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is available here")
def test_device_cuda_without_a_gpu_exits_2(tmp_path, capsys) -> None:
    out = tmp_path / "never"
    argv = ["figure", "7", "--preset", "tiny", "--device", "cuda", "--out", str(out)]
    _assert_one_line_error(argv, ["--device", "cuda"], capsys)
    assert not out.exists()


def _write(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    "content",
    [
        b"a,b\n1,2\n",  # a CSV, but not a results table
        b"job_id,figure,status\n",  # a results table's header, no rows
        b"job_id,figure,status\nx,5,ok\n",  # a figure that cannot be drawn
        b"",  # empty
        b'a,"b\n1,2\n',  # not valid CSV
        b"\x00\xff\xfe\xfa",  # not text
    ],
    ids=["not-a-table", "no-rows", "figure-5", "empty", "bad-csv", "binary"],
)
def test_plot_on_a_file_that_is_not_a_results_table_exits_2(content, tmp_path, capsys) -> None:
    path = _write(tmp_path / "mine.csv", content)
    _assert_one_line_error(["plot", str(path)], ["plot", "mine.csv"], capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.csv"]


def test_plot_on_a_missing_file_exits_2(tmp_path, capsys) -> None:
    missing = tmp_path / "missing.csv"
    _assert_one_line_error(["plot", str(missing)], ["plot", "missing.csv"], capsys)


# --- plot: redraw from the tables alone ------------------------------------------------------


@pytest.fixture
def no_training(monkeypatch) -> list[int]:
    calls: list[int] = []

    def train_stack(factory, seeds, *args, **kwargs):
        calls.append(len(seeds))
        raise AssertionError("plot trained a model")

    monkeypatch.setattr(run_module, "train_stack", train_stack)
    return calls


@pytest.mark.parametrize("n", ["4", "7", "8"])
def test_plot_redraws_a_figure_from_its_table_without_training(
    n, tiny_run, no_training, tmp_path, capsys
) -> None:
    out = tmp_path / "redrawn"
    open_before = set(plt.get_fignums())
    assert main(["plot", str(tiny_run / f"figure{n}.csv"), "--out", str(out)]) == 0
    assert set(plt.get_fignums()) <= open_before  # the figure drawn is closed
    assert no_training == []
    assert sorted(p.name for p in out.iterdir()) == [f"figure{n}.pdf", f"figure{n}.png"]
    assert (out / f"figure{n}.pdf").read_bytes().startswith(b"%PDF")
    # the same pixels as the figure drawn by the run itself
    redrawn = mpimg.imread(out / f"figure{n}.png")
    original = mpimg.imread(tiny_run / f"figure{n}.png")
    assert np.array_equal(redrawn, original)
    assert f"figure{n}.png" in capsys.readouterr().out


def test_plot_writes_beside_the_table_by_default(tiny_run, no_training, tmp_path) -> None:
    # figure7.csv alone, without figure7b.csv beside it: panel (a) only
    table = shutil.copy(tiny_run / "figure7.csv", tmp_path / "figure7.csv")
    assert main(["plot", str(table)]) == 0
    assert no_training == []
    assert (tmp_path / "figure7.png").is_file() and (tmp_path / "figure7.pdf").is_file()
    image = mpimg.imread(tmp_path / "figure7.png")
    assert image.ndim == 3 and image.shape[0] > 100


# --- --compile ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["default", "reduce-overhead", "max-autotune"])
def test_compile_accepts_the_trainers_modes(mode) -> None:
    from progfusion.figures.cli import build_parser
    from progfusion.models.training import COMPILE_MODES

    assert mode in COMPILE_MODES
    args = build_parser().parse_args(["figures", "--compile", mode])
    assert args.compile == mode
    assert build_parser().parse_args(["figures"]).compile is None  # off by default


def test_compile_off_is_not_a_mode(capsys) -> None:
    _assert_one_line_error(["figures", "--compile", "off"], ["--compile", "'off'"], capsys)


@pytest.mark.slow
def test_compile_reaches_the_trainer(tmp_path, monkeypatch) -> None:
    requested = []
    real = run_module.train_stack

    def train_stack(*args, compile=None, **kwargs):  # noqa: A002
        requested.append(compile)
        return real(*args, **kwargs)  # eager: this test is about the plumbing

    monkeypatch.setattr(run_module, "train_stack", train_stack)
    argv = ["figure", "7", "--preset", "tiny", "--trials", "1", "--workers", "1", "--quiet"]
    assert main([*argv, "--compile", "reduce-overhead", "--out", str(tmp_path / "a")]) == 0
    assert requested and set(requested) == {"reduce-overhead"}
    requested.clear()
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert requested and set(requested) == {None}  # off by default


# --- help reads as plain text, every argument explained --------------------------------------


def _subparsers():
    from progfusion.figures.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, sub.choices


def test_every_argument_has_help_and_every_option_its_default() -> None:
    _, commands = _subparsers()
    assert set(commands) == {"figures", "figure", "study", "plot", "theory", "report"}
    for name, parser in commands.items():
        assert parser.description, f"{name} has no description"
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.dest} has no help"
            if action.option_strings:
                assert "default" in action.help, f"{name} {action.option_strings[0]}: no default"


@pytest.mark.parametrize(
    "command", [[], ["figures"], ["figure"], ["study"], ["theory"], ["report"]]
)
def test_help_is_plain_text_within_80_columns(command, monkeypatch, capsys) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert "``" not in out and ":class:" not in out  # no reST markup
    assert max(len(line) for line in out.splitlines()) <= 80
    if command == ["figure"]:
        text = " ".join(out.split())
        assert "figure7, figure7b" in text and "Figure 8" in text  # 7 trains 7(b) and 8's models


def test_a_rerun_says_it_reuses_the_tables_and_shows_no_bar(tiny_run_copy, capsys) -> None:
    argv = [a for a in tiny_argv(tiny_run_copy, command=("figure", "8")) if a != "--quiet"]
    with no_training_at_all():
        assert main(argv) == 0
    captured = capsys.readouterr()
    assert "figure7: reusing 16 of 16 models already trained" in captured.err
    assert "model/s" not in captured.err
    lines = [line for line in captured.out.splitlines() if not line.startswith("wrote ")]
    assert lines and max(len(line) for line in lines) <= 80  # all but the output path
