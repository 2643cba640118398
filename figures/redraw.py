"""Redraw a figure from its results table alone, without training.

Every table the package writes can be redrawn: ``figure4.csv``, ``figure7.csv``
(with panel (b) when ``figure7b.csv`` lies beside it), ``figure7b.csv`` (panel (b)
alone, as ``figure7b``), ``figure8.csv``, the gap study's (``gap-settings.csv``, or
any ``gap-<study>.csv``: the figure is drawn from every gap study table beside it,
as ``gap``), and any study's ``<name>.csv`` beside its ``<name>.toml``. Published
tables (``<name>.csv.gz``, see :mod:`.publish`) are read alike, with their
neighbours of the same suffix. :func:`draw_tables` draws every figure of a set of
tables already read (the published images). A table is refused (a ``ValueError``
naming the file and the fault) when it is truncated, holds a model twice, mixes
configurations (seeds or settings: its ``config`` column holds more than one value)
or figures, or lacks a column its figure needs.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.backend_bases import FigureCanvasBase
from progfusion.experiments import load_study
from progfusion.experiments.columns import metric_of, test_column

from . import fig4, fig7_8, gap
from .gap_table import settings_table
from .study_plot import draw_study
from .style import PAPER, use_style

__all__ = ["REQUIRED", "draw_tables", "image_formats", "read_results_table", "redraw"]

#: Columns every results table has.
REQUIRED = ("job_id", "design", "status")
#: The gap study's settings table (derived: one row per setting, not per model).
GAP_SETTINGS = "gap-settings"


def _split_name(path: Path) -> tuple[str, str]:
    """``figure7.csv.gz`` as (``figure7``, ``.csv.gz``), ``figure7.csv`` as (..., ``.csv``)."""
    suffix = ".csv.gz" if path.name.endswith(".csv.gz") else path.suffix
    return path.name[: len(path.name) - len(suffix)], suffix


def _sibling(path: Path, stem: str) -> Path:
    """The table called ``stem`` beside ``path``, with ``path``'s suffix."""
    return path.parent / f"{stem}{_split_name(path)[1]}"


def image_formats() -> set[str]:
    """File extensions matplotlib can save to (``png``, ``pdf``, ``svg``, ...)."""
    return set(FigureCanvasBase.get_supported_filetypes())


def read_results_table(path: Path) -> pd.DataFrame:
    """Read a results table, refusing one that is damaged or mixed (see the module)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such table: {path}")
    try:
        text = path.read_bytes()
        if _split_name(path)[1] == ".csv.gz":
            text = gzip.decompress(text)
        table = pd.read_csv(io.BytesIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError,
            OSError, EOFError) as exc:  # fmt: skip
        raise ValueError(f"{path} is not a progfusion results table ({exc})") from None
    missing = [c for c in REQUIRED if c not in table.columns]
    if missing or not len(table):
        raise ValueError(f"{path} is not a progfusion results table (or is empty)")
    if not text.endswith(b"\n") or table[list(REQUIRED)].isna().any().any():
        raise ValueError(f"{path} is truncated (its last row is cut short): rerun its command")
    duplicated = table["job_id"].duplicated()
    if duplicated.any():
        first = table.loc[duplicated, "job_id"].iloc[0]
        raise ValueError(f"{path} holds {int(duplicated.sum())} duplicated rows (e.g. {first})")
    for column, what in (("config", "configurations (seeds or settings)"), ("figure", "figures")):
        if column in table.columns and table[column].nunique(dropna=False) > 1:
            raise ValueError(f"{path} mixes {table[column].nunique(dropna=False)} {what}")
    return table


def redraw(table_path: Path, out: Path | None = None) -> list[Path]:
    """Draw the figure a table belongs to; return the files written.

    ``out``: a folder (created if needed; ``<name>.png`` and ``.pdf`` are written
    there), or a file name whose extension is an image format matplotlib writes
    (``.png``, ``.pdf``, ``.svg``, ...: that one file). An existing folder is a
    folder whatever its name. Default: the table's folder.
    """
    table_path = Path(table_path)
    try:
        if _split_name(table_path)[0] == GAP_SETTINGS:
            fig, name = gap.draw(_read_settings(table_path)), "gap"
        else:
            fig, name = _draw(read_results_table(table_path), table_path)
    except KeyError as exc:  # a column no check below names: still one line, no pandas text
        raise ValueError(f"{table_path} lacks {_key_names(exc)}, which its figure needs") from None
    try:
        return _save(fig, name, Path(out) if out is not None else table_path.parent)
    finally:
        plt.close(fig)


def _read_settings(path: Path) -> pd.DataFrame:
    """The gap study's settings table at ``path``, refused when it lacks a column."""
    if not path.is_file():
        raise FileNotFoundError(f"no such table: {path}")
    try:
        settings = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not the gap study's settings table ({exc})") from None
    needed = ("study", "setting", "new", "base", "value", "win_fraction", "mean_improvement")
    missing = [c for c in needed if c not in settings.columns]
    if missing or not len(settings):
        raise ValueError(f"{path} is not the gap study's settings table (or is empty)")
    return settings


