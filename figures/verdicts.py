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
from progfusion.experiments.metrics import MIN_PAIRS, percent_improvement, summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED

__all__ = ["EmpiricalClaim", "verdict", "figure4_claims", "figure7_claims", "figure8_claims"]

WIN_BAND = (0.80, 1.0)  # "close to 90%": within 10 points of it
IMPROVEMENT_BAND = (4.0, 12.0)  # "average improvement of 8%": within half of it
MATCH_MARGIN = 0.01  # "late matches early": within one accuracy point


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


def figure4_claims(table: pd.DataFrame) -> list[EmpiricalClaim]:
    """The paper's three statements about Figure 4, per panel (paired by trial)."""
    claims = []
    inf = math.inf
    for panel in sorted(table["panel"].unique()):
        rows = table[table["panel"] == panel]
        widths = sorted(rows["width"].unique())
        small, large = widths[0], widths[-1]
        keys = ["width", "trial"]
        early = pairs(rows, "test_accuracy", keys, base="late", new="early")
        pro = pairs(rows, "test_accuracy", keys, base="late", new="pro")
        early["gap"] = early["test_accuracy_early"] - early["test_accuracy_late"]
        pro["gap"] = pro["test_accuracy_pro"] - pro["test_accuracy_late"]
        at = {w: g.set_index("trial")["gap"] for w, g in pro.groupby("width")}
        shrink = (at[small] - at[large]).to_numpy() if small in at and large in at else []
        tag = f"4{panel}"
        claims += [
            _claim(
                tag,
                "early fusion is more effective than late fusion when the hidden "
                "layers are smaller",
                f"accuracy early - late at d = {small}",
                (0, inf),
                early.loc[early["width"] == small, "gap"],
            ),
            _claim(
                tag,
                "the effect of progressive fusion is larger when the feature layers are smaller",
                f"accuracy pro - late at d = {small}",
                (0, inf),
                pro.loc[pro["width"] == small, "gap"],
            ),
            _claim(
                tag,
                "the gap between the pro-fusion model and late fusion model reduces "
                "as the size of the hidden representation increases",
                f"(pro - late at d = {small}) - (pro - late at d = {large})",
                (0, inf),
                shrink,
            ),
            _claim(
                tag,
                "for a large enough hidden representation, the performance of late "
                "fusion matches that of early fusion",
                f"accuracy early - late at d = {large}",
                (-MATCH_MARGIN, MATCH_MARGIN),
                early.loc[early["width"] == large, "gap"],
            ),
        ]
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
            "mean percentage MSE improvement of pro over late",
            IMPROVEMENT_BAND,
            gain,
        ),
        _claim(
            "7",
            "pro-fusion performs better than late fusion (direction only)",
            "mean percentage MSE improvement of pro over late",
            (0, math.inf),
            gain,
        ),
    ]


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
            "effective robustness of pro against late",
            (0, math.inf),
            per_pair["effective_robustness"],
        ),
    ]
