"""Schemas: Ethics-grid self-assessments and their reviews (issue #6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from ethics_grid import EVIDENCE_KINDS
from registry.schemas.core import In, Out

EvidenceKind = Literal[EVIDENCE_KINDS]  # type: ignore[valid-type]


class EvidenceRefIn(In):
    """A piece of evidence: an uploaded artifact (``ref`` = its id), a URL (``link``) or a record
    the registry computed (``evaluation``, ``subgroup_analysis``, ``calibration``: an evaluation
    id; ``energy_record``: an energy record id; ...)."""

    kind: EvidenceKind
    ref: str = Field(min_length=1, max_length=500)


class AnswerIn(In):
    maturity: int | None = Field(default=None, ge=0, le=3)
    not_applicable: bool = False
    justification: str = Field(default="", max_length=5000)
    explanation: str = Field(default="", max_length=10000)
    evidence: list[EvidenceRefIn] = Field(default_factory=list, max_length=50)
    lock_version: int | None = Field(
        default=None, ge=0, description="The lock_version of the answer you read (0: you read "
        "the criterion unanswered); a stale one gives 409")

    @model_validator(mode="after")
    def _consistent(self) -> AnswerIn:
        if self.not_applicable and self.maturity is not None:
            raise ValueError("a not-applicable answer must not carry a maturity; drop one")
        if self.not_applicable and not self.justification:
            raise ValueError("a not-applicable answer needs a justification")
        if not self.not_applicable and self.maturity is None:
            raise ValueError("give a maturity from 0 to 3, or mark the criterion not applicable")
        return self


class ReviewIn(In):
    verdict: Literal["agree", "disagree"]
    comment: str = Field(default="", max_length=5000)
    # When disagreeing: the maturity the reviewer holds; it replaces the self-assessed one.
    maturity: int | None = Field(default=None, ge=0, le=3)
    lock_version: int | None = Field(
        default=None, ge=0, description="The lock_version of the review you read (0: you read "
        "the criterion not reviewed); a stale one gives 409")


class ExportQuery(In):
    format: Literal["json", "csv"] = "json"


class EvidenceRefOut(BaseModel):
    kind: str
    ref: str


class AnswerOut(Out):
    criterion_id: str
    maturity: int | None
    not_applicable: bool
    justification: str
    explanation: str
    evidence: list[EvidenceRefOut]
    updated_by: int | None = None
    updated_at: datetime | None = None
    lock_version: int = 0


class ReviewOut(Out):
    criterion_id: str
    verdict: str
    comment: str
    maturity: int | None
    reviewer_id: int | None
    organisation_id: int | None
    updated_at: datetime
    lock_version: int


class AssessmentOut(Out):
    number: int
    grid_version: str
    grid_fingerprint: str
    status: str
    previous_number: int | None = None
    to_reanswer: list[dict[str, Any]]
    created_at: datetime
    submitted_at: datetime | None
    snapshot_sha256: str
    answers: list[AnswerOut]
    reviews: list[ReviewOut]


class DeviceEthicsOut(BaseModel):
    """The device's ethics position: the draft (for its manufacturer), the latest submitted
    assessment with its reviews, its scores, and what each lifecycle stage still misses."""

    device: str
    grid_version: str
    draft: AssessmentOut | None
    submitted: AssessmentOut | None
    scores: dict[str, Any] | None
    missing_by_stage: dict[str, list[str]]


class CriterionOut(BaseModel):
    id: str
    stage: str
    lifecycle_stage: str
    principle: str
    blocking: bool
    requirement: str
    evidence: list[str]
    computed_evidence: list[str]


class GridOut(BaseModel):
    version: str
    label: str
    title: str
    source: str
    published: bool
    fingerprint: str
    principles: list[str]
    stages: list[str]
    criteria: list[CriterionOut]
