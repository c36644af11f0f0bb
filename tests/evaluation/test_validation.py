"""Input validation: every problem listed at once, each message matched exactly."""

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import EvaluationInputError
from evaluation.validation import Columns, check_frame, check_parameters, validate_frame

BINARY = Columns(y_true="label", y_score="score", id="id")


def problems(frame, **kwargs):
    """The problems validate_frame raises, after checking that check_frame (the upload's check,
    which extracts no arrays) raises the same ones in the same order."""
    kwargs.setdefault("task", "binary")
    kwargs.setdefault("columns", BINARY)
    with pytest.raises(EvaluationInputError) as info:
        validate_frame(frame, **kwargs)
    with pytest.raises(EvaluationInputError) as checked:
        check_frame(frame, **kwargs)
    assert checked.value.problems == info.value.problems
    return list(info.value.problems)


def test_missing_values_message_names_column_count_rows_and_fix():
    score = np.linspace(0.01, 0.99, 50)
    score[[3, 17, 40, 41]] = np.nan
    frame = pd.DataFrame({"id": range(50), "label": [0, 1] * 25, "score": score})
    assert problems(frame) == [
        "column 'score': 4 missing values (rows 3, 17, 40, ...); remove or impute them"
    ]


def test_every_problem_is_reported_together():
    frame = pd.DataFrame(
        {
            "id": [1, 2, 2, 4, 5],
            "label": [0, 1, 2, 1, None],
            "score": [0.1, np.nan, 1.5, "high", np.inf],
            "sex": ["F", None, "M", "M", "F"],
        }
    )
    assert problems(frame, subgroup_columns=["sex"]) == [
        "column 'id': 1 id used more than once (2; rows 1, 2); each case must appear once",
        "column 'sex': 1 missing value (row 1); fill them in (e.g. 'unknown') or drop those rows",
        "column 'label': 1 missing value (row 4); remove those rows or fill in the label",
        "column 'label': 1 value outside the declared labels [0, 1] (row 2: 2.0); recode them or "
        "declare the labels",
        "column 'score': expected numbers, got 1 non-numeric value (row 3: 'high'); convert them "
        "to numbers",
        "column 'score': 1 missing value (row 1); remove or impute them",
        "column 'score': 1 infinite value (row 4); replace them with finite numbers",
        "column 'score': 1 value outside [0, 1] (row 2: 1.5); probabilities must lie in [0, 1]; "
        "rescale them or pass probability=False",
    ]


def test_misnamed_column_suggests_close_names():
    frame = pd.DataFrame({"id": [1, 2], "label": [0, 1], "y_score": [0.2, 0.8]})
    assert problems(frame) == ["column 'score' (score, y_score) not found; did you mean 'y_score'?"]


def test_absent_column_without_close_name_lists_columns_present():
    frame = pd.DataFrame({"id": [1, 2], "label": [0, 1], "score": [0.2, 0.8]})
    assert problems(frame, subgroup_columns=["vendor"]) == [
        "column 'vendor' (subgroup) not found; columns present: 'id', 'label', 'score'"
    ]


def test_empty_frame_is_refused():
    frame = pd.DataFrame({"id": [], "label": [], "score": []})
    assert problems(frame) == [
        "data: the data frame has no rows; provide at least one row per case"
    ]


def test_single_class_is_refused():
    frame = pd.DataFrame({"id": [1, 2, 3], "label": [1, 1, 1], "score": [0.2, 0.3, 0.4]})
    assert problems(frame) == [
        "column 'label': only one class present (1 in all 3 rows); AUC, sensitivity and "
        "specificity need both positive and negative cases"
    ]


def test_scores_outside_unit_interval_are_accepted_when_not_probabilities():
    frame = pd.DataFrame({"id": [1, 2], "label": [0, 1], "score": [12.0, 87.0]})
    data = validate_frame(frame, task="binary", columns=BINARY, probability=False)
    assert data.y_score.tolist() == [12.0, 87.0]


def test_string_labels_with_declared_positive_label():
    frame = pd.DataFrame(
        {"id": [1, 2, 3], "label": ["cancer", "benign", "benign"], "score": [0.9, 0.1, 0.4]}
    )
    data = validate_frame(
        frame, task="binary", columns=BINARY, labels=["benign", "cancer"], positive_label="cancer"
    )
    assert data.y_true.tolist() == [True, False, False]
    assert data.labels == ("benign", "cancer")


def test_positive_label_must_be_declared():
    frame = pd.DataFrame({"id": [1, 2], "label": [0, 1], "score": [0.2, 0.8]})
    assert problems(frame, positive_label="yes") == [
        "parameter labels: a binary task needs two labels including positive_label 'yes'. "
        "Got [0, 1] instead"
    ]


