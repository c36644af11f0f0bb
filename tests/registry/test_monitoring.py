"""Post-market monitoring in the registry: configuration, batches, analysis, alerts, labels,
incidents, status and the G6.5 gate, on the real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import recall_score, roc_auc_score
from sqlmodel import select

from registry import db, jobs
from registry.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from registry.models import Artifact, AuditEvent, Role, Stage
from registry.models.monitoring import MonitoringAlert, MonitoringBatch, Notification
from registry.schemas.monitoring import (
    BatchIn,
    IncidentIn,
    IncidentUpdate,
    MonitoringConfigIn,
    UploadTokenIn,
)
from registry.services import alerts, artifacts, devices, incidents, notifications
from registry.services import monitoring as service
from tests import factories

SCHEMA = {"id_column": "record_id", "columns": [
    {"name": "record_id", "kind": "text"}, {"name": "age", "kind": "numeric"},
    {"name": "sex", "kind": "categorical"}, {"name": "score", "kind": "numeric"}]}
RULES = [{"id": "drift-share", "kind": "drift_share_above", "severity": "high", "level": 0.3},
         {"id": "age-drift", "kind": "feature_drifted", "severity": "medium",
          "columns": ["age"]},
         {"id": "volume", "kind": "volume_outside", "severity": "low", "min_rows": 50}]
KPI_RULE = {"id": "kpi", "kind": "kpi_not_met", "severity": "high"}


def make_frame(n: int, *, seed: int, age_shift: float = 0.0, start: int = 0) -> pd.DataFrame:
    """Patients with an age, a sex and a calibrated score; ``age_shift`` moves the ages."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "record_id": [f"r{start + i}" for i in range(n)],
        "age": rng.normal(60 + age_shift, 8, n).round(1),
        "sex": rng.choice(["F", "M"], n),
        "score": rng.beta(2, 5, n).round(4),
    })


def csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


@pytest.fixture
def world(session):
    """A device deployed at a hospital, with its maker, the hospital and another hospital."""
    maker = factories.actor_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id,
                                     stage=Stage.S7_POSTMARKET)
    hospital = factories.actor_for(Role.hospital)
    other_hospital = factories.actor_for(Role.hospital)
    deployment = factories.deploy(session, device, hospital.organisation_id)
    elsewhere = factories.deploy(session, device, other_hospital.organisation_id)
    reference = artifacts.upload_artifact(session, maker, io.BytesIO(csv_bytes(
        make_frame(400, seed=1))), "validation.csv", "text/csv")
    return {"maker": maker, "device": device, "hospital": hospital,
            "other_hospital": other_hospital, "deployment": deployment,
            "elsewhere": elsewhere, "reference": reference}


def configure(session, world, **overrides):
    data = {"batch_schema": SCHEMA, "reference_artifact_id": world["reference"].id,
            "rules": RULES, "subgroup_columns": ["sex"], "threshold": 0.5,
            "calibration": {"slope": 1.0, "intercept": 0.0}, "baseline": {"sensitivity": 0.5},
            **overrides}
    return service.configure_monitoring(session, world["maker"], world["deployment"].id,
                                        MonitoringConfigIn(**data))


def upload_and_analyse(session, world, frame, actor=None):
    batch = service.upload_batch(session, actor or world["hospital"], world["deployment"].id,
                                 io.BytesIO(csv_bytes(frame)), "batch.csv", BatchIn())
    service._run(session, actor or world["hospital"], batch.id, service.analyse_batch)
    return batch


