"""Pooling across sites checked against statsmodels' combine_effects."""

import numpy as np
import pandas as pd
import pytest
from scipy import special
from statsmodels.stats.meta_analysis import combine_effects

from evaluation import evaluate
from evaluation.sites import analyse_sites, logit_auc, logit_proportion, pool_estimates

from .test_intervals import brute_force_auc, textbook_delong_variance


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


def test_sites_that_give_a_reason_are_left_out_with_it():
    site = np.array(["A", "B", "C", "D"])
    inputs = {
        "A": (0.8, 0.01, "logit"),
        "B": (0.9, 0.02, "logit"),
        "C": logit_auc(1.0, 0.0),
        "D": None,
    }
    result = analyse_sites(site, lambda m: {}, lambda m: {"auc": inputs[site[m][0]]})
    assert result.pooled["auc"].sites == ("A", "B")
    assert result.notes == (
        "auc: sites ['D'] left out (undefined or zero variance)",
        "auc: site 'C' left out: AUC 1 (perfect separation) has no logit",
    )


def site_frame(seed, separated=None):
    rng = np.random.default_rng(seed)
    shift = {"Lyon": 1.2, "Lille": 0.7, "Nantes": 1.0, "Brest": 0.3}
    parts = []
    for site, mu in shift.items():
        y = rng.random(150) < 0.35
        score = special.expit(rng.normal(size=150) + mu * y - 0.5)
        if site == separated:
            score = np.where(y, 0.6 + 0.4 * score, 0.6 * score)
        parts.append(pd.DataFrame({"y": y.astype(int), "p": score, "site": site}))
    return pd.concat(parts, ignore_index=True)


def test_auc_is_pooled_on_the_logit_scale_as_statsmodels_does_by_hand():
    frame = site_frame(71)
    report = evaluate(
        frame, task="binary", columns={"y_true": "y", "y_score": "p"}, site_column="site",
        n_resamples=100,
    )
    pooled = report.sites.pooled["auc"]
    # Independent: brute-force AUC and textbook DeLong variance per site, the delta method by
    # hand, statsmodels' meta-analysis on the logits, back-transformed.
    logits, variances = [], []
    for site in sorted(frame["site"].unique()):
        part = frame[frame["site"] == site]
        y, s = part["y"].to_numpy() == 1, part["p"].to_numpy()
        auc = brute_force_auc(y, s)
        logits.append(np.log(auc / (1 - auc)))
        variances.append(textbook_delong_variance(y, s) / (auc * (1 - auc)) ** 2)
    theirs = combine_effects(np.array(logits), np.array(variances), method_re="dl")
    assert theirs.tau2 > 0  # heterogeneous sites: the random effects differ from the fixed
    frame_ = theirs.summary_frame()
    assert (pooled.scale, pooled.sites) == ("logit", ("Brest", "Lille", "Lyon", "Nantes"))
    assert pooled.q == pytest.approx(theirs.q, rel=1e-10)
    assert pooled.i_squared == pytest.approx(theirs.i2, rel=1e-10)
    assert pooled.tau_squared == pytest.approx(theirs.tau2, rel=1e-10)
    for ours, row in ((pooled.fixed, "fixed effect"), (pooled.random, "random effect")):
        expected = special.expit(frame_.loc[row, ["eff", "ci_low", "ci_upp"]].to_numpy(float))
        assert (ours.estimate, ours.lower, ours.upper) == pytest.approx(expected, rel=1e-10)
        assert 0 < ours.lower < ours.estimate < ours.upper < 1


def test_a_perfectly_separated_site_is_left_out_of_the_auc_only():
    report = evaluate(
        site_frame(72, separated="Lille"), task="binary", columns={"y_true": "y", "y_score": "p"},
        site_column="site", n_resamples=100,
    )
    assert report.sites.per_site["Lille"]["auc"].value == 1.0
    assert report.sites.pooled["auc"].sites == ("Brest", "Lyon", "Nantes")
    assert report.sites.pooled["sensitivity"].sites == ("Brest", "Lille", "Lyon", "Nantes")
    assert report.sites.notes == (
        "auc: site 'Lille' left out: AUC 1 (perfect separation) has no logit",
    )
