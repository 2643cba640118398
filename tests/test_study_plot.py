"""A study's plot reads right whatever its grid and designs, and a table it cannot
draw is refused in one line (issue 24, item 6 and the missing-metric case).

Tables are built by hand with a study table's columns (``job_id``, ``design``,
``trial``, ``status``, one column per grid axis, ``test_mse``), so nothing trains.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from progfusion.experiments import LatentTask, Study  # noqa: E402
from progfusion.figures.cli import main  # noqa: E402
from progfusion.figures.redraw import redraw  # noqa: E402
from progfusion.figures.study_plot import draw_study, plot_study_panel  # noqa: E402
from progfusion.figures.style import (  # noqa: E402
    DESIGN_COLORS,
    DESIGN_MARKERS,
    SPARE_MARKERS,
    design_styles,
)

from tests.test_figure_layout import _text_boxes, clipped, overlapping  # noqa: E402

N_BOOT = 200  # intervals are not under test here: few resamples keep the tests fast


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _table(grid: dict, designs=("late", "pro"), trials: int = 2) -> pd.DataFrame:
    """One ``ok`` row per design, grid cell and trial, with a made-up ``test_mse``."""
    rng = np.random.default_rng(0)
    cells = pd.MultiIndex.from_product(list(grid.values()), names=list(grid)).to_frame(index=False)
    rows = []
    for design in designs:
        for cell in cells.to_dict("records"):
            for trial in range(trials):
                key = "-".join(str(v) for v in (design, *cell.values(), trial))
                rows.append({"job_id": key, "design": design, "trial": trial, "status": "ok",
                             **cell, "test_mse": rng.uniform(0.5, 1.5)})  # fmt: skip
    return pd.DataFrame(rows)


def _study(grid: dict, name: str = "s") -> Study:
    return Study(name=name, task=LatentTask(n_val=32, n_test=32), grid=grid, trials=2)


def _draw(grid: dict, designs=("late", "pro"), table: pd.DataFrame | None = None) -> plt.Figure:
    table = _table(grid, designs) if table is None else table
    fig = draw_study(table, _study(grid))
    fig.canvas.draw()  # ticks and their labels are final only once drawn
    return fig


def _tick_labels(ax) -> list[str]:
    """The labels of the horizontal axis's major ticks inside its view."""
    low, high = sorted(ax.get_xlim())
    return [
        t.label1.get_text()
        for t in ax.xaxis.get_major_ticks()
        if low * (1 - 1e-9) <= t.get_loc() <= high * (1 + 1e-9) and t.label1.get_visible()
    ]


def _styles(ax) -> dict[str, tuple[str, str]]:
    """(colour, marker) of each line, by legend label."""
    return {line.get_label(): (line.get_color(), line.get_marker()) for line in ax.lines}


# --- scales ----------------------------------------------------------------------------


def test_powers_of_two_get_a_base_2_log_axis_labelled_with_the_values() -> None:
    fig = _draw({"n_train": [16, 64, 256, 1024]})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
    assert _tick_labels(ax) == ["16", "64", "256", "1024"]


def test_values_spanning_more_than_a_factor_8_get_a_log_axis() -> None:
    fig = _draw({"lr": [0.1, 1.0, 10.0]})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert _tick_labels(ax) == ["0.1", "1", "10"]


@pytest.mark.parametrize(
    ("axis", "values"), [("eta", [0.0, 0.5, 1.0]), ("n_train", [64, 96, 128]), ("R", [1, 2, 3])]
)
def test_values_within_a_factor_8_or_with_zero_stay_linear(axis, values) -> None:
    ax = _draw({axis: values}).axes[0]
    assert ax.get_xscale() == "linear"


@pytest.mark.parametrize("width_in", [None, 6.4])  # the study figure's panel; a wide one
def test_an_integer_axis_has_integer_ticks_only(width_in) -> None:
    if width_in is None:
        ax = _draw({"R": [1, 2, 3]}).axes[0]
    else:
        _, ax = plt.subplots(figsize=(width_in, 4))
        plot_study_panel(
            ax, table=_table({"R": [1, 2, 3]}), x="R", metric="test_mse", n_boot=N_BOOT
        )
        ax.figure.canvas.draw()
    labels = _tick_labels(ax)
    assert labels and all(label.lstrip("-").isdigit() for label in labels), labels
    assert {"1", "2", "3"} <= set(labels)


# --- colours and markers ---------------------------------------------------------------

FIVE = ("late", "pro", "late-wide", "film", "gated")  # three of ours and two of a user's


def test_every_design_has_its_own_colour_and_marker_in_every_panel() -> None:
    table = _table({"n_train": [16, 64], "R": [1, 2, 3]}, designs=FIVE)
    # "film" fails wherever R = 2: that panel must not hand its colour to "gated"
    table.loc[(table["design"] == "film") & (table["R"] == 2), "status"] = "failed"
    fig = _draw({"n_train": [16, 64], "R": [1, 2, 3]}, table=table)
    per_panel = [_styles(ax) for ax in fig.axes]
    assert len(per_panel) == 3 and "film" not in per_panel[1]
    merged: dict[str, tuple[str, str]] = {}
    for styles in per_panel:
        for label, style in styles.items():
            assert merged.setdefault(label, style) == style, f"{label} changes style between panels"
    assert len(merged) == 5
    assert len({c for c, _ in merged.values()}) == 5 and len({m for _, m in merged.values()}) == 5
    assert merged["late-wide"] == (DESIGN_COLORS["late-wide"], DESIGN_MARKERS["late-wide"])
    for ax in fig.axes:  # each band has its line's colour
        for line, band in zip(ax.lines, ax.collections, strict=True):
            np.testing.assert_allclose(
                band.get_facecolor()[0][:3], matplotlib.colors.to_rgb(line.get_color())
            )


