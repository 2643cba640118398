"""The paper's empirical claims, measured on results tables, each with a computed verdict.

The rule, the same for every claim: a claim names a *band* of values for an effect
(for a direction claim, everything above 0; for "close to 90%", 80% to 100%; for
the paper's "matches", -1 to +1 accuracy points). The effect is measured as a mean
over paired trials with a 95% percentile-bootstrap interval (10,000 resamples). The
verdict is

- **reproduced** if the whole interval lies inside the band,
- **not reproduced** if the whole interval lies outside it,
- **inconclusive** otherwise (more trials would decide), and always when fewer than
  5 paired trials were measured (a percentile bootstrap of 2-4 values is too narrow
  to trust).

Rows that compute the same statistic (the same values, the same band) are one row,
which names every claim and reading it stands for, so that one number is not counted
as several verdicts. A claim in quotation marks is the paper's own words; a row of
ours (a reading the paper does not state) says *ours* and has no quotation marks.

Multiplicity: the rows of the table are one family of m tests (m is printed with the
table), corrected by Holm's step-down (Holm 1979; valid whatever the dependence
between rows, and several rows share their trials). Each row's p-value inverts its
own interval: it is the smallest alpha at which the percentile interval at confidence
1 - alpha still gives the row's verdict (2 x the fraction of resamples on the wrong
side of the band's edge; 0 means fewer than 1 in 5,000). Holm multiplies the k-th
smallest of the m p-values by m - k + 1 (the running maximum, at most 1); a row keeps
its verdict after the correction if its adjusted p is at most 0.05, and is otherwise
inconclusive. With m = 1 the corrected verdict is the per-row one.

A verdict is **fragile** when an end of its interval lies within float-rounding
distance of an edge of its band: the same code on another CPU may put that end on the
other side. The distance is the difference measured between two CPUs (or float-only
changes of the trainer; tests/test_engine_parity.py): for Figure 4, whose early
stopping turns a float's last digit into another stopping step, 0.003 (its plotted
mean accuracies differ by up to 0.003 between an Intel Xeon and an AMD EPYC), in the
effect's units; for the others, 1e-3 of the larger end's magnitude (Figure 7's mean
improvement moved from +0.997% to +0.996%). A comparison in which more than half of
one design's models stopped at the step cap is marked *capped*: it compares
unfinished training.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from progfusion.experiments.metrics import MIN_PAIRS, bootstrap_distribution
from progfusion.experiments.seeds import BOOTSTRAP_SEED

__all__ = [
    "ALPHA",
    "N_BOOT",
    "ROUNDING_RELATIVE",
    "EmpiricalClaim",
    "Row",
    "band_p_value",
    "claim",
    "direction",
    "fragile",
    "holm",
    "judge",
    "merge_same",
    "verdict",
]

# Each figure states its own claims and bands (``Figure.claims``); the rule is here, once.

#: The family-wise error rate of the Holm-corrected verdicts, and each row's 1 - confidence.
ALPHA = 0.05
#: Bootstrap resamples per claim.
N_BOOT = 10_000
#: The float-rounding distance of a claim that states none: this fraction of the larger
#: end of its interval (see the module docstring).
ROUNDING_RELATIVE = 1e-3


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


def band_p_value(boot: ArrayLike, band: tuple[float, float]) -> float:
    """The p-value of a band verdict: the smallest alpha whose percentile interval (at
    confidence 1 - alpha, from the same resamples) still decides it.

    Parameters
    ----------
    boot : array of float, shape [B]
        The bootstrap resamples of the statistic.
    band : (low, high)
        The claimed band (``high`` may be ``inf``).

    Returns
    -------
    float in [0, 1]
        ``2 x`` the fraction of resamples on the wrong side of the band's edge, for the
        better-supported of the two decided verdicts: *reproduced* (every resample
        inside, ``lo <= b <= hi``: the larger of the two tails outside) or *not
        reproduced* (every resample below ``lo``, or every one above ``hi``). A
        percentile interval at 95% decides a verdict only if this is at most 0.05.
    """
    b = np.asarray(boot, dtype=float).ravel()
    lo, hi = band
    inside = 2.0 * max(np.mean(b < lo), np.mean(b > hi))
    outside = 2.0 * min(np.mean(b >= lo), np.mean(b <= hi))
    return float(min(1.0, inside, outside))


def holm(p_values: ArrayLike) -> np.ndarray:
    """Holm's step-down adjusted p-values, in the order given (NaN counts as 1).

    The k-th smallest of the m p-values is multiplied by ``m - k + 1``, then the running
    maximum is taken (so the adjusted values keep the raw order) and capped at 1. Every
    adjusted value is at least its raw one; with m = 1 they are equal.
    """
    p = np.nan_to_num(np.asarray(p_values, dtype=float).ravel(), nan=1.0)
    m = len(p)
    order = np.argsort(p, kind="stable")
    scaled = (m - np.arange(m)) * p[order]
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return adjusted


def fragile(ci_low: float, ci_high: float, band: tuple[float, float], rounding: float) -> bool:
    """Whether an end of the interval lies within ``rounding`` of a finite band edge."""
    ends = [x for x in (ci_low, ci_high) if math.isfinite(x)]
    edges = [e for e in band if math.isfinite(e)]
    return any(abs(x - e) <= rounding for x in ends for e in edges)


@dataclass(frozen=True)
class EmpiricalClaim:
    """One claim, what was measured, and the verdict computed from it.

    ``quote`` is the paper's words, or None for a row of ours, whose ``statement``
    says what we test. ``p_value`` is :func:`band_p_value`; ``rounding`` the
    float-rounding distance (the effect's units); ``note`` a caveat shown with the
    effect (a capped comparison); ``key`` fingerprints the measured values (rows with
    the same key and band are one statistic, :func:`merge_same`; ``""``: never merged).
    """

    figure: str
    quote: str | None
    effect: str
    band: tuple[float, float]
    n: int
    mean: float
    ci_low: float
    ci_high: float
    p_value: float = 1.0
    rounding: float = 0.0
    statement: str = ""
    note: str = ""
    key: str = ""

    @property
    def verdict(self) -> str:
        return verdict(self.ci_low, self.ci_high, self.band, self.n)

    @property
    def ours(self) -> bool:
        """Whether the row is ours (a reading the paper does not state in these words)."""
        return self.quote is None

    @property
    def text(self) -> str:
        """The claim as printed: the paper's words in quotation marks, or ours, labelled."""
        return f"ours: {self.statement}" if self.ours else f'"{self.quote}"'

    @property
    def fragile(self) -> bool:
        """Whether float rounding could move its verdict (see the module docstring)."""
        if self.n < MIN_PAIRS:  # inconclusive whatever the interval
            return False
        return fragile(self.ci_low, self.ci_high, self.band, self.rounding)


def direction() -> tuple[float, float]:
    """The band of a direction claim ("A is better than B"): everything above 0."""
    return (0.0, math.inf)


def claim(
    figure: str,
    quote: str | None,
    effect: str,
    band: tuple[float, float],
    values,
    *,
    statistic: Callable[..., np.ndarray] = np.mean,
    statement: str = "",
    rounding: float | None = None,
    note: str = "",
) -> EmpiricalClaim:
    """The claim measured as ``statistic`` of ``values`` (one row per paired trial;
    rows with a NaN or inf left out), with its interval and :func:`band_p_value`.

    ``quote=None`` with a ``statement``: a row of ours. ``statistic`` is called as
    ``statistic(v, axis=0)`` (``values`` of shape [n, ...] for a statistic of several
    columns). ``rounding``: the float-rounding distance in the effect's units (default
    :data:`ROUNDING_RELATIVE` of the larger end of the interval).
    """
    if quote is None and not statement:
        raise ValueError("a claim of ours (quote=None) needs a statement")
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v.reshape(len(v), -1)).all(axis=1)] if v.ndim else v.reshape(1)
    key = hashlib.sha1(f"{getattr(statistic, '__name__', statistic)}{v.shape}".encode())
    key.update(np.ascontiguousarray(v).tobytes())
    made = {"statement": statement, "note": note, "key": key.hexdigest()[:16]}
    if len(v) == 0:
        return EmpiricalClaim(figure, quote, effect, band, 0, *[math.nan] * 3, **made)
    boot = bootstrap_distribution(v, n_boot=N_BOOT, statistic=statistic, seed=BOOTSTRAP_SEED)
    confidence = 0.95  # the per-row interval, as bootstrap_ci computes it (bit for bit)
    alpha = (1.0 - confidence) / 2.0
    low, high = (float(x) for x in np.quantile(boot, [alpha, 1.0 - alpha], axis=0))
    if rounding is None:
        rounding = ROUNDING_RELATIVE * max(abs(low), abs(high))
    p = band_p_value(boot, band) if len(v) >= MIN_PAIRS else 1.0
    mean = float(statistic(v, axis=0))
    return EmpiricalClaim(figure, quote, effect, band, len(v), mean, low, high, p, rounding,
                          **made)  # fmt: skip


