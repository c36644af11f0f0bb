"""Bootstrap engine checked against a slow loop of sklearn calls and against scipy's BCa."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from evaluation.bootstrap import (
    _canonical_order,
    auc_statistic,
    bootstrap_distribution,
    bootstrap_interval,
    confusion_statistic,
    mean_statistic,
    resample_counts,
)
from evaluation.multiclass import kappa_from_matrices


@pytest.fixture
def binary_data():
    rng = np.random.default_rng(11)
    y = rng.random(300) < 0.3
    s = np.round(rng.normal(size=300) + y, 2)
    return y, s


def test_resample_counts_keep_each_stratum_size():
    strata = np.array([2, 0, 2, 1, 0, 2, 2])
    chunks = list(resample_counts(strata, n_resamples=50, seed=3))
    counts = np.concatenate(chunks)
    assert counts.shape == (50, 7)
    for label in (0, 1, 2):
        assert np.all(counts[:, strata == label].sum(axis=1) == np.sum(strata == label))


def test_resample_counts_are_reproducible_from_the_seed():
    strata = np.repeat([0, 1], [40, 60])
    first = np.concatenate(list(resample_counts(strata, n_resamples=30, seed=5)))
    second = np.concatenate(list(resample_counts(strata, n_resamples=30, seed=5)))
    other = np.concatenate(list(resample_counts(strata, n_resamples=30, seed=6)))
    assert np.array_equal(first, second)
    assert not np.array_equal(first, other)


def test_bootstrap_auc_matches_slow_loop_of_sklearn_on_the_same_resamples(binary_data):
    y, s = binary_data
    values = bootstrap_distribution(auc_statistic, y, s, n_resamples=200, seed=7)
    # The slow version: same canonical row order and same counts, turned into index
    # vectors and passed one by one to scikit-learn.
    order = _canonical_order(y, s)
    yo, so = y[order], s[order]
    counts = np.concatenate(list(resample_counts(yo, n_resamples=200, seed=7)))
    slow = []
    for row in counts:
        index = np.repeat(np.arange(y.size), row)
        slow.append(roc_auc_score(yo[index], so[index]))
    np.testing.assert_allclose(values, slow, rtol=0, atol=1e-13)
    iv = bootstrap_interval(auc_statistic, y, s, n_resamples=200, seed=7)
    assert iv.lower == pytest.approx(np.quantile(slow, 0.025), abs=1e-13)
    assert iv.upper == pytest.approx(np.quantile(slow, 0.975), abs=1e-13)


def test_bootstrap_interval_does_not_depend_on_row_order(binary_data):
    y, s = binary_data
    perm = np.random.default_rng(0).permutation(y.size)
    a = bootstrap_interval(auc_statistic, y, s, n_resamples=300, seed=1, method="bca")
    b = bootstrap_interval(auc_statistic, y[perm], s[perm], n_resamples=300, seed=1, method="bca")
    assert a == b


def test_bca_matches_scipy_bootstrap_for_a_mean():
    # Same data, independent resamples: tolerance 0.01 on an interval about 0.4 wide covers
    # the Monte Carlo error of 20000 resamples (about 0.002).
    data = np.random.default_rng(2).exponential(size=100)
    ours = bootstrap_interval(
        mean_statistic,
        np.zeros(100),
        data,
        strata=np.zeros(100),
        n_resamples=20000,
        method="bca",
        seed=0,
    )
    theirs = stats.bootstrap(
        (data,), np.mean, n_resamples=20000, method="BCa", random_state=np.random.default_rng(0)
    ).confidence_interval
    assert ours.lower == pytest.approx(theirs.low, abs=0.01)
    assert ours.upper == pytest.approx(theirs.high, abs=0.01)
    percentile = stats.bootstrap(
        (data,),
        np.mean,
        n_resamples=20000,
        method="percentile",
        random_state=np.random.default_rng(0),
    ).confidence_interval
    # BCa shifts a right-skewed mean's interval to the right of the percentile one.
    assert ours.upper > percentile.high


def test_auc_jackknife_matches_brute_force_leave_one_out(binary_data):
    y, s = binary_data
    y, s = y[:60], s[:60]
    fast = auc_statistic(y, s).jackknife()
    brute = [roc_auc_score(np.delete(y, i), np.delete(s, i)) for i in range(60)]
    np.testing.assert_allclose(np.sort(fast), np.sort(brute), atol=1e-13)


def test_confusion_jackknife_matches_brute_force_leave_one_out():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 40)
    p = np.where(rng.random(40) < 0.7, y, rng.integers(0, 3, 40))
    stat = confusion_statistic(lambda m: kappa_from_matrices(m, "quadratic"), 3)
    fast = stat(y, p).jackknife()
    ones = np.ones(40, dtype=np.int64)
    brute = []
    for i in range(40):
        w = ones.copy()
        w[i] = 0
        brute.append(stat(y, p).evaluate(w[None, :])[0])
    np.testing.assert_allclose(fast, brute, atol=1e-13)


def test_unstratified_resamples_without_a_class_are_dropped_and_reported():
    y = np.array([True] + [False] * 9)
    s = np.linspace(0, 1, 10)
    iv = bootstrap_interval(auc_statistic, y, s, strata=np.zeros(10), n_resamples=200, seed=0)
    assert "resamples undefined and dropped" in iv.method
    assert iv.method.startswith("bootstrap-percentile (200 resamples, seed 0); ")


def test_bootstrap_interval_rejects_unknown_method(binary_data):
    y, s = binary_data
    with pytest.raises(ValueError, match=r"method must be one of \('percentile', 'bca'\)"):
        bootstrap_interval(auc_statistic, y, s, method="basic")


def test_bca_refuses_when_every_resample_lies_on_one_side():
    from evaluation.bootstrap import bca_bounds

    with pytest.raises(ValueError, match="every bootstrap value lies on one side"):
        bca_bounds(0.0, np.ones(100), np.arange(5.0), level=0.95)
