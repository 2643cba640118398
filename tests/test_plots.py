"""Plot functions draw what they should on small synthetic tables and return their Axes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection, QuadMesh  # noqa: E402
from progfusion.figures.plots import (  # noqa: E402
    plot_accuracy_vs_width,
    plot_grid_heatmap,
    plot_improvement_vs_steps,
)
from progfusion.figures.style import (  # noqa: E402
    COLUMN_WIDTH_IN,
    DESIGN_COLORS,
    PAPER,
    SLIDES,
    figsize,
    use_style,
)

WIDTHS = [2, 4, 8]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _width_table(designs=("late", "early", "pro"), trials=4):
    rng = np.random.default_rng(0)
    rows = [
        {"design": d, "width": w, "trial": t, "test_accuracy": rng.uniform(0.1, 0.9)}
        for d in designs
        for w in WIDTHS
        for t in range(trials)
    ]
    return pd.DataFrame(rows)


def _grid_table(etas=(0.0, 0.5, 2.0), sigmas=(0.0, 1.0)):
    rows = [{"eta": e, "sigma2": s, "improvement": e - 2 * s} for e in etas for s in sigmas]
    return pd.DataFrame(rows)


def _steps_table():
    steps = [100, 200, 400, 800]
    return pd.DataFrame(
        {
            "steps": steps,
            "mean_improvement": [5.0, 2.0, 0.0, -3.0],
            "ci_low": [4.0, 1.0, -1.0, -4.0],
            "ci_high": [6.0, 3.0, 1.0, -2.0],
            "win_fraction": [0.99, 0.7, 0.5, 0.1],
        }
    )


def _bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_accuracy_vs_width_draws_lines_bands_and_majority():
    fig, ax = plt.subplots()
    out = plot_accuracy_vs_width(ax, table=_width_table(), majority=0.2, n_boot=200)
    assert out is ax
    assert len(ax.lines) == 3 + 1  # one per design + majority line
    assert len(_bands(ax)) == 3
    assert ax.lines[-1].get_linestyle() == "--"
    assert ax.get_xscale() == "log"
    np.testing.assert_allclose(ax.get_xticks(), WIDTHS)
    assert ax.lines[0].get_color() == DESIGN_COLORS["late"]
    assert ax.get_xlabel() == "hidden width $d$" and ax.get_ylabel() == "test accuracy"


def test_accuracy_vs_width_band_contains_mean_and_new_axes():
    table = _width_table(designs=("pro",))
    ax = plot_accuracy_vs_width(table=table, n_boot=200)
    assert ax is not None and len(ax.lines) == 1
    means = table.groupby("width")["test_accuracy"].mean().to_numpy()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), means)


def test_accuracy_vs_width_missing_column():
    with pytest.raises(ValueError, match="test_accuracy"):
        plot_accuracy_vs_width(table=_width_table().drop(columns="test_accuracy"))


def test_grid_heatmap_mesh_sign_markers_colorbar():
    fig, ax = plt.subplots()
    table = _grid_table().assign(sign=[1, 0, -1, 0, 0, 1])
    out = plot_grid_heatmap(ax, table=table, value="improvement", cbar_label="%", sign="sign")
    assert out is ax
    meshes = [c for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 1
    assert meshes[0].get_array().shape == (2, 3)  # [sigma2, eta]
    assert len(ax.collections) == 1  # no contour lines
    marks = {line.get_marker(): list(zip(*line.get_data(), strict=True)) for line in ax.lines}
    assert marks == {"^": [(0.0, 0.0), (2.0, 1.0)], "v": [(0.5, 0.0)]}  # (eta, sigma2)
    (cbar,) = ax.child_axes  # the colour bar, in an inset beside its heatmap
    assert len(fig.axes) == 1 and cbar.get_ylabel() == "%"
    assert cbar.get_position().x0 > ax.get_position().x1  # right of the heatmap
    vmin, vmax = meshes[0].get_clim()
    assert vmin == pytest.approx(-vmax)  # diverging, centred at 0
    assert "eta" in ax.get_xlabel() and "sigma_2" in ax.get_ylabel()


def test_grid_heatmap_constant_or_thin_grid_and_fixed_spread():
    const = _grid_table().assign(improvement=1.0)
    ax = plot_grid_heatmap(table=const, value="improvement")
    assert len(ax.collections) == 1 and not ax.child_axes and not ax.lines
    ax = plot_grid_heatmap(table=_grid_table(sigmas=(0.5,)), value="improvement")
    assert len(ax.collections) == 1
    wins = _grid_table().assign(w=0.6)
    ax = plot_grid_heatmap(table=wins, value="w", center=0.5, spread=0.5)
    assert ax.collections[0].get_clim() == (0.0, 1.0)


def test_grid_heatmap_labels_at_most_five_ticks_per_axis():
    table = _grid_table(etas=[0.5 * i for i in range(9)], sigmas=[0.25 * i for i in range(9)])
    ax = plot_grid_heatmap(table=table, value="improvement")
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert len(ax.get_xticks()) == 9 and 0 < sum(bool(t) for t in labels) <= 5
    assert labels[0] == "0" and labels[-1] == "4"


def test_grid_heatmap_rejects_duplicates():
    table = pd.concat([_grid_table(), _grid_table()])
    with pytest.raises(ValueError, match="one row per"):
        plot_grid_heatmap(table=table, value="improvement")
    with pytest.raises(ValueError, match="delta_auc"):
        plot_grid_heatmap(table=_grid_table(), value="delta_auc")


def test_improvement_vs_steps_twin_axis():
    fig, ax = plt.subplots()
    out = plot_improvement_vs_steps(ax, table=_steps_table())
    assert out is ax
    assert len(ax.lines) == 2  # improvement + break-even line
    assert len(_bands(ax)) == 1
    assert ax.get_xscale() == "log"
    twin = [a for a in fig.axes if a is not ax]
    assert len(twin) == 1 and len(twin[0].lines) == 1
    # the left axis's 0 and the right axis's 0.5 are one line: the middle of both
    low, high = ax.get_ylim()
    assert low == pytest.approx(-high)
    low, high = twin[0].get_ylim()
    assert (low + high) / 2 == pytest.approx(0.5) and low < 0.0 and high > 1.0  # markers fit
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["mean improvement (left)", "win fraction (right)", "break-even: 0% = 0.5"]


PANELS = {
    "width": lambda ax: plot_accuracy_vs_width(ax, table=_width_table(), majority=0.2, n_boot=100),
    "grid": lambda ax: plot_grid_heatmap(
        ax, table=_grid_table(), value="improvement", cbar_label="%"
    ),
    "steps": lambda ax: plot_improvement_vs_steps(ax, table=_steps_table()),
}


@pytest.mark.parametrize("panel", sorted(PANELS))
def test_panel_saves_at_column_width_under_paper_style(tmp_path, panel):
    font_before = matplotlib.rcParams["font.size"]
    with use_style(PAPER):
        assert matplotlib.rcParams["font.size"] == 8
        fig, ax = plt.subplots()
        assert fig.get_size_inches()[0] == pytest.approx(COLUMN_WIDTH_IN)
        PANELS[panel](ax)
        path = tmp_path / f"{panel}.png"
        fig.savefig(path)  # a layout that cannot fit would warn, and warnings are errors
    assert path.stat().st_size > 0
    assert matplotlib.rcParams["font.size"] == font_before  # style restored


def test_styles_compose_and_restore():
    before = matplotlib.rcParams["lines.linewidth"]
    with use_style(SLIDES | {"lines.linewidth": 7.0}):
        assert matplotlib.rcParams["lines.linewidth"] == 7.0
        assert matplotlib.rcParams["font.size"] == SLIDES["font.size"]
    assert matplotlib.rcParams["lines.linewidth"] == before
    assert PAPER["figure.figsize"][0] == COLUMN_WIDTH_IN
    assert not PAPER["text.usetex"]
    with pytest.raises(ValueError, match="ncols"):
        figsize(ncols=0)
