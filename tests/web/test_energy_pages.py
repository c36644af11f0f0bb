"""Energy pages (#8) in Chromium: declare and import footprints, see totals and a drawn chart."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from registry import db
from registry.auth import Actor
from registry.models import User
from registry.schemas import ModelVersionIn
from registry.services import devices
from tests.registry.test_energy import CSV
from tests.web.test_journey import sign_in

pytestmark = pytest.mark.browser


def _add_version(tmp_path, registry_server) -> None:
    # The server's own SQLite file: register a version as its manufacturer would via the API.
    database = db.Database(f"sqlite:///{tmp_path / 'registry.db'}")
    with database.unit_of_work() as session:
        user = session.exec(select(User).where(
            User.email == registry_server.manufacturer_email)).one()
        devices.create_model_version(session, Actor.from_user(user), registry_server.s1_device,
                                     ModelVersionIn(version="2.1.0", change_type="initial"))
    database.engine.dispose()


def test_manufacturer_declares_imports_and_sees_the_footprint(page: Page, registry_server,
                                                              tmp_path):
    _add_version(tmp_path, registry_server)
    base, code = registry_server.url, registry_server.s1_device
    sign_in(page, base, registry_server.manufacturer_email, registry_server.password)
    page.goto(f"{base}/devices/{code}")
    panel = page.get_by_role("region", name="Energy and carbon")
    expect(panel).to_contain_text("No footprint recorded yet")
    panel.get_by_role("link", name="Footprint page").click()
    expect(page.get_by_role("heading", name="Energy and carbon footprint")).to_be_visible()

    declare = page.get_by_role("region", name="Declare a training or inference footprint")
    declare.get_by_label("Model version").select_option(label="2.1.0")
    declare.get_by_label("Phase").select_option("inference")
    declare.get_by_label("Energy (kWh)").fill("0.003")
    declare.get_by_label("Emissions (kg CO2e)").fill("0.00017")
    declare.get_by_role("button", name="Declare").click()
    # Forgot the number of predictions: the form says what to fix and keeps the values.
    declare = page.get_by_role("region", name="Declare a training or inference footprint")
    expect(declare.get_by_role("alert")).to_contain_text("needs 'predictions'")
    expect(declare.get_by_label("Energy (kWh)")).to_have_value("0.003")
    declare.get_by_label("Model version").select_option(label="2.1.0")
    declare.get_by_label("Predictions (inference").fill("1000")
    declare.get_by_role("button", name="Declare").click()
    expect(page.get_by_role("status")).to_contain_text("Footprint declared")

    imports = page.get_by_role("region", name="Import a CodeCarbon emissions.csv")
    imports.get_by_label("Model version").select_option(label="2.1.0")
    imports.get_by_label("Phase").select_option("training")
    imports.get_by_label("emissions.csv").set_input_files(
        {"name": "emissions.csv", "mimeType": "text/csv", "buffer": CSV.encode()})
    imports.get_by_role("button", name="Import").click()
    expect(page.get_by_role("status")).to_contain_text("Imported 2 CodeCarbon run(s)")

    phases = page.get_by_role("region", name="By phase")
    expect(phases.get_by_role("row", name="Training (declared)")).to_contain_text("15.0 kWh")
    expect(phases.get_by_role("row", name="Total")).to_contain_text("840 g CO2e")
    versions = page.get_by_role("region", name="Model versions compared")
    expect(versions.get_by_role("row", name="2.1.0")).to_contain_text("3 Wh")
    # The chart is drawn by Plotly from the local bundle, under the page's strict CSP.
    expect(versions.locator(".plotly-chart svg.main-svg").first).to_be_visible()
    page.screenshot(path=str(tmp_path / "energy.png"), full_page=True)


def test_a_malformed_emissions_csv_is_explained_on_the_page(page: Page, registry_server,
                                                            tmp_path):
    _add_version(tmp_path, registry_server)
    base, code = registry_server.url, registry_server.s1_device
    sign_in(page, base, registry_server.manufacturer_email, registry_server.password)
    page.goto(f"{base}/devices/{code}/energy")
    imports = page.get_by_role("region", name="Import a CodeCarbon emissions.csv")
    imports.get_by_label("Model version").select_option(label="2.1.0")
    imports.get_by_label("Phase").select_option("training")
    imports.get_by_label("emissions.csv").set_input_files(
        {"name": "emissions.csv", "mimeType": "text/csv", "buffer": b"timestamp,duration\n1,2\n"})
    imports.get_by_role("button", name="Import").click()
    imports = page.get_by_role("region", name="Import a CodeCarbon emissions.csv")
    expect(imports.get_by_role("alert")).to_contain_text("missing required column")
    expect(page.get_by_role("region", name="Records")).to_contain_text("Nothing recorded yet")
