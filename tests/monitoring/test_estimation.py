"""CBPE: estimates close to measured values on calibrated data, refused when miscalibrated."""

import numpy as np
import pytest

from monitoring.errors import MonitoringInputError
from monitoring.estimation import calibration_acceptable, estimate_performance, expected_auc
from monitoring.performance import binary_performance, compare_with_baseline


def _calibrated(n, seed):
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 3.0, n)
    y = (rng.uniform(size=n) < p).astype(int)  # outcomes drawn from the scores: calibrated
    return p, y


def test_estimate_is_close_to_measured_on_calibrated_data():
    p, y = _calibrated(40_000, seed=0)
    est = estimate_performance(p, threshold=0.4, calibration_slope=1.0, calibration_intercept=0.0)
    measured = binary_performance(y, p, threshold=0.4)
    assert est.estimated is True and est.offered is True
    # With 40,000 cases the sampling sd of the measured proportions is below 0.006; the
    # estimate must sit within 0.015 (about 2.5 sd) of what the labels show.
    for name in ("sensitivity", "specificity", "ppv", "npv", "accuracy", "prevalence", "auc"):
        assert est.metric(name).value == pytest.approx(measured.metric(name).value, abs=0.015), name
        assert est.metric(name).method == "cbpe"


def test_expected_confusion_matrix_adds_up():
    p, _ = _calibrated(1000, seed=1)
    est = estimate_performance(p, threshold=0.3, ece=0.02)
    total = est.expected_tp + est.expected_fp + est.expected_fn + est.expected_tn
    assert total == pytest.approx(1000)
    assert est.expected_tp + est.expected_fn == pytest.approx(p.sum())


def test_expected_auc_matches_brute_force_pair_weights():
    # Expected share of correctly ranked (positive, negative) pairs: pair (i, j) is a
    # positive-negative pair with probability p_i (1 - p_j), including i == j, ties one half.
    rng = np.random.default_rng(2)
    p = np.round(rng.uniform(size=150), 2)
    w = p[:, None] * (1 - p[None, :])
    order = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])
    assert expected_auc(p) == pytest.approx((w * order).sum() / w.sum(), abs=1e-12)


def test_refused_when_miscalibrated_with_reasons():
    p, _ = _calibrated(500, seed=3)
    est = estimate_performance(p, threshold=0.5, calibration_slope=0.6, calibration_intercept=0.4)
    assert (est.offered, est.estimated, est.metrics) == (False, True, ())
    assert est.refused_reason == (
        "validation calibration not good enough: calibration slope 0.6 is outside [0.8, 1.2]; "
        "calibration intercept 0.4 is outside +/-0.2"
    )
    with pytest.raises(KeyError, match="no estimate of 'sensitivity'"):
        est.metric("sensitivity")
    assert estimate_performance(p, threshold=0.5, ece=0.09).refused_reason == (
        "validation calibration not good enough: expected calibration error 0.09 is above 0.05"
    )


def test_refused_without_calibration_evidence():
    check = calibration_acceptable()
    assert check.reasons == (
        "no calibration evidence: give slope and intercept, or ECE, from validation",
    )
    assert calibration_acceptable(slope=1.0).reasons == (
        "calibration slope and intercept must be given together",
    )


def test_scores_outside_unit_interval_are_rejected():
    with pytest.raises(MonitoringInputError) as caught:
        estimate_performance([0.2, 1.7, None], threshold=0.5, ece=0.01)
    assert caught.value.problems == (
        "y_score: 1 missing or non-numeric values (rows 2); remove them first",
        "y_score must hold probabilities in [0, 1]: 1 values outside (rows 1)",
    )


def test_estimate_without_interval_gives_inconclusive_kpis_with_the_point_verdict():
    # As in evaluation.kpi: a KPI is decided on an interval; an estimate has none.
    p, _ = _calibrated(5000, seed=4)
    est = estimate_performance(p, threshold=0.4, ece=0.01)
    comparison = compare_with_baseline(
        est, kpis=[{"metric": "specificity", "comparator": ">=", "threshold": 0.99}]
    )
    assert comparison.estimated is True
    verdict = comparison.kpis[0]
    value = est.metric("specificity").value
    assert (verdict.status, verdict.point_met, verdict.value) == ("inconclusive", False, value)
    assert (verdict.lower, verdict.upper, verdict.interval_excludes_threshold) == (None,) * 3
    assert verdict.message == (
        "inconclusive: specificity >= 0.99 is judged on a confidence interval and this metric "
        f"has none (estimate {value:.4g})."
    )
    assert comparison.kpis_not_met == ()
    assert est.to_dict()["estimated"] is True
