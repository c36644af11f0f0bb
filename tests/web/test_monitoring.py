"""A hospital uploads a drifted batch in the browser and sees the alert it raised (Chromium)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from registry import db
from registry.auth import Actor
from registry.models import Organisation, User
from registry.schemas import DeploymentIn, ModelVersionIn
from registry.schemas.monitoring import MonitoringConfigIn
from registry.services import artifacts, devices
from registry.services import monitoring as service
from tests.registry.test_monitoring import RULES, SCHEMA, csv_bytes, make_frame

pytestmark = pytest.mark.browser


def _deploy_with_monitoring(registry) -> int:
    """The seeded device, deployed at the seeded hospital, its monitoring configured."""
    with db.unit_of_work() as session:
        maker = Actor.from_user(session.exec(select(User).where(
            User.email == registry.manufacturer_email)).one())
        hospital = session.exec(select(User).where(User.email == registry.hospital_email)).one()
        version = devices.create_model_version(session, maker, registry.s1_device,
                                               ModelVersionIn(version="1.0",
                                                              change_type="initial"))
        deployment = devices.create_deployment(session, maker, registry.s1_device, DeploymentIn(
            model_version_id=version.id, hospital_id=hospital.organisation_id,
            site="Cardiology, building B", status="live",
            go_live_at=datetime(2026, 3, 1, tzinfo=UTC)))
        session.flush()
        reference = artifacts.upload_artifact(session, maker, io.BytesIO(csv_bytes(
            make_frame(400, seed=1))), "validation.csv", "text/csv")
        service.configure_monitoring(session, maker, deployment.id, MonitoringConfigIn(
            batch_schema=SCHEMA, reference_artifact_id=reference.id, rules=RULES,
            subgroup_columns=["sex"]))
        assert session.get(Organisation, hospital.organisation_id) is not None
        return deployment.id


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def test_hospital_uploads_a_drifted_batch_and_acknowledges_the_alert(page: Page,
                                                                     registry_server) -> None:
    _deploy_with_monitoring(registry_server)
    base = registry_server.url
    sign_in(page, base, registry_server.hospital_email, registry_server.password)

    page.get_by_role("link", name="Monitoring", exact=True).click()
    deployments = page.get_by_role("table", name="Deployments")
    expect(deployments).to_contain_text("Cardiology, building B")
    expect(deployments).to_contain_text("OK")
    deployments.get_by_role("link", name="Cardiology, building B").click()
    expect(page.get_by_text("No alert raised.")).to_be_visible()

    # Older patients than at validation: the age distribution has moved.
    page.get_by_label("Batch file (CSV or Parquet)").set_input_files({
        "name": "week-12.csv", "mimeType": "text/csv",
        "buffer": csv_bytes(make_frame(300, seed=3, age_shift=12))})
    page.get_by_role("button", name="Upload batch").click()
    expect(page.get_by_role("status")).to_contain_text("received and analysed")

    alerts = page.get_by_role("table", name="Alerts")
    expect(alerts).to_contain_text("drift-share")
    expect(alerts).to_contain_text("key feature 'age' drifted")
    expect(page.locator(".subtitle .postmarket")).to_have_text("Action needed")
    expect(page.get_by_role("table", name="Batch history")).to_contain_text("age")
    segments = page.get_by_role("table", name="Segments")
    expect(segments.get_by_role("row").filter(has_text="sex=F")).to_contain_text("age")
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox")) \
        .to_contain_text("2")

    # The device list shows the move too.
    page.get_by_role("link", name="Devices", exact=True).click()
    expect(page.get_by_role("row").filter(has_text=registry_server.s1_device)) \
        .to_contain_text("Action needed")
    page.go_back()

    row = alerts.get_by_role("row").filter(has_text="drift-share")
    row.get_by_label("Comment").fill("radiology checks the referral change")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_contain_text("acknowledged")
    expect(alerts.get_by_role("row").filter(has_text="drift-share")) \
        .to_contain_text("radiology checks the referral change")

    # A serious incident known for three days is past its 2-day clock (MDR Art. 87(4)).
    page.get_by_text("Report an incident").click()
    page.get_by_label("Title").fill("Alert fatigue: a critical result was missed")
    page.get_by_label("Became aware at (UTC)").fill(
        (datetime.now(UTC) - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Severity").select_option("critical")
    page.get_by_role("checkbox", name="Serious incident").check()
    page.get_by_label("Reporting trigger").select_option("mdr_public_health_threat")
    page.get_by_role("button", name="Record the incident").click()
    expect(page.get_by_role("status")).to_contain_text("recorded")
    incident = page.get_by_role("list", name="Incidents").get_by_role("listitem").first
    expect(incident).to_contain_text("overdue since")
    expect(incident).to_contain_text("MDR Art. 87(4)")
    incident.get_by_label("Comment").fill("sent to ANSM this morning")
    incident.get_by_role("button", name="Mark reported to the authority").click()
    expect(page.get_by_role("list", name="Incidents")).to_contain_text("reported")

    # A malformed file is refused with every problem named, and nothing is added.
    page.get_by_label("Batch file (CSV or Parquet)").set_input_files({
        "name": "bad.csv", "mimeType": "text/csv", "buffer": b"record_id,Age\nr1,70\n"})
    page.get_by_role("button", name="Upload batch").click()
    expect(page.get_by_role("status")).to_contain_text("did you mean 'Age'")
    expect(page.get_by_role("table", name="Batch history").locator("tbody tr")).to_have_count(1)
