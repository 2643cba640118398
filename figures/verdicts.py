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
from progfusion.experiments.metrics import MIN_PAIRS, summarise
from progfusion.experiments.seeds import BOOTSTRAP_SEED

__all__ = ["EmpiricalClaim", "claim", "direction", "verdict"]

# Each figure states its own claims and bands (``Figure.claims``); the rule is here, once.


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


def direction() -> tuple[float, float]:
    """The band of a direction claim ("A is better than B"): everything above 0."""
    return (0.0, math.inf)


def claim(
    figure: str, quote: str, effect: str, band: tuple[float, float], values
) -> EmpiricalClaim:
    """The claim measured as the mean of ``values`` (one per paired trial; NaN left out)."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return EmpiricalClaim(figure, quote, effect, band, 0, math.nan, math.nan, math.nan)
    s = summarise(values, seed=BOOTSTRAP_SEED)
    return EmpiricalClaim(figure, quote, effect, band, s.n, s.mean, s.ci_low, s.ci_high)
