"""What the catalogue and the national view read from evaluations, reviews, monitoring and energy.

Rows of the other areas are set up directly in their tables (their own tests cover how their
services write them), except incidents, which go through the monitoring area's real service.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from registry.models import Artifact, ModelVersion, Role
from registry.models.catalogue import ProblemStatus
from registry.models.energy import EnergyRecord, FootprintSource, Phase
from registry.models.evaluations import Evaluation, EvaluationStatus
from registry.models.monitoring import (
    AlertStatus,
    Incident,
    IncidentStatus,
    MonitoringAlert,
    MonitoringBatch,
)
from registry.models.reviews import Opinion, OpinionKind, Submission
from registry.schemas.catalogue import IncidentRequestIn, ProblemReportIn
from registry.schemas.monitoring import IncidentIn
from registry.services import catalogue, catalogue_sources, exports, incidents, national
from tests import factories

REPORT = ProblemReportIn(category="safety", reporter_kind="professional",
                         description="No notification for a confirmed occlusion last night.")


@pytest.fixture
def world(session):
    maker_org = factories.OrganisationFactory(name="Synapse SAS")
    hospital = factories.OrganisationFactory(kind="hospital", name="CHU Test",
                                             region="Grand Est")
    device = factories.DeviceFactory(code="PUB-S", manufacturer_id=maker_org.id,
                                     is_published=True)
    deployment = factories.deploy(session, device, hospital.id)
    maker = factories.actor_for(Role.manufacturer, maker_org.id)
    version = session.exec(select(ModelVersion).where(ModelVersion.device_id == device.id)).one()
    return {"device": device, "deployment": deployment, "maker": maker, "version": version,
            "hospital": hospital, "maker_org": maker_org}


def add_evaluation(session, device, version, user_id, *, estimate, lower, upper,
                   status=EvaluationStatus.done, kind="external"):
    row = Evaluation(
        device_id=device.id, model_version_id=version.id, dataset_kind=kind, site="CHU Test",
        status=status, sha256="0" * 64, created_by=user_id, finished_at=datetime.now(UTC),
        results={"level": 0.95, "metrics": {"auc": {
            "name": "auc", "value": estimate, "n": 812,
            "interval": {"estimate": estimate, "lower": lower, "upper": upper, "level": 0.95,
                         "method": "delong"}}}},
        kpi_verdicts=[{"metric": "auc", "estimate": estimate, "ci_low": lower, "ci_high": upper,
                       "verdict": "met" if lower >= 0.9 else "not_met"}])
    session.add(row)
    session.flush()
    return row


def test_finished_evaluations_appear_with_their_intervals(session, world):
    device, version, maker = world["device"], world["version"], world["maker"]
    add_evaluation(session, device, version, maker.user_id, estimate=0.93, lower=0.91,
                   upper=0.95)
    add_evaluation(session, device, version, maker.user_id, estimate=0.5, lower=0.4, upper=0.6,
                   status=EvaluationStatus.failed)
    (summary,) = catalogue.catalogue_entry(session, "PUB-S")["evaluations"]
    assert summary == {
        "model_version": "1.0", "dataset_kind": "external", "site": "CHU Test", "metric": "auc",
        "estimate": 0.93, "lower": 0.91, "upper": 0.95, "level": 0.95, "method": "delong",
        "n": 812, "verdict": "met", "evaluated_at": summary["evaluated_at"]}
    card = exports.model_card(session, maker, version)
    assert card["key_metrics"]["usefulness_usability_efficacy"]["results"][0]["lower"] == 0.91


def test_evaluation_numbers_of_a_private_device_never_reach_public_answers(client, session,
                                                                          world):
    private = factories.DeviceFactory(code="PRIV-E", manufacturer_id=world["maker_org"].id)
    version = session.exec(select(ModelVersion).where(ModelVersion.device_id == private.id)).one()
    add_evaluation(session, private, version, world["maker"].user_id, estimate=0.8765,
                   lower=0.8123, upper=0.9321)
    for url in ("/catalogue", "/catalogue/PUB-S", "/api/v1/catalogue", "/exports/catalogue.json",
                "/api/v1/catalogue/changes", "/catalogue/feed.atom"):
        text = client.get(url).get_data(as_text=True)
        assert not any(n in text for n in ("0.8765", "0.8123", "0.9321", "PRIV-E")), url
    assert client.get("/api/v1/catalogue/PRIV-E").status_code == 404


def add_opinion(session, device, version, reviewer_org, signer_id, *, amends=None, **fields):
    submission = Submission(device_id=device.id, model_version_id=version.id,
                            reviewer_organisation_id=reviewer_org.id, kind=fields["kind"],
                            submitted_by=signer_id)
    session.add(submission)
    session.flush()
    opinion = Opinion(submission_id=submission.id, device_id=device.id,
                      model_version_id=version.id, reviewer_organisation_id=reviewer_org.id,
                      rationale="the reviewer's reasoning, not for the catalogue",
                      amends_id=amends, signer_id=signer_id, signer_name="R", signer_email="r@x",
                      signed_at=datetime.now(UTC), meaning="m", signed_content="{}",
                      content_hash="0" * 64, key_id="k", signature="s", **fields)
    session.add(opinion)
    session.flush()
    return opinion


def test_current_opinions_appear_and_an_amended_one_gives_way(session, world):
    device, version = world["device"], world["version"]
    has = factories.OrganisationFactory(kind="hta_agency", name="HAS test")
    body = factories.OrganisationFactory(kind="notified_body", name="NB 0000")
    reviewer = factories.actor_for(Role.reviewer, has.id)
    first = add_opinion(session, device, version, has, reviewer.user_id,
                        kind=OpinionKind.hta_opinion, service_attendu="insufficient",
                        favourable=False)
    add_opinion(session, device, version, has, reviewer.user_id, amends=first.id,
                kind=OpinionKind.hta_opinion, service_attendu="sufficient", asa="III",
                favourable=True)
    add_opinion(session, device, version, body, reviewer.user_id, kind=OpinionKind.nb_decision,
                decision="granted_with_conditions", certificate_number="NB-42",
                favourable=True)
    opinions = catalogue.catalogue_entry(session, "PUB-S")["opinions"]
    assert [(o["reviewer"], o["summary"], o["favourable"]) for o in opinions] == [
        ("NB 0000", "certificate granted with conditions (NB-42)", True),
        ("HAS test", "service attendu sufficient, ASA III", True)]
    assert "reasoning" not in str(opinions)


def add_alert(session, device, deployment, status=AlertStatus.open):
    artifact = Artifact(sha256="1" * 64, size_bytes=1, filename="b.csv",
                        organisation_id=deployment.hospital_id,
                        uploaded_by=factories.UserFactory(role=Role.hospital).id)
    session.add(artifact)
    session.flush()
    batch = MonitoringBatch(deployment_id=deployment.id, device_id=device.id,
                            artifact_id=artifact.id)
    session.add(batch)
    session.flush()
    alert = MonitoringAlert(deployment_id=deployment.id, device_id=device.id, rule_id="drift",
                            dedup_key=f"drift-{status}", kind="drift_share_above", severity="high",
                            subject="age", message="patient-level detail", status=status,
                            first_batch_id=batch.id, last_batch_id=batch.id)
    session.add(alert)
    session.flush()
    return alert


def test_open_alerts_and_incidents_are_public_notices_without_their_text(session, world):
    device, deployment, maker = world["device"], world["deployment"], world["maker"]
    add_alert(session, device, deployment)
    add_alert(session, device, deployment, status=AlertStatus.resolved)
    incident = incidents.report_incident(session, maker, "PUB-S", IncidentIn(
        title="Missed LVO at CHU Test", description="patient details here", serious=True,
        category="mdr_other_serious_incident", severity="high", deployment_id=deployment.id,
        awareness_at=datetime.now(UTC) - timedelta(days=1)))
    notices = catalogue.catalogue_entry(session, "PUB-S")["safety_notices"]
    assert [(n["kind"], n["severity"], n["summary"]) for n in notices] == [
        ("alert", "high", "input data drifting from the reference"),
        ("incident", "high", "serious incident under investigation")]
    assert "patient" not in str(notices) and "Missed" not in str(notices)
    incident.status = IncidentStatus.closed
    session.add(incident)
    session.flush()
    assert [n["kind"] for n in catalogue_sources.safety_notices(session, device)] == ["alert"]


def test_national_view_counts_overdue_serious_incidents_by_region_and_site(session, world):
    device, deployment, maker = world["device"], world["deployment"], world["maker"]
    add_alert(session, device, deployment)
    # MDR "other serious incident": 15 days from awareness; 20 days ago is overdue.
    for days, serious in ((20, True), (1, True), (20, False)):
        incidents.report_incident(session, maker, "PUB-S", IncidentIn(
            title="late report", serious=serious, severity="high", deployment_id=deployment.id,
            category="mdr_other_serious_incident" if serious else None,
            awareness_at=datetime.now(UTC) - timedelta(days=days)))
    incidents.report_incident(session, maker, "PUB-S", IncidentIn(
        title="no site", awareness_at=datetime.now(UTC)))
    view = national.national_view(session, factories.actor_for(Role.authority))
    # Independent tally from the incident rows themselves.
    overdue = [i for i in session.exec(select(Incident)) if i.serious
               and i.status is IncidentStatus.open and i.deadline_at < datetime.now(UTC)]
    assert len(overdue) == 1
    assert view["safety_by_place"] == [
        {"region": "Grand Est", "site": "CHU Test, main site", "open_alerts": 1,
         "open_incidents": 3, "overdue_incidents": 1},
        {"region": "", "site": "not tied to a site", "open_alerts": 0, "open_incidents": 1,
         "overdue_incidents": 0}]


def test_footprint_totals_add_up_and_leave_inference_declarations_out(session, world):
    device = world["device"]
    rows = [(Phase.training, 2.0, 0.1), (Phase.validation, 0.25, 0.0125),
            (Phase.monitoring, 0.5, 0.03), (Phase.inference, 40.0, 2.0)]
    for phase, kwh, kg in rows:
        session.add(EnergyRecord(phase=phase, source=FootprintSource.declared, energy_kwh=kwh,
                                 emissions_kg=kg, device_id=device.id,
                                 predictions=1000 if phase is Phase.inference else None))
    session.flush()
    totals = national.national_view(session, factories.actor_for(Role.admin))["footprint"]
    assert totals["available"] and totals["records"] == 3
    assert totals["energy_kwh"] == pytest.approx(2.75)
    assert totals["emissions_kg"] == pytest.approx(0.1425)
    assert totals["by_phase"]["validation"] == {"energy_kwh": 0.25, "emissions_kg": 0.0125}
    assert "inference" not in totals["by_phase"]


def test_manufacturer_turns_a_report_into_a_real_incident(session, world):
    report = catalogue.report_problem(session, "PUB-S", REPORT, "fp")
    done = catalogue.request_incident(session, world["maker"], report.id, IncidentRequestIn(
        note="confirmed by the site", serious=True, category="mdr_other_serious_incident",
        severity="high"))
    assert done.status is ProblemStatus.converted and done.incident_ref == "INC-PUB-S-001"
    incident = session.exec(select(Incident).where(Incident.reference == "INC-PUB-S-001")).one()
    assert incident.serious and incident.deadline_at == report.created_at + timedelta(days=15)
    assert incident.description == REPORT.description


def test_authority_request_is_recorded_then_the_manufacturer_converts_it(session, world):
    report = catalogue.report_problem(session, "PUB-S", REPORT, "fp")
    requested = catalogue.request_incident(session, factories.actor_for(Role.authority),
                                           report.id, IncidentRequestIn(note="please record"))
    assert requested.status is ProblemStatus.incident_requested
    assert session.exec(select(Incident)).all() == []
    done = catalogue.request_incident(session, world["maker"], report.id,
                                      IncidentRequestIn(note="recorded"))
    assert done.status is ProblemStatus.converted and done.incident_ref.startswith("INC-")


@pytest.mark.parametrize("fields, message", [
    ({"serious": True}, "needs its category"),
    ({"category": "aia_death"}, "for serious incidents only"),
    ({"severity": "apocalyptic"}, "severity"),
])
def test_incident_request_is_validated_like_an_incident(fields, message):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=message):
        IncidentRequestIn(note="n/a", **fields)
