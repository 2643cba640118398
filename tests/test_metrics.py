"""Metrics on arrays small enough to check by hand, plus invariants and seeding."""

import numpy as np
import pytest
from progfusion.experiments.metrics import (
    MeanSummary,
    PairedSummary,
    accuracy,
    baseline_trend,
    bootstrap_ci,
    delta_auc,
    effective_robustness,
    mse,
    paired_comparison,
    percent_improvement,
    robust_auc,
    summarise,
    win_indicators,
)

LEVELS = np.array([0.0, 0.1, 0.3])


# ----------------------------------------------------------------------------- task metrics


def test_accuracy_labels_and_logits():
    y = np.array([0, 1, 2, 1])
    assert accuracy(y, np.array([0, 1, 1, 1])) == pytest.approx(3 / 4)
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0]])
    assert accuracy(y, logits) == pytest.approx(2 / 4)  # argmax = [0, 1, 1, 2]


def test_accuracy_bad_shapes():
    with pytest.raises(ValueError, match="y_pred_or_logits"):
        accuracy([0, 1], [0, 1, 1])
    with pytest.raises(ValueError, match="y_true"):
        accuracy([], [])


def test_mse_mean_over_samples_and_outputs():
    y = np.array([[0.0, 1.0], [2.0, 3.0]])
    pred = np.array([[1.0, 1.0], [2.0, 1.0]])  # squared errors 1, 0, 0, 4
    assert mse(y, pred) == pytest.approx(5 / 4)
    with pytest.raises(ValueError, match="y_pred"):
        mse(y, pred[:, 0])


def test_percent_improvement():
    assert percent_improvement(2.0, 1.5) == pytest.approx(25.0)
    assert percent_improvement(2.0, 2.0) == 0.0
    np.testing.assert_allclose(percent_improvement([1.0, 4.0], [1.1, 3.0]), [-10.0, 25.0])
    with pytest.raises(ValueError, match="mse_base"):
        percent_improvement([1.0, 0.0], [1.0, 1.0])


# ----------------------------------------------------------------------------- robustness


def test_robust_auc_by_hand_uneven_levels():
    perf = np.array([1.0, 0.8, 0.4])
    by_hand = 0.1 * (1.0 + 0.8) / 2 + 0.2 * (0.8 + 0.4) / 2  # 0.09 + 0.12
    assert robust_auc(LEVELS, perf) == pytest.approx(by_hand)
    assert by_hand == pytest.approx(0.21)


def test_robust_auc_vectorised_over_leading_axes():
    perf = np.array([[1.0, 0.8, 0.4], [1.0, 1.0, 1.0]])  # [2, L]
    np.testing.assert_allclose(robust_auc(LEVELS, perf), [0.21, 0.3])


@pytest.mark.parametrize(
    ("levels", "perf", "match"),
    [
        ([0.0, 0.3, 0.1], [1.0, 0.8, 0.4], "levels"),
        ([0.0, 0.1, 0.1], [1.0, 0.8, 0.4], "levels"),
        ([0.0], [1.0], "levels"),
        ([0.0, 0.1, 0.3], [1.0, 0.8], "perf"),
    ],
)
def test_robust_auc_bad_inputs(levels, perf, match):
    with pytest.raises(ValueError, match=match):
        robust_auc(levels, perf)


def test_delta_auc_sign_and_antisymmetry():
    new, base = np.array([1.0, 0.9, 0.8]), np.array([1.0, 0.8, 0.4])
    assert delta_auc(LEVELS, new, base) > 0  # new degrades less: more robust
    assert delta_auc(LEVELS, new, base) == pytest.approx(-delta_auc(LEVELS, base, new))
    assert delta_auc(LEVELS, base, base) == 0.0
    with pytest.raises(ValueError, match="perf_base"):
        delta_auc(LEVELS, new, base[:2])


def test_baseline_trend_by_hand():
    # two baseline models: clean 1 and 2; at level 2 they keep 0.5 and 1.5 (slope 1,
    # intercept -0.5); at level 1, 1 and 1 (slope 0, intercept 1)
    base = np.array([[1.0, 1.0, 0.5], [2.0, 1.0, 1.5]])
    intercept, slope = baseline_trend(base)
    np.testing.assert_allclose(intercept, [0.0, 1.0, -0.5], atol=1e-12)
    np.testing.assert_allclose(slope, [1.0, 0.0, 1.0], atol=1e-12)
    flat_intercept, flat_slope = baseline_trend(base[:1])  # one model: slope 0 off level 0
    np.testing.assert_allclose(flat_slope, [1.0, 0.0, 0.0])
    np.testing.assert_allclose(flat_intercept, [0.0, 1.0, 0.5])
    with pytest.raises(ValueError, match="perf_baseline"):
        baseline_trend(base[0])


def test_effective_robustness_is_deviation_from_the_trend_integrated_like_auc():
    base = np.array([[1.0, 1.0, 0.5], [2.0, 1.0, 1.5]])  # trend as above
    model = np.array([1.5, 1.4, 1.2])  # trend at clean 1.5: [1.5, 1.0, 1.0]
    residual = model - np.array([1.5, 1.0, 1.0])
    assert effective_robustness(LEVELS, model, base) == pytest.approx(
        robust_auc(LEVELS, residual)  # same trapezoid, same scale as robust AUC
    )
    assert effective_robustness(LEVELS, model, base) > 0  # above the trend: more robust
    on_trend = np.array([3.0, 1.0, 2.5])
    assert effective_robustness(LEVELS, on_trend, base) == pytest.approx(0.0)
    # a clean-data gap alone scores nothing: baseline models average exactly zero
    assert np.mean(effective_robustness(LEVELS, base, base)) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="perf"):
        effective_robustness(LEVELS, model[:2], base)


