"""Binary metrics checked against scikit-learn, statsmodels and hand counts."""

import numpy as np
import pytest
from sklearn import metrics as skm
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from evaluation import binary

from .test_intervals import brute_force_auc, logit_interval_by_hand, textbook_delong_variance


@pytest.fixture
def data():
    rng = np.random.default_rng(21)
    y = rng.random(500) < 0.35
    s = np.clip(np.round(0.25 * y + rng.uniform(0, 0.75, 500), 2), 0, 1)
    return y, s


def counts(y, s, t):
    called = s >= t
    return (
        np.sum(called & y),
        np.sum(called & ~y),
        np.sum(~called & y),
        np.sum(~called & ~y),
    )


def test_roc_auc_score_matches_sklearn(data):
    y, s = data
    assert binary.roc_auc_score(y, s).value == pytest.approx(skm.roc_auc_score(y, s), abs=1e-14)


def test_roc_auc_interval_is_the_logit_interval_of_the_textbook_delong_variance(data):
    y, s = data
    r = binary.roc_auc_score(y, s, level=0.9)
    low, high = logit_interval_by_hand(brute_force_auc(y, s), textbook_delong_variance(y, s), 0.9)
    assert (r.ci_low, r.ci_high) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert (r.interval.method, r.interval.level, r.note) == ("delong-logit", 0.9, None)


@pytest.mark.parametrize("positives", [2, 29, 30])
def test_auc_with_fewer_than_30_of_a_class_is_flagged_insufficient(positives):
    rng = np.random.default_rng(positives)
    y = np.r_[np.ones(positives, dtype=bool), np.zeros(400, dtype=bool)]
    r = binary.roc_auc_score(y, rng.normal(size=y.size) + y)
    assert r.interval is not None
    if positives < 30:
        assert r.note == (
            f"insufficient data: {positives} positive and 400 negative cases; at least 30 of "
            "each are needed to conclude, and below that the interval's coverage is not assured"
        )
    else:
        assert r.note is None
    # A small negative class is flagged the same way.
    swapped = binary.roc_auc_score(~y, rng.normal(size=y.size) - y).note
    assert (swapped is None) == (positives >= 30)


def test_auc_without_a_delong_variance_keeps_its_value_and_says_why_no_interval():
    y = np.array([True, False, False, False])
    s = np.array([0.5, 0.4, 0.6, 0.1])
    r = binary.roc_auc_score(y, s)
    assert (r.value, r.interval) == (pytest.approx(skm.roc_auc_score(y, s), abs=1e-15), None)
    assert r.note.startswith(
        "no interval: DeLong's variance needs at least 2 cases and 2 controls. Got 1 case(s) "
        "and 3 control(s); insufficient data: 1 positive and 3 negative cases"
    )
    tied = binary.roc_auc_score(np.array([True, False] * 40), np.full(80, 0.3))
    assert (tied.value, tied.interval) == (0.5, None)
    assert tied.note == "no interval: every score is tied: DeLong's variance is 0"


@pytest.mark.parametrize("method,sm_method", [("wilson", "wilson"), ("clopper-pearson", "beta")])
def test_threshold_proportions_match_hand_counts_and_statsmodels(data, method, sm_method):
    y, s = data
    tp, fp, fn, tn = counts(y, s, 0.5)
    m = binary.threshold_metrics(y, s, threshold=0.5, method=method)
    expected = {
        "sensitivity": (tp, tp + fn),
        "specificity": (tn, tn + fp),
        "ppv": (tp, tp + fp),
        "npv": (tn, tn + fn),
        "accuracy": (tp + tn, y.size),
    }
    for name, (x, n) in expected.items():
        low, high = proportion_confint(x, n, alpha=0.05, method=sm_method)
        assert m[name].value == pytest.approx(x / n, abs=1e-15), name
        assert (m[name].ci_low, m[name].ci_high) == pytest.approx((low, high), abs=1e-12), name
        assert m[name].interval.method == method


