"""Pure metric functions: task metrics, robustness summaries and bootstrap statistics.

Every function takes numpy arrays (or anything ``np.asarray`` accepts) and returns
floats, numpy arrays or small frozen dataclasses; nothing here draws or writes files.
Randomness (the bootstrap) is driven only by the ``seed`` argument.

Conventions
-----------
- Robustness curves ``perf`` are "higher is better": accuracy, or ``-MSE`` for
  regression. Pass ``-mse`` yourself; nothing here flips signs behind your back.
- Robustness summaries are never min-max normalised.
- Paired differences are oriented so that positive means ``new`` is better.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats

__all__ = [
    "MIN_PAIRS",
    "MeanSummary",
    "PairedSummary",
    "accuracy",
    "baseline_trend",
    "bootstrap_ci",
    "bootstrap_distribution",
    "delta_auc",
    "effective_robustness",
    "ImprovementReadings",
    "improvement_readings",
    "mse",
    "paired_comparison",
    "percent_improvement",
    "robust_auc",
    "summarise",
    "win_indicators",
]

Seed = int | np.random.Generator | np.random.SeedSequence

#: Fewer paired trials than this: no interval is reported (a percentile bootstrap of
#: 2-4 values is too narrow to trust), and no verdict or significance mark is drawn.
MIN_PAIRS = 5

# Resampled values materialised at once by the bootstrap (~8 MB of float64), so that
# 10,000 resamples of thousands of trials do not need gigabytes of memory.
_BOOT_CHUNK_ELEMENTS = 1_000_000

try:
    from numpy import trapezoid as _trapezoid
except ImportError:  # numpy < 2.0 has only trapz
    from numpy import trapz as _trapezoid  # noqa: NPY201


def _scalar_or_array(x: np.ndarray) -> float | np.ndarray:
    return float(x) if np.ndim(x) == 0 else x


# ----------------------------------------------------------------------------- task metrics


def accuracy(y_true: ArrayLike, y_pred_or_logits: ArrayLike) -> float:
    """Fraction of correct predictions.

    Parameters
    ----------
    y_true : array of int, shape [n]
        True class labels.
    y_pred_or_logits : array, shape [n] (labels) or [n, C] (logits or probabilities)
        With two dimensions the predicted label is the argmax over the last axis.
    """
    y_true = np.asarray(y_true)
    pred = np.asarray(y_pred_or_logits)
    if y_true.ndim != 1 or y_true.size == 0:
        raise ValueError(f"y_true must be a non-empty 1-D array, got shape {y_true.shape}")
    if pred.ndim == 2:
        pred = pred.argmax(axis=1)
    if pred.shape != y_true.shape:
        raise ValueError(
            "y_pred_or_logits must have shape [n] or [n, C] with n = len(y_true) = "
            f"{y_true.shape[0]}, got {np.shape(y_pred_or_logits)}"
        )
    return float(np.mean(pred == y_true))


def mse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean squared error, averaged over samples and outputs.

    Parameters
    ----------
    y_true, y_pred : array of float, shape [n] or [n, k]
        Targets and predictions of the same shape.
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.size == 0:
        raise ValueError("y_true must not be empty")
    if y_pred.shape != y_true.shape:
        raise ValueError(f"y_pred shape {y_pred.shape} differs from y_true shape {y_true.shape}")
    return float(np.mean((y_true - y_pred) ** 2))


def percent_improvement(mse_base: ArrayLike, mse_new: ArrayLike) -> float | np.ndarray:
    """Percentage MSE improvement ``100 * (mse_base - mse_new) / mse_base``.

    Positive when ``mse_new`` is lower (better). Broadcasts; returns a float for
    scalar inputs, else an array of the broadcast shape.

    Parameters
    ----------
    mse_base : array of float, any shape, all > 0
        Baseline errors (late fusion in Figure 7).
    mse_new : array of float, broadcastable to ``mse_base``
        Errors of the compared model (pro-fusion in Figure 7).
    """
    base = np.asarray(mse_base, dtype=float)
    new = np.asarray(mse_new, dtype=float)
    if np.any(base <= 0):
        raise ValueError("mse_base must be strictly positive")
    return _scalar_or_array(100.0 * (base - new) / base)


def win_indicators(base: ArrayLike, new: ArrayLike, *, higher_is_better: bool) -> np.ndarray:
    """Per pair: 1 where ``new`` is strictly better than ``base``, 0.5 on a tie, else 0.

    The mean is the win fraction (ties count half); a bootstrap of it gives the win
    fraction's interval. ``base``, ``new``: arrays of shape [n]; a pair with a NaN
    gives NaN (left out by :func:`summarise`).
    """
    b = np.asarray(base, dtype=float)
    w = np.asarray(new, dtype=float)
    if b.shape != w.shape:
        raise ValueError(f"new shape {w.shape} differs from base shape {b.shape}")
    better = w > b if higher_is_better else w < b
    wins = better + 0.5 * (w == b)
    return np.where(np.isnan(b) | np.isnan(w), np.nan, wins)


@dataclass(frozen=True)
class ImprovementReadings:
    """The ways of reading "an average improvement of X%" on paired MSEs, in percent.

    Attributes
    ----------
    mean_of_ratios : mean over pairs of ``100 (late - pro) / late`` (the figures' reading).
    ratio_of_means : ``100 (mean(late) - mean(pro)) / mean(late)``: pooled MSEs, so
        pairs with large errors weigh more.
    median : median over pairs of ``100 (late - pro) / late``.
    mean_over_wins : mean of the per-pair improvement over the pairs ``new`` wins
        (NaN when it wins none); always positive, so never comparable with the others.
    n, n_wins : pairs used, and pairs ``new`` wins (strictly lower MSE).
    """

    mean_of_ratios: float
    ratio_of_means: float
    median: float
    mean_over_wins: float
    n: int
    n_wins: int


def improvement_readings(mse_base: ArrayLike, mse_new: ArrayLike) -> ImprovementReadings:
    """Four readings of the mean percentage MSE improvement of ``new`` over ``base``.

    Parameters
    ----------
    mse_base, mse_new : array of float, shape [n], n >= 1, ``mse_base`` > 0
        Paired errors (late and pro-fusion of the same trial); pairs with a NaN are
        dropped.
    """
    base = np.asarray(mse_base, dtype=float)
    new = np.asarray(mse_new, dtype=float)
    if base.ndim != 1 or new.shape != base.shape:
        raise ValueError(
            f"mse_base and mse_new must be 1-D of one length, got {base.shape} and {new.shape}"
        )
    keep = ~(np.isnan(base) | np.isnan(new))
    base, new = base[keep], new[keep]
    if len(base) == 0:
        raise ValueError("mse_base/mse_new have no complete (non-NaN) pair")
    gain = np.asarray(percent_improvement(base, new), dtype=float).reshape(-1)  # [n]
    wins = new < base
    return ImprovementReadings(
        mean_of_ratios=float(gain.mean()),
        ratio_of_means=float(100.0 * (base.mean() - new.mean()) / base.mean()),
        median=float(np.median(gain)),
        mean_over_wins=float(gain[wins].mean()) if wins.any() else float("nan"),
        n=len(base),
        n_wins=int(wins.sum()),
    )


# ----------------------------------------------------------------------------- robustness


def _check_curve(levels: ArrayLike, perf: ArrayLike, name: str) -> tuple[np.ndarray, np.ndarray]:
    lv = np.asarray(levels, dtype=float)
    if lv.ndim != 1 or lv.size < 2:
        raise ValueError(f"levels must be a 1-D array of at least 2 values, got shape {lv.shape}")
    if not np.all(np.isfinite(lv)) or np.any(np.diff(lv) <= 0):
        raise ValueError("levels must be finite and strictly increasing")
    p = np.asarray(perf, dtype=float)
    if p.ndim == 0 or p.shape[-1] != lv.size:
        raise ValueError(
            f"{name} must have shape [..., L] with L = len(levels) = {lv.size}, got {p.shape}"
        )
    return lv, p


def robust_auc(levels: ArrayLike, perf: ArrayLike) -> float | np.ndarray:
    """Area under the performance-noise curve, by the trapezoid rule.

    The area is taken over the actual level values, so unevenly spaced levels are
    weighted by their spacing (no assumed step of 0.1).

    Parameters
    ----------
    levels : array of float, shape [L], L >= 2, strictly increasing (any spacing)
        Corruption levels (e.g. noise standard deviation in training-std units).
    perf : array of float, shape [..., L]
        A higher-is-better metric at each level: accuracy, or ``-MSE`` for regression.

    Returns
    -------
    float or array of shape [...]
    """
    lv, p = _check_curve(levels, perf, "perf")
    return _scalar_or_array(_trapezoid(p, x=lv, axis=-1))


def delta_auc(levels: ArrayLike, perf_new: ArrayLike, perf_base: ArrayLike) -> float | np.ndarray:
    """``robust_auc(levels, perf_new) - robust_auc(levels, perf_base)``.

    Positive: the new model (pro-fusion) has the larger area, i.e. is more robust.
    ``perf_new`` and ``perf_base`` are higher-is-better, shape [..., L], broadcastable.
    """
    _check_curve(levels, perf_base, "perf_base")
    return robust_auc(levels, perf_new) - robust_auc(levels, perf_base)


def baseline_trend(perf_baseline: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The baseline trend of Taori et al. (2020): corrupted against clean performance.

    Fitted across baseline models by least squares, one line per level:
    ``perf(l) ~ intercept[l] + slope[l] * perf(l0)``, where ``l0`` (the first level,
    normally noise 0) gives each model's clean performance. With fewer than two
    distinct clean values the slope is 0 and the intercept the mean. At ``l0`` the
    fit is exact (intercept 0, slope 1).

    Parameters
    ----------
    perf_baseline : array of float, shape [M, L], M >= 1
        Higher-is-better curves of the M baseline models (rows with a NaN are dropped).

    Returns
    -------
    (intercept, slope) : arrays of shape [L]
    """
    pb = np.asarray(perf_baseline, dtype=float)
    if pb.ndim != 2 or pb.shape[1] < 2:
        raise ValueError(f"perf_baseline must have shape [M, L] with L >= 2, got {pb.shape}")
    pb = pb[np.isfinite(pb).all(axis=1)]
    if len(pb) == 0:
        raise ValueError("perf_baseline has no finite rows")
    clean = pb[:, 0]  # [M]
    centred = clean - clean.mean()
    spread = float(np.sum(centred**2))
    if spread > 0:
        slope = centred @ (pb - pb.mean(axis=0)) / spread  # [L]
    else:
        slope = np.zeros(pb.shape[1])
    intercept = pb.mean(axis=0) - slope * clean.mean()
    intercept[0], slope[0] = 0.0, 1.0  # exact at the clean level
    return intercept, slope


def effective_robustness(
    levels: ArrayLike, perf: ArrayLike, perf_baseline: ArrayLike
) -> float | np.ndarray:
    """Effective robustness (Taori et al. 2020), integrated like :func:`robust_auc`.

    A baseline trend is fitted across the baseline models (:func:`baseline_trend`:
    at each level, corrupted against clean performance). A model's effective
    robustness is its deviation from the trend at its own clean performance,
    integrated over the levels with the same trapezoid as robust AUC::

        integral_l [perf(l) - (intercept[l] + slope[l] * perf(l0))] dl

    so it shares robust AUC's scale and units. Sign convention: positive means the
    model keeps more of its performance under corruption than baseline models of
    the same clean performance; a clean-data gap alone contributes nothing, and a
    model on the trend scores 0 (baseline models average exactly 0).

    Parameters
    ----------
    levels : array of float, shape [L], strictly increasing; ``levels[0]`` is the clean level
    perf : array of float, shape [..., L]
        Higher-is-better curves of the models to score (accuracy, or ``-MSE``).
    perf_baseline : array of float, shape [M, L]
        Curves of the baseline models that define the trend (e.g. every late-fusion
        model of a grid).

    Returns
    -------
    float or array of shape [...]
    """
    lv, p = _check_curve(levels, perf, "perf")
    _check_curve(levels, perf_baseline, "perf_baseline")
    intercept, slope = baseline_trend(perf_baseline)
    expected = intercept + slope * p[..., :1]  # [..., L]
    return _scalar_or_array(_trapezoid(p - expected, x=lv, axis=-1))


# ----------------------------------------------------------------------------- bootstrap


def _rng(seed: Seed) -> np.random.Generator:
    if seed is None or isinstance(seed, bool):
        raise ValueError("seed must be an int, numpy Generator or SeedSequence (not None)")
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, int | np.integer | np.random.SeedSequence):
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be an int, numpy Generator or SeedSequence, got {type(seed)}")


