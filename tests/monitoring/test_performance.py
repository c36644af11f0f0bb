"""Measured performance checked against independent computations; late-label join."""

import json
import operator

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from statsmodels.stats.proportion import proportion_confint

from monitoring.errors import MonitoringInputError
from monitoring.performance import (
    KpiTarget,
    binary_performance,
    compare_with_baseline,
    join_labels,
)


@pytest.mark.parametrize("k,n", [(0, 10), (1, 10), (8, 10), (10, 10), (37, 211), (1, 1)])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_proportion_intervals_are_wilson_as_in_statsmodels(k, n, level):
    # k of n positive cases detected, plus two negatives so every metric is defined.
    y = np.r_[np.ones(n), np.zeros(2)]
    s = np.r_[np.ones(k), np.zeros(n - k), np.zeros(2)]
    sens = binary_performance(y, s, threshold=0.5, level=level).metric("sensitivity")
    lower, upper = proportion_confint(k, n, alpha=1 - level, method="wilson")
    assert (sens.lower, sens.upper) == (
        pytest.approx(lower, abs=1e-12),
        pytest.approx(upper, abs=1e-12),
    )
    assert sens.value == k / n and (sens.method, sens.level) == ("wilson", level)


def test_binary_performance_rejects_a_level_outside_zero_one():
    with pytest.raises(MonitoringInputError) as caught:
        binary_performance([0, 1], [0.2, 0.8], threshold=0.5, level=1.5)
    assert caught.value.problems == ("level must be strictly between 0 and 1. Got 1.5 instead",)


def _brute_force_delong(y, s):
    # Placements by explicit pair comparison (O(m*n)), variance as in DeLong et al. (1988).
    pos, neg = s[y == 1], s[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)


def test_auc_interval_is_delong_logit_as_brute_force_pairs_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(y * 0.8, 1.0), 1)  # rounding creates many ties
    auc, variance = _brute_force_delong(y, s)
    ci = binary_performance(y, s, threshold=0.5, level=0.95).metric("auc")
    assert ci.value == pytest.approx(auc, abs=1e-12)
    assert ci.value == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    # DeLong's variance on the logit scale (delta method), back-transformed.
    half = 1.959963984540054 * np.sqrt(variance) / (auc * (1 - auc))
    logit = np.log(auc / (1 - auc))
    assert (ci.lower, ci.upper) == (
        pytest.approx(1 / (1 + np.exp(half - logit)), abs=1e-9),
        pytest.approx(1 / (1 + np.exp(-half - logit)), abs=1e-9),
    )
    assert ci.method == "delong-logit"


def test_binary_performance_counts_match_masks():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 500)
    s = rng.uniform(size=500) * 0.5 + y * 0.3
    result = binary_performance(y, s, threshold=0.4)
    pred = s >= 0.4
    tp, tn = np.sum(pred & (y == 1)), np.sum(~pred & (y == 0))
    fp, fn = np.sum(pred & (y == 0)), np.sum(~pred & (y == 1))
    expected = {
        "sensitivity": tp / (tp + fn), "specificity": tn / (tn + fp), "ppv": tp / (tp + fp),
        "npv": tn / (tn + fn), "accuracy": (tp + tn) / 500, "prevalence": y.mean(),
        "auc": roc_auc_score(y, s),
    }  # fmt: skip
    for name, value in expected.items():
        assert result.metric(name).value == pytest.approx(value, abs=1e-12), name
    sens = result.metric("sensitivity")
    lower, upper = proportion_confint(tp, tp + fn, alpha=0.05, method="wilson")
    assert (sens.lower, sens.upper) == (
        pytest.approx(lower, abs=1e-12),
        pytest.approx(upper, abs=1e-12),
    )
    assert (sens.numerator, sens.denominator) == (tp, tp + fn)


def test_binary_performance_is_invariant_to_row_order():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 200)
    s = rng.uniform(size=200)
    order = rng.permutation(200)
    original = binary_performance(y, s, threshold=0.5).to_dict()
    shuffled = binary_performance(y[order], s[order], threshold=0.5).to_dict()
    # Counts are exact; AUC and its interval may differ in the last bits (summation order).
    assert shuffled["metrics"] == [
        {k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in m.items()}
        for m in original["metrics"]
    ]


def test_one_class_batch_gives_undefined_metrics_with_reasons():
    result = binary_performance([1, 1, 1], [0.9, 0.2, 0.7], threshold=0.5)
    spec, auc = result.metric("specificity"), result.metric("auc")
    assert (spec.value, spec.undefined_reason) == (None, "no negative cases")
    assert (auc.value, auc.undefined_reason) == (None, "no negative cases")
    assert result.metric("sensitivity").value == pytest.approx(2 / 3)