def test_not_a_data_frame_is_refused():
    with pytest.raises(EvaluationInputError) as info:
        validate_frame({"label": [0, 1]}, task="binary", columns=BINARY)
    assert info.value.problems == ("data: must be a pandas DataFrame. Got dict instead",)


def test_unknown_task_is_refused():
    frame = pd.DataFrame({"label": [0, 1]})
    assert problems(frame, task="survival") == [
        "parameter task: must be one of ['binary', 'multiclass', 'regression']. "
        "Got 'survival' instead"
    ]


def test_multiclass_prediction_outside_declared_labels():
    frame = pd.DataFrame({"y": ["a", "b", "c"], "p": ["a", "b", "d"]})
    assert problems(
        frame, task="multiclass", columns=Columns(y_true="y", y_pred="p"), labels=["a", "b", "c"]
    ) == [
        "column 'p': 1 value outside the declared labels ['a', 'b', 'c'] (row 2: 'd'); recode "
        "them or declare the labels"
    ]


def test_multiclass_probability_columns_give_argmax_predictions():
    frame = pd.DataFrame({"y": ["a", "b"], "pa": [0.7, 0.2], "pb": [0.3, 0.8]})
    columns = Columns(y_true="y", class_scores=(("b", "pb"), ("a", "pa")))
    data = validate_frame(frame, task="multiclass", columns=columns)
    assert data.y_pred.tolist() == [0, 1]
    assert data.y_score.tolist() == [[0.7, 0.3], [0.2, 0.8]]


def test_regression_needs_numbers():
    frame = pd.DataFrame({"y": [1.0, 2.0], "p": ["x", 2.0]})
    assert problems(frame, task="regression", columns=Columns(y_true="y", y_pred="p")) == [
        "column 'p': expected numbers, got 1 non-numeric value (row 0: 'x'); convert them to "
        "numbers"
    ]


def test_row_references_use_the_frame_index():
    frame = pd.DataFrame(
        {"label": [0, 1, 0], "score": [0.1, np.nan, 0.3]}, index=pd.Index([2, 3, 4])
    )
    assert problems(frame, columns=Columns(y_true="label", y_score="score")) == [
        "column 'score': 1 missing value (row 3); remove or impute them"
    ]


def test_columns_mapping_rejects_unknown_keys():
    with pytest.raises(EvaluationInputError) as info:
        Columns.from_mapping({"y_true": "y", "score": "p"})
    assert info.value.problems == (
        "columns: unknown key 'score'; use y_true, y_score, y_pred, id or class_scores",
    )


def test_check_parameters_lists_each_bad_parameter():
    assert check_parameters(
        level=1.0, threshold=float("nan"), n_resamples=10, min_subgroup_n=0
    ) == [
        "parameter level: must be between 0 and 1 (exclusive). Got 1.0 instead; e.g. 0.95",
        "parameter threshold: must be a finite number. Got nan instead",
        "parameter n_resamples: must be an integer >= 100. Got 10 instead; 2000 is the default",
        "parameter min_subgroup_n: must be an integer >= 1. Got 0 instead",
    ]


@pytest.mark.parametrize("ids", [
    [1, 2, 2, 3, 4, 5],  # increasing but not strictly: the fast path must not say unique
    [5, 1, 3, 1, 2, 4],  # unordered
    [1.0, 2.0, 2.0, 3.0, 4.0, 5.0],
    ["a", "b", "b", "c", "d", "e"],
])
def test_a_duplicated_id_is_found_whatever_the_order_and_type(ids):
    frame = pd.DataFrame({"id": ids, "label": [0, 1] * 3,
                          "score": [0.1, 0.9, 0.2, 0.8, 0.3, 0.7]})
    (problem,) = problems(frame)
    assert problem.startswith("column 'id': 1 id used more than once")


def test_strictly_increasing_ids_pass():
    frame = pd.DataFrame({"id": [3, 7, 9, 12], "label": [0, 1, 0, 1],
                          "score": [0.1, 0.9, 0.2, 0.8]})
    validate_frame(frame, task="binary", columns=BINARY)


@pytest.mark.parametrize("text", ["string[pyarrow]", "string[python]", object, "category"])
def test_labels_and_groups_are_the_same_whatever_holds_the_text(text):
    """Uploads hold text in Arrow memory, other callers in objects or categories: the codes,
    the subgroup arrays (one Python str per row) and the messages must not depend on it."""
    sex = ["F", "M", "M", "F", "X", "M"]
    frame = pd.DataFrame({
        "id": range(6), "y": pd.Series(["AF", "N", "N", "AF", "N", "other"], dtype=text),
        "score": [0.9, 0.1, 0.2, 0.8, 0.3, 0.5], "sex": pd.Series(sex, dtype=text),
    })
    binary = Columns(y_true="y", y_score="score", id="id")
    assert problems(frame, columns=binary, labels=["N", "AF"], positive_label="AF") == [
        "column 'y': 1 value outside the declared labels ['N', 'AF'] (row 5: 'other'); "
        "recode them or declare the labels"
    ]
    data = validate_frame(frame.iloc[:5], task="binary", columns=binary, labels=["N", "AF"],
                          positive_label="AF", subgroup_columns=["sex"])
    assert data.y_true.tolist() == [True, False, False, True, False]
    groups = data.groups["sex"]
    assert groups.dtype == object and groups.tolist() == sex[:5]
    assert all(type(value) is str for value in groups)
    multi = validate_frame(frame, task="multiclass", columns=Columns(y_true="y", y_pred="sex"),
                           labels=["AF", "N", "other", "F", "M", "X"])
    assert multi.y_true.tolist() == [0, 1, 1, 0, 1, 2]
    assert multi.y_pred.tolist() == [3, 4, 4, 3, 5, 4]


