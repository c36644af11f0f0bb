"""What a manufacturer answers and what a reviewer says, per criterion.

An assessment is a mapping ``criterion_id -> Answer``; a review is a mapping
``criterion_id -> Review``. Each object checks its own consistency when built;
:func:`check_assessment` checks answers and reviews against a grid and reports every
problem at once.

Effective maturity (ethics_grid.md section 4, "the reviewer's value is the one
used"):

- no review: the self-assessed value;
- ``agree``: the self-assessed value, confirmed (a not-applicable answer is thereby
  accepted);
- ``disagree`` with a reviewer maturity: the reviewer's maturity;
- ``disagree`` without a maturity: the self-assessed maturity stands (the dispute is
  about the explanation or the evidence), but a not-applicable answer is rejected
  and the criterion counts as unanswered.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ethics_grid.codes import EVIDENCE_KINDS, MATURITY_LEVELS, VERDICTS
from ethics_grid.errors import AssessmentError

if TYPE_CHECKING:
    from ethics_grid.grid import Grid


def _maturity_problem(name: str, value: object) -> str | None:
    if value is None:
        return None
    # bool is an int in Python; True must not pass as maturity 1.
    if isinstance(value, bool) or not isinstance(value, int) or value not in MATURITY_LEVELS:
        levels = ", ".join(map(str, MATURITY_LEVELS))
        return f"{name} must be one of {levels} or None; got {value!r}"
    return None


@dataclass(frozen=True)
class EvidenceRef:
    """A piece of evidence attached to an answer.

    Attributes
    ----------
    kind : str
        ``"artifact"`` (an uploaded file, ``ref`` is its registry id), ``"link"`` (a URL)
        or a registry record kind such as ``"subgroup_analysis"``,
        ``"calibration"`` or ``"energy_record"`` (``ref`` is the record id). See
        :data:`ethics_grid.codes.EVIDENCE_KINDS`.
    ref : str
        The identifier within that kind.
    """

    kind: str
    ref: str

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in EVIDENCE_KINDS:
            problems.append(f"kind must be one of {', '.join(EVIDENCE_KINDS)}; got {self.kind!r}")
        if not isinstance(self.ref, str) or not self.ref.strip():
            problems.append(f"ref must be a non-empty string; got {self.ref!r}")
        if problems:
            raise AssessmentError("invalid evidence reference", problems)

    def __str__(self) -> str:
        return f"{self.kind}:{self.ref}"


@dataclass(frozen=True)
class Answer:
    """A self-assessment answer to one criterion.

    Attributes
    ----------
    maturity : int or None
        0 to 3, or None while the criterion is not answered yet (a draft).
    explanation : str
        How the criterion is met.
    evidence : tuple of EvidenceRef
        Attached evidence; a list is accepted and stored as a tuple.
    not_applicable : bool
        The criterion does not apply to this device; needs ``justification`` and
        excludes ``maturity``.
    justification : str
        Why it does not apply.

    Raises
    ------
    AssessmentError
        When the fields contradict each other or a value is out of range.

    Examples
    --------
    >>> Answer(2, "DPIA done for the main site", [EvidenceRef("artifact", "ab12")]).answered
    True
    >>> Answer(not_applicable=True, justification="no personal data").answered
    True
    """

    maturity: int | None = None
    explanation: str = ""
    evidence: tuple[EvidenceRef, ...] = ()
    not_applicable: bool = False
    justification: str = ""

    def __post_init__(self) -> None:
        # Frozen: store a tuple so the answer cannot change after it is checked.
        object.__setattr__(self, "evidence", tuple(self.evidence))
        problems = []
        maturity_problem = _maturity_problem("maturity", self.maturity)
        if maturity_problem:
            problems.append(maturity_problem)
        if not all(isinstance(item, EvidenceRef) for item in self.evidence):
            problems.append("evidence must hold EvidenceRef items")
        if self.not_applicable and self.maturity is not None:
            problems.append("a not-applicable answer must not carry a maturity")
        if self.not_applicable and not self.justification.strip():
            problems.append("a not-applicable answer needs a justification")
        if problems:
            raise AssessmentError("invalid answer", problems)

    @property
    def answered(self) -> bool:
        """True when the answer gives a maturity or a justified not-applicable."""
        return self.not_applicable or self.maturity is not None


@dataclass(frozen=True)
class Review:
    """A reviewer's verdict on one criterion.

    Attributes
    ----------
    verdict : str
        ``"agree"`` or ``"disagree"``.
    comment : str
        Required when disagreeing: the manufacturer must learn what to fix.
    maturity : int or None
        The reviewer's own maturity when disagreeing; an ``agree`` verdict may
        repeat the self-assessed maturity but not change it.

    Raises
    ------
    AssessmentError
        When the verdict is unknown, a disagreement has no comment or the maturity is
        out of range.
    """

    verdict: str
    comment: str = ""
    maturity: int | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.verdict not in VERDICTS:
            problems.append(f"verdict must be one of {', '.join(VERDICTS)}; got {self.verdict!r}")
        if self.verdict == "disagree" and not self.comment.strip():
            problems.append("a disagreement needs a comment")
        maturity_problem = _maturity_problem("maturity", self.maturity)
        if maturity_problem:
            problems.append(maturity_problem)
        if problems:
            raise AssessmentError("invalid review", problems)


@dataclass(frozen=True)
class Effective:
    """The value scoring uses for one criterion after the review.

    Attributes
    ----------
    maturity : int or None
        None when unanswered or not applicable.
    not_applicable : bool
        Not applicable, and not rejected by a reviewer.
    source : str or None
        ``"self"``, ``"reviewer"`` (confirmed or set by a reviewer) or None when
        there is no value.
    note : str
        Why the value is what it is, when that is not obvious (empty otherwise).
    """

    maturity: int | None
    not_applicable: bool
    source: str | None
    note: str = ""

    @property
    def answered(self) -> bool:
        """True when the criterion has a maturity or an accepted not-applicable."""
        return self.not_applicable or self.maturity is not None


def effective_value(answer: Answer | None, review: Review | None = None) -> Effective:
    """Combine a self-assessment answer and its review into the value that counts.

    Parameters
    ----------
    answer : Answer or None
        The self-assessment answer, None when there is none.
    review : Review or None
        The reviewer's verdict, None when not reviewed.

    Returns
    -------
    Effective

    Examples
    --------
    >>> effective_value(Answer(3), Review("disagree", "no site logs", maturity=2)).maturity
    2
    """
    if answer is None or not answer.answered:
        return Effective(maturity=None, not_applicable=False, source=None, note="not answered")
    if review is None:
        return Effective(answer.maturity, answer.not_applicable, "self")
    if review.verdict == "agree":
        return Effective(answer.maturity, answer.not_applicable, "reviewer")
    if review.maturity is not None:
        return Effective(review.maturity, False, "reviewer", note="maturity set by the reviewer")
    if answer.not_applicable:
        return Effective(
            None, False, None, note="not-applicable justification rejected by the reviewer"
        )
    return Effective(answer.maturity, False, "self", note="disputed by the reviewer")


def check_assessment(
    grid: "Grid",
    answers: Mapping[str, Answer],
    reviews: Mapping[str, Review] | None = None,
) -> None:
    """Check answers and reviews against a grid, reporting every problem.

    Parameters
    ----------
    grid : Grid
        The grid version the assessment was made on.
    answers : Mapping[str, Answer]
        Criterion id to answer; criteria may be missing (not answered yet).
    reviews : Mapping[str, Review], optional
        Criterion id to review.

    Raises
    ------
    AssessmentError
        When an id is not in the grid, a value has the wrong type, a review
        concerns an unanswered criterion, or an ``agree`` verdict changes the
        maturity.
    """
    problems = []
    for criterion_id, answer in answers.items():
        if not grid.has(criterion_id):
            problems.append(
                f"answer {criterion_id}: not a criterion of grid version {grid.version}"
            )
        elif not isinstance(answer, Answer):
            problems.append(
                f"answer {criterion_id}: must be an Answer; got {type(answer).__name__}"
            )
    for criterion_id, review in (reviews or {}).items():
        where = f"review {criterion_id}"
        if not grid.has(criterion_id):
            problems.append(f"{where}: not a criterion of grid version {grid.version}")
            continue
        if not isinstance(review, Review):
            problems.append(f"{where}: must be a Review; got {type(review).__name__}")
            continue
        answer = answers.get(criterion_id)
        if not isinstance(answer, Answer) or not answer.answered:
            problems.append(f"{where}: the criterion has no self-assessment answer to review")
            continue
        if (
            review.verdict == "agree"
            and review.maturity is not None
            and review.maturity != answer.maturity
        ):
            problems.append(
                f"{where}: an 'agree' verdict keeps the self-assessed maturity "
                f"({answer.maturity}); got {review.maturity} (use 'disagree' to change it)"
            )
    if problems:
        raise AssessmentError(f"assessment does not fit grid version {grid.version}", problems)
