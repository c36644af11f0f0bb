"""Schemas: Public catalogue, national view, use-case scores, problem reports (issue #10).

Public output models carry no internal ids and nothing a manufacturer has not published.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitoring.vigilance import IncidentCategory
from registry.models import Adaptivity, AiActCategory, Regulation, Stage, Task, Theme
from registry.models.catalogue import (
    Criterion,
    ProblemCategory,
    ProblemStatus,
    ReporterKind,
)
from registry.schemas.core import In
from registry.schemas.monitoring import SEVERITIES

# --- the public catalogue ---------------------------------------------------------------------


class CatalogueFilter(In):
    q: str | None = Field(default=None, max_length=200, description="Words in name or purpose")
    theme: Theme | None = None
    stage: Stage | None = None
    regulation: Regulation | None = None
    risk_class: str | None = Field(default=None, max_length=20)
    ai_technique: str | None = Field(default=None, max_length=200,
                                     description="Words in the AI technique, e.g. 'deep learning'")
    adaptivity: Adaptivity | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0)

    @field_validator("q", "risk_class", "ai_technique", "theme", "stage", "regulation",
                     "adaptivity", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class Public(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class EvaluationSummaryOut(Public):
    """A published evaluation result: the estimate and its interval, as the evaluator computed."""

    model_version: str
    dataset_kind: str
    site: str = ""
    metric: str
    estimate: float | None
    lower: float | None = None
    upper: float | None = None
    level: float | None = None
    method: str = ""
    n: int | None = None
    verdict: str = ""  # met / not_met / "" when no KPI is declared for the metric
    evaluated_at: datetime | None = None


class OpinionSummaryOut(Public):
    kind: str
    reviewer: str
    model_version: str = ""
    summary: str
    favourable: bool | None = None
    signed_at: datetime | None = None


class SafetyNoticeOut(Public):
    """An open alert or incident, as the public sees it: kind, severity and date, no details."""

    kind: Literal["alert", "incident"]
    severity: str
    status: str
    summary: str
    since: datetime | None = None


class CatalogueDeviceOut(Public):
    code: str
    name: str
    manufacturer: str
    intended_purpose: str
    medical_indication: str
    target_population: str
    intended_users: str
    use_environment: str
    theme: Theme
    secondary_themes: list[str]
    regulation: Regulation
    risk_class: str
    ai_act_category: AiActCategory | None
    adaptivity: Adaptivity
    ai_technique: str
    task: Task
    stage: Stage
    basic_udi_di: str
    udi_di: str
    versions: list[str]
    deployments: int
    hospitals: int
    evaluations: list[EvaluationSummaryOut] = Field(default_factory=list)
    opinions: list[OpinionSummaryOut] = Field(default_factory=list)
    safety_notices: list[SafetyNoticeOut] = Field(default_factory=list)
    withdrawn_at: datetime | None = None
    updated_at: datetime


class CatalogueChangeOut(Public):
    """One entry of the catalogue's change feed."""

    id: str
    code: str
    name: str
    kind: Literal["published", "unpublished", "stage"]
    title: str
    stage: Stage
    occurred_at: datetime


# --- problem reports --------------------------------------------------------------------------


class ProblemReportIn(In):
    category: ProblemCategory
    reporter_kind: ReporterKind
    description: str = Field(min_length=20, max_length=4000,
                             description="What happened, when, and with which output")
    contact: str = Field(default="", max_length=254,
                         description="An e-mail address if you accept to be contacted")

    @field_validator("contact")
    @classmethod
    def _email_or_blank(cls, value: str) -> str:
        if value and ("@" not in value or " " in value or "." not in value.split("@")[-1]):
            raise ValueError("give an e-mail address like name@example.org, or leave it blank")
        return value


class ProblemReportOut(Public):
    id: int
    device_code: str
    device_name: str
    category: ProblemCategory
    reporter_kind: ReporterKind
    description: str
    contact: str
    status: ProblemStatus
    created_at: datetime
    handled_at: datetime | None
    handling_note: str
    incident_ref: str


