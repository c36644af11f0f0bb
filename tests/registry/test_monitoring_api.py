"""The monitoring API over HTTP: configure, upload with a deployment-scoped token, problem
documents, alerts, incidents, status and the inbox."""

from __future__ import annotations

import io

import pytest

from registry import db, jobs
from registry.models import Role, Stage
from registry.schemas import TokenIn
from registry.schemas.monitoring import UploadTokenIn
from registry.services import artifacts, organisations
from registry.services import monitoring as service
from tests import factories
from tests.registry.test_monitoring import RULES, SCHEMA, csv_bytes, make_frame


def bearer(session, actor) -> dict:
    clear, _ = organisations.create_token(session, actor, TokenIn(name="t"),
                                          default_lifetime_days=1)
    return {"Authorization": f"Bearer {clear}"}


@pytest.fixture
def setup(session):
    maker = factories.actor_for(Role.manufacturer)
    hospital = factories.actor_for(Role.hospital)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id,
                                     stage=Stage.S7_POSTMARKET)
    deployment = factories.deploy(session, device, hospital.organisation_id)
    reference = artifacts.upload_artifact(session, maker, io.BytesIO(csv_bytes(
        make_frame(400, seed=1))), "validation.csv", "text/csv")
    session.commit()
    return {"maker": maker, "hospital": hospital, "device": device, "deployment": deployment,
            "reference": reference}


def test_configure_upload_and_follow_an_alert_over_http(client, session, setup):
    dep = setup["deployment"].id
    maker_h, hospital_h = bearer(session, setup["maker"]), bearer(session, setup["hospital"])
    session.commit()
    config = {"batch_schema": SCHEMA, "reference_artifact_id": setup["reference"].id,
              "rules": RULES}
    forbidden = client.put(f"/api/v1/deployments/{dep}/monitoring", json=config,
                           headers=hospital_h)
    assert forbidden.status_code == 403
    assert forbidden.headers["Content-Type"] == "application/problem+json"
    assert client.put(f"/api/v1/deployments/{dep}/monitoring", json=config,
                      headers=maker_h).status_code == 200

    with db.unit_of_work() as uow:
        clear, _ = service.create_upload_token(uow, setup["hospital"], dep, UploadTokenIn(),
                                               default_lifetime_days=1)
    machine = {"Authorization": f"Bearer {clear}"}
    bad = client.post(f"/api/v1/deployments/{dep}/batches", headers=machine, data={
        "file": (io.BytesIO(b"record_id,Age\nr1,70\n"), "bad.csv")})
    assert bad.status_code == 422
    problem = bad.get_json()
    assert problem["type"] == "/problems/invalid-input"
    assert any("did you mean 'Age'" in e["detail"] for e in problem["errors"])

    accepted = client.post(f"/api/v1/deployments/{dep}/batches", headers=machine, data={
        "file": (io.BytesIO(csv_bytes(make_frame(300, seed=3, age_shift=12))), "w1.csv"),
        "period_start": "2026-11-01T00:00:00Z", "period_end": "2026-11-08T00:00:00Z"})
    assert accepted.status_code == 202, accepted.get_json()
    batch = accepted.get_json()
    assert batch["status"] == "queued" and accepted.headers["Location"].endswith(
        f"/batches/{batch['id']}")
    jobs.get_runner().wait(batch["job_id"])

    detail = client.get(f"/api/v1/batches/{batch['id']}", headers=machine).get_json()
    assert detail["status"] == "done" and detail["drift_share"] == pytest.approx(0.5)
    assert detail["results"]["estimate"]["estimated"] is True
    active = client.get(f"/api/v1/deployments/{dep}/alerts?status=active",
                        headers=hospital_h).get_json()
    assert {a["dedup_key"] for a in active} == {"drift-share:batch", "age-drift:age"}
    status = client.get(f"/api/v1/devices/{setup['device'].code}/postmarket",
                        headers=maker_h).get_json()
    assert status["status"] == "action_needed" and status["open_alerts"] == 2

    # The machine's token may not handle alerts; the hospital's may, with a comment.
    alert_id = active[0]["id"]
    assert client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"comment": "fixed"},
                       headers=machine).status_code == 403
    short = client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"comment": ""},
                        headers=hospital_h)
    assert short.status_code == 422
    resolved = client.post(f"/api/v1/alerts/{alert_id}/resolve",
                           json={"comment": "referral pathway change explained"},
                           headers=hospital_h)
    assert resolved.status_code == 200 and resolved.get_json()["status"] == "resolved"

    inbox = client.get("/api/v1/notifications", headers=maker_h).get_json()
    assert {n["kind"] for n in inbox} == {"alert.raised", "alert.resolved"}
    read = client.post(f"/api/v1/notifications/{inbox[0]['id']}/read", headers=maker_h)
    assert read.get_json()["read_at"] is not None
    assert client.post(f"/api/v1/notifications/{inbox[0]['id']}/read",
                       headers=hospital_h).status_code == 404  # not its inbox


def test_incident_over_http_counts_down_and_other_hospitals_do_not_see_it(client, session,
                                                                          setup):
    hospital_h = bearer(session, setup["hospital"])
    stranger_h = bearer(session, factories.actor_for(Role.hospital))
    session.commit()
    code = setup["device"].code
    missing = client.post(f"/api/v1/devices/{code}/incidents", headers=hospital_h, json={
        "title": "patient harmed", "serious": True, "awareness_at": "2026-02-27T10:00:00Z"})
    assert missing.status_code == 422 and "category" in missing.get_json()["detail"]
    created = client.post(f"/api/v1/devices/{code}/incidents", headers=hospital_h, json={
        "title": "patient harmed", "serious": True, "severity": "critical",
        "category": "mdr_death_or_unanticipated_serious_deterioration",
        "awareness_at": "2026-02-27T10:00:00Z"})
    assert created.status_code == 201
    body = created.get_json()
    assert body["deadline_at"].startswith("2026-03-09T10:00") and body["overdue"] is True
    assert client.get(f"/api/v1/incidents/{body['id']}", headers=stranger_h).status_code == 404
    reported = client.patch(f"/api/v1/incidents/{body['id']}", headers=hospital_h,
                            json={"status": "reported", "comment": "sent to ANSM"})
    assert reported.get_json()["status"] == "reported"
    assert reported.get_json()["overdue"] is False  # the clock stops once reported


def test_overview_writes_the_last_batch_time_as_iso_8601(client, session, setup):
    from datetime import datetime

    from registry.schemas.monitoring import BatchIn, MonitoringConfigIn

    dep = setup["deployment"].id
    service.configure_monitoring(session, setup["maker"], dep, MonitoringConfigIn(
        batch_schema=SCHEMA, reference_artifact_id=setup["reference"].id, rules=RULES))
    batch = service.upload_batch(session, setup["hospital"], dep, io.BytesIO(csv_bytes(
        make_frame(100, seed=2))), "batch.csv", BatchIn())
    headers = bearer(session, setup["hospital"])
    session.commit()
    (row,) = client.get("/api/v1/monitoring/deployments", headers=headers).get_json()
    # Flask alone would write an HTTP date ("Wed, 25 Nov 2026 ..."), which the document forbids.
    sent = datetime.fromisoformat(row["last_batch_at"])
    assert sent.replace(tzinfo=None) == batch.received_at.replace(tzinfo=None)
