"""Side-by-side view of a self-assessment and its review, with agreement statistics.

The device page shows, per criterion, what the manufacturer said next to what the
reviewer said (issue 6); the statistics per principle tell how far the two views
agree.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ethics_grid.assessment import Answer, Review, check_assessment, effective_value
from ethics_grid.grid import Grid


@dataclass(frozen=True)
class ComparisonRow:
    """One criterion, both views.

    Attributes
    ----------
    criterion_id, principle, stage, lifecycle_stage : str
        The criterion and where it sits.
    blocking : bool
        Whether the criterion is blocking.
    requirement : str
        The requirement text.
    self_maturity : int or None
        Self-assessed maturity.
    self_not_applicable : bool
        Self-declared not applicable.
    self_explanation, self_justification : str
        The manufacturer's texts.
    self_evidence : tuple of str
        Evidence references as ``"kind:ref"``.
    verdict : str or None
        ``"agree"``, ``"disagree"`` or None when not reviewed.
    reviewer_comment : str
        The reviewer's comment.
    reviewer_maturity : int or None
        The maturity the reviewer set, if any.
    effective_maturity : int or None
        The value scoring uses.
    effective_not_applicable : bool
        Not-applicable still stands after the review.
    maturity_change : int or None
        ``effective_maturity - self_maturity`` when both exist (negative: lowered).
    status : str
        ``"not_answered"``, ``"not_reviewed"``, ``"agreed"`` or ``"disagreed"``.
    """

    criterion_id: str
    principle: str
    stage: str
    lifecycle_stage: str
    blocking: bool
    requirement: str
    self_maturity: int | None
    self_not_applicable: bool
    self_explanation: str
    self_justification: str
    self_evidence: tuple[str, ...]
    verdict: str | None
    reviewer_comment: str
    reviewer_maturity: int | None
    effective_maturity: int | None
    effective_not_applicable: bool
    maturity_change: int | None
    status: str


@dataclass(frozen=True)
class AgreementStats:
    """How far reviewer and manufacturer agree over a group of criteria.

    Attributes
    ----------
    key : str
        Principle code or ``"overall"``.
    n_criteria : int
        Criteria in the group.
    n_answered : int
        Criteria the manufacturer answered (maturity or not applicable).
    n_reviewed : int
        Answered criteria with a verdict.
    n_agree, n_disagree : int
        Verdict counts.
    n_lowered, n_raised : int
        Reviews that set a lower / higher maturity than the self-assessment.
    agreement_rate : float or None
        ``n_agree / n_reviewed``; None when nothing is reviewed.
    review_coverage : float or None
        ``n_reviewed / n_answered``; None when nothing is answered.
    undefined_reason : str
        Why a value is None; empty otherwise.
    """

    key: str
    n_criteria: int
    n_answered: int
    n_reviewed: int
    n_agree: int
    n_disagree: int
    n_lowered: int
    n_raised: int
    agreement_rate: float | None
    review_coverage: float | None
    undefined_reason: str


@dataclass(frozen=True)
class ReviewComparison:
    """The side-by-side table and its statistics.

    Attributes
    ----------
    grid_version : str
        The grid version compared on.
    rows : tuple of ComparisonRow
        In grid order.
    by_principle : tuple of AgreementStats
        In the grid's principle order.
    overall : AgreementStats
        Over every criterion.
    """

    grid_version: str
    rows: tuple[ComparisonRow, ...]
    by_principle: tuple[AgreementStats, ...]
    overall: AgreementStats


def compare_review(
    grid: Grid,
    answers: Mapping[str, Answer],
    reviews: Mapping[str, Review],
) -> ReviewComparison:
    """Put a self-assessment and its review side by side.

    Parameters
    ----------
    grid : Grid
        The grid version of the assessment.
    answers : Mapping[str, Answer]
        Criterion id to self-assessment answer.
    reviews : Mapping[str, Review]
        Criterion id to reviewer verdict.

    Returns
    -------
    ReviewComparison

    Raises
    ------
    AssessmentError
        When answers or reviews do not fit the grid, a review concerns an
        unanswered criterion, or an ``agree`` verdict changes the maturity.

    Examples
    --------
    >>> from ethics_grid.grid import load_grid
    >>> result = compare_review(
    ...     load_grid(),
    ...     {"ETH-01": Answer(3), "ETH-02": Answer(2)},
    ...     {"ETH-01": Review("agree"), "ETH-02": Review("disagree", "no minutes", 1)},
    ... )
    >>> result.overall.agreement_rate, result.rows[1].maturity_change
    (0.5, -1)
    """
    check_assessment(grid, answers, reviews)
    rows = tuple(_row(c, answers.get(c.id), reviews.get(c.id)) for c in grid.criteria)
    return ReviewComparison(
        grid_version=grid.version,
        rows=rows,
        by_principle=tuple(
            _stats(p, (r for r in rows if r.principle == p)) for p in grid.principles
        ),
        overall=_stats("overall", rows),
    )


def _row(criterion, answer: Answer | None, review: Review | None) -> ComparisonRow:
    value = effective_value(answer, review)
    answered = answer is not None and answer.answered
    self_maturity = answer.maturity if answer else None
    if not answered:
        status = "not_answered"
    elif review is None:
        status = "not_reviewed"
    else:
        status = "agreed" if review.verdict == "agree" else "disagreed"
    change = (
        value.maturity - self_maturity
        if value.maturity is not None and self_maturity is not None
        else None
    )
    return ComparisonRow(
        criterion_id=criterion.id,
        principle=criterion.principle,
        stage=criterion.stage,
        lifecycle_stage=criterion.lifecycle_stage,
        blocking=criterion.blocking,
        requirement=criterion.requirement,
        self_maturity=self_maturity,
        self_not_applicable=bool(answer and answer.not_applicable),
        self_explanation=answer.explanation if answer else "",
        self_justification=answer.justification if answer else "",
        self_evidence=tuple(str(ref) for ref in answer.evidence) if answer else (),
        verdict=review.verdict if review else None,
        reviewer_comment=review.comment if review else "",
        reviewer_maturity=review.maturity if review else None,
        effective_maturity=value.maturity,
        effective_not_applicable=value.not_applicable,
        maturity_change=change,
        status=status,
    )


def _stats(key: str, rows: Iterable[ComparisonRow]) -> AgreementStats:
    rows = tuple(rows)
    n_answered = sum(r.status != "not_answered" for r in rows)
    n_agree = sum(r.status == "agreed" for r in rows)
    n_disagree = sum(r.status == "disagreed" for r in rows)
    n_reviewed = n_agree + n_disagree
    reviewer_set = [r for r in rows if r.reviewer_maturity is not None and r.maturity_change]
    if not n_answered:
        reason = "no criterion answered"
    elif not n_reviewed:
        reason = "no criterion reviewed"
    else:
        reason = ""
    return AgreementStats(
        key=key,
        n_criteria=len(rows),
        n_answered=n_answered,
        n_reviewed=n_reviewed,
        n_agree=n_agree,
        n_disagree=n_disagree,
        n_lowered=sum(r.maturity_change < 0 for r in reviewer_set),
        n_raised=sum(r.maturity_change > 0 for r in reviewer_set),
        agreement_rate=n_agree / n_reviewed if n_reviewed else None,
        review_coverage=n_reviewed / n_answered if n_answered else None,
        undefined_reason=reason,
    )
