"""Schemas: monitoring configuration, batches, alerts, notifications, incidents (#7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from monitoring.vigilance import IncidentCategory
from registry.schemas.core import In

SEVERITIES = ("low", "medium", "high", "critical")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MonitoringConfigIn(In):
    """How a deployment is watched (checked further against monitoring.batch and .alerts)."""

    batch_schema: dict[str, Any] = Field(
        description='{"columns": [{"name", "kind", "required", "max_missing_rate"}], '
                    '"id_column", "allow_extra_columns"}')
    score_column: str = Field(default="score", min_length=1, max_length=80)
    id_column: str = Field(default="record_id", min_length=1, max_length=80)
    site_column: str = Field(default="", max_length=80)
    subgroup_columns: list[str] = Field(default_factory=list, max_length=20)
    threshold: float = Field(default=0.5, ge=0, le=1)
    reference_artifact_id: int | None = None
    reference_evaluation_id: int | None = None
    rules: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    baseline: dict[str, float] = Field(default_factory=dict)
    calibration: dict[str, float] = Field(
        default_factory=dict, description='{"slope", "intercept", "ece"} from validation')
    contacts: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _has_reference(self):
        if self.reference_artifact_id is None and self.reference_evaluation_id is None:
            raise ValueError("give reference_artifact_id (a CSV or Parquet upload) or "
                             "reference_evaluation_id (the validation of the deployed version)")
        return self


class MonitoringConfigOut(Out):
    id: int
    deployment_id: int
    batch_schema: dict[str, Any]
    score_column: str
    id_column: str
    site_column: str
    subgroup_columns: list[str]
    threshold: float
    reference_artifact_id: int | None
    reference_evaluation_id: int | None
    rules: list[dict[str, Any]]
    baseline: dict[str, Any]
    calibration: dict[str, Any]
    contacts: str
    updated_at: datetime


class BatchIn(In):
    """Form fields sent with a batch file (multipart)."""

    period_start: datetime | None = None
    period_end: datetime | None = None

    @model_validator(mode="after")
    def _ordered(self):
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        return self


class BatchOut(Out):
    id: int
    deployment_id: int
    device_id: int
    status: str
    received_at: datetime
    period_start: datetime | None
    period_end: datetime | None
    row_count: int
    file_format: str
    artifact_id: int
    job_id: str | None
    error: str
    drift_share: float | None
    n_features_drifted: int | None
    missing_rate: float | None
    labels_received_at: datetime | None
    analysed_at: datetime | None


class BatchDetailOut(BatchOut):
    results: dict[str, Any] | None
    measured: dict[str, Any] | None


class AlertActionIn(In):
    comment: str = Field(min_length=3, max_length=4000)


class AlertOut(Out):
    id: int
    deployment_id: int
    device_id: int
    rule_id: str
    dedup_key: str
    kind: str
    severity: str
    subject: str
    message: str
    observed: str
    limit: str
    status: str
    count: int
    first_batch_id: int
    last_batch_id: int
    first_seen_at: datetime
    last_seen_at: datetime
    acknowledged_at: datetime | None
    acknowledge_comment: str
    resolved_at: datetime | None
    resolve_comment: str


class AlertFilter(In):
    status: Literal["open", "acknowledged", "resolved", "active"] | None = None


class NotificationOut(Out):
    id: int
    kind: str
    title: str
    body: str
    device_id: int | None
    deployment_id: int | None
    alert_id: int | None
    incident_id: int | None
    created_at: datetime
    read_at: datetime | None


class IncidentIn(In):
    title: str = Field(min_length=3, max_length=300)
    description: str = Field(default="", max_length=8000)
    deployment_id: int | None = None
    serious: bool = False
    category: IncidentCategory | None = Field(
        default=None, description="the reporting trigger of a serious incident "
                                  "(MDR Art. 87, AI Act Art. 73, GDPR Art. 33)")
    severity: Literal[SEVERITIES] = "medium"  # type: ignore[valid-type]
    awareness_at: datetime

    @model_validator(mode="after")
    def _category_for_serious(self):
        if self.awareness_at.tzinfo is None:
            raise ValueError("awareness_at must carry a time zone (e.g. 2026-03-02T09:00Z); the "
                             "legal clock starts then")
        if self.serious and self.category is None:
            raise ValueError("a serious incident needs its category (the reporting trigger), "
                             "which sets the deadline: 2, 10 or 15 days")
        if not self.serious and self.category is not None:
            raise ValueError("a category (reporting trigger) is for serious incidents only; "
                             "set serious to true or leave category empty")
        return self


class IncidentUpdate(In):
    status: Literal["open", "reported", "closed"]
    comment: str = Field(min_length=3, max_length=4000)


class IncidentOut(Out):
    id: int
    device_id: int
    deployment_id: int | None
    reference: str
    title: str
    description: str
    serious: bool
    category: str
    severity: str
    awareness_at: datetime
    deadline_at: datetime | None
    legal_ref: str
    status: str
    reported_at: datetime | None
    closed_at: datetime | None
    comment: str
    created_at: datetime
    days_remaining: float | None = None
    overdue: bool = False


class UploadTokenIn(In):
    name: str = Field(default="batch uploader", min_length=1, max_length=120)
    lifetime_days: int | None = Field(default=None, gt=0, le=3650)


class UploadTokenOut(BaseModel):
    token: str = Field(description="shown once; send it as 'Authorization: Bearer <token>'")
    name: str
    scopes: list[str]
    expires_at: datetime


class DeploymentMonitoringOut(BaseModel):
    """One deployment as the hospital and manufacturer overviews list it."""

    deployment_id: int
    device_code: str
    device_name: str
    hospital_id: int
    hospital: str
    site: str
    version: str
    configured: bool
    status: str
    batches: int
    last_batch_at: datetime | None
    last_drift_share: float | None
    open_alerts: int
    open_incidents: int


class PostmarketStatusOut(BaseModel):
    """ok / watch / action_needed, from open alerts and incidents, with the reasons."""

    device_code: str
    status: Literal["ok", "watch", "action_needed", "not_monitored"]
    reasons: list[str]
    open_alerts: int
    open_incidents: int
    overdue_incidents: int
    periodic_report: dict[str, Any] | None