def test_drifted_batch_raises_deduplicated_alerts_and_notifies_both_parties(session, world):
    configure(session, world)
    calm = upload_and_analyse(session, world, make_frame(300, seed=2))
    assert calm.status == "done" and calm.results["drift"]["n_features_drifted"] == 0
    assert service.postmarket_status(session, world["device"])["status"] == "ok"

    drifted_frame = make_frame(300, seed=3, age_shift=12)
    drifted = upload_and_analyse(session, world, drifted_frame)
    age = next(c for c in drifted.results["drift"]["columns"] if c["column"] == "age")
    # The registry's score is the two-sample K-S p-value of scipy on the same data.
    expected = stats.ks_2samp(make_frame(400, seed=1)["age"], drifted_frame["age"]).pvalue
    assert age["drifted"] is True and age["score"] == pytest.approx(expected, rel=1e-6)
    assert drifted.drift_share == pytest.approx(0.5)  # age drifted, sex did not
    raised = alerts.list_alerts(session, world["maker"], device=world["device"],
                                status="active")
    assert {a.dedup_key for a in raised} == {"drift-share:batch", "age-drift:age"}
    assert service.postmarket_status(session, world["device"])["status"] == "action_needed"
    inbox = {n.organisation_id for n in session.exec(select(Notification).where(
        Notification.kind == "alert.raised"))}
    assert inbox == {world["maker"].organisation_id, world["hospital"].organisation_id}

    again = upload_and_analyse(session, world, make_frame(300, seed=4, age_shift=12))
    active = alerts.list_alerts(session, world["hospital"], deployment_id=world["deployment"].id,
                                status="active")
    assert len(active) == 2 and all(a.count == 2 and a.last_batch_id == again.id
                                    for a in active)
    assert session.exec(select(Notification).where(
        Notification.kind == "alert.raised")).all().__len__() == 4  # no new message


def test_acknowledge_then_resolve_with_comments_audited(session, world):
    configure(session, world)
    upload_and_analyse(session, world, make_frame(300, seed=3, age_shift=12))
    alert = alerts.list_alerts(session, world["hospital"], deployment_id=world["deployment"].id,
                               status="open")[0]
    alerts.acknowledge_alert(session, world["hospital"], alert.id, "radiology checks the CT")
    with pytest.raises(ConflictError, match="only an open alert"):
        alerts.acknowledge_alert(session, world["maker"], alert.id, "again")
    alerts.resolve_alert(session, world["maker"], alert.id, "new scanner protocol documented")
    events = session.exec(select(AuditEvent).where(AuditEvent.object_type == "monitoring_alert",
                                                   AuditEvent.object_id == str(alert.id))
                          .order_by(AuditEvent.seq)).all()
    assert [e.action for e in events] == ["alert.raise", "alert.acknowledge", "alert.resolve"]
    assert events[2].reason == "new scanner protocol documented"
    # A later drifted batch opens a new alert instead of reviving the resolved one.
    upload_and_analyse(session, world, make_frame(300, seed=5, age_shift=12))
    same_rule = [a for a in alerts.list_alerts(session, world["maker"], device=world["device"])
                 if a.dedup_key == alert.dedup_key]
    assert sorted(a.status.value for a in same_rule) == ["open", "resolved"]


def test_invalid_batch_lists_every_problem_and_stores_nothing(session, world):
    configure(session, world)
    bad = make_frame(30, seed=2).rename(columns={"age": "Age"})
    bad.loc[3, "score"] = None
    artifacts_before = session.exec(select(Artifact.id)).all()
    with pytest.raises(InvalidInputError) as caught:
        with session.begin_nested():
            service.upload_batch(session, world["hospital"], world["deployment"].id,
                                 io.BytesIO(csv_bytes(bad)), "batch.csv", BatchIn())
    assert "did you mean 'Age'" in caught.value.detail
    assert "'score': 1 missing values" in caught.value.detail
    assert session.exec(select(MonitoringBatch)).all() == []
    assert session.exec(select(Artifact.id)).all() == artifacts_before
    with pytest.raises(InvalidInputError, match=r"\.csv or \.parquet"):
        service.upload_batch(session, world["hospital"], world["deployment"].id,
                             io.BytesIO(b"a,b\n1,2\n"), "batch.xlsx", BatchIn())


def test_upload_before_configuration_is_a_conflict(session, world):
    with pytest.raises(ConflictError, match="not configured"):
        service.upload_batch(session, world["hospital"], world["deployment"].id,
                             io.BytesIO(csv_bytes(make_frame(10, seed=1))), "b.csv", BatchIn())


