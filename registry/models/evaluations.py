"""Validation results and the evaluations computed from them (issue #4).

One row per uploaded validation file: what it is (dataset kind, site, period), how its columns
map to the evaluation library's inputs, the job that evaluated it, and the report the library
returned. The raw file is an artifact that a retention period deletes; the row keeps its SHA-256
so the results stay tied to the exact bytes they were computed from.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text
from sqlmodel import Field, SQLModel

from registry.models.core import DatasetKind, _enum, _json, utcnow


class EvaluationStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class Evaluation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    device_id: int = Field(foreign_key="device.id", index=True)
    model_version_id: int = Field(foreign_key="model_version.id", index=True)
    dataset_kind: DatasetKind = _enum(DatasetKind)
    site: str = Field(default="", max_length=200)
    period_start: date | None = None
    period_end: date | None = None
    # binary, multiclass or regression: the evaluation library's task (a risk score is binary).
    task: str = Field(default="binary", max_length=20)
    status: EvaluationStatus = _enum(EvaluationStatus, default=EvaluationStatus.queued, index=True)
    error: str = Field(default="", sa_column=Column(Text, nullable=False))
    # The raw upload; NULL once the retention period has deleted it (sha256 stays).
    artifact_id: int | None = Field(default=None, foreign_key="artifact.id")
    sha256: str = Field(max_length=64)
    size_bytes: int = 0
    filename: str = Field(default="", max_length=255)
    file_format: str = Field(default="csv", max_length=10)  # csv / parquet
    row_count: int = 0
    job_id: str | None = Field(default=None, foreign_key="job.id", max_length=36)
    # {"label", "scores": [..], "positive", "threshold", "groups": [..], "site", "id"}
    columns: dict[str, Any] = _json(default_factory=dict)
    # Every argument passed to evaluation.evaluate besides the data (level, seed, resamples...).
    parameters: dict[str, Any] = _json(default_factory=dict)
    library_version: str = Field(default="", max_length=20)
    results: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    # [{"kpi_id", "metric", "comparator", "threshold", "low", "high", "is_primary", "verdict",
    #   "estimate", "ci_low", "ci_high", "rule"}]
    kpi_verdicts: list[dict[str, Any]] = _json(default_factory=list)
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    raw_purged_at: datetime | None = None
