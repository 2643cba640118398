"""Redraw a figure from its results tables alone, without training (``progfusion plot``).

Any table a figure of the registry trains or derives is drawn by that figure
(:func:`~.registry.figure_of_table`), with whichever of its other tables lie beside
it (Figure 7 with 7(b), the gap study from all its tables); any study's
``<name>.csv`` beside its ``<name>.toml`` is drawn as a study
(:func:`~.study_plot.draw_study`). Published tables (``<name>.csv.gz``) are read
alike, with their neighbours of the same suffix. Every table is read by the one
reader (:func:`~progfusion.experiments.tables.read_results_table`), which refuses a
damaged or mixed table; a table without a column its figure draws is refused in
one line naming the column and the columns it has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments import load_study
from progfusion.experiments.columns import metric_of, test_column
from progfusion.experiments.tables import read_results_table, split_name, table_path

from .figure import Figure
from .images import image_formats, save_image
from .registry import FIGURES, figure_of_table
from .study_plot import draw_study

__all__ = ["draw_tables", "image_formats", "read_figure_tables", "redraw"]


def redraw(path: Path, out: Path | None = None) -> list[Path]:
    """Draw the figure a table belongs to; return the files written.

    ``out``: a folder (created if needed; ``<name>.png`` and ``.pdf`` are written
    there), or a file name whose extension is an image format matplotlib writes
    (``.png``, ``.pdf``, ``.svg``, ...: that one file). Default: the table's folder.
    """
    path = Path(path)
    name = split_name(path)[0]
    try:
        fig, image = _draw(path, name)
    except KeyError as exc:  # a column no check names: still one line, no pandas text
        raise ValueError(f"{path} lacks {_key_names(exc)}, which its figure needs") from None
    try:
        return save_image(fig, Path(out) if out is not None else path.parent, image)
    finally:
        plt.close(fig)


def _draw(path: Path, name: str) -> tuple[plt.Figure, str]:
    study_file = path.parent / f"{name}.toml"
    figure = figure_of_table(name)
    if study_file.is_file() and figure is None:
        study = load_study(study_file)
        table = read_results_table(path)
        _require_metric(table, path, test_column(metric_of(study.task.objective)))
        return draw_study(table, study), study.name
    if figure is None:
        if not path.is_file():
            raise FileNotFoundError(f"no such table: {path}")
        raise ValueError(
            f"{path}: neither a figure's table ({', '.join(_known())}) nor a study's "
            f"({study_file.name} is missing)"
        )
    tables = read_figure_tables(figure, path)
    whole = figure.tables[0] in tables  # else a part of it, named after its table (7(b))
    return figure.draw(tables), figure.image if whole else name


def read_figure_tables(figure: Figure, path: Path) -> dict[str, pd.DataFrame]:
    """``path`` and the other tables of ``figure`` beside it, each read and checked,
    with the derived ones computed where not given."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such table: {path}")
    tables = {}
    for name in figure.tables:
        beside = table_path(path, name)
        if beside.is_file():
            tables[name] = read_results_table(beside)
            if figure.metric:
                _require_metric(tables[name], beside, figure.metric)
    for name in figure.derived:
        beside = table_path(path, name)
        if beside.is_file() and name not in tables:
            tables[name] = _read_derived(beside)
    return figure.with_derived(tables)


def _read_derived(path: Path) -> pd.DataFrame:
    """A derived table (computed from a figure's tables and written whole: Figure 8's, the
    gap study's settings, the tuned models it kept from two tables), read as it is."""
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a table ({exc})") from None


def _known() -> list[str]:
    return [t for f in FIGURES.values() for t in (*f.tables, *f.derived)]


def _key_names(error: KeyError) -> str:
    """The column(s) a pandas ``KeyError`` names, without pandas' ``Index([...])`` text."""
    text = str(error.args[0]) if error.args else str(error)
    inner = re.search(r"\[([^\[\]]*)\]", text)  # "None of [Index(['a'], ...)] are in ..."
    names = re.findall(r"'([^']*)'", inner.group(1)) if inner else []
    names = names or [text]
    return f"the column{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}"


def _require_metric(table: pd.DataFrame, path: Path, column: str) -> None:
    """Refuse in one line a table without its figure's metric ``column``, naming the
    columns it has (and, when no model in it trained, saying so)."""
    if column in table.columns:
        return
    ok = int((table["status"] == "ok").sum())
    why = "" if ok else f" (none of its {len(table)} models trained ok: see its error column)"
    raise ValueError(
        f"{path} lacks the column {column!r} its figure draws{why}; "
        f"it has: {', '.join(str(c) for c in table.columns)}"
    )


def draw_tables(tables: Mapping[str, pd.DataFrame], out: Path) -> list[Path]:
    """``<out>/<image>.png`` of every registered figure whose tables are given (by name),
    each drawn from ``tables`` alone; returns the files written."""
    written = []
    for figure in FIGURES.values():
        given = {k: v for k, v in tables.items() if k in (*figure.tables, *figure.derived)}
        complete = figure.with_derived(given)
        if not given:
            continue
        if not figure.derived and any(t not in given for t in figure.tables[:1]):
            continue
        fig = figure.draw(complete)
        try:
            written += save_image(fig, Path(out) / f"{figure.image}.png", figure.image)
        finally:
            plt.close(fig)
    return written
