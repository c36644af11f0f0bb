"""Tables of the registry (SQLModel), in the vocabulary of ../shared/reference."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class OrganisationKind(StrEnum):
    manufacturer = "manufacturer"
    notified_body = "notified_body"
    hta_agency = "hta_agency"
    hospital = "hospital"
    auditor = "auditor"
    authority = "authority"
    registry_operator = "registry_operator"


class Role(StrEnum):
    admin = "admin"
    manufacturer = "manufacturer"
    reviewer = "reviewer"
    hospital = "hospital"
    auditor = "auditor"
    authority = "authority"


# Which organisation kinds a role may belong to: a reviewer works for an HTA agency or a NB.
ROLE_ORGANISATION_KINDS: dict[Role, set[OrganisationKind]] = {
    Role.admin: {OrganisationKind.registry_operator},
    Role.manufacturer: {OrganisationKind.manufacturer},
    Role.reviewer: {OrganisationKind.hta_agency, OrganisationKind.notified_body},
    Role.hospital: {OrganisationKind.hospital},
    Role.auditor: {OrganisationKind.auditor},
    Role.authority: {OrganisationKind.authority},
}


class Stage(StrEnum):
    """The strategy's seven lifecycle stages (lifecycle.md section 1), in order."""

    S1_NEEDS = "S1_NEEDS"
    S2_DATA = "S2_DATA"
    S3_MODEL = "S3_MODEL"
    S4_VALIDATION = "S4_VALIDATION"
    S5_REGULATORY = "S5_REGULATORY"
    S6_DEPLOYMENT = "S6_DEPLOYMENT"
    S7_POSTMARKET = "S7_POSTMARKET"

    @property
    def number(self) -> int:
        return int(self.value[1])

    @property
    def label(self) -> str:
        return STAGE_LABELS[self]


STAGE_LABELS = {
    Stage.S1_NEEDS: "Needs and scoping",
    Stage.S2_DATA: "Data collection and preparation",
    Stage.S3_MODEL: "Modelling and training",
    Stage.S4_VALIDATION: "Validation and evaluation",
    Stage.S5_REGULATORY: "Regulation and certification",
    Stage.S6_DEPLOYMENT: "Deployment and integration",
    Stage.S7_POSTMARKET: "Post-market monitoring",
}


class Theme(StrEnum):
    """The strategy's nine themes (use_cases.md section 1)."""

    ACCESS = "ACCESS"
    PATHWAY = "PATHWAY"
    CARE = "CARE"
    TECH_PLATFORM = "TECH_PLATFORM"
    PREVENTION = "PREVENTION"
    LOGISTICS = "LOGISTICS"
    ADMIN = "ADMIN"
    RESEARCH = "RESEARCH"
    STEERING = "STEERING"


class Regulation(StrEnum):
    MDR = "MDR"
    IVDR = "IVDR"
    none = "none"


RISK_CLASSES = {
    Regulation.MDR: ["I", "Is", "Im", "Ir", "IIa", "IIb", "III"],
    Regulation.IVDR: ["A", "A_sterile", "B", "C", "D"],
    Regulation.none: ["not_a_device"],
}

# Classes whose conformity assessment involves a notified body (regulation.md section 7).
NOTIFIED_BODY_CLASSES = {"Is", "Im", "Ir", "IIa", "IIb", "III", "A_sterile", "B", "C", "D"}


class AiActCategory(StrEnum):
    high_risk_art6_1 = "high_risk_art6_1"
    high_risk_annex_iii = "high_risk_annex_iii"
    limited_risk = "limited_risk"
    minimal_risk = "minimal_risk"
    not_ai_system = "not_ai_system"


class Adaptivity(StrEnum):
    locked = "locked"
    adaptive = "adaptive"


class Task(StrEnum):
    binary = "binary"
    multiclass = "multiclass"
    ordinal = "ordinal"
    regression = "regression"
    risk = "risk"
    generative = "generative"


class OutputRole(StrEnum):
    """IMDRF significance of the information: inform, drive, or treat/diagnose."""

    inform = "inform"
    drive = "drive"
    diagnose_treat = "diagnose_treat"


class ChangeType(StrEnum):
    """lifecycle.md section 4; the value says where a new version re-enters the lifecycle."""

    initial = "initial"
    none_model = "none_model"
    retrain_in_plan = "retrain_in_plan"
    retrain_out_of_plan = "retrain_out_of_plan"
    architecture = "architecture"
    intended_purpose = "intended_purpose"


REENTRY_STAGE = {
    ChangeType.initial: Stage.S1_NEEDS,
    ChangeType.none_model: Stage.S6_DEPLOYMENT,
    ChangeType.retrain_in_plan: Stage.S4_VALIDATION,
    ChangeType.retrain_out_of_plan: Stage.S2_DATA,
    ChangeType.architecture: Stage.S3_MODEL,
    ChangeType.intended_purpose: Stage.S1_NEEDS,
}


