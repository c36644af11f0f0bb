"""Dossiers (#9) in Chromium: build from the device page, download the sealed PDF, verify it on
the public page, and see a tampered copy refused with the failed check named."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from registry import signing
from reports import integrity
from tests.web.test_journey import sign_in

pytestmark = pytest.mark.browser


def test_manufacturer_builds_downloads_and_anyone_verifies(page: Page, registry_server,
                                                            tmp_path):
    base, code = registry_server.url, registry_server.s1_device
    sign_in(page, base, registry_server.manufacturer_email, registry_server.password)
    page.goto(f"{base}/devices/{code}")
    panel = page.get_by_role("region", name="Dossiers")
    expect(panel).to_contain_text("No dossier issued yet")
    panel.get_by_role("button", name="Build a dossier now").click()
    expect(page.get_by_role("status")).to_contain_text("Building the dossier")
    # The job runs in the server's own thread; reload until it has issued the PDF.
    link = page.get_by_role("region", name="Dossiers").get_by_role("link", name="Download PDF")
    for _ in range(60):
        if link.count():
            break
        page.wait_for_timeout(2000)
        page.reload()
    with page.expect_download() as download:
        link.click()
    pdf_path = tmp_path / "dossier.pdf"
    download.value.save_as(pdf_path)
    pdf = pdf_path.read_bytes()
    published = signing.load_or_create(tmp_path / "signing_key.pem").public_pem
    result = integrity.verify_pdf(pdf, published)
    assert result.ok, result.failures
    sha = integrity.sha256(pdf)
    expect(page.get_by_role("region", name="Dossiers")).to_contain_text(sha[:16])

    page.context.clear_cookies()  # verification needs no account
    page.goto(f"{base}/dossiers/verify")
    page.get_by_label("Dossier (PDF)").set_input_files(str(pdf_path))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("is authentic and unchanged")
    expect(page.get_by_role("table")).to_contain_text("the file matches it")

    tampered = bytearray(pdf)
    tampered[len(tampered) // 2] ^= 0x01
    bad = tmp_path / "tampered.pdf"
    bad.write_bytes(bytes(tampered))
    page.get_by_label("Dossier (PDF)").set_input_files(str(bad))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", level=2)).to_contain_text("Verification FAILED")
    expect(page.get_by_role("row", name="PAdES signature")).to_contain_text("FAILED")
