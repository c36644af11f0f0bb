"""CSV injection (#11): every CSV export served over HTTP neutralises cells a spreadsheet would
run as a formula (starting with = + - @, tab or carriage return), whoever typed them: a
manufacturer (device fields) or anyone from the public (problem reports)."""

from __future__ import annotations

import csv
import io

import pytest

from registry.models import Role
from tests import factories

STARTS = ["=", "+", "-", "@", "\t", "\r"]
HOSTILE = [f"{s}HYPERLINK(\"http://evil.example\",\"x\") {n}" for n, s in enumerate(STARTS)]


def _cells(body: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(body, newline="")) for cell in row]


@pytest.fixture
def hostile_registry(session, token_for):
    headers, maker = token_for(Role.manufacturer)
    for n, text in enumerate(HOSTILE):
        factories.DeviceFactory(manufacturer_id=maker.organisation_id, is_published=True,
                                name=text, intended_purpose=text, code=f"CSV-{n}")
    session.commit()
    return headers


def _assert_neutralised(body: str, where: str) -> None:
    cells = _cells(body)
    for text in HOSTILE:
        assert "'" + text in cells, f"{where}: {text!r} missing or not neutralised"
    live = [c for c in cells if c[:1] in STARTS]
    assert not live, f"{where}: cells a spreadsheet would run: {live[:5]}"


@pytest.mark.parametrize("url", ["/api/v1/exports/catalogue?format=csv",
                                 "/api/v1/exports/devices?format=csv",
                                 "/exports/catalogue.csv"])
def test_device_exports_neutralise_formulas(client, hostile_registry, url):
    response = client.get(url, headers=hostile_registry if url.startswith("/api/") else None)
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "text/csv"
    _assert_neutralised(response.get_data(as_text=True), url)


def test_problem_reports_from_the_public_are_exported_inert(client, session, hostile_registry,
                                                            token_for):
    for n, text in enumerate(HOSTILE):
        sent = client.post(f"/api/v1/catalogue/CSV-{n}/problem-reports", json={
            "category": "safety", "reporter_kind": "patient", "description": text},
            environ_base={"REMOTE_ADDR": f"192.0.2.{n + 1}"})  # one sender each (rate limit)
        assert sent.status_code == 201, sent.get_json()
    admin, _ = token_for(Role.admin)
    session.commit()
    response = client.get("/api/v1/exports/problem-reports?format=csv", headers=admin)
    assert response.status_code == 200, response.data[:300]
    _assert_neutralised(response.get_data(as_text=True), "problem-reports")