class DatasetKind(StrEnum):
    internal = "internal"
    external = "external"
    prospective = "prospective"
    rct = "rct"


class Comparator(StrEnum):
    ge = ">="
    le = "<="
    between = "between"


def _json(**kw: Any) -> Any:
    return Field(sa_column=Column(JSON, nullable=False), **kw)


def _enum(enum: type[StrEnum], *, nullable: bool = False, index: bool = False, **kw: Any) -> Any:
    # Stored as plain VARCHAR of the enum's values (not a PostgreSQL ENUM type), so a new value
    # needs no ALTER TYPE migration and both databases hold the same text.
    column_type = SAEnum(
        enum, native_enum=False, length=40, values_callable=lambda e: [m.value for m in e]
    )
    return Field(sa_column=Column(column_type, nullable=nullable, index=index), **kw)


class Organisation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    kind: OrganisationKind = _enum(OrganisationKind)
    city: str = Field(default="", max_length=120)
    region: str = Field(default="", max_length=120)
    # EUDAMED actor registration number (manufacturers) or NB number (notified bodies).
    actor_srn: str = Field(default="", max_length=40)
    created_at: datetime = Field(default_factory=utcnow)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=300)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    role: Role = _enum(Role)
    is_active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(max_length=120)
    # The first characters of the token, stored in clear to find the row; the rest only hashed.
    prefix: str = Field(max_length=16, unique=True, index=True)
    token_hash: str = Field(max_length=64)
    scopes: list[str] = _json(default_factory=list)
    expires_at: datetime
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class Device(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True, index=True)
    name: str = Field(max_length=200)
    manufacturer_id: int = Field(foreign_key="organisation.id", index=True)
    # Intended purpose (lifecycle.md G1.1).
    intended_purpose: str = Field(default="", sa_column=Column(Text, nullable=False))
    medical_indication: str = Field(default="", max_length=2000)
    target_population: str = Field(default="", max_length=2000)
    intended_users: str = Field(default="", max_length=1000)
    use_environment: str = Field(default="", max_length=1000)
    output_role: OutputRole | None = _enum(OutputRole, default=None, nullable=True)
    contraindications: str = Field(default="", max_length=2000)
    theme: Theme = _enum(Theme, index=True)
    secondary_themes: list[str] = _json(default_factory=list)
    # Classification (regulation.md).
    regulation: Regulation = _enum(Regulation, default=Regulation.MDR)
    risk_class: str = Field(default="", max_length=20)
    classification_rule: str = Field(default="", max_length=200)
    classification_reasoning: str = Field(default="", max_length=4000)
    ai_act_category: AiActCategory | None = _enum(AiActCategory, default=None, nullable=True)
    ai_act_reasoning: str = Field(default="", max_length=4000)
    classification_final: bool = False
    adaptivity: Adaptivity = _enum(Adaptivity, default=Adaptivity.locked)
    change_envelope: str = Field(default="", max_length=4000)
    ai_technique: str = Field(default="", max_length=200)
    task: Task = _enum(Task, default=Task.binary)
    # EUDAMED identifiers an auditor cross-checks.
    actor_srn: str = Field(default="", max_length=40)
    basic_udi_di: str = Field(default="", max_length=60)
    udi_di: str = Field(default="", max_length=60)
    emdn_code: str = Field(default="", max_length=30)
    certificate_numbers: list[str] = _json(default_factory=list)
    stage: Stage = _enum(Stage, default=Stage.S1_NEEDS, index=True)
    withdrawn_at: datetime | None = None
    is_published: bool = Field(default=False, index=True)
    # Optimistic concurrency: every write bumps it; a stale writer gets a conflict.
    lock_version: int = 1
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # The catalogue lists devices by name: read in index order rather than sorting every row.
    __table_args__ = (Index("ix_device_name_code", "name", "code"),)


