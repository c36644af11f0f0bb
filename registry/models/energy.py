"""Energy and carbon footprints of jobs and declared by manufacturers (issue #8).

One row per footprint, whoever produced it: the registry's own jobs measure theirs with CodeCarbon
(``source="measured"``), manufacturers declare training and inference figures by hand
(``"declared"``) or import CodeCarbon's ``emissions.csv`` (``"imported"``).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Field, SQLModel

from registry.models.core import _enum, _json, utcnow


class Phase(StrEnum):
    """What the energy was spent on, in the device's life."""

    training = "training"
    validation = "validation"  # the registry's evaluation jobs
    monitoring = "monitoring"  # the registry's monitoring jobs (drift, performance)
    inference = "inference"  # the deployed model answering; declared per 1,000 predictions
    registry = "registry"  # other registry jobs (dossiers, audit checks)


class FootprintSource(StrEnum):
    measured = "measured"
    declared = "declared"
    imported = "imported"


class EnergyRecord(SQLModel, table=True):
    __tablename__ = "energy_record"
    id: int | None = Field(default=None, primary_key=True)
    phase: Phase = _enum(Phase, index=True)
    source: FootprintSource = _enum(FootprintSource)
    # The organisation that pays for it: the device's manufacturer, or the job's submitter.
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    device_id: int | None = Field(default=None, foreign_key="device.id", index=True)
    model_version_id: int | None = Field(default=None, foreign_key="model_version.id")
    deployment_id: int | None = Field(default=None, foreign_key="deployment.id")
    job_id: str | None = Field(default=None, foreign_key="job.id", max_length=36)
    artifact_id: int | None = Field(default=None, foreign_key="artifact.id")  # imported CSV
    duration_s: float | None = None
    energy_kwh: float
    cpu_kwh: float | None = None
    gpu_kwh: float | None = None
    ram_kwh: float | None = None
    emissions_kg: float
    country: str | None = Field(default=None, max_length=3)
    # Inference declarations: the energy above was spent on this many predictions.
    predictions: int | None = None
    method: str = Field(default="", max_length=200)
    caveats: list[str] = _json(default_factory=list)
    hardware: str = Field(default="", max_length=200)
    note: str = Field(default="", max_length=2000)
    started_at: datetime | None = None
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def per_1000_kwh(self) -> float | None:
        if not self.predictions:
            return None
        return self.energy_kwh * 1000 / self.predictions

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
