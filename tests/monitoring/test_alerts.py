"""Alert rules loaded from data and evaluated against batch summaries."""

import numpy as np
import pandas as pd
import pytest

from monitoring.alerts import BatchSummary, KpiOutcome, Severity, evaluate_rules, load_rules
from monitoring.drift import detect_drift
from monitoring.errors import MonitoringInputError

RULES = [
    {"id": "share", "kind": "drift_share_above", "severity": "high", "level": 0.3},
    {"id": "key", "kind": "feature_drifted", "severity": "critical", "columns": ["age", "score"]},
    {"id": "kpi", "kind": "kpi_not_met", "severity": "high"},
    {
        "id": "vol",
        "kind": "volume_outside",
        "severity": "medium",
        "min_rows": 100,
        "max_rows": 5000,
    },
    {"id": "nan", "kind": "missing_rate_above", "severity": "low", "level": 0.05},
]


def test_each_rule_kind_fires_with_a_message_saying_what_crossed_what():
    summary = BatchSummary(
        n_rows=40,
        drift_share=0.5,
        n_features_tested=4,
        n_features_drifted=2,
        drifted_columns=("age", "bmi"),
        drift_details={"age": "K-S p_value 0.0012 <= threshold 0.05"},
        missing_rates={"age": 0.0, "bmi": 0.125},
        kpis=(
            KpiOutcome("sensitivity", "not_met", "KPI sensitivity >= 0.85 not met: 0.700"),
            KpiOutcome("specificity", "inconclusive", "KPI specificity >= 0.9 inconclusive"),
        ),
    )
    findings = evaluate_rules(load_rules(RULES), summary)
    assert [(f.dedup_key, f.severity, f.message) for f in findings] == [
        ("key:age", Severity.CRITICAL,
         "key feature 'age' drifted: K-S p_value 0.0012 <= threshold 0.05"),
        ("kpi:sensitivity", Severity.HIGH, "KPI sensitivity >= 0.85 not met: 0.700"),
        ("share:batch", Severity.HIGH,
         "drift share 50% (2 of 4 features drifted) is above the level 30%"),
        ("vol:batch", Severity.MEDIUM,
         "batch volume 40 rows is below the expected minimum of 100 rows"),
        ("nan:bmi", Severity.LOW, "column 'bmi' missing rate 12.5% is above the level 5.0%"),
    ]  # fmt: skip


def test_quiet_batch_raises_nothing_and_dedup_keys_are_stable():
    quiet = BatchSummary(n_rows=1000, drift_share=0.0, missing_rates={"age": 0.0})
    assert evaluate_rules(RULES, quiet) == []
    loud = BatchSummary(n_rows=9000)
    first = evaluate_rules(RULES, loud)
    again = evaluate_rules(RULES, loud)
    assert [f.dedup_key for f in first] == [f.dedup_key for f in again] == ["vol:batch"]
    assert first[0].message == "batch volume 9000 rows is above the expected maximum of 5000 rows"


def test_inconclusive_kpi_alerts_only_when_asked():
    summary = BatchSummary(n_rows=10, kpis=(KpiOutcome("ppv", "inconclusive", "KPI ppv ..."),))
    rules = [{"id": "k", "kind": "kpi_not_met", "severity": "low", "include_inconclusive": True}]
    assert [f.dedup_key for f in evaluate_rules(rules, summary)] == ["k:ppv"]
    rules[0]["include_inconclusive"] = False
    assert evaluate_rules(rules, summary) == []


def test_summary_from_drift_result_feeds_the_rules():
    rng = np.random.default_rng(0)
    ref = pd.DataFrame({"age": rng.normal(60, 10, 400), "score": rng.uniform(size=400)})
    cur = pd.DataFrame({"age": rng.normal(70, 10, 400), "score": rng.uniform(size=400)})
    cur.loc[:59, "age"] = np.nan
    drift = detect_drift(ref, cur, score_column="score")
    summary = BatchSummary.from_results(n_rows=len(cur), drift=drift)
    assert summary.drifted_columns == ("age",)
    assert summary.missing_rates == {"age": 0.15, "score": 0.0}
    keys = [f.dedup_key for f in evaluate_rules(RULES, summary)]
    assert keys == ["key:age", "share:batch", "nan:age"]


def test_malformed_rules_are_all_reported():
    with pytest.raises(MonitoringInputError) as caught:
        load_rules(
            [
                {"id": "a", "kind": "drift_share_above", "severity": "urgent", "level": 3},
                {"id": "b", "kind": "volume_outside", "severity": "low", "min_rows": 10,
                 "max_rows": 5, "colour": "red"},
                {"id": "a", "kind": "feature_drifted", "severity": "low", "columns": ["x"]},
                {"kind": "teleport", "severity": "low"},
            ]
        )  # fmt: skip
    assert caught.value.problems == (
        "rules[0]: severity must be one of ['low', 'medium', 'high', 'critical']. "
        "Got 'urgent' instead",
        "rules[0]: level must be a number between 0 and 1. Got 3 instead",
        "rules[1]: min_rows (10) must not exceed max_rows (5)",
        "rules[1]: unknown field(s) for kind 'volume_outside': colour",
        "rules[2]: id 'a' is already used by rules[0]",
        "rules[3]: id must be a non-empty string. Got None instead",
        "rules[3]: kind must be one of ['drift_share_above', 'feature_drifted', 'kpi_not_met', "
        "'missing_rate_above', 'volume_outside']. Got 'teleport' instead",
    )


def test_rules_round_trip_through_to_dict():
    rules = load_rules(RULES)
    assert load_rules(r.to_dict() for r in rules) == rules
