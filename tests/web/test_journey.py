"""User journeys through the web pages, in Debian's Chromium (style.md section 11, "Browser")."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

NEEDS_ANALYSIS = b"%PDF-1.4\n% needs analysis: burden, current pathway, gap\n"
FEASIBILITY = b"%PDF-1.4\n% feasibility: data, integration, regulatory route\n"


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def unmet_ids(page: Page):
    return page.get_by_role("list", name="Unmet requirements").locator(".item-id")


def upload_evidence(page: Page, gate_item: str, filename: str, content: bytes) -> None:
    page.get_by_label("Gate item", exact=True).select_option(gate_item)
    page.get_by_label("Document", exact=True).set_input_files(
        {"name": filename, "mimeType": "application/pdf", "buffer": content})
    page.get_by_role("button", name="Upload evidence").click()
    expect(page.get_by_role("status")).to_contain_text(f"attached as evidence for {gate_item}")


def test_manufacturer_satisfies_gate_g1_and_advances_device_to_data_stage(
    page: Page, registry_server
) -> None:
    base, code = registry_server.url, registry_server.s1_device
    sign_in(page, base, registry_server.manufacturer_email, registry_server.password)

    # The dashboard lists the device under S1 with its two unmet gate items.
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=code))
    expect(row).to_contain_text("2")
    row.get_by_role("link", name=code).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    expect(page.get_by_role("list", name="Lifecycle").locator("[aria-current=step]")) \
        .to_contain_text("S1_NEEDS")

    # Attempting the move is refused with 409 and names exactly the missing documents.
    page.get_by_role("link", name="Change stage").click()
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.get_by_role("button", name="Advance to S2_DATA").click()
    assert refused.value.status == 409
    expect(page.get_by_role("alert")).to_contain_text("2 requirement(s) of gate G1 are not met")
    expect(unmet_ids(page)).to_have_text(["G1.2", "G1.3"])

    upload_evidence(page, "G1.2", "needs-analysis.pdf", NEEDS_ANALYSIS)
    expect(unmet_ids(page)).to_have_text(["G1.3"])
    upload_evidence(page, "G1.3", "feasibility-note.pdf", FEASIBILITY)
    expect(unmet_ids(page)).to_have_count(0)
    expect(page.get_by_text("requirements of gate G1 are met")).to_be_visible()

    with page.expect_response(lambda r: r.request.method == "POST") as accepted:
        page.get_by_role("button", name="Advance to S2_DATA").click()
    assert accepted.value.status == 302
    expect(page.get_by_role("status")).to_have_text(f"{code} moved to S2_DATA.")
    expect(page.get_by_role("list", name="Lifecycle").locator("[aria-current=step]")) \
        .to_contain_text("S2_DATA")
    latest = page.get_by_role("table", name="Stage history").locator("tbody tr").first
    expect(latest).to_contain_text(re.compile(r"S1_NEEDS\s*→\s*S2_DATA\s*forward"))
    expect(latest).to_contain_text("Marie Maker")
    expect(latest).to_contain_text("G1.2")

    # The uploaded document is listed with its gate item and downloads byte for byte.
    link = page.get_by_role("table", name="Evidence").get_by_role("link",
                                                                   name="needs-analysis.pdf")
    download = page.request.get(base + link.get_attribute("href"))
    assert download.ok
    assert download.body() == NEEDS_ANALYSIS


def test_hospital_gets_404_on_private_device_of_a_manufacturer(
    page: Page, registry_server
) -> None:
    sign_in(page, registry_server.url, registry_server.hospital_email, registry_server.password)
    expect(page.get_by_text("No device is deployed at your sites yet.")).to_be_visible()

    response = page.goto(f"{registry_server.url}/devices/{registry_server.s1_device}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text(registry_server.s1_device, exact=False)).to_be_visible()
