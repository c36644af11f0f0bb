"""Calibration measures checked against scikit-learn, statsmodels and hand formulas."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special
from sklearn.calibration import calibration_curve

from evaluation.calibration import (
    calibration,
    expected_calibration_error,
    logistic_calibration,
    observed_expected_ratio,
    reliability_curve,
)


@pytest.fixture
def data():
    rng = np.random.default_rng(5)
    p = rng.beta(2, 5, 1500)
    # Outcomes from a miscalibrated truth, so intercept and slope differ from 0 and 1.
    y = rng.random(1500) < special.expit(0.3 + 0.7 * special.logit(p))
    return y, p


def test_reliability_curve_matches_sklearn_quantile_bins(data):
    y, p = data
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile")
    bins = reliability_curve(y, p, n_bins=10)
    np.testing.assert_allclose([b.observed.estimate for b in bins], prob_true, atol=1e-15)
    np.testing.assert_allclose([b.mean_predicted for b in bins], prob_pred, atol=1e-15)
    assert sum(b.n for b in bins) == y.size


def test_reliability_curve_with_ties_drops_empty_bins_like_sklearn():
    y = np.array([0, 1, 0, 1, 1, 0, 1, 1], dtype=bool)
    p = np.array([0.2, 0.2, 0.2, 0.2, 0.2, 0.8, 0.8, 0.9])
    prob_true, prob_pred = calibration_curve(y, p, n_bins=4, strategy="quantile")
    bins = reliability_curve(y, p, n_bins=4)
    np.testing.assert_allclose([b.observed.estimate for b in bins], prob_true, atol=1e-15)
    np.testing.assert_allclose([b.mean_predicted for b in bins], prob_pred, atol=1e-15)


def test_expected_calibration_error_is_count_weighted_gap(data):
    y, p = data
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile")
    bins = reliability_curve(y, p, n_bins=10)
    weights = np.array([b.n for b in bins]) / y.size
    assert expected_calibration_error(bins).value == pytest.approx(
        np.sum(weights * np.abs(prob_true - prob_pred)), abs=1e-15
    )


def test_calibration_slope_matches_statsmodels_logit(data):
    y, p = data
    x = sm.add_constant(special.logit(p))
    fit = sm.Logit(y.astype(float), x).fit(disp=0, tol=1e-12)
    _, slope = logistic_calibration(y, p)
    low, high = fit.conf_int(alpha=0.05)[1]
    assert slope.value == pytest.approx(fit.params[1], abs=1e-8)
    assert (slope.ci_low, slope.ci_high) == pytest.approx((low, high), abs=1e-7)


def test_calibration_intercept_matches_statsmodels_glm_with_offset(data):
    y, p = data
    fit = sm.GLM(
        y.astype(float),
        np.ones((y.size, 1)),
        family=sm.families.Binomial(),
        offset=special.logit(p),
    ).fit(tol=1e-12)
    intercept, _ = logistic_calibration(y, p)
    low, high = fit.conf_int(alpha=0.05)[0]
    assert intercept.value == pytest.approx(fit.params[0], abs=1e-8)
    assert (intercept.ci_low, intercept.ci_high) == pytest.approx((low, high), abs=1e-7)


def test_perfectly_separating_scores_leave_the_slope_undefined():
    y = np.array([False] * 20 + [True] * 20)
    p = np.concatenate([np.linspace(0.1, 0.4, 20), np.linspace(0.6, 0.9, 20)])
    _, slope = logistic_calibration(y, p)
    assert slope.value is None
    assert slope.undefined_reason.startswith("logistic recalibration did not converge")


def test_probabilities_of_zero_and_one_stay_finite():
    y = np.array([False, True, False, True, True, False])
    p = np.array([0.0, 1.0, 0.3, 0.6, 0.4, 0.7])
    intercept, slope = logistic_calibration(y, p)
    assert intercept.value is not None and np.isfinite(intercept.value)


def test_observed_expected_ratio_uses_poisson_log_interval(data):
    y, p = data
    r = observed_expected_ratio(y, p)
    observed, expected = y.sum(), p.sum()
    assert r.value == pytest.approx(observed / expected, rel=1e-14)
    assert r.ci_low == pytest.approx(
        observed / expected * np.exp(-1.959963984540054 / np.sqrt(observed)), rel=1e-12
    )


def test_one_class_gives_undefined_calibration_with_reasons():
    y = np.zeros(10, dtype=bool)
    result = calibration(y, np.linspace(0.1, 0.9, 10))
    assert result.slope.undefined_reason == "no positive cases"
    assert result.oe_ratio.undefined_reason == "no observed events"
    assert result.ece.value == pytest.approx(0.5, abs=1e-15)
