"""Result types shared by every evaluation module, and their conversion to plain JSON data.

Every result is a frozen dataclass that says how it was computed (method, level, n) and has a
``to_dict()`` giving data that ``json.dumps`` accepts: the registry stores results as JSON.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


def to_plain(value: Any) -> Any:
    """Convert ``value`` recursively into data that ``json.dumps`` accepts.

    Dataclasses become dicts, tuples and arrays become lists, enums their value, numpy scalars
    Python numbers, and non-finite floats ``None`` (JSON has no NaN or infinity).

    Parameters
    ----------
    value : object
        A result dataclass, or any nesting of mappings, sequences, arrays and scalars.

    Returns
    -------
    object
        Plain ``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` or ``None``.

    Raises
    ------
    TypeError
        If a value has no plain JSON form.

    Examples
    --------
    >>> to_plain({"a": (1, float("nan")), "b": np.float64(0.5)})
    {'a': [1, None], 'b': 0.5}
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return to_plain(value.value)
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, np.ndarray):
        return [to_plain(item) for item in value.tolist()]
    if isinstance(value, Mapping):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    raise TypeError(f"cannot convert {type(value).__name__} to plain JSON data")


class PlainData:
    """Mixin giving a frozen result dataclass its ``to_dict()``."""

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON data (see :func:`to_plain`)."""
        return to_plain(self)


@dataclass(frozen=True)
class Interval(PlainData):
    """A point estimate with a two-sided confidence interval.

    Attributes
    ----------
    estimate : float
        The point estimate.
    lower, upper : float
        Interval bounds; ``lower <= estimate <= upper`` for every method used here.
    level : float
        Confidence level, e.g. 0.95.
    method : str
        How the bounds were computed, e.g. ``"wilson"``, ``"delong"``,
        ``"bootstrap-percentile (2000 stratified resamples, seed 0)"``.
    """

    estimate: float
    lower: float
    upper: float
    level: float
    method: str

    def contains(self, value: float) -> bool:
        """Return whether ``value`` lies inside the closed interval."""
        return self.lower <= value <= self.upper


@dataclass(frozen=True)
class MetricResult(PlainData):
    """One metric on one population.

    Attributes
    ----------
    name : str
        Metric name as used in KPIs (``"auc"``, ``"sensitivity"``, ...).
    value : float or None
        The estimate, or ``None`` when the metric is undefined for these data.
    interval : Interval or None
        Confidence interval, or ``None`` when the metric is undefined or has no interval.
    n : int
        Number of rows the metric was computed on.
    undefined_reason : str or None
        Why ``value`` is ``None`` (e.g. "no positive cases"); ``None`` when defined.
    note : str or None
        A caveat a reviewer should read (e.g. why no interval is given).
    """

    name: str
    value: float | None
    interval: Interval | None
    n: int
    undefined_reason: str | None = None
    note: str | None = None

    @classmethod
    def undefined(cls, name: str, n: int, reason: str) -> MetricResult:
        """Build the result of a metric that cannot be computed on these data."""
        return cls(name=name, value=None, interval=None, n=int(n), undefined_reason=reason)

    @property
    def ci_low(self) -> float | None:
        """Lower bound of the interval, or ``None`` without one."""
        return None if self.interval is None else self.interval.lower

    @property
    def ci_high(self) -> float | None:
        """Upper bound of the interval, or ``None`` without one."""
        return None if self.interval is None else self.interval.upper


@dataclass(frozen=True)
class Curve(PlainData):
    """Points of a curve (ROC, precision-recall) with the thresholds that produced them.

    Attributes
    ----------
    name : str
        ``"roc"`` or ``"precision_recall"``.
    x, y : tuple of float
        Abscissae and ordinates (ROC: false positive rate, true positive rate; PR: recall,
        precision).
    thresholds : tuple of float
        Score threshold of each point (a case is positive when ``score >= threshold``);
        ``inf`` for the point where nothing is called positive.
    """

    name: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    thresholds: tuple[float, ...]
