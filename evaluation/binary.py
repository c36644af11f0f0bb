"""Binary classifier metrics: ROC AUC, metrics at a threshold, curves, Brier score.

Convention (as in the issue and in sklearn): a case is predicted positive when its score is
``>= threshold``. ``y_true`` is a boolean array (``True`` = positive), ``y_score`` a float array
of the same length, validated beforehand (:mod:`evaluation.validation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.intervals import (
    delong_interval,
    log_normal_interval,
    normal_interval,
    placement_values,
    proportion_interval,
)
from evaluation.results import Curve, MetricResult, PlainData
from evaluation.sample_size import MIN_CASES, insufficient_reason

THRESHOLD_METRICS = (
    "sensitivity",
    "specificity",
    "ppv",
    "npv",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "lr_positive",
    "lr_negative",
)


@dataclass(frozen=True)
class ConfusionCounts(PlainData):
    """Counts of a binary confusion matrix at one threshold."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        """Number of cases."""
        return self.tp + self.fp + self.fn + self.tn


def confusion_counts(
    y_true: np.ndarray, y_score: np.ndarray, *, threshold: float
) -> ConfusionCounts:
    """Count true/false positives and negatives, calling ``score >= threshold`` positive.

    Examples
    --------
    >>> confusion_counts(np.array([True, False, True]), np.array([0.8, 0.6, 0.2]), threshold=0.5)
    ConfusionCounts(tp=1, fp=1, fn=1, tn=0)
    """
    called = y_score >= threshold
    tp = int(np.count_nonzero(called & y_true))
    fp = int(np.count_nonzero(called & ~y_true))
    positives = int(np.count_nonzero(y_true))
    return ConfusionCounts(tp=tp, fp=fp, fn=positives - tp, tn=y_true.size - positives - fp)


#: Fewer cases than this in either class and an AUC is flagged as too few to conclude: the
#: minimum of :mod:`evaluation.sample_size` (lifecycle G4.3).
AUC_MIN_CLASS_SIZE = MIN_CASES


def auc_size_caveat(positives: int, negatives: int) -> str | None:
    """The caveat an AUC carries when a class has fewer than :data:`AUC_MIN_CLASS_SIZE` cases.

    Examples
    --------
    >>> print(auc_size_caveat(12, 400))
    insufficient data: 12 positive and 400 negative cases; at least 30 of each are needed to conclude, and below that the interval's coverage is not assured
    >>> auc_size_caveat(30, 30) is None
    True
    """  # noqa: E501
    reason = insufficient_reason("binary", positives + negatives, positives, AUC_MIN_CLASS_SIZE)
    if reason is None:
        return None
    return f"insufficient data: {reason}, and below that the interval's coverage is not assured"


def roc_auc_score(y_true: np.ndarray, y_score: np.ndarray, *, level: float = 0.95) -> MetricResult:
    """ROC AUC with DeLong's variance and a logit-scale interval (:func:`delong_interval`).

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
        ``True`` for a positive case.
    y_score : numpy.ndarray of float, shape (n,)
        Scores; higher means more likely positive.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    MetricResult
        ``name="auc"``; undefined when there are no positive or no negative cases. Without an
        interval (a note says why) when a class has one member or every score is tied. The
        note carries :func:`auc_size_caveat` when a class is small.

    References
    ----------
    DeLong ER et al. Biometrics 1988;44:837-845. Sun X, Xu W. IEEE SPL 2014;21:1389-1393.

    Examples
    --------
    >>> r = roc_auc_score(np.array([True, True, False, False]), np.array([0.9, 0.4, 0.4, 0.1]))
    >>> r.value, round(r.ci_low, 4), r.note[:36]
    (0.875, 0.2276, 'insufficient data: 2 positive and 2 ')
    """
    reason = _missing_class_reason(y_true)
    if reason:
        return MetricResult.undefined("auc", y_true.size, reason)
    positives = int(np.count_nonzero(y_true))
    caveat = auc_size_caveat(positives, y_true.size - positives)
    try:
        interval = delong_interval(y_true, y_score, level=level)
    except ValueError as error:
        note = "; ".join(filter(None, [f"no interval: {error}", caveat]))
        auc = placement_values(y_true, y_score).auc
        return MetricResult("auc", auc, None, int(y_true.size), note=note)
    return MetricResult("auc", interval.estimate, interval, int(y_true.size), note=caveat)


def _missing_class_reason(y_true: np.ndarray) -> str | None:
    if y_true.size == 0:
        return "no cases"
    if not y_true.any():
        return "no positive cases"
    if y_true.all():
        return "no negative cases"
    return None


def _proportion(
    name: str, successes: int, trials: int, n: int, level: float, method: str, empty: str
) -> MetricResult:
    if trials == 0:
        return MetricResult.undefined(name, n, empty)
    interval = proportion_interval(successes, trials, level=level, method=method)
    return MetricResult(name, interval.estimate, interval, n)


def threshold_metrics(
    y_true: np.ndarray,
    y_score: np.ndarray,
    *,
    threshold: float,
    level: float = 0.95,
    method: str = "wilson",
) -> dict[str, MetricResult]:
    """Metrics of the classifier at one threshold, each with an interval.

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
        ``True`` for a positive case.
    y_score : numpy.ndarray of float, shape (n,)
        Scores; ``score >= threshold`` is called positive.
    threshold : float
        Operating threshold.
    level : float, default 0.95
        Confidence level.
    method : {"wilson", "clopper-pearson"}
        Interval for the proportions (sensitivity, specificity, PPV, NPV, accuracy).

    Returns
    -------
    dict of str to MetricResult
        Keys :data:`THRESHOLD_METRICS`. Intervals: proportions by ``method``; balanced accuracy
        by a Wald interval on the sum of two independent proportions; F1 by the delta method
        on the multinomial confusion counts; likelihood ratios by the log method (Simel 1991).
        Metrics whose denominator is zero are undefined with a reason.

    References
    ----------
    Simel DL, Samsa GP, Matchar DB. Likelihood ratios with confidence: sample size estimation
    for diagnostic test studies. J Clin Epidemiol 1991;44:763-770.

    Examples
    --------
    >>> y = np.array([True, True, True, False, False, False])
    >>> s = np.array([0.9, 0.8, 0.3, 0.6, 0.2, 0.1])
    >>> m = threshold_metrics(y, s, threshold=0.5)
    >>> round(m["sensitivity"].value, 4), round(m["lr_positive"].value, 4)
    (0.6667, 2.0)
    """
    c = confusion_counts(y_true, y_score, threshold=threshold)
    n = c.n
    results = {
        "sensitivity": _proportion(
            "sensitivity", c.tp, c.tp + c.fn, n, level, method, "no positive cases"
        ),
        "specificity": _proportion(
            "specificity", c.tn, c.tn + c.fp, n, level, method, "no negative cases"
        ),
        "ppv": _proportion(
            "ppv",
            c.tp,
            c.tp + c.fp,
            n,
            level,
            method,
            f"no case called positive at threshold {threshold:g}",
        ),
        "npv": _proportion(
            "npv",
            c.tn,
            c.tn + c.fn,
            n,
            level,
            method,
            f"no case called negative at threshold {threshold:g}",
        ),
        "accuracy": _proportion("accuracy", c.tp + c.tn, n, n, level, method, "no cases"),
    }
    results["balanced_accuracy"] = _balanced_accuracy(c, level)
    results["f1"] = _f1(c, level)
    results["lr_positive"], results["lr_negative"] = _likelihood_ratios(c, level)
    return results


def _balanced_accuracy(c: ConfusionCounts, level: float) -> MetricResult:
    positives, negatives = c.tp + c.fn, c.tn + c.fp
    if positives == 0 or negatives == 0:
        reason = "no positive cases" if positives == 0 else "no negative cases"
        return MetricResult.undefined("balanced_accuracy", c.n, reason)
    sens, spec = c.tp / positives, c.tn / negatives
    # Sensitivity and specificity come from disjoint cases, so their variances add.
    se = 0.5 * np.sqrt(sens * (1 - sens) / positives + spec * (1 - spec) / negatives)
    interval = normal_interval(
        (sens + spec) / 2, float(se), level=level, method="wald", bounds=(0.0, 1.0)
    )
    note = "interval collapses: sensitivity and specificity are both 0 or 1" if se == 0 else None
    return MetricResult("balanced_accuracy", interval.estimate, interval, c.n, note=note)


def _f1(c: ConfusionCounts, level: float) -> MetricResult:
    denominator = 2 * c.tp + c.fp + c.fn
    if denominator == 0:
        return MetricResult.undefined("f1", c.n, "no positive case and no case called positive")
    f1 = 2 * c.tp / denominator
    # Delta method with multinomial counts: F1 is homogeneous of degree 0 in the cell
    # proportions, so its gradient g is orthogonal to them and var = sum(g_i^2 p_i) / n.
    p_tp, p_fp, p_fn = c.tp / c.n, c.fp / c.n, c.fn / c.n
    d = 2 * p_tp + p_fp + p_fn
    g_tp = 2 * (p_fp + p_fn) / d**2
    g_other = -2 * p_tp / d**2
    variance = (g_tp**2 * p_tp + g_other**2 * (p_fp + p_fn)) / c.n
    interval = normal_interval(
        f1,
        float(np.sqrt(variance)),
        level=level,
        method="delta (multinomial)",
        bounds=(0.0, 1.0),
    )
    return MetricResult("f1", f1, interval, c.n)


def _likelihood_ratios(c: ConfusionCounts, level: float) -> tuple[MetricResult, MetricResult]:
    positives, negatives = c.tp + c.fn, c.tn + c.fp
    if positives == 0 or negatives == 0:
        reason = "no positive cases" if positives == 0 else "no negative cases"
        return (
            MetricResult.undefined("lr_positive", c.n, reason),
            MetricResult.undefined("lr_negative", c.n, reason),
        )
    return (
        _ratio_of_proportions("lr_positive", c.tp, positives, c.fp, negatives, c.n, level),
        _ratio_of_proportions("lr_negative", c.fn, positives, c.tn, negatives, c.n, level),
    )


def _ratio_of_proportions(
    name: str, x1: int, n1: int, x2: int, n2: int, n: int, level: float
) -> MetricResult:
    if x1 == 0 or x2 == 0:
        # The log method needs both counts; a zero gives 0 or infinity with no finite bounds.
        which = "numerator" if x1 == 0 else "denominator"
        return MetricResult.undefined(
            name,
            n,
            f"the {which} count is 0, so the ratio is {'0' if x1 == 0 else 'infinite'} "
            "and the log-method interval is undefined",
        )
    ratio = (x1 / n1) / (x2 / n2)
    log_se = np.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    interval = log_normal_interval(ratio, float(log_se), level=level, method="log (Simel 1991)")
    return MetricResult(name, ratio, interval, n)


def brier_score_loss(
    y_true: np.ndarray, y_prob: np.ndarray, *, level: float = 0.95
) -> MetricResult:
    """Brier score (mean squared error of the probability) with a normal interval.

    The Brier score is a mean of independent squared errors, so its interval is the
    central-limit one, ``mean +/- z * sd / sqrt(n)``, clipped to [0, 1].

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
    y_prob : numpy.ndarray of float, shape (n,)
        Predicted probabilities of the positive class.
    level : float, default 0.95

    Returns
    -------
    MetricResult
        ``name="brier"``.

    References
    ----------
    Brier GW. Verification of forecasts expressed in terms of probability. Mon Weather Rev
    1950;78:1-3.

    Examples
    --------
    >>> round(brier_score_loss(np.array([True, False]), np.array([0.8, 0.4])).value, 4)
    0.1
    """
    if y_true.size == 0:
        return MetricResult.undefined("brier", 0, "no cases")
    squared = (y_prob - y_true) ** 2
    estimate = float(squared.mean())
    se = float(squared.std(ddof=1) / np.sqrt(squared.size)) if squared.size > 1 else 0.0
    interval = normal_interval(
        estimate, se, level=level, method="normal (mean of squared errors)", bounds=(0.0, 1.0)
    )
    return MetricResult("brier", estimate, interval, int(y_true.size))


def _counts_at_or_above(sorted_values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    return sorted_values.size - np.searchsorted(sorted_values, thresholds, side="left")


def _curve(
    name: str, x: np.ndarray, y: np.ndarray, thresholds: np.ndarray, max_points: int | None
) -> Curve:
    if max_points is not None and x.size > max_points:
        # Evenly spaced points by index, first and last kept, so the curve's ends are exact;
        # thinning before the conversion to tuples saves most of the time on large samples.
        keep = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(int))
        x, y, thresholds = x[keep], y[keep], thresholds[keep]
    return Curve(name, tuple(x.tolist()), tuple(y.tolist()), tuple(thresholds.tolist()))


def roc_curve(y_true: np.ndarray, y_score: np.ndarray, *, max_points: int | None = None) -> Curve:
    """ROC curve at every distinct score, from (0, 0) to (1, 1).

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
        Both classes must be present.
    y_score : numpy.ndarray of float, shape (n,)
    max_points : int, optional
        Keep at most this many points, evenly spaced by index, first and last included.

    Returns
    -------
    Curve
        ``x`` false positive rate, ``y`` true positive rate, thresholds decreasing (the first
        is ``inf``: nothing called positive).

    Examples
    --------
    >>> c = roc_curve(np.array([True, False, True]), np.array([0.9, 0.5, 0.5]))
    >>> c.x, c.y
    ((0.0, 0.0, 1.0), (0.0, 0.5, 1.0))
    """
    cases = np.sort(y_score[y_true])
    controls = np.sort(y_score[~y_true])
    thresholds = np.unique(y_score)[::-1]
    tpr = _counts_at_or_above(cases, thresholds) / cases.size
    fpr = _counts_at_or_above(controls, thresholds) / controls.size
    return _curve(
        "roc",
        np.concatenate([[0.0], fpr]),
        np.concatenate([[0.0], tpr]),
        np.concatenate([[np.inf], thresholds]),
        max_points,
    )


def precision_recall_curve(
    y_true: np.ndarray, y_score: np.ndarray, *, max_points: int | None = None
) -> Curve:
    """Precision-recall curve at every distinct score, highest threshold first.

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
        At least one positive case.
    y_score : numpy.ndarray of float, shape (n,)
    max_points : int, optional
        Keep at most this many points, evenly spaced by index, first and last included.

    Returns
    -------
    Curve
        ``x`` recall, ``y`` precision, thresholds decreasing.

    Examples
    --------
    >>> c = precision_recall_curve(np.array([True, False, True]), np.array([0.9, 0.5, 0.4]))
    >>> c.x, [round(p, 4) for p in c.y]
    ((0.5, 0.5, 1.0), [1.0, 0.5, 0.6667])
    """
    cases = np.sort(y_score[y_true])
    controls = np.sort(y_score[~y_true])
    thresholds = np.unique(y_score)[::-1]
    tp = _counts_at_or_above(cases, thresholds)
    fp = _counts_at_or_above(controls, thresholds)
    return _curve("precision_recall", tp / cases.size, tp / (tp + fp), thresholds, max_points)


def average_precision_score(y_true: np.ndarray, y_score: np.ndarray) -> MetricResult:
    """Average precision: ``sum_k (R_k - R_{k-1}) P_k`` over decreasing thresholds.

    Only thresholds equal to a positive case's score change recall, so the sum runs over the
    distinct scores of positive cases (sorted separately, no sort of the whole sample). No
    interval is given.

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
    y_score : numpy.ndarray of float, shape (n,)

    Returns
    -------
    MetricResult
        ``name="average_precision"``, the same definition as scikit-learn's.

    Examples
    --------
    >>> r = average_precision_score(np.array([True, False, True]), np.array([0.9, 0.5, 0.4]))
    >>> round(r.value, 4)
    0.8333
    """
    if not y_true.any():
        return MetricResult.undefined("average_precision", y_true.size, "no positive cases")
    cases = np.sort(y_score[y_true])
    controls = np.sort(y_score[~y_true])
    levels = np.unique(cases)[::-1]
    tp = _counts_at_or_above(cases, levels)
    fp = _counts_at_or_above(controls, levels)
    recall_steps = np.diff(np.concatenate([[0], tp])) / cases.size
    value = float(np.sum(recall_steps * tp / (tp + fp)))
    return MetricResult(
        "average_precision",
        value,
        None,
        int(y_true.size),
        note="no interval: average precision has no standard closed-form interval",
    )


@dataclass(frozen=True)
class ThresholdRow(PlainData):
    """Operating characteristics at one threshold (point estimates)."""

    threshold: float
    called_positive: int
    sensitivity: float | None
    specificity: float | None
    ppv: float | None
    npv: float | None


def threshold_table(
    y_true: np.ndarray, y_score: np.ndarray, thresholds: Sequence[float]
) -> tuple[ThresholdRow, ...]:
    """Sensitivity, specificity, PPV and NPV at each threshold, for choosing an operating point.

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
    y_score : numpy.ndarray of float, shape (n,)
    thresholds : sequence of float

    Returns
    -------
    tuple of ThresholdRow
        One row per threshold, in the given order; a ratio with a zero denominator is ``None``.

    Examples
    --------
    >>> rows = threshold_table(np.array([True, False]), np.array([0.7, 0.2]), [0.5])
    >>> rows[0].sensitivity, rows[0].specificity
    (1.0, 1.0)
    """
    cases = np.sort(y_score[y_true])
    controls = np.sort(y_score[~y_true])
    grid = np.asarray(thresholds, dtype=float)
    tp = _counts_at_or_above(cases, grid)
    fp = _counts_at_or_above(controls, grid)
    fn, tn = cases.size - tp, controls.size - fp

    def ratio(a: int, b: int) -> float | None:
        return None if b == 0 else a / b

    return tuple(
        ThresholdRow(
            float(t),
            int(tp_ + fp_),
            ratio(tp_, tp_ + fn_),
            ratio(tn_, tn_ + fp_),
            ratio(tp_, tp_ + fp_),
            ratio(tn_, tn_ + fn_),
        )
        for t, tp_, fp_, fn_, tn_ in zip(
            grid, tp.tolist(), fp.tolist(), fn.tolist(), tn.tolist(), strict=True
        )
    )
