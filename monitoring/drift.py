"""Distribution drift between a reference frame and a production batch, computed with Evidently.

The reference is the validation data of the deployed model version; the current frame is one
batch of what the model saw in production. Each feature and the model's score column are tested
separately with an explicit method, and the result is plain typed data (no Evidently objects), so
the registry can store it, chart it and raise alerts on it.

Default methods
---------------
Evidently's own defaults switch on the reference size, and so do ours, with one change:

========================  ==============================  ===================================
column                    reference <= 1,000 rows          reference > 1,000 rows
========================  ==============================  ===================================
numerical                 ``ks``: two-sample K-S p-value   ``wasserstein``: Wasserstein distance
                          (drift when p <= 0.05)           normed by the reference std (>= 0.1)
categorical               ``chi2_two_sample``: chi-square  ``jensenshannon``: Jensen-Shannon
                          test of homogeneity p-value      distance, natural log (>= 0.1)
                          (drift when p < 0.05)
========================  ==============================  ===================================

Why: at a few hundred rows a p-value test is needed to keep the false-alarm rate at its nominal
level; at large sizes every p-value test flags clinically meaningless differences, so a distance
with a fixed threshold is used instead (Evidently's reasoning too). For small categorical samples
Evidently's default ``chisquare`` is a goodness-of-fit test that treats the reference proportions
as exact; it raised false alarms in 22-77 % of same-distribution draws on this machine
(``../shared/reference/stack-notes.md``). Evidently 0.7 ships no two-sample test for more than two
categories (its ``g_test`` is goodness-of-fit too, ``TVD`` runs a 1,000-round permutation in pure
Python), so we register a chi-square test of homogeneity on the 2 x k contingency table under the
name ``chi2_two_sample``; it keeps about the nominal 5 % false-alarm rate.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from monitoring._plain import PlainData
from monitoring.errors import MonitoringInputError

NUMERICAL = "numerical"
CATEGORICAL = "categorical"
COLUMN_TYPES = (NUMERICAL, CATEGORICAL)

P_VALUE = "p_value"
DISTANCE = "distance"

#: Name under which our two-sample chi-square test is registered in Evidently's registry.
CHI2_TWO_SAMPLE = "chi2_two_sample"

#: Above this many non-missing reference values, default methods switch from p-values to distances.
LARGE_SAMPLE_ROWS = 1000


@dataclass(frozen=True)
class DriftMethod:
    """A drift test we accept, with the facts Evidently registers for it.

    Attributes
    ----------
    name : str
        Evidently's registered name (passed to ``ValueDrift(method=...)``).
    label : str
        Evidently's display name, e.g. ``"K-S p_value"``.
    score_kind : {"p_value", "distance"}
        A p-value flags drift when small, a distance when large.
    default_threshold : float
        Evidently's default threshold for the method.
    column_types : tuple of str
        Column types the method applies to.
    """

    name: str
    label: str
    score_kind: str
    default_threshold: float
    column_types: tuple[str, ...]


def _method(name, label, kind, threshold, *types):
    return name, DriftMethod(name, label, kind, threshold, types)


#: Methods accepted as overrides. Labels and thresholds mirror Evidently 0.7's registry (a test
#: checks them against it). Left out on purpose: ``mannw`` (Evidently runs it one-sided),
#: ``fisher_exact`` (needs equal sample sizes), ``g_test`` (goodness-of-fit that rejects unequal
#: sample sizes), ``TVD`` (slow permutation), ``es`` and ``empirical_mmd`` (slow, rarely used).
DRIFT_METHODS: Mapping[str, DriftMethod] = MappingProxyType(
    dict(
        [
            _method("ks", "K-S p_value", P_VALUE, 0.05, NUMERICAL),
            _method("wasserstein", "Wasserstein distance (normed)", DISTANCE, 0.1, NUMERICAL),
            _method("anderson", "Anderson-Darling", P_VALUE, 0.1, NUMERICAL),
            _method("cramer_von_mises", "Cramer-von Mises", P_VALUE, 0.1, NUMERICAL),
            _method("t_test", "t_test", P_VALUE, 0.05, NUMERICAL),
            _method("ed", "Energy-distance", DISTANCE, 0.1, NUMERICAL),
            _method("psi", "PSI", DISTANCE, 0.1, NUMERICAL, CATEGORICAL),
            _method("kl_div", "Kullback-Leibler divergence", DISTANCE, 0.1, NUMERICAL, CATEGORICAL),
            _method(
                "jensenshannon", "Jensen-Shannon distance", DISTANCE, 0.1, NUMERICAL, CATEGORICAL
            ),
            _method("hellinger", "Hellinger distance", DISTANCE, 0.1, NUMERICAL, CATEGORICAL),
            _method("z", "Z-test p_value", P_VALUE, 0.05, CATEGORICAL),
            _method("chisquare", "chi-square p_value", P_VALUE, 0.05, CATEGORICAL),
            _method(CHI2_TWO_SAMPLE, "chi-square two-sample p_value", P_VALUE, 0.05, CATEGORICAL),
        ]
    )
)


@dataclass(frozen=True)
class ColumnDrift(PlainData):
    """Drift of one column between the reference and the current batch.

    Attributes
    ----------
    column : str
        Column name.
    role : {"feature", "prediction"}
        ``"prediction"`` for the model's score column, reported apart from the features.
    column_type : {"numerical", "categorical"} or None
        Type used for the test (None when the column could not be typed, e.g. absent).
    type_source : {"inferred", "declared"}
        Whether the type was inferred from the data or given by the caller.
    method, method_label, score_kind : str or None
        The test used (Evidently's name and display name) and whether its score is a p-value or a
        distance. None when the column was skipped.
    score, threshold : float or None
        The test's score and the threshold it was compared with.
    drifted : bool or None
        Evidently's verdict; None when the column was skipped.
    n_reference, n_current : int
        Non-missing values that entered the test.
    missing_reference, missing_current : int
        Missing values (null, and for numerical columns also +/-inf, which Evidently drops).
    missing_rate_reference, missing_rate_current : float or None
        Missing values over rows (None for an empty frame).
    new_categories : tuple of str
        Categories present in the current batch and absent from the reference.
    new_category_share : float or None
        Share of the current non-missing values that fall into a new category.
    skipped_reason : str or None
        Why the column was not tested (absent, empty, all missing, wrong type).
    caveats : tuple of str
        Facts that weaken the test without preventing it.
    """

    column: str
    role: str
    column_type: str | None
    type_source: str
    method: str | None
    method_label: str | None
    score_kind: str | None
    score: float | None
    threshold: float | None
    drifted: bool | None
    n_reference: int
    n_current: int
    missing_reference: int
    missing_current: int
    missing_rate_reference: float | None
    missing_rate_current: float | None
    new_categories: tuple[str, ...] = ()
    new_category_share: float | None = None
    skipped_reason: str | None = None
    caveats: tuple[str, ...] = ()

    @property
    def tested(self) -> bool:
        """True when a drift test ran on the column."""
        return self.skipped_reason is None


@dataclass(frozen=True)
class DriftResult(PlainData):
    """Drift of a batch: per feature, for the score column, and the share of drifted features.

    Attributes
    ----------
    columns : tuple of ColumnDrift
        One entry per feature, in the order requested.
    prediction : ColumnDrift or None
        The score column, when one was given; not counted in the drift share.
    n_reference_rows, n_current_rows : int
        Rows in each frame.
    n_features_tested, n_features_drifted, n_features_skipped : int
        Counts over the features.
    drift_share : float or None
        Drifted features over tested features; None when no feature could be tested.
    drift_share_level : float
        Share at or above which the batch as a whole is called drifted.
    dataset_drifted : bool or None
        ``drift_share >= drift_share_level``; None when no feature was tested.
    drifted_features : tuple of str
        Names of drifted features.
    large_sample_rows : int
        Reference size above which default methods switch from p-values to distances.
    engine : str
        Library and version that computed the scores.
    caveats : tuple of str
        Warnings raised while computing (kept here, not lost in logs).
    """

    columns: tuple[ColumnDrift, ...]
    prediction: ColumnDrift | None
    n_reference_rows: int
    n_current_rows: int
    n_features_tested: int
    n_features_drifted: int
    n_features_skipped: int
    drift_share: float | None
    drift_share_level: float
    dataset_drifted: bool | None
    drifted_features: tuple[str, ...]
    large_sample_rows: int
    engine: str
    caveats: tuple[str, ...] = ()

    def column(self, name: str) -> ColumnDrift:
        """Return the drift entry of feature or score column ``name``.

        Raises
        ------
        KeyError
            If ``name`` was not part of the analysis.
        """
        for entry in (*self.columns, *((self.prediction,) if self.prediction else ())):
            if entry.column == name:
                return entry
        raise KeyError(f"column {name!r} is not part of this drift result")


@dataclass
class _Plan:
    """Everything decided about one column before Evidently runs (internal, mutable)."""

    column: str
    role: str
    column_type: str | None
    type_source: str
    reference: pd.Series | None = None
    current: pd.Series | None = None
    n_reference: int = 0
    n_current: int = 0
    missing_reference: int = 0
    missing_current: int = 0
    missing_rate_reference: float | None = None
    missing_rate_current: float | None = None
    new_categories: tuple[str, ...] = ()
    new_category_share: float | None = None
    method: DriftMethod | None = None
    threshold: float | None = None
    skipped_reason: str | None = None
    caveats: list[str] = field(default_factory=list)


def detect_drift(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    score_column: str | None = None,
    exclude: Iterable[str] = (),
    column_types: Mapping[str, str] | None = None,
    methods: Mapping[str, str] | None = None,
    thresholds: Mapping[str, float] | None = None,
    large_sample_rows: int = LARGE_SAMPLE_ROWS,
    drift_share_level: float = 0.5,
) -> DriftResult:
    """Test each feature and the score column for drift between ``reference`` and ``current``.

    Parameters
    ----------
    reference : pandas.DataFrame of shape (n_reference, n_columns)
        Validation data of the deployed model version.
    current : pandas.DataFrame of shape (n_current, n_columns)
        One production batch.
    columns : sequence of str, optional
        Features to test; default: every column of ``reference`` except ``score_column`` and
        ``exclude``. A requested column absent from either frame is reported as skipped.
    score_column : str, optional
        The model's output score; tested as numerical and reported as ``prediction``.
    exclude : iterable of str
        Columns never tested (record ids, labels, site, timestamps).
    column_types : mapping of str to {"numerical", "categorical"}, optional
        Overrides the inferred type of a column. Inference: bool, text and category columns are
        categorical; numeric columns are numerical unless they hold at most two distinct values in
        the reference (a coded flag such as 0/1), which are categorical.
    methods : mapping of str to str, optional
        Per-column method override, by Evidently name (see :data:`DRIFT_METHODS`).
    thresholds : mapping of str to float, optional
        Per-column threshold override; otherwise the method's default.
    large_sample_rows : int, default 1000
        Non-missing reference values above which default methods switch from p-value tests to
        distances (Evidently's switch point).
    drift_share_level : float, default 0.5
        Share of drifted features at or above which ``dataset_drifted`` is True (Evidently's
        ``drift_share`` default).

    Returns
    -------
    DriftResult
        Typed per-column results; ``to_dict()`` gives plain JSON data.

    Raises
    ------
    MonitoringInputError
        If an argument is invalid (not a data frame, unknown type or method, a method that does
        not fit the column type, a threshold that is not a positive number), listing every
        problem found.

    Notes
    -----
    Missing values are counted and dropped before testing (Evidently drops them too, with
    +/-inf for numerical columns). A column that is absent, empty or entirely missing on either
    side is skipped with a reason instead of failing the batch. Categories seen only in the
    current batch are listed; the categorical tests compare over the union of categories, so
    a new category raises the score.

    References
    ----------
    .. [1] Evidently 0.7 documentation, "Data drift algorithm" and "Customize data drift".
    .. [2] Rabanser, Guennemann, Lipton, "Failing Loudly: An Empirical Study of Methods for
       Detecting Dataset Shift", NeurIPS 2019 (univariate two-sample tests per feature).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ref = pd.DataFrame({"age": rng.normal(60, 10, 500)})
    >>> cur = pd.DataFrame({"age": rng.normal(70, 10, 500)})
    >>> result = detect_drift(ref, cur)  # doctest: +SKIP
    >>> result.column("age").method, result.column("age").drifted  # doctest: +SKIP
    ('ks', True)
    """
    _check_arguments(
        reference,
        current,
        columns=columns,
        score_column=score_column,
        column_types=column_types or {},
        methods=methods or {},
        thresholds=thresholds or {},
        large_sample_rows=large_sample_rows,
        drift_share_level=drift_share_level,
    )
    column_types = dict(column_types or {})
    methods = dict(methods or {})
    thresholds = dict(thresholds or {})
    excluded = set(exclude) | ({score_column} if score_column else set())
    if columns is None:
        features = [str(c) for c in reference.columns if c not in excluded]
    else:
        features = [c for c in columns if c not in excluded]

    plans = [
        _plan_column(
            reference,
            current,
            name,
            role="feature",
            declared_type=column_types.get(name),
            method_name=methods.get(name),
            threshold=thresholds.get(name),
            large_sample_rows=large_sample_rows,
        )
        for name in features
    ]
    if score_column is not None:
        plans.append(
            _plan_column(
                reference,
                current,
                score_column,
                role="prediction",
                declared_type=column_types.get(score_column, NUMERICAL),
                method_name=methods.get(score_column),
                threshold=thresholds.get(score_column),
                large_sample_rows=large_sample_rows,
            )
        )

    scores, verdicts, engine, caveats = _run_evidently(
        [p for p in plans if p.skipped_reason is None]
    )
    entries = [_to_column_drift(p, scores.get(p.column), verdicts.get(p.column)) for p in plans]
    feature_entries = tuple(e for e in entries if e.role == "feature")
    prediction = next((e for e in entries if e.role == "prediction"), None)
    tested = [e for e in feature_entries if e.tested]
    drifted = tuple(e.column for e in tested if e.drifted)
    share = len(drifted) / len(tested) if tested else None
    return DriftResult(
        columns=feature_entries,
        prediction=prediction,
        n_reference_rows=len(reference),
        n_current_rows=len(current),
        n_features_tested=len(tested),
        n_features_drifted=len(drifted),
        n_features_skipped=len(feature_entries) - len(tested),
        drift_share=share,
        drift_share_level=drift_share_level,
        dataset_drifted=None if share is None else share >= drift_share_level,
        drifted_features=drifted,
        large_sample_rows=large_sample_rows,
        engine=engine,
        caveats=caveats,
    )


def default_method(
    column_type: str, n_reference: int, *, large_sample_rows: int = LARGE_SAMPLE_ROWS
):
    """Return the default :class:`DriftMethod` for a column type and reference size.

    Examples
    --------
    >>> default_method("numerical", 500).name, default_method("numerical", 5000).name
    ('ks', 'wasserstein')
    >>> default_method("categorical", 500).name, default_method("categorical", 5000).name
    ('chi2_two_sample', 'jensenshannon')
    """
    large = n_reference > large_sample_rows
    if column_type == NUMERICAL:
        return DRIFT_METHODS["wasserstein" if large else "ks"]
    return DRIFT_METHODS["jensenshannon" if large else CHI2_TWO_SAMPLE]


def infer_column_type(values: pd.Series) -> str | None:
    """Infer ``"numerical"`` or ``"categorical"`` from a column's dtype and values.

    Returns None for datetime columns, which are not tested for drift.

    Examples
    --------
    >>> import pandas as pd
    >>> infer_column_type(pd.Series([1.5, 2.0, 3.2])), infer_column_type(pd.Series([0, 1, 1]))
    ('numerical', 'categorical')
    >>> infer_column_type(pd.Series(["a", "b"]))
    'categorical'
    """
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return None
    if pd.api.types.is_bool_dtype(dtype):
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(dtype):
        # A numeric column with at most two values is a coded flag (sex 0/1, smoker 0/1):
        # a distribution distance over two points is better read as a change in proportion.
        return CATEGORICAL if 0 < values.dropna().nunique() <= 2 else NUMERICAL
    return CATEGORICAL


def chi2_two_sample(reference: pd.Series, current: pd.Series) -> float:
    """P-value of the chi-square test of homogeneity between two categorical samples.

    The 2 x k table holds the counts of each category (union of both samples) in the reference
    and current samples; no continuity correction. With a single category in both samples the
    distributions are identical and the p-value is 1.

    Parameters
    ----------
    reference, current : pandas.Series
        Category labels, missing values already removed.

    Returns
    -------
    float
        Two-sample p-value.

    References
    ----------
    .. [1] Agresti, "Categorical Data Analysis", 3rd ed., section 3.2 (tests of homogeneity).

    Examples
    --------
    >>> import pandas as pd
    >>> round(chi2_two_sample(pd.Series(list("aabb")), pd.Series(list("aabb"))), 6)
    1.0
    """
    from scipy.stats import chi2_contingency

    table = _contingency(reference, current)
    if table.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(table, correction=False).pvalue)


def _contingency(reference: pd.Series, current: pd.Series) -> np.ndarray:
    ref_counts = reference.value_counts()
    cur_counts = current.value_counts()
    keys = ref_counts.index.union(cur_counts.index)
    return np.vstack(
        [
            ref_counts.reindex(keys, fill_value=0).to_numpy(),
            cur_counts.reindex(keys, fill_value=0).to_numpy(),
        ]
    )


def _chi2_two_sample_stattest(reference, current, feature_type, threshold):
    # Signature required by Evidently's stat-test registry: (ref, cur, type, threshold) ->
    # (score, drifted). Evidently has already dropped missing values.
    p_value = chi2_two_sample(reference, current)
    return p_value, p_value < threshold


def _check_arguments(
    reference,
    current,
    *,
    columns,
    score_column,
    column_types,
    methods,
    thresholds,
    large_sample_rows,
    drift_share_level,
) -> None:
    problems: list[str] = []
    for name, frame in (("reference", reference), ("current", current)):
        if not isinstance(frame, pd.DataFrame):
            problems.append(
                f"{name} must be a pandas DataFrame. Got {type(frame).__name__} instead"
            )
    if problems:
        raise MonitoringInputError(problems)
    if columns is not None and (
        isinstance(columns, str) or not all(isinstance(c, str) for c in columns)
    ):
        problems.append("columns must be a sequence of column names (str)")
    if score_column is not None and not isinstance(score_column, str):
        problems.append(f"score_column must be a column name (str). Got {score_column!r} instead")
    for column, declared in column_types.items():
        if declared not in COLUMN_TYPES:
            problems.append(
                f"column_types[{column!r}] must be 'numerical' or 'categorical'. "
                f"Got {declared!r} instead"
            )
    for column, name in methods.items():
        method = DRIFT_METHODS.get(name)
        if method is None:
            problems.append(
                f"methods[{column!r}] must be one of {sorted(DRIFT_METHODS)}. Got {name!r} instead"
            )
        elif column_types.get(column) in set(COLUMN_TYPES) - set(method.column_types):
            problems.append(
                f"methods[{column!r}]: {name!r} does not apply to {column_types[column]} columns "
                f"(it applies to {', '.join(method.column_types)})"
            )
    for column, value in thresholds.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value <= 0
        ):
            problems.append(
                f"thresholds[{column!r}] must be a positive number. Got {value!r} instead"
            )
    if (
        isinstance(large_sample_rows, bool)
        or not isinstance(large_sample_rows, int)
        or large_sample_rows < 1
    ):
        problems.append(
            f"large_sample_rows must be a positive integer. Got {large_sample_rows!r} instead"
        )
    if not isinstance(drift_share_level, int | float) or not 0 < drift_share_level <= 1:
        problems.append(f"drift_share_level must be in (0, 1]. Got {drift_share_level!r} instead")
    if problems:
        raise MonitoringInputError(problems)


def _missing_mask(values: pd.Series, column_type: str | None) -> pd.Series:
    mask = values.isna()
    if (
        column_type == NUMERICAL
        and pd.api.types.is_numeric_dtype(values.dtype)
        and not pd.api.types.is_bool_dtype(values.dtype)
    ):
        # Evidently drops +/-inf with the nulls; count them as missing so the rates add up.
        mask = mask | np.isinf(values.astype("float64", copy=False))
    return mask


def _as_text(values: pd.Series) -> pd.Series:
    """Categories as text, so 1, 1.0 and "1" from differently typed files compare equal."""

    def label(value: Any) -> str:
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value)

    # Convert each distinct value once, not each row: a batch has many rows, few categories.
    codes, uniques = pd.factorize(values)
    texts = np.array([label(u) for u in uniques] + [np.nan], dtype=object)
    return pd.Series(texts[codes], index=values.index, dtype=object, name=values.name)


def _plan_column(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    name: str,
    *,
    role: str,
    declared_type: str | None,
    method_name: str | None,
    threshold: float | None,
    large_sample_rows: int,
) -> _Plan:
    in_reference = name in reference.columns
    in_current = name in current.columns
    plan = _Plan(
        column=name,
        role=role,
        column_type=declared_type,
        type_source="declared" if declared_type else "inferred",
    )
    if not in_reference or not in_current:
        where = " and ".join(
            label
            for label, present in (("reference", in_reference), ("current batch", in_current))
            if not present
        )
        plan.skipped_reason = f"column {name!r} is absent from the {where}"
        return plan

    ref_raw, cur_raw = reference[name], current[name]
    if plan.column_type is None:
        basis = ref_raw if ref_raw.notna().any() else cur_raw
        plan.column_type = infer_column_type(basis)
    if plan.column_type is None:
        plan.skipped_reason = (
            f"column {name!r} holds dates or durations, which are not tested for drift"
        )
        plan.missing_reference = int(ref_raw.isna().sum())
        plan.missing_current = int(cur_raw.isna().sum())
        _set_rates(plan, len(ref_raw), len(cur_raw))
        return plan

    if plan.column_type == NUMERICAL:
        ref_values, ref_bad = _to_numeric(ref_raw)
        cur_values, cur_bad = _to_numeric(cur_raw)
        if ref_bad or cur_bad:
            examples = ", ".join(repr(v) for v in (ref_bad + cur_bad)[:3])
            plan.skipped_reason = (
                f"column {name!r} is typed numerical but holds non-numeric values (e.g. {examples})"
            )
            return plan
    else:
        ref_values, cur_values = _as_text(ref_raw), _as_text(cur_raw)

    ref_missing = _missing_mask(ref_values, plan.column_type)
    cur_missing = _missing_mask(cur_values, plan.column_type)
    plan.missing_reference = int(ref_missing.sum())
    plan.missing_current = int(cur_missing.sum())
    plan.n_reference = len(ref_values) - plan.missing_reference
    plan.n_current = len(cur_values) - plan.missing_current
    _set_rates(plan, len(ref_values), len(cur_values))

    if plan.column_type == CATEGORICAL and plan.n_current:
        ref_present = ref_values[~ref_missing]
        cur_present = cur_values[~cur_missing]
        new = sorted(set(cur_present.unique()) - set(ref_present.unique()))
        plan.new_categories = tuple(new)
        plan.new_category_share = float(cur_present.isin(new).mean()) if new else 0.0

    reasons = [
        f"column {name!r} has no rows in the {label}"
        if rows == 0
        else f"column {name!r} is entirely missing in the {label}"
        for label, n, rows in (
            ("reference", plan.n_reference, len(ref_values)),
            ("current batch", plan.n_current, len(cur_values)),
        )
        if n == 0
    ]
    if reasons:
        plan.skipped_reason = "; ".join(reasons)
        return plan

    if method_name is not None:
        plan.method = DRIFT_METHODS[method_name]
        if plan.column_type not in plan.method.column_types:
            plan.skipped_reason = (
                f"method {method_name!r} does not apply to {plan.column_type} column {name!r}"
            )
            return plan
    else:
        plan.method = default_method(
            plan.column_type, plan.n_reference, large_sample_rows=large_sample_rows
        )
    plan.threshold = float(threshold) if threshold is not None else plan.method.default_threshold

    plan.reference = ref_values.mask(ref_missing) if plan.column_type == NUMERICAL else ref_values
    plan.current = cur_values.mask(cur_missing) if plan.column_type == NUMERICAL else cur_values
    if plan.method.name == CHI2_TWO_SAMPLE:
        table = _contingency(plan.reference.dropna(), plan.current.dropna())
        expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
        if table.shape[1] >= 2 and expected.min() < 5:
            plan.caveats.append(
                "chi-square approximation is rough: some expected counts are below 5"
            )
    if plan.method.name in {"ks", "wasserstein"} and plan.n_reference < 30:
        plan.caveats.append(f"only {plan.n_reference} reference values: the test has little power")
    return plan


def _set_rates(plan: _Plan, n_ref_rows: int, n_cur_rows: int) -> None:
    plan.missing_rate_reference = plan.missing_reference / n_ref_rows if n_ref_rows else None
    plan.missing_rate_current = plan.missing_current / n_cur_rows if n_cur_rows else None


def _to_numeric(values: pd.Series) -> tuple[pd.Series, list[Any]]:
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("float64"), []
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.astype("float64"), []
    converted = pd.to_numeric(values, errors="coerce")
    bad = values[converted.isna() & values.notna()]
    return converted.astype("float64"), list(bad.unique()[:3])


def _import_evidently():
    """Import the Evidently pieces we use, silencing the warnings its import is known to raise."""
    with warnings.catch_warnings():
        # Evidently 0.7.23 touches numpy.core (deprecated in numpy 2) and pulls in litestar's
        # deprecated Dependency helpers at import; neither affects the statistics.
        warnings.filterwarnings(
            "ignore", message=r"numpy\.core is deprecated", category=DeprecationWarning
        )
        warnings.filterwarnings(
            "ignore",
            message=r"(Call to|Use of) deprecated (function|class) '(Dependency|DependencyKwarg)'",
            category=DeprecationWarning,
        )
        import evidently
        from evidently import DataDefinition, Dataset, Report
        from evidently.legacy.calculations.stattests.registry import (
            StatTest,
            StatTestNotFoundError,
            get_registered_stattest,
            register_stattest,
        )
        from evidently.legacy.core import ColumnType
        from evidently.metrics import ValueDrift

    try:
        get_registered_stattest(CHI2_TWO_SAMPLE, ColumnType.Categorical)
    except StatTestNotFoundError:
        # Evidently resolves ValueDrift(method=...) by name through its registry; registering is
        # idempotent (same name, same function) and is how Evidently documents custom tests.
        method = DRIFT_METHODS[CHI2_TWO_SAMPLE]
        register_stattest(
            StatTest(
                name=method.name,
                display_name=method.label,
                allowed_feature_types=[ColumnType.Categorical],
                default_threshold=method.default_threshold,
            ),
            _chi2_two_sample_stattest,
        )
    return evidently, Report, Dataset, DataDefinition, ValueDrift


def _run_evidently(
    plans: list[_Plan],
) -> tuple[dict[str, float], dict[str, bool], str, tuple[str, ...]]:
    evidently, Report, Dataset, DataDefinition, ValueDrift = _import_evidently()
    engine = f"evidently {evidently.__version__}"
    if not plans:
        return {}, {}, engine, ()
    ref = pd.DataFrame({p.column: p.reference.reset_index(drop=True) for p in plans})
    cur = pd.DataFrame({p.column: p.current.reset_index(drop=True) for p in plans})
    definition = DataDefinition(
        numerical_columns=[p.column for p in plans if p.column_type == NUMERICAL],
        categorical_columns=[p.column for p in plans if p.column_type == CATEGORICAL],
    )
    metrics = [
        ValueDrift(column=p.column, method=p.method.name, threshold=p.threshold) for p in plans
    ]
    with warnings.catch_warnings(record=True) as caught:
        # Numerical warnings from the statistics (e.g. a goodness-of-fit test meeting a zero
        # expected count) are facts about this batch: keep them as caveats rather than lose them
        # in a log or let them abort the analysis. Not thread-safe (the warnings filter is
        # process-wide), like every use of catch_warnings.
        warnings.simplefilter("always")
        snapshot = Report(metrics, include_tests=True).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
    data = snapshot.dict()
    scores = {m["config"]["column"]: float(m["value"]) for m in _metric_entries(data)}
    verdicts = {
        t["metric_config"]["params"]["column"]: str(getattr(t["status"], "value", t["status"]))
        == "FAIL"
        for t in data.get("tests", [])
    }
    caveats = tuple(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    return scores, verdicts, engine, caveats


def _metric_entries(data: dict) -> list[dict]:
    entries = []
    for metric in data.get("metrics", []):
        config = metric.get("config", {})
        if str(config.get("type", "")).endswith("ValueDrift"):
            entries.append(metric)
    return entries


def _to_column_drift(plan: _Plan, score: float | None, drifted: bool | None) -> ColumnDrift:
    method = plan.method if plan.skipped_reason is None else None
    return ColumnDrift(
        column=plan.column,
        role=plan.role,
        column_type=plan.column_type,
        type_source=plan.type_source,
        method=method.name if method else None,
        method_label=method.label if method else None,
        score_kind=method.score_kind if method else None,
        score=None if score is None or not math.isfinite(score) else score,
        threshold=plan.threshold if method else None,
        drifted=drifted if method else None,
        n_reference=plan.n_reference,
        n_current=plan.n_current,
        missing_reference=plan.missing_reference,
        missing_current=plan.missing_current,
        missing_rate_reference=plan.missing_rate_reference,
        missing_rate_current=plan.missing_rate_current,
        new_categories=plan.new_categories,
        new_category_share=plan.new_category_share,
        skipped_reason=plan.skipped_reason,
        caveats=tuple(plan.caveats),
    )
