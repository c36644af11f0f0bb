"""Drift scores checked against scipy, verdicts on known shifts, degenerate columns reported."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, wasserstein_distance

from monitoring.drift import (
    CHI2_TWO_SAMPLE,
    DRIFT_METHODS,
    _import_evidently,
    chi2_two_sample,
    default_method,
    detect_drift,
    infer_column_type,
)
from monitoring.errors import MonitoringInputError

# Scores are the same floating-point computation as scipy's on the same values; only summation
# order may differ, so a relative tolerance of 1e-9 is tight and still robust.
REL = 1e-9


def _frames(n_ref, n_cur, *, seed, shift=0.0, scale=1.0):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "age": rng.normal(60, 10, n_ref),
            "ward": rng.choice(["icu", "er", "med", "surg"], n_ref, p=[0.1, 0.3, 0.4, 0.2]),
            "score": rng.beta(2, 5, n_ref),
        }
    )
    cur = pd.DataFrame(
        {
            "age": rng.normal(60 + shift, 10 * scale, n_cur),
            "ward": rng.choice(["icu", "er", "med", "surg"], n_cur, p=[0.1, 0.3, 0.4, 0.2]),
            "score": rng.beta(2, 5, n_cur),
        }
    )
    return ref, cur


def test_ks_score_matches_scipy_ks_2samp():
    ref, cur = _frames(500, 400, seed=1, shift=2.0)
    result = detect_drift(ref, cur)
    age = result.column("age")
    assert age.method == "ks"
    expected = ks_2samp(ref["age"], cur["age"]).pvalue
    assert age.score == pytest.approx(expected, rel=REL)
    assert age.drifted is bool(expected <= 0.05)


def test_wasserstein_score_matches_scipy_normed_by_reference_population_std():
    ref, cur = _frames(3000, 2000, seed=2, shift=1.5)
    result = detect_drift(ref, cur)
    age = result.column("age")
    assert age.method == "wasserstein"
    # Evidently's normalisation (legacy/calculations/stattests/wasserstein_distance_norm.py):
    # divide by max(np.std(reference), 0.001), np.std being the population std (ddof=0).
    expected = wasserstein_distance(ref["age"], cur["age"]) / max(np.std(ref["age"]), 0.001)
    assert age.score == pytest.approx(expected, rel=REL)
    assert age.drifted is bool(expected >= 0.1)


def test_jensen_shannon_score_matches_scipy_on_category_proportions():
    ref, cur = _frames(3000, 2000, seed=3)
    cur.loc[:299, "ward"] = "paediatrics"  # a new category, absent from the reference
    result = detect_drift(ref, cur)
    ward = result.column("ward")
    assert ward.method == "jensenshannon"
    keys = sorted(set(ref["ward"]) | set(cur["ward"]))
    p = ref["ward"].value_counts(normalize=True).reindex(keys, fill_value=0)
    q = cur["ward"].value_counts(normalize=True).reindex(keys, fill_value=0)
    expected = jensenshannon(p.to_numpy(), q.to_numpy())  # natural log, as Evidently
    assert ward.score == pytest.approx(expected, rel=REL)
    assert ward.new_categories == ("paediatrics",)
    assert ward.new_category_share == pytest.approx(300 / 2000)


def test_chi2_two_sample_matches_scipy_contingency_table():
    ref, cur = _frames(600, 300, seed=4)
    result = detect_drift(ref, cur)
    ward = result.column("ward")
    assert ward.method == CHI2_TWO_SAMPLE
    table = pd.crosstab(
        np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref["ward"], cur["ward"]]
    )
    expected = chi2_contingency(table.to_numpy(), correction=False).pvalue
    assert ward.score == pytest.approx(expected, rel=REL)
    assert chi2_two_sample(ref["ward"], cur["ward"]) == pytest.approx(expected, rel=REL)


def test_chi2_two_sample_single_shared_category_gives_p_one():
    assert chi2_two_sample(pd.Series(["a"] * 5), pd.Series(["a"] * 3)) == 1.0


def test_chi2_two_sample_keeps_nominal_false_alarm_rate_where_goodness_of_fit_does_not():
    # Same distribution drawn 300 times (n=500 each, 4 uniform categories). A two-sample test
    # at p < 0.05 should flag about 5 %; Binomial(300, 0.05) stays under 8.7 % with probability
    # > 0.99. Evidently's chisquare (reference proportions taken as exact) flags far more.
    from scipy.stats import chisquare

    rng = np.random.default_rng(5)
    ours = theirs = 0
    for _ in range(300):
        ref = pd.Series(rng.choice(list("abcd"), 500))
        cur = pd.Series(rng.choice(list("abcd"), 500))
        ours += chi2_two_sample(ref, cur) < 0.05
        keys = sorted(set(ref) | set(cur))
        f_exp = ref.value_counts().reindex(keys, fill_value=0).to_numpy() * len(cur) / len(ref)
        f_obs = cur.value_counts().reindex(keys, fill_value=0).to_numpy()
        theirs += chisquare(f_obs, f_exp).pvalue < 0.05
    assert ours / 300 < 0.087
    assert theirs / 300 > 0.15


def test_same_distribution_not_flagged_and_shifts_flagged():
    ref, same = _frames(800, 800, seed=6)
    assert detect_drift(ref, same, score_column="score").drifted_features == ()

    _, mean_shift = _frames(800, 800, seed=7, shift=5.0)
    _, wider = _frames(800, 800, seed=8, scale=2.0)
    assert detect_drift(ref, mean_shift).column("age").drifted is True
    assert detect_drift(ref, wider).column("age").drifted is True


def test_label_shift_in_score_column_is_prediction_drift_not_feature_drift():
    ref, cur = _frames(800, 800, seed=9)
    cur["score"] = np.clip(cur["score"] + 0.2, 0, 1)
    result = detect_drift(ref, cur, score_column="score")
    assert result.prediction is not None and result.prediction.role == "prediction"
    assert result.prediction.drifted is True
    assert "score" not in result.drifted_features
    assert result.n_features_tested == 2


def test_new_category_at_small_size_is_listed_and_flagged():
    ref, cur = _frames(500, 500, seed=10)
    cur.loc[:99, "ward"] = "paediatrics"
    ward = detect_drift(ref, cur).column("ward")
    assert ward.new_categories == ("paediatrics",)
    assert ward.drifted is True


def test_missing_values_are_counted_and_dropped_before_testing():
    ref, cur = _frames(500, 400, seed=11)
    cur.loc[:39, "age"] = np.nan
    cur.loc[40, "age"] = np.inf
    ref.loc[:4, "ward"] = None
    result = detect_drift(ref, cur)
    age = result.column("age")
    assert (age.missing_current, age.n_current) == (41, 359)
    assert age.missing_rate_current == pytest.approx(41 / 400)
    clean = cur["age"].replace(np.inf, np.nan).dropna()
    assert age.score == pytest.approx(ks_2samp(ref["age"], clean).pvalue, rel=REL)
    assert result.column("ward").missing_reference == 5


def test_empty_absent_and_untestable_columns_are_skipped_with_reasons():
    ref, cur = _frames(300, 300, seed=12)
    ref["lactate"] = np.random.default_rng(0).normal(size=300)
    cur["lactate"] = np.nan
    ref["admitted_at"] = pd.Timestamp("2025-01-01")
    cur["admitted_at"] = pd.Timestamp("2025-02-01")
    ref["dose"] = np.arange(300.0)
    cur["dose"] = ["12 mg"] * 300
    result = detect_drift(
        ref, cur, columns=["age", "lactate", "admitted_at", "dose", "bmi"],
        column_types={"dose": "numerical"},
    )  # fmt: skip
    reasons = {c.column: c.skipped_reason for c in result.columns}
    assert reasons == {
        "age": None,
        "lactate": "column 'lactate' is entirely missing in the current batch",
        "admitted_at": (
            "column 'admitted_at' holds dates or durations, which are not tested for drift"
        ),
        "dose": "column 'dose' is typed numerical but holds non-numeric values (e.g. '12 mg')",
        "bmi": "column 'bmi' is absent from the reference and current batch",
    }
    assert result.n_features_tested == 1 and result.n_features_skipped == 4
    assert result.column("lactate").missing_rate_current == 1.0


def test_empty_current_batch_skips_every_column():
    ref, cur = _frames(300, 300, seed=13)
    result = detect_drift(ref, cur.iloc[0:0])
    assert result.n_features_tested == 0
    assert result.drift_share is None and result.dataset_drifted is None
    assert result.column("age").skipped_reason == "column 'age' has no rows in the current batch"


def test_type_and_method_overrides_are_used():
    ref, cur = _frames(3000, 3000, seed=14)
    ref["grade"] = np.random.default_rng(1).integers(1, 5, 3000)
    cur["grade"] = np.random.default_rng(2).integers(1, 5, 3000)
    result = detect_drift(
        ref, cur,
        column_types={"grade": "categorical"},
        methods={"age": "ks", "ward": "psi"},
        thresholds={"age": 0.01},
    )  # fmt: skip
    assert (result.column("age").method, result.column("age").threshold) == ("ks", 0.01)
    assert result.column("ward").method == "psi"
    grade = result.column("grade")
    assert (grade.column_type, grade.type_source, grade.method) == (
        "categorical", "declared", "jensenshannon",
    )  # fmt: skip


def test_infer_column_type():
    assert infer_column_type(pd.Series([0.1, 2.5, 3.0])) == "numerical"
    assert infer_column_type(pd.Series([0, 1, 0, 1])) == "categorical"
    assert infer_column_type(pd.Series([True, False])) == "categorical"
    assert infer_column_type(pd.Series(["a", "b"], dtype="category")) == "categorical"
    assert infer_column_type(pd.Series([np.nan, np.nan])) == "numerical"
    assert infer_column_type(pd.Series(pd.to_datetime(["2025-01-01"]))) is None


def test_default_methods_switch_on_reference_size():
    assert default_method("numerical", 1000).name == "ks"
    assert default_method("numerical", 1001).name == "wasserstein"
    assert default_method("categorical", 1000).name == CHI2_TWO_SAMPLE
    assert default_method("categorical", 1001).name == "jensenshannon"


def test_invalid_arguments_listed_in_one_error():
    ref, cur = _frames(50, 50, seed=15)
    with pytest.raises(MonitoringInputError) as caught:
        detect_drift(
            ref, cur,
            column_types={"age": "ordinal"},
            methods={"ward": "magic", "age": "ks"},
            thresholds={"age": -1},
        )  # fmt: skip
    assert caught.value.problems == (
        "column_types['age'] must be 'numerical' or 'categorical'. Got 'ordinal' instead",
        f"methods['ward'] must be one of {sorted(DRIFT_METHODS)}. Got 'magic' instead",
        "thresholds['age'] must be a positive number. Got -1 instead",
    )
    with pytest.raises(MonitoringInputError, match="reference must be a pandas DataFrame"):
        detect_drift([1, 2], cur)


def test_method_that_does_not_fit_declared_type_is_refused():
    ref, cur = _frames(50, 50, seed=16)
    with pytest.raises(MonitoringInputError) as caught:
        detect_drift(ref, cur, column_types={"ward": "categorical"}, methods={"ward": "ks"})
    assert caught.value.problems == (
        "methods['ward']: 'ks' does not apply to categorical columns (it applies to numerical)",
    )


def test_method_table_matches_evidently_registry():
    _import_evidently()  # imports Evidently and registers our test
    from evidently.legacy.calculations.stattests.registry import get_registered_stattest
    from evidently.legacy.core import ColumnType

    for method in DRIFT_METHODS.values():
        for column_type in method.column_types:
            registered = get_registered_stattest(method.name, ColumnType(column_type[:3]))
            assert (registered.display_name, registered.default_threshold) == (
                method.label,
                method.default_threshold,
            ), method.name


def test_result_to_dict_is_plain_json():
    ref, cur = _frames(300, 300, seed=18)
    cur["age"] = np.nan
    data = detect_drift(ref, cur, score_column="score").to_dict()
    text = json.dumps(data, allow_nan=False)
    assert json.loads(text) == data
    assert data["prediction"]["column"] == "score"
    assert data["engine"].startswith("numpy ")
    assert "evidently" not in data["engine"]  # the direct path does not import Evidently
    assert {c["column"] for c in data["columns"]} == {"age", "ward"}


def test_library_warnings_become_caveats_instead_of_errors():
    # Evidently's goodness-of-fit chisquare divides by a zero expected count when the current
    # batch has a category the reference lacks; numpy warns. Through Evidently the warning is
    # kept as a caveat; the direct path states the same fact on the column.
    ref, cur = _frames(300, 300, seed=19)
    cur.loc[:9, "ward"] = "paediatrics"
    through = detect_drift(ref, cur, methods={"ward": "chisquare"}, engine="evidently")
    assert through.column("ward").drifted is True
    assert any(c.startswith("RuntimeWarning: divide by zero") for c in through.caveats)
    direct = detect_drift(ref, cur, methods={"ward": "chisquare"})
    assert direct.column("ward").drifted is True and direct.column("ward").score == 0.0
    assert any("expected count of zero" in c for c in direct.column("ward").caveats)
