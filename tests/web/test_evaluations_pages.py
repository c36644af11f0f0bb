"""Evaluation pages (#4) in Chromium: upload validation results on a model version's page, see the
refusal of a file with identifiers, then the evaluated report with its four charts drawn."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from registry import db
from registry.auth import Actor
from registry.models import User
from registry.schemas import ModelVersionIn
from registry.services import devices
from tests.registry.test_evaluations import validation_csv
from tests.web.test_journey import sign_in

pytestmark = pytest.mark.browser


def _add_version(tmp_path, registry_server) -> None:
    # The server's own SQLite file: register a version as its manufacturer would via the API.
    database = db.Database(f"sqlite:///{tmp_path / 'registry.db'}")
    with database.unit_of_work() as session:
        user = session.exec(select(User).where(
            User.email == registry_server.manufacturer_email)).one()
        devices.create_model_version(session, Actor.from_user(user), registry_server.s1_device,
                                     ModelVersionIn(version="1.0.0", change_type="initial"))
    database.engine.dispose()


def _fill_mapping(page: Page) -> None:
    page.get_by_label("Dataset kind").select_option("external")
    page.get_by_label("Site(s) the data come from").fill("Lyon and Nantes")
    page.get_by_label("Reference standard column").fill("truth")
    page.get_by_label("Score column (binary, risk)").fill("p")
    page.get_by_label("Positive label (binary)").fill("1")
    page.get_by_label("Operating threshold (binary)").fill("0.5")
    page.get_by_label("Subgroup columns (comma separated)").fill("sex")
    page.get_by_label("Site column").fill("centre")


def test_manufacturer_uploads_results_and_sees_the_report_with_charts(page: Page, tmp_path,
                                                                     registry_server):
    _add_version(tmp_path, registry_server)
    base, code = registry_server.url, registry_server.s1_device
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The refused upload answers 422, which the console reports; script errors are what count.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and "status of 422" not in m.text else None)
    sign_in(page, base, registry_server.manufacturer_email, registry_server.password)
    page.goto(f"{base}/devices/{code}")
    panel = page.get_by_role("region", name="Evaluations")
    expect(panel).to_contain_text("No validation results uploaded yet")
    panel.get_by_role("link", name="1.0.0").click()
    expect(page.get_by_role("heading", name="Upload validation results")).to_be_visible()

    # A file with e-mail addresses is refused, naming the column; nothing is listed.
    _fill_mapping(page)
    page.get_by_label("Validation file").set_input_files(files=[{
        "name": "with-emails.csv", "mimeType": "text/csv",
        "buffer": validation_csv(rows=300, contact="someone@example.org")}])
    page.get_by_role("button", name="Upload and evaluate").click()
    expect(page.get_by_role("alert")).to_contain_text("column 'contact' holds e-mail addresses")
    expect(page.get_by_text("No validation results uploaded for this version.")).to_be_visible()

    _fill_mapping(page)
    page.get_by_label("Validation file").set_input_files(files=[{
        "name": "external.csv", "mimeType": "text/csv", "buffer": validation_csv(rows=600)}])
    page.get_by_role("button", name="Upload and evaluate").click()
    expect(page.get_by_role("status").first).to_contain_text("external.csv stored")
    # The in-process job runs after the commit; the page shows the report once it is done.
    for _ in range(40):
        if page.get_by_role("table", name="KPI verdicts").count():
            break
        page.wait_for_timeout(250)
        page.reload()
    verdicts = page.get_by_role("table", name="KPI verdicts")
    expect(verdicts).to_contain_text("sensitivity >= 0.9")
    expect(verdicts).to_contain_text("primary")
    expect(page.get_by_role("table", name="Metrics")).to_contain_text("delong")
    charts = page.locator("figure.chart")
    expect(charts).to_have_count(4)
    for label in ("ROC curve", "Calibration", "Subgroup and site forest plot", "Decision curve"):
        figure = page.get_by_role("img", name=label)
        expect(figure.locator(".main-svg").first).to_be_attached(timeout=15000)
    expect(page.locator(".plotly-chart .scatterlayer .trace").first).to_be_attached()
    assert errors == []

    page.goto(f"{base}/devices/{code}")
    expect(page.get_by_role("region", name="Evaluations")).to_contain_text("external")
    expect(page.get_by_role("region", name="Evaluations")).to_contain_text("done")
