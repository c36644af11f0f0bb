"""Score an assessment: per criterion, per principle, per stage and overall.

Formulas (ethics_grid.md section 4):

- ``criterion_pct = maturity / 3``;
- per principle, per stage and overall: ``pct = sum(maturity) / (3 * n_applicable)``;
- not-applicable criteria are left out of every denominator;
- the reviewer's maturity, when given, is the one used (see
  :func:`ethics_grid.assessment.effective_value`).

Section 4 does not say what an unanswered criterion weighs. Here it counts as
applicable with maturity 0 ("not addressed"), so a half-filled grid cannot score as
well as a complete one; ``share_answered`` and ``mean_maturity`` (the average over
answered criteria only) tell the two situations apart.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ethics_grid.assessment import Answer, Review, check_assessment, effective_value
from ethics_grid.codes import (
    BLOCKING_MIN_MATURITY,
    EVIDENCE_EXPECTED_FROM,
    LIFECYCLE_STAGES,
    MATURITY_LEVELS,
    MAX_MATURITY,
)
from ethics_grid.grid import Criterion, Grid

METHOD = (
    "ethics_grid.md section 4: pct = sum(maturity) / (3 * n_applicable); not-applicable "
    "criteria excluded; unanswered criteria count as maturity 0; reviewer maturity used "
    "when given"
)


@dataclass(frozen=True)
class CriterionScore:
    """The score of one criterion.

    Attributes
    ----------
    criterion_id, principle, stage, lifecycle_stage : str
        The criterion and where it sits.
    blocking : bool
        Whether the criterion is blocking.
    maturity : int or None
        Effective maturity; None when unanswered or not applicable.
    not_applicable : bool
        Accepted (or not yet reviewed) not-applicable answer.
    answered : bool
        A maturity or a not-applicable answer counts.
    source : str or None
        ``"self"`` or ``"reviewer"``: whose value this is.
    pct : float or None
        ``maturity / 3``; None with ``note`` when there is no maturity.
    has_evidence : bool
        At least one evidence reference is attached.
    note : str
        Why ``pct`` is None, or that the reviewer changed or disputed the value.
    """

    criterion_id: str
    principle: str
    stage: str
    lifecycle_stage: str
    blocking: bool
    maturity: int | None
    not_applicable: bool
    answered: bool
    source: str | None
    pct: float | None
    has_evidence: bool
    note: str


@dataclass(frozen=True)
class GroupScore:
    """Aggregate score over a group of criteria (a principle, a stage, or all).

    Attributes
    ----------
    key : str
        Principle code, grid stage code, lifecycle stage code or ``"overall"``.
    n_criteria : int
        Criteria in the group.
    n_not_applicable : int
        Of which not applicable (excluded from denominators).
    n_applicable : int
        ``n_criteria - n_not_applicable``.
    n_answered : int
        Applicable criteria with a maturity.
    n_unanswered : int
        Applicable criteria without one (counted as maturity 0 in ``pct``).
    maturity_sum : int
        Sum of effective maturities.
    pct : float or None
        ``maturity_sum / (3 * n_applicable)``; None when ``n_applicable`` is 0.
    mean_maturity : float or None
        Average maturity over answered criteria; None when none is answered.
    share_answered : float or None
        ``(n_answered + n_not_applicable) / n_criteria``; None for an empty group.
    share_at_least_1, share_at_least_2, share_at_least_3 : float or None
        Share of applicable criteria at or above that maturity; None when
        ``n_applicable`` is 0.
    undefined_reason : str
        Why some values are None; empty when all are defined.
    """

    key: str
    n_criteria: int
    n_not_applicable: int
    n_applicable: int
    n_answered: int
    n_unanswered: int
    maturity_sum: int
    pct: float | None
    mean_maturity: float | None
    share_answered: float | None
    share_at_least_1: float | None
    share_at_least_2: float | None
    share_at_least_3: float | None
    undefined_reason: str


@dataclass(frozen=True)
class Missing:
    """What stands between an assessment and a complete, passing one.

    Attributes
    ----------
    unanswered : tuple of str
        Criteria with no maturity and no accepted not-applicable answer.
    without_evidence : tuple of str
        Criteria at maturity 2 or more with no evidence attached (section 4: from
        maturity 2 the level itself says evidence exists).
    blocking_below : tuple of str
        Blocking, applicable criteria unanswered or below maturity 2.
    not_reviewed : tuple of str
        Answered criteria no reviewer has looked at.

    All tuples follow grid order.
    """

    unanswered: tuple[str, ...]
    without_evidence: tuple[str, ...]
    blocking_below: tuple[str, ...]
    not_reviewed: tuple[str, ...]


@dataclass(frozen=True)
class AssessmentScore:
    """Scores of a whole assessment.

    Attributes
    ----------
    grid_version : str
        The grid version scored against.
    criteria : tuple of CriterionScore
        In grid order.
    by_principle : tuple of GroupScore
        In the grid's principle order.
    by_stage : tuple of GroupScore
        Per grid stage, in the grid's stage order.
    by_lifecycle_stage : tuple of GroupScore
        Per lifecycle stage ``S1_NEEDS`` .. ``S7_POSTMARKET``, empty stages included.
    overall : GroupScore
        Over every criterion.
    missing : Missing
        What is left to do.
    method : str
        How the numbers were computed.
    """

    grid_version: str
    criteria: tuple[CriterionScore, ...]
    by_principle: tuple[GroupScore, ...]
    by_stage: tuple[GroupScore, ...]
    by_lifecycle_stage: tuple[GroupScore, ...]
    overall: GroupScore
    missing: Missing
    method: str

    def criterion(self, criterion_id: str) -> CriterionScore:
        """Return one criterion's score (KeyError when the id is not in the grid)."""
        for score in self.criteria:
            if score.criterion_id == criterion_id:
                return score
        raise KeyError(f"criterion {criterion_id!r} is not in grid version {self.grid_version!r}")

    def group(self, key: str) -> GroupScore:
        """Return the group score for a principle, stage, lifecycle stage or "overall"."""
        if key == "overall":
            return self.overall
        for score in (*self.by_principle, *self.by_stage, *self.by_lifecycle_stage):
            if score.key == key:
                return score
        raise KeyError(f"no group {key!r} in this score")


