"""Regression metrics: MAE, RMSE, mean bias and Bland-Altman limits of agreement.

Errors are ``y_pred - y_true`` (prediction minus reference): a positive bias means the model
over-estimates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from evaluation.intervals import normal_interval
from evaluation.results import Interval, MetricResult, PlainData


def _too_small(name: str, n: int, minimum: int) -> MetricResult | None:
    if n < minimum:
        return MetricResult.undefined(name, n, f"needs at least {minimum} cases, got {n}")
    return None


def mean_absolute_error(
    y_true: np.ndarray, y_pred: np.ndarray, *, level: float = 0.95
) -> MetricResult:
    """Mean absolute error with a central-limit interval on the mean of ``|error|``.

    Examples
    --------
    >>> mean_absolute_error(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0])).value
    1.0
    """
    n = int(y_true.size)
    if (undefined := _too_small("mae", n, 2)) is not None:
        return undefined
    absolute = np.abs(y_pred - y_true)
    interval = normal_interval(
        float(absolute.mean()),
        float(absolute.std(ddof=1) / np.sqrt(n)),
        level=level,
        method="normal (mean of absolute errors)",
        bounds=(0.0, np.inf),
    )
    return MetricResult("mae", interval.estimate, interval, n)


def root_mean_squared_error(
    y_true: np.ndarray, y_pred: np.ndarray, *, level: float = 0.95
) -> MetricResult:
    """Root mean squared error; the interval is the central-limit interval of the mean
    squared error, square-rooted (a monotone transform keeps the coverage).

    Examples
    --------
    >>> round(root_mean_squared_error(np.array([0.0, 0.0]), np.array([3.0, 4.0])).value**2, 6)
    12.5
    """
    n = int(y_true.size)
    if (undefined := _too_small("rmse", n, 2)) is not None:
        return undefined
    squared = (y_pred - y_true) ** 2
    mse = normal_interval(
        float(squared.mean()),
        float(squared.std(ddof=1) / np.sqrt(n)),
        level=level,
        method="",
        bounds=(0.0, np.inf),
    )
    interval = Interval(
        float(np.sqrt(mse.estimate)),
        float(np.sqrt(mse.lower)),
        float(np.sqrt(mse.upper)),
        level,
        "normal on mean squared error, square-rooted",
    )
    return MetricResult("rmse", interval.estimate, interval, n)


def mean_bias(y_true: np.ndarray, y_pred: np.ndarray, *, level: float = 0.95) -> MetricResult:
    """Mean error ``mean(y_pred - y_true)`` with a Student t interval.

    Examples
    --------
    >>> r = mean_bias(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 3.0]))
    >>> round(r.value, 4), round(r.ci_low, 4)
    (0.6667, -0.7676)
    """
    n = int(y_true.size)
    if (undefined := _too_small("mean_bias", n, 2)) is not None:
        return undefined
    error = y_pred - y_true
    estimate = float(error.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * error.std(ddof=1) / np.sqrt(n))
    interval = Interval(estimate, estimate - half, estimate + half, level, "student-t")
    return MetricResult("mean_bias", estimate, interval, n)


@dataclass(frozen=True)
class BlandAltman(PlainData):
    """Bland-Altman agreement between prediction and reference.

    Attributes
    ----------
    bias : Interval
        Mean difference with its t interval.
    lower_limit, upper_limit : Interval
        Limits of agreement ``bias -/+ z * sd`` with approximate intervals.
    sd : float
        Standard deviation of the differences.
    n : int
    """

    bias: Interval
    lower_limit: Interval
    upper_limit: Interval
    sd: float
    n: int


def bland_altman(
    y_true: np.ndarray, y_pred: np.ndarray, *, level: float = 0.95
) -> BlandAltman | None:
    """Bland-Altman limits of agreement, each with its approximate interval.

    The limits are ``bias +/- z * sd`` (``z`` = 1.96 at level 0.95); the standard error of
    a limit is approximated by ``sqrt(3 sd^2 / n)`` and its interval uses Student's t with
    ``n - 1`` degrees of freedom. ``None`` with fewer than 3 cases.

    Parameters
    ----------
    y_true, y_pred : numpy.ndarray of float, shape (n,)
    level : float, default 0.95
        Both the coverage of the limits and the level of their intervals.

    Returns
    -------
    BlandAltman or None

    References
    ----------
    Bland JM, Altman DG. Measuring agreement in method comparison studies. Stat Methods Med
    Res 1999;8:135-160.

    Examples
    --------
    >>> ba = bland_altman(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 3.5, 4.0]))
    >>> round(ba.bias.estimate, 4), round(ba.upper_limit.estimate, 4)
    (0.25, 0.8158)
    """
    n = int(y_true.size)
    if n < 3:
        return None
    difference = y_pred - y_true
    sd = float(difference.std(ddof=1))
    bias = mean_bias(y_true, y_pred, level=level).interval
    z = float(stats.norm.ppf(0.5 + level / 2))
    t = float(stats.t.ppf(0.5 + level / 2, n - 1))
    half = t * np.sqrt(3 * sd * sd / n)
    limits = [
        Interval(
            float(centre),
            float(centre - half),
            float(centre + half),
            level,
            "bland-altman 1999 approximation",
        )
        for centre in (bias.estimate - z * sd, bias.estimate + z * sd)
    ]
    return BlandAltman(bias, limits[0], limits[1], sd, n)
