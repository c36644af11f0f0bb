"""The top-level entry point: one report per task, JSON-ready, reproducible."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from evaluation import EvaluationInputError, KpiSpec, evaluate

from .helpers import assert_plain_close


@pytest.fixture
def binary_frame():
    rng = np.random.default_rng(61)
    n = 1200
    y = rng.random(n) < 0.3
    return pd.DataFrame(
        {
            "case": [f"P{i}" for i in range(n)],
            "truth": np.where(y, "cancer", "benign"),
            "p": np.clip(0.35 * y + rng.uniform(0, 0.65, n), 0, 1),
            "site": rng.choice(["Lyon", "Lille", "Nantes"], n),
        }
    )


def run_binary(frame, **kwargs):
    return evaluate(
        frame,
        task="binary",
        columns={"id": "case", "y_true": "truth", "y_score": "p"},
        labels=["benign", "cancer"],
        positive_label="cancer",
        n_resamples=200,
        **kwargs,
    )


def test_binary_report_numbers_match_sklearn(binary_frame):
    report = run_binary(binary_frame, threshold=0.4)
    y = binary_frame["truth"].eq("cancer").to_numpy()
    p = binary_frame["p"].to_numpy()
    assert report.metrics["auc"].value == pytest.approx(skm.roc_auc_score(y, p), abs=1e-14)
    assert report.metrics["sensitivity"].value == pytest.approx(
        skm.recall_score(y, p >= 0.4), abs=1e-15
    )
    assert report.metrics["brier"].value == pytest.approx(skm.brier_score_loss(y, p), abs=1e-15)
    assert report.metrics["average_precision"].value == pytest.approx(
        skm.average_precision_score(y, p), abs=1e-14
    )
    assert report.class_counts == {"benign": int((~y).sum()), "cancer": int(y.sum())}
    assert report.threshold == 0.4
    assert len(report.curves["roc"].x) <= 201
    assert report.curves["roc"].x[0] == 0.0 and report.curves["roc"].x[-1] == 1.0


def test_to_dict_is_strict_json_with_the_documented_keys(binary_frame):
    report = run_binary(
        binary_frame, site_column="site", kpis=[KpiSpec("auc", ">=", threshold=0.8, primary=True)]
    )
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert sorted(data) == sorted(
        [
            "library_version",
            "task",
            "n",
            "level",
            "seed",
            "n_resamples",
            "threshold",
            "interval_method",
            "labels",
            "class_counts",
            "metrics",
            "per_class",
            "confusion_matrix",
            "calibration",
            "curves",
            "decision_curve",
            "threshold_table",
            "bland_altman",
            "subgroups",
            "sites",
            "kpis",
            "notes",
        ]
    )
    assert data["metrics"]["auc"]["interval"]["method"] == "delong-logit"
    assert sorted(data["metrics"]["auc"]) == [
        "interval",
        "n",
        "name",
        "note",
        "undefined_reason",
        "value",
    ]
    assert data["kpis"][0]["verdict"] in ("met", "not_met", "inconclusive")
    assert sorted(data["sites"]["pooled"]) == ["auc", "sensitivity", "specificity"]


def test_report_is_reproducible_and_independent_of_row_order(binary_frame):
    a = run_binary(binary_frame, site_column="site").to_dict()
    b = run_binary(binary_frame.sample(frac=1.0, random_state=1), site_column="site").to_dict()
    assert_plain_close(a, b)


def test_multiclass_report_with_kpis_on_a_class(binary_frame):
    rng = np.random.default_rng(62)
    labels = ["NSR", "AF", "AFL"]
    y = rng.integers(0, 3, 600)
    pred = np.where(rng.random(600) < 0.8, y, rng.integers(0, 3, 600))
    frame = pd.DataFrame({"y": np.array(labels)[y], "pred": np.array(labels)[pred]})
    report = evaluate(
        frame,
        task="multiclass",
        columns={"y_true": "y", "y_pred": "pred"},
        labels=labels,
        n_resamples=200,
        kpis=[
            KpiSpec("sensitivity", ">=", threshold=0.5, class_label="AF"),
            KpiSpec("quadratic_weighted_kappa", ">=", threshold=0.99),
        ],
    )
    assert report.metrics["quadratic_weighted_kappa"].value == pytest.approx(
        skm.cohen_kappa_score(y, pred, weights="quadratic"), abs=1e-14
    )
    assert report.kpis[0].verdict == "met"
    assert report.kpis[1].verdict == "not_met"
    assert report.notes == (
        "no class probability columns: no macro or weighted AUC, calibration or multiclass "
        "Brier score",
    )
    assert report.calibration is None and "multiclass_brier" not in report.metrics
    json.dumps(report.to_dict(), allow_nan=False)


@pytest.fixture
def rhythm_frame():
    """Class probabilities of four rhythms, the reference drawn from them (a calibrated model),
    with an age band for subgroups."""
    rng = np.random.default_rng(64)
    labels = np.array(["NSR", "AF", "AFL", "AVB"])
    p = rng.dirichlet([0.4, 0.3, 0.2, 0.2], 900)
    y = (rng.random(900)[:, None] > np.cumsum(p, axis=1)[:, :-1]).sum(axis=1)
    frame = pd.DataFrame({f"p_{label}": p[:, code] for code, label in enumerate(labels)})
    return frame.assign(rhythm=labels[y], age=rng.choice(["<65", ">=65"], 900))


def run_rhythms(frame, **kwargs):
    return evaluate(
        frame,
        task="multiclass",
        columns={"y_true": "rhythm", "class_scores": {c: f"p_{c}" for c in CLASSES}},
        labels=list(CLASSES),
        n_resamples=100,
        **kwargs,
    )


CLASSES = ("NSR", "AF", "AFL", "AVB")


def test_multiclass_report_calibrates_class_probabilities(rhythm_frame):
    from evaluation.multiclass import multiclass_calibration

    report = run_rhythms(
        rhythm_frame,
        subgroup_columns=["age"],
        n_bins=5,
        kpis=[KpiSpec("calibration_slope", "between", low=0.5, high=1.5, class_label="AF")],
    )
    y = rhythm_frame["rhythm"].map({c: i for i, c in enumerate(CLASSES)}).to_numpy()
    p = rhythm_frame[[f"p_{c}" for c in CLASSES]].to_numpy()
    assert report.calibration == multiclass_calibration(y, p, CLASSES, n_bins=5)
    assert all(len(c.bins) == 5 for c in report.calibration.per_class.values())
    assert report.metrics["multiclass_brier"].value == pytest.approx(
        skm.brier_score_loss(y, p, labels=range(4)), abs=1e-14
    )
    assert report.metrics["classwise_ece"] == report.calibration.classwise_ece
    af = report.per_class["AF"]
    assert af["calibration_slope"] == report.calibration.per_class["AF"].slope
    assert report.kpis[0].result.value == af["calibration_slope"].value
    level = report.subgroups[0].levels[0]
    assert level.calibration.brier.n == level.n
    assert "classwise_ece" in report.subgroups[0].spread
    assert report.notes == ()
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert sorted(data["calibration"]) == ["brier", "classwise_ece", "per_class"]
    assert sorted(data["calibration"]["per_class"]["AF"]) == [
        "bins",
        "ece",
        "intercept",
        "oe_ratio",
        "slope",
    ]


def test_multiclass_scores_that_are_not_probabilities_skip_calibration(rhythm_frame):
    report = run_rhythms(rhythm_frame, probability=False)
    assert report.calibration is None and "classwise_ece" not in report.metrics
    assert "macro_auc" in report.metrics
    assert report.notes == ("class scores are not probabilities: no calibration or Brier score",)


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_every_multiclass_bootstrap_metric_follows_bootstrap_method(rhythm_frame, method):
    report = run_rhythms(rhythm_frame, **({} if method == "bca" else {"bootstrap_method": method}))
    names = ("cohen_kappa", "quadratic_weighted_kappa", "macro_f1", "macro_auc", "weighted_auc")
    for name in names:
        assert report.metrics[name].interval.method == (
            f"bootstrap-{method} (100 stratified resamples, seed 0)"
        ), name


def test_class_probabilities_not_summing_to_one_are_noted(rhythm_frame):
    frame = rhythm_frame.assign(p_NSR=rhythm_frame["p_NSR"].where(rhythm_frame.index >= 3, 0.0))
    report = run_rhythms(frame)
    off = int((rhythm_frame["p_NSR"][:3] > 0.01).sum())
    assert report.calibration is not None
    assert report.notes == (
        f"class probabilities of {off} of 900 rows do not sum to 1 (within 0.01): each class "
        "column is judged as a one-vs-rest probability and the multiclass Brier score is taken "
        "as is",
    )


@pytest.mark.parametrize("n_bins", [0, 2.5, True])
def test_n_bins_must_be_a_whole_number(rhythm_frame, n_bins):
    with pytest.raises(EvaluationInputError) as info:
        run_rhythms(rhythm_frame, n_bins=n_bins)
    assert info.value.problems == (
        f"parameter n_bins: must be a whole number >= 1. Got {n_bins!r} instead",
    )


def test_binary_reliability_curve_uses_n_bins(binary_frame):
    assert len(run_binary(binary_frame, n_bins=4).calibration.bins) == 4


def test_regression_report(binary_frame):
    rng = np.random.default_rng(63)
    y = rng.normal(size=300)
    frame = pd.DataFrame({"y": y, "pred": y + rng.normal(0.2, 0.3, 300)})
    report = evaluate(
        frame,
        task="regression",
        columns={"y_true": "y", "y_pred": "pred"},
        kpis=[KpiSpec("mae", "<=", threshold=1.0)],
    )
    assert report.metrics["mae"].value == pytest.approx(
        skm.mean_absolute_error(y, frame["pred"]), rel=1e-14
    )
    assert report.bland_altman.bias.estimate == pytest.approx(report.metrics["mean_bias"].value)
    assert report.kpis[0].verdict == "met"


def test_non_probability_scores_need_a_threshold_and_skip_calibration(binary_frame):
    frame = binary_frame.assign(p=binary_frame["p"] * 100)
    with pytest.raises(EvaluationInputError) as info:
        run_binary(frame, probability=False)
    assert info.value.problems == (
        "parameter threshold: required when scores are not probabilities (probability=False); "
        "give the operating threshold of the score",
    )
    report = run_binary(frame, probability=False, threshold=40)
    assert report.calibration is None and "brier" not in report.metrics
    assert report.notes[0].startswith("scores are not probabilities")


def test_parameter_and_data_problems_are_reported_together(binary_frame):
    frame = binary_frame.assign(p=binary_frame["p"].where(binary_frame.index != 5))
    with pytest.raises(EvaluationInputError) as info:
        run_binary(frame, level=95, kpis=[KpiSpec("auc", ">")])
    assert info.value.problems == (
        "parameter level: must be between 0 and 1 (exclusive). Got 95 instead; e.g. 0.95",
        "kpi 'auc': comparator must be one of ['>=', '<=', 'between']. Got '>' instead",
        "column 'p': 1 missing value (row 5); remove or impute them",
    )


def test_n_equal_one_per_class_still_reports(binary_frame):
    frame = pd.DataFrame({"y": [0, 1], "p": [0.3, 0.6]})
    report = evaluate(
        frame, task="binary", columns={"y_true": "y", "y_score": "p"}, n_resamples=100
    )
    assert report.metrics["auc"].value == 1.0
    assert report.metrics["calibration_slope"].value is None
    json.dumps(report.to_dict(), allow_nan=False)


@pytest.fixture
def few_positives():
    # 15 positives scored far above 400 negatives: the AUC interval clears 0.8 on its own.
    rng = np.random.default_rng(65)
    y = np.r_[np.ones(15, int), np.zeros(400, int)]
    p = np.where(y == 1, rng.uniform(0.6, 1.0, y.size), rng.uniform(0.0, 0.7, y.size))
    return pd.DataFrame({"y": y, "p": p, "sex": rng.choice(["F", "M"], y.size)})


def test_overall_kpi_below_the_minimum_sample_is_inconclusive(few_positives):
    kpi = KpiSpec("auc", ">=", threshold=0.8, primary=True)
    report = evaluate(
        few_positives, task="binary", columns={"y_true": "y", "y_score": "p"}, kpis=[kpi],
        subgroup_columns=["sex"], n_resamples=100,
    )
    auc = report.metrics["auc"]
    assert auc.ci_low >= 0.8 and auc.note.startswith("insufficient data: 15 positive")
    verdict = report.kpis[0]
    assert verdict.verdict == "inconclusive" and verdict.point_estimate_meets is True
    reason = "15 positive and 400 negative cases; at least 30 of each are needed to conclude"
    assert verdict.rule.startswith(
        f"inconclusive: auc >= 0.8 is not judged on insufficient data: {reason} (estimate "
    )
    # One rule: each subgroup level is judged by the same sentence.
    for lv in report.subgroups[0].levels:
        assert lv.insufficient_reason == (
            f"{lv.n_positive} positive and {lv.n_negative} negative cases; at least 30 of each "
            "are needed to conclude"
        )


def test_a_lower_minimum_concludes_and_says_what_it_costs_the_auc(few_positives):
    report = evaluate(
        few_positives, task="binary", columns={"y_true": "y", "y_score": "p"},
        kpis=[KpiSpec("auc", ">=", threshold=0.8)], min_subgroup_n=15, n_resamples=100,
    )
    assert report.kpis[0].verdict == "met"
    assert report.notes == (
        "min_subgroup_n=15 is below 30: KPIs and subgroups are concluded on samples where an AUC "
        "interval may not keep its coverage (such an AUC says so in its note)",
    )


def test_multiclass_and_regression_kpis_need_the_minimum_of_cases():
    rng = np.random.default_rng(66)
    y = rng.normal(size=20)
    frame = pd.DataFrame({"y": y, "pred": y + rng.normal(0, 0.01, 20)})
    report = evaluate(
        frame, task="regression", columns={"y_true": "y", "y_pred": "pred"},
        kpis=[KpiSpec("mae", "<=", threshold=1.0)],
    )
    assert report.kpis[0].verdict == "inconclusive"
    assert "insufficient data: 20 cases; at least 30 are needed to conclude" in report.kpis[0].rule
    assert evaluate(
        frame, task="regression", columns={"y_true": "y", "y_pred": "pred"},
        kpis=[KpiSpec("mae", "<=", threshold=1.0)], min_subgroup_n=20,
    ).kpis[0].verdict == "met"