def score_criterion(
    criterion: Criterion, answer: Answer | None, review: Review | None = None
) -> CriterionScore:
    """Score one criterion.

    Parameters
    ----------
    criterion : Criterion
        The criterion.
    answer : Answer or None
        The self-assessment answer; None when absent.
    review : Review or None
        The reviewer's verdict, if any.

    Returns
    -------
    CriterionScore
        ``pct = maturity / 3`` of the effective maturity.

    References
    ----------
    ethics_grid.md section 4 (maturity scale and scoring).

    Examples
    --------
    >>> from ethics_grid.grid import load_grid
    >>> score_criterion(load_grid().criterion("ETH-01"), Answer(2)).pct
    0.6666666666666666
    """
    value = effective_value(answer, review)
    if value.maturity is not None:
        pct = value.maturity / MAX_MATURITY
        note = value.note
    else:
        pct = None
        note = "not applicable" if value.not_applicable else value.note
    return CriterionScore(
        criterion_id=criterion.id,
        principle=criterion.principle,
        stage=criterion.stage,
        lifecycle_stage=criterion.lifecycle_stage,
        blocking=criterion.blocking,
        maturity=value.maturity,
        not_applicable=value.not_applicable,
        answered=value.answered,
        source=value.source,
        pct=pct,
        has_evidence=bool(answer and answer.evidence),
        note=note,
    )


def _share(count: int, total: int) -> float | None:
    return count / total if total else None


