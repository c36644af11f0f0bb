"""Decision curve checked against a direct loop over thresholds."""

import numpy as np
import pytest

from evaluation.decision_curve import decision_curve


def test_net_benefit_matches_direct_computation():
    rng = np.random.default_rng(8)
    y = rng.random(400) < 0.2
    p = np.round(rng.uniform(size=400), 2)
    dc = decision_curve(y, p)
    for t, model, treat_all in zip(dc.thresholds, dc.model, dc.treat_all, strict=True):
        treated = p >= t
        tp, fp = np.sum(treated & y), np.sum(treated & ~y)
        assert model == pytest.approx(tp / 400 - fp / 400 * t / (1 - t), rel=1e-13, abs=1e-14)
        assert treat_all == pytest.approx(y.mean() - (1 - y.mean()) * t / (1 - t), rel=1e-13)
    assert set(dc.treat_none) == {0.0}
    assert len(dc.thresholds) == 99


def test_treating_everyone_equals_treat_all_at_a_threshold_below_every_score():
    y = np.array([True, False, False, True])
    dc = decision_curve(y, np.array([0.5, 0.6, 0.7, 0.8]), thresholds=[0.1])
    assert dc.model == dc.treat_all
