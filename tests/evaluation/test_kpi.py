"""KPI verdicts decided on the interval, with the rule written out."""

import pytest

from evaluation.kpi import KpiSpec, judge_kpi, resolve_metric
from evaluation.results import Interval, MetricResult


def result(lower, estimate, upper, name="auc"):
    return MetricResult(name, estimate, Interval(estimate, lower, upper, 0.95, "delong"), 100)


@pytest.mark.parametrize(
    "spec,bounds,verdict",
    [
        (KpiSpec("auc", ">=", threshold=0.9), (0.90, 0.92, 0.94), "met"),
        (KpiSpec("auc", ">=", threshold=0.9), (0.89, 0.92, 0.94), "inconclusive"),
        (KpiSpec("auc", ">=", threshold=0.9), (0.85, 0.87, 0.8999), "not_met"),
        (KpiSpec("auc", ">=", threshold=0.9), (0.85, 0.87, 0.90), "inconclusive"),
        (KpiSpec("mae", "<=", threshold=0.5), (0.40, 0.45, 0.50), "met"),
        (KpiSpec("mae", "<=", threshold=0.5), (0.45, 0.48, 0.51), "inconclusive"),
        (KpiSpec("mae", "<=", threshold=0.5), (0.5001, 0.55, 0.6), "not_met"),
        (KpiSpec("oe_ratio", "between", low=0.9, high=1.1), (0.9, 1.0, 1.1), "met"),
        (KpiSpec("oe_ratio", "between", low=0.9, high=1.1), (0.85, 1.0, 1.05), "inconclusive"),
        (KpiSpec("oe_ratio", "between", low=0.9, high=1.1), (1.11, 1.2, 1.3), "not_met"),
        (KpiSpec("oe_ratio", "between", low=0.9, high=1.1), (0.7, 0.8, 0.89), "not_met"),
        (KpiSpec("oe_ratio", "between", low=0.9, high=1.1), (0.8, 1.0, 1.2), "inconclusive"),
    ],
)
def test_verdict_is_decided_on_the_interval(spec, bounds, verdict):
    assert judge_kpi(spec, result(*bounds, name=spec.metric)).verdict == verdict


def test_rule_sentence_states_rule_and_numbers():
    v = judge_kpi(
        KpiSpec("sensitivity", ">=", threshold=0.85), result(0.8, 0.86, 0.9, "sensitivity")
    )
    assert v.rule == (
        "inconclusive: sensitivity >= 0.85 requires the lower bound of the 95% interval to be "
        ">= 0.85; it is 0.8 (estimate 0.86, 95% CI 0.8-0.9, delong)."
    )
    assert v.point_estimate_meets is True


def test_undefined_metric_is_inconclusive_with_its_reason():
    v = judge_kpi(
        KpiSpec("auc", ">=", threshold=0.9), MetricResult.undefined("auc", 5, "no positive cases")
    )
    assert (v.verdict, v.point_estimate_meets) == ("inconclusive", None)
    assert v.rule == "inconclusive: auc >= 0.9 cannot be judged because no positive cases."


def test_metric_without_interval_is_inconclusive():
    v = judge_kpi(KpiSpec("ece", "<=", threshold=0.1), MetricResult("ece", 0.02, None, 50))
    assert v.verdict == "inconclusive"
    assert v.point_estimate_meets is True


SMALL = "15 positive and 400 negative cases; at least 30 of each are needed to conclude"


@pytest.mark.parametrize(
    "spec,bounds",
    [
        (KpiSpec("auc", ">=", threshold=0.9), (0.91, 0.95, 0.98)),
        (KpiSpec("auc", ">=", threshold=0.9), (0.85, 0.92, 0.97)),
        (KpiSpec("mae", "<=", threshold=0.5), (0.40, 0.45, 0.48)),
        (KpiSpec("oe_ratio", "between", low=0.9, high=1.1), (0.95, 1.0, 1.05)),
    ],
)
def test_insufficient_sample_is_never_met(spec, bounds):
    metric = result(*bounds, name=spec.metric)
    assert judge_kpi(spec, metric).verdict in ("met", "inconclusive")
    v = judge_kpi(spec, metric, insufficient=SMALL)
    assert v.verdict == "inconclusive"
    assert v.rule.startswith(f"inconclusive: {spec.target} is not judged on insufficient data: ")
    assert v.point_estimate_meets == judge_kpi(spec, metric).point_estimate_meets