def _group(key: str, scores: Iterable[CriterionScore]) -> GroupScore:
    scores = tuple(scores)
    n_na = sum(s.not_applicable for s in scores)
    applicable = [s for s in scores if not s.not_applicable]
    maturities = [s.maturity for s in applicable if s.maturity is not None]
    n_applicable = len(applicable)
    if not scores:
        reason = "no criteria in this group"
    elif not n_applicable:
        reason = "every criterion is not applicable"
    elif not maturities:
        reason = "no criterion answered yet (mean_maturity undefined)"
    else:
        reason = ""
    at_least = {
        level: _share(sum(m >= level for m in maturities), n_applicable)
        for level in MATURITY_LEVELS[1:]
    }
    return GroupScore(
        key=key,
        n_criteria=len(scores),
        n_not_applicable=n_na,
        n_applicable=n_applicable,
        n_answered=len(maturities),
        n_unanswered=n_applicable - len(maturities),
        maturity_sum=sum(maturities),
        pct=sum(maturities) / (MAX_MATURITY * n_applicable) if n_applicable else None,
        mean_maturity=sum(maturities) / len(maturities) if maturities else None,
        share_answered=_share(len(maturities) + n_na, len(scores)),
        share_at_least_1=at_least[1],
        share_at_least_2=at_least[2],
        share_at_least_3=at_least[3],
        undefined_reason=reason,
    )


def score_assessment(
    grid: Grid,
    answers: Mapping[str, Answer],
    reviews: Mapping[str, Review] | None = None,
) -> AssessmentScore:
    """Score an assessment per criterion, principle, stage and overall.

    Parameters
    ----------
    grid : Grid
        The grid version the assessment was made on.
    answers : Mapping[str, Answer]
        Criterion id to self-assessment answer; absent ids are unanswered.
    reviews : Mapping[str, Review], optional
        Criterion id to reviewer verdict; the reviewer's maturity wins.

    Returns
    -------
    AssessmentScore

    Raises
    ------
    AssessmentError
        When answers or reviews do not fit the grid (see
        :func:`ethics_grid.assessment.check_assessment`).

    References
    ----------
    ethics_grid.md section 4 (maturity scale and scoring).

    Examples
    --------
    >>> from ethics_grid.grid import load_grid
    >>> score = score_assessment(load_grid(), {"ETH-01": Answer(3), "ETH-02": Answer(0)})
    >>> score.group("FRAMING").pct  # (3 + 0) / (3 * 7)
    0.14285714285714285
    """
    check_assessment(grid, answers, reviews)
    reviews = reviews or {}
    scores = tuple(score_criterion(c, answers.get(c.id), reviews.get(c.id)) for c in grid.criteria)
    missing = Missing(
        unanswered=tuple(s.criterion_id for s in scores if not s.answered),
        without_evidence=tuple(
            s.criterion_id
            for s in scores
            if s.maturity is not None
            and s.maturity >= EVIDENCE_EXPECTED_FROM
            and not s.has_evidence
        ),
        blocking_below=_blocking_below(scores, BLOCKING_MIN_MATURITY),
        not_reviewed=tuple(
            c.id for c in grid.criteria if _self_answered(answers, c.id) and c.id not in reviews
        ),
    )
    return AssessmentScore(
        grid_version=grid.version,
        criteria=scores,
        by_principle=tuple(
            _group(p, (s for s in scores if s.principle == p)) for p in grid.principles
        ),
        by_stage=tuple(_group(st, (s for s in scores if s.stage == st)) for st in grid.stages),
        by_lifecycle_stage=tuple(
            _group(ls, (s for s in scores if s.lifecycle_stage == ls)) for ls in LIFECYCLE_STAGES
        ),
        overall=_group("overall", scores),
        missing=missing,
        method=METHOD,
    )


def _self_answered(answers: Mapping[str, Answer], criterion_id: str) -> bool:
    answer = answers.get(criterion_id)
    return answer is not None and answer.answered


def _blocking_below(scores: Iterable[CriterionScore], level: int) -> tuple[str, ...]:
    return tuple(
        s.criterion_id
        for s in scores
        if s.blocking and not s.not_applicable and (s.maturity is None or s.maturity < level)
    )


