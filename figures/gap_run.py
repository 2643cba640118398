"""``progfusion figure gap``: train the gap studies, then write their table, figure and answer.

Writes into ``--out``: each study's table (``gap-steps.csv``, ``gap-stopping.csv``,
``gap-<factor>.csv``; resumable like every table), ``gap-settings.csv`` (one row
per setting and comparison, with verdicts), ``gap.md`` (the generated answer and
the table in Markdown) and ``gap.png`` / ``gap.pdf``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from progfusion.experiments import Study
from progfusion.experiments.store import atomic_write_text

from .gap import draw, gap_studies
from .gap_table import answer, gap_form, gap_markdown, settings_table

__all__ = ["run_gap", "write_gap_outputs"]


def write_gap_outputs(tables: dict[str, pd.DataFrame], out: Path) -> str:
    """The settings table, ``gap.md`` and the figure from the gap tables; returns the answer."""
    settings = settings_table(tables)
    atomic_write_text(out / "gap-settings.csv", settings.to_csv(index=False))
    sentence = answer(settings)
    text = f"# The gap study\n\n{gap_markdown(settings, gap_form(tables))}"
    atomic_write_text(out / "gap.md", text)
    plt.close(draw(settings, out))
    return sentence


def run_gap(
    size: str,
    *,
    seed: int,
    trials: int | None,
    out: Path,
    sweep: Callable[[str, Study], pd.DataFrame],
    echo: Callable[[str], None] = print,
) -> str:
    """Train (or resume) every gap study of ``size`` with ``sweep(table, study)``, then write.

    Returns the generated answer (also echoed).
    """
    studies = gap_studies(size, seed=seed, trials=trials)
    tables = {name: sweep(name, study) for name, study in studies.items()}
    sentence = write_gap_outputs(tables, out)
    echo(f"Gap study: {sentence}")
    return sentence
