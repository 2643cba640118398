"""Plot styles as plain rcParams dicts that compose with ``|`` (as in tueplots' bundles).

Usage::

    from progfusion.figures.style import PAPER, use_style, figsize
    with use_style(PAPER | {"figure.figsize": figsize(ncols=2, width_in=TEXT_WIDTH_IN)}):
        fig, ax = plt.subplots()
        ...
        fig.savefig("fig.pdf")

No style needs LaTeX (matplotlib's own mathtext renders ``$\\eta$``), and nothing here
selects an interactive backend or calls ``show()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import matplotlib.pyplot as plt
from cycler import cycler

__all__ = [
    "BASE",
    "COLUMN_WIDTH_IN",
    "DESIGN_COLORS",
    "DESIGN_MARKERS",
    "GOLDEN_RATIO",
    "OKABE_ITO",
    "PAPER",
    "SLIDES",
    "SLIDE_WIDTH_IN",
    "SPARE_COLORS",
    "SPARE_MARKERS",
    "TEXT_WIDTH_IN",
    "design_styles",
    "figsize",
    "panel_grid",
    "panel_layout",
    "use_style",
]

# ----------------------------------------------------------------------------- sizes

# AAAI two-column layout (the paper's venue): \textwidth 7.0 in, \columnsep 0.375 in,
# so a column is (7.0 - 0.375) / 2 = 3.31 in; 3.25 in keeps a small safety margin.
COLUMN_WIDTH_IN = 3.25
# Full text width for two-panel figures: 7.0 in minus the same 0.25 in margin.
TEXT_WIDTH_IN = 6.75
# 16:9 slide at 10 in wide (PowerPoint/Beamer-with-aspectratio=169 default canvas), used
# as the full figure width on a slide.
SLIDE_WIDTH_IN = 10.0
# Height = width / golden ratio: a pleasant default aspect for a single panel.
GOLDEN_RATIO = (1 + 5**0.5) / 2

# ----------------------------------------------------------------------------- colours

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common
# colour-vision deficiencies and in greyscale by lightness. Ordered for the default
# cycle; black and yellow (poor on white) come last.
OKABE_ITO = [
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
]

# One fixed colour per fusion design, the same in every figure.
DESIGN_COLORS: dict[str, str] = {
    "late": "#0072B2",  # blue
    "early": "#009E73",  # bluish green
    "pro": "#D55E00",  # vermillion: the proposed design stands out
    "iterative": "#CC79A7",  # reddish purple
    "iterative-wide": "#882255",  # wine (Tol muted): iterative's hue, darker (widened)
    "late-wide": "#56B4E9",  # sky blue: late fusion's hue, lighter (a widened late model)
    "late-wide-eff": "#E69F00",  # orange: widened to pro's effective parameters
    "late-wide-flops": "#000000",  # black: widened to pro's multiply-adds
}
# One marker per design, so that the designs stay apart in greyscale print (their
# colours' lightness differs by too little: blue 0.34, green 0.41, vermillion 0.47).
DESIGN_MARKERS: dict[str, str] = {
    "late": "o",
    "early": "s",
    "pro": "^",
    "iterative": "D",
    "iterative-wide": "d",
    "late-wide": "v",
    "late-wide-eff": "<",
    "late-wide-flops": ">",
}
# Colours of designs without one of their own (a user's), in order: the Okabe-Ito
# colours no design holds (yellow, poor on white, last), then Paul Tol's "muted"
# scheme (also colour-blind safe; its hues closest to the ones above left out).
SPARE_COLORS = (
    "#CC6677",  # rose (Tol muted)
    "#332288",  # indigo (Tol muted)
    "#999933",  # olive (Tol muted)
    "#44AA99",  # teal (Tol muted)
    "#DDCC77",  # sand (Tol muted)
    "#F0E442",  # yellow (Okabe-Ito)
)
# Markers of designs without one of their own, in order. Five markers against six
# colours (coprime), so that past either list's end no two of 30 such designs share
# both their colour and their marker.
SPARE_MARKERS = ("P", "X", "*", "p", "h")


def design_styles(designs: Iterable[str]) -> dict[str, dict[str, str]]:
    """A colour and a marker per design, as keyword arguments of ``Axes.plot``.

    The designs named in :data:`DESIGN_COLORS` keep their own colour and marker
    (whether or not the others are drawn); every other design takes the next spare
    colour (:data:`SPARE_COLORS`) and marker (:data:`SPARE_MARKERS`) in the order it
    first appears in ``designs``, so the same table always gets the same styles.

    Parameters
    ----------
    designs : design names, e.g. a table's ``design`` column; repeats are ignored.

    Returns
    -------
    ``{design: {"color": ..., "marker": ...}}`` in first-appearance order.
    """
    styles: dict[str, dict[str, str]] = {}
    spare = 0
    for design in dict.fromkeys(designs):
        if design in DESIGN_COLORS:
            styles[design] = {"color": DESIGN_COLORS[design], "marker": DESIGN_MARKERS[design]}
        else:
            styles[design] = {
                "color": SPARE_COLORS[spare % len(SPARE_COLORS)],
                "marker": SPARE_MARKERS[spare % len(SPARE_MARKERS)],
            }
            spare += 1
    return styles


def figsize(
    *,
    width_in: float = COLUMN_WIDTH_IN,
    nrows: int = 1,
    ncols: int = 1,
    height_ratio: float = 1 / GOLDEN_RATIO,
) -> tuple[float, float]:
    """Figure size (width, height) in inches for a grid of equally sized panels.

    Each panel is ``width_in / ncols`` wide and ``height_ratio`` times as tall.
    """
    if nrows < 1 or ncols < 1:
        raise ValueError(f"nrows and ncols must be >= 1, got nrows={nrows}, ncols={ncols}")
    if width_in <= 0 or height_ratio <= 0:
        raise ValueError("width_in and height_ratio must be positive")
    return (width_in, width_in / ncols * height_ratio * nrows)


# Narrowest a panel may be at 8 pt before its labels crowd: a heatmap's colour-bar
# label and a log axis of 7 step counts need about 3 in (checked by drawing: at 2.25 in,
# three panels across the text width, both collided).
MIN_PANEL_IN = 3.0


def panel_grid(n: int, *, width_in: float = TEXT_WIDTH_IN, height_ratio: float = 0.75):
    """Rows and columns for ``n`` panels at ``width_in``: as many columns as fit
    (each at least :data:`MIN_PANEL_IN` wide), the rest in further rows.

    Returns ``(nrows, ncols, figsize)``; at the paper's column width the panels stack.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    ncols = max(1, min(n, int(width_in // MIN_PANEL_IN)))
    nrows = -(-n // ncols)
    return (
        nrows,
        ncols,
        figsize(width_in=width_in, nrows=nrows, ncols=ncols, height_ratio=height_ratio),
    )


def panel_layout(
    n: int, *, width_in: float = TEXT_WIDTH_IN, height_ratio: float = 0.75, span_last: bool = False
) -> tuple[plt.Figure, list]:
    """A figure of ``n`` panels laid out for ``width_in`` (:func:`panel_grid`), and its axes.

    With ``span_last``, a last row left part-empty is filled by its last panel, which
    spans the rest of the row (a wide panel, no empty quadrant); otherwise the
    unused cells are removed. Call inside :func:`use_style`.
    """
    nrows, ncols, size = panel_grid(n, width_in=width_in, height_ratio=height_ratio)
    cells = [[min(r * ncols + c, n - 1) for c in range(ncols)] for r in range(nrows)]
    if not span_last:
        cells = [[i if r * ncols + c < n else -1 for c, i in enumerate(row)]
                 for r, row in enumerate(cells)]  # fmt: skip
    fig, named = plt.subplot_mosaic(cells, figsize=size, empty_sentinel=-1)
    return fig, [named[i] for i in range(n)]


# ----------------------------------------------------------------------------- styles

# Settings shared by every style.
BASE: dict[str, Any] = {
    "text.usetex": False,  # no LaTeX installation needed; mathtext renders $...$
    "mathtext.fontset": "dejavusans",  # maths glyphs match the default sans-serif text
    "font.family": "sans-serif",
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "image.cmap": "viridis",  # perceptually uniform, colour-blind safe sequential map
    "axes.spines.top": False,  # open frame: less ink, clearer twin axes
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,  # faint guide lines that do not compete with the data
    "legend.frameon": False,
    "figure.constrained_layout.use": True,  # labels never clipped, no tight_layout calls
    "pdf.fonttype": 42,  # embed TrueType (editable text, accepted by publishers)
    "ps.fonttype": 42,
}

# Paper: one AAAI column, readable when printed at 100% (8 pt matches the 9-10 pt body).
PAPER: dict[str, Any] = BASE | {
    "figure.figsize": figsize(),
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,  # tick labels one point below the axis labels
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "lines.linewidth": 1.0,  # thin lines at column width
    "lines.markersize": 3,
    "axes.linewidth": 0.5,
    "grid.linewidth": 0.4,
    "xtick.major.width": 0.5,
    "ytick.major.width": 0.5,
    "xtick.major.size": 2.5,
    "ytick.major.size": 2.5,
    "figure.dpi": 150,  # on-screen preview only
    "savefig.dpi": 300,  # print resolution for PNG output
}

# Slides: larger fonts and thicker lines, read from the back of a room.
SLIDES: dict[str, Any] = BASE | {
    "figure.figsize": figsize(width_in=SLIDE_WIDTH_IN / 2),  # half a slide per figure
    "font.size": 14,
    "axes.titlesize": 14,
    "axes.labelsize": 14,
    "xtick.labelsize": 12,
    "ytick.labelsize": 12,
    "legend.fontsize": 12,
    "lines.linewidth": 2.0,
    "lines.markersize": 6,
    "axes.linewidth": 1.0,
    "figure.dpi": 100,
    "savefig.dpi": 200,  # sharp on a 1080p projector at half-slide size
}


@contextmanager
def use_style(style: Mapping[str, Any] = PAPER) -> Iterator[None]:
    """Apply ``style`` (an rcParams dict) inside a ``with`` block, restoring it after."""
    with plt.rc_context(dict(style)):
        yield
