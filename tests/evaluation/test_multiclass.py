"""Multiclass metrics checked against scikit-learn, and the calibration of class probabilities
against scikit-learn and statsmodels."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from statsmodels.stats.weightstats import DescrStatsW

from evaluation import multiclass
from evaluation.bootstrap import bca_bounds, bootstrap_distribution

from .helpers import assert_plain_close

LABELS = ("NSR", "AF", "AFL", "AVB", "OTHER")


@pytest.fixture
def data():
    rng = np.random.default_rng(31)
    y = rng.integers(0, 5, 400)
    pred = np.where(rng.random(400) < 0.7, y, rng.integers(0, 5, 400))
    scores = rng.dirichlet(np.ones(5), 400)
    scores[np.arange(400), y] += 0.5
    scores /= scores.sum(axis=1, keepdims=True)
    return y, pred, scores


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_kappa_matches_sklearn_cohen_kappa_score(data, weights):
    y, pred, _ = data
    ours = multiclass.cohen_kappa_score(y, pred, LABELS, weights=weights, n_resamples=200)
    assert ours.value == pytest.approx(skm.cohen_kappa_score(y, pred, weights=weights), abs=1e-14)
    assert ours.ci_low < ours.value < ours.ci_high


def test_kappa_bootstrap_interval_is_seeded(data):
    y, pred, _ = data
    a = multiclass.cohen_kappa_score(y, pred, LABELS, n_resamples=200, seed=4)
    b = multiclass.cohen_kappa_score(y, pred, LABELS, n_resamples=200, seed=4)
    c = multiclass.cohen_kappa_score(y, pred, LABELS, n_resamples=200, seed=5)
    assert a == b
    assert a.interval != c.interval


def test_quadratic_kappa_is_symmetric_in_rater_order(data):
    y, pred, _ = data
    a = multiclass.cohen_kappa_score(y, pred, LABELS, weights="quadratic", n_resamples=100)
    b = multiclass.cohen_kappa_score(pred, y, LABELS, weights="quadratic", n_resamples=100)
    assert a.value == pytest.approx(b.value, abs=1e-14)


def test_macro_f1_matches_sklearn(data):
    y, pred, _ = data
    ours = multiclass.macro_f1_score(y, pred, LABELS, n_resamples=100)
    assert ours.value == pytest.approx(skm.f1_score(y, pred, average="macro"), abs=1e-14)


def test_macro_f1_counts_an_unpredicted_absent_class_as_zero_like_sklearn():
    y, pred = np.array([0, 0, 1, 1]), np.array([0, 0, 1, 0])
    ours = multiclass.macro_f1_from_matrices(
        np.bincount(y * 3 + pred, minlength=9).reshape(1, 3, 3).astype(float)
    )
    expected = skm.f1_score(y, pred, labels=[0, 1, 2], average="macro", zero_division=0)
    assert ours[0] == pytest.approx(expected, abs=1e-14)


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_ovr_auc_matches_sklearn(data, average):
    y, _, scores = data
    ours = multiclass.ovr_auc_score(y, scores, LABELS, average=average, n_resamples=100)
    expected = skm.roc_auc_score(y, scores, multi_class="ovr", average=average)
    assert ours.value == pytest.approx(expected, abs=1e-14)
    assert ours.ci_low < ours.value < ours.ci_high


@pytest.fixture
def tied_small():
    """23 rows, 4 classes (one of 2 cases), scores drawn from a few probability vectors so
    that every column has ties within and across classes."""
    rng = np.random.default_rng(1)
    y = rng.permutation(np.repeat(np.arange(4), [7, 2, 9, 5]))
    palette = rng.dirichlet(np.ones(4), 5)
    scores = palette[rng.integers(0, 5, y.size)]
    confident = (rng.random(y.size) < 0.5)[:, None]
    return y, np.where(confident, np.eye(4)[y] * 0.4 + 0.15, scores)


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_ovr_auc_jackknife_matches_sklearn_leave_one_out(tied_small, average):
    y, scores = tied_small
    fast = multiclass._ovr_auc_statistic(average)(y, scores).jackknife()
    brute = [
        skm.roc_auc_score(
            np.delete(y, r), np.delete(scores, r, axis=0), multi_class="ovr", average=average
        )
        for r in range(y.size)
    ]
    # Row by row, not only as a multiset: each value must belong to the row left out.
    np.testing.assert_allclose(fast, brute, atol=1e-14)


@pytest.mark.parametrize("average", ["macro", "weighted"])
def test_ovr_auc_reports_a_bca_interval_by_default(data, average):
    y, _, scores = data
    bca = multiclass.ovr_auc_score(y, scores, LABELS, average=average, n_resamples=300)
    percentile = multiclass.ovr_auc_score(
        y, scores, LABELS, average=average, n_resamples=300, bootstrap_method="percentile"
    )
    assert bca.interval.method == "bootstrap-bca (300 stratified resamples, seed 0)"
    assert percentile.interval.method == "bootstrap-percentile (300 stratified resamples, seed 0)"
    assert bca.value == percentile.value
    assert bca.interval != percentile.interval


def test_ovr_auc_bca_interval_matches_bca_bounds_on_the_same_resamples(tied_small):
    y, scores = tied_small
    statistic = multiclass._ovr_auc_statistic("weighted")
    values = bootstrap_distribution(statistic, y, scores, n_resamples=400, seed=3)
    brute = [
        skm.roc_auc_score(
            np.delete(y, r), np.delete(scores, r, axis=0), multi_class="ovr", average="weighted"
        )
        for r in range(y.size)
    ]
    estimate = skm.roc_auc_score(y, scores, multi_class="ovr", average="weighted")
    lower, upper = bca_bounds(estimate, values, np.array(brute), level=0.9)
    ours = multiclass.ovr_auc_score(
        y, scores, tuple("abcd"), average="weighted", level=0.9, n_resamples=400, seed=3
    )
    assert (ours.ci_low, ours.ci_high) == pytest.approx((lower, upper), abs=1e-12)


def test_ovr_auc_with_a_single_case_class_has_no_bca_interval_and_says_why(tied_small):
    y, scores = tied_small
    y = np.where(y == 1, 0, y)
    y[np.flatnonzero(y == 0)[0]] = 1
    result = multiclass.ovr_auc_score(y, scores, tuple("abcd"), n_resamples=100)
    assert result.value == pytest.approx(
        skm.roc_auc_score(y, scores, multi_class="ovr", average="macro"), abs=1e-14
    )
    assert result.interval is None
    assert result.note == (
        "no interval: BCa interval undefined: the statistic is undefined with some row left "
        "out (a class with a single case)"
    )
    percentile = multiclass.ovr_auc_score(
        y, scores, tuple("abcd"), n_resamples=100, bootstrap_method="percentile"
    )
    assert percentile.interval is not None


def test_ovr_auc_refuses_an_unknown_bootstrap_method(data):
    y, _, scores = data
    with pytest.raises(ValueError, match=r"bootstrap_method must be one of .*Got 'basic'"):
        multiclass.ovr_auc_score(y, scores, LABELS, bootstrap_method="basic")


def test_ovr_auc_is_undefined_when_a_class_has_no_reference_case(data):
    y, _, scores = data
    y = np.where(y == 4, 0, y)
    result = multiclass.ovr_auc_score(y, scores, LABELS, n_resamples=100)
    assert result.undefined_reason == "no reference cases of class OTHER"


def test_confusion_matrix_matches_sklearn(data):
    y, pred, _ = data
    ours = multiclass.confusion_matrix(y, pred, LABELS)
    np.testing.assert_array_equal(ours.counts, skm.confusion_matrix(y, pred, labels=range(5)))


def test_per_class_metrics_match_sklearn_recall_and_precision(data):
    y, pred, _ = data
    per_class = multiclass.per_class_metrics(y, pred, LABELS)
    recall = skm.recall_score(y, pred, average=None)
    precision = skm.precision_score(y, pred, average=None)
    for code, label in enumerate(LABELS):
        assert per_class[label]["sensitivity"].value == pytest.approx(recall[code], abs=1e-15)
        assert per_class[label]["ppv"].value == pytest.approx(precision[code], abs=1e-15)
        assert per_class[label]["sensitivity"].interval.method == "wilson"


def test_kappa_is_undefined_when_everything_is_one_class():
    y = np.zeros(10, dtype=np.int64)
    result = multiclass.cohen_kappa_score(y, y, LABELS, n_resamples=100)
    assert result.value is None
    assert result.undefined_reason == (
        "chance agreement is complete (one reference and one predicted class)"
    )


def test_metrics_do_not_depend_on_row_order(data):
    y, pred, scores = data
    perm = np.random.default_rng(0).permutation(y.size)
    for weights in (None, "quadratic"):
        a = multiclass.cohen_kappa_score(y, pred, LABELS, weights=weights, n_resamples=100)
        b = multiclass.cohen_kappa_score(
            y[perm], pred[perm], LABELS, weights=weights, n_resamples=100
        )
        assert a == b
    for average in ("macro", "weighted"):
        a = multiclass.ovr_auc_score(y, scores, LABELS, average=average, n_resamples=100)
        b = multiclass.ovr_auc_score(
            y[perm], scores[perm], LABELS, average=average, n_resamples=100
        )
        assert a == b


# --- calibration of the class probabilities ------------------------------------------------------


@pytest.fixture
def probabilities():
    """Overconfident class probabilities: the model's logits are 1.6 times the true ones and
    shifted, so every class has a slope below 1 and a non-zero intercept."""
    rng = np.random.default_rng(47)
    logits = rng.normal(size=(3000, 4)) + np.array([1.0, 0.3, -0.4, -0.8])
    truth = special.softmax(logits, axis=1)
    y = (rng.random(3000)[:, None] > np.cumsum(truth, axis=1)[:, :-1]).sum(axis=1)
    model = special.softmax(1.6 * logits + np.array([0.0, 0.4, 0.0, -0.3]), axis=1)
    return y, model


CLASSES = ("NSR", "AF", "AFL", "AVB")


def test_class_reliability_curves_and_ece_match_sklearn_one_vs_rest(probabilities):
    y, p = probabilities
    result = multiclass.multiclass_calibration(y, p, CLASSES, n_bins=10)
    eces = []
    for code, label in enumerate(CLASSES):
        prob_true, prob_pred = calibration_curve(
            y == code, p[:, code], n_bins=10, strategy="quantile"
        )
        bins = result.per_class[label].bins
        np.testing.assert_allclose([b.observed.estimate for b in bins], prob_true, atol=1e-15)
        np.testing.assert_allclose([b.mean_predicted for b in bins], prob_pred, atol=1e-15)
        counts = np.array([b.n for b in bins])
        assert counts.sum() == y.size
        eces.append(np.sum(counts / y.size * np.abs(prob_true - prob_pred)))
        assert result.per_class[label].ece.value == pytest.approx(eces[-1], abs=1e-15)
    assert result.classwise_ece.value == pytest.approx(np.mean(eces), abs=1e-15)
    assert result.classwise_ece.interval is None


def test_class_calibration_slope_and_intercept_match_statsmodels(probabilities):
    y, p = probabilities
    result = multiclass.multiclass_calibration(y, p, CLASSES)
    for code, label in enumerate(CLASSES):
        outcome, logit = (y == code).astype(float), special.logit(p[:, code])
        slope_fit = sm.Logit(outcome, sm.add_constant(logit)).fit(disp=0, tol=1e-12)
        intercept_fit = sm.GLM(
            outcome, np.ones((y.size, 1)), family=sm.families.Binomial(), offset=logit
        ).fit(tol=1e-12)
        ours = result.per_class[label]
        assert ours.slope.value == pytest.approx(slope_fit.params[1], abs=1e-8)
        assert (ours.slope.ci_low, ours.slope.ci_high) == pytest.approx(
            tuple(slope_fit.conf_int(alpha=0.05)[1]), abs=1e-7
        )
        assert ours.intercept.value == pytest.approx(intercept_fit.params[0], abs=1e-8)
        assert (ours.intercept.ci_low, ours.intercept.ci_high) == pytest.approx(
            tuple(intercept_fit.conf_int(alpha=0.05)[0]), abs=1e-7
        )
        # The simulated model is overconfident: the data say so for every class.
        assert ours.slope.ci_high < 1


def test_multiclass_brier_matches_sklearn_with_a_normal_interval(probabilities):
    y, p = probabilities
    ours = multiclass.brier_score_loss(y, p)
    assert ours.value == pytest.approx(skm.brier_score_loss(y, p, labels=range(4)), abs=1e-14)
    losses = ((p - np.eye(4)[y]) ** 2).sum(axis=1)
    low, high = DescrStatsW(losses).zconfint_mean(alpha=0.05)
    assert (ours.ci_low, ours.ci_high) == pytest.approx((low, high), abs=1e-12)
    assert multiclass.multiclass_calibration(y, p, CLASSES).brier == ours


def test_multiclass_brier_of_two_classes_is_twice_the_binary_one(probabilities):
    y, p = probabilities
    two = np.column_stack([1 - p[:, 1], p[:, 1]])
    binary = skm.brier_score_loss(y == 1, p[:, 1])
    assert multiclass.brier_score_loss((y == 1).astype(int), two).value == pytest.approx(
        2 * binary, abs=1e-14
    )


def test_a_class_without_reference_cases_has_undefined_intercept_and_slope(probabilities):
    y, p = probabilities
    y = np.where(y == 3, 0, y)
    result = multiclass.multiclass_calibration(y, p, CLASSES)
    absent = result.per_class["AVB"]
    assert absent.slope.undefined_reason == "no positive cases"
    assert absent.intercept.undefined_reason == "no positive cases"
    assert absent.oe_ratio.undefined_reason == "no observed events"
    assert absent.ece.value == pytest.approx(np.mean(p[:, 3]), abs=1e-12)  # observed is 0
    assert result.classwise_ece.value is not None and result.brier.value is not None


def test_no_cases_give_undefined_summaries():
    result = multiclass.multiclass_calibration(
        np.zeros(0, dtype=np.int64), np.zeros((0, 2)), ("a", "b")
    )
    assert result.classwise_ece.undefined_reason == "no cases"
    assert result.brier.undefined_reason == "no cases"


def test_calibration_does_not_depend_on_row_order(probabilities):
    y, p = probabilities
    perm = np.random.default_rng(1).permutation(y.size)
    assert_plain_close(
        multiclass.multiclass_calibration(y, p, CLASSES).to_dict(),
        multiclass.multiclass_calibration(y[perm], p[perm], CLASSES).to_dict(),
        rel=1e-9,
        abs_=1e-12,
    )
