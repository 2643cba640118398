"""The paper's empirical claims, measured on results tables, each with a computed verdict.

The rule, the same for every claim: a claim names a *band* of values for an effect
(for a direction claim, everything above 0; for "close to 90%", 80% to 100%; for
"late matches early", -1 to +1 accuracy points). The effect is measured as a mean
over paired trials with a 95% bootstrap interval. The verdict is

- **reproduced** if the whole interval lies inside the band,
- **not reproduced** if the whole interval lies outside it,
- **inconclusive** otherwise (more trials would decide), and always when fewer than
  5 paired trials were measured (a percentile bootstrap of 2-4 values is too narrow
  to trust).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from progfusion.experiments.analysis import pairs, robustness_pairs
from progfusion.experiments.metrics import bootstrap_ci, percent_improvement, summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED

__all__ = ["EmpiricalClaim", "verdict", "figure4_claims", "figure7_claims", "figure8_claims"]

WIN_BAND = (0.80, 1.0)  # "close to 90%": within 10 points of it
IMPROVEMENT_BAND = (4.0, 12.0)  # "average improvement of 8%": within half of it
MATCH_MARGIN = 0.01  # "late matches early": within one accuracy point
MIN_PAIRS = 5  # fewer paired trials than this: always inconclusive


def verdict(ci_low: float, ci_high: float, band: tuple[float, float], n: int) -> str:
    """``reproduced`` / ``not reproduced`` / ``inconclusive`` (see the module docstring)."""
    lo, hi = band
    if n < MIN_PAIRS or not (math.isfinite(ci_low) and math.isfinite(ci_high)):
        return "inconclusive"
    if lo <= ci_low and ci_high <= hi:
        return "reproduced"
    if ci_high < lo or ci_low > hi:
        return "not reproduced"
    return "inconclusive"


@dataclass(frozen=True)
class EmpiricalClaim:
    """One claim, what was measured, and the verdict computed from it."""

    figure: str
    quote: str
    effect: str
    band: tuple[float, float]
    n: int
    mean: float
    ci_low: float
    ci_high: float

    @property
    def verdict(self) -> str:
        return verdict(self.ci_low, self.ci_high, self.band, self.n)


def _claim(figure, quote, effect, band, values) -> EmpiricalClaim:
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return EmpiricalClaim(figure, quote, effect, band, 0, math.nan, math.nan, math.nan)
    s = summarise(values, seed=BOOTSTRAP_SEED)
    return EmpiricalClaim(figure, quote, effect, band, s.n, s.mean, s.ci_low, s.ci_high)


def _gaps(rows: pd.DataFrame, new: str) -> pd.DataFrame:
    """Accuracy ``new - late`` per trial (rows) and width (columns, ascending); complete trials."""
    p = pairs(rows, "test_accuracy", ["width", "trial"], base="late", new=new)
    p["gap"] = p[f"test_accuracy_{new}"] - p["test_accuracy_late"]
    wide = p.pivot(index="trial", columns="width", values="gap")
    return wide.sort_index(axis=1).dropna()


def _slope(gaps: pd.DataFrame) -> np.ndarray:
    """Per trial: least-squares slope of the gap against log2(width) (gap per doubling)."""
    if gaps.shape[1] < 2:
        return np.array([])
    x = np.log2(gaps.columns.to_numpy(dtype=float))  # [W]
    x = x - x.mean()
    y = gaps.to_numpy()  # [trials, W]
    return (y - y.mean(axis=1, keepdims=True)) @ x / (x @ x)


def _ends(gaps: pd.DataFrame, how=lambda g: g) -> np.ndarray:
    """Per trial: (transformed) gap at the smallest width minus at the largest."""
    if gaps.shape[1] < 2:
        return np.array([])
    return (how(gaps.iloc[:, 0]) - how(gaps.iloc[:, -1])).to_numpy()


_EARLY = "early fusion is more effective than late fusion when the hidden layers are smaller"
_PRO = (
    "the effect of progressive fusion is larger when the feature layers input to late "
    "fusion is smaller"
)
_SHRINK = (
    "the gap between the pro-fusion model and late fusion model reduces as the size of "
    "the hidden representation increases"
)
_MATCH = (
    "for a large enough hidden representation, the performance of late fusion matches "
    "that of early fusion"
)


def figure4_claims(table: pd.DataFrame) -> list[EmpiricalClaim]:
    """The paper's statements about Figure 4, per panel (paired by trial).

    A sentence that compares widths is measured across widths; a sentence that reads
    two ways gets one row per reading (marked "reading 1/2" in the effect).
    """
    claims = []
    inf = math.inf
    for panel in sorted(table["panel"].unique()):
        rows = table[table["panel"] == panel]
        widths = sorted(rows["width"].unique())
        small, large = widths[0], widths[-1]
        early, pro = _gaps(rows, "early"), _gaps(rows, "pro")
        at = {w: early[w] if w in early else [] for w in (small, large)}
        tag = f"4{panel}"
        ends = f"(at d = {small}) - (at d = {large})"
        claims += [
            _claim(tag, _EARLY, f"reading 1: accuracy early - late at d = {small}", (0, inf),
                   at[small]),
            _claim(tag, _EARLY, f"reading 2, across widths: early - late {ends}", (0, inf),
                   _ends(early)),
            _claim(tag, _PRO, f"reading 1, across widths: pro - late {ends}", (0, inf),
                   _ends(pro)),
            _claim(tag, _PRO, "reading 2, over all widths: -(slope of pro - late per doubling "
                   "of d)", (0, inf), -_slope(pro)),
            _claim(tag, _SHRINK, f"reading 1, signed gap: pro - late {ends}", (0, inf),
                   _ends(pro)),
            _claim(tag, _SHRINK, f"reading 2, size of the gap: |pro - late| {ends}", (0, inf),
                   _ends(pro, np.abs)),
            _claim(tag, _MATCH, f"accuracy early - late at d = {large}",
                   (-MATCH_MARGIN, MATCH_MARGIN), at[large]),
        ]  # fmt: skip
    return claims


def figure7_claims(grid: pd.DataFrame) -> list[EmpiricalClaim]:
    """ "In close to 90% of all trials ... pro-fusion ... better with an average
    improvement of 8%" (appendix, Synthetic Experiments)."""
    p = pairs(grid, "test_mse", ["eta", "sigma2", "trial"])
    late, pro = p["test_mse_late"].to_numpy(), p["test_mse_pro"].to_numpy()
    wins = (pro < late) + 0.5 * (pro == late)
    gain = percent_improvement(late, pro) if len(p) else np.array([])
    return [
        _claim(
            "7",
            "in close to 90% of all trials we found the pro-fusion model to perform better",
            "fraction of paired trials where pro has the lower test MSE",
            WIN_BAND,
            wins,
        ),
        _claim(
            "7",
            "with an average improvement of 8%",
            "reading 1: mean of per-pair percentage MSE improvements of pro over late",
            IMPROVEMENT_BAND,
            gain,
        ),
        _ratio_claim(late, pro),
        _claim(
            "7",
            "pro-fusion performs better than late fusion (direction only)",
            "mean percentage MSE improvement of pro over late",
            (0, math.inf),
            gain,
        ),
    ]


