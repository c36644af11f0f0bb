"""One entry point for the registry: validate a data frame of validation results, compute
every metric with its interval, subgroups, sites and KPI verdicts, and return one report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation import binary, multiclass, regression
from evaluation.calibration import CalibrationResult, calibration
from evaluation.decision_curve import DecisionCurve, decision_curve
from evaluation.errors import EvaluationInputError
from evaluation.intervals import PROPORTION_METHODS, placement_values
from evaluation.kpi import KpiSpec, KpiVerdict, judge_kpi, resolve_metric
from evaluation.multiclass import ConfusionMatrix, MulticlassCalibrationResult
from evaluation.regression import BlandAltman
from evaluation.results import Curve, MetricResult, PlainData
from evaluation.sample_size import insufficient_reason
from evaluation.sites import SiteAnalysis, analyse_sites, logit_auc, logit_proportion
from evaluation.subgroups import GroupMetrics, SubgroupColumn, analyse_subgroups
from evaluation.validation import Columns, ValidatedData, check_parameters, validate_frame

LIBRARY_VERSION = "0.1.0"

#: Curves in the report keep at most this many points (the registry stores them as JSON).
MAX_CURVE_POINTS = 201


@dataclass(frozen=True)
class EvaluationReport(PlainData):
    """Everything computed for one evaluation.

    Attributes
    ----------
    library_version : str
    task : str
    n : int
    level : float
    seed : int
    n_resamples : int
    threshold : float or None
        Binary operating threshold.
    interval_method : str
        Proportion interval method.
    labels : tuple
        Binary ``(negative, positive)``; multiclass classes in order.
    class_counts : dict of str to int
    metrics : dict of str to MetricResult
        Overall metrics (names as used in KPIs).
    per_class : dict or None
        Multiclass one-vs-rest metrics per class.
    confusion_matrix : ConfusionMatrix or None
    calibration : CalibrationResult, MulticlassCalibrationResult or None
        Binary probabilities, or multiclass class probabilities (each class one-vs-rest).
    curves : dict of str to Curve
        ``roc`` and ``precision_recall``, thinned to :data:`MAX_CURVE_POINTS`.
    decision_curve : DecisionCurve or None
    threshold_table : tuple of ThresholdRow
    bland_altman : BlandAltman or None
    subgroups : tuple of SubgroupColumn
    sites : SiteAnalysis or None
    kpis : tuple of KpiVerdict
    notes : tuple of str
    """

    library_version: str
    task: str
    n: int
    level: float
    seed: int
    n_resamples: int
    threshold: float | None
    interval_method: str
    labels: tuple
    class_counts: dict[str, int]
    metrics: dict[str, MetricResult]
    per_class: dict[str, dict[str, MetricResult]] | None
    confusion_matrix: ConfusionMatrix | None
    calibration: CalibrationResult | MulticlassCalibrationResult | None
    curves: dict[str, Curve]
    decision_curve: DecisionCurve | None
    threshold_table: tuple[binary.ThresholdRow, ...]
    bland_altman: BlandAltman | None
    subgroups: tuple[SubgroupColumn, ...]
    sites: SiteAnalysis | None
    kpis: tuple[KpiVerdict, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Options:
    task: str
    threshold: float | None
    probability: bool
    level: float
    method: str
    n_resamples: int
    seed: int
    bootstrap_method: str
    n_bins: int


def _binary_metrics(y: np.ndarray, s: np.ndarray, o: _Options) -> GroupMetrics:
    metrics = {"auc": binary.roc_auc_score(y, s, level=o.level)}
    metrics.update(
        binary.threshold_metrics(y, s, threshold=o.threshold, level=o.level, method=o.method)
    )
    cal = None
    if o.probability and y.size:
        metrics["brier"] = binary.brier_score_loss(y, s, level=o.level)
        cal = calibration(y, s, n_bins=o.n_bins, level=o.level)
        metrics.update(
            ece=cal.ece,
            calibration_intercept=cal.intercept,
            calibration_slope=cal.slope,
            oe_ratio=cal.oe_ratio,
        )
    return GroupMetrics(metrics, None, cal)


def _multiclass_metrics(data: ValidatedData, mask: np.ndarray, o: _Options) -> GroupMetrics:
    y, p = data.y_true[mask], data.y_pred[mask]
    n = int(mask.sum())
    if n == 0:
        return GroupMetrics({"accuracy": MetricResult.undefined("accuracy", 0, "no cases")})
    options = dict(
        level=o.level, n_resamples=o.n_resamples, seed=o.seed, bootstrap_method=o.bootstrap_method
    )
    metrics = {
        "accuracy": multiclass.accuracy_score(y, p, level=o.level, method=o.method),
        "cohen_kappa": multiclass.cohen_kappa_score(y, p, data.labels, **options),
        "quadratic_weighted_kappa": multiclass.cohen_kappa_score(
            y, p, data.labels, weights="quadratic", **options
        ),
        "macro_f1": multiclass.macro_f1_score(y, p, data.labels, **options),
    }
    if data.y_score is not None:
        for average in ("macro", "weighted"):
            metrics[f"{average}_auc"] = multiclass.ovr_auc_score(
                y, data.y_score[mask], data.labels, average=average, **options
            )
    per_class = multiclass.per_class_metrics(y, p, data.labels, level=o.level, method=o.method)
    cal = None
    if data.y_score is not None and o.probability:
        cal = multiclass.multiclass_calibration(
            y, data.y_score[mask], data.labels, n_bins=o.n_bins, level=o.level
        )
        metrics.update(multiclass_brier=cal.brier, classwise_ece=cal.classwise_ece)
        # Per class too, so a KPI or a subgroup gap can name one class's calibration.
        for label, c in cal.per_class.items():
            per_class[label].update(
                ece=c.ece,
                calibration_intercept=c.intercept,
                calibration_slope=c.slope,
                oe_ratio=c.oe_ratio,
            )
    return GroupMetrics(metrics, per_class, cal)


def _regression_metrics(data: ValidatedData, mask: np.ndarray, o: _Options) -> GroupMetrics:
    y, p = data.y_true[mask], data.y_pred[mask]
    return GroupMetrics(
        {
            "mae": regression.mean_absolute_error(y, p, level=o.level),
            "rmse": regression.root_mean_squared_error(y, p, level=o.level),
            "mean_bias": regression.mean_bias(y, p, level=o.level),
        }
    )


def _compute(data: ValidatedData, mask: np.ndarray, o: _Options) -> GroupMetrics:
    if o.task == "binary":
        return _binary_metrics(data.y_true[mask], data.y_score[mask], o)
    if o.task == "multiclass":
        return _multiclass_metrics(data, mask, o)
    return _regression_metrics(data, mask, o)


def _pooling_inputs(data: ValidatedData, mask: np.ndarray, o: _Options) -> dict:
    y = data.y_true[mask]
    if o.task == "binary":
        s = data.y_score[mask]
        inputs: dict = {"auc": None, "sensitivity": None, "specificity": None}
        if y.any() and not y.all():
            # On the logit scale, as the DeLong-logit interval of a single AUC.
            p = placement_values(y, s)
            logit = logit_auc(p.auc, p.variance)
            inputs["auc"] = logit if isinstance(logit, str) else (*logit, "logit")
            called = s >= o.threshold
            inputs["sensitivity"] = (
                *logit_proportion(int(np.sum(called & y)), int(y.sum())),
                "logit",
            )
            inputs["specificity"] = (
                *logit_proportion(int(np.sum(~called & ~y)), int((~y).sum())),
                "logit",
            )
        return inputs
    if o.task == "multiclass":
        correct = int(np.sum(y == data.y_pred[mask]))
        return {"accuracy": (*logit_proportion(correct, y.size), "logit")}
    error = data.y_pred[mask] - y
    if error.size < 2:
        return {"mean_bias": None, "mae": None}
    return {
        "mean_bias": (float(error.mean()), float(error.var(ddof=1) / error.size), "identity"),
        "mae": (
            float(np.abs(error).mean()),
            float(np.abs(error).var(ddof=1) / error.size),
            "identity",
        ),
    }


def evaluate(
    frame: pd.DataFrame,
    *,
    task: str,
    columns: Columns | Mapping[str, object],
    threshold: float | None = None,
    labels: Sequence[object] | None = None,
    positive_label: object = 1,
    probability: bool = True,
    kpis: Sequence[KpiSpec] = (),
    subgroup_columns: Sequence[str] = (),
    site_column: str | None = None,
    level: float = 0.95,
    interval_method: str = "wilson",
    bootstrap_method: str = "bca",
    seed: int = 0,
    n_resamples: int = 2000,
    min_subgroup_n: int = 30,
    n_bins: int = 10,
) -> EvaluationReport:
    """Validate validation results and compute the full evaluation report.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per case.
    task : {"binary", "multiclass", "regression"}
    columns : Columns or mapping
        Column names (``y_true``, ``y_score``, ``y_pred``, ``id``, ``class_scores``).
    threshold : float, optional
        Binary operating threshold (``score >= threshold`` is positive); default 0.5 for
        probabilities, required otherwise.
    labels : sequence, optional
        Declared labels (see :func:`evaluation.validation.validate_frame`).
    positive_label : object, default 1
        Binary: label of a positive case.
    probability : bool, default True
        Scores are probabilities: binary, enables Brier, calibration and decision curve;
        multiclass, the class probability columns get calibration and the multiclass Brier.
    kpis : sequence of KpiSpec
        Declared KPIs to judge on the overall population.
    subgroup_columns : sequence of str
        Columns defining subgroups.
    site_column : str, optional
        Column of the site, for per-site and pooled estimates.
    level : float, default 0.95
        Confidence level of every interval.
    interval_method : {"wilson", "clopper-pearson"}
        Interval for proportions.
    bootstrap_method : {"bca", "percentile"}, default "bca"
        Interval for the bootstrap metrics: kappa, macro F1 and the macro and weighted
        one-vs-rest AUCs. BCa by default: at 30 cases of a class it covers 95%, the percentile
        interval 93% (``bench/coverage.py``).
    seed : int, default 0
        Seed of every bootstrap.
    n_resamples : int, default 2000
        Bootstrap resamples.
    min_subgroup_n : int, default 30
        Minimum sample to conclude on (G4.3, :mod:`evaluation.sample_size`): a subgroup level
        below it is "insufficient data", and KPI verdicts on an overall population below it
        are ``inconclusive`` (binary: that many positive and negative cases; else cases).
    n_bins : int, default 10
        Quantile bins of each reliability curve.

    Returns
    -------
    EvaluationReport

    Raises
    ------
    EvaluationInputError
        Listing every problem with the data and the parameters.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 2, 200)
    >>> df = pd.DataFrame({"y": y, "p": np.clip(0.3 * y + rng.uniform(0, 0.7, 200), 0, 1)})
    >>> report = evaluate(df, task="binary", columns={"y_true": "y", "y_score": "p"},
    ...                   kpis=[KpiSpec("auc", ">=", threshold=0.7)], n_resamples=200)
    >>> report.kpis[0].verdict
    'met'
    >>> sorted(report.to_dict())[:4]
    ['bland_altman', 'calibration', 'class_counts', 'confusion_matrix']
    """
    problems = check_parameters(
        level=level, threshold=threshold, n_resamples=n_resamples, min_subgroup_n=min_subgroup_n
    )
    if interval_method not in PROPORTION_METHODS:
        problems.append(
            f"parameter interval_method: must be one of {list(PROPORTION_METHODS)}. "
            f"Got {interval_method!r} instead"
        )
    if bootstrap_method not in ("percentile", "bca"):
        problems.append(
            "parameter bootstrap_method: must be 'percentile' or 'bca'. "
            f"Got {bootstrap_method!r} instead"
        )
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        problems.append(f"parameter n_bins: must be a whole number >= 1. Got {n_bins!r} instead")
    if task == "binary" and threshold is None and not probability:
        problems.append(
            "parameter threshold: required when scores are not probabilities "
            "(probability=False); give the operating threshold of the score"
        )
    for spec in kpis:
        problems.extend(spec.problems())
    if not isinstance(columns, Columns):
        try:
            columns = Columns.from_mapping(columns)
        except EvaluationInputError as error:
            raise EvaluationInputError([*problems, *error.problems]) from None
    data = validate_frame(
        frame,
        task=task,
        columns=columns,
        labels=labels,
        positive_label=positive_label,
        probability=probability,
        subgroup_columns=subgroup_columns,
        site_column=site_column,
        extra_problems=problems,
    )
    if task == "binary" and threshold is None:
        threshold = 0.5
    o = _Options(
        task,
        threshold if task == "binary" else None,
        probability,
        level,
        interval_method,
        n_resamples,
        seed,
        bootstrap_method,
        int(n_bins),
    )
    everyone = np.ones(data.n, dtype=bool)
    overall = _compute(data, everyone, o)
    notes = []
    curves, dc, table, cal, cm, ba = {}, None, (), overall.calibration, None, None
    if task == "binary":
        y, s = data.y_true, data.y_score
        counts = {str(data.labels[0]): int((~y).sum()), str(data.labels[1]): int(y.sum())}
        overall.metrics["average_precision"] = binary.average_precision_score(y, s)
        curves = {
            "roc": binary.roc_curve(y, s, max_points=MAX_CURVE_POINTS),
            "precision_recall": binary.precision_recall_curve(y, s, max_points=MAX_CURVE_POINTS),
        }
        if probability:
            dc = decision_curve(y, s)
            grid = np.round(np.arange(0.05, 1.0, 0.05), 2)
        else:
            grid = np.unique(np.quantile(s, np.linspace(0.1, 0.9, 9)))
            notes.append(
                "scores are not probabilities: no Brier score, calibration or decision curve"
            )
        table = binary.threshold_table(y, s, sorted(set(grid.tolist()) | {threshold}))
    elif task == "multiclass":
        codes = np.bincount(data.y_true, minlength=len(data.labels))
        counts = {str(label): int(c) for label, c in zip(data.labels, codes, strict=True)}
        cm = multiclass.confusion_matrix(data.y_true, data.y_pred, data.labels)
        if data.y_score is None:
            notes.append(
                "no class probability columns: no macro or weighted AUC, calibration or "
                "multiclass Brier score"
            )
        elif not probability:
            notes.append("class scores are not probabilities: no calibration or Brier score")
        else:
            sums = data.y_score.sum(axis=1)
            off = int(np.count_nonzero(np.abs(sums - 1.0) > 0.01))
            if off:
                notes.append(
                    f"class probabilities of {off} of {data.n} rows do not sum to 1 (within "
                    "0.01): each class column is judged as a one-vs-rest probability and the "
                    "multiclass Brier score is taken as is"
                )
    else:
        counts = {}
        ba = regression.bland_altman(data.y_true, data.y_pred, level=level)
    # The subgroup size rule applies to the whole population too: below it no KPI is concluded.
    positives = int(np.count_nonzero(data.y_true)) if task == "binary" else None
    too_small = insufficient_reason(task, data.n, positives, min_subgroup_n)
    if task == "binary" and min_subgroup_n < binary.AUC_MIN_CLASS_SIZE:
        notes.append(
            f"min_subgroup_n={min_subgroup_n} is below {binary.AUC_MIN_CLASS_SIZE}: KPIs and "
            "subgroups are concluded on samples where an AUC interval may not keep its coverage "
            "(such an AUC says so in its note)"
        )
    kpi_verdicts = tuple(
        judge_kpi(
            spec,
            resolve_metric(spec, overall.metrics, overall.per_class),
            insufficient=too_small,
        )
        for spec in kpis
    )
    subgroups = analyse_subgroups(
        data.groups,
        lambda mask: _compute(data, mask, o),
        overall,
        task=task,
        y_true=data.y_true,
        kpis=kpis,
        minimum=min_subgroup_n,
    )
    sites = None
    if data.site is not None:
        sites = analyse_sites(
            data.site,
            lambda mask: _compute(data, mask, o).metrics,
            lambda mask: _pooling_inputs(data, mask, o),
            level=level,
        )
    return EvaluationReport(
        library_version=LIBRARY_VERSION,
        task=task,
        n=data.n,
        level=level,
        seed=seed,
        n_resamples=n_resamples,
        threshold=o.threshold,
        interval_method=interval_method,
        labels=data.labels,
        class_counts=counts,
        metrics=overall.metrics,
        per_class=overall.per_class,
        confusion_matrix=cm,
        calibration=cal,
        curves=curves,
        decision_curve=dc,
        threshold_table=table,
        bland_altman=ba,
        subgroups=subgroups,
        sites=sites,
        kpis=kpi_verdicts,
        notes=tuple(notes),
    )
