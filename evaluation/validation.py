"""Check a data frame of validation results before anything is computed.

Every problem is collected and raised at once in one :class:`EvaluationInputError`; each
message names the column or parameter, the rule, what was received and what to fix. Row
references are the data frame's index labels: give the frame the file's line numbers and the
messages point at lines a user can find.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.errors import EvaluationInputError

TASKS = ("binary", "multiclass", "regression")

#: How many offending rows or values a message quotes before "...".
SHOWN = 3


@dataclass(frozen=True)
class Columns:
    """Where each input lives in the data frame.

    Attributes
    ----------
    y_true : str
        Reference standard (ground truth) column.
    y_score : str or None
        Binary task: the model's score (a probability unless ``probability=False``).
    y_pred : str or None
        Multiclass task: predicted label; regression task: predicted value.
    id : str or None
        Case identifier; must be unique when given.
    class_scores : tuple of (label, column) pairs
        Multiclass task: one probability column per class, needed for AUCs.
    """

    y_true: str = "y_true"
    y_score: str | None = None
    y_pred: str | None = None
    id: str | None = None
    class_scores: tuple[tuple[object, str], ...] = field(default=())

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> Columns:
        """Build from a plain mapping (as stored in JSON); ``class_scores`` may be a dict.

        Examples
        --------
        >>> Columns.from_mapping({"y_true": "label", "class_scores": {"AF": "p_af"}})
        Columns(y_true='label', y_score=None, y_pred=None, id=None, class_scores=(('AF', 'p_af'),))
        """
        values = dict(mapping)
        unknown = sorted(set(values) - {"y_true", "y_score", "y_pred", "id", "class_scores"})
        if unknown:
            raise EvaluationInputError(
                [
                    f"columns: unknown key {key!r}; use y_true, y_score, y_pred, id or class_scores"
                    for key in unknown
                ]
            )
        scores = values.pop("class_scores", ())
        pairs = tuple(scores.items()) if isinstance(scores, Mapping) else tuple(scores)
        return cls(**values, class_scores=pairs)


@dataclass(frozen=True)
class ValidatedData:
    """Arrays extracted from a data frame that passed :func:`validate_frame`.

    Attributes
    ----------
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"``.
    y_true : numpy.ndarray
        Binary: bool (``True`` = positive label); multiclass: integer codes into ``labels``;
        regression: float.
    y_score : numpy.ndarray or None
        Binary: float scores. Multiclass: float matrix (n, k) of class probabilities, in the
        order of ``labels``, or ``None``. Regression: ``None``.
    y_pred : numpy.ndarray or None
        Multiclass: integer codes into ``labels``; regression: float; binary: ``None``.
    labels : tuple
        Binary: ``(negative, positive)``; multiclass: the classes in declared order.
    groups : dict of str to numpy.ndarray
        Subgroup columns (values as strings).
    site : numpy.ndarray or None
        Site of each row (strings), or ``None``.
    """

    task: str
    y_true: np.ndarray
    y_score: np.ndarray | None
    y_pred: np.ndarray | None
    labels: tuple
    groups: dict[str, np.ndarray]
    site: np.ndarray | None

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self.y_true.shape[0])


def _rows(index: pd.Index) -> str:
    shown = ", ".join(str(label) for label in index[:SHOWN])
    return (
        ("row " if len(index) == 1 else "rows ") + shown + (", ..." if len(index) > SHOWN else "")
    )


def _values(values: Iterable[object]) -> str:
    values = list(values)
    shown = ", ".join(repr(_plain_scalar(v)) for v in values[:SHOWN])
    return shown + (", ..." if len(values) > SHOWN else "")


def _plain_scalar(value: object) -> object:
    # numpy scalars print as np.int64(2) under numpy 2; users should read 2.
    return value.item() if isinstance(value, np.generic) else value


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _missing_column(name: str, role: str, present: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, present, n=3, cutoff=0.6)
    hint = (
        "did you mean " + " or ".join(repr(c) for c in close) + "?"
        if close
        else "columns present: "
        + ", ".join(repr(c) for c in present[:10])
        + (", ..." if len(present) > 10 else "")
    )
    return f"column {name!r} ({role}) not found; {hint}"


def _duplicated_ids(ids: pd.Series) -> pd.Series:
    """Rows whose id is used more than once. Ids in strictly increasing numeric order (the
    usual export) are unique by construction: one comparison pass instead of a hash table."""
    if pd.api.types.is_numeric_dtype(ids) and not pd.api.types.is_bool_dtype(ids):
        values = ids.to_numpy()
        if len(values) < 2 or bool(np.all(values[1:] > values[:-1])):
            return pd.Series(False, index=ids.index)
    return ids.duplicated(keep=False) & ids.notna()


def _strings(series: pd.Series) -> np.ndarray:
    """The column as an object array of str, one str object per distinct value.

    Converting a million values one by one (astype(str)) costs ~30x more. Arrow text converts
    in one pass that shares the repeated strings, 2.5x faster than labelling distinct values
    first (factorize) as the other types do.
    """
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        return series.array.__arrow_array__().to_pandas().to_numpy(dtype=object)
    codes, uniques = pd.factorize(series)
    return np.asarray([str(u) for u in uniques], dtype=object)[codes]


def _numeric(
    frame: pd.DataFrame,
    name: str,
    problems: list[str],
    *,
    unit_interval: bool = False,
    unit_hint: str = "",
) -> np.ndarray | None:
    """Return the column as floats, or record what prevents it."""
    raw = frame[name]
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype(float)
    values = pd.to_numeric(raw, errors="coerce")
    array = values.to_numpy(dtype=float, na_value=np.nan)
    # The usual column (numbers, all finite, in range) passes in one sweep; text and missing
    # values are NaN here, so anything wrong falls through to the checks that explain it.
    fine = ((array >= 0) & (array <= 1)) if unit_interval else np.isfinite(array)
    if fine.all():
        return array
    missing = raw.isna()
    text = values.isna() & ~missing
    found = False
    if text.any():
        found = True
        problems.append(
            f"column {name!r}: expected numbers, got "
            f"{_plural(int(text.sum()), 'non-numeric value')} "
            f"({_rows(frame.index[text.to_numpy()])}: {_values(raw[text])}); "
            "convert them to numbers"
        )
    if missing.any():
        found = True
        problems.append(
            f"column {name!r}: {_plural(int(missing.sum()), 'missing value')} "
            f"({_rows(frame.index[missing.to_numpy()])}); remove or impute them"
        )
    infinite = np.isinf(array)
    if infinite.any():
        found = True
        problems.append(
            f"column {name!r}: {_plural(int(infinite.sum()), 'infinite value')} "
            f"({_rows(frame.index[infinite])}); replace them with finite numbers"
        )
    if unit_interval:
        outside = np.isfinite(array) & ((array < 0) | (array > 1))
        if outside.any():
            found = True
            problems.append(
                f"column {name!r}: {_plural(int(outside.sum()), 'value')} outside [0, 1] "
                f"({_rows(frame.index[outside])}: {_values(array[outside])}); "
                f"probabilities must lie in [0, 1]{unit_hint}"
            )
    return None if found else array


def _distinct(raw: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each row's code into an array of distinct values (-1 for a missing value), and that
    array. Integers over a range no longer than the column (0/1 labels, class numbers) are
    their own codes once shifted: the range stands for the distinct values, a subtraction for
    the hash table (4x faster on a million rows); values of the range that no row holds are
    never looked up."""
    if isinstance(raw.dtype, np.dtype) and raw.dtype.kind == "i" and len(raw):
        values = raw.to_numpy()
        low, high = int(values.min()), int(values.max())
        if high - low < values.size:  # in int64, where the shift cannot overflow
            distinct = np.arange(low, high + 1, dtype=np.int64).astype(values.dtype)
            return values.astype(np.int64, copy=False) - low, distinct
    rows, uniques = pd.factorize(raw)
    return rows, np.asarray(uniques)


