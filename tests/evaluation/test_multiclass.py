"""Multiclass metrics checked against scikit-learn."""

import numpy as np
import pytest
from sklearn import metrics as skm

from evaluation import multiclass

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
