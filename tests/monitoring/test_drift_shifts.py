"""Known shifts injected into generated batches, over repeated draws.

Four shifts (mean, variance, new category, label) each move one thing; every draw is a fresh
reference and a fresh batch. Drift must be found where it was injected, and elsewhere only at the
stated false-alarm rate:

- up to 1,000 reference rows the tests are p-values at 0.05 (K-S, two-sample chi-square), so
  unshifted columns are flagged in about 5 % of draws; the count over all draws and columns is
  checked against Binomial(n, 0.05) (two-sided binomial test, p > 0.001);
- above 1,000 rows the tests are distances with a fixed threshold of 0.1 (normed Wasserstein,
  Jensen-Shannon), whose sampling noise at 5,000 rows is far below 0.1: no false alarm at all.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from monitoring.drift import detect_drift

SHIFTS = {
    "mean": ["age"],
    "variance": ["creatinine"],
    "new_category": ["ward"],
    "label": ["label", "score"],  # prevalence moves, and the score with it (prediction drift)
}
FEATURES = ["age", "creatinine", "ward", "sex", "heart_rate", "label"]


def _batch(rng: np.random.Generator, n: int, shift: str | None) -> pd.DataFrame:
    prevalence = 0.4 if shift == "label" else 0.2
    label = (rng.random(n) < prevalence).astype(int)
    wards, p_ward = ["icu", "er", "med", "surg"], [0.25] * 4
    if shift == "new_category":
        wards, p_ward = [*wards, "paeds"], [0.225] * 4 + [0.1]
    return pd.DataFrame(
        {
            "age": rng.normal(64 if shift == "mean" else 60, 10, n),
            "creatinine": rng.lognormal(0.0, 0.8 if shift == "variance" else 0.5, n),
            "ward": rng.choice(wards, n, p=p_ward),
            "sex": rng.choice(["F", "M"], n),
            "heart_rate": rng.normal(80, 12, n),
            "label": label,
            # A model's score: higher for positives; features are independent of the label.
            "score": np.where(label == 1, rng.beta(5, 2, n), rng.beta(2, 5, n)),
        }
    )


def _detections(n: int, draws: int, shift: str | None, seed: int) -> pd.DataFrame:
    """One row per draw, one boolean column per tested column (features and score)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(draws):
        result = detect_drift(_batch(rng, n, None), _batch(rng, n, shift), score_column="score")
        assert result.n_features_tested == len(FEATURES)
        rows.append({e.column: e.drifted for e in (*result.columns, result.prediction)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("shift", [None, *SHIFTS])
def test_p_value_tests_find_injected_shift_and_keep_nominal_false_alarm_rate(shift):
    draws = 200
    found = _detections(500, draws, shift, seed=sum(map(ord, shift or "none")))
    injected = SHIFTS.get(shift, [])
    for column in injected:
        assert found[column].mean() >= 0.95, (shift, column, found[column].mean())
    clean = found.drop(columns=injected)
    alarms, trials = int(clean.to_numpy().sum()), clean.size
    assert binomtest(alarms, trials, 0.05).pvalue > 0.001, (shift, alarms, trials)
    assert clean.mean().max() < 0.12  # no single column far above the nominal rate


@pytest.mark.parametrize("shift", [None, *SHIFTS])
def test_distance_tests_find_injected_shift_and_raise_no_false_alarm(shift):
    found = _detections(5000, 40, shift, seed=17 + len(shift or ""))
    injected = SHIFTS.get(shift, [])
    for column in injected:
        assert found[column].all(), (shift, column, found[column].mean())
    assert not found.drop(columns=injected).to_numpy().any(), shift


def test_methods_are_the_stated_ones():
    rng = np.random.default_rng(0)
    small = detect_drift(_batch(rng, 500, None), _batch(rng, 500, None), score_column="score")
    large = detect_drift(_batch(rng, 5000, None), _batch(rng, 5000, None), score_column="score")
    assert {e.method for e in small.columns} == {"ks", "chi2_two_sample"}
    assert {e.method for e in large.columns} == {"wasserstein", "jensenshannon"}
    assert {e.threshold for e in small.columns} == {0.05}
    assert {e.threshold for e in large.columns} == {0.1}