def _labels(
    frame: pd.DataFrame, name: str, declared: Sequence[object], problems: list[str]
) -> np.ndarray | None:
    """Return integer codes of the column into ``declared``, or record what prevents it."""
    raw = frame[name]
    missing = raw.isna().to_numpy()
    # Match each distinct value against the labels, then index: a label column holds a few
    # distinct values, and comparing a million rows to each label costs more than the parse.
    rows, distinct = _distinct(raw)
    lookup = np.full(len(distinct) + 1, -1, dtype=np.int64)  # the last slot: missing rows (-1)
    for code, label in enumerate(declared):
        lookup[:-1][distinct == label] = code
    codes = lookup[rows]
    if missing.any():
        problems.append(
            f"column {name!r}: {_plural(int(missing.sum()), 'missing value')} "
            f"({_rows(frame.index[missing])}); remove those rows or fill in "
            "the label"
        )
    outside = (codes < 0) & ~missing
    if outside.any():
        problems.append(
            f"column {name!r}: {_plural(int(outside.sum()), 'value')} outside the declared labels "
            f"{[_plain_scalar(v) for v in declared]} "
            f"({_rows(frame.index[outside])}: {_values(raw[outside])}); "
            "recode them or declare the labels"
        )
    return None if missing.any() or outside.any() else codes


