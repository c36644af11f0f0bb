"""Performance estimated from scores alone, before labels arrive (confidence-based estimation).

If the model's scores are calibrated probabilities, a case scored 0.8 is positive with
probability 0.8 whatever its label turns out to be. Summing these probabilities over the batch
gives the expected confusion matrix at the operating threshold, hence expected sensitivity,
specificity, predictive values, accuracy and AUC: the approach NannyML calls CBPE.

The estimate is only as good as the calibration, and it assumes the relation between score and
outcome is unchanged since validation (no concept drift). It is therefore offered only when the
validation calibration met documented bounds, it is labelled ``estimated=True``, and it must be
replaced by the measured value (:mod:`monitoring.performance`) once labels arrive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitoring._plain import PlainData
from monitoring.errors import MonitoringInputError
from monitoring.performance import MetricValue

#: Acceptance bounds on the validation calibration, checked by :func:`calibration_acceptable`.
#: Slope in [0.8, 1.2] and intercept within +/-0.2 (logit scale) follow the "weak calibration"
#: level of Van Calster et al. (2016), whose simulations show slopes outside about 0.8-1.2
#: already distort risk estimates; an expected calibration error of at most 0.05 (5 percentage
#: points, 10 equal-width bins) is a common tolerance for risk scores.
CALIBRATION_SLOPE_BOUNDS = (0.8, 1.2)
CALIBRATION_INTERCEPT_MAX_ABS = 0.2
ECE_MAX = 0.05

ESTIMATED_METRICS = ("sensitivity", "specificity", "ppv", "npv", "accuracy", "prevalence", "auc")


@dataclass(frozen=True)
class CalibrationCheck(PlainData):
    """Whether the validation calibration allows estimating performance from scores.

    Attributes
    ----------
    acceptable : bool
    slope, intercept, ece : float or None
        The calibration evidence given.
    reasons : tuple of str
        Every bound that was not met (empty when acceptable).
    bounds : dict
        The bounds applied, so a stored result says what it was judged against.
    """

    acceptable: bool
    slope: float | None
    intercept: float | None
    ece: float | None
    reasons: tuple[str, ...]
    bounds: dict


@dataclass(frozen=True)
class PerformanceEstimate(PlainData):
    """Performance estimated without labels, or the reason it was refused.

    Attributes
    ----------
    estimated : bool
        Always True: these are estimates, not measurements.
    offered : bool
        False when the estimate was refused (see ``refused_reason``); metrics are then empty.
    refused_reason : str or None
    method : str
        ``"cbpe"``.
    n : int
        Scored cases used.
    threshold : float
        Operating threshold; a score ``>= threshold`` is a positive prediction.
    level : float
        Carried for comparison with measured results; estimates have no interval here.
    expected_tp, expected_fp, expected_fn, expected_tn : float or None
        Expected confusion matrix.
    metrics : tuple of MetricValue
        ``method="cbpe"``, ``lower`` and ``upper`` None.
    calibration : CalibrationCheck
    caveats : tuple of str
    """

    estimated: bool
    offered: bool
    refused_reason: str | None
    method: str
    n: int
    threshold: float
    level: float
    expected_tp: float | None
    expected_fp: float | None
    expected_fn: float | None
    expected_tn: float | None
    metrics: tuple[MetricValue, ...]
    calibration: CalibrationCheck
    caveats: tuple[str, ...] = ()

    def metric(self, name: str) -> MetricValue:
        """Return the estimated :class:`MetricValue` called ``name``.

        Raises
        ------
        KeyError
            If the estimate was refused or the metric is unknown.
        """
        for value in self.metrics:
            if value.metric == name:
                return value
        if not self.offered:
            raise KeyError(f"no estimate of {name!r}: {self.refused_reason}")
        raise KeyError(f"metric {name!r} is not estimated; available: {ESTIMATED_METRICS}")


def calibration_acceptable(
    *,
    slope: float | None = None,
    intercept: float | None = None,
    ece: float | None = None,
    slope_bounds: tuple[float, float] = CALIBRATION_SLOPE_BOUNDS,
    intercept_max_abs: float = CALIBRATION_INTERCEPT_MAX_ABS,
    ece_max: float = ECE_MAX,
) -> CalibrationCheck:
    """Judge validation calibration evidence against the acceptance bounds.

    Either the calibration slope and intercept (logistic recalibration of the outcome on the
    logit of the score), or the expected calibration error, or all three must be given; every
    value given must be within its bound.

    Parameters
    ----------
    slope, intercept : float, optional
        Calibration slope (ideal 1) and intercept (ideal 0, logit scale) at validation.
    ece : float, optional
        Expected calibration error at validation (ideal 0).
    slope_bounds : tuple of float, default (0.8, 1.2)
    intercept_max_abs : float, default 0.2
    ece_max : float, default 0.05

    Returns
    -------
    CalibrationCheck

    References
    ----------
    .. [1] Van Calster et al., "A calibration hierarchy for risk models was defined: from utopia
       to empirical data", J Clin Epidemiol 74 (2016) 167-176.

    Examples
    --------
    >>> calibration_acceptable(slope=0.97, intercept=0.03).acceptable
    True
    >>> calibration_acceptable(slope=0.6, intercept=0.0).reasons
    ('calibration slope 0.6 is outside [0.8, 1.2]',)
    """
    bounds = {
        "slope": list(slope_bounds),
        "intercept_max_abs": intercept_max_abs,
        "ece_max": ece_max,
    }
    reasons = []
    for name, value in (("slope", slope), ("intercept", intercept), ("ece", ece)):
        if value is not None and not _finite(value):
            reasons.append(f"calibration {name} must be a finite number. Got {value!r} instead")
    if slope is None and intercept is None and ece is None:
        reasons.append("no calibration evidence: give slope and intercept, or ECE, from validation")
    elif (slope is None) != (intercept is None):
        reasons.append("calibration slope and intercept must be given together")
    if not reasons:
        if slope is not None and not slope_bounds[0] <= slope <= slope_bounds[1]:
            reasons.append(
                f"calibration slope {slope:g} is outside [{slope_bounds[0]:g}, {slope_bounds[1]:g}]"
            )
        if intercept is not None and abs(intercept) > intercept_max_abs:
            reasons.append(
                f"calibration intercept {intercept:g} is outside +/-{intercept_max_abs:g}"
            )
        if ece is not None and ece > ece_max:
            reasons.append(f"expected calibration error {ece:g} is above {ece_max:g}")
    return CalibrationCheck(
        acceptable=not reasons,
        slope=slope,
        intercept=intercept,
        ece=ece,
        reasons=tuple(reasons),
        bounds=bounds,
    )


def estimate_performance(
    y_score: Any,
    *,
    threshold: float,
    calibration_slope: float | None = None,
    calibration_intercept: float | None = None,
    ece: float | None = None,
    level: float = 0.95,
) -> PerformanceEstimate:
    """Estimate binary performance from calibrated scores alone (CBPE).

    Parameters
    ----------
    y_score : array-like of shape (n,)
        Calibrated probabilities of the positive class, in [0, 1], for the current batch.
    threshold : float
        Operating threshold; a score ``>= threshold`` is a positive prediction.
    calibration_slope, calibration_intercept, ece : float, optional
        Validation calibration evidence, judged by :func:`calibration_acceptable`.
    level : float, default 0.95
        Carried into the result so it compares with measured results at the same level.

    Returns
    -------
    PerformanceEstimate
        With ``offered=False`` and a ``refused_reason`` when calibration was not good enough or
        the batch holds no case; otherwise expected confusion matrix and metrics.

    Raises
    ------
    MonitoringInputError
        If scores are missing, non-numeric or outside [0, 1], or ``threshold`` is not a number
        (every problem listed).

    Notes
    -----
    With ``p_i`` the calibrated probability and ``d_i = [s_i >= threshold]``:
    expected TP = sum d_i p_i, FP = sum d_i (1 - p_i), FN = sum (1 - d_i) p_i,
    TN = sum (1 - d_i)(1 - p_i). The AUC estimate is the area under the expected ROC curve
    (expected TPR and FPR at every threshold), i.e. the expected share of correctly ranked
    positive-negative pairs, ties counting one half.

    References
    ----------
    .. [1] NannyML documentation, "Confidence-based Performance Estimation (CBPE)".

    Examples
    --------
    >>> est = estimate_performance([0.9, 0.8, 0.2, 0.1], threshold=0.5,
    ...                            calibration_slope=1.0, calibration_intercept=0.0)
    >>> est.estimated, round(est.metric("sensitivity").value, 3)
    (True, 0.85)
    """
    scores = _check_scores(y_score, threshold)
    check = calibration_acceptable(
        slope=calibration_slope, intercept=calibration_intercept, ece=ece
    )
    caveats = (
        "estimate from calibrated scores: assumes the score-outcome relation is unchanged since "
        "validation (no concept drift); replace with measured performance once labels arrive",
    )

    def refused(reason: str) -> PerformanceEstimate:
        return PerformanceEstimate(
            estimated=True, offered=False, refused_reason=reason, method="cbpe",
            n=len(scores), threshold=float(threshold), level=level,
            expected_tp=None, expected_fp=None, expected_fn=None, expected_tn=None,
            metrics=(), calibration=check, caveats=caveats,
        )  # fmt: skip

    if not check.acceptable:
        return refused("validation calibration not good enough: " + "; ".join(check.reasons))
    if len(scores) == 0:
        return refused("the batch holds no scored case")

    predicted = scores >= threshold
    tp = float(scores[predicted].sum())
    fp = float((1 - scores[predicted]).sum())
    fn = float(scores[~predicted].sum())
    tn = float((1 - scores[~predicted]).sum())
    n = len(scores)

    def ratio(name: str, k: float, total: float, reason: str) -> MetricValue:
        # A denominator that is zero (or only rounding dust) leaves the metric undefined.
        if total <= 1e-12:
            return MetricValue(name, None, None, None, level, "cbpe", k, total, reason)
        return MetricValue(name, k / total, None, None, level, "cbpe", k, total)

    metrics = [
        ratio("sensitivity", tp, tp + fn, "no expected positive cases"),
        ratio("specificity", tn, tn + fp, "no expected negative cases"),
        ratio("ppv", tp, tp + fp, "no positive predictions in batch"),
        ratio("npv", tn, tn + fn, "no negative predictions in batch"),
        ratio("accuracy", tp + tn, n, "empty batch"),
        ratio("prevalence", tp + fn, n, "empty batch"),
    ]
    auc = expected_auc(scores)
    metrics.append(
        MetricValue("auc", auc, None, None, level, "cbpe", None, None,
                    None if auc is not None else "all scores are 0 or all are 1")
    )  # fmt: skip
    return PerformanceEstimate(
        estimated=True, offered=True, refused_reason=None, method="cbpe", n=n,
        threshold=float(threshold), level=level, expected_tp=tp, expected_fp=fp,
        expected_fn=fn, expected_tn=tn, metrics=tuple(metrics), calibration=check,
        caveats=caveats,
    )  # fmt: skip


def expected_auc(probabilities: Any) -> float | None:
    """Area under the expected ROC curve of calibrated probabilities.

    Sorting once by score, the expected true and false positives above each distinct score are
    cumulative sums of ``p`` and ``1 - p``; the trapezoid rule over these points counts each
    tied group one half, as the empirical AUC does.

    Returns None when all probabilities are 0 or all are 1 (no expected positive or negative).

    Examples
    --------
    >>> round(expected_auc([0.9, 0.1]), 4)
    0.9
    """
    p = np.asarray(probabilities, dtype=float)
    total_pos, total_neg = p.sum(), (1 - p).sum()
    if total_pos <= 1e-12 or total_neg <= 1e-12:
        return None
    order = np.argsort(-p, kind="stable")
    sorted_p = p[order]
    # Group ties: one ROC point per distinct score.
    boundaries = np.flatnonzero(np.diff(sorted_p)) + 1
    group_pos = np.add.reduceat(sorted_p, np.r_[0, boundaries])
    group_neg = np.add.reduceat(1 - sorted_p, np.r_[0, boundaries])
    tpr = np.r_[0.0, np.cumsum(group_pos)] / total_pos
    fpr = np.r_[0.0, np.cumsum(group_neg)] / total_neg
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _check_scores(y_score: Any, threshold: Any) -> np.ndarray:
    problems = []
    raw = pd.Series(np.asarray(y_score, dtype=object).ravel())
    scores = pd.to_numeric(raw, errors="coerce").astype(float)
    bad = scores.isna() | ~np.isfinite(scores)
    if bad.any():
        rows = ", ".join(str(i) for i in list(scores.index[bad])[:5])
        problems.append(
            f"y_score: {int(bad.sum())} missing or non-numeric values (rows {rows}); "
            "remove them first"
        )
    outside = ~bad & ((scores < 0) | (scores > 1))
    if outside.any():
        rows = ", ".join(str(i) for i in list(scores.index[outside])[:5])
        problems.append(
            f"y_score must hold probabilities in [0, 1]: {int(outside.sum())} values outside "
            f"(rows {rows})"
        )
    if not _finite(threshold):
        problems.append(f"threshold must be a number. Got {threshold!r} instead")
    if problems:
        raise MonitoringInputError(problems)
    return scores.to_numpy()


def _finite(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )
