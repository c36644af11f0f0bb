"""Validation of a monitoring batch against its deployment's schema, all problems at once.

A hospital uploads what a deployed model saw and said. Before any analysis, the batch is checked
against the schema declared for the deployment: required columns (with a suggestion when a name
is close, e.g. a case or spelling difference), column types, missing-value rates, duplicate
record ids and an empty batch. Every problem is reported in one :class:`MonitoringInputError`, so
the sender fixes the file in one pass.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from monitoring._plain import PlainData
from monitoring.errors import MonitoringInputError

#: Types a schema column may declare.
COLUMN_KINDS = ("numeric", "integer", "categorical", "boolean", "datetime", "text")


@dataclass(frozen=True)
class ColumnSpec(PlainData):
    """One column a batch must (or may) hold.

    Attributes
    ----------
    name : str
    kind : {"numeric", "integer", "categorical", "boolean", "datetime", "text"}
        ``categorical`` and ``text`` accept any values; ``numeric`` accepts numbers (or text that
        parses as numbers), ``integer`` whole numbers, ``boolean`` true/false or 0/1,
        ``datetime`` values pandas parses as dates.
    required : bool, default True
    max_missing_rate : float, default 0.0
        Highest share of missing values accepted (0 means none).
    """

    name: str
    kind: str
    required: bool = True
    max_missing_rate: float = 0.0


@dataclass(frozen=True)
class BatchSchema(PlainData):
    """Columns expected in a deployment's batches.

    Attributes
    ----------
    columns : tuple of ColumnSpec
    id_column : str or None
        Record id column; must be unique within the batch.
    allow_extra_columns : bool, default True
        Whether columns outside the schema are accepted (they are listed in the report).
    """

    columns: tuple[ColumnSpec, ...]
    id_column: str | None = None
    allow_extra_columns: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchSchema:
        """Build a schema from ``{"columns": [{"name", "kind", ...}], "id_column": ...}``.

        Raises
        ------
        MonitoringInputError
            Listing every malformed column entry.

        Examples
        --------
        >>> schema = BatchSchema.from_dict({"id_column": "record_id", "columns": [
        ...     {"name": "record_id", "kind": "text"}, {"name": "age", "kind": "numeric"}]})
        >>> [c.name for c in schema.columns]
        ['record_id', 'age']
        """
        problems = []
        specs = []
        for index, entry in enumerate(data.get("columns") or []):
            name, kind = entry.get("name"), entry.get("kind")
            rate = entry.get("max_missing_rate", 0.0)
            if not isinstance(name, str) or not name:
                problems.append(f"columns[{index}].name must be a non-empty string. Got {name!r}")
            if kind not in COLUMN_KINDS:
                problems.append(
                    f"columns[{index}].kind must be one of {COLUMN_KINDS}. Got {kind!r}"
                )
            if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
                problems.append(
                    f"columns[{index}].max_missing_rate must be between 0 and 1. Got {rate!r}"
                )
            specs.append(
                ColumnSpec(name, kind, bool(entry.get("required", True)), float(rate or 0))
                if not problems
                else None
            )
        if not data.get("columns"):
            problems.append("columns must list at least one column")
        id_column = data.get("id_column")
        if id_column is not None and id_column not in {s.name for s in specs if s}:
            problems.append(f"id_column {id_column!r} must be one of the schema's columns")
        if problems:
            raise MonitoringInputError(problems)
        return cls(tuple(specs), id_column, bool(data.get("allow_extra_columns", True)))


@dataclass(frozen=True)
class BatchValidation(PlainData):
    """A batch that passed validation, with what was observed.

    Attributes
    ----------
    n_rows : int
    missing_rates : dict of str to float
        Missing-value share per schema column present.
    extra_columns : tuple of str
        Columns outside the schema (accepted when the schema allows them).
    optional_columns_absent : tuple of str
    """

    n_rows: int
    missing_rates: Mapping[str, float] = field(default_factory=dict)
    extra_columns: tuple[str, ...] = ()
    optional_columns_absent: tuple[str, ...] = ()


def validate_batch(df: pd.DataFrame, schema: BatchSchema | Mapping[str, Any]) -> BatchValidation:
    """Check a batch against its schema and report every problem at once.

    Parameters
    ----------
    df : pandas.DataFrame
        The batch as read from the uploaded file.
    schema : BatchSchema or mapping
        The deployment's schema (a mapping is read with :meth:`BatchSchema.from_dict`).

    Returns
    -------
    BatchValidation
        Observed missing rates and extra columns, when the batch is valid.

    Raises
    ------
    MonitoringInputError
        Listing: an empty batch; each missing required column, with close names present
        ("did you mean 'Age'?"); each column whose values do not fit its type, with example
        values and rows; each column whose missing rate is above its limit, with rows; duplicate
        record ids; unexpected columns when the schema forbids them.

    Examples
    --------
    >>> import pandas as pd
    >>> schema = {"columns": [{"name": "age", "kind": "numeric"}]}
    >>> try:
    ...     validate_batch(pd.DataFrame({"Age": [71, 64]}), schema)
    ... except MonitoringInputError as err:
    ...     print(err.problems)
    ("required column 'age' is missing; did you mean 'Age'?",)
    """
    if not isinstance(schema, BatchSchema):
        schema = BatchSchema.from_dict(schema)
    if not isinstance(df, pd.DataFrame):
        raise MonitoringInputError(
            [f"the batch must be a pandas DataFrame. Got {type(df).__name__} instead"]
        )
    problems: list[str] = []
    if len(df) == 0:
        problems.append("the batch is empty: it has no rows")
    present = [str(c) for c in df.columns]
    duplicated_names = sorted({c for c in present if present.count(c) > 1})
    for name in duplicated_names:
        problems.append(f"column {name!r} appears {present.count(name)} times in the header")
    expected = {spec.name for spec in schema.columns}
    extra = [c for c in present if c not in expected]
    missing_rates: dict[str, float] = {}
    absent_optional = []

    for spec in schema.columns:
        if spec.name not in df.columns:
            if spec.required:
                problems.append(_missing_column_message(spec.name, extra))
            else:
                absent_optional.append(spec.name)
            continue
        if spec.name in duplicated_names:
            continue
        values = df[spec.name]
        missing = values.isna()
        rate = float(missing.mean()) if len(values) else 0.0
        missing_rates[spec.name] = rate
        if missing.any() and rate > spec.max_missing_rate:
            limit = (
                "no missing values are allowed"
                if spec.max_missing_rate == 0
                else f"at most {spec.max_missing_rate:.1%} are allowed"
            )
            problems.append(
                f"column {spec.name!r}: {int(missing.sum())} missing values ({rate:.1%}; rows "
                f"{_rows(values.index[missing])}); {limit}"
            )
        type_problem = _type_problem(spec, values[~missing])
        if type_problem:
            problems.append(type_problem)

    if (
        schema.id_column
        and schema.id_column in df.columns
        and schema.id_column not in duplicated_names
    ):
        ids = df[schema.id_column].dropna()
        repeated = ids[ids.duplicated(keep=False)]
        if len(repeated):
            examples = ", ".join(repr(v) for v in list(dict.fromkeys(repeated))[:5])
            problems.append(
                f"column {schema.id_column!r}: {repeated.nunique()} record ids appear more than "
                f"once ({examples}); each record must appear once"
            )
    if extra and not schema.allow_extra_columns:
        problems.append(
            "unexpected column(s) not in the schema: " + ", ".join(repr(c) for c in extra)
        )
    if problems:
        raise MonitoringInputError(problems)
    return BatchValidation(
        n_rows=len(df),
        missing_rates=missing_rates,
        extra_columns=tuple(extra),
        optional_columns_absent=tuple(absent_optional),
    )


def _missing_column_message(name: str, candidates: Sequence[str]) -> str:
    lowered = {c.lower(): c for c in candidates}
    close = [lowered[name.lower()]] if name.lower() in lowered else []
    close += [
        c for c in difflib.get_close_matches(name, candidates, n=3, cutoff=0.75) if c not in close
    ]
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"required column {name!r} is missing{hint}"


def _type_problem(spec: ColumnSpec, values: pd.Series) -> str | None:
    if spec.kind in ("categorical", "text") or len(values) == 0:
        return None
    if spec.kind == "boolean":
        bad = values[~values.isin([True, False, 0, 1, "true", "false", "True", "False"])]
        expected = "true/false or 0/1"
    elif spec.kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(values.dtype):
            return None
        parsed = pd.to_datetime(values.astype(str), errors="coerce", format="mixed")
        bad = values[parsed.isna()]
        expected = "dates"
    else:
        if pd.api.types.is_bool_dtype(values.dtype):
            return f"column {spec.name!r} must hold {spec.kind} values. Got true/false values"
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values[numbers.isna()]
        expected = "numbers"
        if spec.kind == "integer" and bad.empty:
            bad = values[(numbers % 1) != 0]
            expected = "whole numbers"
    if bad.empty:
        return None
    examples = ", ".join(repr(v) for v in list(dict.fromkeys(bad))[:3])
    return (
        f"column {spec.name!r} must hold {expected}: {len(bad)} values do not "
        f"(e.g. {examples}; rows {_rows(bad.index)})"
    )


def _rows(index: Sequence[Any]) -> str:
    shown = [str(i) for i in list(index)[:5]]
    return ", ".join(shown) + (", ..." if len(index) > 5 else "")
