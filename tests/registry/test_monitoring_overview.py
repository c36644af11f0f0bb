"""The monitoring overview read in batches (#11) gives the rows the per-deployment reading gave,
for every kind of reader, on a registry whose deployments are in different states."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import select

from registry import auth
from registry.errors import NotAuthenticatedError, PermissionDeniedError
from registry.models import Device, ModelVersion, Organisation, Role, Stage
from registry.models.monitoring import (
    AlertStatus,
    BatchStatus,
    Incident,
    IncidentStatus,
    MonitoringAlert,
    MonitoringBatch,
)
from registry.schemas.monitoring import IncidentIn, IncidentUpdate, UploadTokenIn
from registry.services import artifacts, devices, incidents
from registry.services import monitoring as service
from tests import factories
from tests.registry.test_monitoring import configure, csv_bytes, make_frame, upload_and_analyse


def slow_overview(session, actor, *, device=None, hospital_id=None) -> list[dict]:
    """The overview as it was read before #11, deployment by deployment (the reference)."""
    rows = []
    statuses: dict[int, str] = {}
    for deployment in service.visible_deployments(session, actor, device=device,
                                                  hospital_id=hospital_id):
        dev = session.get(Device, deployment.device_id)
        if dev.id not in statuses:
            statuses[dev.id] = service.postmarket_status(session, dev)["status"]
        last = session.exec(select(MonitoringBatch).where(
            MonitoringBatch.deployment_id == deployment.id).order_by(
            MonitoringBatch.received_at.desc(), MonitoringBatch.id.desc()).limit(1)).first()
        batches = session.exec(select(func.count()).select_from(MonitoringBatch).where(
            MonitoringBatch.deployment_id == deployment.id)).one()
        open_alerts = session.exec(select(func.count()).select_from(MonitoringAlert).where(
            MonitoringAlert.deployment_id == deployment.id,
            MonitoringAlert.status.in_((AlertStatus.open, AlertStatus.acknowledged)))).one()
        open_incidents = session.exec(select(func.count()).select_from(Incident).where(
            Incident.deployment_id == deployment.id,
            Incident.status != IncidentStatus.closed)).one()
        rows.append({
            "deployment_id": deployment.id, "device_code": dev.code, "device_name": dev.name,
            "hospital_id": deployment.hospital_id,
            "hospital": session.get(Organisation, deployment.hospital_id).name,
            "site": deployment.site,
            "version": session.get(ModelVersion, deployment.model_version_id).version,
            "configured": service.config_of(session, deployment) is not None,
            "status": statuses[dev.id], "batches": batches,
            "last_batch_at": last.received_at if last else None,
            "last_drift_share": last.drift_share if last else None,
            "open_alerts": open_alerts, "open_incidents": open_incidents,
        })
    return rows


def slow_drift_shares(session, actor) -> dict[int, list]:
    """The drift chart's points as they were read: each deployment's batches one by one."""
    return {d.id: [(b.received_at, b.drift_share)
                   for b in service.list_batches(session, actor, d.id)
                   if b.drift_share is not None]
            for d in service.visible_deployments(session, actor)}


def _batch(session, deployment, artifact, at, *, share=None, status=BatchStatus.done):
    row = MonitoringBatch(deployment_id=deployment.id, device_id=deployment.device_id,
                          artifact_id=artifact.id, received_at=at, drift_share=share,
                          status=status, row_count=80)
    session.add(row)
    session.flush()
    return row


def _alert(session, batch, status: AlertStatus, rule: str) -> None:
    session.add(MonitoringAlert(
        deployment_id=batch.deployment_id, device_id=batch.device_id, rule_id=rule,
        dedup_key=rule, kind="drift_share_above", severity="high", subject="batch",
        status=status, first_batch_id=batch.id, last_batch_id=batch.id))