def test_sensitivity_and_specificity_agree_with_sklearn_recall(data):
    y, s = data
    m = binary.threshold_metrics(y, s, threshold=0.4)
    pred = s >= 0.4
    assert m["sensitivity"].value == pytest.approx(skm.recall_score(y, pred), abs=1e-15)
    assert m["specificity"].value == pytest.approx(skm.recall_score(~y, ~pred), abs=1e-15)
    assert m["ppv"].value == pytest.approx(skm.precision_score(y, pred), abs=1e-15)
    assert m["f1"].value == pytest.approx(skm.f1_score(y, pred), abs=1e-15)
    assert m["balanced_accuracy"].value == pytest.approx(
        skm.balanced_accuracy_score(y, pred), abs=1e-15
    )


def test_likelihood_ratios_match_statsmodels_log_ratio_interval(data):
    y, s = data
    tp, fp, fn, tn = counts(y, s, 0.5)
    m = binary.threshold_metrics(y, s, threshold=0.5)
    low, high = confint_proportions_2indep(
        tp, tp + fn, fp, fp + tn, method="log", compare="ratio", alpha=0.05
    )
    assert (m["lr_positive"].ci_low, m["lr_positive"].ci_high) == pytest.approx(
        (low, high), rel=1e-12
    )
    low, high = confint_proportions_2indep(
        fn, tp + fn, tn, fp + tn, method="log", compare="ratio", alpha=0.05
    )
    assert (m["lr_negative"].ci_low, m["lr_negative"].ci_high) == pytest.approx(
        (low, high), rel=1e-12
    )
    lr_pos, lr_neg = skm.class_likelihood_ratios(y, s >= 0.5)
    assert m["lr_positive"].value == pytest.approx(lr_pos, rel=1e-12)
    assert m["lr_negative"].value == pytest.approx(lr_neg, rel=1e-12)


def test_f1_interval_matches_numerical_delta_method(data):
    y, s = data
    tp, fp, fn, tn = counts(y, s, 0.5)
    n = y.size
    p = np.array([tp, fp, fn, tn]) / n

    def f1(q):
        return 2 * q[0] / (2 * q[0] + q[1] + q[2])

    step = 1e-6
    grad = np.array([(f1(p + step * e) - f1(p - step * e)) / (2 * step) for e in np.eye(4)])
    covariance = (np.diag(p) - np.outer(p, p)) / n
    se = np.sqrt(grad @ covariance @ grad)
    m = binary.threshold_metrics(y, s, threshold=0.5)["f1"]
    assert m.ci_high - m.value == pytest.approx(1.959963984540054 * se, rel=1e-6)


def test_balanced_accuracy_interval_is_wald_on_independent_proportions(data):
    y, s = data
    tp, fp, fn, tn = counts(y, s, 0.5)
    sens, spec = tp / (tp + fn), tn / (tn + fp)
    se = 0.5 * np.sqrt(sens * (1 - sens) / (tp + fn) + spec * (1 - spec) / (tn + fp))
    m = binary.threshold_metrics(y, s, threshold=0.5)["balanced_accuracy"]
    assert m.ci_low == pytest.approx((sens + spec) / 2 - 1.959963984540054 * se, abs=1e-12)


def test_brier_matches_sklearn(data):
    y, s = data
    assert binary.brier_score_loss(y, s).value == pytest.approx(
        skm.brier_score_loss(y, s), abs=1e-15
    )


def test_roc_curve_matches_sklearn_without_dropping_points(data):
    y, s = data
    fpr, tpr, thresholds = skm.roc_curve(y, s, drop_intermediate=False)
    ours = binary.roc_curve(y, s)
    np.testing.assert_allclose(ours.x, fpr, atol=1e-15)
    np.testing.assert_allclose(ours.y, tpr, atol=1e-15)
    np.testing.assert_array_equal(ours.thresholds[1:], thresholds[1:])


def test_precision_recall_curve_and_average_precision_match_sklearn(data):
    y, s = data
    precision, recall, thresholds = skm.precision_recall_curve(y, s)
    ours = binary.precision_recall_curve(y, s)
    # sklearn lists thresholds increasing and appends the (recall 0, precision 1) end point.
    np.testing.assert_allclose(ours.x, recall[:-1][::-1], atol=1e-15)
    np.testing.assert_allclose(ours.y, precision[:-1][::-1], atol=1e-15)
    np.testing.assert_array_equal(ours.thresholds, thresholds[::-1])
    assert binary.average_precision_score(y, s).value == pytest.approx(
        skm.average_precision_score(y, s), abs=1e-14
    )