def _drop_nan_rows(values: ArrayLike, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension")
    keep = ~np.isnan(v.reshape(len(v), -1)).any(axis=1)
    v = v[keep]
    if len(v) == 0:
        raise ValueError(f"{name} has no non-NaN entries")
    if np.isinf(v).any():
        raise ValueError(f"{name} must not contain inf")
    return v


def bootstrap_distribution(
    values: ArrayLike,
    *,
    n_boot: int = 10_000,
    statistic: Callable[..., np.ndarray] = np.mean,
    seed: Seed,
) -> np.ndarray:
    """The ``n_boot`` resampled statistics, shape [n_boot, ...], whose percentiles are
    :func:`bootstrap_ci` (the same draws for the same arguments; NaN rows dropped, inf
    rejected; a single row: its statistic, ``n_boot`` times)."""
    v = _drop_nan_rows(values, "values")
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive int, got {n_boot!r}")
    rng, n = _rng(seed), len(v)
    if n == 1:
        point = np.asarray(statistic(v, axis=0), dtype=float)
        return np.repeat(point[None], n_boot, axis=0)
    chunk = max(1, _BOOT_CHUNK_ELEMENTS // v.size)
    boots = []
    for start in range(0, n_boot, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_boot - start), n))  # [b, n]
        boots.append(statistic(v[idx], axis=1))  # [b, ...]
    return np.concatenate(boots, axis=0)  # [n_boot, ...]


