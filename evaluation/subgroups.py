"""Subgroup analysis: every metric within each level of each declared subgroup column, the gap
to the overall value, the worst/best spread, KPI flags and "insufficient data" flags.

The metrics themselves come from a ``compute(mask)`` function supplied by the caller, so this
module holds only the subgroup logic and works for every task.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.calibration import CalibrationResult
from evaluation.kpi import KpiSpec, judge_kpi, resolve_metric
from evaluation.multiclass import MulticlassCalibrationResult
from evaluation.results import MetricResult, PlainData
from evaluation.sample_size import insufficient_reason, size_rule

#: Metrics where a lower value is better; the others (except calibration measures, which have
#: an ideal value rather than a direction) are higher-is-better.
LOWER_IS_BETTER = frozenset(
    {"brier", "multiclass_brier", "ece", "classwise_ece", "mae", "rmse", "lr_negative"}
)
NO_DIRECTION = frozenset(
    {"calibration_intercept", "calibration_slope", "oe_ratio", "mean_bias", "lr_positive"}
)


@dataclass(frozen=True)
class GroupMetrics:
    """What ``compute(mask)`` returns for one population."""

    metrics: dict[str, MetricResult]
    per_class: dict[str, dict[str, MetricResult]] | None = None
    calibration: CalibrationResult | MulticlassCalibrationResult | None = None


@dataclass(frozen=True)
class SubgroupResult(PlainData):
    """Metrics of one level of one subgroup column.

    Attributes
    ----------
    column, level : str
    n : int
    n_positive, n_negative : int or None
        Binary task only.
    metrics : dict of str to MetricResult
    per_class : dict or None
        Multiclass one-vs-rest metrics.
    calibration : CalibrationResult, MulticlassCalibrationResult or None
    gaps : dict of str to float or None
        ``subgroup value - overall value`` per metric (``None`` when either is undefined).
    insufficient_data : bool
        Too small to conclude; such a level is "insufficient data", never "passed".
    insufficient_reason : str or None
    kpi_flags : tuple of str
        One sentence per KPI whose interval in this subgroup lies wholly on the wrong side;
        none on a level with insufficient data, where every KPI verdict is inconclusive.
    """

    column: str
    level: str
    n: int
    n_positive: int | None
    n_negative: int | None
    metrics: dict[str, MetricResult]
    per_class: dict[str, dict[str, MetricResult]] | None
    calibration: CalibrationResult | MulticlassCalibrationResult | None
    gaps: dict[str, float | None]
    insufficient_data: bool
    insufficient_reason: str | None
    kpi_flags: tuple[str, ...]


@dataclass(frozen=True)
class MetricSpread(PlainData):
    """Worst and best level of one metric among the levels with sufficient data.

    ``ratio`` is worst / best (``None`` when best is 0); ``gap`` is ``|best - worst|``.
    """

    metric: str
    worst_level: str
    worst: float
    best_level: str
    best: float
    ratio: float | None
    gap: float


@dataclass(frozen=True)
class SubgroupColumn(PlainData):
    """Subgroup analysis of one column.

    Attributes
    ----------
    column : str
    minimum_rule : str
        The size rule below which a level is flagged "insufficient data".
    levels : tuple of SubgroupResult
        Levels sorted by their label.
    spread : dict of str to MetricSpread
        Per metric with a direction, over at least two sufficient levels.
    """

    column: str
    minimum_rule: str
    levels: tuple[SubgroupResult, ...]
    spread: dict[str, MetricSpread]


def _spread(levels: Sequence[SubgroupResult]) -> dict[str, MetricSpread]:
    usable = [lv for lv in levels if not lv.insufficient_data]
    names = sorted({name for lv in usable for name in lv.metrics})
    spread = {}
    for name in names:
        if name in NO_DIRECTION:
            continue
        values = [
            (lv.metrics[name].value, lv.level)
            for lv in usable
            if name in lv.metrics and lv.metrics[name].value is not None
        ]
        if len(values) < 2:
            continue
        lower_better = name in LOWER_IS_BETTER
        worst = max(values) if lower_better else min(values)
        best = min(values) if lower_better else max(values)
        ratio = None if best[0] == 0 else worst[0] / best[0]
        spread[name] = MetricSpread(
            name, worst[1], worst[0], best[1], best[0], ratio, abs(best[0] - worst[0])
        )
    return spread


def analyse_subgroups(
    groups: Mapping[str, np.ndarray],
    compute: Callable[[np.ndarray], GroupMetrics],
    overall: GroupMetrics,
    *,
    task: str,
    y_true: np.ndarray,
    kpis: Sequence[KpiSpec] = (),
    minimum: int = 30,
) -> tuple[SubgroupColumn, ...]:
    """Compute every metric within each level of each subgroup column.

    Parameters
    ----------
    groups : mapping of str to numpy.ndarray
        Subgroup column name to the level of each row (strings).
    compute : callable
        ``compute(mask) -> GroupMetrics`` for the rows where ``mask`` is True; it must return
        undefined results (never raise) for degenerate subsets.
    overall : GroupMetrics
        The metrics on all rows, for the gaps.
    task : str
        ``"binary"``, ``"multiclass"`` or ``"regression"`` (sets the size rule).
    y_true : numpy.ndarray
        Reference (bool for binary), to count positives.
    kpis : sequence of KpiSpec
        KPIs to flag; a level is flagged when the KPI's verdict there is ``not_met`` (a level
        below ``minimum`` is judged ``inconclusive``, as an overall KPI is).
    minimum : int, default 30
        Minimum size (G4.3 default: 30 positives and 30 negatives for a binary task).

    Returns
    -------
    tuple of SubgroupColumn

    Examples
    --------
    >>> from evaluation.results import MetricResult
    >>> def compute(mask):
    ...     return GroupMetrics({"accuracy": MetricResult("accuracy", mask.mean(), None, 4)})
    >>> cols = analyse_subgroups({"sex": np.array(["F", "M", "M", "M"])}, compute,
    ...                          compute(np.ones(4, bool)), task="regression",
    ...                          y_true=np.zeros(4), minimum=2)
    >>> [(lv.level, lv.insufficient_data) for lv in cols[0].levels]
    [('F', True), ('M', False)]
    """
    columns = []
    for column, values in groups.items():
        levels = []
        for level in sorted(np.unique(values).tolist()):
            mask = values == level
            n = int(mask.sum())
            positives = int(np.count_nonzero(y_true[mask])) if task == "binary" else None
            reason = insufficient_reason(task, n, positives, minimum)
            result = compute(mask)
            gaps = {}
            for name, metric in result.metrics.items():
                reference = overall.metrics.get(name)
                defined = metric.value is not None and reference and reference.value is not None
                gaps[name] = metric.value - reference.value if defined else None
            flags = []
            for spec in kpis:
                metric = resolve_metric(spec, result.metrics, result.per_class)
                verdict = judge_kpi(spec, metric, insufficient=reason)
                if verdict.verdict == "not_met":
                    flags.append(verdict.rule)
            levels.append(
                SubgroupResult(
                    column=column,
                    level=str(level),
                    n=n,
                    n_positive=positives,
                    n_negative=None if positives is None else n - positives,
                    metrics=result.metrics,
                    per_class=result.per_class,
                    calibration=result.calibration,
                    gaps=gaps,
                    insufficient_data=reason is not None,
                    insufficient_reason=reason,
                    kpi_flags=tuple(flags),
                )
            )
        columns.append(
            SubgroupColumn(column, size_rule(task, minimum), tuple(levels), _spread(levels))
        )
    return tuple(columns)