def test_binary_performance_lists_every_input_problem():
    with pytest.raises(MonitoringInputError) as caught:
        binary_performance([1, 2, None, 0], [0.1, "x", 0.3, 0.4], threshold="high")
    assert caught.value.problems == (
        "y_true: 1 missing values (rows 2); remove them first",
        "y_true must hold 0/1 labels. Got 2 (rows 1)",
        "y_score: 1 missing or non-numeric values (rows 1); remove them first",
        "threshold must be a number. Got 'high' instead",
    )


def test_join_labels_reports_unmatched_duplicates_and_conflicts():
    batch = pd.DataFrame({"record_id": [1, 2, 3, 4, 4, 5, 6], "score": np.linspace(0, 1, 7)})
    labels = pd.DataFrame(
        {
            "record_id": ["1", "2", "2", "3", "3", "4", "99", None, "6"],
            "y_true": [1, 0, 0, 1, 0, 1, 1, 0, None],
        }
    )
    joined = join_labels(batch, labels)
    assert joined.frame["record_id"].tolist() == [1, 2]
    assert joined.frame["y_true"].tolist() == [1, 0]
    assert joined.to_dict() == {
        "id_column": "record_id",
        "label_column": "y_true",
        "n_batch_rows": 7,
        "n_label_rows": 9,
        "n_matched": 2,
        "n_unlabelled": 2,
        "n_orphan_labels": 1,
        "n_duplicate_batch_ids": 1,
        "n_duplicate_label_ids": 1,
        "n_conflicting_label_ids": 1,
        "n_missing_labels": 2,
        "unlabelled_examples": ["5", "6"],
        "orphan_label_examples": ["99"],
        "duplicate_batch_examples": ["4"],
        "conflicting_label_examples": ["3"],
    }
    assert joined.label_coverage == pytest.approx(2 / 7)


def test_join_labels_names_missing_columns():
    with pytest.raises(MonitoringInputError) as caught:
        join_labels(pd.DataFrame({"id": [1]}), pd.DataFrame({"id": [1], "label": [0]}))
    assert caught.value.problems == (
        "batch: required column 'record_id' is missing",
        "labels: required column 'record_id' is missing",
        "labels: required column 'y_true' is missing",
    )


def test_compare_with_baseline_and_kpis():
    # 200 positives, 160 detected: sensitivity 0.80, Wilson 95 % CI about 0.739 to 0.850.
    y = np.r_[np.ones(200), np.zeros(200)]
    s = np.r_[np.ones(160), np.zeros(40), np.zeros(190), np.ones(10)]
    measured = binary_performance(y, s, threshold=0.5)
    comparison = compare_with_baseline(
        measured,
        {"sensitivity": 0.90, "specificity": 0.95},
        [
            {"metric": "sensitivity", "comparator": ">=", "threshold": 0.88},
            KpiTarget("specificity", ">=", 0.90),
            {"metric": "sensitivity", "comparator": ">=", "threshold": 0.78},
        ],
    )
    sens, spec = comparison.metrics
    assert (sens.direction, sens.interval_excludes_baseline) == ("below", True)
    assert sens.difference == pytest.approx(-0.10)
    assert (spec.direction, spec.interval_excludes_baseline) == ("within", False)
    statuses = [k.status for k in comparison.kpis]
    assert statuses == ["not_met", "met", "inconclusive"]
    assert comparison.kpis[0].message == (
        "not_met: sensitivity >= 0.88 requires the lower bound of the 95% interval to be >= "
        "0.88; it is 0.7391 (estimate 0.8, 95% CI 0.7391-0.8495, wilson)."
    )
    assert [k.point_met for k in comparison.kpis] == [False, True, True]
    assert [k.interval_excludes_threshold for k in comparison.kpis] == [True, True, False]
    assert comparison.kpis_not_met == (comparison.kpis[0],)
    json.dumps(comparison.to_dict(), allow_nan=False)


def test_compare_with_baseline_rejects_malformed_kpis():
    measured = binary_performance([0, 1], [0.2, 0.8], threshold=0.5)
    with pytest.raises(MonitoringInputError) as caught:
        compare_with_baseline(
            measured, {"f1": 0.8}, [{"metric": "sensitivity", "comparator": "=="}]
        )
    assert caught.value.problems == (
        "kpis[0]: KPI field 'threshold' is required",
        "kpis[0]: KPI comparator must be one of ('>=', '<='). Got '==' instead",
        "baseline metric must be one of ('sensitivity', 'specificity', 'ppv', 'npv', 'accuracy', "
        "'prevalence', 'auc'). Got 'f1' instead",
    )