def missing_for_stage(
    grid: Grid,
    answers: Mapping[str, Answer],
    stage: str,
    *,
    reviews: Mapping[str, Review] | None = None,
) -> tuple[str, ...]:
    """Return the ids of a stage's criteria that are not answered yet.

    The lifecycle gate uses it: leaving a stage requires the criteria of that stage
    to be answered, at any maturity (gate G1.8 for S1). A not-applicable answer
    counts as answered unless a reviewer rejected it.

    Parameters
    ----------
    grid : Grid
        The grid version of the assessment.
    answers : Mapping[str, Answer]
        Criterion id to answer.
    stage : str
        Lifecycle stage (``"S1_NEEDS"`` ...) or grid stage (``"FRAMING"`` ...).
    reviews : Mapping[str, Review], optional
        Reviews, so that a rejected not-applicable counts as unanswered.

    Returns
    -------
    tuple of str
        Criterion ids in grid order; empty when the stage is complete (always
        empty for ``S5_REGULATORY``, which has no criteria of its own).

    Raises
    ------
    ValueError
        When ``stage`` is not a known stage code.
    AssessmentError
        When answers or reviews do not fit the grid.

    Examples
    --------
    >>> from ethics_grid.grid import load_grid
    >>> missing_for_stage(load_grid(), {"ETH-01": Answer(1)}, "S1_NEEDS")
    ('ETH-02', 'ETH-03', 'ETH-04', 'ETH-05', 'ETH-06', 'ETH-07')
    """
    criteria = grid.by_stage(stage)
    check_assessment(grid, answers, reviews)
    reviews = reviews or {}
    return tuple(
        c.id for c in criteria if not effective_value(answers.get(c.id), reviews.get(c.id)).answered
    )


def blocking_below(
    grid: Grid,
    answers: Mapping[str, Answer],
    level: int = BLOCKING_MIN_MATURITY,
    *,
    reviews: Mapping[str, Review] | None = None,
    up_to_stage: str | None = None,
) -> tuple[str, ...]:
    """Return the blocking criteria that are unanswered or below a maturity.

    Gate G5.8 uses it with the reviews and ``up_to_stage="S5_REGULATORY"``: every
    blocking criterion whose stage is reached must have a reviewer maturity of at
    least 2 (ethics_grid.md section 4). Not-applicable answers are left out.

    Parameters
    ----------
    grid : Grid
        The grid version of the assessment.
    answers : Mapping[str, Answer]
        Criterion id to answer.
    level : int, default 2
        Minimum maturity, 0 to 3.
    reviews : Mapping[str, Review], optional
        Reviews; the reviewer's maturity is used when given.
    up_to_stage : str, optional
        A lifecycle stage: only criteria of this stage and the earlier ones count.

    Returns
    -------
    tuple of str
        Criterion ids in grid order.

    Raises
    ------
    ValueError
        When ``level`` or ``up_to_stage`` is not a valid value.
    AssessmentError
        When answers or reviews do not fit the grid.

    Examples
    --------
    >>> from ethics_grid.grid import load_grid
    >>> blocking_below(load_grid(), {"ETH-02": Answer(1)}, up_to_stage="S1_NEEDS")
    ('ETH-02',)
    """
    if isinstance(level, bool) or level not in MATURITY_LEVELS:
        levels = ", ".join(map(str, MATURITY_LEVELS))
        raise ValueError(f"level must be one of {levels}; got {level!r}")
    if up_to_stage is not None and up_to_stage not in LIFECYCLE_STAGES:
        raise ValueError(
            f"up_to_stage must be one of {', '.join(LIFECYCLE_STAGES)} or None; got {up_to_stage!r}"
        )
    check_assessment(grid, answers, reviews)
    reviews = reviews or {}
    reached = (
        LIFECYCLE_STAGES[: LIFECYCLE_STAGES.index(up_to_stage) + 1]
        if up_to_stage
        else LIFECYCLE_STAGES
    )
    scores = (
        score_criterion(c, answers.get(c.id), reviews.get(c.id))
        for c in grid.criteria
        if c.lifecycle_stage in reached
    )
    return _blocking_below(scores, level)
