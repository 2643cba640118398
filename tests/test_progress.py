"""Progress bars go to a terminal only, unless asked for (issue 24, item 4).

``run_study(progress=None)`` (the default) and the command line without an option
draw a bar only when stderr is a terminal, so a redirected log gets no
carriage-return lines; ``progress=True`` and ``--progress`` draw it anyway;
``progress=False`` and ``--quiet`` never do. Checked on a study of four tiny models.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from progfusion.experiments import LatentTask, Protocol, Study, run_study
from progfusion.figures.cli import main

STUDY = Study(
    name="bars",
    task=LatentTask(n_train=64, n_val=32, n_test=32),
    designs=("late",),
    params={"width": 4},
    grid={"eta": [0.0, 1.0]},
    protocol=Protocol(name="fixed-steps", max_steps=10, batch_size=32),
    trials=2,
)

STUDY_FILE = """
name = "bars"
designs = ["late"]
trials = 2

[task]
name = "latent"
n_train = 64
n_val = 32
n_test = 32

[params]
width = 4

[grid]
eta = [0.0, 1.0]

[protocol]
name = "fixed-steps"
batch_size = 32
max_steps = 10
"""


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def _has_bar(text: str) -> bool:
    """Whether ``text`` holds a tqdm bar of the study's models (redrawn with ``\\r``)."""
    return "\r" in text and "bars: models" in text


@pytest.mark.parametrize(
    ("progress", "terminal", "bar"),
    [(None, False, False), (None, True, True), (True, False, True), (False, True, False)],
)
def test_run_study_draws_a_bar_on_a_terminal_or_when_asked(
    progress, terminal, bar, monkeypatch, capsys
) -> None:
    stderr = _Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    table = run_study(STUDY, progress=progress)
    assert len(table) == 4 and (table["status"] == "ok").all()
    assert _has_bar(stderr.getvalue()) == bar, repr(stderr.getvalue())
    if progress is False:
        assert stderr.getvalue() == ""


@pytest.mark.parametrize(("option", "bar"), [((), False), (("--progress",), True)])
def test_the_command_line_draws_a_bar_off_a_terminal_only_with_progress(
    option, bar, tmp_path: Path, capsys
) -> None:
    study = tmp_path / "bars.toml"
    study.write_text(STUDY_FILE)
    argv = ["study", str(study), "--out", str(tmp_path / "out"), "--workers", "1", *option]
    assert main(argv) == 0
    err = capsys.readouterr().err  # captured: not a terminal
    assert _has_bar(err) == bar, repr(err)


def test_progress_and_quiet_exclude_each_other(tmp_path: Path, capsys) -> None:
    argv = ["study", str(tmp_path / "bars.toml"), "--progress", "--quiet"]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
