"""Confidence intervals with closed forms: proportions, normal approximations and DeLong's AUC.

Bootstrap intervals, for statistics without a closed form, live in :mod:`evaluation.bootstrap`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from evaluation.results import Interval

PROPORTION_METHODS = ("wilson", "clopper-pearson")


def _z(level: float) -> float:
    return float(special.ndtri(0.5 + level / 2.0))


def wilson_interval(successes: int, n: int, *, level: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion.

    Parameters
    ----------
    successes : int
        Number of successes, ``0 <= successes <= n``.
    n : int
        Number of trials, ``n >= 1``.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
        Estimate ``successes / n`` with Wilson bounds, ``method="wilson"``.

    References
    ----------
    Wilson EB. Probable inference, the law of succession, and statistical inference.
    J Am Stat Assoc 1927;22:209-212.

    Examples
    --------
    >>> iv = wilson_interval(8, 10)
    >>> round(iv.lower, 4), round(iv.upper, 4)
    (0.4902, 0.9433)
    """
    p = successes / n
    z = _z(level)
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # Clip rounding noise so the bounds never leave [0, 1] or exclude the estimate.
    lower = min(max(0.0, centre - half), p)
    upper = max(min(1.0, centre + half), p)
    return Interval(float(p), float(lower), float(upper), level, "wilson")


def clopper_pearson_interval(successes: int, n: int, *, level: float = 0.95) -> Interval:
    """Clopper-Pearson ("exact") interval for a binomial proportion, from beta quantiles.

    Parameters
    ----------
    successes : int
        Number of successes, ``0 <= successes <= n``.
    n : int
        Number of trials, ``n >= 1``.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
        Estimate ``successes / n`` with exact bounds, ``method="clopper-pearson"``.

    References
    ----------
    Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated in the case
    of the binomial. Biometrika 1934;26:404-413.

    Examples
    --------
    >>> iv = clopper_pearson_interval(0, 10)
    >>> iv.lower, round(iv.upper, 4)
    (0.0, 0.3085)
    """
    alpha = 1.0 - level
    lower = 0.0 if successes == 0 else stats.beta.ppf(alpha / 2, successes, n - successes + 1)
    upper = 1.0 if successes == n else stats.beta.ppf(1 - alpha / 2, successes + 1, n - successes)
    return Interval(successes / n, float(lower), float(upper), level, "clopper-pearson")


def proportion_interval(
    successes: int, n: int, *, level: float = 0.95, method: str = "wilson"
) -> Interval:
    """Interval for a binomial proportion by the named method.

    Parameters
    ----------
    successes, n : int
        Successes and trials, ``n >= 1``.
    level : float, default 0.95
        Confidence level.
    method : {"wilson", "clopper-pearson"}
        Wilson is the default: its coverage is close to nominal; Clopper-Pearson guarantees at
        least nominal coverage and is wider.

    Returns
    -------
    Interval

    Raises
    ------
    ValueError
        If ``method`` is not one of :data:`PROPORTION_METHODS`.

    Examples
    --------
    >>> proportion_interval(5, 10, method="clopper-pearson").method
    'clopper-pearson'
    """
    if method == "wilson":
        return wilson_interval(successes, n, level=level)
    if method == "clopper-pearson":
        return clopper_pearson_interval(successes, n, level=level)
    raise ValueError(f"method must be one of {PROPORTION_METHODS}. Got {method!r} instead.")


def normal_interval(
    estimate: float,
    standard_error: float,
    *,
    level: float = 0.95,
    method: str,
    bounds: tuple[float, float] = (-np.inf, np.inf),
) -> Interval:
    """Symmetric Wald interval ``estimate +/- z * standard_error``, clipped to ``bounds``.

    Parameters
    ----------
    estimate, standard_error : float
        Point estimate and its standard error.
    level : float, default 0.95
        Confidence level.
    method : str
        Name recorded in the result (e.g. ``"delong"``).
    bounds : tuple of float, default (-inf, inf)
        Range of the parameter; bounds outside it are clipped (e.g. ``(0, 1)`` for an AUC).

    Returns
    -------
    Interval

    Examples
    --------
    >>> iv = normal_interval(0.9, 0.05, method="delong", bounds=(0.0, 1.0))
    >>> round(iv.lower, 4), round(iv.upper, 4)
    (0.802, 0.998)
    """
    half = _z(level) * standard_error
    lower = float(np.clip(estimate - half, *bounds))
    upper = float(np.clip(estimate + half, *bounds))
    return Interval(float(estimate), lower, upper, level, method)


