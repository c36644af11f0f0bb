"""Errors raised by the evaluation library.

``EvaluationInputError`` subclasses ``ValueError`` so the registry can map it to its own
``InvalidInputError`` at the edge without this package importing ``registry``.
"""

from __future__ import annotations

from collections.abc import Iterable


class EvaluationInputError(ValueError):
    """Input that cannot be evaluated, with every problem found listed at once.

    Parameters
    ----------
    problems : iterable of str
        One message per problem. Each names the column or parameter, the rule, what was
        received and what to fix, so the caller can correct everything in one pass.

    Attributes
    ----------
    problems : tuple of str
        The problems, in the order they were found.

    Examples
    --------
    >>> err = EvaluationInputError(["the data frame has no rows; upload at least one row"])
    >>> print(err)
    1 problem found: the data frame has no rows; upload at least one row
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        if not self.problems:
            # An error without a reason would send the user hunting; refuse to build one.
            raise ValueError("EvaluationInputError needs at least one problem")
        count = len(self.problems)
        head = f"{count} problem found" if count == 1 else f"{count} problems found"
        super().__init__(f"{head}: " + "; ".join(self.problems))