@pytest.fixture
def estate(session):
    """Two makers' devices at two hospitals; deployments: analysed with drift alerts and labels
    (``analysed``), idle at the second hospital (``idle``), batches received at the same instant
    with a queued one last, an overdue serious incident and alerts in every state (``ties``),
    a withdrawn device's deployment with a failed batch and a reported incident (``retired``),
    and another maker's unconfigured deployment (``foreign``)."""
    maker = factories.actor_for(Role.manufacturer)
    other_maker = factories.actor_for(Role.manufacturer)
    first, second = factories.actor_for(Role.hospital), factories.actor_for(Role.hospital)
    watched, quiet, withdrawn = (
        factories.DeviceFactory(manufacturer_id=maker.organisation_id, stage=stage)
        for stage in (Stage.S7_POSTMARKET, Stage.S6_DEPLOYMENT, Stage.S7_POSTMARKET))
    unrelated = factories.DeviceFactory(manufacturer_id=other_maker.organisation_id)
    reference = artifacts.upload_artifact(session, maker, io.BytesIO(csv_bytes(
        make_frame(400, seed=1))), "validation.csv", "text/csv")
    deployments = {
        "analysed": factories.deploy(session, watched, first.organisation_id),
        "idle": factories.deploy(session, watched, second.organisation_id),
        "ties": factories.deploy(session, quiet, first.organisation_id),
        "retired": factories.deploy(session, withdrawn, second.organisation_id),
        "foreign": factories.deploy(session, unrelated, first.organisation_id),
    }
    deployments["ties"].site = "east wing"

    world = {"maker": maker, "hospital": first, "deployment": deployments["analysed"],
             "reference": reference}
    configure(session, world)
    frame = make_frame(300, seed=6)
    calm = upload_and_analyse(session, world, frame)
    upload_and_analyse(session, world, make_frame(300, seed=3, age_shift=12))
    labels = pd.DataFrame({"record_id": frame["record_id"], "y_true": (
        np.random.default_rng(7).random(300) < frame["score"]).astype(int)})
    service.upload_labels(session, first, calm.id, io.BytesIO(csv_bytes(labels)), "labels.csv")
    service._run(session, first, calm.id, service.measure_batch)

    same_time = datetime(2026, 1, 5, 8, tzinfo=UTC)
    earlier = _batch(session, deployments["ties"], reference, same_time - timedelta(days=7),
                     share=0.1)
    _batch(session, deployments["ties"], reference, same_time, share=0.2)
    _batch(session, deployments["ties"], reference, same_time, status=BatchStatus.queued)
    _alert(session, earlier, AlertStatus.acknowledged, "drift-share")
    _alert(session, earlier, AlertStatus.resolved, "age-drift")
    report = {"title": "wrong side flagged", "serious": True, "severity": "high",
              "category": "mdr_other_serious_incident"}
    incidents.report_incident(session, maker, quiet.code, IncidentIn(
        **report, awareness_at=datetime.now(UTC) - timedelta(days=20),
        deployment_id=deployments["ties"].id))
    closed = incidents.report_incident(session, maker, quiet.code, IncidentIn(
        title="false alarm", awareness_at=datetime.now(UTC) - timedelta(days=3),
        deployment_id=deployments["ties"].id))
    for step in ("reported", "closed"):
        incidents.update_incident(session, maker, closed.id,
                                  IncidentUpdate(status=step, comment=f"{step} after review"))

    _batch(session, deployments["retired"], reference, same_time, status=BatchStatus.failed)
    reported = incidents.report_incident(session, maker, withdrawn.code, IncidentIn(
        **report, awareness_at=datetime.now(UTC) - timedelta(days=1),
        deployment_id=deployments["retired"].id))
    incidents.update_incident(session, maker, reported.id,
                              IncidentUpdate(status="reported", comment="sent to ANSM"))
    devices.withdraw_device(session, maker, withdrawn.code, "replaced by version 2")

    reviewer = factories.actor_for(Role.reviewer)
    factories.grant(session, quiet, reviewer.organisation_id)
    clear, _ = service.create_upload_token(session, first, deployments["analysed"].id,
                                           UploadTokenIn(), default_lifetime_days=30)
    readers = {
        "maker": maker, "other maker": other_maker, "first hospital": first,
        "second hospital": second, "reviewer": reviewer,
        "auditor": factories.actor_for(Role.auditor), "admin": factories.actor_for(Role.admin),
        "authority": factories.actor_for(Role.authority),
        "deployment token": auth.actor_for_token(session, clear),
    }
    session.flush()
    return {"readers": readers, "deployments": deployments, "devices": {
        "watched": watched, "withdrawn": withdrawn}, "hospitals": (first, second)}


