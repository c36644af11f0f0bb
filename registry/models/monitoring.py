"""Post-market monitoring (#7): per-deployment configuration, batches and their results over
time, alerts, the notifications inbox, incidents with their vigilance clock."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from registry.models.core import _enum, _json, utcnow


class BatchStatus(StrEnum):
    queued = "queued"
    done = "done"
    failed = "failed"


class AlertStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    resolved = "resolved"


class IncidentStatus(StrEnum):
    open = "open"
    reported = "reported"  # reported to the competent authority
    closed = "closed"


class MonitoringConfig(SQLModel, table=True):
    """How one deployment is watched: what its batches hold, what they are compared with, and
    which rules raise alerts (G6.5 "monitoring configured")."""

    __tablename__ = "monitoring_config"
    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id", unique=True)
    # monitoring.batch.BatchSchema as a dict: {"columns": [...], "id_column": ...}
    batch_schema: dict[str, Any] = _json(default_factory=dict)
    score_column: str = Field(default="score", max_length=80)
    id_column: str = Field(default="record_id", max_length=80)
    site_column: str = Field(default="", max_length=80)
    subgroup_columns: list[str] = _json(default_factory=list)
    threshold: float = 0.5
    # The reference set: an explicit artifact (CSV / Parquet), else the validation data of the
    # deployed version (an evaluation of the evaluations area).
    reference_artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    reference_evaluation_id: int | None = None
    # monitoring.alerts rules as plain dicts.
    rules: list[dict[str, Any]] = _json(default_factory=list)
    # Validation values per metric (e.g. {"sensitivity": 0.91}) and calibration evidence
    # ({"slope", "intercept", "ece"}) that allows estimating performance before labels arrive.
    baseline: dict[str, Any] = _json(default_factory=dict)
    calibration: dict[str, Any] = _json(default_factory=dict)
    contacts: str = Field(default="", max_length=1000)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class MonitoringBatch(SQLModel, table=True):
    """One upload of what a deployed model saw and said, with its analysis."""

    __tablename__ = "monitoring_batch"
    __table_args__ = (Index("ix_monitoring_batch_deployment_received", "deployment_id",
                            "received_at"),)
    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id")
    device_id: int = Field(foreign_key="device.id", index=True)
    period_start: datetime | None = None
    period_end: datetime | None = None
    received_at: datetime = Field(default_factory=utcnow)
    artifact_id: int = Field(foreign_key="artifact.id")
    file_format: str = Field(default="csv", max_length=10)
    row_count: int = 0
    status: BatchStatus = _enum(BatchStatus, default=BatchStatus.queued)
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    job_id: str | None = Field(default=None, foreign_key="job.id", max_length=36)
    uploaded_by: int | None = Field(default=None, foreign_key="user.id")
    # Headline numbers kept as columns for the time series; the full results in ``results``.
    drift_share: float | None = None
    n_features_drifted: int | None = None
    missing_rate: float | None = None
    results: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # Labels that arrived later, joined by record id; measured performance replaces the estimate.
    labels_artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    labels_received_at: datetime | None = None
    measured: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    analysed_at: datetime | None = None


class MonitoringAlert(SQLModel, table=True):
    """An alert rule crossed on a deployment; later batches crossing it again update it."""

    __tablename__ = "monitoring_alert"
    __table_args__ = (Index("ix_monitoring_alert_open", "deployment_id", "dedup_key", "status"),)
    id: int | None = Field(default=None, primary_key=True)
    deployment_id: int = Field(foreign_key="deployment.id")
    device_id: int = Field(foreign_key="device.id", index=True)
    rule_id: str = Field(max_length=80)
    dedup_key: str = Field(max_length=200)
    kind: str = Field(max_length=40)
    severity: str = Field(max_length=20)
    subject: str = Field(max_length=120)
    message: str = Field(default="", sa_column=Column(Text, nullable=False))
    observed: str = Field(default="", max_length=80)
    limit: str = Field(default="", max_length=80)
    status: AlertStatus = _enum(AlertStatus, default=AlertStatus.open, index=True)
    count: int = 1
    first_batch_id: int = Field(foreign_key="monitoring_batch.id")
    last_batch_id: int = Field(foreign_key="monitoring_batch.id")
    first_seen_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    acknowledged_by: int | None = Field(default=None, foreign_key="user.id")
    acknowledged_at: datetime | None = None
    acknowledge_comment: str = Field(default="", max_length=4000)
    resolved_by: int | None = Field(default=None, foreign_key="user.id")
    resolved_at: datetime | None = None
    resolve_comment: str = Field(default="", max_length=4000)


class Notification(SQLModel, table=True):
    """A message in an organisation's inbox (the manufacturer's and the hospital's)."""

    __table_args__ = (Index("ix_notification_inbox", "organisation_id", "read_at"),)
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id")
    device_id: int | None = Field(default=None, foreign_key="device.id")
    deployment_id: int | None = Field(default=None, foreign_key="deployment.id")
    kind: str = Field(max_length=40)  # alert.raised, incident.reported, ...
    title: str = Field(max_length=300)
    body: str = Field(default="", sa_column=Column(Text, nullable=False))
    alert_id: int | None = Field(default=None, foreign_key="monitoring_alert.id")
    incident_id: int | None = Field(default=None, foreign_key="incident.id")
    created_at: datetime = Field(default_factory=utcnow)
    read_at: datetime | None = None


class Incident(SQLModel, table=True):
    """An incident with a device in use; serious ones carry the MDR / AI Act reporting clock."""

    __table_args__ = (UniqueConstraint("device_id", "reference"),)
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    deployment_id: int | None = Field(default=None, foreign_key="deployment.id")
    reference: str = Field(max_length=40)  # INC-<device code>-<n>
    title: str = Field(max_length=300)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    serious: bool = False
    # monitoring.vigilance.IncidentCategory value for a serious incident, else "".
    category: str = Field(default="", max_length=60)
    severity: str = Field(max_length=20)  # low / medium / high / critical
    awareness_at: datetime
    deadline_at: datetime | None = None
    legal_ref: str = Field(default="", max_length=60)
    status: IncidentStatus = _enum(IncidentStatus, default=IncidentStatus.open, index=True)
    reported_at: datetime | None = None
    closed_at: datetime | None = None
    comment: str = Field(default="", max_length=4000)
    created_by: int = Field(foreign_key="user.id")
    organisation_id: int = Field(foreign_key="organisation.id")
    created_at: datetime = Field(default_factory=utcnow)
