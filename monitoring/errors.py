"""Errors raised by the monitoring library."""

from __future__ import annotations

from collections.abc import Iterable


class MonitoringInputError(ValueError):
    """Input that cannot be analysed, with every problem found listed at once.

    Parameters
    ----------
    problems : iterable of str
        One message per problem; each names the column, row or field, the rule and what was
        received, so the caller can fix everything in one pass.
    summary : str, optional
        First line of the message; defaults to the number of problems found.

    Attributes
    ----------
    problems : tuple of str
        The problems, in the order they were found.

    Examples
    --------
    >>> err = MonitoringInputError(["column 'age' is missing", "the batch has no rows"])
    >>> print(err)
    2 problems found: column 'age' is missing; the batch has no rows
    >>> err.problems
    ("column 'age' is missing", 'the batch has no rows')
    """

    def __init__(self, problems: Iterable[str], summary: str | None = None) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        if not self.problems:
            # An error without a reason would send the user hunting; refuse to build one.
            raise ValueError("MonitoringInputError needs at least one problem")
        count = len(self.problems)
        head = summary or (f"{count} problem found" if count == 1 else f"{count} problems found")
        super().__init__(f"{head}: " + "; ".join(self.problems))
