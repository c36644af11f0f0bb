"""Real-world performance of a binary classifier once labels arrive, compared with validation.

Labels (the reference standard: biopsy, follow-up, adjudication) usually arrive days or weeks
after the batch the model scored. :func:`join_labels` matches them to the batch by record id and
reports what did not match; :func:`binary_performance` measures sensitivity, specificity,
predictive values, accuracy and AUC with confidence intervals; :func:`compare_with_baseline` puts
them beside the validation baseline and the declared KPIs.

The metrics, their intervals (Wilson for proportions, DeLong for AUC), the KPI verdict rule and
the minimum sample to conclude on (:mod:`evaluation.sample_size`) are those of
:mod:`evaluation`, so a device is judged the same way before and after deployment;
this module adds what is specific to production batches: late labels, the validation baseline
and flat, JSON-ready results.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.binary import confusion_counts, roc_auc_score, threshold_metrics
from evaluation.intervals import proportion_interval
from evaluation.kpi import KpiSpec, judge_kpi
from evaluation.results import Interval, MetricResult
from evaluation.sample_size import insufficient_reason
from monitoring._plain import PlainData
from monitoring.errors import MonitoringInputError

__all__ = [
    "BINARY_METRICS",
    "COMPARATORS",
    "Interval",
    "KpiTarget",
    "KpiVerdict",
    "LabelJoin",
    "MeasuredPerformance",
    "MetricComparison",
    "MetricValue",
    "PerformanceComparison",
    "binary_performance",
    "compare_with_baseline",
    "join_labels",
]

#: Metrics computed by :func:`binary_performance`, in report order.
BINARY_METRICS = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "prevalence", "auc")

#: The comparators of :data:`evaluation.kpi.COMPARATORS` that take one threshold.
COMPARATORS = (">=", "<=")

#: At most this many example ids are kept in a join report; counts are always complete.
MAX_EXAMPLE_IDS = 20


@dataclass(frozen=True)
class MetricValue(PlainData):
    """One performance metric of a batch.

    Attributes
    ----------
    metric : str
        One of :data:`BINARY_METRICS`.
    value : float or None
        Point value; None when undefined (see ``undefined_reason``).
    lower, upper : float or None
        Confidence interval bounds (None when undefined or not available for an estimate).
    level : float
        Confidence level.
    method : str
        How the interval was computed (``"wilson"``, ``"delong"``) or, for an estimate, how the
        value was estimated (``"cbpe"``).
    numerator, denominator : float or None
        Counts behind a proportion (expected counts for an estimate).
    undefined_reason : str or None
        Why the value is None, e.g. "no positive cases".
    """

    metric: str
    value: float | None
    lower: float | None
    upper: float | None
    level: float
    method: str
    numerator: float | None = None
    denominator: float | None = None
    undefined_reason: str | None = None

    @classmethod
    def from_result(
        cls,
        result: MetricResult,
        *,
        level: float,
        method: str,
        numerator: float | None = None,
        denominator: float | None = None,
    ) -> MetricValue:
        """Flatten an :class:`evaluation.results.MetricResult`; ``method`` names the interval
        method of a metric left undefined (it then has no interval to take it from)."""
        iv = result.interval
        return cls(
            result.name,
            result.value,
            None if iv is None else iv.lower,
            None if iv is None else iv.upper,
            level if iv is None else iv.level,
            method if iv is None else iv.method,
            numerator,
            denominator,
            result.undefined_reason,
        )

    def to_result(self, n: int) -> MetricResult:
        """The same value as an :class:`evaluation.results.MetricResult` on ``n`` cases, as
        :func:`evaluation.kpi.judge_kpi` takes it (no interval for an estimate)."""
        interval = None
        if self.value is not None and self.lower is not None and self.upper is not None:
            interval = Interval(self.value, self.lower, self.upper, self.level, self.method)
        return MetricResult(self.metric, self.value, interval, int(n), self.undefined_reason)


@dataclass(frozen=True)
class MeasuredPerformance(PlainData):
    """Performance of a batch measured against its labels.

    Attributes
    ----------
    n, n_positive, n_negative : int
        Labelled cases used, and how many were positive / negative.
    threshold : float
        Operating threshold; a score ``>= threshold`` is a positive prediction.
    level : float
        Confidence level of the intervals.
    metrics : tuple of MetricValue
        One entry per name in :data:`BINARY_METRICS`.
    estimated : bool
        Always False here: these values come from labels (see :mod:`monitoring.estimation`).
    """

    n: int
    n_positive: int
    n_negative: int
    threshold: float
    level: float
    metrics: tuple[MetricValue, ...]
    estimated: bool = False

    def metric(self, name: str) -> MetricValue:
        """Return the :class:`MetricValue` called ``name``.

        Raises
        ------
        KeyError
            If the metric was not computed.
        """
        for value in self.metrics:
            if value.metric == name:
                return value
        raise KeyError(f"metric {name!r} is not in this result; available: {BINARY_METRICS}")


@dataclass(frozen=True)
class LabelJoin(PlainData):
    """A batch joined with labels that arrived later, and what did not match.

    Attributes
    ----------
    frame : pandas.DataFrame
        Batch rows that received exactly one consistent label, with the label column added. Not
        part of ``to_dict()``.
    id_column, label_column : str
        Names used for the join.
    n_batch_rows, n_label_rows : int
        Rows received on each side.
    n_matched : int
        Rows in ``frame``.
    n_unlabelled : int
        Batch ids with no label yet (normal while labels are still arriving).
    n_orphan_labels : int
        Label ids that are not in the batch (a wrong file or a wrong id scheme).
    n_duplicate_batch_ids : int
        Ids appearing more than once in the batch; their rows are left out, since the label
        cannot be attributed to one prediction.
    n_duplicate_label_ids : int
        Ids labelled more than once with the same label (kept once).
    n_conflicting_label_ids : int
        Ids labelled more than once with different labels; left out.
    n_missing_labels : int
        Label rows whose id or label is empty; left out.
    unlabelled_examples, orphan_label_examples, duplicate_batch_examples,
    conflicting_label_examples : tuple of str
        Up to :data:`MAX_EXAMPLE_IDS` example ids of each kind, sorted.
    """

    frame: pd.DataFrame = field(repr=False, compare=False, metadata={"plain": False})
    id_column: str = "record_id"
    label_column: str = "y_true"
    n_batch_rows: int = 0
    n_label_rows: int = 0
    n_matched: int = 0
    n_unlabelled: int = 0
    n_orphan_labels: int = 0
    n_duplicate_batch_ids: int = 0
    n_duplicate_label_ids: int = 0
    n_conflicting_label_ids: int = 0
    n_missing_labels: int = 0
    unlabelled_examples: tuple[str, ...] = ()
    orphan_label_examples: tuple[str, ...] = ()
    duplicate_batch_examples: tuple[str, ...] = ()
    conflicting_label_examples: tuple[str, ...] = ()

    @property
    def label_coverage(self) -> float | None:
        """Share of batch rows that received a label; None for an empty batch."""
        return self.n_matched / self.n_batch_rows if self.n_batch_rows else None


@dataclass(frozen=True)
class KpiTarget(PlainData):
    """A declared acceptance criterion, e.g. sensitivity >= 0.85.

    Attributes
    ----------
    metric : str
        One of :data:`BINARY_METRICS`.
    comparator : {">=", "<="}
        How the value must compare with ``threshold`` (see :data:`COMPARATORS`).
    threshold : float
        The target value.
    """

    metric: str
    comparator: str
    threshold: float

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KpiTarget:
        """Build a target from ``{"metric", "comparator", "threshold"}``, checking each field.

        Raises
        ------
        MonitoringInputError
            Listing every invalid or missing field.
        """
        problems = []
        for key in ("metric", "comparator", "threshold"):
            if key not in data:
                problems.append(f"KPI field {key!r} is required")
        metric, comparator, threshold = (
            data.get("metric"),
            data.get("comparator"),
            data.get("threshold"),
        )
        if "metric" in data and metric not in BINARY_METRICS:
            problems.append(f"KPI metric must be one of {BINARY_METRICS}. Got {metric!r} instead")
        if "comparator" in data and comparator not in COMPARATORS:
            problems.append(
                f"KPI comparator must be one of {COMPARATORS}. Got {comparator!r} instead"
            )
        if "threshold" in data and not _is_number(threshold):
            problems.append(f"KPI threshold must be a number. Got {threshold!r} instead")
        if problems:
            raise MonitoringInputError(problems)
        return cls(metric=metric, comparator=comparator, threshold=float(threshold))

    @property
    def spec(self) -> KpiSpec:
        """The target as the :class:`evaluation.kpi.KpiSpec` its verdict is decided on."""
        return KpiSpec(self.metric, self.comparator, threshold=self.threshold)

    def describe(self) -> str:
        """Return the target as text, e.g. ``"sensitivity >= 0.85"``."""
        return self.spec.target


@dataclass(frozen=True)
class MetricComparison(PlainData):
    """A batch metric beside its validation baseline.

    Attributes
    ----------
    metric : str
    value, lower, upper : float or None
        Batch value and interval.
    baseline : float
        Validation value.
    difference : float or None
        ``value - baseline``.
    interval_excludes_baseline : bool or None
        True when the baseline lies outside the batch interval (a change beyond sampling noise
        at the stated level); None when the batch value or interval is unavailable.
    direction : {"below", "above", "within"} or None
        Where the batch interval lies relative to the baseline.
    """

    metric: str
    value: float | None
    lower: float | None
    upper: float | None
    baseline: float
    difference: float | None
    interval_excludes_baseline: bool | None
    direction: str | None


@dataclass(frozen=True)
class KpiVerdict(PlainData):
    """Whether a batch meets a declared KPI: :class:`evaluation.kpi.KpiVerdict`, flattened.

    Attributes
    ----------
    metric, comparator, threshold : as in :class:`KpiTarget`
    value, lower, upper : float or None
        Batch value and interval.
    status : {"met", "not_met", "inconclusive"}
        The verdict of :func:`evaluation.kpi.judge_kpi`: ``"met"`` when the whole interval
        satisfies the target, ``"not_met"`` when the whole interval fails it,
        ``"inconclusive"`` when the interval straddles the threshold, when the value could not
        be computed, when the batch is too small to conclude on (fewer than
        :data:`evaluation.sample_size.MIN_CASES` labelled positive or negative cases; a
        shortfall its interval shows is still ``"not_met"``), or when it has no interval (an
        estimate: see ``point_met``).
    point_met : bool or None
        Whether the point value alone satisfies the target (None when undefined).
    interval_excludes_threshold : bool or None
        True when the threshold lies outside the batch interval; None without an interval.
    message : str
        The decision rule and the numbers, as a sentence (the verdict's ``rule``).
    """

    metric: str
    comparator: str
    threshold: float
    value: float | None
    lower: float | None
    upper: float | None
    status: str
    point_met: bool | None
    interval_excludes_threshold: bool | None
    message: str

    @classmethod
    def judge(
        cls, target: KpiTarget, value: MetricValue, n: int, *, insufficient: str | None = None
    ) -> KpiVerdict:
        """Judge ``value`` (of a batch of ``n`` cases) against ``target`` with
        :func:`evaluation.kpi.judge_kpi`; ``insufficient`` says why the batch is too small to
        conclude on (:func:`evaluation.sample_size.insufficient_reason`), if it is."""
        verdict = judge_kpi(target.spec, value.to_result(n), insufficient=insufficient)
        iv = verdict.result.interval
        return cls(
            metric=target.metric,
            comparator=target.comparator,
            threshold=target.threshold,
            value=value.value,
            lower=None if iv is None else iv.lower,
            upper=None if iv is None else iv.upper,
            status=verdict.verdict,
            point_met=verdict.point_estimate_meets,
            interval_excludes_threshold=None if iv is None else not iv.contains(target.threshold),
            message=verdict.rule,
        )


@dataclass(frozen=True)
class PerformanceComparison(PlainData):
    """Batch performance against the validation baseline and the KPIs.

    Attributes
    ----------
    estimated : bool
        True when the batch values are estimates (CBPE) rather than measured.
    level : float
        Confidence level of the batch intervals.
    metrics : tuple of MetricComparison
    kpis : tuple of KpiVerdict
    """

    estimated: bool
    level: float
    metrics: tuple[MetricComparison, ...]
    kpis: tuple[KpiVerdict, ...]

    @property
    def kpis_not_met(self) -> tuple[KpiVerdict, ...]:
        """KPIs whose status is ``"not_met"``."""
        return tuple(k for k in self.kpis if k.status == "not_met")


def binary_performance(
    y_true: Any, y_score: Any, *, threshold: float, level: float = 0.95
) -> MeasuredPerformance:
    """Measure a binary classifier at an operating threshold, with confidence intervals.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Reference-standard labels, 0/1 or bool; no missing values.
    y_score : array-like of shape (n,)
        Model scores; a score ``>= threshold`` is a positive prediction.
    threshold : float
        Operating threshold declared for the model version.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    MeasuredPerformance
        Sensitivity, specificity, PPV, NPV, accuracy and prevalence with Wilson intervals, AUC
        with a DeLong interval. A metric whose denominator is zero (e.g. sensitivity without
        positive cases) has ``value=None`` and an ``undefined_reason``.

    Raises
    ------
    MonitoringInputError
        If the inputs differ in length, are empty, hold missing values or labels other than 0/1,
        or if ``threshold`` or ``level`` is invalid; every problem is listed.

    Examples
    --------
    >>> result = binary_performance([0, 0, 1, 1], [0.2, 0.6, 0.7, 0.9], threshold=0.5)
    >>> result.metric("sensitivity").value, result.metric("specificity").value
    (1.0, 0.5)
    """
    labels, scores = _check_binary_inputs(y_true, y_score, threshold=threshold, level=level)
    positive = labels == 1
    c = confusion_counts(positive, scores, threshold=threshold)
    n, n_pos, n_neg = c.n, c.tp + c.fn, c.tn + c.fp
    results = threshold_metrics(positive, scores, threshold=threshold, level=level, method="wilson")
    # Prevalence is not a property of the classifier, so evaluation has no metric for it; it is
    # the same Wilson interval on the labels (n >= 1: an empty batch was refused above).
    prevalence = proportion_interval(n_pos, n, level=level, method="wilson")
    results["prevalence"] = MetricResult("prevalence", prevalence.estimate, prevalence, n)
    counts = {
        "sensitivity": (c.tp, n_pos),
        "specificity": (c.tn, n_neg),
        "ppv": (c.tp, c.tp + c.fp),
        "npv": (c.tn, c.tn + c.fn),
        "accuracy": (c.tp + c.tn, n),
        "prevalence": (n_pos, n),
    }
    metrics = [
        MetricValue.from_result(results[name], level=level, method="wilson",
                                numerator=k, denominator=total)
        for name, (k, total) in counts.items()
    ]  # fmt: skip
    auc = roc_auc_score(positive, scores, level=level)
    metrics.append(MetricValue.from_result(auc, level=level, method="delong"))
    return MeasuredPerformance(n, n_pos, n_neg, float(threshold), level, tuple(metrics))


def join_labels(
    batch: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    id_column: str = "record_id",
    label_column: str = "y_true",
) -> LabelJoin:
    """Join a scored batch with labels that arrived later, by record id.

    Parameters
    ----------
    batch : pandas.DataFrame
        The scored batch; must hold ``id_column``.
    labels : pandas.DataFrame
        Labels received so far; must hold ``id_column`` and ``label_column``.
    id_column, label_column : str
        Column names.

    Returns
    -------
    LabelJoin
        The matched rows and a report of unlabelled, orphan, duplicate and conflicting ids.
        Ids are compared as text, so 17 and "17" match.

    Raises
    ------
    MonitoringInputError
        If a required column is missing.

    Examples
    --------
    >>> import pandas as pd
    >>> batch = pd.DataFrame({"record_id": [1, 2, 3], "score": [0.1, 0.8, 0.4]})
    >>> labels = pd.DataFrame({"record_id": ["2", "9"], "y_true": [1, 0]})
    >>> joined = join_labels(batch, labels)
    >>> joined.n_matched, joined.n_unlabelled, joined.orphan_label_examples
    (1, 2, ('9',))
    """
    problems = []
    if id_column not in batch.columns:
        problems.append(f"batch: required column {id_column!r} is missing")
    for column in (id_column, label_column):
        if column not in labels.columns:
            problems.append(f"labels: required column {column!r} is missing")
    if label_column in batch.columns:
        problems.append(
            f"batch already has a column {label_column!r}; rename it before joining labels"
        )
    if problems:
        raise MonitoringInputError(problems)

    batch_ids = _id_text(batch[id_column])
    batch_counts = batch_ids.value_counts()
    duplicate_batch = set(batch_counts.index[batch_counts > 1])

    label_ids = _id_text(labels[id_column])
    usable = label_ids.notna() & labels[label_column].notna()
    n_missing_labels = int((~usable).sum())
    clean = pd.DataFrame({"_id": label_ids[usable], "_label": labels[label_column][usable]})
    distinct = clean.drop_duplicates()
    per_id = distinct.groupby("_id")["_label"].nunique()
    conflicting = set(per_id.index[per_id > 1])
    label_counts = clean["_id"].value_counts()
    duplicate_label = set(label_counts.index[label_counts > 1]) - conflicting
    resolved = distinct[~distinct["_id"].isin(conflicting)].set_index("_id")["_label"]

    batch_id_set = set(batch_ids.dropna())
    label_id_set = set(clean["_id"])
    keep = batch_ids.notna() & ~batch_ids.isin(duplicate_batch) & batch_ids.isin(resolved.index)
    frame = batch.loc[keep].copy()
    frame[label_column] = resolved.reindex(batch_ids[keep]).to_numpy()
    unlabelled = batch_id_set - label_id_set
    orphans = label_id_set - batch_id_set
    return LabelJoin(
        frame=frame,
        id_column=id_column,
        label_column=label_column,
        n_batch_rows=len(batch),
        n_label_rows=len(labels),
        n_matched=len(frame),
        n_unlabelled=len(unlabelled),
        n_orphan_labels=len(orphans),
        n_duplicate_batch_ids=len(duplicate_batch),
        n_duplicate_label_ids=len(duplicate_label),
        n_conflicting_label_ids=len(conflicting),
        n_missing_labels=n_missing_labels,
        unlabelled_examples=_examples(unlabelled),
        orphan_label_examples=_examples(orphans),
        duplicate_batch_examples=_examples(duplicate_batch),
        conflicting_label_examples=_examples(conflicting),
    )


def compare_with_baseline(
    performance: Any,
    baseline: Mapping[str, float] | None = None,
    kpis: Sequence[KpiTarget | Mapping[str, Any]] = (),
) -> PerformanceComparison:
    """Compare batch performance with the validation baseline and the declared KPIs.

    Parameters
    ----------
    performance : MeasuredPerformance or PerformanceEstimate
        Batch values; anything with ``metric(name) -> MetricValue``, ``n``, ``level`` and
        ``estimated``.
    baseline : mapping of str to float, optional
        Validation values by metric name, e.g. ``{"sensitivity": 0.91}``.
    kpis : sequence of KpiTarget or mapping
        Declared acceptance criteria.

    Returns
    -------
    PerformanceComparison
        KPI verdicts are decided by :func:`evaluation.kpi.judge_kpi` on the batch interval, as
        at validation, and with the same minimum sample: a measured batch with fewer than
        :data:`evaluation.sample_size.MIN_CASES` labelled positive or negative cases gets
        ``"inconclusive"`` verdicts that say so. An estimate has no labels to count and no
        interval, so its verdicts are ``"inconclusive"`` with ``point_met`` saying whether the
        point estimate meets the target.

    Raises
    ------
    MonitoringInputError
        If a baseline value is not a number or a KPI is malformed (all problems listed).

    Examples
    --------
    >>> measured = binary_performance([1] * 90 + [0] * 10, [0.9] * 80 + [0.1] * 20, threshold=0.5)
    >>> comparison = compare_with_baseline(
    ...     measured, {"sensitivity": 0.95}, [{"metric": "sensitivity", "comparator": ">=",
    ...                                        "threshold": 0.85}])
    >>> comparison.metrics[0].direction, comparison.kpis[0].status
    ('below', 'inconclusive')
    """
    problems = []
    targets = []
    for index, kpi in enumerate(kpis):
        try:
            # A KpiTarget built directly is checked like a mapping: the verdict needs a
            # comparator evaluation knows.
            data = dataclasses.asdict(kpi) if isinstance(kpi, KpiTarget) else kpi
            targets.append(KpiTarget.from_dict(data))
        except MonitoringInputError as err:
            problems.extend(f"kpis[{index}]: {p}" for p in err.problems)
    for name, value in (baseline or {}).items():
        if name not in BINARY_METRICS:
            problems.append(
                f"baseline metric must be one of {BINARY_METRICS}. Got {name!r} instead"
            )
        elif not _is_number(value):
            problems.append(f"baseline[{name!r}] must be a number. Got {value!r} instead")
    if problems:
        raise MonitoringInputError(problems)

    comparisons = tuple(
        _compare_metric(performance.metric(name), float(value))
        for name, value in (baseline or {}).items()
    )
    insufficient = None
    if not performance.estimated:
        insufficient = insufficient_reason("binary", performance.n, performance.n_positive)
    verdicts = tuple(
        KpiVerdict.judge(t, performance.metric(t.metric), performance.n, insufficient=insufficient)
        for t in targets
    )
    return PerformanceComparison(
        estimated=bool(performance.estimated),
        level=performance.level,
        metrics=comparisons,
        kpis=verdicts,
    )


def _compare_metric(value: MetricValue, baseline: float) -> MetricComparison:
    difference = None if value.value is None else value.value - baseline
    excludes = direction = None
    if value.lower is not None and value.upper is not None:
        if value.upper < baseline:
            direction = "below"
        elif value.lower > baseline:
            direction = "above"
        else:
            direction = "within"
        excludes = direction != "within"
    return MetricComparison(
        metric=value.metric,
        value=value.value,
        lower=value.lower,
        upper=value.upper,
        baseline=baseline,
        difference=difference,
        interval_excludes_baseline=excludes,
        direction=direction,
    )


def _check_binary_inputs(y_true, y_score, *, threshold, level) -> tuple[np.ndarray, np.ndarray]:
    problems: list[str] = []
    labels = pd.Series(np.asarray(y_true, dtype=object).ravel())
    scores_raw = pd.Series(np.asarray(y_score, dtype=object).ravel())
    if len(labels) != len(scores_raw):
        problems.append(
            f"y_true and y_score must have the same length. Got {len(labels)} and "
            f"{len(scores_raw)} instead"
        )
    if len(labels) == 0:
        problems.append("y_true is empty: no labelled cases to measure")
    missing = labels.isna()
    if missing.any():
        problems.append(f"y_true: {_rows(missing)}")
    present = labels[~missing]
    bad = present[~present.isin([0, 1, True, False])]
    if len(bad):
        problems.append(
            f"y_true must hold 0/1 labels. Got {', '.join(repr(v) for v in bad.unique()[:5])} "
            f"(rows {_row_list(bad.index)})"
        )
    scores = pd.to_numeric(scores_raw, errors="coerce")
    bad_scores = scores.isna() | ~np.isfinite(scores.astype(float))
    if bad_scores.any():
        problems.append(f"y_score: {_rows(bad_scores, 'missing or non-numeric values')}")
    if not _is_number(threshold):
        problems.append(f"threshold must be a number. Got {threshold!r} instead")
    _check_level(level, problems)
    if problems:
        raise MonitoringInputError(problems)
    return labels.astype(int).to_numpy(), scores.astype(float).to_numpy()


def _rows(mask: pd.Series, what: str = "missing values") -> str:
    return f"{int(mask.sum())} {what} (rows {_row_list(mask.index[mask])}); remove them first"


def _row_list(index) -> str:
    shown = [str(i) for i in list(index)[:5]]
    return ", ".join(shown) + (", ..." if len(index) > 5 else "")


def _id_text(ids: pd.Series) -> pd.Series:
    """Ids as text so 17, 17.0 and "17" from different files match."""

    def text(value: Any) -> str:
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value).strip()

    out = ids.astype(object)
    present = out.notna()
    out.loc[present] = out.loc[present].map(text)
    return out


def _examples(ids: set) -> tuple[str, ...]:
    return tuple(sorted(ids)[:MAX_EXAMPLE_IDS])


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _check_level(level: Any, problems: list[str]) -> None:
    if not _is_number(level) or not 0 < level < 1:
        problems.append(f"level must be strictly between 0 and 1. Got {level!r} instead")
