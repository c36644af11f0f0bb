"""Multiclass metrics: confusion matrix, one-vs-rest metrics, kappa, macro F1, macro AUC,
calibration of the class probabilities and the multiclass Brier score.

Labels are integer codes ``0..k-1`` into a declared label tuple (see
:mod:`evaluation.validation`); the code order is the ordinal order used by weighted kappa.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.binary import threshold_metrics
from evaluation.bootstrap import (
    BOOTSTRAP_METHODS,
    PreparedStatistic,
    auc_statistic,
    bootstrap_interval,
    confusion_statistic,
)
from evaluation.calibration import CalibrationResult, calibration
from evaluation.intervals import normal_interval, placement_values, proportion_interval
from evaluation.results import MetricResult, PlainData

KAPPA_WEIGHTS = (None, "linear", "quadratic")
PER_CLASS_METRICS = ("sensitivity", "specificity", "ppv", "npv", "f1")


@dataclass(frozen=True)
class ConfusionMatrix(PlainData):
    """Counts with rows the reference label and columns the predicted label."""

    labels: tuple
    counts: tuple[tuple[int, ...], ...]


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, labels: tuple) -> ConfusionMatrix:
    """Confusion matrix of integer-coded labels.

    Examples
    --------
    >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 0, 1]), ("a", "b")).counts
    ((1, 0), (1, 1))
    """
    k = len(labels)
    counts = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(k, k)
    return ConfusionMatrix(labels, tuple(tuple(int(v) for v in row) for row in counts))


def _disagreement(k: int, weights: str | None) -> np.ndarray:
    i, j = np.indices((k, k))
    if weights is None:
        return (i != j).astype(float)
    if weights == "linear":
        return np.abs(i - j).astype(float)
    if weights == "quadratic":
        return ((i - j) ** 2).astype(float)
    raise ValueError(f"weights must be one of {KAPPA_WEIGHTS}. Got {weights!r} instead.")


def kappa_from_matrices(matrices: np.ndarray, weights: str | None = None) -> np.ndarray:
    """Cohen's kappa of a stack of confusion matrices, shape (b, k, k) -> (b,).

    ``kappa = 1 - sum(d * O) / sum(d * E)`` with ``d`` the disagreement weights (0/1, linear
    ``|i - j|`` or quadratic ``(i - j)^2``) and ``E`` the outer product of the margins over n.

    Examples
    --------
    >>> kappa_from_matrices(np.array([[[5.0, 0.0], [0.0, 5.0]]])).tolist()
    [1.0]
    """
    d = _disagreement(matrices.shape[-1], weights)
    total = matrices.sum(axis=(1, 2))
    expected = matrices.sum(axis=2)[:, :, None] * matrices.sum(axis=1)[:, None, :]
    expected = expected / total[:, None, None]
    return 1.0 - (d * matrices).sum(axis=(1, 2)) / (d * expected).sum(axis=(1, 2))


def macro_f1_from_matrices(matrices: np.ndarray) -> np.ndarray:
    """Macro F1 (unweighted mean of per-class F1; a class with no support and no prediction
    counts 0, as in scikit-learn's ``zero_division=0``) of a stack of confusion matrices.

    Examples
    --------
    >>> macro_f1_from_matrices(np.array([[[2.0, 0.0], [1.0, 1.0]]])).round(4).tolist()
    [0.7333]
    """
    tp = np.diagonal(matrices, axis1=1, axis2=2)
    denominator = matrices.sum(axis=2) + matrices.sum(axis=1)
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp, dtype=float), where=denominator > 0)
    return f1.mean(axis=1)


def cohen_kappa_score(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    labels: tuple,
    *,
    weights: str | None = None,
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    bootstrap_method: str = "bca",
) -> MetricResult:
    """Cohen's kappa (unweighted, linear or quadratic weights) with a bootstrap interval.

    Parameters
    ----------
    y_true, y_pred : numpy.ndarray of int, shape (n,)
        Codes into ``labels`` (ordinal order for weighted kappa).
    labels : tuple
        Declared labels.
    weights : {None, "linear", "quadratic"}
    level, n_resamples, seed, bootstrap_method
        Interval options (stratified by reference label).

    Returns
    -------
    MetricResult
        ``name`` is ``"cohen_kappa"``, ``"linear_weighted_kappa"`` or
        ``"quadratic_weighted_kappa"``; undefined when chance agreement is perfect (every
        case in one reference and one predicted class).

    References
    ----------
    Cohen J. Weighted kappa. Psychol Bull 1968;70:213-220.

    Examples
    --------
    >>> r = cohen_kappa_score(np.array([0, 1, 2, 2]), np.array([0, 1, 2, 1]), (1, 2, 3),
    ...                       weights="quadratic", n_resamples=200)
    >>> round(r.value, 4)
    0.8
    """
    name = {None: "cohen_kappa", "linear": "linear_weighted_kappa"}.get(
        weights, "quadratic_weighted_kappa"
    )

    def function(m: np.ndarray) -> np.ndarray:
        return kappa_from_matrices(m, weights)

    return _confusion_metric(
        name, function, y_true, y_pred, len(labels), level, n_resamples, seed, bootstrap_method
    )


def macro_f1_score(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    labels: tuple,
    *,
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    bootstrap_method: str = "bca",
) -> MetricResult:
    """Macro-averaged F1 with a bootstrap interval (stratified by reference label).

    Examples
    --------
    >>> r = macro_f1_score(np.array([0, 0, 1, 1]), np.array([0, 0, 0, 1]), ("a", "b"),
    ...                    n_resamples=200)
    >>> round(r.value, 4)
    0.7333
    """
    return _confusion_metric(
        "macro_f1",
        macro_f1_from_matrices,
        y_true,
        y_pred,
        len(labels),
        level,
        n_resamples,
        seed,
        bootstrap_method,
    )


def _confusion_metric(
    name, function, y_true, y_pred, k, level, n_resamples, seed, bootstrap_method
) -> MetricResult:
    n = int(y_true.size)
    matrix = np.bincount(y_true * k + y_pred, minlength=k * k).reshape(1, k, k).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        value = float(function(matrix)[0])
    if not np.isfinite(value):
        return MetricResult.undefined(
            name, n, "chance agreement is complete (one reference and one predicted class)"
        )
    try:
        interval = bootstrap_interval(
            confusion_statistic(function, k),
            y_true,
            y_pred,
            n_resamples=n_resamples,
            level=level,
            method=bootstrap_method,
            seed=seed,
        )
    except ValueError as error:
        return MetricResult(name, value, None, n, note=f"no interval: {error}")
    return MetricResult(name, value, interval, n)


def accuracy_score(
    y_true: np.ndarray, y_pred: np.ndarray, *, level: float = 0.95, method: str = "wilson"
) -> MetricResult:
    """Share of cases whose predicted label equals the reference, with a proportion interval.

    Examples
    --------
    >>> accuracy_score(np.array([0, 1, 2]), np.array([0, 1, 1])).value
    0.6666666666666666
    """
    n = int(y_true.size)
    interval = proportion_interval(int(np.sum(y_true == y_pred)), n, level=level, method=method)
    return MetricResult("accuracy", interval.estimate, interval, n)


def per_class_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    labels: tuple,
    *,
    level: float = 0.95,
    method: str = "wilson",
) -> dict[str, dict[str, MetricResult]]:
    """One-vs-rest sensitivity, specificity, PPV, NPV and F1 of each class, with intervals.

    Returns
    -------
    dict
        ``{str(label): {metric: MetricResult}}`` for metrics :data:`PER_CLASS_METRICS`.

    Examples
    --------
    >>> m = per_class_metrics(np.array([0, 1, 1]), np.array([0, 1, 0]), ("AF", "NSR"))
    >>> m["NSR"]["sensitivity"].value
    0.5
    """
    result = {}
    for code, label in enumerate(labels):
        metrics = threshold_metrics(
            y_true == code,
            (y_pred == code).astype(float),
            threshold=0.5,
            level=level,
            method=method,
        )
        result[str(label)] = {name: metrics[name] for name in PER_CLASS_METRICS}
    return result


def _ovr_auc_statistic(average: str):
    def statistic(y_true: np.ndarray, y_score: np.ndarray) -> PreparedStatistic:
        n, k = y_score.shape
        parts = [auc_statistic(y_true == c, y_score[:, c]) for c in range(k)]
        sizes = np.bincount(y_true, minlength=k)
        # The stratified bootstrap keeps every class size, so the weights are constants there.
        share = np.full(k, 1.0 / k) if average == "macro" else sizes / n

        def evaluate(counts: np.ndarray) -> np.ndarray:
            return sum(w * p.evaluate(counts) for w, p in zip(share, parts, strict=True))

        def jackknife() -> np.ndarray:
            return _ovr_auc_jackknife(y_true, y_score, sizes, average)

        return PreparedStatistic(evaluate, jackknife)

    return statistic


def _ovr_auc_jackknife(
    y_true: np.ndarray, y_score: np.ndarray, sizes: np.ndarray, average: str
) -> np.ndarray:
    """The averaged one-vs-rest AUC with each row left out once, from placement values.

    Row ``r`` is a case of its own class and a control of every other class, so leaving it
    out changes every class's AUC: ``(m * auc - V10_r) / (m - 1)`` for its class (``m``
    cases), ``(q * auc - V01_r) / (q - 1)`` for the others (``q`` controls), as in
    :func:`evaluation.bootstrap.auc_statistic`. The prevalence weights also change:
    ``(n_c - [y_r = c]) / (n - 1)``. A class of one case has no AUC without it: NaN.
    """
    n, k = y_score.shape
    left_out = np.empty((n, k))
    for c in range(k):
        own = y_true == c
        p = placement_values(own, y_score[:, c], in_input_order=True)
        # Summed in sorted order, so the AUC does not depend on the row order to the last bit.
        auc = float(np.sort(p.cases).mean())
        m, q = p.cases.size, p.controls.size
        with np.errstate(invalid="ignore", divide="ignore"):
            left_out[own, c] = (m * auc - p.cases) / (m - 1) if m > 1 else np.nan
            left_out[~own, c] = (q * auc - p.controls) / (q - 1)
    if average == "macro":
        return left_out.mean(axis=1)
    weights = np.broadcast_to(sizes.astype(float), (n, k)).copy()
    weights[np.arange(n), y_true] -= 1.0
    return np.einsum("ij,ij->i", weights, left_out) / (n - 1)


def ovr_auc_score(
    y_true: np.ndarray,
    y_score: np.ndarray,
    labels: tuple,
    *,
    average: str = "macro",
    level: float = 0.95,
    n_resamples: int = 2000,
    seed: int = 0,
    bootstrap_method: str = "bca",
) -> MetricResult:
    """One-vs-rest ROC AUC averaged over classes, with a stratified bootstrap interval.

    Parameters
    ----------
    y_true : numpy.ndarray of int, shape (n,)
        Reference codes; every class must be present.
    y_score : numpy.ndarray of float, shape (n, k)
        Probability of each class, columns in label order.
    labels : tuple
    average : {"macro", "weighted"}
        Unweighted mean, or weighted by class prevalence.
    level, n_resamples, seed, bootstrap_method
        Interval options (stratified by reference label). BCa by default, as for kappa and
        macro F1: its acceleration comes from the exact leave-one-out values of the averaged
        AUC (DeLong placement values). With 30 cases per class the percentile interval is too
        narrow (``bench/coverage.py``).

    Returns
    -------
    MetricResult
        ``name`` ``"macro_auc"`` or ``"weighted_auc"``; the interval's ``method`` names the
        bootstrap kind. No interval, with a note, when it is undefined: BCa with a class of a
        single case (leaving it out leaves the class without an AUC).

    Examples
    --------
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> p = np.eye(3)[[0, 1, 2, 0, 2, 2]] * 0.8 + 0.2 / 3
    >>> r = ovr_auc_score(y, p, ("a", "b", "c"), n_resamples=200)
    >>> round(r.value, 4), r.interval.method
    (0.875, 'bootstrap-bca (200 stratified resamples, seed 0)')
    """
    name = f"{average}_auc"
    n = int(y_true.size)
    absent = [str(labels[c]) for c in range(len(labels)) if not np.any(y_true == c)]
    if absent:
        return MetricResult.undefined(name, n, f"no reference cases of class {', '.join(absent)}")
    if bootstrap_method not in BOOTSTRAP_METHODS:
        raise ValueError(
            f"bootstrap_method must be one of {BOOTSTRAP_METHODS}. "
            f"Got {bootstrap_method!r} instead."
        )
    statistic = _ovr_auc_statistic(average)
    try:
        interval = bootstrap_interval(
            statistic,
            y_true,
            y_score,
            n_resamples=n_resamples,
            level=level,
            method=bootstrap_method,
            seed=seed,
        )
    except ValueError as error:
        ones = np.ones((1, n), dtype=np.int64)
        value = float(statistic(y_true, y_score).evaluate(ones)[0])
        return MetricResult(name, value, None, n, note=f"no interval: {error}")
    return MetricResult(name, interval.estimate, interval, n)


@dataclass(frozen=True)
class MulticlassCalibrationResult(PlainData):
    """Calibration of class probabilities: each class one-vs-rest, and two summaries.

    Attributes
    ----------
    per_class : dict of str to CalibrationResult
        Per class label, ``P(class)`` judged against ``y == class`` by
        :func:`evaluation.calibration.calibration` (quantile reliability curve, ECE,
        calibration intercept and slope, O/E).
    classwise_ece : MetricResult
        Unweighted mean of the per-class ECEs.
    brier : MetricResult
        Multiclass Brier score (see :func:`brier_score_loss`).
    """

    per_class: dict[str, CalibrationResult]
    classwise_ece: MetricResult
    brier: MetricResult


def brier_score_loss(
    y_true: np.ndarray, y_score: np.ndarray, *, level: float = 0.95
) -> MetricResult:
    """Multiclass Brier score ``mean_i sum_k (p_ik - [y_i = k])^2`` with a normal interval.

    Brier's original definition: 0 is perfect, 2 the worst (all probability on a wrong
    class); for two classes it is twice the binary Brier score. The per-case losses are
    independent, so the interval is the central-limit one, clipped to [0, 2].

    Parameters
    ----------
    y_true : numpy.ndarray of int, shape (n,)
        Reference codes.
    y_score : numpy.ndarray of float, shape (n, k)
        Probability of each class, columns in label order.
    level : float, default 0.95

    Returns
    -------
    MetricResult
        ``name="multiclass_brier"``.

    References
    ----------
    Brier GW. Verification of forecasts expressed in terms of probability. Mon Weather Rev
    1950;78:1-3.

    Examples
    --------
    >>> p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    >>> round(brier_score_loss(np.array([0, 1]), p).value, 4)
    0.5
    """
    n = int(y_true.size)
    if n == 0:
        return MetricResult.undefined("multiclass_brier", 0, "no cases")
    # sum_k (p_k - y_k)^2 = sum_k p_k^2 - 2 p_true + 1, without an (n, k) one-hot matrix.
    squared = np.einsum("ij,ij->i", y_score, y_score) - 2.0 * y_score[np.arange(n), y_true] + 1.0
    estimate = float(squared.mean())
    se = float(squared.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    interval = normal_interval(
        estimate, se, level=level, method="normal (mean of squared errors)", bounds=(0.0, 2.0)
    )
    return MetricResult("multiclass_brier", estimate, interval, n)


def multiclass_calibration(
    y_true: np.ndarray,
    y_score: np.ndarray,
    labels: tuple,
    *,
    n_bins: int = 10,
    level: float = 0.95,
) -> MulticlassCalibrationResult:
    """Calibration of class probabilities, each class against the rest, and its summaries.

    Each class's probability column is a binary probability of "this class", so the binary
    measures apply as they are (classwise calibration); the classwise ECE averages their ECEs
    with equal weight per class, so a rare class counts as much as a common one.

    Parameters
    ----------
    y_true : numpy.ndarray of int, shape (n,)
        Reference codes into ``labels``.
    y_score : numpy.ndarray of float, shape (n, k)
        Probability of each class, columns in label order.
    labels : tuple
    n_bins : int, default 10
        Quantile bins of each reliability curve.
    level : float, default 0.95

    Returns
    -------
    MulticlassCalibrationResult

    References
    ----------
    Kull M, Perello-Nieto M, Kängsepp M, et al. Beyond temperature scaling: obtaining
    well-calibrated multiclass probabilities with Dirichlet calibration. NeurIPS 2019.

    Examples
    --------
    >>> y = np.array([0, 1, 2, 0, 1, 2])
    >>> p = np.eye(3)[[0, 1, 2, 0, 2, 2]] * 0.8 + 0.2 / 3
    >>> result = multiclass_calibration(y, p, ("a", "b", "c"), n_bins=2)
    >>> sorted(result.per_class), round(result.brier.value, 4)
    (['a', 'b', 'c'], 0.2933)
    """
    per_class = {
        str(label): calibration(y_true == code, y_score[:, code], n_bins=n_bins, level=level)
        for code, label in enumerate(labels)
    }
    n = int(y_true.size)
    if n == 0:
        classwise = MetricResult.undefined("classwise_ece", 0, "no cases")
    else:
        classwise = MetricResult(
            "classwise_ece",
            float(np.mean([c.ece.value for c in per_class.values()])),
            None,
            n,
            note=f"mean of {len(per_class)} one-vs-rest ECEs (quantile bins); no interval",
        )
    return MulticlassCalibrationResult(
        per_class, classwise, brier_score_loss(y_true, y_score, level=level)
    )
