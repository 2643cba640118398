"""Figures as plug-ins (issue 25): the registry is the one list, and a new figure is one module.

A toy figure is written into a temporary module that registers it, with no other
file edited; it then appears in the command line's help and choices, trains and
draws with ``progfusion figure``, is redrawn by ``progfusion plot``, and enters the
report with its claims. The package's figures: every table is trained by one figure
or shared, each size a figure has gives studies, and every table name appears in
its own figure's module and nowhere else in ``experiments/`` or ``figures/``.
"""

from __future__ import annotations

import ast
import importlib
import sys
import textwrap
from pathlib import Path

import pytest
from progfusion.figures.cli import main
from progfusion.figures.registry import FIGURES, figure_of_table, register, sizes
from progfusion.figures.report import claims_of, tables_section

ROOT = Path(__file__).resolve().parents[1]

TOY = '''
"""A toy figure: late fusion's test MSE against eta, on a tiny latent task."""
import matplotlib.pyplot as plt

from progfusion.experiments import LatentTask, Protocol, Study
from progfusion.figures.figure import Figure
from progfusion.figures.registry import register
from progfusion.figures.style import PAPER, TEXT_WIDTH_IN, use_style
from progfusion.figures.verdicts import claim, direction

STUDY = Study(
    name="toy", task=LatentTask(n_train=64, n_val=32, n_test=32), designs=("late",),
    params={"width": 4}, grid={"eta": [0.0, 2.0]},
    protocol=Protocol(max_steps=20, eval_every=10, patience=1, batch_size=32), trials=2,
)


def draw(tables, *, style=PAPER, width_in=TEXT_WIDTH_IN):
    with use_style(style):
        fig, ax = plt.subplots(figsize=(width_in, width_in / 2))
        table = tables["toytable"]
        ax.plot(table["eta"], table["test_mse"], "o")
    return fig


def summary(tables):
    return [f"Toy: {len(tables['toytable'])} models"]


def claims(tables):
    return [claim("toy", "toy claim", "test MSE", direction(), tables["toytable"]["test_mse"])]


FIGURE = register(
    Figure(name="toy", title="Toy: test MSE against eta", sizes={"tiny": {"toytable": STUDY}},
           draw=draw, summary=summary, claims=claims, bands='"toy" is above 0')
)
'''


@pytest.fixture
def toy(tmp_path: Path, monkeypatch):
    """The toy module, imported (it registers itself); unregistered afterwards."""
    (tmp_path / "toyfig.py").write_text(textwrap.dedent(TOY))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("toyfig")
    yield module.FIGURE
    FIGURES.pop("toy", None)
    sys.modules.pop("toyfig", None)


def test_a_registered_figure_appears_in_the_help_and_runs(toy, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit):
        main(["figure", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "Toy: test MSE against eta (trains toytable)" in shown
    out = tmp_path / "out"
    assert main(["figure", "toy", "--preset", "tiny", "--quiet", "--out", str(out)]) == 0
    assert "Toy: 4 models" in capsys.readouterr().out
    assert (out / "toytable.csv").is_file() and (out / "figuretoy.png").is_file()
    (out / "figuretoy.png").unlink()
    assert main(["plot", str(out / "toytable.csv")]) == 0
    assert (out / "figuretoy.png").is_file()
    import pandas as pd

    tables = {"toytable": pd.read_csv(out / "toytable.csv")}
    report = "\n".join(tables_section(tables))
    assert "## Toy: test MSE against eta" in report and "figuretoy.png" in report
    assert '"toy" is above 0' in report
    assert [c.quote for c in claims_of(tables)] == ["toy claim"]


def test_a_size_the_figure_lacks_is_refused_in_one_line(toy, tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["figure", "toy", "--preset", "quick", "--out", str(tmp_path / "out")])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "figure toy has no size 'quick'" in err


def test_a_name_is_registered_once(toy) -> None:
    with pytest.raises(ValueError, match="registered already"):
        register(toy)
    with pytest.raises(ValueError, match="expected a Figure"):
        register("toy")


def test_the_packages_figures_and_their_tables() -> None:
    assert list(FIGURES) == ["4", "7", "8", "gap"]
    assert sizes() == ("tiny", "quick", "cpu", "paper")
    assert sizes(["4"]) == ("tiny", "quick", "paper")
    for figure in FIGURES.values():
        for size in figure.sizes:
            studies = figure.studies(size, seed=3, trials=1)
            assert set(studies) == set(figure.tables)
            assert all(s.seed == 3 and s.trials == 1 for s in studies.values())
        for table in figure.tables:
            owner = figure_of_table(table)
            assert owner is figure or table in owner.tables  # trained by it, or shared
        for table in figure.derived:
            assert figure_of_table(table) is figure


def _string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def test_each_table_name_is_written_in_its_own_module_only() -> None:
    modules = {"4": "fig4.py", "7": "fig7.py", "8": "fig8.py", "gap": "gap_studies.py"}
    sources = [*(ROOT / "figures").glob("*.py"), *(ROOT / "experiments").glob("*.py")]
    for name, figure in FIGURES.items():
        for table in (*figure.tables, *figure.derived):
            if figure_of_table(table) is not figure:
                continue  # another figure's table, named by its constant
            holders = [p.name for p in sources if table in _string_constants(p)]
            assert holders in ([modules[name]], []), (table, holders)
