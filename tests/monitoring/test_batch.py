"""Batch validation lists every problem at once, with close-name suggestions."""

import numpy as np
import pandas as pd
import pytest

from monitoring.batch import BatchSchema, validate_batch
from monitoring.errors import MonitoringInputError

SCHEMA = {
    "id_column": "record_id",
    "columns": [
        {"name": "record_id", "kind": "text"},
        {"name": "age", "kind": "numeric", "max_missing_rate": 0.1},
        {"name": "sex", "kind": "categorical"},
        {"name": "heart_rate", "kind": "integer"},
        {"name": "y_score", "kind": "numeric"},
        {"name": "site", "kind": "text", "required": False},
    ],
    "allow_extra_columns": False,
}


def test_valid_batch_reports_missing_rates():
    df = pd.DataFrame(
        {
            "record_id": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
            "age": [70, 61, None, 55, 80, 44, 67, 72, 59, 63],
            "sex": list("FMFMFMFMFM"),
            "heart_rate": [80, 72, 90, 66, 75, 88, 92, 70, 64, 101],
            "y_score": np.linspace(0, 1, 10),
        }
    )
    result = validate_batch(df, SCHEMA)
    assert result.n_rows == 10
    assert result.missing_rates["age"] == pytest.approx(0.1)
    assert result.optional_columns_absent == ("site",)


def test_every_problem_listed_in_one_error():
    df = pd.DataFrame(
        {
            "record_id": ["a", "b", "b", "c"],
            "Age": [70, 61, 50, 40],
            "sex": ["F", "M", None, "F"],
            "heart_rate": [80, 72.5, 90, 66],
            "y_score": [0.1, "high", None, 0.4],
            "comment": ["", "", "", ""],
        }
    )
    with pytest.raises(MonitoringInputError) as caught:
        validate_batch(df, SCHEMA)
    assert caught.value.problems == (
        "required column 'age' is missing; did you mean 'Age'?",
        "column 'sex': 1 missing values (25.0%; rows 2); no missing values are allowed",
        "column 'heart_rate' must hold whole numbers: 1 values do not (e.g. 72.5; rows 1)",
        "column 'y_score': 1 missing values (25.0%; rows 2); no missing values are allowed",
        "column 'y_score' must hold numbers: 1 values do not (e.g. 'high'; rows 1)",
        "column 'record_id': 1 record ids appear more than once ('b'); "
        "each record must appear once",
        "unexpected column(s) not in the schema: 'Age', 'comment'",
    )


def test_empty_batch_and_misspelt_column():
    df = pd.DataFrame({"record_id": [], "age": [], "sex": [], "heart_rte": [], "y_score": []})
    with pytest.raises(MonitoringInputError) as caught:
        validate_batch(df, BatchSchema.from_dict({**SCHEMA, "allow_extra_columns": True}))
    assert caught.value.problems == (
        "the batch is empty: it has no rows",
        "required column 'heart_rate' is missing; did you mean 'heart_rte'?",
    )
    assert str(caught.value).startswith("2 problems found: the batch is empty")


def test_malformed_schema_is_reported():
    with pytest.raises(MonitoringInputError) as caught:
        BatchSchema.from_dict({"columns": [{"name": "x", "kind": "float", "max_missing_rate": 2}]})
    assert caught.value.problems == (
        "columns[0].kind must be one of ('numeric', 'integer', 'categorical', 'boolean', "
        "'datetime', 'text'). Got 'float'",
        "columns[0].max_missing_rate must be between 0 and 1. Got 2",
    )