def check_parameters(
    *,
    level: float = 0.95,
    threshold: float | None = None,
    n_resamples: int = 2000,
    min_subgroup_n: int = 30,
) -> list[str]:
    """Return the problems with evaluation parameters (empty when all are valid).

    Examples
    --------
    >>> check_parameters(level=95)
    ['parameter level: must be between 0 and 1 (exclusive). Got 95 instead; e.g. 0.95']
    """
    problems = []
    if not (isinstance(level, float | int) and 0 < level < 1):
        problems.append(
            f"parameter level: must be between 0 and 1 (exclusive). Got {level!r} instead; "
            "e.g. 0.95"
        )
    if threshold is not None and not (
        isinstance(threshold, float | int) and math.isfinite(threshold)
    ):
        problems.append(f"parameter threshold: must be a finite number. Got {threshold!r} instead")
    if not (isinstance(n_resamples, int) and n_resamples >= 100):
        problems.append(
            f"parameter n_resamples: must be an integer >= 100. Got {n_resamples!r} instead; "
            "2000 is the default"
        )
    if not (isinstance(min_subgroup_n, int) and min_subgroup_n >= 1):
        problems.append(
            f"parameter min_subgroup_n: must be an integer >= 1. Got {min_subgroup_n!r} instead"
        )
    return problems


def validate_frame(
    frame: pd.DataFrame,
    *,
    task: str,
    columns: Columns,
    labels: Sequence[object] | None = None,
    positive_label: object = 1,
    probability: bool = True,
    subgroup_columns: Sequence[str] = (),
    site_column: str | None = None,
    extra_problems: Sequence[str] = (),
) -> ValidatedData:
    """Validate a data frame of validation results and extract its arrays.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per case.
    task : {"binary", "multiclass", "regression"}
        Kind of model output.
    columns : Columns
        Where the reference, scores, predictions and ids are.
    labels : sequence, optional
        Declared labels. Binary: the two labels (default ``(0, 1)``). Multiclass: the classes
        in their order (the order matters for the weighted kappa); default: the sorted labels
        found in the reference and prediction columns.
    positive_label : object, default 1
        Binary: the label of a positive case.
    probability : bool, default True
        Binary: the score is a probability, so it must lie in [0, 1].
    subgroup_columns : sequence of str
        Columns defining subgroups (no missing values allowed).
    site_column : str, optional
        Column holding the site of each case.
    extra_problems : sequence of str
        Problems already found by the caller (e.g. bad parameters), reported together.

    Returns
    -------
    ValidatedData

    Raises
    ------
    EvaluationInputError
        Listing every problem found.

    Examples
    --------
    >>> df = pd.DataFrame({"y_true": [0, 1, 1], "p": [0.2, 0.7, 0.4]})
    >>> data = validate_frame(df, task="binary", columns=Columns(y_score="p"))
    >>> data.y_true.tolist(), data.n
    ([False, True, True], 3)
    """
    y_true, y_score, y_pred, final_labels = _check(
        frame, task, columns, labels, positive_label, probability, subgroup_columns,
        site_column, extra_problems,
    )
    return ValidatedData(
        task=task,
        y_true=y_true,
        y_score=y_score,
        y_pred=y_pred,
        labels=tuple(_plain_scalar(v) for v in final_labels),
        groups={name: _strings(frame[name]) for name in subgroup_columns},
        site=_strings(frame[site_column]) if site_column else None,
    )