def test_configuration_problems_are_listed_together(session, world):
    with pytest.raises(InvalidInputError) as caught:
        configure(session, world, score_column="proba", rules=[{"id": "x", "kind": "nope",
                                                                "severity": "high"}])
    assert "score_column 'proba'" in caught.value.detail
    assert "kind must be one of" in caught.value.detail


def test_parquet_batch_is_accepted(session, world):
    configure(session, world)
    buffer = io.BytesIO()
    make_frame(120, seed=8).to_parquet(buffer)
    batch = service.upload_batch(session, world["hospital"], world["deployment"].id,
                                 io.BytesIO(buffer.getvalue()), "week.parquet", BatchIn())
    assert batch.file_format == "parquet" and batch.row_count == 120


def test_estimate_then_labels_replace_it_with_measured_performance(session, world):
    configure(session, world)
    frame = make_frame(300, seed=6)
    batch = upload_and_analyse(session, world, frame)
    estimate = batch.results["estimate"]
    assert estimate["estimated"] is True and estimate["offered"] is True
    rng = np.random.default_rng(7)
    labels = pd.DataFrame({"record_id": frame["record_id"],
                           "y_true": (rng.random(300) < frame["score"]).astype(int)})
    service.upload_labels(session, world["hospital"], batch.id,
                          io.BytesIO(csv_bytes(labels)), "labels.csv")
    service._run(session, world["hospital"], batch.id, service.measure_batch)
    metrics = {m["metric"]: m for m in batch.measured["performance"]["metrics"]}
    predicted = (frame["score"] >= 0.5).astype(int)
    assert metrics["sensitivity"]["value"] == pytest.approx(
        recall_score(labels["y_true"], predicted), abs=1e-12)
    assert metrics["auc"]["value"] == pytest.approx(
        roc_auc_score(labels["y_true"], frame["score"]), abs=1e-12)
    assert metrics["sensitivity"]["lower"] < metrics["sensitivity"]["value"]
    assert batch.measured["performance"]["estimated"] is False
    assert batch.measured["join"]["n_matched"] == 300


def test_labels_without_matching_ids_are_refused(session, world):
    configure(session, world)
    batch = upload_and_analyse(session, world, make_frame(60, seed=6))
    labels = pd.DataFrame({"record_id": ["x1", "x2"], "y_true": [0, 1]})
    with pytest.raises(InvalidInputError, match="no record id"):
        service.upload_labels(session, world["hospital"], batch.id,
                              io.BytesIO(csv_bytes(labels)), "labels.csv")


# --- access -------------------------------------------------------------------------------------


def test_only_the_deployments_hospital_uploads_and_reads(session, world):
    configure(session, world)
    dep = world["deployment"].id
    with pytest.raises(NotFoundError):
        service.upload_batch(session, world["other_hospital"], dep,
                             io.BytesIO(csv_bytes(make_frame(60, seed=2))), "b.csv", BatchIn())
    with pytest.raises(NotFoundError):
        service.list_batches(session, world["other_hospital"], dep)
    with pytest.raises(PermissionDeniedError):  # the maker sees it but does not upload
        service.upload_batch(session, world["maker"], dep,
                             io.BytesIO(csv_bytes(make_frame(60, seed=2))), "b.csv", BatchIn())
    with pytest.raises(PermissionDeniedError):  # the hospital sees it but does not configure
        service.configure_monitoring(session, world["hospital"], dep, MonitoringConfigIn(
            batch_schema=SCHEMA, reference_artifact_id=world["reference"].id))
    stranger = factories.actor_for(Role.manufacturer)
    with pytest.raises(NotFoundError):
        service.get_config(session, stranger, dep)
    assert [d.id for d in service.visible_deployments(session, world["hospital"])] == [dep]


