"""Distribution drift between a reference frame and a production batch, with Evidently's tests.

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
``defaults="evidently"`` picks exactly what Evidently's ``DataDriftPreset`` picks instead (its
goodness-of-fit ``chisquare`` and ``z`` tests for small samples, and for numerical columns with at
most five distinct values ``chisquare``/``z`` or ``jensenshannon``).

Engines
-------
The scores are Evidently's statistics, computed by default directly with numpy and scipy
(:mod:`monitoring.drift_stats`): Evidently's preset took about 160 s on 1e6 rows x 25 columns
here, the same statistics about 1 s. ``engine="evidently"`` runs each column through Evidently's
``ValueDrift`` instead; it is the reference the tests hold the direct path to (scores equal to
1e-9), and the path for the rarer override methods the direct path does not implement.
:func:`drift_report_html` gives Evidently's own HTML report for the same columns and tests.
"""

from __future__ import annotations

import math
import operator
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from monitoring import drift_stats
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

#: Default-method policies: ours (two-sample chi-square for small categorical samples) or exactly
#: Evidently's ``DataDriftPreset`` choice.
DEFAULTS = ("registry", "evidently")

#: Engines: Evidently's statistics computed directly, or run through Evidently itself.
ENGINES = ("numpy", "evidently")


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
    # Numerical: finite values, sorted. Categorical: counts on ``labels`` (union of both sides,
    # sorted) and each present row's index into ``labels`` (kept for the Evidently engine).
    reference: np.ndarray | None = None
    current: np.ndarray | None = None
    labels: np.ndarray | None = None
    reference_counts: np.ndarray | None = None
    current_counts: np.ndarray | None = None
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
    defaults: str = "registry",
    engine: str = "numpy",
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
    defaults : {"registry", "evidently"}, default "registry"
        Default-method policy (see the module notes): ours, or exactly ``DataDriftPreset``'s.
    engine : {"numpy", "evidently"}, default "numpy"
        Compute Evidently's statistics directly (fast), or run them through Evidently (the
        reference; slower, imports Evidently). Override methods the direct path lacks
        (``anderson``, ``cramer_von_mises``, ``t_test``, ``ed``, ``hellinger``) always go through
        Evidently.

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
    plans = _checked_plans(
        reference,
        current,
        columns=columns,
        score_column=score_column,
        exclude=exclude,
        column_types=column_types,
        methods=methods,
        thresholds=thresholds,
        large_sample_rows=large_sample_rows,
        drift_share_level=drift_share_level,
        defaults=defaults,
        engine=engine,
    )
    tested = [p for p in plans if p.skipped_reason is None]
    direct = [p for p in tested if engine == "numpy" and p.method.name in _DIRECT]
    through_evidently = [p for p in tested if p not in direct]
    scores, verdicts, caveats = _run_direct(direct)
    engines = [f"numpy {np.__version__}"] if direct or not through_evidently else []
    if through_evidently:
        ev_scores, ev_verdicts, ev_engine, ev_caveats = _run_evidently(through_evidently)
        scores.update(ev_scores)
        verdicts.update(ev_verdicts)
        caveats += ev_caveats
        engines.append(ev_engine)
    entries = [_to_column_drift(p, scores.get(p.column), verdicts.get(p.column)) for p in plans]
    feature_entries = tuple(e for e in entries if e.role == "feature")
    prediction = next((e for e in entries if e.role == "prediction"), None)
    tested_features = [e for e in feature_entries if e.tested]
    drifted = tuple(e.column for e in tested_features if e.drifted)
    share = len(drifted) / len(tested_features) if tested_features else None
    return DriftResult(
        columns=feature_entries,
        prediction=prediction,
        n_reference_rows=len(reference),
        n_current_rows=len(current),
        n_features_tested=len(tested_features),
        n_features_drifted=len(drifted),
        n_features_skipped=len(feature_entries) - len(tested_features),
        drift_share=share,
        drift_share_level=drift_share_level,
        dataset_drifted=None if share is None else share >= drift_share_level,
        drifted_features=drifted,
        large_sample_rows=large_sample_rows,
        engine=" + ".join(engines),
        caveats=tuple(dict.fromkeys(caveats)),
    )