def merge_same(claims: Sequence[EmpiricalClaim]) -> list[tuple[EmpiricalClaim, ...]]:
    """The claims grouped into rows: claims of one figure with the same values (``key``)
    and band are one statistic, one row, at the place of its first claim."""
    groups: dict[object, list[EmpiricalClaim]] = {}
    for i, c in enumerate(claims):
        same = (c.figure, c.key, c.band) if c.key else i
        groups.setdefault(same, []).append(c)
    return [tuple(g) for g in groups.values()]


@dataclass(frozen=True)
class Row:
    """One row of the verdict table: the claims that measure one statistic, its Holm
    adjusted p-value in a family of ``family`` rows, and the verdicts."""

    claims: tuple[EmpiricalClaim, ...]
    p_holm: float
    family: int

    @property
    def first(self) -> EmpiricalClaim:
        return self.claims[0]

    @property
    def verdict(self) -> str:
        """The per-row verdict, on the row's own 95% interval."""
        return self.first.verdict

    @property
    def corrected(self) -> str:
        """The verdict after Holm's correction over the family: the per-row verdict if
        its adjusted p is at most :data:`ALPHA`, else inconclusive."""
        if self.verdict != "inconclusive" and self.p_holm <= ALPHA:
            return self.verdict
        return "inconclusive"

    @property
    def fragile(self) -> bool:
        return self.first.fragile


def judge(claims: Sequence[EmpiricalClaim]) -> list[Row]:
    """The claims as rows (:func:`merge_same`), each with its Holm-adjusted p-value over
    the family of all the rows."""
    groups = merge_same(claims)
    adjusted = holm([g[0].p_value for g in groups])
    return [Row(g, float(p), len(groups)) for g, p in zip(groups, adjusted, strict=True)]