def test_deployment_token_uploads_there_only(session, world):
    from registry import auth

    configure(session, world)
    clear, row = service.create_upload_token(session, world["hospital"], world["deployment"].id,
                                             UploadTokenIn(), default_lifetime_days=30)
    assert row.scopes == [f"monitoring:read:{world['deployment'].id}",
                          f"monitoring:upload:{world['deployment'].id}"]
    machine = auth.actor_for_token(session, clear)
    batch = service.upload_batch(session, machine, world["deployment"].id,
                                 io.BytesIO(csv_bytes(make_frame(60, seed=2))), "b.csv", BatchIn())
    assert batch.id is not None
    # The same hospital's other deployment is out of the token's reach, and so is the rest.
    other_dep = factories.deploy(session, factories.DeviceFactory(),
                                 world["hospital"].organisation_id)
    with pytest.raises(PermissionDeniedError, match="for deployment"):
        service.list_batches(session, machine, other_dep.id)
    with pytest.raises(PermissionDeniedError, match="lacks the scope"):
        incidents.report_incident(session, machine, world["device"].code, IncidentIn(
            title="by the machine", awareness_at=datetime.now(UTC)))
    with pytest.raises(PermissionDeniedError, match="password"):
        service.create_upload_token(session, machine, world["deployment"].id, UploadTokenIn(),
                                    default_lifetime_days=30)


# --- the job, the webhook -------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        type(self).received.append((self.headers["Content-Type"],
                                    json.loads(self.rfile.read(length))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # keep test output clean
        pass


@pytest.fixture
def webhook():
    _Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    notifications.set_webhook_url(f"http://127.0.0.1:{server.server_port}/hook")
    yield _Hook.received
    notifications.set_webhook_url(None)
    server.shutdown()
    server.server_close()


def test_batch_job_raises_an_alert_and_posts_the_webhook_after_commit(session, world, webhook):
    configure(session, world)
    session.commit()
    with db.unit_of_work() as uow:
        batch = service.upload_batch(uow, world["hospital"], world["deployment"].id,
                                     io.BytesIO(csv_bytes(make_frame(300, seed=3, age_shift=12))),
                                     "batch.csv", BatchIn())
        job_id, batch_id = batch.job_id, batch.id
    jobs.get_runner().wait(job_id)
    with db.unit_of_work() as uow:
        stored = uow.get(MonitoringBatch, batch_id)
        assert stored.status == "done" and stored.n_features_drifted == 1
        assert uow.exec(select(MonitoringAlert).where(
            MonitoringAlert.deployment_id == world["deployment"].id)).all()
    kinds = [(content_type, body["kind"]) for content_type, body in webhook]
    assert ("application/json", "alert.raised") in kinds
    assert all(body["device_id"] == world["device"].id for _, body in webhook)


def test_unreachable_webhook_is_logged_not_raised():
    assert notifications.post_webhook("http://127.0.0.1:9/none", {"kind": "x"},
                                      timeout=1) is False


# --- incidents and status ---------------------------------------------------------------------


@pytest.mark.parametrize("category, aware, due", [
    ("mdr_other_serious_incident", datetime(2024, 2, 14, 9, tzinfo=UTC),
     datetime(2024, 2, 29, 9, tzinfo=UTC)),  # leap day
    ("mdr_death_or_unanticipated_serious_deterioration", datetime(2025, 12, 22, tzinfo=UTC),
     datetime(2026, 1, 1, tzinfo=UTC)),  # year end
    ("mdr_public_health_threat", datetime(2025, 2, 27, 18, tzinfo=UTC),
     datetime(2025, 3, 1, 18, tzinfo=UTC)),  # month end, no leap day
])
def test_serious_incident_gets_its_legal_deadline(session, world, category, aware, due):
    incident = incidents.report_incident(session, world["hospital"], world["device"].code,
                                         IncidentIn(title="missed cancer", serious=True,
                                                    category=category, severity="high",
                                                    awareness_at=aware))
    assert incident.deadline_at == due
    assert incident.deployment_id == world["deployment"].id
    view = incidents.incident_view(incident, now=due - timedelta(days=1))
    assert view["days_remaining"] == 1.0 and view["overdue"] is False
    assert incidents.incident_view(incident, now=due + timedelta(seconds=1))["overdue"] is True


