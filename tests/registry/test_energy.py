"""Energy and carbon (#8): jobs book their measured footprint, manufacturers declare and import
theirs, and every total is the sum of the records it covers."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from sqlmodel import select

from registry import db, jobs
from registry.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from registry.models import Artifact, AuditEvent, Job, ModelVersion, OrganisationKind, Role
from registry.models.energy import EnergyRecord
from registry.schemas.energy import FootprintImportIn, FootprintIn
from registry.services import energy
from tests import factories

CSV_HEADER = ("timestamp,project_name,duration,emissions,energy_consumed,cpu_energy,gpu_energy,"
              "ram_energy,country_iso_code,cpu_model,tracking_mode")
CSV = "\n".join([CSV_HEADER,
                 "2025-03-10T09:00:00,train,3600,0.56,10.0,2.0,7.0,1.0,FRA,EPYC,machine",
                 "2025-03-11T09:00:00,train,1800,0.28,5.0,1.0,3.5,0.5,FRA,EPYC,machine"])


@jobs.task("test.energy_work", phase="validation")
def _work(session, actor, arguments):
    # Real CPU work, so CodeCarbon has something to measure.
    rng = np.random.default_rng(0)
    a = rng.random((400, 400))
    for _ in range(arguments["rounds"]):
        a = np.tanh(a @ a / 400)
    return {"checksum": float(a.sum())}


def _device_with_version(session, **kwargs):
    device = factories.DeviceFactory(**kwargs)
    version = session.exec(select(ModelVersion).where(ModelVersion.device_id == device.id)).one()
    maker = factories.actor_for(Role.manufacturer, device.manufacturer_id)
    return device, version, maker


def test_a_job_books_its_measured_footprint_to_its_device(connection, monkeypatch):
    monkeypatch.setattr(jobs, "_energy_country", "FRA")
    with db.unit_of_work() as s:
        factories.bind(s)
        device, version, maker = _device_with_version(s)
        job = jobs.enqueue(s, maker, "test.energy_work",
                           {"rounds": 60, "model_version_id": version.id}, device_id=device.id)
    jobs.get_runner().wait(job.id, timeout=120)
    with db.unit_of_work() as s:
        assert s.get(Job, job.id).status == "succeeded"
        row = s.exec(select(EnergyRecord).where(EnergyRecord.job_id == job.id)).one()
        assert row.phase == "validation" and row.source == "measured"
        assert row.device_id == device.id and row.model_version_id == version.id
        assert row.organisation_id == device.manufacturer_id
        assert row.energy_kwh > 0 and row.emissions_kg > 0
        # Every field the tracker fills was stored (what they hold is the machine's business).
        tracked = row.model_dump(include={"duration_s", "cpu_kwh", "ram_kwh"})
        assert None not in tracked.values(), tracked
        assert row.country == "FRA" and row.method and row.caveats
        # France's grid: the emissions follow from the energy at tens of g per kWh.
        assert 0.01 < row.emissions_kg / row.energy_kwh < 0.2
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "energy.measure",
                                                AuditEvent.object_id == str(row.id))).one()
        assert event.device_id == device.id and event.actor_email == "system"


def test_a_job_without_energy_tracking_books_nothing(connection, monkeypatch):
    monkeypatch.setattr(jobs, "_energy_country", None)
    with db.unit_of_work() as s:
        factories.bind(s)
        device, version, maker = _device_with_version(s)
        job = jobs.enqueue(s, maker, "test.energy_work", {"rounds": 1}, device_id=device.id)
    jobs.get_runner().wait(job.id, timeout=60)
    with db.unit_of_work() as s:
        assert s.get(Job, job.id).status == "succeeded"
        assert s.exec(select(EnergyRecord).where(EnergyRecord.job_id == job.id)).first() is None


def test_declared_inference_is_reported_per_1000_predictions(session):
    device, version, maker = _device_with_version(session)
    row = energy.declare_footprint(session, maker, device.code, version.id, FootprintIn(
        phase="inference", energy_kwh=0.006, emissions_kg=0.0003, predictions=2000))
    assert row.source == "declared" and math.isclose(row.per_1000_kwh, 0.003)
    footprint = energy.device_footprint(session, maker, device.code)
    assert math.isclose(footprint.versions[0].inference_per_1000_kwh, 0.003)
    assert math.isclose(footprint.versions[0].inference_per_1000_kg, 0.00015)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "energy.declare")).one()
    assert event.device_id == device.id and event.actor_email == maker.email


def test_an_inference_figure_without_its_volume_is_refused():
    with pytest.raises(ValueError, match="needs 'predictions'"):
        FootprintIn(phase="inference", energy_kwh=1, emissions_kg=0.05)


def test_importing_codecarbon_csv_keeps_every_run_and_the_file(session):
    device, version, maker = _device_with_version(session)
    rows = energy.import_codecarbon(session, maker, device.code, version.id,
                                    io.BytesIO(CSV.encode()), "emissions.csv",
                                    FootprintImportIn(phase="training"))
    assert [r.energy_kwh for r in rows] == [10.0, 5.0]
    assert [r.gpu_kwh for r in rows] == [7.0, 3.5]
    assert all(r.source == "imported" and r.artifact_id == rows[0].artifact_id for r in rows)
    artifact = session.get(Artifact, rows[0].artifact_id)
    assert artifact.filename == "emissions.csv"
    assert any("local time" in c for c in rows[0].caveats)
    training = energy.device_footprint(session, maker, device.code).versions[0].training
    assert training.records == 2 and math.isclose(training.energy_kwh, 15.0)


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"timestamp,duration,emissions\n2025-01-01T00:00:00,1,2\n", "missing required column"),
    (CSV.replace("10.0,2.0", "ten,2.0").encode(), "line 2, column 'energy_consumed'"),
    (CSV.replace("5.0,1.0", "-5.0,1.0").encode(), "line 3, column 'energy_consumed'"),
    (b"\xff\xfe\x00garbage", "not UTF-8"),
])
def test_a_malformed_emissions_csv_is_refused_and_leaves_nothing(session, content, message):
    device, version, maker = _device_with_version(session)
    artifacts_before = len(session.exec(select(Artifact)).all())
    events_before = len(session.exec(select(AuditEvent)).all())
    with pytest.raises(InvalidInputError, match=message) as err:
        energy.import_codecarbon(session, maker, device.code, version.id, io.BytesIO(content),
                                 "emissions.csv", FootprintImportIn(phase="training"))
    assert "emissions.csv is not a usable CodeCarbon emissions.csv" in err.value.detail
    assert session.exec(select(EnergyRecord)).all() == []
    assert len(session.exec(select(Artifact)).all()) == artifacts_before
    assert len(session.exec(select(AuditEvent)).all()) == events_before


def test_an_inference_import_needs_exactly_one_run(session):
    device, version, maker = _device_with_version(session)
    with pytest.raises(InvalidInputError, match="exactly one run"):
        energy.import_codecarbon(session, maker, device.code, version.id,
                                 io.BytesIO(CSV.encode()), "emissions.csv",
                                 FootprintImportIn(phase="inference", predictions=100))


def _measured(session, device, version, phase, kwh, kg, deployment=None):
    row = EnergyRecord(phase=phase, source="measured", organisation_id=device.manufacturer_id,
                       device_id=device.id, model_version_id=version.id, energy_kwh=kwh,
                       emissions_kg=kg, deployment_id=deployment.id if deployment else None)
    session.add(row)
    session.flush()
    return row


def test_totals_add_up_across_phases_versions_sites_and_the_organisation(session):
    device, version, maker = _device_with_version(session)
    hospital = factories.OrganisationFactory(kind=OrganisationKind.hospital)
    site = factories.deploy(session, device, hospital.id)
    site.status, site.expected_monthly_volume = "live", 30_000
    session.add(site)
    energy.declare_footprint(session, maker, device.code, version.id, FootprintIn(
        phase="training", energy_kwh=120.0, emissions_kg=6.72))
    energy.declare_footprint(session, maker, device.code, version.id, FootprintIn(
        phase="inference", energy_kwh=0.004, emissions_kg=0.000224, predictions=1000))
    _measured(session, device, version, "validation", 0.002, 0.0001)
    _measured(session, device, version, "validation", 0.003, 0.0002)
    _measured(session, device, version, "monitoring", 0.0005, 0.00003, deployment=site)
    other, other_version, _ = _device_with_version(session, manufacturer_id=device.manufacturer_id)
    _measured(session, other, other_version, "validation", 0.01, 0.0006)

    footprint = energy.device_footprint(session, maker, device.code)
    rows = [r for r in energy.records_of_device(session, device) if r.phase != "inference"]
    assert math.isclose(footprint.total.energy_kwh, sum(r.energy_kwh for r in rows))
    assert math.isclose(footprint.total.emissions_kg, sum(r.emissions_kg for r in rows))
    assert footprint.total.records == len(rows) == 4
    assert math.isclose(sum(t.energy_kwh for t in footprint.by_phase.values()),
                        footprint.total.energy_kwh)
    assert math.isclose(footprint.by_phase["validation"].energy_kwh, 0.005)
    v = footprint.versions[0]
    assert math.isclose(v.training.energy_kwh + v.validation.energy_kwh + v.monitoring.energy_kwh,
                        footprint.total.energy_kwh)
    # 0.004 kWh per 1,000 predictions at 30,000 predictions a month.
    assert math.isclose(footprint.sites[0].inference_monthly_kwh, 0.12)
    assert math.isclose(footprint.inference_monthly_kwh, 0.12)
    assert math.isclose(footprint.sites[0].monitoring.energy_kwh, 0.0005)
    assert footprint.caveats[0].startswith("inference at the deployed volume is an estimate")

    organisation = energy.organisation_footprint(session, maker, device.manufacturer_id)
    assert [d.device for d in organisation.devices] == sorted([device.code, other.code])
    assert math.isclose(organisation.total.energy_kwh,
                        sum(d.total.energy_kwh for d in organisation.devices))
    assert math.isclose(organisation.total.energy_kwh, footprint.total.energy_kwh + 0.01)


def test_only_the_manufacturer_declares_and_members_see_organisation_totals(session):
    device, version, maker = _device_with_version(session)
    figure = FootprintIn(phase="training", energy_kwh=1.0, emissions_kg=0.05)
    rival = factories.actor_for(Role.manufacturer)
    hospital = factories.actor_for(Role.hospital)
    with pytest.raises((PermissionDeniedError, NotFoundError)):
        energy.declare_footprint(session, rival, device.code, version.id, figure)
    with pytest.raises((PermissionDeniedError, NotFoundError)):
        energy.declare_footprint(session, hospital, device.code, version.id, figure)
    with pytest.raises(NotFoundError):
        energy.declare_footprint(session, maker, device.code, 999_999, figure)
    with pytest.raises(PermissionDeniedError, match="members of the organisation"):
        energy.organisation_footprint(session, rival, device.manufacturer_id)
    authority = factories.actor_for(Role.authority)
    assert energy.organisation_footprint(session, authority, device.manufacturer_id).total \
        .records == 0
    assert session.exec(select(EnergyRecord)).all() == []


def test_an_evaluation_job_books_validation_energy_to_its_model_version(connection,
                                                                         monkeypatch):
    import pandas as pd

    from registry.schemas.evaluations import EvaluationIn
    from registry.services import evaluations

    monkeypatch.setattr(jobs, "_energy_country", "FRA")
    rng = np.random.default_rng(1)
    risk = rng.random(2000)
    frame = pd.DataFrame({"truth": (rng.random(2000) < risk).astype(int), "p": risk.round(4)})
    with db.unit_of_work() as s:
        factories.bind(s)
        device, version, maker = _device_with_version(s)
        evaluation = evaluations.submit_evaluation(
            s, maker, device.code, version.id,
            EvaluationIn(dataset_kind="internal", label_column="truth", score_column="p",
                         positive_label="1"),
            io.BytesIO(frame.to_csv(index=False).encode()), "validation.csv")
        job_id = evaluation.job_id
    jobs.get_runner().wait(job_id, timeout=120)
    with db.unit_of_work() as s:
        assert s.get(Job, job_id).status == "succeeded", s.get(Job, job_id).error
        row = s.exec(select(EnergyRecord).where(EnergyRecord.job_id == job_id)).one()
        assert (row.phase, row.model_version_id, row.device_id) == (
            "validation", version.id, device.id)
        footprint = energy.device_footprint(s, maker, device.code)
        assert footprint.versions[0].validation.records == 1
        assert footprint.versions[0].validation.energy_kwh == row.energy_kwh > 0
