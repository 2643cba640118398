"""Turn results tables into the numbers the figures and the report show.

Pure functions of tidy tables (one row per trained model). Only rows with status
``"ok"`` enter a statistic; the others are counted and reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .columns import step_columns
from .metrics import (
    MIN_PAIRS,
    paired_comparison,
    percent_improvement,
    summarise,
    win_indicators,
)
from .seeds import BOOTSTRAP_SEED

__all__ = [
    "compare_designs",
    "compare_by_step",
    "cell_summary",
    "design_comparison",
    "higher_is_better",
    "improvement_row",
    "ok_rows",
    "pairs",
    "improvement_summary",
    "ImprovementSummary",
]


def status_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many models ended in each status."""
    return {str(k): int(v) for k, v in table["status"].value_counts().items()}


def ok_rows(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of models that trained to the end (status ``ok``): what statistics use."""
    return table[table["status"] == "ok"]


def pairs(
    table: pd.DataFrame, value: str | Sequence[str], keys: Sequence[str], *, base: str, new: str
) -> pd.DataFrame:
    """Paired rows: one row per key (cell and trial) with ``<value>_<design>`` columns.

    Pairs where either model is not ``ok`` are dropped.
    """
    values = [value] if isinstance(value, str) else list(value)
    ok = ok_rows(table)
    a = ok[ok["design"] == base].set_index(list(keys))[values]
    b = ok[ok["design"] == new].set_index(list(keys))[values]
    # merge, not join: pandas 3 deprecates join's lsuffix/rsuffix (its `suffixes` is new in 3)
    joined = a.merge(
        b, how="inner", left_index=True, right_index=True, suffixes=(f"_{base}", f"_{new}")
    )
    return joined.reset_index()


@dataclass(frozen=True)
class ImprovementSummary:
    """A design against a base design over paired trials, by their MSEs."""

    n_pairs: int
    win_fraction: float
    mean_improvement: float  # mean of per-pair percent MSE improvements
    ci_low: float
    ci_high: float
    wilcoxon_p: float


def improvement_summary(base_mse: np.ndarray, new_mse: np.ndarray) -> ImprovementSummary:
    """Win fraction, mean percentage improvement (95% CI) and Wilcoxon p of paired MSEs
    (shape [n] each) of a ``new`` design against a ``base`` one."""
    paired = paired_comparison(base_mse, new_mse, higher_is_better=False, seed=BOOTSTRAP_SEED)
    gain = summarise(percent_improvement(base_mse, new_mse), seed=BOOTSTRAP_SEED)
    return ImprovementSummary(
        n_pairs=paired.n,
        win_fraction=paired.win_fraction,
        mean_improvement=gain.mean,
        ci_low=gain.ci_low,
        ci_high=gain.ci_high,
        wilcoxon_p=paired.wilcoxon_p,
    )


def cell_summary(
    per_pair: pd.DataFrame, value: str, keys: Sequence[str], *, center=0.0
) -> pd.DataFrame:
    """Per cell: the mean of ``value`` over its pairs, a 95% bootstrap interval and a sign.

    Parameters
    ----------
    per_pair : one row per pair (cell and trial), with ``keys`` and ``value`` columns.
    value : the column to summarise (e.g. ``"improvement"``, ``"delta_auc"``).
    keys : the columns that name a cell.
    center : the value the interval is compared with (0 for differences, 0.5 for a win
        fraction).

    Returns
    -------
    One row per cell: ``keys``, ``value`` (the mean), ``<value>_low``, ``<value>_high``,
    ``n`` and ``<value>_sign``: +1 if the interval lies wholly above ``center``, -1
    if wholly below, 0 otherwise and always when ``n`` < :data:`~.metrics.MIN_PAIRS`.
    The intervals are per cell, each conditional on its cell, with no correction for
    the number of cells.
    """
    rows = []
    for cell, g in per_pair.groupby(list(keys)):
        values = g[value].to_numpy(dtype=float)
        values = values[~np.isnan(values)]
        if not len(values):
            continue
        s = summarise(values, seed=BOOTSTRAP_SEED)
        sign = 0
        if s.n >= MIN_PAIRS:
            sign = 1 if s.ci_low > center else -1 if s.ci_high < center else 0
        cell = cell if isinstance(cell, tuple) else (cell,)
        rows.append(
            {
                **dict(zip(keys, cell, strict=True)),
                value: s.mean,
                f"{value}_low": s.ci_low,
                f"{value}_high": s.ci_high,
                "n": s.n,
                f"{value}_sign": sign,
            }
        )
    columns = [*keys, value, f"{value}_low", f"{value}_high", "n", f"{value}_sign"]
    return pd.DataFrame(rows, columns=columns)


def design_comparison(
    table: pd.DataFrame, keys: Sequence[str], metric: str, *, base: str | None = None
) -> pd.DataFrame:
    """Per design: mean test metric (95% CI), its failures and, against ``base``, the pairs.

    ``keys``: the columns that pair models (grid axes and ``trial``); ``metric``:
    ``"mse"`` (lower is better), ``"accuracy"`` or any metric with a ``test_<metric>``
    column (higher is better unless its name says error, see :func:`higher_is_better`);
    ``base``: the reference design (default: the table's first). One row per design,
    with ``n`` (its ``ok`` models), ``mean``, ``ci_low``, ``ci_high`` (NaN when
    ``n`` is 0), ``failed``, ``diverged`` and ``first_error`` (its first failed
    model's error, "" if none), and for the others ``pairs``, ``win_fraction``
    (ties count half) and ``mean_gain`` with its interval (positive: better than
    ``base``; NaN without a complete pair).
    """
    column = f"test_{metric}"
    if column not in table:
        shown = ", ".join(c for c in table.columns if c.startswith("test_"))
        raise ValueError(f"metric {metric!r}: the table has no {column} column (it has {shown})")
    ok = ok_rows(table)
    designs = list(dict.fromkeys(table["design"]))
    base = base or designs[0]
    better = higher_is_better(metric)
    rows = []
    for design in designs:
        rows.append({"design": design, **_design_summary(table, ok, design, column)})
        if design == base:
            continue
        p = pairs(table, column, list(keys), base=base, new=design)
        if p.empty:
            rows[-1].update(pairs=0, win_fraction=np.nan, mean_gain=np.nan)
            rows[-1].update(gain_low=np.nan, gain_high=np.nan)
            continue
        cmp = paired_comparison(
            p[f"{column}_{base}"].to_numpy(),
            p[f"{column}_{design}"].to_numpy(),
            higher_is_better=better,
            seed=BOOTSTRAP_SEED,
        )
        rows[-1].update(
            pairs=cmp.n,
            win_fraction=cmp.win_fraction,
            mean_gain=cmp.mean_difference,
            gain_low=cmp.ci_low,
            gain_high=cmp.ci_high,
        )
    return pd.DataFrame(rows)


def higher_is_better(metric: str) -> bool:
    """Whether a larger ``metric`` is better (not for mse, mae, rmse, ``*error``, ``*loss``)."""
    lower = metric in ("mse", "mae", "rmse") or metric.endswith(("error", "loss"))
    return not lower


def _design_summary(
    table: pd.DataFrame, ok: pd.DataFrame, design: str, column: str
) -> dict[str, object]:
    """``n``, ``mean`` and its interval over ``design``'s ok models, and its failures."""
    rows = table[table["design"] == design]
    values = ok.loc[ok["design"] == design, column].to_numpy(dtype=float)
    values = values[~np.isnan(values)]
    failed = rows[rows["status"] == "failed"]
    first_error = ""
    if len(failed) and "error" in failed:
        first_error = str(failed["error"].iloc[0])
    counts = {
        "failed": len(failed),
        "diverged": int((rows["status"] == "diverged").sum()),
        "first_error": first_error,
    }
    if len(values) == 0:
        return {"n": 0, "mean": np.nan, "ci_low": np.nan, "ci_high": np.nan, **counts}
    s = summarise(values, seed=BOOTSTRAP_SEED)
    return {"n": s.n, "mean": s.mean, "ci_low": s.ci_low, "ci_high": s.ci_high, **counts}


def improvement_row(base_mse: np.ndarray, new_mse: np.ndarray) -> dict[str, float]:
    """Paired MSEs (shape [n] each) as one row: win fraction and mean improvement, 95% CIs.

    ``n``; ``win_fraction`` (ties count half) with ``win_low``, ``win_high`` (bootstrap
    of the per-pair win indicators); ``mean_improvement`` (mean per-pair percent MSE
    improvement of new over base) with ``ci_low``, ``ci_high``; ``wilcoxon_p``. No
    complete pair: ``n = 0`` and NaN elsewhere.
    """
    base, new = np.asarray(base_mse, dtype=float), np.asarray(new_mse, dtype=float)
    keep = np.isfinite(base) & np.isfinite(new)
    base, new = base[keep], new[keep]
    names = ("win_fraction", "win_low", "win_high", "mean_improvement", "ci_low", "ci_high")
    if not len(base):
        return {"n": 0, **dict.fromkeys(names, np.nan), "wilcoxon_p": np.nan}
    s = improvement_summary(base, new)
    wins = summarise(win_indicators(base, new, higher_is_better=False), seed=BOOTSTRAP_SEED)
    return {
        "n": s.n_pairs,
        "win_fraction": s.win_fraction,
        "win_low": wins.ci_low,
        "win_high": wins.ci_high,
        "mean_improvement": s.mean_improvement,
        "ci_low": s.ci_low,
        "ci_high": s.ci_high,
        "wilcoxon_p": s.wilcoxon_p,
    }


def compare_designs(
    table: pd.DataFrame,
    keys: Sequence[str],
    comparisons: Sequence[tuple[str, str]],
    column: str = "test_mse",
) -> pd.DataFrame:
    """One :func:`improvement_row` per ``(new, base)`` comparison of ``column``.

    ``keys``: the columns that pair models (grid axes and ``trial``). Comparisons
    whose designs are not both in the table are skipped. Columns: ``new``, ``base``
    and those of :func:`improvement_row`.
    """
    present = set(table["design"])
    rows = []
    for new, base in comparisons:
        if new not in present or base not in present:
            continue
        p = pairs(table, column, keys, base=base, new=new)
        row = improvement_row(p[f"{column}_{base}"].to_numpy(), p[f"{column}_{new}"].to_numpy())
        rows.append({"new": new, "base": base, **row})
    return pd.DataFrame(rows)


def compare_by_step(
    table: pd.DataFrame, keys: Sequence[str], comparisons: Sequence[tuple[str, str]]
) -> pd.DataFrame:
    """:func:`compare_designs` at every recorded step (``mse_step_<s>`` columns), with ``steps``."""
    steps, cols = step_columns(table, "mse")
    frames = [
        compare_designs(table, keys, comparisons, c).assign(steps=s)
        for s, c in zip(steps, cols, strict=True)
    ]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
