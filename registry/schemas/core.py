"""Validated input (and output) models: every API body, query and form goes through one of these."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from registry.models import (
    RISK_CLASSES,
    Adaptivity,
    AiActCategory,
    ChangeType,
    Comparator,
    DatasetKind,
    OrganisationKind,
    OutputRole,
    Regulation,
    Role,
    Stage,
    Task,
    Theme,
)


class In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrganisationIn(In):
    name: str = Field(min_length=2, max_length=200)
    kind: OrganisationKind
    city: str = Field(default="", max_length=120)
    region: str = Field(default="", max_length=120)
    actor_srn: str = Field(default="", max_length=40)


class UserIn(In):
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=10, max_length=200)
    organisation_id: int
    role: Role


class TokenIn(In):
    name: str = Field(min_length=1, max_length=120)
    scopes: list[str] | None = Field(
        default=None, description="Permissions to grant; default: all of the user's role"
    )
    lifetime_days: int | None = Field(default=None, gt=0, le=3650)


class DeviceFields(In):
    """Fields a manufacturer describes; all optional so the same model serves updates."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    intended_purpose: str | None = Field(default=None, max_length=8000)
    medical_indication: str | None = Field(default=None, max_length=2000)
    target_population: str | None = Field(default=None, max_length=2000)
    intended_users: str | None = Field(default=None, max_length=1000)
    use_environment: str | None = Field(default=None, max_length=1000)
    output_role: OutputRole | None = None
    contraindications: str | None = Field(default=None, max_length=2000)
    theme: Theme | None = None
    secondary_themes: list[Theme] | None = None
    regulation: Regulation | None = None
    risk_class: str | None = Field(default=None, max_length=20)
    classification_rule: str | None = Field(default=None, max_length=200)
    classification_reasoning: str | None = Field(default=None, max_length=4000)
    ai_act_category: AiActCategory | None = None
    ai_act_reasoning: str | None = Field(default=None, max_length=4000)
    classification_final: bool | None = None
    adaptivity: Adaptivity | None = None
    change_envelope: str | None = Field(default=None, max_length=4000)
    ai_technique: str | None = Field(default=None, max_length=200)
    task: Task | None = None
    actor_srn: str | None = Field(default=None, max_length=40)
    basic_udi_di: str | None = Field(default=None, max_length=60)
    udi_di: str | None = Field(default=None, max_length=60)
    emdn_code: str | None = Field(default=None, max_length=30)
    certificate_numbers: list[str] | None = None

    @model_validator(mode="after")
    def _class_fits_regulation(self) -> Self:
        if self.regulation is not None and self.risk_class:
            allowed = RISK_CLASSES[self.regulation]
            if self.risk_class not in allowed:
                raise ValueError(
                    f"risk_class '{self.risk_class}' is not a {self.regulation.value} class; "
                    f"use one of {', '.join(allowed)}"
                )
        return self


