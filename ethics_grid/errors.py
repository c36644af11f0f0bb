"""Errors raised by the ethics grid library.

Both carry every problem found, not just the first, so a grid author or an API
client can fix everything in one pass (style.md section 6). They subclass
``ValueError`` so the registry can map them to its ``InvalidInputError`` at the edge
without this package importing ``registry``.
"""


class EthicsGridError(ValueError):
    """Base class: a list of problems, each a self-contained sentence.

    Parameters
    ----------
    summary : str
        What was being checked, e.g. ``"invalid ethics grid (version '3')"``.
    problems : sequence of str
        One line per problem, naming the item, the field and what is wrong.
    """

    def __init__(self, summary: str, problems: list[str] | tuple[str, ...]) -> None:
        self.summary = summary
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{summary}: {count} {noun}"]
        lines.extend(f"- {problem}" for problem in self.problems)
        super().__init__("\n".join(lines))


class GridError(EthicsGridError):
    """A grid document (or a version mapping between grids) is malformed."""


class AssessmentError(EthicsGridError):
    """Answers or reviews do not fit the grid (unknown ids, contradictory values)."""