def drift_report_html(
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
    defaults: str = "registry",
) -> str:
    """Evidently's own ``DataDriftPreset`` HTML report for the columns :func:`detect_drift` tests.

    Same arguments as :func:`detect_drift`; the report uses the same column types, cleaned values,
    methods and thresholds, so its verdicts are those of :func:`detect_drift`. Skipped columns
    (absent, empty, untyped) are left out of the report. Slow on large batches (Evidently builds
    its plots for every column): meant for one batch a person opens, not for every upload.

    Returns
    -------
    str
        A standalone HTML document (scripts inlined; nothing is fetched when it is opened).

    Raises
    ------
    MonitoringInputError
        If an argument is invalid, or if no column can be tested.
    """
    plans = _checked_plans(
        reference,
        current,
        columns=columns,
        score_column=score_column,
        exclude=exclude,
        column_types=column_types,
        methods=methods,
        thresholds=thresholds,
        large_sample_rows=large_sample_rows,
        drift_share_level=drift_share_level,
        defaults=defaults,
        engine="evidently",
    )
    tested = [p for p in plans if p.skipped_reason is None]
    if not tested:
        raise MonitoringInputError(
            [p.skipped_reason for p in plans] or ["no column to test"],
            summary="no column can be tested for drift",
        )
    _, Report, Dataset, DataDefinition, _ = _import_evidently()
    from evidently.presets import DataDriftPreset

    ref, cur, definition = _evidently_frames(tested, DataDefinition)
    preset = DataDriftPreset(
        columns=[p.column for p in tested],
        drift_share=drift_share_level,
        per_column_method={p.column: m for p in tested if (m := _evidently_method(p))},
        per_column_threshold={p.column: p.threshold for p in tested},
    )
    with warnings.catch_warnings():
        # Same statistics as detect_drift, whose warnings are reported there as caveats.
        warnings.simplefilter("ignore")
        snapshot = Report([preset]).run(
            Dataset.from_pandas(cur, data_definition=definition),
            Dataset.from_pandas(ref, data_definition=definition),
        )
        return snapshot.get_html_str(as_iframe=False)


def _checked_plans(
    reference,
    current,
    *,
    columns,
    score_column,
    exclude,
    column_types,
    methods,
    thresholds,
    large_sample_rows,
    drift_share_level,
    defaults,
    engine,
) -> list[_Plan]:
    """Check the arguments of detect_drift / drift_report_html, then plan each column."""
    column_types, methods, thresholds = column_types or {}, methods or {}, thresholds or {}
    _check_arguments(
        reference,
        current,
        columns=columns,
        score_column=score_column,
        column_types=column_types,
        methods=methods,
        thresholds=thresholds,
        large_sample_rows=large_sample_rows,
        drift_share_level=drift_share_level,
        defaults=defaults,
        engine=engine,
    )
    excluded = set(exclude) | ({score_column} if score_column else set())
    if columns is None:
        features = [str(c) for c in reference.columns if c not in excluded]
    else:
        features = [c for c in columns if c not in excluded]
    roles = [(name, "feature", column_types.get(name)) for name in features]
    if score_column is not None:
        roles.append((score_column, "prediction", column_types.get(score_column, NUMERICAL)))
    return [
        _plan_column(
            reference,
            current,
            name,
            role=role,
            declared_type=declared,
            method_name=methods.get(name),
            threshold=thresholds.get(name),
            large_sample_rows=large_sample_rows,
            defaults=defaults,
        )
        for name, role, declared in roles
    ]


def default_method(
    column_type: str,
    n_reference: int,
    *,
    large_sample_rows: int = LARGE_SAMPLE_ROWS,
    n_distinct: int | None = None,
    defaults: str = "registry",
):
    """Return the default :class:`DriftMethod` for a column type and reference size.

    ``n_distinct`` (distinct non-missing values over both samples) matters only for
    ``defaults="evidently"``, which follows Evidently 0.7.23's ``_get_default_stattest``.

    Examples
    --------
    >>> default_method("numerical", 500).name, default_method("numerical", 5000).name
    ('ks', 'wasserstein')
    >>> default_method("categorical", 500).name, default_method("categorical", 5000).name
    ('chi2_two_sample', 'jensenshannon')
    >>> default_method("categorical", 500, n_distinct=2, defaults="evidently").name
    'z'
    >>> default_method("numerical", 5000, n_distinct=4, defaults="evidently").name
    'jensenshannon'
    """
    large = n_reference > large_sample_rows
    if defaults == "evidently":
        few = n_distinct is not None and n_distinct <= 5
        if column_type == NUMERICAL and not few:
            return DRIFT_METHODS["wasserstein" if large else "ks"]
        if large:
            return DRIFT_METHODS["jensenshannon"]
        return DRIFT_METHODS["chisquare" if n_distinct is None or n_distinct > 2 else "z"]
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
        return (
            CATEGORICAL
            if _one_or_two_values(values.to_numpy(dtype="float64", na_value=np.nan))
            else NUMERICAL
        )
    return CATEGORICAL