class DeviceIn(DeviceFields):
    code: str = Field(min_length=2, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    name: str = Field(min_length=1, max_length=200)
    theme: Theme
    manufacturer_id: int | None = Field(
        default=None, description="Defaults to the caller's organisation"
    )


class DeviceUpdate(DeviceFields):
    lock_version: int | None = Field(
        default=None, description="The lock_version you read; a stale one gives 409"
    )


class KpiIn(In):
    metric: str = Field(min_length=1, max_length=80)
    comparator: Comparator
    threshold: float | None = None
    low: float | None = None
    high: float | None = None
    population: str = Field(default="", max_length=500)
    dataset_kind: DatasetKind
    is_primary: bool = False

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.comparator is Comparator.between:
            if self.low is None or self.high is None:
                raise ValueError("comparator 'between' needs both low and high")
            if self.low > self.high:
                raise ValueError(f"low ({self.low}) must not exceed high ({self.high})")
        elif self.threshold is None:
            raise ValueError(f"comparator '{self.comparator.value}' needs a threshold")
        return self


class SubgroupIn(In):
    variable: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    levels: list[str] = Field(default_factory=list)
    gap_metric: str = Field(default="", max_length=80)
    max_gap: float | None = Field(default=None, ge=0)


class ModelVersionIn(In):
    version: str = Field(min_length=1, max_length=40)
    change_type: ChangeType
    change_description: str = Field(default="", max_length=4000)
    parent_id: int | None = None
    within_pccp: bool = False
    planned_modification_code: str | None = None
    model_card: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _pccp(self) -> Self:
        if self.change_type is ChangeType.retrain_in_plan and not self.within_pccp:
            raise ValueError("change_type 'retrain_in_plan' requires within_pccp = true")
        if self.within_pccp and not self.planned_modification_code:
            raise ValueError("a version within the PCCP must name planned_modification_code")
        if self.change_type is not ChangeType.initial and not self.change_description:
            raise ValueError("describe the change (change_description)")
        return self


class ModelCardUpdate(In):
    model_card: dict[str, Any]


class PlannedModificationIn(In):
    code: str = Field(min_length=1, max_length=40)
    description: str = Field(min_length=1, max_length=4000)
    automatic: bool = False
    scope: str = Field(default="global", pattern="^(global|local)$")
    protocol: str = Field(default="", max_length=8000)
    acceptance_criteria: list[KpiIn] = Field(default_factory=list)
    test_data_reference: str = Field(default="", max_length=1000)
    impact_assessment: str = Field(default="", max_length=4000)


class ChangeControlPlanIn(In):
    authority: str = Field(pattern=r"^(FDA-PCCP|EU-AIA-43\(4\))$")
    version: str = Field(default="1", max_length=20)
    status: str = Field(default="draft", pattern="^(draft|authorised)$")
    authorised_at: datetime | None = None
    summary: str = Field(default="", max_length=4000)
    modifications: list[PlannedModificationIn] = Field(default_factory=list)


class DeploymentIn(In):
    model_version_id: int
    hospital_id: int
    site: str = Field(min_length=1, max_length=200)
    go_live_at: datetime | None = None
    status: str = Field(default="planned", pattern="^(planned|live|retired)$")
    expected_monthly_volume: int | None = Field(default=None, ge=0)


class TransitionIn(In):
    to_stage: Stage
    reason: str = Field(default="", max_length=4000)
    lock_version: int | None = None


class EvidenceIn(In):
    gate_item: str = Field(pattern=r"^G[1-6]\.\d{1,2}$")
    artifact_id: int | None = None
    note: str = Field(default="", max_length=4000)
    model_version_id: int | None = Field(
        default=None, description="Defaults to the candidate version for version-level items"
    )


class WaiverIn(In):
    gate_item: str = Field(pattern=r"^G[1-6]\.\d{1,2}$")
    justification: str = Field(min_length=10, max_length=4000)


class GrantIn(In):
    organisation_id: int
    purpose: str = Field(pattern="^(review|audit)$")


class PublishIn(In):
    published: bool


class DeviceFilter(In):
    q: str | None = Field(default=None, max_length=200)
    theme: Theme | None = None
    stage: Stage | None = None
    regulation: Regulation | None = None
    risk_class: str | None = None
    adaptivity: Adaptivity | None = None
    manufacturer_id: int | None = None
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=2**31 - 1)  # larger overflows the database

    @field_validator("q", "risk_class", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if value == "" else value


# --- output models (the edge serialises domain objects through these) -------------------------


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class OrganisationOut(Out):
    id: int
    name: str
    kind: OrganisationKind
    city: str
    region: str
    actor_srn: str


class UserOut(Out):
    id: int
    email: str
    name: str
    organisation_id: int
    role: Role
    is_active: bool


class TokenOut(Out):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    expires_at: datetime
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret; shown once, store it now")


class KpiOut(KpiIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: int


class SubgroupOut(SubgroupIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: int


class DeviceOut(Out):
    id: int
    code: str
    name: str
    manufacturer_id: int
    intended_purpose: str
    medical_indication: str
    target_population: str
    intended_users: str
    use_environment: str
    output_role: OutputRole | None
    contraindications: str
    theme: Theme
    secondary_themes: list[str]
    regulation: Regulation
    risk_class: str
    classification_rule: str
    classification_reasoning: str
    ai_act_category: AiActCategory | None
    ai_act_reasoning: str
    classification_final: bool
    adaptivity: Adaptivity
    change_envelope: str
    ai_technique: str
    task: Task
    actor_srn: str
    basic_udi_di: str
    udi_di: str
    emdn_code: str
    certificate_numbers: list[str]
    stage: Stage
    withdrawn_at: datetime | None
    is_published: bool
    lock_version: int
    created_at: datetime
    updated_at: datetime


class ModelVersionOut(Out):
    id: int
    device_id: int
    version: str
    parent_id: int | None
    change_type: ChangeType
    change_description: str
    within_pccp: bool
    planned_modification_id: int | None
    model_card: dict[str, Any]
    evaluated_at: datetime | None
    created_at: datetime


class PlannedModificationOut(Out):
    id: int
    code: str
    description: str
    automatic: bool
    scope: str
    protocol: str
    acceptance_criteria: list[dict[str, Any]]
    test_data_reference: str
    impact_assessment: str


class ChangeControlPlanOut(Out):
    id: int
    authority: str
    version: str
    status: str
    authorised_at: datetime | None
    summary: str
    modifications: list[PlannedModificationOut] = Field(default_factory=list)


class DeploymentOut(Out):
    id: int
    device_id: int
    model_version_id: int
    hospital_id: int
    site: str
    go_live_at: datetime | None
    status: str
    expected_monthly_volume: int | None


class TransitionOut(Out):
    id: int
    from_stage: Stage | None
    to_stage: Stage
    direction: str
    reason: str
    model_version_id: int | None
    actor_id: int | None
    evidence: list[dict[str, Any]]
    created_at: datetime


class EvidenceOut(Out):
    id: int
    gate_item: str
    kind: str
    model_version_id: int | None
    artifact_id: int | None
    note: str
    created_by: int
    created_at: datetime


class ArtifactOut(Out):
    id: int
    sha256: str
    size_bytes: int
    filename: str
    media_type: str
    created_at: datetime


class GrantOut(Out):
    id: int
    device_id: int
    organisation_id: int
    purpose: str


class UnmetOut(BaseModel):
    id: str
    title: str
    detail: str


class GateStatusOut(BaseModel):
    stage: Stage
    next_stage: Stage | None
    unmet: list[UnmetOut]
    may_advance: bool


class JobOut(Out):
    id: str
    name: str
    status: str
    arguments: dict[str, Any]
    result: dict[str, Any] | None
    error: str
    attempts: int
    worker: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class JobIn(In):
    name: str = Field(description="A registered job name, e.g. 'audit.verify'")
    arguments: dict[str, Any] = Field(default_factory=dict)


class AuditReportOut(BaseModel):
    ok: bool
    events: int
    checkpoints: int
    head_hash: str
    problems: list[str]


class AuditEventOut(Out):
    seq: int
    occurred_at: datetime
    actor_email: str
    actor_role: str
    organisation_id: int | None
    action: str
    object_type: str
    object_id: str
    device_id: int | None
    reason: str
    payload: str
    prev_hash: str
    hash: str


class Page(BaseModel):
    total: int
    limit: int
    offset: int
