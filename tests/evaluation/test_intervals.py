"""Closed-form intervals checked against statsmodels, scipy and a slow textbook DeLong."""

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from evaluation.intervals import (
    clopper_pearson_interval,
    delong_interval,
    placement_values,
    proportion_interval,
    wilson_interval,
)


def brute_force_auc(y, s):
    """Share of (case, control) pairs ranked correctly, ties one half."""
    cases, controls = s[y], s[~y]
    diff = cases[:, None] - controls[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size


def textbook_delong_variance(y, s):
    """DeLong 1988 with explicit O(n^2) kernel sums (placement values by pair comparison)."""
    cases, controls = s[y], s[~y]
    psi = (cases[:, None] > controls[None, :]) + 0.5 * (cases[:, None] == controls[None, :])
    v10 = psi.mean(axis=1)
    v01 = psi.mean(axis=0)
    m, n = cases.size, controls.size
    s10 = np.sum((v10 - v10.mean()) ** 2) / (m - 1)
    s01 = np.sum((v01 - v01.mean()) ** 2) / (n - 1)
    return s10 / m + s01 / n


@pytest.mark.parametrize("n", [1, 2, 7, 50, 333])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(n, level):
    for x in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        ours = wilson_interval(x, n, level=level)
        low, high = proportion_confint(x, n, alpha=1 - level, method="wilson")
        assert ours.lower == pytest.approx(low, abs=1e-12)
        assert ours.upper == pytest.approx(high, abs=1e-12)
        assert ours.estimate == x / n


@pytest.mark.parametrize("n", [1, 2, 7, 50, 333])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_clopper_pearson_matches_statsmodels_beta(n, level):
    for x in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        ours = clopper_pearson_interval(x, n, level=level)
        low, high = proportion_confint(x, n, alpha=1 - level, method="beta")
        assert ours.lower == pytest.approx(low, abs=1e-12)
        assert ours.upper == pytest.approx(high, abs=1e-12)


def test_proportion_interval_rejects_unknown_method_with_the_allowed_ones():
    with pytest.raises(ValueError, match=r"method must be one of \('wilson', 'clopper-pearson'\)"):
        proportion_interval(1, 2, method="wald")


@pytest.mark.parametrize("seed", range(5))
def test_delong_matches_bruteforce_pair_counting_and_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = 200
    y = rng.random(n) < 0.3
    s = np.round(rng.normal(size=n) + y, 1)  # rounding creates ties
    p = placement_values(y, s)
    assert p.auc == pytest.approx(brute_force_auc(y, s), abs=1e-14)
    assert p.auc == pytest.approx(roc_auc_score(y, s), abs=1e-14)


@pytest.mark.parametrize("seed", range(5))
def test_delong_variance_matches_slow_textbook_version(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(150) < 0.4
    s = np.round(rng.normal(size=150) + 0.8 * y, 1)
    assert placement_values(y, s).variance == pytest.approx(
        textbook_delong_variance(y, s), rel=1e-12
    )


def logit_interval_by_hand(auc, variance, level):
    """The logit-scale interval from an AUC and its variance, written out."""
    z = stats.norm.ppf(0.5 + level / 2)
    logit = np.log(auc / (1 - auc))
    half = z * np.sqrt(variance) / (auc * (1 - auc))
    return 1 / (1 + np.exp(-(logit - half))), 1 / (1 + np.exp(-(logit + half)))


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("seed", range(3))
def test_delong_interval_is_the_logit_interval_of_the_textbook_variance(seed, level):
    rng = np.random.default_rng(seed)
    y = rng.random(80) < 0.3
    s = np.round(rng.normal(size=80) + y, 1)  # ties
    iv = delong_interval(y, s, level=level)
    auc = brute_force_auc(y, s)
    low, high = logit_interval_by_hand(auc, textbook_delong_variance(y, s), level)
    assert iv.estimate == pytest.approx(auc, abs=1e-14)
    assert (iv.lower, iv.upper) == (pytest.approx(low, abs=1e-12), pytest.approx(high, abs=1e-12))
    assert iv.lower < iv.estimate < iv.upper and iv.level == level
    assert iv.method == "delong-logit"


def test_delong_variance_matches_scipy_brunner_munzel():
    # Brunner and Munzel's statistic is (AUC - 1/2) / sqrt(DeLong variance), computed by
    # scipy from midranks: an independent implementation of the same variance, ties included.
    rng = np.random.default_rng(8)
    y = rng.random(300) < 0.2
    s = np.round(rng.normal(size=300) + 0.7 * y, 1)
    p = placement_values(y, s)
    w = stats.brunnermunzel(s[~y], s[y]).statistic
    assert np.sqrt(p.variance) == pytest.approx((p.auc - 0.5) / w, rel=1e-12)


def test_logit_interval_is_asymmetric_towards_the_middle_and_stays_inside_zero_one():
    y = np.r_[np.ones(20, dtype=bool), np.zeros(20, dtype=bool)]
    s = np.r_[np.arange(20) + 17.5, np.arange(20)]  # 3 discordant pairs of 400
    iv = delong_interval(y, s)
    assert iv.estimate == 397 / 400
    assert iv.estimate + 1.96 * np.sqrt(placement_values(y, s).variance) > 1
    assert 0 < iv.lower < iv.estimate < iv.upper < 1
    assert iv.estimate - iv.lower > iv.upper - iv.estimate


@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
@pytest.mark.parametrize("cases,controls", [(1, 1), (1, 9), (3, 40), (25, 12)])
def test_perfect_separation_gives_the_clopper_pearson_bound_of_the_disjoint_pairs(
    cases, controls, level
):
    y = np.r_[np.ones(cases, dtype=bool), np.zeros(controls, dtype=bool)]
    s = np.r_[np.linspace(5, 6, cases), np.linspace(0, 1, controls)]
    k = min(cases, controls)
    # k disjoint pairs all concordant: "k successes of k", exact binomial bound.
    lower, _ = proportion_confint(k, k, alpha=1 - level, method="beta")
    iv = delong_interval(y, s, level=level)
    assert (iv.estimate, iv.upper) == (1.0, 1.0)
    assert iv.lower == pytest.approx(lower, abs=1e-12)
    assert iv.method == f"separation bound ({k} disjoint pair{'s' if k > 1 else ''})"
    reversed_ = delong_interval(y, -s, level=level)
    assert (reversed_.estimate, reversed_.lower) == (0.0, 0.0)
    assert reversed_.upper == pytest.approx(1 - lower, abs=1e-12)


@pytest.mark.parametrize("factor", [0.95, 1.05])
def test_separation_bound_is_valid_and_sharp_for_the_worst_distribution(factor):
    # Each case scores above every control with probability theta, else below them all: the
    # true AUC is theta and 3 cases against 3 controls separate with probability theta ** 3,
    # the most the bound allows. Just below the bound, separated data sets (the only ones the
    # bound decides) exclude theta at most (1 - level) / 2 of the time; just above it, never,
    # though they are more frequent than that, so no higher bound would keep its promise.
    level, k, trials = 0.8, 3, 20000
    bound = ((1 - level) / 2) ** (1 / k)
    theta = factor * bound
    rng = np.random.default_rng(9)
    y = np.r_[np.ones(k, dtype=bool), np.zeros(k, dtype=bool)]
    separated = excluded = 0
    for high in rng.random((trials, k)) < theta:
        s = np.r_[np.where(high, 2.0, -2.0) + rng.random(k), rng.random(k)]
        if high.all():
            separated += 1
            excluded += not delong_interval(y, s, level=level).contains(theta)
    if factor < 1:
        assert excluded / trials <= (1 - level) / 2
    else:
        assert excluded == 0 and separated / trials > (1 - level) / 2


def test_delong_interval_refuses_a_class_of_one_unless_separated():
    with pytest.raises(ValueError, match="at least 2 cases and 2 controls. Got 1 case"):
        delong_interval(np.array([True, False, False]), np.array([0.5, 0.4, 0.6]))
    assert delong_interval(np.array([True, False, False]), np.array([0.7, 0.4, 0.6])).upper == 1


def test_delong_interval_refuses_all_tied_scores():
    with pytest.raises(ValueError, match="every score is tied"):
        delong_interval(np.array([True, False] * 5), np.full(10, 0.3))


def test_placement_values_in_input_order_match_the_pairwise_definition():
    rng = np.random.default_rng(4)
    y = rng.random(60) < 0.5
    s = np.round(rng.normal(size=60), 1)
    p = placement_values(y, s, in_input_order=True)
    cases, controls = s[y], s[~y]
    psi = (cases[:, None] > controls[None, :]) + 0.5 * (cases[:, None] == controls[None, :])
    np.testing.assert_allclose(p.cases, psi.mean(axis=1), atol=1e-15)
    np.testing.assert_allclose(p.controls, psi.mean(axis=0), atol=1e-15)


def test_delong_all_ties_give_auc_one_half():
    y = np.array([True, False] * 10)
    p = placement_values(y, np.full(20, 0.3))
    assert p.auc == 0.5
    assert p.variance == 0.0


def test_delong_near_ties_are_not_merged():
    y = np.array([True, False])
    assert placement_values(y, np.array([0.5 + 1e-15, 0.5])).auc == 1.0


def test_delong_one_case_and_one_control_has_zero_variance():
    p = placement_values(np.array([True, False]), np.array([0.2, 0.7]))
    assert (p.auc, p.variance) == (0.0, 0.0)


def test_placement_values_refuse_a_single_class():
    with pytest.raises(ValueError, match="at least one case and one control"):
        placement_values(np.array([True, True]), np.array([0.1, 0.2]))


def test_delong_reproduces_the_published_hanley_mcneil_ct_example():
    # Hanley JA, McNeil BJ. The meaning and use of the area under a receiver operating
    # characteristic (ROC) curve. Radiology 1982;143:29-36, Table I: CT ratings 1-5 of 58
    # normal and 51 abnormal cases; published area 0.893 with standard error 0.032 (their
    # exponential approximation). The same data ship as Stata's hanley.dta; the Stata manual's
    # roctab example ([R] roctab) prints ROC area 0.8932, std. err. 0.0307 (DeLong) and
    # asymptotic normal 95% CI 0.83295-0.95339.
    ratings = np.arange(1, 6)
    normal, abnormal = [33, 6, 6, 11, 2], [3, 2, 2, 11, 33]
    s = np.r_[np.repeat(ratings, normal), np.repeat(ratings, abnormal)].astype(float)
    y = np.r_[np.zeros(58, dtype=bool), np.ones(51, dtype=bool)]
    iv = delong_interval(y, s)
    sd = float(np.sqrt(placement_values(y, s).variance))
    assert round(iv.estimate, 3) == 0.893
    assert round(iv.estimate, 4) == 0.8932
    assert round(sd, 4) == 0.0307
    # Stata's interval is the Wald one; from our area and variance it is the same to 5 digits.
    z = stats.norm.ppf(0.975)
    assert (round(iv.estimate - z * sd, 5), round(iv.estimate + z * sd, 5)) == (0.83295, 0.95339)
    # The logit interval from the published (rounded) area and error, by hand: it agrees to
    # the precision of those 4 digits, and leans towards 0.5 as the AUC's distribution does.
    low, high = logit_interval_by_hand(0.8932, 0.0307**2, 0.95)
    assert (iv.lower, iv.upper) == (pytest.approx(low, abs=5e-4), pytest.approx(high, abs=5e-4))
    assert iv.lower < 0.83295 and iv.upper < 0.95339
    # Hanley & McNeil's own standard error formula, from the same area, gives their 0.032.
    a, m, n = iv.estimate, 51, 58
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt((a * (1 - a) + (m - 1) * (q1 - a * a) + (n - 1) * (q2 - a * a)) / (m * n))
    assert round(float(se), 3) == 0.032