def check_frame(
    frame: pd.DataFrame,
    *,
    task: str,
    columns: Columns,
    labels: Sequence[object] | None = None,
    positive_label: object = 1,
    probability: bool = True,
    subgroup_columns: Sequence[str] = (),
    site_column: str | None = None,
    extra_problems: Sequence[str] = (),
) -> None:
    """Raise what :func:`validate_frame` raises for the same arguments, and return nothing.

    For checking a file before it is stored: the subgroup and site columns are checked but not
    turned into one Python string per row, which is most of the time a valid million-row frame
    takes to validate.

    Examples
    --------
    >>> df = pd.DataFrame({"y_true": [0, 1], "p": [0.2, 1.7]})
    >>> check_frame(df, task="binary", columns=Columns(y_score="p"))
    Traceback (most recent call last):
    ...
    evaluation.errors.EvaluationInputError: 1 problem found: column 'p': 1 value outside [0, 1] ...
    """
    _check(
        frame, task, columns, labels, positive_label, probability, subgroup_columns,
        site_column, extra_problems,
    )


def _check(
    frame: pd.DataFrame,
    task: str,
    columns: Columns,
    labels: Sequence[object] | None,
    positive_label: object,
    probability: bool,
    subgroup_columns: Sequence[str],
    site_column: str | None,
    extra_problems: Sequence[str],
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, tuple]:
    """Every check of ``validate_frame``: raise the problems, or return the reference, score
    and prediction arrays and the labels."""
    problems = list(extra_problems)
    if not isinstance(frame, pd.DataFrame):
        raise EvaluationInputError(
            [*problems, f"data: must be a pandas DataFrame. Got {type(frame).__name__} instead"]
        )
    if task not in TASKS:
        raise EvaluationInputError(
            [*problems, f"parameter task: must be one of {list(TASKS)}. Got {task!r} instead"]
        )
    present = [str(c) for c in frame.columns]
    wanted: list[tuple[str, str]] = [(columns.y_true, "reference standard, y_true")]
    if task == "binary":
        if columns.y_score is None:
            problems.append("columns: y_score is required for a binary task; name the score column")
        else:
            wanted.append((columns.y_score, "score, y_score"))
    elif task == "multiclass":
        if columns.y_pred is None and not columns.class_scores:
            problems.append(
                "columns: a multiclass task needs y_pred (predicted label) or class_scores "
                "(one probability column per class)"
            )
        if columns.y_pred is not None:
            wanted.append((columns.y_pred, "predicted label, y_pred"))
        wanted.extend(
            (col, f"probability of class {label!r}") for label, col in columns.class_scores
        )
    else:
        if columns.y_pred is None:
            problems.append(
                "columns: y_pred is required for a regression task; name the prediction column"
            )
        else:
            wanted.append((columns.y_pred, "prediction, y_pred"))
    if columns.id is not None:
        wanted.append((columns.id, "case id"))
    wanted.extend((col, "subgroup") for col in subgroup_columns)
    if site_column is not None:
        wanted.append((site_column, "site"))
    absent = [(name, role) for name, role in wanted if name not in frame.columns]
    problems.extend(_missing_column(name, role, present) for name, role in absent)
    if len(frame) == 0:
        problems.append("data: the data frame has no rows; provide at least one row per case")
    if absent or len(frame) == 0:
        raise EvaluationInputError(problems)

    if columns.id is not None:
        ids = frame[columns.id]
        duplicated = _duplicated_ids(ids)
        if duplicated.any():
            problems.append(
                f"column {columns.id!r}: {_plural(ids[duplicated].nunique(), 'id')} used more than "
                f"once ({_values(pd.unique(ids[duplicated]))}; "
                f"{_rows(frame.index[duplicated.to_numpy()])}); each case must appear once"
            )
        if ids.isna().any():
            problems.append(
                f"column {columns.id!r}: {_plural(int(ids.isna().sum()), 'missing id')} "
                f"({_rows(frame.index[ids.isna().to_numpy()])}); give every case an id"
            )

    for name in [*subgroup_columns, *([site_column] if site_column else [])]:
        missing = frame[name].isna()
        if missing.any():
            problems.append(
                f"column {name!r}: {_plural(int(missing.sum()), 'missing value')} "
                f"({_rows(frame.index[missing.to_numpy()])}); fill them in "
                "(e.g. 'unknown') or drop those rows"
            )

    y_true = y_score = y_pred = None
    if task == "binary":
        declared = tuple(labels) if labels is not None else (0, 1)
        if len(declared) != 2 or positive_label not in declared:
            problems.append(
                f"parameter labels: a binary task needs two labels including positive_label "
                f"{positive_label!r}. Got {list(declared)} instead"
            )
        else:
            codes = _labels(frame, columns.y_true, declared, problems)
            if codes is not None:
                y_true = codes == declared.index(positive_label)
                if y_true.all() or not y_true.any():
                    only = positive_label if y_true.all() else _other(declared, positive_label)
                    problems.append(
                        f"column {columns.y_true!r}: only one class present ({only!r} in all "
                        f"{len(frame)} rows); AUC, sensitivity and specificity need both "
                        "positive and negative cases"
                    )
        hint = "; rescale them or pass probability=False" if probability else ""
        y_score = _numeric(
            frame, columns.y_score, problems, unit_interval=probability, unit_hint=hint
        )
        final_labels = (
            (_other(declared, positive_label), positive_label) if len(declared) == 2 else ()
        )
    elif task == "multiclass":
        if labels is None:
            observed = pd.concat(
                [frame[columns.y_true]] + ([frame[columns.y_pred]] if columns.y_pred else [])
            ).dropna()
            declared = tuple(sorted(pd.unique(observed).tolist(), key=str))
        else:
            declared = tuple(labels)
        y_true = _labels(frame, columns.y_true, declared, problems)
        if columns.y_pred is not None:
            y_pred = _labels(frame, columns.y_pred, declared, problems)
        undeclared = [label for label, _ in columns.class_scores if label not in declared]
        if undeclared:
            problems.append(
                f"columns: class_scores name {_values(undeclared)} not among the labels "
                f"{list(declared)}; use the labels of the reference column"
            )
        elif columns.class_scores:
            if len(columns.class_scores) != len(declared):
                problems.append(
                    f"columns: class_scores has {len(columns.class_scores)} columns for "
                    f"{len(declared)} labels; give one probability column per label"
                )
            matrix = [
                _numeric(frame, col, problems, unit_interval=True)
                for _, col in sorted(columns.class_scores, key=lambda p: declared.index(p[0]))
            ]
            if all(m is not None for m in matrix):
                y_score = np.column_stack(matrix)
                if y_pred is None and len(columns.class_scores) == len(declared):
                    # Without a predicted-label column the prediction is the most probable class.
                    y_pred = np.argmax(y_score, axis=1)
        if y_true is not None and np.unique(y_true).size < 2:
            problems.append(
                f"column {columns.y_true!r}: only one class present "
                f"({declared[int(y_true[0])]!r} in all {len(frame)} rows); a multiclass "
                "evaluation needs at least two classes"
            )
        final_labels = declared
    else:
        y_true = _numeric(frame, columns.y_true, problems)
        y_pred = _numeric(frame, columns.y_pred, problems)
        final_labels = ()
    if problems:
        raise EvaluationInputError(problems)
    return y_true, y_score, y_pred, final_labels


def _other(pair: Sequence[object], label: object) -> object:
    return pair[1] if pair[0] == label else pair[0]
