"""Submissions to a reviewing organisation, the reviewer's assessment (domain scores, reporting
guideline checklists), the question thread, and signed opinions (#5).

A signed opinion (``review_opinion``) and the thread (``review_message``) are append-only: the
service never updates them and database triggers (migration 0006) refuse UPDATE and DELETE.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models.core import _enum, _json, utcnow


class SubmissionStatus(StrEnum):
    open = "open"  # waiting for the reviewer
    information_requested = "information_requested"  # a question awaits the manufacturer
    concluded = "concluded"  # a signed opinion exists


class OpinionKind(StrEnum):
    hta_opinion = "hta_opinion"  # HTA agency: service attendu + ASA (hta.md section 2)
    nb_decision = "nb_decision"  # notified body: certificate decision


class MessageKind(StrEnum):
    question = "question"
    answer = "answer"


class Submission(SQLModel, table=True):
    """A manufacturer submits one model version to one reviewing organisation."""

    __tablename__ = "review_submission"
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    reviewer_organisation_id: int = Field(foreign_key="organisation.id", index=True)
    kind: OpinionKind = _enum(OpinionKind)
    status: SubmissionStatus = _enum(SubmissionStatus, default=SubmissionStatus.open, index=True)
    cover_note: str = Field(default="", sa_column=Column(Text, nullable=False))
    # What the submission holds, frozen when submitted. Evaluation and ethics-assessment ids are
    # plain integers: those tables belong to other areas and may be purged or re-keyed.
    evaluation_ids: list[int] = _json(default_factory=list)
    ethics_assessment_id: int | None = None
    artifact_ids: list[int] = _json(default_factory=list)
    # What changed since the previous submission of the device to the same organisation.
    previous_id: int | None = Field(default=None, foreign_key="review_submission.id")
    changes: dict[str, Any] = _json(default_factory=dict)
    # What the registry measured for the reviewer (evidence levels, KPI verdicts, subgroup flags).
    prefill: dict[str, Any] = _json(default_factory=dict)
    submitted_by: int = Field(foreign_key="user.id")
    submitted_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class DomainScore(SQLModel, table=True):
    """The reviewer's score of one HTA domain (evaluation.hta.DOMAINS) on the 0-4 scale."""

    __tablename__ = "review_score"
    __table_args__ = (UniqueConstraint("submission_id", "domain"),)
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="review_submission.id", index=True)
    domain: str = Field(max_length=4)  # D1..D9
    score: str = Field(max_length=2)  # "0".."4", "NA" or "ND"
    justification: str = Field(sa_column=Column(Text, nullable=False))
    evidence_artifact_ids: list[int] = _json(default_factory=list)
    scored_by: int = Field(foreign_key="user.id")
    scored_at: datetime = Field(default_factory=utcnow)


class GuidelineChecklist(SQLModel, table=True):
    """A reporting-guideline checklist (TRIPOD+AI, CONSORT-AI...) checked by the reviewer."""

    __tablename__ = "review_checklist"
    __table_args__ = (UniqueConstraint("submission_id", "guideline"),)
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="review_submission.id", index=True)
    guideline: str = Field(max_length=20)
    # [{"item": "5a", "status": "reported" | "not_reported" | "NA", "page": "p. 4"}]
    items: list[dict[str, Any]] = _json(default_factory=list)
    artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    created_by: int = Field(foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class ReviewMessage(SQLModel, table=True):
    """One message of a submission's thread: a reviewer's question or the manufacturer's answer."""

    __tablename__ = "review_message"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="review_submission.id", index=True)
    kind: MessageKind = _enum(MessageKind)
    in_reply_to: int | None = Field(default=None, foreign_key="review_message.id")
    body: str = Field(sa_column=Column(Text, nullable=False))
    artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    author_id: int = Field(foreign_key="user.id")
    author_name: str = Field(max_length=200)
    organisation_id: int = Field(foreign_key="organisation.id")
    created_at: datetime = Field(default_factory=utcnow)


class Opinion(SQLModel, table=True):
    """A signed HTA opinion or notified-body decision; never changed, amended by a new record.

    ``signed_content`` is the canonical JSON that was hashed (``content_hash``, SHA-256) and
    signed with the registry's Ed25519 key (``signature``, ``key_id``); it binds the signer's name,
    the time and the meaning of the signature to the decision.
    """

    __tablename__ = "review_opinion"
    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="review_submission.id", index=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    model_version_id: int = Field(foreign_key="model_version.id")
    reviewer_organisation_id: int = Field(foreign_key="organisation.id")
    kind: OpinionKind = _enum(OpinionKind)
    # HTA opinion: service attendu (sufficient / insufficient) and, when sufficient, ASA I-V.
    service_attendu: str | None = Field(default=None, max_length=20)
    asa: str | None = Field(default=None, max_length=4)
    # Notified-body decision: granted / granted_with_conditions / refused.
    decision: str | None = Field(default=None, max_length=30)
    certificate_number: str = Field(default="", max_length=60)
    conditions: str = Field(default="", sa_column=Column(Text, nullable=False))
    rationale: str = Field(sa_column=Column(Text, nullable=False))
    favourable: bool
    # The domain scores and the rule-derived suggestion (evaluation.hta) at signing time.
    scores: dict[str, Any] = _json(default_factory=dict)
    derived: dict[str, Any] = _json(default_factory=dict)
    amends_id: int | None = Field(default=None, foreign_key="review_opinion.id")
    signer_id: int = Field(foreign_key="user.id")
    signer_name: str = Field(max_length=200)
    signer_email: str = Field(max_length=254)
    signed_at: datetime
    meaning: str = Field(max_length=500)
    signed_content: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=200)