def bootstrap_ci(
    values: ArrayLike,
    *,
    n_boot: int = 10_000,
    confidence: float = 0.95,
    statistic: Callable[..., np.ndarray] = np.mean,
    seed: Seed,
) -> tuple[float, float] | tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap confidence interval of ``statistic`` over the first axis.

    Rows (entries along the first axis) that contain a NaN are dropped first (a
    diverged trial reports NaN); if none is left a ValueError is raised. ``inf`` is
    rejected. With a single row the interval is ``(statistic(v), statistic(v))``.

    Parameters
    ----------
    values : array of float, shape [n] or [n, ...]
        Independent replicates (e.g. one value per trial) along the first axis.
    n_boot : int, >= 1
        Number of bootstrap resamples.
    confidence : float in (0, 1)
        Coverage of the two-sided interval.
    statistic : callable
        Called as ``statistic(x, axis=k)``; ``np.mean`` and ``np.median`` qualify.
    seed : int, numpy Generator or SeedSequence
        Drives the resampling; the same seed gives the same interval.

    Returns
    -------
    (low, high) : floats for 1-D ``values``, else arrays of shape ``values.shape[1:]``
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    boot = bootstrap_distribution(values, n_boot=n_boot, statistic=statistic, seed=seed)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [alpha, 1.0 - alpha], axis=0)
    return _scalar_or_array(low), _scalar_or_array(high)


