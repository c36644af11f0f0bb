"""Paired comparisons checked against a slow DeLong and against scipy/statsmodels tests."""

import numpy as np
import pytest
from scipy import stats

from evaluation.compare import compare_auc_delong, compare_paired_proportions


def slow_paired_delong(y, a, b):
    def psi(s):
        cases, controls = s[y], s[~y]
        return (cases[:, None] > controls[None, :]) + 0.5 * (cases[:, None] == controls[None, :])

    pa, pb = psi(a), psi(b)
    m, n = pa.shape
    v10 = np.stack([pa.mean(axis=1), pb.mean(axis=1)])
    v01 = np.stack([pa.mean(axis=0), pb.mean(axis=0)])
    s = np.cov(v10) / m + np.cov(v01) / n
    difference = pa.mean() - pb.mean()
    variance = s[0, 0] + s[1, 1] - 2 * s[0, 1]
    z = difference / np.sqrt(variance)
    return pa.mean(), pb.mean(), z, 2 * stats.norm.sf(abs(z))


@pytest.mark.parametrize("seed", range(4))
def test_paired_delong_matches_slow_version(seed):
    rng = np.random.default_rng(seed)
    y = rng.random(150) < 0.4
    a = np.round(rng.normal(size=150) + y, 1)
    b = np.round(a + rng.normal(0, 0.8, 150), 1)
    ours = compare_auc_delong(y, a, b)
    auc_a, auc_b, z, p = slow_paired_delong(y, a, b)
    assert (ours.auc_a, ours.auc_b) == pytest.approx((auc_a, auc_b), abs=1e-14)
    assert ours.z == pytest.approx(z, rel=1e-10)
    assert ours.p_value == pytest.approx(p, rel=1e-9)


def test_paired_delong_of_identical_scores_has_no_test_statistic():
    y = np.array([True, False, True, False])
    s = np.array([0.9, 0.2, 0.4, 0.5])
    result = compare_auc_delong(y, s, s)
    assert (result.z, result.p_value, result.difference.estimate) == (None, 1.0, 0.0)


def test_mcnemar_exact_matches_binomial_test():
    rng = np.random.default_rng(1)
    a = rng.random(60) < 0.8
    b = np.where(rng.random(60) < 0.85, a, ~a)
    result = compare_paired_proportions(a, b, name="sensitivity")
    a_only, b_only = np.sum(a & ~b), np.sum(~a & b)
    assert result.exact
    assert result.p_value == pytest.approx(
        stats.binomtest(int(min(a_only, b_only)), int(a_only + b_only), 0.5).pvalue, rel=1e-12
    )


def test_mcnemar_chi_square_matches_hand_formula_with_many_discordant_pairs():
    rng = np.random.default_rng(2)
    a = rng.random(400) < 0.7
    b = np.where(rng.random(400) < 0.7, a, ~a)
    result = compare_paired_proportions(a, b, name="specificity")
    x, y = np.sum(a & ~b), np.sum(~a & b)
    chi2 = (x - y) ** 2 / (x + y)
    assert not result.exact
    assert result.statistic == pytest.approx(chi2, rel=1e-12)
    assert result.p_value == pytest.approx(stats.chi2.sf(chi2, 1), rel=1e-12)
    se = np.sqrt((x + y) - (x - y) ** 2 / 400) / 400
    assert result.difference.upper == pytest.approx((x - y) / 400 + 1.959963984540054 * se)