def _one_or_two_values(values: np.ndarray) -> bool:
    # Two comparisons per row instead of a hash of every value (nunique): this runs on every
    # numerical column of every batch.
    present = values[~np.isnan(values)]
    if not len(present):
        return False
    others = present[present != present[0]]
    return not len(others) or bool(np.all(others == others[0]))


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
    defaults="registry",
    engine="numpy",
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
    if defaults not in DEFAULTS:
        problems.append(f"defaults must be one of {list(DEFAULTS)}. Got {defaults!r} instead")
    if engine not in ENGINES:
        problems.append(f"engine must be one of {list(ENGINES)}. Got {engine!r} instead")
    if problems:
        raise MonitoringInputError(problems)


def _label(value: Any) -> str:
    """A category as text, so 1, 1.0 and "1" from differently typed files compare equal."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _category_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Each row's index into the column's distinct labels (-1 for missing), and the labels."""
    # Hash the rows once (factorize) and label each distinct value, not each row.
    codes, uniques = pd.factorize(values)
    return codes, [_label(u) for u in uniques]


def _categorical_sample(plan: _Plan, ref_raw: pd.Series, cur_raw: pd.Series) -> None:
    ref_codes, ref_labels = _category_codes(ref_raw)
    cur_codes, cur_labels = _category_codes(cur_raw)
    plan.labels = np.array(sorted(set(ref_labels) | set(cur_labels)), dtype=object)
    position = {label: k for k, label in enumerate(plan.labels)}

    def on_union(codes: np.ndarray, labels: list[str]) -> np.ndarray:
        # Each present row's index into the union of labels (missing rows dropped).
        to_union = np.array([position[label] for label in labels], dtype=np.int64)
        return to_union[codes[codes >= 0]]

    plan.reference, plan.current = on_union(ref_codes, ref_labels), on_union(cur_codes, cur_labels)
    plan.reference_counts = np.bincount(plan.reference, minlength=len(plan.labels))
    plan.current_counts = np.bincount(plan.current, minlength=len(plan.labels))
    plan.n_reference, plan.n_current = len(plan.reference), len(plan.current)
    plan.missing_reference = len(ref_codes) - plan.n_reference
    plan.missing_current = len(cur_codes) - plan.n_current
    if plan.n_current:
        new = (plan.reference_counts == 0) & (plan.current_counts > 0)
        plan.new_categories = tuple(str(label) for label in plan.labels[new])
        plan.new_category_share = float(plan.current_counts[new].sum() / plan.n_current)