def test_many_user_designs_still_differ_in_colour_and_marker() -> None:
    designs = (*DESIGN_COLORS, *(f"mine{i}" for i in range(len(SPARE_MARKERS))))
    ax = _draw({"R": [1, 2]}, designs=designs).axes[0]
    styles = _styles(ax)
    n = len(designs)
    assert len(styles) == n
    assert len({c for c, _ in styles.values()}) == n and len({m for _, m in styles.values()}) == n


def test_user_designs_take_spare_styles_in_table_order_and_ours_keep_theirs() -> None:
    first = design_styles(["mine", "late", "yours", "pro", "mine"])
    second = design_styles(["yours", "pro", "mine", "late"])
    assert list(first) == ["mine", "late", "yours", "pro"]
    assert first["late"] == second["late"] == {"color": "#0072B2", "marker": "o"}
    assert first["mine"] == second["yours"] and first["yours"] == second["mine"]
    for name in ("late", "early", "pro", "iterative", "late-wide"):  # never a user's
        assert DESIGN_COLORS[name] not in {s["color"] for s in (first["mine"], first["yours"])}


def test_the_legend_names_every_design_once_and_no_text_overlaps() -> None:
    fig = _draw({"R": [1, 2, 3], "n_train": [16, 64, 256, 1024]}, designs=FIVE)
    labels = [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    labels += [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]
    assert labels == ["late fusion", "pro-fusion", "late-wide", "film", "gated"]
    boxes = _text_boxes(fig)
    assert overlapping(boxes) == [] and clipped(fig, boxes) == []


# --- a table the plot cannot draw -------------------------------------------------------

STUDY_FILE = """
name = "s"
designs = ["late", "pro"]
trials = 2

[task]
name = "latent"
n_val = 32
n_test = 64

[grid]
n_train = [16, 64]
"""


def _written(folder: Path, table: pd.DataFrame, name: str = "s") -> Path:
    (folder / f"{name}.toml").write_text(STUDY_FILE)
    table.to_csv(folder / f"{name}.csv", index=False)
    return folder / f"{name}.csv"


def _one_clean_line(message: str, column: str) -> None:
    assert "\n" not in message.strip()
    assert f"lacks the column '{column}'" in message and "it has: job_id, design" in message
    assert "Index(" not in message and "None of" not in message and "_all" not in message


def test_plot_of_a_study_table_without_its_metric_is_one_line_and_exit_code_2(
    tmp_path, capsys
) -> None:
    path = _written(tmp_path, _table({"n_train": [16, 64]}).drop(columns="test_mse"))
    with pytest.raises(SystemExit) as exit_info:
        main(["plot", str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    _one_clean_line(err, "test_mse")
    assert str(path) in err
    with pytest.raises(ValueError) as api:
        redraw(path)
    _one_clean_line(str(api.value), "test_mse")


def test_a_table_where_no_model_trained_says_so(tmp_path) -> None:
    table = _table({"n_train": [16, 64]}).drop(columns="test_mse").assign(status="failed")
    with pytest.raises(ValueError, match="none of its 8 models trained ok") as api:
        redraw(_written(tmp_path, table.assign(error="RuntimeError: boom")))
    _one_clean_line(str(api.value), "test_mse")


def test_draw_study_without_its_metric_raises_a_clean_value_error() -> None:
    table = _table({"n_train": [16, 64]}).drop(columns="test_mse")
    with pytest.raises(ValueError) as api:
        draw_study(table, _study({"n_train": [16, 64]}))
    _one_clean_line(str(api.value), "test_mse")


@pytest.mark.parametrize("drop", ["test_mse", "eta"])
def test_a_figure_7_table_without_a_column_names_it_without_pandas_internals(
    tmp_path, capsys, drop
) -> None:
    table = _table({"eta": [0.0, 1.0], "sigma2": [0.0]}).assign(figure="7").drop(columns=drop)
    path = tmp_path / "figure7.csv"
    table.to_csv(path, index=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["plot", str(path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"lacks the column '{drop}'" in err and "\n" not in err.strip()
    assert "Index(" not in err and "None of" not in err
    if drop == "test_mse":  # the figure's metric: checked up front, with the columns there
        assert "it has: job_id, design" in err


def test_a_gap_table_beside_the_one_drawn_without_its_metric_is_named(tmp_path) -> None:
    table = _table({"R": [1, 2], "eta": [0.0], "sigma2": [0.0]}).assign(figure="gap")
    table.to_csv(tmp_path / "gap-R.csv", index=False)
    no_metric = table.rename(columns={"R": "p"}).drop(columns="test_mse")
    no_metric.to_csv(tmp_path / "gap-p.csv", index=False)
    with pytest.raises(ValueError) as api:
        redraw(tmp_path / "gap-R.csv")
    assert str(api.value).startswith(f"{tmp_path / 'gap-p.csv'} lacks the column 'test_mse'")
    assert "it has: " in str(api.value) and "Index(" not in str(api.value)