@dataclass(frozen=True)
class MeanSummary:
    """Mean of ``n`` replicates with a percentile-bootstrap interval."""

    n: int
    mean: float
    ci_low: float
    ci_high: float


def summarise(
    values: ArrayLike, *, seed: Seed, n_boot: int = 10_000, confidence: float = 0.95
) -> MeanSummary:
    """Mean, replicate count and bootstrap interval of 1-D ``values`` (shape [n]).

    NaN entries (diverged trials) are dropped and not counted in ``n``.
    """
    v = _drop_nan_rows(values, "values")
    if v.ndim != 1:
        raise ValueError(f"values must be 1-D, got shape {np.shape(values)}")
    low, high = bootstrap_ci(v, n_boot=n_boot, confidence=confidence, seed=seed)
    return MeanSummary(n=len(v), mean=float(v.mean()), ci_low=low, ci_high=high)


@dataclass(frozen=True)
class PairedSummary:
    """Paired comparison of ``new`` against ``base`` (same seed, same data).

    Attributes
    ----------
    n : number of complete pairs used.
    win_fraction : fraction of pairs where ``new`` is strictly better; ties count half.
    mean_difference : mean of the per-pair improvement (positive: ``new`` is better);
        ``new - base`` if higher is better, else ``base - new``.
    ci_low, ci_high : percentile-bootstrap interval of ``mean_difference``.
    wilcoxon_p : two-sided Wilcoxon signed-rank p-value of the differences (zero
        differences dropped); NaN when ``n < 2`` or every difference is zero.
    """

    n: int
    win_fraction: float
    mean_difference: float
    ci_low: float
    ci_high: float
    wilcoxon_p: float


def paired_comparison(
    base: ArrayLike,
    new: ArrayLike,
    *,
    higher_is_better: bool,
    seed: Seed,
    n_boot: int = 10_000,
) -> PairedSummary:
    """Compare paired results of two designs, e.g. late (``base``) vs pro (``new``).

    Parameters
    ----------
    base, new : array of float, shape [n]
        One value per pair (trial); pairs where either is NaN are dropped.
    higher_is_better : bool
        True for accuracy-like metrics, False for errors such as MSE.
    seed : int, numpy Generator or SeedSequence
        Drives the bootstrap of the mean difference.
    n_boot : int
        Number of bootstrap resamples.
    """
    b = np.asarray(base, dtype=float)
    w = np.asarray(new, dtype=float)
    if b.ndim != 1:
        raise ValueError(f"base must be 1-D, got shape {b.shape}")
    if w.shape != b.shape:
        raise ValueError(f"new shape {w.shape} differs from base shape {b.shape}")
    diff = _drop_nan_rows(w - b if higher_is_better else b - w, "base/new pairs")  # [n]
    n = len(diff)
    win = float(np.mean(win_indicators(np.zeros_like(diff), diff, higher_is_better=True)))
    low, high = bootstrap_ci(diff, n_boot=n_boot, seed=seed)
    if n < 2 or np.all(diff == 0):
        p = float("nan")
    else:
        p = float(stats.wilcoxon(diff, alternative="two-sided").pvalue)
    return PairedSummary(
        n=n,
        win_fraction=win,
        mean_difference=float(diff.mean()),
        ci_low=low,
        ci_high=high,
        wilcoxon_p=p,
    )
