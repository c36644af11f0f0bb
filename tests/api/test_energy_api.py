"""Energy API (#8): declare, import emissions.csv, read the footprint and the totals."""

from __future__ import annotations

import io

import pytest
from sqlmodel import select

from registry.models import ModelVersion, Role
from tests import factories
from tests.registry.test_energy import CSV


def _device(session):
    device = factories.DeviceFactory()
    version = session.exec(select(ModelVersion).where(ModelVersion.device_id == device.id)).one()
    return device, version


def test_declare_import_and_read_back(client, session, token_for):
    device, version = _device(session)
    headers, _ = token_for(Role.manufacturer, device.manufacturer_id)
    base = f"/api/v1/devices/{device.code}"
    response = client.post(f"{base}/versions/{version.id}/energy", headers=headers, json={
        "phase": "inference", "energy_kwh": 0.01, "emissions_kg": 0.0005, "predictions": 5000})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["per_1000_kwh"] == 0.002

    response = client.post(f"{base}/versions/{version.id}/energy/import", headers=headers,
                           data={"phase": "training",
                                 "file": (io.BytesIO(CSV.encode()), "emissions.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    assert [r["energy_kwh"] for r in response.get_json()] == [10.0, 5.0]

    footprint = client.get(f"{base}/energy", headers=headers).get_json()
    assert footprint["by_phase"]["training"] == {"energy_kwh": 15.0,
                                                 "emissions_kg": pytest.approx(0.84),
                                                 "records": 2}
    assert footprint["versions"][0]["inference_per_1000_kwh"] == 0.002
    records = client.get(f"{base}/energy/records", headers=headers).get_json()
    assert sorted(r["source"] for r in records) == ["declared", "imported", "imported"]
    totals = client.get(f"/api/v1/organisations/{device.manufacturer_id}/energy",
                        headers=headers).get_json()
    assert totals["total"]["energy_kwh"] == 15.0 and totals["devices"][0]["device"] == device.code


def test_bad_input_gets_a_problem_that_says_what_to_fix(client, session, token_for):
    device, version = _device(session)
    headers, _ = token_for(Role.manufacturer, device.manufacturer_id)
    url = f"/api/v1/devices/{device.code}/versions/{version.id}/energy"
    response = client.post(url, headers=headers, json={"phase": "inference", "energy_kwh": 1,
                                                       "emissions_kg": 0.1})
    assert response.status_code == 422 and "predictions" in response.get_json()["detail"]
    response = client.post(url, headers=headers, json={"phase": "training", "energy_kwh": -1,
                                                       "emissions_kg": 0.1})
    assert response.status_code == 422
    response = client.post(f"{url}/import", headers=headers, data={
        "phase": "training", "file": (io.BytesIO(b"timestamp,duration\n1,2\n"), "e.csv")},
        content_type="multipart/form-data")
    body = response.get_json()
    assert response.status_code == 422 and "missing required column" in body["detail"]
    response = client.post(f"{url}/import", headers=headers, data={"phase": "training"},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "field named 'file'" in response.get_json()["detail"]


def test_others_may_not_declare(client, session, token_for):
    device, version = _device(session)
    device.is_published = True
    session.add(device)
    session.flush()
    url = f"/api/v1/devices/{device.code}/versions/{version.id}/energy"
    figure = {"phase": "training", "energy_kwh": 1, "emissions_kg": 0.05}
    rival, _ = token_for(Role.manufacturer)
    assert client.post(url, headers=rival, json=figure).status_code == 403
    hospital, _ = token_for(Role.hospital)
    assert client.post(url, headers=hospital, json=figure).status_code == 403
    assert client.get(f"/api/v1/organisations/{device.manufacturer_id}/energy",
                      headers=rival).status_code == 403
