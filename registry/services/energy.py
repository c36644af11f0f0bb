"""Services: energy and carbon footprints (issue #8).

Three sources feed one table: the registry's own jobs (measured with CodeCarbon in
``registry/jobs.py``), figures a manufacturer declares for training and inference, and
CodeCarbon ``emissions.csv`` files it imports. Totals are plain sums of those rows, so the
footprint page, the organisation totals and the API always add up to the records listed.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC
from typing import BinaryIO

from sqlmodel import Session, select

from monitoring.energy import EnergyRecord as Measured
from monitoring.energy import parse_codecarbon_csv
from monitoring.errors import MonitoringInputError
from registry import audit, auth
from registry.auth import Actor, Permission
from registry.errors import InvalidInputError, PermissionDeniedError
from registry.models import Deployment, Device, Job, ModelVersion
from registry.models.energy import EnergyRecord, FootprintSource, Phase
from registry.schemas.energy import (
    DeviceFootprintOut,
    FootprintImportIn,
    FootprintIn,
    OrganisationDeviceTotals,
    OrganisationFootprintOut,
    SiteFootprintOut,
    Totals,
    VersionFootprintOut,
)
from registry.services import artifacts, devices

# An emissions.csv from a long training run has one row per run; thousands of rows is a log.
MAX_CSV_BYTES = 5 * 1024 * 1024

INFERENCE_CAVEAT = ("inference at the deployed volume is an estimate: the declared energy per "
                    "1,000 predictions times each live site's expected monthly volume")


def _copy_measured(measured: Measured) -> dict:
    started, caveats = measured.started_at, list(measured.caveats)
    if started is not None and started.tzinfo is None:
        # CodeCarbon writes the writer's local time without an offset; stored as if UTC.
        started = started.replace(tzinfo=UTC)
        caveats.append("start time as written in the file (the writer's local time, zone "
                       "unknown)")
    return {
        "duration_s": measured.duration_s, "energy_kwh": measured.energy_kwh,
        "cpu_kwh": measured.cpu_kwh, "gpu_kwh": measured.gpu_kwh, "ram_kwh": measured.ram_kwh,
        "emissions_kg": measured.emissions_kg, "country": measured.country,
        "method": measured.method[:200], "caveats": caveats,
        "hardware": (measured.cpu_model or "")[:200],
        "started_at": started,
    }


def _job_subject(session: Session, arguments: dict) -> tuple[int | None, Deployment | None]:
    """The model version and deployment a job worked on, read from its arguments."""
    from registry.models.evaluations import Evaluation
    from registry.models.monitoring import MonitoringBatch

    version_id, deployment_id = arguments.get("model_version_id"), arguments.get("deployment_id")
    if isinstance(arguments.get("evaluation_id"), int):
        evaluation = session.get(Evaluation, arguments["evaluation_id"])
        version_id = evaluation.model_version_id if evaluation else version_id
    if isinstance(arguments.get("batch_id"), int):
        batch = session.get(MonitoringBatch, arguments["batch_id"])
        deployment_id = batch.deployment_id if batch else deployment_id
    deployment = session.get(Deployment, deployment_id) if isinstance(deployment_id, int) else None
    if deployment is not None and version_id is None:
        version_id = deployment.model_version_id
    return (version_id if isinstance(version_id, int) else None), deployment


def record_job_footprint(session: Session, job: Job, phase: str, measured: Measured
                         ) -> EnergyRecord:
    """Book what a job consumed (called by the job runner, in the job's final transaction)."""
    device = session.get(Device, job.device_id) if job.device_id else None
    version_id, deployment = _job_subject(session, job.arguments or {})
    row = EnergyRecord(
        phase=Phase(phase), source=FootprintSource.measured,
        organisation_id=device.manufacturer_id if device else job.organisation_id,
        device_id=device.id if device else None,
        model_version_id=version_id, deployment_id=deployment.id if deployment else None,
        job_id=job.id, **_copy_measured(measured),
    )
    session.add(row)
    audit.record(session, auth.SYSTEM, "energy.measure", row, {"after": _summary(row)})
    return row


def _summary(row: EnergyRecord) -> dict:
    return {k: v for k, v in row.model_dump(mode="json").items()
            if k not in {"id", "created_at", "caveats"}}


def _version_for_write(session: Session, actor: Actor, code: str, version_id: int
                       ) -> tuple[Device, ModelVersion]:
    device = devices.get_device(session, actor, code)
    auth.require(actor, Permission.ENERGY_DECLARE, device)
    return device, devices.get_version(session, device, version_id)


def declare_footprint(session: Session, actor: Actor, code: str, version_id: int,
                      data: FootprintIn) -> EnergyRecord:
    """A manufacturer's training or inference figure for one of its model versions."""
    device, version = _version_for_write(session, actor, code, version_id)
    row = EnergyRecord(
        phase=Phase(data.phase), source=FootprintSource.declared,
        organisation_id=device.manufacturer_id, device_id=device.id,
        model_version_id=version.id, created_by=actor.user_id,
        caveats=["declared by the manufacturer; not measured by the registry"],
        **data.model_dump(exclude={"phase"}),
    )
    session.add(row)
    audit.record(session, actor, "energy.declare", row, {"after": _summary(row)})
    return row


def import_codecarbon(session: Session, actor: Actor, code: str, version_id: int,
                      stream: BinaryIO, filename: str, data: FootprintImportIn
                      ) -> list[EnergyRecord]:
    """Import a CodeCarbon emissions.csv: one record per row, all or nothing."""
    device, version = _version_for_write(session, actor, code, version_id)
    content = stream.read(MAX_CSV_BYTES + 1)
    if len(content) > MAX_CSV_BYTES:
        raise InvalidInputError(f"{filename or 'the file'} is larger than "
                                f"{MAX_CSV_BYTES // (1024 * 1024)} MB; an emissions.csv of "
                                "training runs is far smaller: upload the runs of this version")
    try:
        measured = parse_codecarbon_csv(content)
    except MonitoringInputError as exc:
        raise InvalidInputError(f"{filename or 'the file'} is not a usable CodeCarbon "
                                f"emissions.csv: {exc}") from None
    if data.phase == "inference" and len(measured) != 1:
        raise InvalidInputError("an inference import needs a file with exactly one run (row), "
                                f"so that 'predictions' applies to it; this one has "
                                f"{len(measured)}")
    artifact = artifacts.upload_artifact(session, actor, io.BytesIO(content),
                                         filename or "emissions.csv", "text/csv")
    rows = []
    for item in measured:
        values = _copy_measured(item)
        row = EnergyRecord(
            phase=Phase(data.phase), source=FootprintSource.imported,
            organisation_id=device.manufacturer_id, device_id=device.id,
            model_version_id=version.id, artifact_id=artifact.id, created_by=actor.user_id,
            predictions=data.predictions, note=data.note, **values,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    audit.record(session, actor, "energy.import", device,
                 {"after": {"model_version_id": version.id, "phase": data.phase,
                            "artifact_sha256": artifact.sha256, "records": [r.id for r in rows],
                            "energy_kwh": sum(r.energy_kwh for r in rows),
                            "emissions_kg": sum(r.emissions_kg for r in rows)}})
    return rows


# --- reading ----------------------------------------------------------------------------------


def records_of_device(session: Session, device: Device) -> list[EnergyRecord]:
    return list(session.exec(select(EnergyRecord).where(EnergyRecord.device_id == device.id)
                             .order_by(EnergyRecord.created_at, EnergyRecord.id)))


def device_records(session: Session, actor: Actor, code: str) -> list[EnergyRecord]:
    return records_of_device(session, devices.get_device(session, actor, code))


def _totals(rows: Iterable[EnergyRecord]) -> Totals:
    return _sum(Totals(energy_kwh=r.energy_kwh, emissions_kg=r.emissions_kg, records=1)
                for r in rows)


def _by_phase(rows: list[EnergyRecord]) -> dict[str, Totals]:
    # Inference declarations are per run of N predictions, not consumption by the device: they
    # feed the per-1,000 figure and the deployed-volume estimate, not the phase totals.
    return {phase.value: _totals(r for r in rows if r.phase == phase)
            for phase in Phase if phase != Phase.inference}


def _inference_rate(rows: list[EnergyRecord]) -> tuple[float, float] | None:
    """kWh and kg per 1,000 predictions from a version's latest inference figure."""
    runs = [r for r in rows if r.phase == Phase.inference and r.predictions]
    if not runs:
        return None
    latest = runs[-1]
    return (latest.energy_kwh * 1000 / latest.predictions,
            latest.emissions_kg * 1000 / latest.predictions)


def device_footprint(session: Session, actor: Actor, code: str) -> DeviceFootprintOut:
    return footprint_of(session, devices.get_device(session, actor, code))


def footprint_of(session: Session, device: Device) -> DeviceFootprintOut:
    """The footprint of a device already checked visible (the page, the API and the dossier
    all show these same totals)."""
    rows = records_of_device(session, device)
    by_version: dict[int | None, list[EnergyRecord]] = defaultdict(list)
    for row in rows:
        by_version[row.model_version_id].append(row)
    versions = devices.versions_of(session, device)
    names = {v.id: v.version for v in versions}
    version_rows = []
    for version in versions:
        mine = by_version.get(version.id, [])
        rate = _inference_rate(mine)
        version_rows.append(VersionFootprintOut(
            model_version_id=version.id, version=version.version,
            training=_totals(r for r in mine if r.phase == Phase.training),
            validation=_totals(r for r in mine if r.phase == Phase.validation),
            monitoring=_totals(r for r in mine if r.phase == Phase.monitoring),
            inference_per_1000_kwh=rate[0] if rate else None,
            inference_per_1000_kg=rate[1] if rate else None))
    sites, monthly_kwh, monthly_kg = [], None, None
    for deployment in devices.deployments_of(session, device):
        rate = _inference_rate(by_version.get(deployment.model_version_id, []))
        volume = deployment.expected_monthly_volume
        site_kwh = site_kg = None
        if rate and volume and deployment.status == "live":
            site_kwh, site_kg = rate[0] * volume / 1000, rate[1] * volume / 1000
            monthly_kwh = (monthly_kwh or 0.0) + site_kwh
            monthly_kg = (monthly_kg or 0.0) + site_kg
        sites.append(SiteFootprintOut(
            deployment_id=deployment.id, site=deployment.site, hospital_id=deployment.hospital_id,
            version=names.get(deployment.model_version_id, ""),
            monitoring=_totals(r for r in rows if r.deployment_id == deployment.id
                               and r.phase == Phase.monitoring),
            expected_monthly_volume=volume, inference_monthly_kwh=site_kwh,
            inference_monthly_kg=site_kg))
    caveats = sorted({c for r in rows for c in r.caveats})
    if monthly_kwh is not None:
        caveats.insert(0, INFERENCE_CAVEAT)
    by_phase = _by_phase(rows)
    return DeviceFootprintOut(
        device=device.code, by_phase=by_phase, total=_sum(by_phase.values()), versions=version_rows,
        sites=sites, inference_monthly_kwh=monthly_kwh, inference_monthly_kg=monthly_kg,
        caveats=caveats)


def _sum(parts: Iterable[Totals]) -> Totals:
    total = Totals()
    for part in parts:
        total.energy_kwh += part.energy_kwh
        total.emissions_kg += part.emissions_kg
        total.records += part.records
    return total


def organisation_footprint(session: Session, actor: Actor, organisation_id: int
                           ) -> OrganisationFootprintOut:
    """Totals of everything booked to one organisation (its devices and its own jobs)."""
    from registry.services import organisations

    organisation = organisations.get_organisation(session, actor, organisation_id)
    if actor.role not in auth.SEES_ALL and actor.organisation_id != organisation.id:
        raise PermissionDeniedError("only members of the organisation, the authority and "
                                    "administrators see its footprint totals")
    rows = list(session.exec(select(EnergyRecord)
                             .where(EnergyRecord.organisation_id == organisation.id)))
    per_device: dict[int, list[EnergyRecord]] = defaultdict(list)
    for row in rows:
        if row.device_id is not None:
            per_device[row.device_id].append(row)
    device_rows = []
    for device in session.exec(select(Device).where(Device.id.in_(per_device))
                               .order_by(Device.code)):
        phases = _by_phase(per_device[device.id])
        device_rows.append(OrganisationDeviceTotals(
            device=device.code, name=device.name, by_phase=phases, total=_sum(phases.values())))
    by_phase = _by_phase(rows)
    return OrganisationFootprintOut(organisation_id=organisation.id, by_phase=by_phase,
                                    total=_sum(by_phase.values()), devices=device_rows)