@pytest.mark.parametrize(
    "spec,bounds",
    [
        (KpiSpec("auc", ">=", threshold=0.9), (0.70, 0.75, 0.80)),
        (KpiSpec("mae", "<=", threshold=0.5), (0.55, 0.60, 0.70)),
        (KpiSpec("oe_ratio", "between", low=0.9, high=1.1), (1.2, 1.4, 1.6)),
    ],
)
def test_insufficient_sample_still_reports_a_shortfall_its_interval_shows(spec, bounds):
    metric = result(*bounds, name=spec.metric)
    v = judge_kpi(spec, metric, insufficient=SMALL)
    assert v.verdict == judge_kpi(spec, metric).verdict == "not_met"
    assert v.rule.startswith(f"not_met: {spec.target} requires ")
    assert f"even on insufficient data ({SMALL})" in v.rule


def test_insufficient_rule_states_the_reason_and_numbers_with_the_same_keys():
    spec = KpiSpec("auc", ">=", threshold=0.9)
    met, small = judge_kpi(spec, result(0.91, 0.95, 0.98)), judge_kpi(
        spec, result(0.91, 0.95, 0.98), insufficient=SMALL
    )
    assert small.rule == (
        "inconclusive: auc >= 0.9 is not judged on insufficient data: 15 positive and 400 "
        "negative cases; at least 30 of each are needed to conclude (estimate 0.95, 95% CI "
        "0.91-0.98, delong)."
    )
    assert sorted(small.to_dict()) == sorted(met.to_dict())
    no_interval = judge_kpi(spec, MetricResult("auc", 0.95, None, 415), insufficient=SMALL)
    assert no_interval.rule.endswith("to conclude (estimate 0.95, no interval).")


def test_undefined_metric_keeps_its_own_reason_on_a_small_sample():
    v = judge_kpi(
        KpiSpec("auc", ">=", threshold=0.9),
        MetricResult.undefined("auc", 5, "no positive cases"),
        insufficient=SMALL,
    )
    assert v.rule == "inconclusive: auc >= 0.9 cannot be judged because no positive cases."


def test_alias_keeps_the_caveat_of_its_source():
    source = MetricResult("auc", 0.8, None, 20, note="insufficient data: 10 positive ...")
    r = resolve_metric(KpiSpec("c_index", ">=", threshold=0.75), {"auc": source})
    assert r.note == (
        "computed as 'auc': for a binary outcome Harrell's C-index equals the ROC AUC; "
        "insufficient data: 10 positive ..."
    )


def test_c_index_resolves_to_auc_with_a_note():
    r = resolve_metric(KpiSpec("c_index", ">=", threshold=0.75), {"auc": result(0.7, 0.8, 0.9)})
    assert (r.name, r.value) == ("c_index", 0.8)
    assert r.note == "computed as 'auc': for a binary outcome Harrell's C-index equals the ROC AUC"


def test_class_label_resolves_to_per_class_metric():
    per_class = {"AF": {"sensitivity": result(0.9, 0.95, 0.97, "sensitivity")}}
    spec = KpiSpec("sensitivity", ">=", threshold=0.95, class_label="AF")
    assert resolve_metric(spec, {}, per_class).value == 0.95
    assert spec.target == "sensitivity[AF] >= 0.95"


@pytest.mark.parametrize(
    "spec,problem",
    [
        (
            KpiSpec("auc", ">"),
            "kpi 'auc': comparator must be one of ['>=', '<=', 'between']. Got '>' instead",
        ),
        (KpiSpec("auc", ">="), "kpi 'auc': comparator '>=' needs a threshold"),
        (
            KpiSpec("oe_ratio", "between", low=1.1, high=0.9),
            "kpi 'oe_ratio': 'between' needs low <= high. Got low=1.1, high=0.9 instead",
        ),
    ],
)
def test_invalid_specs_are_described(spec, problem):
    assert spec.problems() == [problem]
