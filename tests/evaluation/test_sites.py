"""Pooling across sites checked against statsmodels' combine_effects."""

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from evaluation.sites import analyse_sites, logit_proportion, pool_estimates


@pytest.mark.parametrize(
    "estimates,variances",
    [
        ([0.80, 0.90, 0.85, 0.70], [0.001, 0.002, 0.0015, 0.003]),
        ([0.80, 0.81, 0.805], [0.01, 0.02, 0.015]),  # homogeneous: tau^2 = 0
    ],
)
def test_pooling_matches_statsmodels_combine_effects(estimates, variances):
    ours = pool_estimates(estimates, variances, metric="auc", sites=list("ABCD"[: len(estimates)]))
    # statsmodels takes sqrt of a negative HKSJ variance (unused here) when tau^2 = 0.
    with np.errstate(invalid="ignore"):
        theirs = combine_effects(np.array(estimates), np.array(variances), method_re="dl")
        frame = theirs.summary_frame()
    assert ours.q == pytest.approx(theirs.q, rel=1e-12)
    assert ours.i_squared == pytest.approx(max(theirs.i2, 0.0), abs=1e-12)
    # DerSimonian-Laird truncates tau^2 at 0; statsmodels reports the untruncated moment.
    assert ours.tau_squared == pytest.approx(max(theirs.tau2, 0.0), abs=1e-15)
    fixed, random = frame.loc["fixed effect"], frame.loc["random effect"]
    assert (ours.fixed.estimate, ours.fixed.lower, ours.fixed.upper) == pytest.approx(
        (fixed["eff"], fixed["ci_low"], fixed["ci_upp"]), rel=1e-12
    )
    ours_random = (ours.random.estimate, ours.random.lower, ours.random.upper)
    if theirs.tau2 > 0:
        assert ours_random == pytest.approx(
            (random["eff"], random["ci_low"], random["ci_upp"]), rel=1e-12
        )
    else:
        # statsmodels keeps a negative tau^2 in its weights; truncated, random = fixed.
        assert ours_random == (ours.fixed.estimate, ours.fixed.lower, ours.fixed.upper)


def test_logit_pooling_back_transforms_bounds():
    e1, v1 = logit_proportion(45, 50)
    e2, v2 = logit_proportion(38, 50)
    pooled = pool_estimates(
        [e1, e2], [v1, v2], metric="sensitivity", sites=["A", "B"], scale="logit"
    )
    assert 0.76 < pooled.fixed.estimate < 0.9
    assert pooled.fixed.lower < pooled.fixed.estimate < pooled.fixed.upper


def test_pooling_refuses_a_single_site():
    with pytest.raises(ValueError, match="at least two sites. Got 1 instead"):
        pool_estimates([0.8], [0.01], metric="auc", sites=["A"])


def test_sites_without_a_defined_estimate_are_left_out_and_noted():
    site = np.array(["A", "B", "C"])
    inputs = {"A": (0.8, 0.01, "identity"), "B": (0.9, 0.02, "identity"), "C": None}
    result = analyse_sites(site, lambda m: {}, lambda m: {"auc": inputs[site[m][0]]})
    assert result.pooled["auc"].sites == ("A", "B")
    assert result.notes == ("auc: sites ['C'] left out (undefined or zero variance)",)