def _gap_settings(table_path: Path) -> pd.DataFrame:
    """The settings table of every gap study table beside ``table_path`` (its own included)."""
    suffix = _split_name(table_path)[1]
    tables = {}
    for path in sorted(table_path.parent.glob(f"gap-*{suffix}")):
        name = _split_name(path)[0]
        if name != GAP_SETTINGS:
            tables[name] = read_results_table(path)
            if name != "gap-steps":  # drawn from its per-step columns
                _require_metric(tables[name], path, METRIC_COLUMNS["gap"])
    return settings_table(tables)


#: The metric column each figure's table must have (a study's: its task's metric).
METRIC_COLUMNS = {"4": "test_accuracy", "7": "test_mse", "gap": "test_mse"}


def _key_names(error: KeyError) -> str:
    """The column(s) a pandas ``KeyError`` names, without pandas' ``Index([...])`` text."""
    text = str(error.args[0]) if error.args else str(error)
    inner = re.search(r"\[([^\[\]]*)\]", text)  # "None of [Index(['a'], ...)] are in ..."
    names = re.findall(r"'([^']*)'", inner.group(1)) if inner else []
    names = names or [text]
    return f"the column{'s' if len(names) > 1 else ''} {', '.join(map(repr, names))}"


def _require_metric(table: pd.DataFrame, table_path: Path, column: str) -> None:
    """Refuse in one line a table without its figure's metric ``column``, naming the
    columns it has (and, when no model in it trained, saying so: then the column was
    never written)."""
    if column in table.columns:
        return
    ok = int((table["status"] == "ok").sum())
    why = "" if ok else f" (none of its {len(table)} models trained ok: see its error column)"
    raise ValueError(
        f"{table_path} lacks the column {column!r} its figure draws{why}; "
        f"it has: {', '.join(str(c) for c in table.columns)}"
    )


def _draw(table: pd.DataFrame, table_path: Path) -> tuple[plt.Figure, str]:
    """The figure of ``table`` and its file stem."""
    study_file = table_path.parent / f"{_split_name(table_path)[0]}.toml"
    if study_file.is_file():
        study = load_study(study_file)
        _require_metric(table, table_path, test_column(metric_of(study.task.objective)))
        return draw_study(table, study), study.name
    if "figure" not in table.columns:
        raise ValueError(
            f"{table_path}: neither a figure's table nor a study's ({study_file.name} is missing)"
        )
    figure = str(table["figure"].iloc[0])
    if figure in METRIC_COLUMNS and _split_name(table_path)[0] != "gap-steps":
        _require_metric(table, table_path, METRIC_COLUMNS[figure])
    if figure == "4":
        return fig4.draw(table), "figure4"
    if figure == "7":
        steps_path = _sibling(table_path, "figure7b")
        steps = read_results_table(steps_path) if steps_path.is_file() else None
        return fig7_8.draw7(table, steps), "figure7"
    if figure == "7b":
        return fig7_8.draw7b(table), "figure7b"
    if figure == "8":
        return fig7_8.draw8(table), "figure8"
    if figure == "gap":
        return gap.draw(_gap_settings(table_path)), "gap"
    raise ValueError(f"{table_path}: cannot redraw figure {figure!r} (expected 4, 7, 7b, 8 or gap)")


def _save(fig: plt.Figure, name: str, out: Path) -> list[Path]:
    """Save as a run does (in the figures' style, whose rcParams include the saving ones)."""
    if not out.is_dir() and out.suffix.lstrip(".").lower() in image_formats():
        written = [out]
    else:
        written = [out / f"{name}.{ext}" for ext in ("png", "pdf")]
    written[0].parent.mkdir(parents=True, exist_ok=True)
    with use_style(PAPER):
        for path in written:
            fig.savefig(path)
    return written


def draw_tables(tables: Mapping[str, pd.DataFrame], out: Path) -> list[Path]:
    """``<out>/figure4.png``, ``figure7.png`` (with 7(b) when ``figure7b`` is given),
    ``figure8.png`` and, when gap study tables (``gap-*``) are given, ``gap.png``,
    each drawn from ``tables`` (by table name) alone; returns the files written."""
    figures = {
        "figure4": lambda: fig4.draw(tables["figure4"]),
        "figure7": lambda: fig7_8.draw7(tables["figure7"], tables.get("figure7b")),
        "figure8": lambda: fig7_8.draw8(tables["figure8"]),
    }
    studies = {k: v for k, v in tables.items() if k.startswith("gap-") and k != GAP_SETTINGS}
    if studies:
        figures["gap"] = lambda: gap.draw(settings_table(studies))
    written = []
    for name, draw in figures.items():
        if name in tables or name == "gap":
            fig = draw()
            try:
                written += _save(fig, name, Path(out) / f"{name}.png")
            finally:
                plt.close(fig)
    return written