@pytest.mark.parametrize(("label", "declared"), [
    (pd.Series([0, 1, None], dtype="int64[pyarrow]"), ["no", "yes"]),
    (pd.Series(pd.to_datetime(["2024-01-02", "2024-01-03", None])), [False, True]),
], ids=["arrow integers, text labels", "dates, true-false labels"])
def test_labels_of_another_type_than_declared_are_outside_not_a_crash(label, declared):
    # Each distinct value is compared with each label: membership and codes follow one rule
    # (pandas' isin raised on Arrow integers against text labels, and on dates against bools).
    frame = pd.DataFrame({"id": [1, 2, 3], "label": label, "score": [0.2, 0.8, 0.5]})
    assert problems(frame, labels=declared, positive_label=declared[1]) == [
        "column 'label': 1 missing value (row 2); remove those rows or fill in the label",
        f"column 'label': 2 values outside the declared labels {declared} (rows 0, 1: "
        f"{', '.join(repr(v) for v in label[:2])}); recode them or declare the labels",
    ]


def test_check_frame_passes_what_validate_frame_passes():
    frame = pd.DataFrame({"id": [1, 2, 3], "label": [0, 1, 0], "score": [0.2, 0.8, 0.4],
                          "sex": ["F", "M", "F"], "site": ["a", "b", "b"]})
    options = dict(task="binary", columns=BINARY, subgroup_columns=["sex"], site_column="site")
    assert check_frame(frame, **options) is None
    data = validate_frame(frame, **options)
    assert data.groups["sex"].tolist() == ["F", "M", "F"] and data.site.tolist() == ["a", "b", "b"]


INT8_ENDS = [*range(-128, 128), 127, -128]  # more rows than values: the shortcut applies


@pytest.mark.parametrize(("values", "undeclared"), [
    ([3, 1, 2, 1, 3, 2], None),  # a short range: each value shifted is its code
    ([-2, 0, -1, 0, -2, 5], 5),  # negative values, a gap, and one value outside the labels
    ([0, 100, 1, 0, 1, 2], 100),  # a range longer than the column: hashed as any other column
    (INT8_ENDS, -128),  # the ends of int8, where a shift within int8 would overflow
])
@pytest.mark.parametrize("dtype", ["int64", "int8", "int32"])
def test_integer_labels_get_the_codes_of_a_slow_lookup(values, undeclared, dtype):
    """Integer label columns take a shortcut (no hash table); codes and refusals must be those
    of comparing every row with every declared label."""
    declared = sorted(set(values) - {undeclared})
    frame = pd.DataFrame({"y": pd.Series(values, dtype=dtype), "p": values})
    columns = Columns(y_true="y", y_pred="p")
    if undeclared is not None:
        rows = [i for i, v in enumerate(values) if v == undeclared]
        where = f"row {rows[0]}" if len(rows) == 1 else f"rows {rows[0]}, {rows[1]}"
        outside = (f"{len(rows)} value{'s' if len(rows) > 1 else ''} outside the declared labels"
                   f" {declared} ({where}: {', '.join([str(undeclared)] * len(rows))}); "
                   "recode them or declare the labels")
        found = problems(frame, task="multiclass", columns=columns, labels=declared)
        assert found == [f"column 'y': {outside}", f"column 'p': {outside}"]
        frame = frame[frame["y"] != undeclared]
    data = validate_frame(frame, task="multiclass", columns=columns, labels=declared)
    expected = [declared.index(v) for v in frame["y"].tolist()]
    assert data.y_true.tolist() == expected and data.y_pred.tolist() == expected


def test_integer_labels_against_text_labels_are_all_outside():
    frame = pd.DataFrame({"id": [1, 2, 3], "label": [0, 1, 1], "score": [0.2, 0.8, 0.5]})
    assert problems(frame, labels=["0", "1"], positive_label="1") == [
        "column 'label': 3 values outside the declared labels ['0', '1'] (rows 0, 1, 2: 0, 1, 1);"
        " recode them or declare the labels",
    ]
