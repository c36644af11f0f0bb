"""The public catalogue, its change feed, problem reports and the national view (services, on the
real database)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlmodel import select

from registry.errors import ConflictError, NotFoundError, PermissionDeniedError
from registry.models import (
    Adaptivity,
    AuditEvent,
    Device,
    Role,
    Stage,
    Theme,
)
from registry.models.catalogue import ProblemReport, ProblemStatus
from registry.schemas import TransitionIn
from registry.schemas.catalogue import (
    CatalogueFilter,
    IncidentRequestIn,
    ProblemReportHandleIn,
    ProblemReportIn,
)
from registry.services import catalogue, devices, exports, national
from tests import factories

ATOM = "{http://www.w3.org/2005/Atom}"
REPORT = dict(category="performance", reporter_kind="professional",
              description="The score stayed at zero for every exam of the afternoon session.")


@pytest.fixture
def world(session):
    """A published device, a private one (distinctive name and numbers), two hospitals."""
    maker = factories.OrganisationFactory(name="Opaline Test SAS")
    public = factories.DeviceFactory(
        code="PUB-1", name="Lumen Public", manufacturer_id=maker.id, is_published=True,
        theme=Theme.TECH_PLATFORM, stage=Stage.S7_POSTMARKET, risk_class="IIb",
        ai_technique="deep learning (CNN)")
    private = factories.DeviceFactory(
        code="SECRET-7Q", name="Zanzibar Hidden", manufacturer_id=maker.id,
        theme=Theme.TECH_PLATFORM, stage=Stage.S4_VALIDATION,
        intended_purpose="confidential purpose 0.4242")
    hospitals = [factories.OrganisationFactory(kind="hospital") for _ in range(2)]
    for hospital in hospitals:
        factories.deploy(session, public, hospital.id)
    factories.deploy(session, private, hospitals[0].id)
    return {"maker": maker, "public": public, "private": private, "hospitals": hospitals,
            "manufacturer": factories.actor_for(Role.manufacturer, maker.id),
            "authority": factories.actor_for(Role.authority)}


def codes(found) -> list[str]:
    return [d.code for d in found]


# --- the catalogue ----------------------------------------------------------------------------


def test_catalogue_lists_only_published_devices_whoever_asks(session, world):
    page, total = catalogue.list_catalogue(session, CatalogueFilter())
    assert codes(page) == ["PUB-1"] and total == 1
    with pytest.raises(NotFoundError):
        catalogue.get_catalogue_device(session, "SECRET-7Q")
    entry = catalogue.catalogue_entry(session, "PUB-1")
    assert entry["manufacturer"] == "Opaline Test SAS"
    assert (entry["deployments"], entry["hospitals"]) == (2, 2)
    assert entry["versions"] == ["1.0"]


@pytest.mark.parametrize("filters, expected", [
    ({"theme": "TECH_PLATFORM"}, ["PUB-1", "PUB-3"]),
    ({"theme": "CARE"}, ["PUB-2"]),
    ({"stage": "S6_DEPLOYMENT"}, ["PUB-2"]),
    ({"risk_class": "IIa"}, ["PUB-2"]),
    ({"ai_technique": "Gradient"}, ["PUB-2"]),
    ({"adaptivity": "adaptive"}, ["PUB-3"]),
    ({"q": "lumen"}, ["PUB-1"]),
    ({"q": "zanzibar"}, []),
    ({"theme": "TECH_PLATFORM", "adaptivity": "locked"}, ["PUB-1"]),
])
def test_catalogue_filters(session, world, filters, expected):
    factories.DeviceFactory(code="PUB-2", name="Beta", theme=Theme.CARE, is_published=True,
                            stage=Stage.S6_DEPLOYMENT, risk_class="IIa",
                            ai_technique="gradient boosting")
    factories.DeviceFactory(code="PUB-3", name="Gamma", is_published=True,
                            adaptivity=Adaptivity.adaptive, ai_technique="Cox model")
    page, total = catalogue.list_catalogue(session, CatalogueFilter(**filters))
    assert sorted(codes(page)) == expected and total == len(expected)


def test_catalogue_filter_rejects_unknown_theme():
    with pytest.raises(ValidationError, match="theme"):
        CatalogueFilter(theme="ASTROLOGY")


def test_device_unpublished_after_publication_disappears_everywhere(session, world):
    maker = world["manufacturer"]
    devices.set_published(session, maker, "SECRET-7Q", True)
    assert "SECRET-7Q" in codes(catalogue.list_catalogue(session, CatalogueFilter())[0])
    assert any(c["code"] == "SECRET-7Q" for c in catalogue.catalogue_changes(session))

    devices.set_published(session, maker, "SECRET-7Q", False)
    assert codes(catalogue.list_catalogue(session, CatalogueFilter())[0]) == ["PUB-1"]
    with pytest.raises(NotFoundError):
        catalogue.catalogue_entry(session, "SECRET-7Q")
    changes = catalogue.catalogue_changes(session)
    assert "SECRET-7Q" not in json.dumps(changes, default=str)
    assert b"SECRET-7Q" not in exports.atom_feed(changes, "http://registry.test/")
    rows, _ = exports.list_rows(session, factories.actor_for(Role.hospital), "catalogue")
    assert [r["code"] for r in rows] == ["PUB-1"]


# --- the change feed --------------------------------------------------------------------------


def test_feed_lists_publication_and_stage_moves_while_published_newest_first(session):
    maker_org = factories.OrganisationFactory()
    maker = factories.actor_for(Role.manufacturer, maker_org.id)
    device = factories.DeviceFactory(manufacturer_id=maker_org.id, stage=Stage.S3_MODEL)
    # A move while private stays out of the feed; the later ones are public.
    devices.advance_stage(session, maker, device.code, TransitionIn(
        to_stage="S2_DATA", reason="new data source"))
    devices.set_published(session, maker, device.code, True)
    devices.advance_stage(session, maker, device.code, TransitionIn(
        to_stage="S1_NEEDS", reason="re-scoping"))
    devices.set_published(session, maker, device.code, False)
    devices.set_published(session, maker, device.code, True)

    changes = catalogue.catalogue_changes(session)
    assert [(c["kind"], c["stage"]) for c in changes] == [
        ("published", "S1_NEEDS"), ("unpublished", "S1_NEEDS"), ("stage", "S1_NEEDS"),
        ("published", "S2_DATA")]
    feed = ET.fromstring(exports.atom_feed(changes, "http://registry.test/"))
    entries = feed.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}title").text for e in entries] == [c["title"] for c in changes]
    assert entries[0].find(f"{ATOM}link").get("href") == \
        f"http://registry.test/catalogue/{device.code}"
    assert feed.find(f"{ATOM}updated").text.startswith(
        changes[0]["occurred_at"].isoformat()[:19])


# --- problem reports --------------------------------------------------------------------------


def test_anyone_reports_a_problem_on_a_published_device_and_the_audit_keeps_no_text(
        session, world):
    report = catalogue.report_problem(session, "PUB-1", ProblemReportIn(**REPORT), "fp-1")
    assert report.status is ProblemStatus.open and report.device_id == world["public"].id
    event = session.exec(select(AuditEvent).where(
        AuditEvent.action == "problem_report.create")).one()
    assert event.actor_email == "anonymous" and event.device_id == world["public"].id
    assert "afternoon" not in event.payload and "description_sha256" in event.payload


def test_problem_report_on_an_unpublished_device_is_not_found(session, world):
    with pytest.raises(NotFoundError):
        catalogue.report_problem(session, "SECRET-7Q", ProblemReportIn(**REPORT), "fp-1")
    assert session.exec(select(ProblemReport)).all() == []


@pytest.mark.parametrize("change, message", [
    ({"description": "too short"}, "at least 20 characters"),
    ({"contact": "not an address"}, "e-mail address"),
    ({"category": "gossip"}, "category"),
])
def test_problem_report_input_is_validated(change, message):
    with pytest.raises(ValidationError, match=message):
        ProblemReportIn(**{**REPORT, **change})


def test_problem_reports_are_rate_limited_per_sender_and_the_refusal_writes_nothing(
        session, world):
    for _ in range(catalogue.REPORTS_PER_HOUR):
        catalogue.report_problem(session, "PUB-1", ProblemReportIn(**REPORT), "fp-busy")
    events = len(session.exec(select(AuditEvent.id)).all())
    with pytest.raises(catalogue.TooManyReportsError):
        with session.begin_nested():
            catalogue.report_problem(session, "PUB-1", ProblemReportIn(**REPORT), "fp-busy")
    assert len(session.exec(select(ProblemReport)).all()) == catalogue.REPORTS_PER_HOUR
    assert len(session.exec(select(AuditEvent.id)).all()) == events
    # Another sender is not held back, and an hour later the first one may report again.
    catalogue.report_problem(session, "PUB-1", ProblemReportIn(**REPORT), "fp-other")
    for row in session.exec(select(ProblemReport).where(
            ProblemReport.client_fingerprint == "fp-busy")):
        row.created_at -= timedelta(minutes=61)
        session.add(row)
    catalogue.report_problem(session, "PUB-1", ProblemReportIn(**REPORT), "fp-busy")


def test_fingerprint_is_keyed_and_hides_the_address():
    first = catalogue.client_fingerprint("secret-a", "203.0.113.9")
    assert first == catalogue.client_fingerprint("secret-a", "203.0.113.9")
    assert first != catalogue.client_fingerprint("secret-b", "203.0.113.9")
    assert "203.0.113.9" not in first and len(first) == 64


def test_manufacturer_and_authority_see_reports_others_do_not(session, world):
    catalogue.report_problem(session, "PUB-1", ProblemReportIn(**REPORT), "fp")
    other = factories.DeviceFactory(code="OTHER-1", is_published=True)
    catalogue.report_problem(session, "OTHER-1", ProblemReportIn(**REPORT), "fp")

    def seen(actor):
        return sorted(d.code for _, d in catalogue.list_problem_reports(session, actor))

    assert seen(world["manufacturer"]) == ["PUB-1"]
    assert seen(factories.actor_for(Role.manufacturer, other.manufacturer_id)) == ["OTHER-1"]
    assert seen(world["authority"]) == ["OTHER-1", "PUB-1"]
    assert seen(factories.actor_for(Role.admin)) == ["OTHER-1", "PUB-1"]
    for role in (Role.hospital, Role.reviewer, Role.auditor):
        with pytest.raises(PermissionDeniedError):
            catalogue.list_problem_reports(session, factories.actor_for(role))
    report_of_other = catalogue.list_problem_reports(session, world["authority"])[0][0]
    with pytest.raises(NotFoundError):
        catalogue.get_problem_report(session, world["manufacturer"], report_of_other.id)


def test_report_is_acknowledged_then_becomes_an_incident_request_audited(session, world):
    report = catalogue.report_problem(session, "PUB-1", ProblemReportIn(**REPORT), "fp")
    maker = world["manufacturer"]
    catalogue.handle_problem_report(session, maker, report.id, ProblemReportHandleIn(
        status="acknowledged", note="checking the afternoon logs"))
    assert report.status is ProblemStatus.acknowledged and report.handled_by == maker.user_id
    done = catalogue.request_incident(session, world["authority"], report.id,
                                      IncidentRequestIn(note="possible systematic failure"))
    # An authority records no incident itself: the request waits for the manufacturer.
    assert done.status is ProblemStatus.incident_requested and done.incident_ref == ""
    actions = session.exec(select(AuditEvent.action).where(
        AuditEvent.object_type == "problem_report").order_by(AuditEvent.seq)).all()
    assert actions == ["problem_report.create", "problem_report.acknowledged",
                       "problem_report.incident"]


def test_a_dismissed_report_cannot_become_an_incident(session, world):
    report = catalogue.report_problem(session, "PUB-1", ProblemReportIn(**REPORT), "fp")
    catalogue.handle_problem_report(session, world["authority"], report.id,
                                    ProblemReportHandleIn(status="dismissed", note="duplicate"))
    with pytest.raises(ConflictError, match="already dismissed"):
        catalogue.request_incident(session, world["manufacturer"], report.id,
                                   IncidentRequestIn(note="reconsidered"))


def test_another_manufacturer_cannot_handle_the_report(session, world):
    report = catalogue.report_problem(session, "PUB-1", ProblemReportIn(**REPORT), "fp")
    stranger = factories.actor_for(Role.manufacturer)
    with pytest.raises(NotFoundError):
        catalogue.handle_problem_report(session, stranger, report.id, ProblemReportHandleIn(
            status="dismissed", note="not ours"))
    assert session.get(ProblemReport, report.id).status is ProblemStatus.open


# --- the national view ------------------------------------------------------------------------


def test_national_matrix_counts_every_device_by_theme_and_stage(session, world):
    placed = [(Theme.CARE, Stage.S1_NEEDS), (Theme.CARE, Stage.S1_NEEDS),
              (Theme.CARE, Stage.S5_REGULATORY), (Theme.ADMIN, Stage.S3_MODEL),
              (Theme.STEERING, Stage.S7_POSTMARKET)]
    for theme, stage in placed:
        factories.DeviceFactory(theme=theme, stage=stage)
    view = national.national_view(session, world["authority"])
    # Independent count: every device in the database, tallied in Python.
    tally = Counter((d.theme.value, d.stage.value) for d in session.exec(select(Device)))
    for row in view["matrix"]:
        assert row["at"] == [tally[(row["theme"], s)] for s in view["stages"]]
        assert row["reached"] == [sum(tally[(row["theme"], s)] for s in view["stages"][i:])
                                  for i in range(7)]
    care = next(r for r in view["matrix"] if r["theme"] == "CARE")
    assert care["at"][:5] == [2, 0, 0, 0, 1] and care["reached"][:2] == [3, 1]
    assert view["total"] == len(session.exec(select(Device)).all()) == 7
    assert view["published"] == 1
    assert sum(r["count"] for r in view["by_class_and_category"]) == 7


@pytest.mark.parametrize("role", [Role.manufacturer, Role.hospital, Role.reviewer,
                                  Role.auditor])
def test_national_view_is_for_authorities_and_admins(session, world, role):
    with pytest.raises(PermissionDeniedError):
        national.national_view(session, factories.actor_for(role))
    assert national.national_view(session, factories.actor_for(Role.admin))["total"] == 2


def test_a_withdrawn_published_device_says_so(session, world, client):
    devices.withdraw_device(session, world["manufacturer"], "PUB-1", "replaced by version 2")
    entry = catalogue.catalogue_entry(session, "PUB-1")
    assert entry["withdrawn_at"] is not None
    assert "withdrawn" in client.get("/catalogue/PUB-1").get_data(as_text=True)