def log_normal_interval(
    estimate: float, log_standard_error: float, *, level: float = 0.95, method: str
) -> Interval:
    """Interval for a positive ratio built on the log scale: ``estimate * exp(+/- z * se)``.

    Parameters
    ----------
    estimate : float
        A positive ratio (likelihood ratio, observed/expected).
    log_standard_error : float
        Standard error of ``log(estimate)``.
    level : float, default 0.95
        Confidence level.
    method : str
        Name recorded in the result.

    Returns
    -------
    Interval

    Examples
    --------
    >>> iv = log_normal_interval(2.0, 0.1, method="log")
    >>> round(iv.lower, 4), round(iv.upper, 4)
    (1.644, 2.433)
    """
    half = _z(level) * log_standard_error
    return Interval(
        float(estimate),
        float(estimate * np.exp(-half)),
        float(estimate * np.exp(half)),
        level,
        method,
    )


@dataclass(frozen=True)
class Placements:
    """DeLong placement values of one score against one binary outcome.

    Attributes
    ----------
    auc : float
        Area under the ROC curve (ties count one half).
    cases : numpy.ndarray, shape (n_cases,)
        ``V10``: for each case, the share of controls scored below it (ties
        one half).
    controls : numpy.ndarray, shape (n_controls,)
        ``V01``: for each control, the share of cases scored above it (ties
        one half).

    Both arrays are in input order or in score order, as requested from
    :func:`placement_values`.
    """

    auc: float
    cases: np.ndarray
    controls: np.ndarray

    @property
    def variance(self) -> float:
        """DeLong variance of the AUC: ``var(V10)/m + var(V01)/n`` with ``ddof=1``."""
        return _placement_variance(self.cases) + _placement_variance(self.controls)


def _placement_variance(values: np.ndarray) -> float:
    # One case (or one control) carries no variability information; DeLong's formula divides
    # by (m - 1), so its share is taken as 0 rather than NaN.
    if values.size < 2:
        return 0.0
    return float(np.var(values, ddof=1) / values.size)


def placement_values(
    y_true: np.ndarray, y_score: np.ndarray, *, in_input_order: bool = False
) -> Placements:
    """Compute DeLong placement values in O(n log n).

    Cases and controls are sorted separately (``np.sort``, much faster than ``argsort`` on
    the whole sample) and each case is located among the controls, and each control among the
    cases, with two binary searches; the half-sum of the left and right insertion points is
    the midrank count of Sun and Xu's algorithm.

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
        ``True`` for a case (positive), ``False`` for a control.
    y_score : numpy.ndarray of float, shape (n,)
        Scores; higher means more likely positive.
    in_input_order : bool, default False
        Return placement values in the input order of cases and of controls, as a paired
        comparison of two scores needs. Otherwise they come in score order, which gives the
        same AUC and variance and is several times faster (binary searches of sorted queries
        stay in cache).

    Returns
    -------
    Placements

    Raises
    ------
    ValueError
        If there are no cases or no controls.

    References
    ----------
    DeLong ER, DeLong DM, Clarke-Pearson DL. Comparing the areas under two or more correlated
    receiver operating characteristic curves. Biometrics 1988;44:837-845.
    Sun X, Xu W. Fast implementation of DeLong's algorithm for comparing the areas under
    correlated receiver operating characteristic curves. IEEE Signal Process Lett
    2014;21:1389-1393.

    Examples
    --------
    >>> y = np.array([True, True, False, False])
    >>> p = placement_values(y, np.array([0.4, 0.9, 0.4, 0.1]), in_input_order=True)
    >>> p.auc, p.cases.tolist(), p.controls.tolist()
    (0.875, [0.75, 1.0], [0.75, 1.0])
    """
    case_scores = y_score[y_true]
    control_scores = y_score[~y_true]
    if case_scores.size == 0 or control_scores.size == 0:
        raise ValueError("placement values need at least one case and one control")
    sorted_cases = np.sort(case_scores)
    sorted_controls = np.sort(control_scores)
    case_queries = case_scores if in_input_order else sorted_cases
    control_queries = control_scores if in_input_order else sorted_controls
    below = np.searchsorted(sorted_controls, case_queries, side="left")
    not_above = np.searchsorted(sorted_controls, case_queries, side="right")
    v10 = (below + not_above) / (2.0 * sorted_controls.size)
    not_below = np.searchsorted(sorted_cases, control_queries, side="left")
    at_most = np.searchsorted(sorted_cases, control_queries, side="right")
    v01 = 1.0 - (not_below + at_most) / (2.0 * sorted_cases.size)
    return Placements(float(v10.mean()), v10, v01)


