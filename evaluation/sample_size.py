"""The minimum sample to conclude on (lifecycle G4.3), one rule wherever it applies.

Below the minimum a population is "insufficient data": a subgroup level is never "passed", a
KPI verdict on it is ``inconclusive`` and an AUC computed on it carries a caveat. A binary task
needs the minimum of positive and of negative cases, any other task the minimum of cases.
"""

from __future__ import annotations

#: The G4.3 default, and the size below which ``bench/coverage.py`` finds AUC intervals straying
#: from their nominal coverage.
MIN_CASES = 30


def size_rule(task: str, minimum: int = MIN_CASES) -> str:
    """The rule as a sentence.

    Examples
    --------
    >>> size_rule("binary", 30)
    'insufficient data when fewer than 30 positive or fewer than 30 negative cases'
    >>> size_rule("regression", 50)
    'insufficient data when fewer than 50 cases'
    """
    if task == "binary":
        return (
            f"insufficient data when fewer than {minimum} positive or fewer than {minimum} "
            "negative cases"
        )
    return f"insufficient data when fewer than {minimum} cases"


def insufficient_reason(
    task: str, n: int, positives: int | None = None, minimum: int = MIN_CASES
) -> str | None:
    """Why a population of ``n`` cases is too small to conclude on, or ``None`` when it is not.

    Parameters
    ----------
    task : str
        ``"binary"`` counts positives and negatives; any other task counts cases.
    n : int
        Cases in the population.
    positives : int or None
        Positive cases (binary task only).
    minimum : int, default :data:`MIN_CASES`

    Examples
    --------
    >>> insufficient_reason("binary", 415, 15)
    '15 positive and 400 negative cases; at least 30 of each are needed to conclude'
    >>> insufficient_reason("binary", 60, 30) is None
    True
    >>> insufficient_reason("multiclass", 12)
    '12 cases; at least 30 are needed to conclude'
    """
    if task == "binary":
        negatives = n - positives
        if min(positives, negatives) >= minimum:
            return None
        return (
            f"{positives} positive and {negatives} negative cases; at least {minimum} of each "
            "are needed to conclude"
        )
    if n >= minimum:
        return None
    return f"{n} cases; at least {minimum} are needed to conclude"
