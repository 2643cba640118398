"""The registry of figures: ``FIGURES``, name -> :class:`~.figure.Figure`.

The one list every consumer loops over (as scikit-learn's ``all_estimators()`` or
matplotlib's ``colormaps``): the command line's choices and help, ``progfusion
figures`` and ``figure NAME``, ``plot``, the report and publishing. The package's
figures are registered here in the order commands run them and reports list them;
a figure of another package is registered by :func:`register`, called from its own
module, or through the entry point group ``progfusion.figures`` (an entry naming a
``Figure``), which is read the first time the registry is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import metadata

import pandas as pd

from . import fig4, fig7, fig8, gap
from .figure import Figure

__all__ = ["FIGURES", "SIZES", "figure_of_table", "register", "sizes", "with_derived"]

#: Every figure by name, in order.
FIGURES: dict[str, Figure] = {}

#: The sizes a figure may have, smallest first (``cpu``: the gap study's own).
SIZES = ("tiny", "quick", "cpu", "paper")

#: The entry point group of figures from other packages.
ENTRY_POINTS = "progfusion.figures"


def register(figure: Figure, *, replace: bool = False) -> Figure:
    """Add ``figure`` to :data:`FIGURES` (a ValueError if its name is taken, unless
    ``replace``); returns it, so a module can write ``FIGURE = register(Figure(...))``."""
    if not isinstance(figure, Figure):
        raise ValueError(f"register: expected a Figure, got {type(figure).__name__}")
    if figure.name in FIGURES and not replace:
        raise ValueError(f"register: a figure named {figure.name!r} is registered already")
    unknown = [s for s in figure.sizes if s not in SIZES]
    if unknown:
        raise ValueError(f"figure {figure.name}: unknown size {unknown[0]!r} (sizes: {SIZES})")
    FIGURES[figure.name] = figure
    return figure


def _load_entry_points() -> None:
    for entry in metadata.entry_points(group=ENTRY_POINTS):
        figure = entry.load()
        if figure.name not in FIGURES:
            register(figure)


def sizes(names: list[str] | None = None) -> tuple[str, ...]:
    """The sizes of the figures named (default: all), in :data:`SIZES` order."""
    chosen = [FIGURES[n] for n in names] if names is not None else list(FIGURES.values())
    return tuple(s for s in SIZES if any(s in f.sizes for f in chosen))


def with_derived(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``tables`` with every derived table the registered figures can compute from them:
    computed once, for the several documents drawn from one set of tables."""
    tables = dict(tables)
    for figure in FIGURES.values():
        tables = figure.with_derived(tables)
    return tables


def figure_of_table(table: str) -> Figure | None:
    """The figure a table (by name) is drawn by: the first that trains it, else the
    first that derives it; None for neither."""
    for figure in FIGURES.values():
        if table in figure.tables:
            return figure
    for figure in FIGURES.values():
        if table in figure.derived:
            return figure
    return None


for _figure in (fig4.FIGURE, fig7.FIGURE, fig8.FIGURE, gap.FIGURE):
    register(_figure)
_load_entry_points()