def delong_interval(y_true: np.ndarray, y_score: np.ndarray, *, level: float = 0.95) -> Interval:
    """ROC AUC with DeLong's variance and an interval built on the logit scale.

    With ``A`` the AUC and ``V`` DeLong's variance (:attr:`Placements.variance`), the delta
    method gives ``se(logit A) = sqrt(V) / (A (1 - A))`` and the interval is::

        expit(logit(A) - z * sqrt(V) / (A (1 - A))),  expit(logit(A) + z * sqrt(V) / (A (1 - A)))

    The AUC is bounded and its sampling distribution is skewed away from the nearer bound, so
    the symmetric Wald interval ``A +/- z sqrt(V)`` misses too often on the long side (93% at
    50 cases, 91% at 15 per class, for a 95% interval at AUC 0.8: ``bench/coverage.py``); the
    logit interval is asymmetric, stays inside (0, 1) and is close to nominal there.

    At ``A = 1`` (perfect separation) ``V`` is 0 and the logit is infinite. Every one of
    ``k = min(m, n)`` disjoint case-control pairs is then concordant, which for a true AUC
    ``theta`` has probability at most ``theta ** k``: the lower bound is ``(alpha / 2) **
    (1 / k)`` (the Clopper-Pearson bound of ``k`` successes in ``k`` trials), whatever the
    score distributions; the upper bound is 1. ``A = 0`` is the mirror image.

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
        ``True`` for a case, ``False`` for a control; both must be present.
    y_score : numpy.ndarray of float, shape (n,)
        Scores; higher means more likely positive.
    level : float, default 0.95
        Confidence level.

    Returns
    -------
    Interval
        ``method="delong-logit"``, or ``"separation bound (k disjoint pairs)"`` when ``A`` is
        0 or 1.

    Raises
    ------
    ValueError
        If a class has a single member and the AUC is not 0 or 1 (DeLong's variance needs the
        spread of at least two placement values per class), or if every score is tied (the
        variance is 0 and says nothing of the uncertainty).

    References
    ----------
    DeLong et al. 1988 (see :func:`placement_values`). Pepe MS. The Statistical Evaluation of
    Medical Tests for Classification and Prediction. Oxford University Press, 2003 (logit
    interval). Qin G, Hotilovac L. Comparison of non-parametric confidence intervals for the
    area under the ROC curve of a continuous-scale diagnostic test. Stat Methods Med Res
    2008;17:207-221.

    Examples
    --------
    >>> y = np.array([True, True, True, False, False, False])
    >>> iv = delong_interval(y, np.array([0.9, 0.4, 0.7, 0.4, 0.1, 0.5]))
    >>> iv.estimate, round(iv.lower, 4), round(iv.upper, 4), iv.method
    (0.8333333333333334, 0.2485, 0.9869, 'delong-logit')
    """
    placements = placement_values(y_true, y_score)
    auc = placements.auc
    cases, controls = placements.cases.size, placements.controls.size
    if auc in (0.0, 1.0):
        pairs = min(cases, controls)
        bound = ((1.0 - level) / 2.0) ** (1.0 / pairs)
        lower, upper = (bound, 1.0) if auc == 1.0 else (0.0, 1.0 - bound)
        label = f"separation bound ({pairs} disjoint pair{'s' if pairs > 1 else ''})"
        return Interval(auc, lower, upper, level, label)
    if cases < 2 or controls < 2:
        raise ValueError(
            f"DeLong's variance needs at least 2 cases and 2 controls. Got {cases} case(s) and "
            f"{controls} control(s)"
        )
    if placements.variance == 0:
        raise ValueError("every score is tied: DeLong's variance is 0")
    half = _z(level) * np.sqrt(placements.variance) / (auc * (1.0 - auc))
    logit = special.logit(auc)
    lower, upper = special.expit(logit - half), special.expit(logit + half)
    return Interval(auc, float(lower), float(upper), level, "delong-logit")
