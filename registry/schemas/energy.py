"""Schemas: energy and carbon footprints (issue #8)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from registry.models.energy import FootprintSource, Phase
from registry.schemas.core import In, Out

Declarable = Literal["training", "inference"]


class FootprintIn(In):
    """A manufacturer's own figure for training or inference of one model version."""

    phase: Declarable
    energy_kwh: float = Field(ge=0, allow_inf_nan=False, description="Total energy, kWh")
    emissions_kg: float = Field(ge=0, allow_inf_nan=False, description="kg CO2-equivalent")
    duration_s: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    cpu_kwh: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    gpu_kwh: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    ram_kwh: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    predictions: int | None = Field(
        default=None, gt=0, description="Inference only: predictions made for that energy")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    hardware: str = Field(default="", max_length=200)
    method: str = Field(default="declared by the manufacturer", max_length=200)
    note: str = Field(default="", max_length=2000)

    @field_validator("country", mode="before")
    @classmethod
    def _blank_is_unknown(cls, value):
        return value.strip().upper() or None if isinstance(value, str) else value

    @model_validator(mode="after")
    def _inference_has_volume(self) -> Self:
        if self.phase == "inference" and not self.predictions:
            raise ValueError("an inference footprint needs 'predictions': how many predictions "
                             "the energy was spent on (the registry reports it per 1,000)")
        return self


class FootprintImportIn(In):
    """Form fields that go with an uploaded CodeCarbon emissions.csv."""

    phase: Declarable
    predictions: int | None = Field(default=None, gt=0)
    note: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _inference_has_volume(self) -> Self:
        if self.phase == "inference" and not self.predictions:
            raise ValueError("give 'predictions' for an inference run: the number of predictions "
                             "the file's energy was spent on")
        return self


class EnergyRecordOut(Out):
    id: int
    phase: Phase
    source: FootprintSource
    organisation_id: int | None
    device_id: int | None
    model_version_id: int | None
    deployment_id: int | None
    job_id: str | None
    artifact_id: int | None
    duration_s: float | None
    energy_kwh: float
    cpu_kwh: float | None
    gpu_kwh: float | None
    ram_kwh: float | None
    emissions_kg: float
    country: str | None
    predictions: int | None
    per_1000_kwh: float | None
    method: str
    caveats: list[str]
    hardware: str
    note: str
    started_at: datetime | None
    created_at: datetime


class Totals(BaseModel):
    energy_kwh: float = 0.0
    emissions_kg: float = 0.0
    records: int = 0


class VersionFootprintOut(BaseModel):
    model_version_id: int
    version: str
    training: Totals
    validation: Totals
    monitoring: Totals
    inference_per_1000_kwh: float | None
    inference_per_1000_kg: float | None


class SiteFootprintOut(BaseModel):
    deployment_id: int
    site: str
    hospital_id: int
    version: str
    monitoring: Totals
    expected_monthly_volume: int | None
    inference_monthly_kwh: float | None
    inference_monthly_kg: float | None


class DeviceFootprintOut(BaseModel):
    device: str
    by_phase: dict[str, Totals]
    total: Totals
    versions: list[VersionFootprintOut]
    sites: list[SiteFootprintOut]
    inference_monthly_kwh: float | None = Field(
        description="Inference at the deployed volume, all live sites, per month (estimate)")
    inference_monthly_kg: float | None
    caveats: list[str]


class OrganisationDeviceTotals(BaseModel):
    device: str
    name: str
    by_phase: dict[str, Totals]
    total: Totals


class OrganisationFootprintOut(BaseModel):
    organisation_id: int
    by_phase: dict[str, Totals]
    total: Totals
    devices: list[OrganisationDeviceTotals]