def test_threshold_table_matches_threshold_metrics(data):
    y, s = data
    rows = binary.threshold_table(y, s, [0.3, 0.5, 0.7])
    for row in rows:
        m = binary.threshold_metrics(y, s, threshold=row.threshold)
        assert row.sensitivity == m["sensitivity"].value
        assert row.specificity == m["specificity"].value
        assert row.ppv == m["ppv"].value
        assert row.called_positive == np.sum(s >= row.threshold)


def test_metrics_do_not_depend_on_row_order(data):
    y, s = data
    perm = np.random.default_rng(1).permutation(y.size)
    assert binary.roc_auc_score(y, s) == binary.roc_auc_score(y[perm], s[perm])
    assert binary.threshold_metrics(y, s, threshold=0.5) == binary.threshold_metrics(
        y[perm], s[perm], threshold=0.5
    )
    assert binary.average_precision_score(y, s).value == pytest.approx(
        binary.average_precision_score(y[perm], s[perm]).value, abs=1e-15
    )


def test_swapping_labels_and_negating_scores_keeps_auc_and_swaps_sensitivity(data):
    y, s = data
    a = binary.roc_auc_score(y, s)
    b = binary.roc_auc_score(~y, -s)
    assert b.value == pytest.approx(a.value, abs=1e-14)
    assert b.interval.lower == pytest.approx(a.interval.lower, abs=1e-12)
    # score >= t is positive, so the mirrored classifier needs -s > -t: use a threshold
    # between observed scores to avoid the tie at t itself.
    m = binary.threshold_metrics(y, s, threshold=0.505)
    mirrored = binary.threshold_metrics(~y, -s, threshold=-0.505)
    assert mirrored["sensitivity"].value == m["specificity"].value
    assert mirrored["sensitivity"].interval == m["specificity"].interval
    assert mirrored["ppv"].value == m["npv"].value


def test_one_class_gives_undefined_metrics_with_reasons_not_zero():
    y = np.zeros(5, dtype=bool)
    s = np.linspace(0, 1, 5)
    assert binary.roc_auc_score(y, s).undefined_reason == "no positive cases"
    m = binary.threshold_metrics(y, s, threshold=0.5)
    assert m["sensitivity"].value is None
    assert m["sensitivity"].undefined_reason == "no positive cases"
    assert m["specificity"].value == 0.4  # 2 of 5 scores are below 0.5
    assert m["lr_positive"].undefined_reason == "no positive cases"
    assert binary.average_precision_score(y, s).value is None


def test_nothing_called_positive_makes_ppv_undefined():
    m = binary.threshold_metrics(np.array([True, False]), np.array([0.1, 0.2]), threshold=0.9)
    assert m["ppv"].undefined_reason == "no case called positive at threshold 0.9"
    assert m["f1"].value == 0.0
    assert m["lr_positive"].undefined_reason == (
        "the numerator count is 0, so the ratio is 0 and the log-method interval is undefined"
    )


def test_single_row_gives_defined_accuracy_and_undefined_auc():
    y, s = np.array([True]), np.array([0.7])
    assert binary.roc_auc_score(y, s).undefined_reason == "no negative cases"
    m = binary.threshold_metrics(y, s, threshold=0.5)
    assert m["accuracy"].value == 1.0
    assert binary.brier_score_loss(y, s).interval.lower == pytest.approx(0.09)


@pytest.mark.parametrize("curve", [binary.roc_curve, binary.precision_recall_curve])
def test_thinned_curve_keeps_its_ends_and_points_of_the_full_curve(data, curve):
    y, s = data
    full = curve(y, s)
    thin = curve(y, s, max_points=7)
    assert len(thin.x) == 7 < len(full.x)
    assert (thin.x[0], thin.y[0], thin.x[-1], thin.y[-1]) == (
        full.x[0],
        full.y[0],
        full.x[-1],
        full.y[-1],
    )
    points = set(zip(full.x, full.y, full.thresholds, strict=True))
    assert set(zip(thin.x, thin.y, thin.thresholds, strict=True)) <= points
