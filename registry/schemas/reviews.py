"""Schemas: submissions, domain scores, checklists, questions and signed opinions (#5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from registry.models.reviews import MessageKind, OpinionKind, SubmissionStatus
from registry.schemas.core import In, Out

# hta.md section 7 (and "also useful"): the checklists a reviewer can record.
GUIDELINES = ("TRIPOD+AI", "STARD-AI", "DECIDE-AI", "SPIRIT-AI", "CONSORT-AI", "CLAIM",
              "PROBAST+AI", "TRIPOD-LLM")
Guideline = Literal["TRIPOD+AI", "STARD-AI", "DECIDE-AI", "SPIRIT-AI", "CONSORT-AI", "CLAIM",
                    "PROBAST+AI", "TRIPOD-LLM"]
Score = Literal["0", "1", "2", "3", "4", "NA", "ND"]


class SubmissionIn(In):
    reviewer_organisation_id: int = Field(description="An HTA agency or a notified body")
    model_version_id: int | None = Field(default=None, description="Default: the candidate")
    cover_note: str = Field(default="", max_length=8000)
    evaluation_ids: list[int] | None = Field(
        default=None, description="Default: every finished evaluation of the version")
    artifact_ids: list[int] | None = Field(
        default=None, description="Default: every document attached as evidence to the device")


class ScoreIn(In):
    domain: Literal["D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8", "D9"]
    score: Score = Field(description="0-4 on the anchored scale, NA (not applicable) or ND "
                                     "(cannot be judged)")
    justification: str = Field(min_length=10, max_length=8000)
    evidence_artifact_ids: list[int] = Field(default_factory=list)

    @field_validator("score", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # JSON clients send 3, forms send "3": both mean the same score.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class ChecklistItemIn(In):
    item: str = Field(min_length=1, max_length=40)
    status: Literal["reported", "not_reported", "NA"]
    page: str = Field(default="", max_length=120)


class ChecklistIn(In):
    guideline: Guideline
    items: list[ChecklistItemIn] = Field(default_factory=list, max_length=200)
    artifact_id: int | None = Field(default=None, description="The filled checklist as a file")


class QuestionIn(In):
    body: str = Field(min_length=5, max_length=8000)


class AnswerIn(In):
    body: str = Field(min_length=2, max_length=8000)
    artifact_id: int | None = None


class OpinionIn(In):
    """An HTA opinion (service_attendu, asa) or a notified-body decision (decision, ...)."""

    service_attendu: Literal["sufficient", "insufficient"] | None = None
    asa: Literal["I", "II", "III", "IV", "V"] | None = None
    decision: Literal["granted", "granted_with_conditions", "refused"] | None = None
    certificate_number: str = Field(default="", max_length=60)
    conditions: str = Field(default="", max_length=8000)
    rationale: str = Field(min_length=10, max_length=20000)
    major_mortality_effect: bool = Field(
        default=False, description="Reviewer's flag: a suggested ASA II becomes I when D3 = 4")
    amends_id: int | None = Field(default=None, description="The signed opinion this amends")
    password: str = Field(min_length=1, max_length=200,
                          description="The signer's password, re-entered as the act of signing")


class SubmissionFilter(In):
    status: SubmissionStatus | None = None


class SubmissionOut(Out):
    id: int
    device_id: int
    model_version_id: int
    reviewer_organisation_id: int
    kind: OpinionKind
    status: SubmissionStatus
    cover_note: str
    evaluation_ids: list[int]
    ethics_assessment_id: int | None
    artifact_ids: list[int]
    previous_id: int | None
    changes: dict[str, Any]
    prefill: dict[str, Any]
    submitted_by: int
    submitted_at: datetime
    updated_at: datetime


class ScoreOut(Out):
    domain: str
    score: str
    justification: str
    evidence_artifact_ids: list[int]
    scored_by: int
    scored_at: datetime


class ChecklistOut(Out):
    guideline: str
    items: list[dict[str, Any]]
    artifact_id: int | None
    compliance: float | None = Field(default=None,
                                     description="reported / applicable items (hta.md 7)")
    updated_at: datetime


class MessageOut(Out):
    id: int
    submission_id: int
    kind: MessageKind
    in_reply_to: int | None
    body: str
    artifact_id: int | None
    author_id: int
    author_name: str
    organisation_id: int
    created_at: datetime


class OpinionOut(Out):
    id: int
    submission_id: int
    device_id: int
    model_version_id: int
    reviewer_organisation_id: int
    kind: OpinionKind
    service_attendu: str | None
    asa: str | None
    decision: str | None
    certificate_number: str
    conditions: str
    rationale: str
    favourable: bool
    scores: dict[str, Any]
    derived: dict[str, Any]
    amends_id: int | None
    signer_id: int
    signer_name: str
    signer_email: str
    signed_at: datetime
    meaning: str
    content_hash: str
    key_id: str
    signature: str


class SignatureCheckOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opinion_id: int
    valid: bool
    problems: list[str]


class AssessmentOut(BaseModel):
    """A submission with everything a reviewer works on."""

    submission: SubmissionOut
    scores: list[ScoreOut]
    checklists: list[ChecklistOut]
    messages: list[MessageOut]
    opinions: list[OpinionOut]
    derived: dict[str, Any] | None = Field(
        default=None, description="Opinion suggested by hta.md 6.3 once every domain is scored")