def _numerical_sample(values: pd.Series) -> tuple[np.ndarray | None, int, list[Any]]:
    """Sorted finite values, the count of missing ones (null and +/-inf, which Evidently drops
    too), and up to three non-numeric values (None when there are some)."""
    if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
        converted = pd.to_numeric(values, errors="coerce")
        if not pd.api.types.is_bool_dtype(values.dtype):
            bad = values[converted.isna() & values.notna()]
            if len(bad):
                return None, 0, list(bad.unique()[:3])
        values = converted
    array = values.to_numpy(dtype="float64", na_value=np.nan)
    finite = array[np.isfinite(array)]
    finite.sort()
    return finite, len(array) - len(finite), []


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
    defaults: str,
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
        plan.reference, plan.missing_reference, ref_bad = _numerical_sample(ref_raw)
        plan.current, plan.missing_current, cur_bad = _numerical_sample(cur_raw)
        if ref_bad or cur_bad:
            examples = ", ".join(repr(v) for v in (ref_bad + cur_bad)[:3])
            plan.skipped_reason = (
                f"column {name!r} is typed numerical but holds non-numeric values (e.g. {examples})"
            )
            return plan
        plan.n_reference, plan.n_current = len(plan.reference), len(plan.current)
    else:
        _categorical_sample(plan, ref_raw, cur_raw)
    _set_rates(plan, len(ref_raw), len(cur_raw))

    reasons = [
        f"column {name!r} has no rows in the {label}"
        if rows == 0
        else f"column {name!r} is entirely missing in the {label}"
        for label, n, rows in (
            ("reference", plan.n_reference, len(ref_raw)),
            ("current batch", plan.n_current, len(cur_raw)),
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
            plan.column_type,
            plan.n_reference,
            large_sample_rows=large_sample_rows,
            n_distinct=_n_distinct(plan) if defaults == "evidently" else None,
            defaults=defaults,
        )
    plan.threshold = float(threshold) if threshold is not None else plan.method.default_threshold

    if plan.method.name == CHI2_TWO_SAMPLE:
        table = np.vstack(_counts(plan))
        expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
        if table.shape[1] >= 2 and expected.min() < 5:
            plan.caveats.append(
                "chi-square approximation is rough: some expected counts are below 5"
            )
    if plan.method.name == "chisquare" and plan.new_categories:
        plan.caveats.append(
            "goodness-of-fit chi-square: a category absent from the reference has an expected "
            "count of zero, so the statistic is infinite and the p-value 0"
        )
    if plan.method.name in {"ks", "wasserstein"} and plan.n_reference < 30:
        plan.caveats.append(f"only {plan.n_reference} reference values: the test has little power")
    return plan


def _n_distinct(plan: _Plan) -> int:
    if plan.column_type == CATEGORICAL:
        return int(np.count_nonzero(plan.reference_counts + plan.current_counts))
    return len(np.union1d(plan.reference, plan.current))


def _counts(plan: _Plan) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each category (each distinct value for numerical columns) on both sides."""
    if plan.column_type == CATEGORICAL:
        return plan.reference_counts, plan.current_counts
    return drift_stats.value_counts(plan.reference, plan.current)


def _percents(plan: _Plan, *, fill_zeroes: bool) -> tuple[np.ndarray, np.ndarray]:
    if plan.column_type == CATEGORICAL:
        return drift_stats.category_percents(*_counts(plan), fill_zeroes=fill_zeroes)
    return drift_stats.numerical_percents(plan.reference, plan.current, fill_zeroes=fill_zeroes)


# Methods computed directly: score function and Evidently's verdict rule for each.
_DIRECT = {
    "ks": (lambda p: drift_stats.ks_p_value(p.reference, p.current), operator.le),
    "wasserstein": (
        lambda p: drift_stats.wasserstein_normed(p.reference, p.current),
        operator.ge,
    ),
    "jensenshannon": (
        lambda p: drift_stats.jensen_shannon(*_percents(p, fill_zeroes=False)),
        operator.ge,
    ),
    "psi": (lambda p: drift_stats.psi(*_percents(p, fill_zeroes=True)), operator.ge),
    "kl_div": (lambda p: drift_stats.kl_divergence(*_percents(p, fill_zeroes=True)), operator.ge),
    "chisquare": (lambda p: drift_stats.chisquare_p_value(*_counts(p)), operator.lt),
    "z": (lambda p: drift_stats.z_test_p_value(*_counts(p)), operator.lt),
    CHI2_TWO_SAMPLE: (lambda p: drift_stats.chi2_two_sample_p_value(*_counts(p)), operator.lt),
}


def _run_direct(plans: list[_Plan]) -> tuple[dict[str, float], dict[str, bool], list[str]]:
    scores, verdicts = {}, {}
    with warnings.catch_warnings(record=True) as caught:
        # As on the Evidently path: numerical warnings are facts about this batch, kept as
        # caveats. Not thread-safe (the warnings filter is process-wide).
        warnings.simplefilter("always")
        for plan in plans:
            score_of, drifts = _DIRECT[plan.method.name]
            scores[plan.column] = score_of(plan)
            verdicts[plan.column] = bool(drifts(scores[plan.column], plan.threshold))
    return scores, verdicts, [f"{w.category.__name__}: {w.message}" for w in caught]


def _set_rates(plan: _Plan, n_ref_rows: int, n_cur_rows: int) -> None:
    plan.missing_rate_reference = plan.missing_reference / n_ref_rows if n_ref_rows else None
    plan.missing_rate_current = plan.missing_current / n_cur_rows if n_cur_rows else None


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
) -> tuple[dict[str, float], dict[str, bool], str, list[str]]:
    evidently, Report, Dataset, DataDefinition, ValueDrift = _import_evidently()
    engine = f"evidently {evidently.__version__}"
    if not plans:
        return {}, {}, engine, []
    ref, cur, definition = _evidently_frames(plans, DataDefinition)
    metrics = [
        ValueDrift(column=p.column, method=_evidently_method(p), threshold=p.threshold)
        for p in plans
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
    caveats = [f"{w.category.__name__}: {w.message}" for w in caught]
    return scores, verdicts, engine, caveats


def _evidently_frames(plans: list[_Plan], DataDefinition):
    """Cleaned values of each planned column as Evidently input (shorter columns NaN-padded,
    which Evidently drops again), with the column types of the plan."""

    def values(plan: _Plan, side: np.ndarray) -> pd.Series:
        if plan.column_type == CATEGORICAL:
            return pd.Series(plan.labels[side], dtype=object)
        return pd.Series(side)

    ref = pd.DataFrame({p.column: values(p, p.reference) for p in plans})
    cur = pd.DataFrame({p.column: values(p, p.current) for p in plans})
    definition = DataDefinition(
        numerical_columns=[p.column for p in plans if p.column_type == NUMERICAL],
        categorical_columns=[p.column for p in plans if p.column_type == CATEGORICAL],
    )
    return ref, cur, definition


def _evidently_method(plan: _Plan) -> str | None:
    # Evidently's own default may pick a categorical test (z, chisquare) for a numerical column
    # with few values, but refuses that method when it is named; leave it to pick it again.
    if plan.column_type in plan.method.column_types:
        return plan.method.name
    return None


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