def _ratio_of_means(values: np.ndarray, axis: int = 0) -> np.ndarray:
    """``100 (mean late - mean pro) / mean late`` of paired MSEs ``values[..., 0:2]``."""
    means = values.mean(axis=axis)  # [..., 2]
    return 100.0 * (means[..., 0] - means[..., 1]) / means[..., 0]


def _ratio_claim(late: np.ndarray, pro: np.ndarray) -> EmpiricalClaim:
    """ "an average improvement of 8%", reading 2: the improvement of the mean MSE."""
    quote, effect = (
        "with an average improvement of 8%",
        ("reading 2: percentage improvement of pro's mean MSE over late's"),
    )
    both = np.stack([late, pro], axis=1)  # [n, 2]
    both = both[np.isfinite(both).all(axis=1)]
    if not len(both):
        return EmpiricalClaim("7", quote, effect, IMPROVEMENT_BAND, 0, *[math.nan] * 3)
    low, high = bootstrap_ci(both, statistic=_ratio_of_means, seed=BOOTSTRAP_SEED)
    point = float(_ratio_of_means(both))
    return EmpiricalClaim("7", quote, effect, IMPROVEMENT_BAND, len(both), point, low, high)


def figure8_claims(table: pd.DataFrame) -> list[EmpiricalClaim]:
    """Figure 8: the AUC (robustness) improvement of pro-fusion over late fusion."""
    per_pair = robustness_pairs(table)
    return [
        _claim(
            "8",
            "pro-fusion improves robustness (AUC) over late fusion",
            "Delta robust AUC of -MSE, pro - late",
            (0, math.inf),
            per_pair["delta_auc"],
        ),
        _claim(
            "8",
            "(ours) pro-fusion degrades more slowly under noise than late fusion",
            "effective robustness of pro (Taori et al.: deviation from the late-fusion "
            "trend, integrated over noise)",
            (0, math.inf),
            per_pair["effective_robustness"],
        ),
    ]
