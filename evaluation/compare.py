"""Paired comparisons of two classifiers on the same cases (new version vs previous, model vs
clinician): DeLong's test for two AUCs and McNemar's test for two proportions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special
from statsmodels.stats.contingency_tables import mcnemar

from evaluation.intervals import normal_interval, placement_values
from evaluation.results import Interval, PlainData

#: Below this many discordant pairs McNemar's test uses the exact binomial distribution.
EXACT_BELOW = 25


@dataclass(frozen=True)
class AucComparison(PlainData):
    """DeLong's paired test of two AUCs.

    Attributes
    ----------
    auc_a, auc_b : float
    difference : Interval
        ``auc_a - auc_b`` with its DeLong interval (clipped to [-1, 1]).
    z : float or None
        Test statistic; ``None`` when the difference has zero variance.
    p_value : float
        Two-sided p-value (1.0 when the variance is zero and the AUCs are equal).
    n : int
    """

    auc_a: float
    auc_b: float
    difference: Interval
    z: float | None
    p_value: float
    n: int


def compare_auc_delong(
    y_true: np.ndarray, score_a: np.ndarray, score_b: np.ndarray, *, level: float = 0.95
) -> AucComparison:
    """Compare two correlated AUCs (same cases) with DeLong's test.

    ``var(A - B) = (S10_aa + S10_bb - 2 S10_ab) / m + (S01_aa + S01_bb - 2 S01_ab) / n``
    with ``S10`` the covariance of the case placement values and ``S01`` that of the controls.

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
        Both classes present.
    score_a, score_b : numpy.ndarray of float, shape (n,)
        Scores of the two classifiers on the same cases.
    level : float, default 0.95

    Returns
    -------
    AucComparison

    Raises
    ------
    ValueError
        If a class is absent.

    References
    ----------
    DeLong ER et al. Biometrics 1988;44:837-845.

    Examples
    --------
    >>> y = np.array([True, True, True, False, False, False])
    >>> r = compare_auc_delong(y, np.array([.9, .8, .7, .3, .2, .1]),
    ...                        np.array([.9, .2, .7, .3, .8, .1]))
    >>> r.auc_a, round(r.auc_b, 4)
    (1.0, 0.6667)
    """
    a = placement_values(y_true, score_a, in_input_order=True)
    b = placement_values(y_true, score_b, in_input_order=True)
    variance = 0.0
    for pa, pb in ((a.cases, b.cases), (a.controls, b.controls)):
        if pa.size > 1:
            variance += float(np.var(pa - pb, ddof=1) / pa.size)
    difference = a.auc - b.auc
    se = float(np.sqrt(variance))
    if se == 0:
        z, p_value = None, 1.0 if difference == 0 else 0.0
    else:
        z = difference / se
        p_value = float(2 * special.ndtr(-abs(z)))
    interval = normal_interval(difference, se, level=level, method="delong", bounds=(-1.0, 1.0))
    return AucComparison(a.auc, b.auc, interval, z, p_value, int(y_true.size))


@dataclass(frozen=True)
class PairedProportionComparison(PlainData):
    """McNemar's test of two paired proportions (e.g. two sensitivities on the same cases).

    Attributes
    ----------
    name : str
        What is compared (``"sensitivity"``, ``"specificity"``, ...).
    proportion_a, proportion_b : float
    difference : Interval
        ``proportion_a - proportion_b`` with a Wald interval for paired proportions.
    table : tuple of tuple of int
        ``((both, a only), (b only, neither))`` successes.
    statistic : float
        McNemar statistic (exact test: the smaller discordant count).
    p_value : float
    exact : bool
        Whether the exact binomial test was used (fewer than :data:`EXACT_BELOW` discordant
        pairs).
    n : int
    """

    name: str
    proportion_a: float
    proportion_b: float
    difference: Interval
    table: tuple[tuple[int, int], tuple[int, int]]
    statistic: float
    p_value: float
    exact: bool
    n: int


def compare_paired_proportions(
    success_a: np.ndarray, success_b: np.ndarray, *, name: str, level: float = 0.95
) -> PairedProportionComparison:
    """McNemar's test and the difference of two paired proportions.

    Parameters
    ----------
    success_a, success_b : numpy.ndarray of bool, shape (n,)
        Whether each case counts as a success for A and for B (for sensitivity: positive
        cases called positive).
    name : str
        Label of the proportion.
    level : float, default 0.95

    Returns
    -------
    PairedProportionComparison
        The chi-square version is used without continuity correction when there are at least
        :data:`EXACT_BELOW` discordant pairs.

    Raises
    ------
    ValueError
        If there are no cases.

    References
    ----------
    McNemar Q. Note on the sampling error of the difference between correlated proportions.
    Psychometrika 1947;12:153-157. Agresti A. Categorical Data Analysis, 3rd ed., 11.1.

    Examples
    --------
    >>> r = compare_paired_proportions(np.array([True, True, False, True]),
    ...                                np.array([True, False, False, False]), name="sensitivity")
    >>> r.table, r.exact, r.p_value
    (((1, 2), (0, 1)), True, 0.5)
    """
    n = int(success_a.size)
    if n == 0:
        raise ValueError("no cases to compare")
    both = int(np.sum(success_a & success_b))
    a_only = int(np.sum(success_a & ~success_b))
    b_only = int(np.sum(~success_a & success_b))
    neither = n - both - a_only - b_only
    table = ((both, a_only), (b_only, neither))
    exact = a_only + b_only < EXACT_BELOW
    test = mcnemar(np.array(table), exact=exact, correction=False)
    # Paired difference: var = ((b + c) - (b - c)^2 / n) / n^2 (Agresti 10.1).
    difference = (a_only - b_only) / n
    se = float(np.sqrt(max((a_only + b_only) - (a_only - b_only) ** 2 / n, 0.0)) / n)
    interval = normal_interval(
        difference, se, level=level, method="wald (paired)", bounds=(-1.0, 1.0)
    )
    return PairedProportionComparison(
        name=name,
        proportion_a=(both + a_only) / n,
        proportion_b=(both + b_only) / n,
        difference=interval,
        table=table,
        statistic=float(test.statistic),
        p_value=float(test.pvalue),
        exact=exact,
        n=n,
    )


def compare_sensitivity_specificity(
    y_true: np.ndarray,
    score_a: np.ndarray,
    score_b: np.ndarray,
    *,
    threshold_a: float,
    threshold_b: float,
    level: float = 0.95,
) -> dict[str, PairedProportionComparison]:
    """McNemar comparisons of sensitivity (positive cases) and specificity (negative cases).

    Examples
    --------
    >>> y = np.array([True, True, False, False])
    >>> r = compare_sensitivity_specificity(y, np.array([.9, .8, .1, .6]),
    ...                                     np.array([.9, .2, .1, .2]),
    ...                                     threshold_a=0.5, threshold_b=0.5)
    >>> r["sensitivity"].proportion_a, r["specificity"].proportion_b
    (1.0, 1.0)
    """
    called_a, called_b = score_a >= threshold_a, score_b >= threshold_b
    return {
        "sensitivity": compare_paired_proportions(
            called_a[y_true], called_b[y_true], name="sensitivity", level=level
        ),
        "specificity": compare_paired_proportions(
            ~called_a[~y_true], ~called_b[~y_true], name="specificity", level=level
        ),
    }