def test_win_indicators_count_ties_half_and_keep_nan():
    wins = win_indicators([1.0, 1.0, 1.0, np.nan], [0.5, 1.0, 2.0, 1.0], higher_is_better=False)
    np.testing.assert_array_equal(wins[:3], [1.0, 0.5, 0.0])
    assert np.isnan(wins[3])
    with pytest.raises(ValueError, match="new shape"):
        win_indicators([1.0], [1.0, 2.0], higher_is_better=True)


# ----------------------------------------------------------------------------- bootstrap


def _data(n=40, seed=123):
    return np.random.default_rng(seed).normal(size=n)


def test_bootstrap_seed_used_end_to_end():
    v = _data()
    assert bootstrap_ci(v, seed=1, n_boot=2000) == bootstrap_ci(v, seed=1, n_boot=2000)
    assert bootstrap_ci(v, seed=1, n_boot=2000) != bootstrap_ci(v, seed=2, n_boot=2000)
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert bootstrap_ci(v, seed=g1, n_boot=500) == bootstrap_ci(v, seed=g2, n_boot=500)


def test_bootstrap_contains_point_and_narrows_with_confidence():
    v = _data()
    low, high = bootstrap_ci(v, seed=0)
    assert low <= v.mean() <= high
    low50, high50 = bootstrap_ci(v, seed=0, confidence=0.5)
    assert low <= low50 <= high50 <= high


def test_bootstrap_degenerate_and_nan():
    assert bootstrap_ci([3.5], seed=0) == (3.5, 3.5)
    assert bootstrap_ci([2.0, 2.0, 2.0], seed=0) == (2.0, 2.0)
    v = _data(20)
    with_nan = np.concatenate([v, [np.nan, np.nan]])
    assert bootstrap_ci(with_nan, seed=4, n_boot=500) == bootstrap_ci(v, seed=4, n_boot=500)
    with pytest.raises(ValueError, match="values"):
        bootstrap_ci([np.nan, np.nan], seed=0)


def test_bootstrap_multidimensional_and_median():
    v = np.stack([_data(30, 1), _data(30, 2) + 5], axis=1)  # [30, 2]
    low, high = bootstrap_ci(v, seed=0, n_boot=1000)
    assert low.shape == high.shape == (2,)
    assert np.all(low <= v.mean(axis=0)) and np.all(v.mean(axis=0) <= high)
    low_m, high_m = bootstrap_ci(v[:, 0], seed=0, n_boot=1000, statistic=np.median)
    assert low_m <= np.median(v[:, 0]) <= high_m


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n_boot": 0}, "n_boot"), ({"confidence": 1.0}, "confidence"), ({"seed": None}, "seed")],
)
def test_bootstrap_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        bootstrap_ci([1.0, 2.0, 3.0], **({"seed": 0} | kwargs))


def test_summarise():
    v = np.concatenate([_data(25), [np.nan]])
    s = summarise(v, seed=0, n_boot=1000)
    assert isinstance(s, MeanSummary)
    assert s.n == 25
    assert s.mean == pytest.approx(np.nanmean(v))
    assert s.ci_low <= s.mean <= s.ci_high
    assert summarise(v, seed=3, n_boot=1000) == summarise(v, seed=3, n_boot=1000)


# ----------------------------------------------------------------------------- paired


def test_paired_identical_arrays_tie():
    v = _data(10)
    s = paired_comparison(v, v, higher_is_better=True, seed=0, n_boot=200)
    assert isinstance(s, PairedSummary)
    assert s.win_fraction == 0.5  # every pair a tie, ties count half
    assert s.mean_difference == 0.0 and s.ci_low == s.ci_high == 0.0
    assert np.isnan(s.wilcoxon_p)


def test_paired_by_hand_orientation():
    base = np.array([1.0, 2.0, 3.0, 4.0])
    new = np.array([0.5, 2.0, 2.0, 4.5])  # MSE: better, tie, better, worse
    s = paired_comparison(base, new, higher_is_better=False, seed=0, n_boot=500)
    assert s.n == 4
    assert s.win_fraction == pytest.approx((2 + 0.5) / 4)
    assert s.mean_difference == pytest.approx((0.5 + 0.0 + 1.0 - 0.5) / 4)
    assert s.ci_low <= s.mean_difference <= s.ci_high
    flipped = paired_comparison(base, new, higher_is_better=True, seed=0, n_boot=500)
    assert flipped.win_fraction == pytest.approx(1 - s.win_fraction)
    assert flipped.mean_difference == pytest.approx(-s.mean_difference)


def test_paired_wilcoxon_and_nan_pairs():
    rng = np.random.default_rng(0)
    base = rng.normal(size=30)
    new = base + 1.0 + 0.1 * rng.normal(size=30)
    s = paired_comparison(base, new, higher_is_better=True, seed=0, n_boot=500)
    assert s.win_fraction == 1.0 and s.wilcoxon_p < 1e-6
    base_nan = np.concatenate([base, [np.nan, 1.0]])
    new_nan = np.concatenate([new, [2.0, np.nan]])
    assert paired_comparison(base_nan, new_nan, higher_is_better=True, seed=0, n_boot=500) == s
    one = paired_comparison([1.0], [2.0], higher_is_better=True, seed=0)
    assert one.n == 1 and np.isnan(one.wilcoxon_p)


def test_paired_bad_inputs():
    with pytest.raises(ValueError, match="new"):
        paired_comparison([1.0, 2.0], [1.0], higher_is_better=True, seed=0)
    with pytest.raises(ValueError, match="seed"):
        paired_comparison([1.0, 2.0], [1.0, 3.0], higher_is_better=True, seed=None)
