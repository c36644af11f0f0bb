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
    assert report.notes == ("no class probability columns: no macro or weighted AUC",)
    json.dumps(report.to_dict(), allow_nan=False)


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
