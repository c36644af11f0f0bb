"""Regression metrics checked against scikit-learn, scipy and the Bland-Altman formulas."""

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from evaluation import regression


@pytest.fixture
def data():
    rng = np.random.default_rng(41)
    y = rng.normal(50, 10, 120)
    return y, y + rng.normal(1.5, 4, 120)


def test_mae_and_rmse_match_sklearn(data):
    y, p = data
    assert regression.mean_absolute_error(y, p).value == pytest.approx(
        skm.mean_absolute_error(y, p), rel=1e-14
    )
    assert regression.root_mean_squared_error(y, p).value == pytest.approx(
        skm.root_mean_squared_error(y, p), rel=1e-14
    )


def test_mean_bias_interval_matches_scipy_one_sample_t(data):
    y, p = data
    ci = stats.ttest_1samp(p - y, 0.0).confidence_interval(0.95)
    result = regression.mean_bias(y, p)
    assert (result.ci_low, result.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-12)


def test_bland_altman_limits_follow_bland_altman_1999(data):
    y, p = data
    d = p - y
    ba = regression.bland_altman(y, p)
    sd = d.std(ddof=1)
    assert ba.upper_limit.estimate == pytest.approx(d.mean() + 1.959963984540054 * sd, rel=1e-12)
    half = stats.t.ppf(0.975, d.size - 1) * np.sqrt(3 * sd**2 / d.size)
    assert ba.lower_limit.upper - ba.lower_limit.estimate == pytest.approx(half, rel=1e-12)


def test_tiny_samples_give_undefined_results():
    assert regression.mean_bias(np.array([1.0]), np.array([2.0])).undefined_reason == (
        "needs at least 2 cases, got 1"
    )
    assert regression.bland_altman(np.array([1.0, 2.0]), np.array([1.0, 2.5])) is None
