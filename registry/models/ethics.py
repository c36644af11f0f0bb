"""Ethics-grid self-assessments and their reviews (issue #6).

A device has a sequence of assessments, each on one grid version. The newest may be a draft the
manufacturer keeps editing (one row per answered criterion); submitting freezes it: the answers
are copied into ``snapshot`` with the grid version and its fingerprint, hashed, and never change
again. Reviewers then give a verdict per criterion of a submitted assessment.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models.core import _enum, _json, utcnow


class EthicsStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"


class EthicsVerdict(StrEnum):
    agree = "agree"
    disagree = "disagree"


class EthicsAssessment(SQLModel, table=True):
    __tablename__ = "ethics_assessment"
    __table_args__ = (UniqueConstraint("device_id", "number"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    number: int  # 1, 2, ... per device
    grid_version: str = Field(max_length=20)
    # SHA-256 of the grid version's content when the assessment started: a published version
    # never changes, so a different fingerprint later means the file was edited in place.
    grid_fingerprint: str = Field(max_length=64)
    status: EthicsStatus = _enum(EthicsStatus, default=EthicsStatus.draft,
                                     index=True)
    # The assessment this one started from (its answers were copied or carried over).
    previous_id: int | None = Field(default=None, foreign_key="ethics_assessment.id")
    # Criteria of this version that the carry-over could not fill: [{"criterion_id",
    # "reason_code", "reason", "from_ids"}] (empty when started from scratch or same version).
    to_reanswer: list[dict[str, Any]] = _json(default_factory=list)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    submitted_by: int | None = Field(default=None, foreign_key="user.id")
    submitted_at: datetime | None = None
    # Frozen at submission: {"grid_version", "grid_fingerprint", "answers": {id: {...}}}.
    snapshot: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    snapshot_sha256: str = Field(default="", max_length=64)


class EthicsAnswer(SQLModel, table=True):
    """The manufacturer's answer to one criterion in a draft assessment."""

    __tablename__ = "ethics_answer"
    __table_args__ = (UniqueConstraint("assessment_id", "criterion_id"),)
    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="ethics_assessment.id", index=True)
    device_id: int = Field(foreign_key="device.id", index=True)  # names the device in the audit
    criterion_id: str = Field(max_length=40)
    maturity: int | None = None
    not_applicable: bool = False
    justification: str = Field(default="", sa_column=Column(Text, nullable=False))
    explanation: str = Field(default="", sa_column=Column(Text, nullable=False))
    # [{"kind": "artifact" | "link" | "evaluation" | "subgroup_analysis" | ..., "ref": "..."}]
    evidence: list[dict[str, Any]] = _json(default_factory=list)
    updated_by: int | None = Field(default=None, foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)
    # Saves of this criterion's answer on the device, carried into the next draft, so that a
    # writer holding an older one gets a 409 (0, with no row: never answered).
    lock_version: int = 1


class EthicsReview(SQLModel, table=True):
    """A reviewer's verdict on one criterion of a submitted assessment."""

    __tablename__ = "ethics_review"
    __table_args__ = (UniqueConstraint("assessment_id", "criterion_id"),)
    id: int | None = Field(default=None, primary_key=True)
    assessment_id: int = Field(foreign_key="ethics_assessment.id", index=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    criterion_id: str = Field(max_length=40)
    verdict: EthicsVerdict = _enum(EthicsVerdict)
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    maturity: int | None = None
    reviewer_id: int | None = Field(default=None, foreign_key="user.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    updated_at: datetime = Field(default_factory=utcnow)
    # Saves of this verdict (0, with no row: not reviewed); a stale one gets a 409.
    lock_version: int = 1
