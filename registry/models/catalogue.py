"""Public catalogue, use-case scores, problem reports (issue #10).

The catalogue itself has no table: it is a public projection of published devices. These tables
hold what the catalogue adds: the strategy's use-case prioritisation and the public's concerns.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models.core import Theme, _enum, _json, utcnow


class Criterion(StrEnum):
    """The strategy's six selection criteria (use_cases.md section 2), in its order."""

    NEED = "NEED"
    MATURITY = "MATURITY"
    DATA = "DATA"
    FEASIBILITY = "FEASIBILITY"
    FRAMEWORK_COST = "FRAMEWORK_COST"
    DELAY = "DELAY"


class UseCase(SQLModel, table=True):
    """A use case the authority prioritises; optionally the registered device that serves it."""

    __tablename__ = "use_case"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    title: str = Field(max_length=200)
    theme: Theme = _enum(Theme, index=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class UseCaseAssessment(SQLModel, table=True):
    """One assessor's scores of one use case: 1, 3 or 5 per criterion, each with a reason."""

    __tablename__ = "use_case_assessment"
    __table_args__ = (UniqueConstraint("use_case_id", "assessor_id"),)
    id: int | None = Field(default=None, primary_key=True)
    use_case_id: int = Field(foreign_key="use_case.id", index=True)
    assessor_id: int = Field(foreign_key="user.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id")
    scores: dict[str, int] = _json(default_factory=dict)
    justifications: dict[str, str] = _json(default_factory=dict)
    # Optional weights per criterion (default 1 each); the weighted total is stored with them.
    weights: dict[str, float] = _json(default_factory=dict)
    total: float
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ProblemCategory(StrEnum):
    performance = "performance"
    safety = "safety"
    usability = "usability"
    data_protection = "data_protection"
    information = "information"
    other = "other"


class ReporterKind(StrEnum):
    patient = "patient"
    professional = "professional"
    other = "other"


class ProblemStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    dismissed = "dismissed"
    # Asked to become an incident while no incident service exists to take it (see services).
    incident_requested = "incident_requested"
    converted = "converted"


class ProblemReport(SQLModel, table=True):
    """A concern anyone reported about a published device from its catalogue page."""

    __tablename__ = "problem_report"
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    category: ProblemCategory = _enum(ProblemCategory)
    reporter_kind: ReporterKind = _enum(ReporterKind)
    description: str = Field(sa_column=Column(Text, nullable=False))
    contact: str = Field(default="", max_length=254)
    status: ProblemStatus = _enum(ProblemStatus, default=ProblemStatus.open, index=True)
    # Keyed hash of the sender's address: enough to rate-limit, not enough to identify anyone.
    client_fingerprint: str = Field(default="", max_length=64, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    handled_by: int | None = Field(default=None, foreign_key="user.id")
    handled_at: datetime | None = None
    handling_note: str = Field(default="", max_length=4000)
    incident_ref: str = Field(default="", max_length=80)