def test_overdue_incident_makes_action_needed_until_reported(session, world):
    configure(session, world)
    incident = incidents.report_incident(session, world["maker"], world["device"].code, IncidentIn(
        title="wrong side flagged", serious=True, category="mdr_other_serious_incident",
        severity="high", awareness_at=datetime.now(UTC) - timedelta(days=20),
        deployment_id=world["deployment"].id))
    status = service.postmarket_status(session, world["device"])
    assert status["status"] == "action_needed" and status["overdue_incidents"] == 1
    incidents.update_incident(session, world["maker"], incident.id, IncidentUpdate(
        status="reported", comment="sent to ANSM"))
    assert service.postmarket_status(session, world["device"])["status"] == "watch"
    with pytest.raises(ConflictError):
        incidents.update_incident(session, world["maker"], incident.id, IncidentUpdate(
            status="open", comment="reopen"))
    with pytest.raises(NotFoundError):  # the other hospital does not see it
        incidents.get_incident(session, world["other_hospital"], incident.id)


def test_periodic_report_follows_the_class(session, world):
    world["deployment"].go_live_at = datetime(2024, 2, 29, tzinfo=UTC)
    session.add(world["deployment"])
    schedule = incidents.periodic_report(session, world["device"])  # class IIb: yearly PSUR
    assert schedule["report"] == "PSUR"
    assert schedule["next_due_at"].startswith("2025-02-28")


def test_g65_needs_monitoring_of_the_candidate_version(session, world):
    world["device"].stage = Stage.S6_DEPLOYMENT
    session.add(world["device"])
    unmet = {u.id for u in devices.gate_status(session, world["maker"], world["device"].code)}
    assert "G6.5" in unmet
    configure(session, world)
    unmet = {u.id for u in devices.gate_status(session, world["maker"], world["device"].code)}
    assert "G6.5" not in unmet


def test_reference_can_be_the_deployed_versions_validation(session, world):
    """The evaluations area's validation rows serve as reference; their score column (renamed
    y_score there) is compared with the batch's own score column."""
    from registry.schemas.evaluations import EvaluationIn
    from registry.services import evaluations

    validation = make_frame(400, seed=1).assign(truth=lambda f: (f["score"] > 0.3).astype(int))
    evaluation = evaluations.submit_evaluation(
        session, world["maker"], world["device"].code, world["deployment"].model_version_id,
        EvaluationIn(dataset_kind="external", label_column="truth", score_column="score",
                     positive_label="1", threshold=0.5, id_column="record_id"),
        io.BytesIO(csv_bytes(validation)), "validation.csv", synchronous=True)
    configure(session, world, reference_artifact_id=None, reference_evaluation_id=evaluation.id)
    batch = upload_and_analyse(session, world, make_frame(300, seed=3, age_shift=12))
    assert batch.status == "done", batch.error
    assert batch.results["drift"]["prediction"]["column"] == "score"
    assert batch.results["drift"]["prediction"]["skipped_reason"] is None
    age = next(c for c in batch.results["drift"]["columns"] if c["column"] == "age")
    assert age["drifted"] is True
    with pytest.raises(InvalidInputError, match="not an evaluation of this device"):
        configure(session, world, reference_artifact_id=None, reference_evaluation_id=999999)


def test_webhook_setting_must_be_an_http_url(tmp_path):
    from registry.config import load_settings
    from registry.errors import ConfigError

    with pytest.raises(ConfigError, match="DMD_ALERT_WEBHOOK_URL"):
        load_settings(instance_dir=tmp_path, alert_webhook_url="ftp://alerts.example")
    settings = load_settings(instance_dir=tmp_path, alert_webhook_url="https://hooks.example/x")
    assert settings.alert_webhook_url == "https://hooks.example/x"
