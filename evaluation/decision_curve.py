"""Decision curve analysis: net benefit of acting on the model across threshold probabilities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.results import PlainData

#: Threshold probabilities 0.01, 0.02, ..., 0.99.
DEFAULT_THRESHOLDS = tuple(round(k / 100, 2) for k in range(1, 100))


@dataclass(frozen=True)
class DecisionCurve(PlainData):
    """Net benefit of the model and of the two default strategies at each threshold.

    Attributes
    ----------
    thresholds : tuple of float
        Threshold probabilities ``pt``; a case is treated when ``p >= pt``.
    model, treat_all, treat_none : tuple of float
        Net benefit ``TP/n - FP/n * pt / (1 - pt)`` of each strategy.
    """

    thresholds: tuple[float, ...]
    model: tuple[float, ...]
    treat_all: tuple[float, ...]
    treat_none: tuple[float, ...]


def decision_curve(
    y_true: np.ndarray, y_prob: np.ndarray, *, thresholds: Sequence[float] = DEFAULT_THRESHOLDS
) -> DecisionCurve:
    """Net benefit across threshold probabilities.

    Parameters
    ----------
    y_true : numpy.ndarray of bool, shape (n,)
    y_prob : numpy.ndarray of float, shape (n,)
        Predicted probabilities.
    thresholds : sequence of float in (0, 1)
        Threshold probabilities; default 0.01 to 0.99 by 0.01.

    Returns
    -------
    DecisionCurve

    References
    ----------
    Vickers AJ, Elkin EB. Decision curve analysis: a novel method for evaluating prediction
    models. Med Decis Making 2006;26:565-574.

    Examples
    --------
    >>> dc = decision_curve(np.array([True, False, True, False]),
    ...                     np.array([0.8, 0.3, 0.6, 0.1]), thresholds=[0.5])
    >>> dc.model, dc.treat_all
    ((0.5,), (0.0,))
    """
    grid = np.asarray(thresholds, dtype=float)
    n = y_true.size
    cases = np.sort(y_prob[y_true])
    controls = np.sort(y_prob[~y_true])
    tp = cases.size - np.searchsorted(cases, grid, side="left")
    fp = controls.size - np.searchsorted(controls, grid, side="left")
    odds = grid / (1.0 - grid)
    prevalence = cases.size / n
    return DecisionCurve(
        thresholds=tuple(grid.tolist()),
        model=tuple((tp / n - fp / n * odds).tolist()),
        treat_all=tuple((prevalence - (1 - prevalence) * odds).tolist()),
        treat_none=tuple(np.zeros_like(grid).tolist()),
    )
