"""Role x action x own/other organisation, on the real database, against a hand-written table.

"own" is a device of the actor's organisation (for a reviewer or auditor: granted to it; for a
hospital: deployed at it); "other" is a private device of an unrelated manufacturer.
allow = the service does it (and audits it); deny = 403; hidden = 404 (existence not revealed).
"""

from __future__ import annotations

import io

import pytest
from sqlmodel import select

from registry.auth import RULES, Permission
from registry.errors import NotFoundError, PermissionDeniedError
from registry.models import AuditEvent, Device, OrganisationKind, Role, Stage
from registry.schemas import (
    DeploymentIn,
    DeviceIn,
    DeviceUpdate,
    EvidenceIn,
    GrantIn,
    ModelVersionIn,
    OrganisationIn,
    TransitionIn,
    UserIn,
    WaiverIn,
)
from registry.services import artifacts, devices, organisations
from tests import factories

A, D, H = "allow", "deny", "hidden"
ROLES = [Role.admin, Role.manufacturer, Role.reviewer, Role.hospital, Role.auditor,
         Role.authority]

# action -> {role: (own, other)}
EXPECTED = {
    "device:read": {Role.admin: (A, A), Role.manufacturer: (A, H), Role.reviewer: (A, H),
                    Role.hospital: (A, H), Role.auditor: (A, H), Role.authority: (A, A)},
    "device:update": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                      Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "device:publish": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                       Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "device:transition": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                          Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "device:create": {Role.admin: (D, D), Role.manufacturer: (A, D), Role.reviewer: (D, D),
                      Role.hospital: (D, D), Role.auditor: (D, D), Role.authority: (D, D)},
    "model_version:create": {Role.admin: (D, D), Role.manufacturer: (A, H),
                             Role.reviewer: (D, H), Role.hospital: (D, H), Role.auditor: (D, H),
                             Role.authority: (D, D)},
    "evidence:attach": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                        Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "deployment:create": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                          Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "grant:manage": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                     Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "gate:waive": {Role.admin: (D, D), Role.manufacturer: (D, H), Role.reviewer: (A, H),
                   Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "audit:read": {Role.admin: (A, A), Role.manufacturer: (A, H), Role.reviewer: (A, H),
                   Role.hospital: (D, H), Role.auditor: (A, H), Role.authority: (A, A)},
    "artifact:upload": {Role.admin: (D, D), Role.manufacturer: (A, A), Role.reviewer: (D, D),
                        Role.hospital: (D, D), Role.auditor: (D, D), Role.authority: (D, D)},
    "artifact:read": {Role.admin: (A, A), Role.manufacturer: (A, H), Role.reviewer: (A, H),
                      Role.hospital: (D, D), Role.auditor: (A, H), Role.authority: (D, D)},
    "organisation:manage": {Role.admin: (A, A), Role.manufacturer: (D, D), Role.reviewer: (D, D),
                            Role.hospital: (D, D), Role.auditor: (D, D), Role.authority: (D, D)},
    "user:manage": {Role.admin: (A, A), Role.manufacturer: (D, D), Role.reviewer: (D, D),
                    Role.hospital: (D, D), Role.auditor: (D, D), Role.authority: (D, D)},
    "audit:export": {Role.admin: (A, A), Role.manufacturer: (D, D), Role.reviewer: (D, D),
                     Role.hospital: (D, D), Role.auditor: (A, A), Role.authority: (D, D)},
    "job:read": {Role.admin: (A, A), Role.manufacturer: (A, A), Role.reviewer: (A, A),
                 Role.hospital: (A, A), Role.auditor: (A, A), Role.authority: (A, A)},
    # Energy (#8): declaring a training or inference footprint of a model version.
    "energy:declare": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                       Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    # Evaluations (#4): uploading validation results for a model version of the device.
    "evaluation:submit": {Role.admin: (D, D), Role.manufacturer: (A, H),
                          Role.reviewer: (D, H), Role.hospital: (D, H),
                          Role.auditor: (D, H), Role.authority: (D, D)},
    # Ethics (#6): reviewing also needs a review grant (the reviewer's "own" device has one).
    "ethics:read": {Role.admin: (A, A), Role.manufacturer: (A, H), Role.reviewer: (A, H),
                    Role.hospital: (A, H), Role.auditor: (A, H), Role.authority: (A, A)},
    "ethics:answer": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                      Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "ethics:submit": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                      Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "ethics:review": {Role.admin: (D, D), Role.manufacturer: (D, H), Role.reviewer: (A, H),
                      Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    # Monitoring (#7): "own" is the deployment of the own device at the actor's hospital;
    # "other" a deployment of the other device at an unrelated hospital.
    "monitoring:read": {Role.admin: (A, A), Role.manufacturer: (A, H), Role.reviewer: (A, H),
                        Role.hospital: (A, H), Role.auditor: (A, H), Role.authority: (A, A)},
    "monitoring:configure": {Role.admin: (D, D), Role.manufacturer: (A, H),
                             Role.reviewer: (D, H), Role.hospital: (D, H), Role.auditor: (D, H),
                             Role.authority: (D, D)},
    "monitoring:upload": {Role.admin: (D, D), Role.manufacturer: (D, H), Role.reviewer: (D, H),
                          Role.hospital: (A, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "alert:manage": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                     Role.hospital: (A, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "incident:report": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                        Role.hospital: (A, H), Role.auditor: (D, H), Role.authority: (D, D)},
    # Reviews (#5): "own" is a submission to the reviewer's organisation of a device granted
    # to it; "other" a submission of the other device to an unrelated notified body.
    "review:read": {Role.admin: (A, A), Role.manufacturer: (A, H), Role.reviewer: (A, H),
                    Role.hospital: (D, D), Role.auditor: (A, H), Role.authority: (A, A)},
    "review:submit": {Role.admin: (D, D), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                      Role.hospital: (D, H), Role.auditor: (D, H), Role.authority: (D, D)},
    "review:assess": {Role.admin: (D, D), Role.manufacturer: (D, D), Role.reviewer: (A, H),
                      Role.hospital: (D, D), Role.auditor: (D, D), Role.authority: (D, D)},
    # Catalogue (#10): "own" is a problem report on the own device; the national view and use
    # cases concern no device (own and other alike).
    "national:read": {Role.admin: (A, A), Role.manufacturer: (D, D), Role.reviewer: (D, D),
                      Role.hospital: (D, D), Role.auditor: (D, D), Role.authority: (A, A)},
    "use_case:write": {Role.admin: (D, D), Role.manufacturer: (D, D), Role.reviewer: (D, D),
                       Role.hospital: (D, D), Role.auditor: (D, D), Role.authority: (A, A)},
    "problem_report:read": {Role.admin: (A, A), Role.manufacturer: (A, H),
                            Role.reviewer: (D, D), Role.hospital: (D, D),
                            Role.auditor: (D, D), Role.authority: (A, A)},
    "problem_report:handle": {Role.admin: (D, D), Role.manufacturer: (A, H),
                              Role.reviewer: (D, D), Role.hospital: (D, D),
                              Role.auditor: (D, D), Role.authority: (A, A)},
    # Dossiers (#9): an auditor needs its grant (the "own" device is granted to it); a reviewer
    # or a hospital that sees the device may not build or read its dossiers.
    "dossier:build": {Role.admin: (A, A), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                      Role.hospital: (D, H), Role.auditor: (A, H), Role.authority: (A, A)},
    "dossier:read": {Role.admin: (A, A), Role.manufacturer: (A, H), Role.reviewer: (D, H),
                     Role.hospital: (D, H), Role.auditor: (A, H), Role.authority: (A, A)},
}

CASES = [
    pytest.param(role, action, side, EXPECTED[action][role][i],
                 id=f"{role.value}-{action}-{side}")
    for action in EXPECTED for role in ROLES for i, side in enumerate(("own", "other"))
]


def test_table_covers_every_role_and_permission():
    assert set(EXPECTED) == {p.value for p in Permission}, "add the new permission to EXPECTED"
    for action, row in EXPECTED.items():
        assert set(row) == set(RULES), f"{action}: every role needs an expectation"


@pytest.fixture
def world(session):
    """Two manufacturers' devices (one 'own' per role), plus the actors of each role."""
    own_maker = factories.OrganisationFactory()
    other_device = factories.DeviceFactory(stage=Stage.S2_DATA)
    own_device = factories.DeviceFactory(manufacturer_id=own_maker.id, stage=Stage.S2_DATA)
    actors = {}
    for role in ROLES:
        org_id = own_maker.id if role is Role.manufacturer else None
        actors[role] = factories.actor_for(role, org_id)
    factories.grant(session, own_device, actors[Role.reviewer].organisation_id)
    factories.grant(session, own_device, actors[Role.auditor].organisation_id, "audit")
    factories.deploy(session, own_device, actors[Role.hospital].organisation_id)
    hospital_org = actors[Role.hospital].organisation_id
    # An upload by the device's manufacturer, attached as evidence to each device.
    maker_actor = factories.actor_for(Role.manufacturer, own_maker.id)
    other_maker = factories.actor_for(Role.manufacturer, other_device.manufacturer_id)
    docs = {}
    for side, dev, maker in (("own", own_device, maker_actor), ("other", other_device,
                                                                 other_maker)):
        art = artifacts.upload_artifact(session, maker, io.BytesIO(f"doc {side}".encode()),
                                        "doc.txt", "text/plain")
        devices.attach_evidence(session, maker, dev.code, EvidenceIn(
            gate_item="G2.1", artifact_id=art.id))
        docs[side] = art.id
        _submitted_ethics(session, maker, dev)
    session.flush()
    return {"own": own_device, "other": other_device, "actors": actors,
            "hospital_org": hospital_org, "docs": docs}


def perform(session, action, actor, device, world):
    code = device.code
    if action == "device:read":
        return devices.get_device(session, actor, code)
    if action == "device:update":
        return devices.update_device(session, actor, code, DeviceUpdate(name="Renamed"))
    if action == "device:publish":
        return devices.set_published(session, actor, code, True)
    if action == "device:transition":
        return devices.advance_stage(session, actor, code, TransitionIn(
            to_stage="S1_NEEDS", reason="re-scoping"))
    if action == "device:create":
        org_id = actor.organisation_id if device is world["own"] else device.manufacturer_id
        return devices.create_device(session, actor, DeviceIn(
            code=f"NEW-{actor.role.value}", name="New", theme="CARE", manufacturer_id=org_id))
    if action == "model_version:create":
        return devices.create_model_version(session, actor, code, ModelVersionIn(
            version="2.0", change_type="architecture", change_description="new backbone"))
    if action == "evidence:attach":
        return devices.attach_evidence(session, actor, code, EvidenceIn(
            gate_item="G2.2", note="legal basis recorded in the DPIA register"))
    if action == "deployment:create":
        version = devices.candidate_version(session, device)
        return devices.create_deployment(session, actor, code, DeploymentIn(
            model_version_id=version.id, hospital_id=world["hospital_org"], site="annex"))
    if action == "grant:manage":
        body = factories.OrganisationFactory(kind=OrganisationKind.notified_body)
        return devices.grant_access(session, actor, code, GrantIn(
            organisation_id=body.id, purpose="review"))
    if action == "gate:waive":
        return devices.waive_gate_item(session, actor, code, WaiverIn(
            gate_item="G2.3", justification="synthetic data only, no re-identification risk"))
    if action == "audit:read":
        return devices.list_device_audit(session, actor, code)
    if action == "artifact:upload":
        return artifacts.upload_artifact(session, actor, io.BytesIO(b"x"), "x.txt", "text/plain")
    if action == "artifact:read":
        return artifacts.get_artifact(session, actor, world["docs"][
            "own" if device is world["own"] else "other"])
    if action == "organisation:manage":
        return organisations.create_organisation(session, actor, OrganisationIn(
            name=f"Org by {actor.email}", kind="hospital"))
    if action == "user:manage":
        return organisations.create_user(session, actor, UserIn(
            email=f"new-{actor.user_id}@example.org", name="New", password="long enough pw",
            organisation_id=world["hospital_org"], role="hospital"))
    if action == "audit:export":
        from registry import auth

        auth.require(actor, Permission.AUDIT_EXPORT)
        return True
    if action == "job:read":
        from registry import jobs

        job = jobs.enqueue(session, actor, "audit.verify", {})
        return jobs.get_job(session, actor, job.id)
    if action == "energy:declare":
        from registry.schemas.energy import FootprintIn
        from registry.services import energy

        version = devices.candidate_version(session, device)
        return energy.declare_footprint(session, actor, code, version.id, FootprintIn(
            phase="training", energy_kwh=12.5, emissions_kg=0.7))
    if action == "evaluation:submit":
        return factories.evaluation(session, actor, device)
    if action.startswith("ethics:"):
        return _perform_ethics(session, action, actor, device)
    if action in MONITORING_ACTIONS:
        return _perform_monitoring(session, action, actor, device, world)
    if action.startswith("review:"):
        return _perform_review(session, action, actor, device, world)
    if action in CATALOGUE_ACTIONS:
        return _perform_catalogue(session, action, actor, device)
    if action.startswith("dossier:"):
        return _perform_dossier(session, action, actor, device)
    raise AssertionError(action)


def _perform_dossier(session, action, actor, device):
    from registry import storage
    from registry.models.dossiers import Dossier
    from registry.services import dossiers

    if action == "dossier:build":
        return dossiers.request_build(session, actor, device.code)
    # An issued dossier without rendering one: a stored file and its row (what build records).
    ref = storage.get_store().put(io.BytesIO(b"%PDF-1.7 stand-in " + device.code.encode()))
    row = Dossier(dossier_id=f"00000000-0000-4000-8000-{device.id:012d}", device_id=device.id,
                  generated_at=device.created_at, pdf_sha256=ref.sha256,
                  size_bytes=ref.size_bytes, pages=1, manifest_sha256="0" * 64,
                  audit_head_seq=0, audit_head_hash="0" * 64, key_id="k",
                  seal_certificate_sha256="0" * 64)
    session.add(row)
    session.flush()
    return dossiers.download(session, actor, row.dossier_id)


CATALOGUE_ACTIONS = {"national:read", "use_case:write", "problem_report:read",
                     "problem_report:handle"}


def _perform_catalogue(session, action, actor, device):
    from registry.models.catalogue import ProblemCategory, ProblemReport, ReporterKind
    from registry.schemas.catalogue import ProblemReportHandleIn, UseCaseIn
    from registry.services import catalogue, national, usecases

    if action == "national:read":
        return national.national_view(session, actor)
    if action == "use_case:write":
        return usecases.create_use_case(session, actor, UseCaseIn(
            code=f"UC-{actor.user_id}-{device.code}", title="Triage aid", theme="ACCESS"))
    # Set up without the service (a public report needs a published device).
    report = ProblemReport(device_id=device.id, category=ProblemCategory.safety,
                           reporter_kind=ReporterKind.patient,
                           description="the alert never fired on a confirmed case")
    session.add(report)
    session.flush()
    if action == "problem_report:read":
        return catalogue.get_problem_report(session, actor, report.id)
    return catalogue.handle_problem_report(session, actor, report.id, ProblemReportHandleIn(
        status="acknowledged", note="under review"))


def _perform_review(session, action, actor, device, world):
    from registry.models.reviews import OpinionKind, Submission
    from registry.schemas.reviews import ScoreIn, SubmissionIn
    from registry.services import reviews

    body = factories.OrganisationFactory(kind=OrganisationKind.notified_body)
    if action == "review:submit":
        return reviews.submit(session, actor, device.code,
                              SubmissionIn(reviewer_organisation_id=body.id))
    # Set up without the service (its audit events would not be the actor's).
    to = world["actors"][Role.reviewer].organisation_id if device is world["own"] else body.id
    maker = factories.actor_for(Role.manufacturer, device.manufacturer_id)
    submission = Submission(device_id=device.id, model_version_id=devices.candidate_version(
        session, device).id, reviewer_organisation_id=to, kind=OpinionKind.hta_opinion,
        submitted_by=maker.user_id)
    session.add(submission)
    session.flush()
    if action == "review:read":
        return reviews.get_submission(session, actor, submission.id)
    return reviews.score_domain(session, actor, submission.id, ScoreIn(
        domain="D1", score="3", justification="better detection rate in prospective data"))


MONITORING_ACTIONS = {"monitoring:read", "monitoring:configure", "monitoring:upload",
                      "alert:manage", "incident:report"}


def _perform_monitoring(session, action, actor, device, world):
    from datetime import UTC, datetime

    from registry.models import Artifact, Deployment
    from registry.models.monitoring import MonitoringAlert, MonitoringBatch, MonitoringConfig
    from registry.schemas.monitoring import BatchIn, IncidentIn, MonitoringConfigIn
    from registry.services import alerts, incidents
    from registry.services import monitoring as service

    if device is world["own"]:
        deployment = session.exec(select(Deployment).where(
            Deployment.device_id == device.id)).first()
    else:
        elsewhere = factories.OrganisationFactory(kind=OrganisationKind.hospital)
        deployment = factories.deploy(session, device, elsewhere.id)
    schema = {"id_column": "record_id", "columns": [{"name": "record_id", "kind": "text"},
                                                    {"name": "score", "kind": "numeric"}]}
    csv = b"record_id,score\nr1,0.2\nr2,0.9\n"
    if action == "monitoring:read":
        return service.list_batches(session, actor, deployment.id)
    if action == "monitoring:configure":
        reference = 0
        if actor.role is Role.manufacturer:
            reference = artifacts.upload_artifact(session, actor, io.BytesIO(csv), "ref.csv",
                                                  "text/csv").id
        return service.configure_monitoring(session, actor, deployment.id, MonitoringConfigIn(
            batch_schema=schema, reference_artifact_id=reference))
    if action == "incident:report":
        return incidents.report_incident(session, actor, device.code, IncidentIn(
            title="alarm ignored", awareness_at=datetime.now(UTC)))
    # Set up without the service (its audit events would not be the actor's).
    maker = factories.actor_for(Role.manufacturer, device.manufacturer_id)
    reference = Artifact(sha256="0" * 64, size_bytes=len(csv), filename="ref.csv",
                         organisation_id=maker.organisation_id, uploaded_by=maker.user_id)
    session.add(reference)
    session.flush()
    session.add(MonitoringConfig(deployment_id=deployment.id, batch_schema=schema,
                                 reference_artifact_id=reference.id, created_by=maker.user_id))
    session.flush()
    if action == "monitoring:upload":
        return service.upload_batch(session, actor, deployment.id, io.BytesIO(csv), "b.csv",
                                    BatchIn())
    batch = MonitoringBatch(deployment_id=deployment.id, device_id=device.id,
                            artifact_id=reference.id)
    session.add(batch)
    session.flush()
    alert = MonitoringAlert(deployment_id=deployment.id, device_id=device.id, rule_id="r",
                            dedup_key="r:batch", kind="volume_outside", severity="low",
                            subject="batch", first_batch_id=batch.id, last_batch_id=batch.id)
    session.add(alert)
    session.flush()
    return alerts.acknowledge_alert(session, actor, alert.id, "looking into it")


def _perform_ethics(session, action, actor, device):
    from registry.schemas.ethics import AnswerIn, ReviewIn
    from registry.services import ethics

    code = device.code
    if action == "ethics:read":
        return ethics.device_ethics(session, actor, code)
    if action == "ethics:answer":
        return ethics.save_answer(session, actor, code, "ETH-01", AnswerIn(maturity=1))
    if action == "ethics:submit":
        ethics.save_answer(session, actor, code, "ETH-02", AnswerIn(maturity=1))
        return ethics.submit_assessment(session, actor, code)
    return ethics.review_criterion(session, actor, code, "ETH-01", ReviewIn(verdict="agree"))


def _submitted_ethics(session, maker, device):
    """Each device carries a submitted ethics self-assessment for the review action."""
    from registry.schemas.ethics import AnswerIn
    from registry.services import ethics

    ethics.save_answer(session, maker, device.code, "ETH-01", AnswerIn(maturity=1))
    ethics.submit_assessment(session, maker, device.code)


WRITES = {"device:update", "device:publish", "device:transition", "device:create",
          "model_version:create", "evidence:attach", "deployment:create", "grant:manage",
          "gate:waive", "artifact:upload", "organisation:manage", "user:manage",
          "review:submit", "review:assess",
          "ethics:answer", "ethics:submit", "ethics:review", "monitoring:configure",
          "monitoring:upload", "alert:manage", "incident:report",
          "use_case:write", "problem_report:handle", "evaluation:submit", "dossier:build"}


@pytest.mark.parametrize("role, action, side, expected", CASES)
def test_access(session, world, role, action, side, expected):
    actor = world["actors"][role]
    device = world[side]
    events_before = session.exec(select(AuditEvent.id)).all()
    stage_before = session.get(Device, device.id).stage
    if expected == A:
        result = perform(session, action, actor, device, world)
        assert result is not None
        if action in WRITES:
            new = session.exec(select(AuditEvent).where(
                AuditEvent.id.not_in(events_before))).all()
            assert new and all(e.actor_id == actor.user_id for e in new), "write not audited"
        return
    error = PermissionDeniedError if expected == D else NotFoundError
    with pytest.raises(error):
        with session.begin_nested():
            perform(session, action, actor, device, world)
    assert session.exec(select(AuditEvent.id)).all() == events_before
    assert session.get(Device, device.id).stage == stage_before
