"""Redraw a figure from its results table alone, without training."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments import load_study

from . import fig4, fig7_8
from .study_plot import draw_study

__all__ = ["redraw"]


def redraw(table_path: Path, out: Path | None = None) -> list[Path]:
    """Draw the figure a table belongs to into ``out`` (default: the table's folder).

    ``figure4.csv``, ``figure7.csv`` (with panel (b) when ``figure7b.csv`` lies
    beside it) and ``figure8.csv`` are drawn as the paper's figures. The table of
    any study (``progfusion study`` writes ``<name>.csv`` beside ``<name>.toml``) is
    drawn by :func:`~.study_plot.draw_study`. Returns the files written.
    """
    table_path = Path(table_path)
    if not table_path.is_file():
        raise FileNotFoundError(f"no such table: {table_path}")
    try:
        table = pd.read_csv(table_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{table_path} is not a progfusion results table ({exc})") from None
    if "status" not in table.columns or "design" not in table.columns or not len(table):
        raise ValueError(f"{table_path} is not a progfusion results table (or is empty)")
    out = Path(out) if out is not None else table_path.parent
    study_file = table_path.with_suffix(".toml")
    if study_file.is_file():
        study = load_study(study_file)
        out.mkdir(parents=True, exist_ok=True)
        plt.close(draw_study(table, study, out))
        return [out / f"{study.name}.{ext}" for ext in ("png", "pdf")]
    if "figure" not in table.columns:
        raise ValueError(
            f"{table_path}: neither a figure's table nor a study's ({study_file.name} is missing)"
        )
    out.mkdir(parents=True, exist_ok=True)
    figure = str(table["figure"].iloc[0])
    if figure == "4":
        plt.close(fig4.draw(table, out))
    elif figure == "7":
        steps_path = table_path.parent / "figure7b.csv"
        steps = pd.read_csv(steps_path) if steps_path.is_file() else None
        plt.close(fig7_8.draw7(table, steps, out))
    elif figure == "8":
        plt.close(fig7_8.draw8(table, out))
    else:
        raise ValueError(f"{table_path}: cannot redraw figure {figure!r} (expected 4, 7 or 8)")
    return [out / f"figure{figure}.{ext}" for ext in ("png", "pdf")]
