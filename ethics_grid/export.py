"""Flat rows of an assessment, for the CLI's CSV and JSON export.

One row per criterion of the grid, in grid order, with the same keys in every row
(:data:`ROW_FIELDS`), so a CSV writer can use them as its header and a JSON
export stays a list of flat objects.
"""

from collections.abc import Mapping
from typing import Any

from ethics_grid.assessment import Answer, Review, check_assessment
from ethics_grid.grid import Grid
from ethics_grid.scoring import score_criterion

ROW_FIELDS: tuple[str, ...] = (
    "grid_version",
    "criterion_id",
    "stage",
    "lifecycle_stage",
    "principle",
    "blocking",
    "requirement",
    "self_maturity",
    "not_applicable",
    "justification",
    "explanation",
    "evidence",
    "review_verdict",
    "review_comment",
    "review_maturity",
    "effective_maturity",
    "effective_pct",
)
"""Column names, in order."""

EVIDENCE_SEPARATOR = "; "
"""Joins evidence references (``kind:ref``) into one cell; refs never contain it
in practice (hashes, ids, URLs), and a flat cell keeps the CSV one row per criterion."""


def to_rows(
    grid: Grid,
    answers: Mapping[str, Answer],
    reviews: Mapping[str, Review] | None = None,
) -> tuple[dict[str, Any], ...]:
    """Flatten an assessment into one row per criterion.

    Parameters
    ----------
    grid : Grid
        The grid version of the assessment.
    answers : Mapping[str, Answer]
        Criterion id to answer.
    reviews : Mapping[str, Review], optional
        Criterion id to review.

    Returns
    -------
    tuple of dict
        Keys :data:`ROW_FIELDS`; values are str, int, float, bool or None.

    Raises
    ------
    AssessmentError
        When answers or reviews do not fit the grid.

    Examples
    --------
    >>> from ethics_grid.grid import load_grid
    >>> row = to_rows(load_grid(), {"ETH-01": Answer(2, "done")})[0]
    >>> row["criterion_id"], row["self_maturity"], row["review_verdict"]
    ('ETH-01', 2, None)
    """
    check_assessment(grid, answers, reviews)
    reviews = reviews or {}
    rows = []
    for criterion in grid.criteria:
        answer = answers.get(criterion.id)
        review = reviews.get(criterion.id)
        score = score_criterion(criterion, answer, review)
        rows.append(
            {
                "grid_version": grid.version,
                "criterion_id": criterion.id,
                "stage": criterion.stage,
                "lifecycle_stage": criterion.lifecycle_stage,
                "principle": criterion.principle,
                "blocking": criterion.blocking,
                "requirement": criterion.requirement,
                "self_maturity": answer.maturity if answer else None,
                "not_applicable": bool(answer and answer.not_applicable),
                "justification": answer.justification if answer else "",
                "explanation": answer.explanation if answer else "",
                "evidence": EVIDENCE_SEPARATOR.join(str(e) for e in answer.evidence)
                if answer
                else "",
                "review_verdict": review.verdict if review else None,
                "review_comment": review.comment if review else "",
                "review_maturity": review.maturity if review else None,
                "effective_maturity": score.maturity,
                "effective_pct": score.pct,
            }
        )
    return tuple(rows)