class Kpi(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    metric: str = Field(max_length=80)
    comparator: Comparator = _enum(Comparator)
    threshold: float | None = None
    low: float | None = None
    high: float | None = None
    population: str = Field(default="", max_length=500)
    dataset_kind: DatasetKind = _enum(DatasetKind)
    is_primary: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class SubgroupVariable(SQLModel, table=True):
    __tablename__ = "subgroup_variable"
    __table_args__ = (UniqueConstraint("device_id", "variable"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    variable: str = Field(max_length=80)
    levels: list[str] = _json(default_factory=list)
    gap_metric: str = Field(default="", max_length=80)
    max_gap: float | None = None


class ChangeControlPlan(SQLModel, table=True):
    """A predetermined change control plan (FDA PCCP or AI Act Art. 43(4)), one per device."""

    __tablename__ = "change_control_plan"
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", unique=True)
    authority: str = Field(max_length=20)  # "FDA-PCCP" or "EU-AIA-43(4)"
    version: str = Field(default="1", max_length=20)
    status: str = Field(default="draft", max_length=20)  # draft / authorised
    authorised_at: datetime | None = None
    summary: str = Field(default="", max_length=4000)
    created_at: datetime = Field(default_factory=utcnow)


class PlannedModification(SQLModel, table=True):
    __tablename__ = "planned_modification"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="change_control_plan.id", index=True)
    code: str = Field(max_length=40)
    description: str = Field(max_length=4000)
    automatic: bool = False
    scope: str = Field(default="global", max_length=10)  # global / local
    protocol: str = Field(default="", max_length=8000)
    acceptance_criteria: list[dict[str, Any]] = _json(default_factory=list)
    test_data_reference: str = Field(default="", max_length=1000)
    impact_assessment: str = Field(default="", max_length=4000)


class ModelVersion(SQLModel, table=True):
    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("device_id", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    version: str = Field(max_length=40)
    parent_id: int | None = Field(default=None, foreign_key="model_version.id")
    change_type: ChangeType = _enum(ChangeType)
    change_description: str = Field(default="", max_length=4000)
    within_pccp: bool = False
    planned_modification_id: int | None = Field(
        default=None, foreign_key="planned_modification.id"
    )
    model_card: dict[str, Any] = _json(default_factory=dict)
    # Set when the first evaluation lands; from then on the version is immutable.
    evaluated_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Deployment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    hospital_id: int = Field(foreign_key="organisation.id", index=True)
    site: str = Field(max_length=200)
    go_live_at: datetime | None = None
    status: str = Field(default="planned", max_length=20)  # planned / live / retired
    expected_monthly_volume: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AccessGrant(SQLModel, table=True):
    """A manufacturer lets a reviewer or auditor organisation see one of its devices."""

    __tablename__ = "access_grant"
    __table_args__ = (UniqueConstraint("device_id", "organisation_id"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    purpose: str = Field(max_length=20)  # review / audit
    created_at: datetime = Field(default_factory=utcnow)


class StageTransition(SQLModel, table=True):
    __tablename__ = "stage_transition"
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    from_stage: Stage | None = _enum(Stage, default=None, nullable=True)
    to_stage: Stage = _enum(Stage)
    direction: str = Field(max_length=10)  # forward / back / create
    reason: str = Field(default="", max_length=4000)
    model_version_id: int | None = Field(default=None, foreign_key="model_version.id")
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    # The gate items and the evidence that satisfied them, frozen at the time of the move.
    evidence: list[dict[str, Any]] = _json(default_factory=list)
    created_at: datetime = Field(default_factory=utcnow)


class Artifact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, index=True)
    size_bytes: int
    filename: str = Field(max_length=255)
    media_type: str = Field(default="application/octet-stream", max_length=120)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    uploaded_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class Evidence(SQLModel, table=True):
    """Something that satisfies a gate item: a document, or a reviewer's waiver."""

    __table_args__ = (Index("ix_evidence_device_item", "device_id", "gate_item"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id")
    model_version_id: int | None = Field(default=None, foreign_key="model_version.id")
    gate_item: str = Field(max_length=10)
    kind: str = Field(default="document", max_length=20)  # document / waiver
    artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    note: str = Field(default="", max_length=4000)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """One link of the hash chain; never updated or deleted (database triggers refuse it)."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True, index=True)
    occurred_at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = None
    actor_email: str = Field(default="", max_length=254)
    actor_role: str = Field(default="", max_length=20)
    organisation_id: int | None = None
    action: str = Field(max_length=80, index=True)
    object_type: str = Field(max_length=40)
    object_id: str = Field(max_length=80)
    device_id: int | None = Field(default=None, index=True)
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    # Canonical JSON (sorted keys, no spaces) of the change with before/after values.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    __tablename__ = "audit_checkpoint"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(index=True)  # last event covered
    count: int
    head_hash: str = Field(max_length=64)
    signed_at: datetime = Field(default_factory=utcnow)
    key_id: str = Field(max_length=64)
    signature: str = Field(max_length=200)


class Job(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=80)
    status: str = Field(default="queued", max_length=20, index=True)
    arguments: dict[str, Any] = _json(default_factory=dict)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    submitted_by: int | None = Field(default=None, foreign_key="user.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    device_id: int | None = Field(default=None, foreign_key="device.id")
    attempts: int = 0
    # host:pid of the process running it, so a job whose process died can be told apart from
    # one that is still running (see registry.jobs.reap_lost_jobs).
    worker: str = Field(default="", max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