# Who sees which deployment (tests/registry/test_access_matrix.py has the permissions).
SEES = {
    "maker": {"analysed", "idle", "ties", "retired"}, "other maker": {"foreign"},
    "first hospital": {"analysed", "ties", "foreign"}, "second hospital": {"idle", "retired"},
    "reviewer": {"ties"}, "auditor": set(),
    "admin": {"analysed", "idle", "ties", "retired", "foreign"},
    "authority": {"analysed", "idle", "ties", "retired", "foreign"},
    "deployment token": {"analysed"},
}


def _read(session, function, *args, **kwargs):
    # Both readings start from the database, as a request does (not from objects this session
    # still holds with the values it wrote).
    session.flush()
    session.expire_all()
    return function(session, *args, **kwargs)


@pytest.mark.parametrize("reader", SEES)
def test_overview_matches_the_per_deployment_reading_for_every_reader(session, estate, reader):
    actor = estate["readers"][reader]
    names = {d.id: name for name, d in estate["deployments"].items()}
    first = estate["hospitals"][0].organisation_id
    for filters in ({}, {"device": estate["devices"]["watched"]},
                    {"device": estate["devices"]["withdrawn"]}, {"hospital_id": first}):
        batched = _read(session, service.deployments_overview, actor, **filters)
        assert batched == _read(session, slow_overview, actor, **filters), filters
        if not filters:
            assert {names[r["deployment_id"]] for r in batched} == SEES[reader]
    assert _read(session, service.list_drift_shares, actor) \
        == _read(session, slow_drift_shares, actor)


def test_the_estate_covers_the_states_the_overview_shows(session, estate):
    """The comparison above is not vacuous: the rows differ in every column it reads."""
    rows = {r["deployment_id"]: r for r in _read(session, service.deployments_overview,
                                                 estate["readers"]["admin"])}
    row = {name: rows[d.id] for name, d in estate["deployments"].items()}
    assert row["analysed"]["configured"] and row["analysed"]["open_alerts"] == 2
    assert row["analysed"]["batches"] == 2 and row["analysed"]["last_drift_share"] == 0.5
    assert row["idle"] == {**row["idle"], "configured": False, "batches": 0,
                           "last_batch_at": None, "open_alerts": 0, "status": "action_needed"}
    # The queued batch came last at the same instant: it is the latest, with no drift yet.
    assert row["ties"]["batches"] == 3 and row["ties"]["last_drift_share"] is None
    assert row["ties"]["last_batch_at"] == row["retired"]["last_batch_at"] is not None
    assert (row["ties"]["open_alerts"], row["ties"]["open_incidents"]) == (1, 1)
    assert row["ties"]["status"] == "action_needed" and row["ties"]["site"] == "east wing"
    assert (row["retired"]["status"], row["retired"]["open_incidents"]) == ("watch", 1)
    assert row["foreign"]["status"] == "not_monitored"
    shares = _read(session, service.list_drift_shares, estate["readers"]["admin"])
    assert [s for _, s in shares[estate["deployments"]["ties"].id]] == [0.1, 0.2]
    assert shares[estate["deployments"]["retired"].id] == []


def test_overview_refuses_readers_without_monitoring_read(session, estate):
    for function in (service.deployments_overview, slow_overview, service.list_drift_shares):
        with pytest.raises((NotAuthenticatedError, PermissionDeniedError)):
            function(session, auth.ANONYMOUS)


def test_overview_of_no_deployment_is_empty(session):
    reader = factories.actor_for(Role.hospital)
    assert service.deployments_overview(session, reader) == []
    assert service.list_drift_shares(session, reader) == {}


def test_overview_matches_across_several_in_lists(session, estate, monkeypatch):
    """Past IN_LIST_SIZE deployments the ids go in several statements; rows stay the same."""
    monkeypatch.setattr(devices, "IN_LIST_SIZE", 2)
    for reader in ("admin", "maker", "first hospital"):
        actor = estate["readers"][reader]
        assert _read(session, service.deployments_overview, actor) \
            == _read(session, slow_overview, actor)
        assert _read(session, service.list_drift_shares, actor) \
            == _read(session, slow_drift_shares, actor)
