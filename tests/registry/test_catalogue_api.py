"""The catalogue over HTTP: public pages and API, nothing unpublished leaking, problem+json errors,
the national and use-case endpoints, FHIR and the OpenAPI document."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from fhir.resources.devicedefinition import DeviceDefinition

from registry.models import Role, Stage
from registry.schemas import TokenIn
from registry.services import catalogue, devices, organisations
from tests import factories

# Distinctive strings of the private device: none may appear in any public answer.
SECRETS = ["SECRET-7Q", "Zanzibar Hidden", "0.4242", "hidden indication 9931"]


@pytest.fixture
def world(session):
    maker = factories.OrganisationFactory(name="Opaline Test SAS")
    factories.DeviceFactory(code="PUB-1", name="Lumen Public", manufacturer_id=maker.id,
                            is_published=True, stage=Stage.S7_POSTMARKET, udi_di="0376000001")
    factories.DeviceFactory(code="SECRET-7Q", name="Zanzibar Hidden", manufacturer_id=maker.id,
                            intended_purpose="confidential purpose 0.4242",
                            medical_indication="hidden indication 9931")
    return {"maker": maker}


def bearer(session, role, organisation_id=None):
    actor = factories.actor_for(role, organisation_id)
    clear, _ = organisations.create_token(session, actor, TokenIn(name="t"),
                                          default_lifetime_days=1)
    session.flush()
    return {"Authorization": f"Bearer {clear}"}, actor


PUBLIC_URLS = [
    "/catalogue", "/catalogue?q=zanzibar", "/catalogue?theme=TECH_PLATFORM", "/catalogue/PUB-1",
    "/catalogue/feed.atom", "/exports/catalogue.csv", "/exports/catalogue.json",
    "/exports/devices.csv", "/api/v1/catalogue", "/api/v1/catalogue/PUB-1",
    "/api/v1/catalogue/changes", "/api/v1/catalogue/feed", "/api/v1/exports/catalogue?format=csv",
    "/api/v1/exports/devices?format=json", "/api/v1/devices/PUB-1/fhir",
    "/api/v1/devices/PUB-1/versions/1.0/model-card", "/api/v1/devices",
]
HIDDEN_URLS = [
    "/catalogue/SECRET-7Q", "/api/v1/catalogue/SECRET-7Q", "/api/v1/devices/SECRET-7Q/fhir",
    "/api/v1/devices/SECRET-7Q/versions/1.0/model-card",
]


def crawl(client) -> None:
    for url in PUBLIC_URLS:
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in text, f"{secret} leaked on {url}"
    for url in HIDDEN_URLS:
        response = client.get(url)
        assert response.status_code == 404, url
        assert not any(s in response.get_data(as_text=True) for s in SECRETS[1:]), url


def test_nothing_unpublished_appears_in_any_public_page_feed_or_api_answer(client, world,
                                                                           session):
    devices.set_published(session, factories.actor_for(Role.manufacturer, world["maker"].id),
                          "PUB-1", True)  # no-op: already published, but through the service
    crawl(client)
    response = client.post("/api/v1/catalogue/SECRET-7Q/problem-reports", json={
        "category": "safety", "reporter_kind": "patient",
        "description": "probing whether this device exists at all"})
    assert response.status_code == 404


def test_a_device_unpublished_after_publication_disappears_from_every_public_answer(
        client, world, session):
    maker = factories.actor_for(Role.manufacturer, world["maker"].id)
    devices.set_published(session, maker, "SECRET-7Q", True)
    assert client.get("/catalogue/SECRET-7Q").status_code == 200
    assert "SECRET-7Q" in client.get("/catalogue/feed.atom").get_data(as_text=True)
    devices.set_published(session, maker, "SECRET-7Q", False)
    crawl(client)


def test_catalogue_api_lists_filters_and_counts(client, world):
    response = client.get("/api/v1/catalogue?stage=S7_POSTMARKET")
    assert response.headers["X-Total-Count"] == "1"
    (entry,) = response.get_json()
    assert entry["code"] == "PUB-1" and entry["manufacturer"] == "Opaline Test SAS"
    assert "id" not in entry and "manufacturer_id" not in entry
    assert client.get("/api/v1/catalogue?stage=S1_NEEDS").get_json() == []
    bad = client.get("/api/v1/catalogue?stage=S9")
    assert bad.status_code == 422 and bad.headers["Content-Type"] == "application/problem+json"


def test_atom_feed_is_well_formed(client, world, session):
    maker = factories.actor_for(Role.manufacturer, world["maker"].id)
    devices.set_published(session, maker, "PUB-1", False)
    devices.set_published(session, maker, "PUB-1", True)
    response = client.get("/catalogue/feed.atom")
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    titles = [e.findtext("{http://www.w3.org/2005/Atom}title")
              for e in feed.iter("{http://www.w3.org/2005/Atom}entry")]
    assert titles == ["Lumen Public (PUB-1) added to the catalogue",
                      "Lumen Public (PUB-1) taken out of the catalogue"]


def test_problem_report_over_http(client, world, session):
    body = {"category": "performance", "reporter_kind": "professional",
            "description": "Scores were all zero during the afternoon session."}
    created = client.post("/api/v1/catalogue/PUB-1/problem-reports", json=body)
    assert created.status_code == 201
    receipt = created.get_json()
    assert receipt["reference"].startswith("PR-") and receipt["status"] == "open"
    short = client.post("/api/v1/catalogue/PUB-1/problem-reports",
                        json={**body, "description": "short"})
    assert short.status_code == 422
    assert short.get_json()["errors"][0]["pointer"] == "#/description"
    for _ in range(catalogue.REPORTS_PER_HOUR - 1):
        assert client.post("/api/v1/catalogue/PUB-1/problem-reports", json=body).status_code \
            == 201
    limited = client.post("/api/v1/catalogue/PUB-1/problem-reports", json=body)
    assert limited.status_code == 429
    assert limited.get_json()["type"] == "/problems/too-many-requests"

    headers, _ = bearer(session, Role.manufacturer, world["maker"].id)
    listed = client.get("/api/v1/problem-reports", headers=headers).get_json()
    assert len(listed) == catalogue.REPORTS_PER_HOUR and listed[0]["device_code"] == "PUB-1"
    report_id = listed[0]["id"]
    handled = client.post(f"/api/v1/problem-reports/{report_id}/handling", headers=headers,
                          json={"status": "acknowledged", "note": "looking into it"})
    assert handled.status_code == 200 and handled.get_json()["status"] == "acknowledged"
    incident = client.post(f"/api/v1/problem-reports/{report_id}/incident", headers=headers,
                           json={"note": "confirmed systematic failure", "serious": True,
                                 "category": "mdr_other_serious_incident"})
    assert incident.status_code == 200, incident.get_json()
    assert incident.get_json()["status"] == "converted"
    assert incident.get_json()["incident_ref"] == "INC-PUB-1-001"
    hospital, _ = bearer(session, Role.hospital)
    assert client.get("/api/v1/problem-reports", headers=hospital).status_code == 403


def test_public_report_form_needs_its_csrf_token(app, world):
    app.config["WTF_CSRF_ENABLED"] = True
    response = app.test_client().post("/catalogue/PUB-1/report", data={
        "category": "safety", "reporter_kind": "patient",
        "description": "A long enough description of the concern."})
    assert response.status_code == 400


def test_national_and_use_case_endpoints(client, world, session):
    headers, _ = bearer(session, Role.authority)
    view = client.get("/api/v1/national", headers=headers).get_json()
    tech = next(r for r in view["matrix"] if r["theme"] == "TECH_PLATFORM")
    assert tech["at"] == [1, 0, 0, 0, 0, 0, 1] and view["published"] == 1
    maker, _ = bearer(session, Role.manufacturer, world["maker"].id)
    assert client.get("/api/v1/national", headers=maker).status_code == 403

    created = client.post("/api/v1/use-cases", headers=headers, json={
        "code": "UC-1", "title": "Mammography screening", "theme": "TECH_PLATFORM",
        "device_code": "PUB-1"})
    assert created.status_code == 201 and created.get_json()["device_code"] == "PUB-1"
    scores = {"NEED": 5, "MATURITY": 5, "DATA": 5, "FEASIBILITY": 3, "FRAMEWORK_COST": 3,
              "DELAY": 5}
    scored = client.put("/api/v1/use-cases/UC-1/assessment", headers=headers, json={
        "scores": scores, "justifications": {k: "strategy grid" for k in scores}})
    assert scored.status_code == 200 and scored.get_json()["total"] == 26
    bad = client.put("/api/v1/use-cases/UC-1/assessment", headers=headers, json={
        "scores": {**scores, "NEED": 4}, "justifications": {k: "x" for k in scores}})
    assert bad.status_code == 422 and "#/scores/NEED" in bad.get_data(as_text=True)
    (row,) = client.get("/api/v1/use-cases/ranking", headers=headers).get_json()
    assert (row["rank"], row["total"], row["assessors"]) == (1, 26, 1)
    (one,) = client.get("/api/v1/use-cases/UC-1/assessments", headers=headers).get_json()
    assert one["scores"] == scores
    criteria = client.get("/api/v1/use-cases/criteria").get_json()
    assert [c["code"] for c in criteria] == list(scores)
    ranking_csv = client.get("/api/v1/exports/use-cases?format=csv", headers=headers)
    assert next(csv.DictReader(io.StringIO(ranking_csv.get_data(as_text=True))))["code"] == "UC-1"


def test_fhir_endpoint_serves_fhir_json_and_is_documented(client, world):
    response = client.get("/api/v1/devices/PUB-1/fhir")
    assert response.mimetype == "application/fhir+json"
    assert DeviceDefinition.model_validate(response.get_json()).id == "PUB-1"
    doc = client.get("/api/v1/openapi.json").get_json()
    assert "get" in doc["paths"]["/api/v1/devices/{code}/fhir"]
    assert "get" in doc["paths"]["/api/v1/catalogue"]
    assert doc["paths"]["/api/v1/catalogue/{code}/problem-reports"]["post"]["requestBody"]


def test_exports_are_downloads_with_a_file_name(client, world):
    response = client.get("/exports/catalogue.csv")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="catalogue-')
    assert response.get_data(as_text=True).splitlines()[0].startswith("code,name,manufacturer")
    assert client.get("/exports/catalogue.xml").status_code == 422
    assert client.get("/exports/use-cases.csv").status_code == 401


def test_device_page_shows_the_catalogue_panel_to_its_manufacturer(client, world, session):
    user = factories.UserFactory(role=Role.manufacturer, organisation_id=world["maker"].id)
    catalogue.report_problem(session, "PUB-1", catalogue.ProblemReportIn(
        category="other", reporter_kind="other",
        description="The leaflet does not say which scanners are supported."), "fp")
    signed = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert signed.status_code == 302
    page = client.get("/devices/PUB-1").get_data(as_text=True)
    assert "Public catalogue and exports" in page and "1 open problem report" in page
    assert "/api/v1/devices/PUB-1/versions/1.0/model-card" in page
    private = client.get("/devices/SECRET-7Q").get_data(as_text=True)
    assert "Not published" in private
    reports = client.get("/problem-reports").get_data(as_text=True)
    assert "leaflet does not say" in reports


def test_report_forms_of_the_web_pages(client, world, session):
    report = catalogue.report_problem(session, "PUB-1", catalogue.ProblemReportIn(
        category="safety", reporter_kind="patient",
        description="The app told me my scan was normal, the doctor said otherwise."), "fp")
    user = factories.UserFactory(role=Role.manufacturer, organisation_id=world["maker"].id)
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    refused = client.post(f"/problem-reports/{report.id}/incident", data={
        "note": "confirmed", "serious": "on"})
    assert refused.status_code == 422
    assert "needs its category" in refused.get_data(as_text=True)
    done = client.post(f"/problem-reports/{report.id}/incident", data={
        "note": "confirmed", "serious": "on", "category": "mdr_other_serious_incident",
        "severity": "high"}, follow_redirects=True)
    assert "became incident INC-PUB-1-001" in done.get_data(as_text=True)
    again = client.post(f"/problem-reports/{report.id}/handle", data={
        "status": "dismissed", "note": "too late"})
    assert again.status_code == 409 and "already converted" in again.get_data(as_text=True)