def test_kpi_verdicts_follow_evaluation_rules_on_the_interval_bounds():
    # Independent restatement of the rule (lifecycle gate G4.2): met when the whole interval
    # satisfies the KPI, not met when it wholly fails it, inconclusive otherwise.
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 120)
    s = rng.uniform(size=120) * 0.6 + y * 0.3
    measured = binary_performance(y, s, threshold=0.5)
    seen = set()
    for name in ("sensitivity", "specificity", "ppv", "auc"):
        value = measured.metric(name)
        for threshold in np.linspace(0.3, 1.0, 15).tolist():
            for comparator, ok in ((">=", operator.ge), ("<=", operator.le)):
                kpi = {"metric": name, "comparator": comparator, "threshold": threshold}
                verdict = compare_with_baseline(measured, kpis=[kpi]).kpis[0]
                all_ok = ok(value.lower, threshold) and ok(value.upper, threshold)
                none_ok = not (ok(value.lower, threshold) or ok(value.upper, threshold))
                expected = "met" if all_ok else "not_met" if none_ok else "inconclusive"
                assert verdict.status == expected, (name, comparator, threshold)
                assert verdict.point_met == ok(value.value, threshold)
                seen.add(verdict.status)
    assert seen == {"met", "not_met", "inconclusive"}


def test_kpi_on_an_undefined_metric_is_inconclusive_with_the_reason():
    measured = binary_performance([1, 1, 1], [0.9, 0.2, 0.7], threshold=0.5)
    verdict = compare_with_baseline(
        measured, kpis=[{"metric": "specificity", "comparator": ">=", "threshold": 0.9}]
    ).kpis[0]
    assert (verdict.status, verdict.value, verdict.point_met) == ("inconclusive", None, None)
    assert verdict.message == (
        "inconclusive: specificity >= 0.9 cannot be judged because no negative cases."
    )


def test_a_kpi_target_built_directly_is_checked_too():
    measured = binary_performance([0, 1], [0.2, 0.8], threshold=0.5)
    with pytest.raises(MonitoringInputError) as caught:
        compare_with_baseline(measured, kpis=[KpiTarget("sensitivity", ">", 0.8)])
    assert caught.value.problems == (
        "kpis[0]: KPI comparator must be one of ('>=', '<='). Got '>' instead",
    )


@pytest.mark.parametrize("positives", [12, 29])
def test_a_batch_below_the_minimum_sample_is_never_met_but_shows_a_shortfall(positives):
    # Every positive detected: sensitivity's Wilson lower bound clears 0.7 from 12 positives on,
    # so without the size rule (evaluation.sample_size, as at validation) the KPI would be met.
    y = np.r_[np.ones(positives), np.zeros(400)]
    s = np.r_[np.ones(positives), np.zeros(400)]
    measured = binary_performance(y, s, threshold=0.5)
    assert measured.metric("sensitivity").lower > 0.7
    kpis = [
        {"metric": "sensitivity", "comparator": ">=", "threshold": 0.7},
        {"metric": "specificity", "comparator": "<=", "threshold": 0.5},
    ]
    comparison = compare_with_baseline(measured, kpis=kpis)
    assert [k.status for k in comparison.kpis] == ["inconclusive", "not_met"]
    assert [k.point_met for k in comparison.kpis] == [True, False]
    assert [k.metric for k in comparison.kpis_not_met] == ["specificity"]
    assert "even on insufficient data" in comparison.kpis[1].message
    assert comparison.kpis[0].message.startswith(
        "inconclusive: sensitivity >= 0.7 is not judged on insufficient data: "
        f"{positives} positive and 400 negative cases; at least 30 of each are needed to "
        "conclude (estimate 1, 95% CI "
    )


def test_a_batch_at_the_minimum_sample_is_judged_on_its_interval():
    y = np.r_[np.ones(30), np.zeros(400)]
    s = np.r_[np.ones(30), np.zeros(400)]
    comparison = compare_with_baseline(
        binary_performance(y, s, threshold=0.5),
        kpis=[
            {"metric": "sensitivity", "comparator": ">=", "threshold": 0.7},
            {"metric": "specificity", "comparator": "<=", "threshold": 0.5},
        ],
    )
    assert [k.status for k in comparison.kpis] == ["met", "not_met"]