class ProblemReportReceiptOut(Public):
    """What the public sender gets back: a reference, never the report list."""

    reference: str
    device_code: str
    status: ProblemStatus
    created_at: datetime


class ProblemReportHandleIn(In):
    status: Literal["acknowledged", "dismissed"]
    note: str = Field(min_length=3, max_length=4000)


class IncidentRequestIn(In):
    """What the monitoring area needs to open the incident (registry/schemas/monitoring.py)."""

    note: str = Field(min_length=3, max_length=4000,
                      description="Why the report becomes an incident")
    serious: bool = False
    category: IncidentCategory | None = Field(
        default=None, description="The reporting trigger of a serious incident")
    severity: Literal[SEVERITIES] = "medium"  # type: ignore[valid-type]

    @field_validator("category", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @model_validator(mode="after")
    def _category_for_serious(self) -> IncidentRequestIn:
        if self.serious and self.category is None:
            raise ValueError("a serious incident needs its category (the reporting trigger)")
        if not self.serious and self.category is not None:
            raise ValueError("a category is for serious incidents only; tick 'serious' or "
                             "leave it empty")
        return self


# --- use-case prioritisation ------------------------------------------------------------------


class UseCaseIn(In):
    code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    title: str = Field(min_length=3, max_length=200)
    theme: Theme
    description: str = Field(default="", max_length=8000)
    device_code: str | None = Field(default=None, max_length=40,
                                    description="The registered device serving it, if any")

    @field_validator("device_code", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


class UseCaseOut(Public):
    code: str
    title: str
    theme: Theme
    description: str
    device_code: str | None
    created_at: datetime


class AssessmentIn(In):
    """Scores 1, 3 or 5 for each of the six criteria, each with a short justification."""

    scores: dict[Criterion, Literal[1, 3, 5]]
    justifications: dict[Criterion, str]
    weights: dict[Criterion, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _complete(self) -> AssessmentIn:
        missing = [c.value for c in Criterion if c not in self.scores]
        if missing:
            raise ValueError(f"score every criterion; missing: {', '.join(missing)}")
        unjustified = [c.value for c in Criterion if not self.justifications.get(c, "").strip()]
        if unjustified:
            raise ValueError(f"justify every score; missing: {', '.join(unjustified)}")
        long = [c.value for c, text in self.justifications.items() if len(text) > 2000]
        if long:
            raise ValueError(f"keep justifications under 2000 characters: {', '.join(long)}")
        bad = [f"{c.value}={w}" for c, w in self.weights.items() if not 0 < w <= 10]
        if bad:
            raise ValueError(f"weights must be > 0 and <= 10; got {', '.join(bad)}")
        return self


class AssessmentOut(Public):
    use_case_code: str
    assessor: str
    assessor_email: str
    organisation: str
    scores: dict[str, int]
    justifications: dict[str, str]
    weights: dict[str, float]
    total: float
    created_at: datetime
    updated_at: datetime


class RankingRowOut(Public):
    rank: int
    code: str
    title: str
    theme: Theme
    device_code: str | None
    assessors: int
    mean_scores: dict[str, float]
    total: float | None


# --- the national view ------------------------------------------------------------------------


class MatrixRowOut(Public):
    theme: Theme
    at: list[int]
    reached: list[int]
    total: int


class CountOut(Public):
    key: str
    label: str
    count: int


class ClassCategoryOut(Public):
    risk_class: str
    ai_act_category: str
    count: int


class SafetyByPlaceOut(Public):
    region: str
    site: str
    open_alerts: int
    overdue_incidents: int
    open_incidents: int


class FootprintTotalsOut(Public):
    available: bool
    energy_kwh: float = 0.0
    emissions_kg: float = 0.0
    records: int = 0
    by_phase: dict[str, dict[str, float]] = Field(default_factory=dict)


class NationalViewOut(Public):
    stages: list[Stage]
    matrix: list[MatrixRowOut]
    column_totals: list[int]
    total: int
    published: int
    by_class_and_category: list[ClassCategoryOut]
    safety_available: bool
    safety_by_place: list[SafetyByPlaceOut]
    footprint: FootprintTotalsOut


class ExportQuery(In):
    format: Literal["json", "csv"] = "json"
