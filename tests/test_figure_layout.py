"""Figures 4, 7 and 8 as drawn from the session's tiny run, at the paper's text and
column widths: no text is clipped or overlaps another, read from matplotlib's text
extents (renderer bounding boxes), and the saved PNG has a blank margin all round
(nothing drawn runs into its edge). Greyscale: designs differ by marker, not only by
colour, and the heatmaps' significance marks are shapes.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from progfusion.figures import fig4, fig7, fig8  # noqa: E402
from progfusion.figures.plots import SIGN_MARKERS  # noqa: E402
from progfusion.figures.style import COLUMN_WIDTH_IN, PAPER, TEXT_WIDTH_IN, use_style  # noqa: E402

WIDTHS = {"text": TEXT_WIDTH_IN, "column": COLUMN_WIDTH_IN}


def _draw(name: str, out: Path, width_in: float) -> plt.Figure:
    if name == "figure4":
        return fig4.draw({"figure4": pd.read_csv(out / "figure4.csv")}, width_in=width_in)
    if name == "figure7":
        grid, steps = pd.read_csv(out / "figure7.csv"), pd.read_csv(out / "figure7b.csv")
        return fig7.draw({"figure7": grid, "figure7b": steps}, width_in=width_in)
    return fig8.draw({"figure8": pd.read_csv(out / "figure8.csv")}, width_in=width_in)


def _undrawn_tick_labels(fig: plt.Figure) -> set[int]:
    """ids of the labels of ticks outside their axis's view (kept by matplotlib, not drawn)."""
    hidden = set()
    insets = [child for parent in fig.axes for child in parent.child_axes]
    for ax in [*fig.axes, *insets]:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            slack = 1e-9 * max(1.0, abs(high - low))
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not low - slack <= tick.get_loc() <= high + slack:
                    hidden |= {id(tick.label1), id(tick.label2)}
    return hidden


def _text_boxes(fig: plt.Figure) -> list[tuple[str, object]]:
    """(text, window extent in pixels) of every text ``fig`` draws."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    hidden = _undrawn_tick_labels(fig)
    texts = [
        t
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and id(t) not in hidden
    ]
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts]


def overlapping(boxes: list[tuple[str, object]], slack_px: float = 0.5) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap by more than ``slack_px`` in both directions."""
    found = []
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        dx = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        dy = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        if dx > slack_px and dy > slack_px:
            found.append((a, b))
    return found


def clipped(fig: plt.Figure, boxes: list[tuple[str, object]]) -> list[str]:
    """Texts that reach outside the figure's canvas."""
    width, height = fig.canvas.get_width_height()
    inside = (-0.5, -0.5, width + 0.5, height + 0.5)
    return [
        t
        for t, b in boxes
        if b.x0 < inside[0] or b.y0 < inside[1] or b.x1 > inside[2] or b.y1 > inside[3]
    ]


def test_the_checks_see_an_overlap_and_a_clipped_label() -> None:
    with use_style(PAPER):
        fig, ax = plt.subplots(figsize=(2, 2))
    ax.text(0.5, 0.5, "first label", transform=ax.transAxes)
    ax.text(0.52, 0.5, "second label", transform=ax.transAxes)
    ax.text(1.5, 0.5, "outside", transform=ax.transAxes)
    boxes = _text_boxes(fig)
    assert ("first label", "second label") in overlapping(boxes)
    assert clipped(fig, boxes) == ["outside"]
    plt.close(fig)


@pytest.mark.parametrize("width", sorted(WIDTHS))
@pytest.mark.parametrize("name", ["figure4", "figure7", "figure8"])
def test_no_text_is_clipped_or_overlaps(tiny_run: Path, tmp_path: Path, name, width) -> None:
    fig = _draw(name, tiny_run, WIDTHS[width])
    try:
        assert fig.get_size_inches()[0] == pytest.approx(WIDTHS[width])
        boxes = _text_boxes(fig)
        assert len(boxes) > 10  # titles, labels, ticks: the check has something to check
        assert clipped(fig, boxes) == []
        assert overlapping(boxes) == []
        path = tmp_path / f"{name}.png"
        fig.savefig(path)
    finally:
        plt.close(fig)
    image = mpimg.imread(path)  # [H, W, 4] floats in 0..1
    frame = np.concatenate([image[:2].reshape(-1, 4), image[-2:].reshape(-1, 4)])
    frame = np.concatenate([frame, image[:, :2].reshape(-1, 4), image[:, -2:].reshape(-1, 4)])
    assert np.all(frame[:, :3] > 0.99), f"{name} at {width} width: ink at the image's edge"


def test_designs_differ_by_marker_for_greyscale(tiny_run: Path) -> None:
    fig = fig4.draw({"figure4": pd.read_csv(tiny_run / "figure4.csv")})
    try:
        for ax in fig.axes:
            markers = [line.get_marker() for line in ax.lines if line.get_marker() != "None"]
            assert len(markers) == 3 and len(set(markers)) == 3
    finally:
        plt.close(fig)
    assert set(SIGN_MARKERS.values()) == {"^", "v"}  # direction readable without colour
