"""Hostile uploads (#11): truncated, huge, wrongly encoded and compressed files posing as CSV or
Parquet get a clear 4xx problem document and leave nothing behind (no rows, no stored files)."""

from __future__ import annotations

import gzip
import io
import zipfile

import pandas as pd
import pytest
from sqlmodel import func, select

from registry.models import Artifact, Job, Role, Stage
from registry.models.evaluations import Evaluation
from registry.models.monitoring import MonitoringBatch
from registry.schemas.monitoring import MonitoringConfigIn
from registry.services import artifacts, devices
from registry.services import monitoring as monitoring_service
from tests import factories

LIMIT = 64 * 1024  # max_upload_bytes of the test settings (tests/conftest.py)
HEADER = b"case,sex,centre,truth,p\n"
ROWS = b"".join(b"c%04d,F,Lyon,%d,0.%02d\n" % (i, i % 2, i % 100) for i in range(200))


def _parquet() -> bytes:
    out = io.BytesIO()
    pd.read_csv(io.BytesIO(HEADER + ROWS)).to_parquet(out)
    return out.getvalue()


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.csv", HEADER + b"0" * (50 * 1024 * 1024))
    return out.getvalue()


HOSTILE = {
    "truncated csv": (HEADER + ROWS)[: len(HEADER + ROWS) // 2] + b'c9999,"F',
    "truncated parquet": _parquet()[: len(_parquet()) // 2],
    "over the upload limit": HEADER + ROWS * (LIMIT // len(ROWS) + 1),
    "over the request limit": HEADER + b"x" * (LIMIT + 1024 * 1024 + 10),
    "utf-16 csv": (HEADER + ROWS).decode().encode("utf-16"),
    "binary noise": bytes(range(256)) * 40,
    "gzip bomb as csv": gzip.compress(HEADER + b"0" * (50 * 1024 * 1024)),
    "zip bomb as csv": _zip_bomb(),
}
HOSTILE_NAMES = {"truncated parquet": "v.parquet"}
TOO_LARGE = {"over the upload limit", "over the request limit"}


def _left_behind(session, store_root) -> tuple:
    counts = tuple(session.exec(select(func.count()).select_from(model)).one()
                   for model in (Artifact, Evaluation, MonitoringBatch, Job))
    files = sorted(p.name for p in store_root.rglob("*") if p.is_file()) \
        if store_root.exists() else []
    return counts, files


def _post(client, url: str, headers: dict, form: dict, data: bytes, filename: str):
    """A multipart body encoded here (the test client spools large forms to files it leaves
    open, which would hide whether the server closes what it opens)."""
    boundary = "hostile-boundary-7d1f"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
             .encode() for k, v in form.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                 f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                 .encode() + data + f"\r\n--{boundary}--\r\n".encode())
    return client.post(url, headers=headers, data=b"".join(parts),
                       content_type=f"multipart/form-data; boundary={boundary}")


def _assert_refused(response, case: str) -> None:
    assert 400 <= response.status_code < 500, (case, response.status_code,
                                                response.data[:300])
    assert response.headers["Content-Type"] == "application/problem+json", case
    problem = response.get_json()
    assert problem["detail"], case
    if case in TOO_LARGE:
        assert response.status_code == 413, (case, problem)


@pytest.fixture
def store_root(tmp_path):
    return tmp_path / "artifacts"


@pytest.fixture
def evaluation_target(session, token_for):
    headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    version = devices.candidate_version(session, device)
    session.commit()
    form = {"dataset_kind": "external", "site": "Lyon", "label_column": "truth",
            "score_column": "p", "positive_label": "1", "threshold": "0.5"}
    return f"/api/v1/devices/{device.code}/versions/{version.id}/evaluations", headers, form


@pytest.fixture
def monitoring_target(session, token_for):
    maker = factories.actor_for(Role.manufacturer)
    hospital_headers, hospital = token_for(Role.hospital)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id,
                                     stage=Stage.S7_POSTMARKET)
    deployment = factories.deploy(session, device, hospital.organisation_id)
    reference = artifacts.upload_artifact(session, maker, io.BytesIO(
        b"record_id,age,score\n" + b"".join(b"r%d,%d,0.%02d\n" % (i, 50 + i % 30, i % 100)
                                             for i in range(200))),
        "reference.csv", "text/csv")
    monitoring_service.configure_monitoring(session, maker, deployment.id, MonitoringConfigIn(
        batch_schema={"id_column": "record_id", "columns": [
            {"name": "record_id", "kind": "text"}, {"name": "age", "kind": "numeric"},
            {"name": "score", "kind": "numeric"}]},
        reference_artifact_id=reference.id,
        rules=[{"id": "drift", "kind": "drift_share_above", "severity": "high", "level": 0.3}]))
    session.commit()
    return f"/api/v1/deployments/{deployment.id}/batches", hospital_headers, {}


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.parametrize("target", ["evaluation_target", "monitoring_target"])
def test_table_uploads_refuse_hostile_files_and_keep_nothing(client, session, store_root,
                                                              request, target, case):
    url, headers, form = request.getfixturevalue(target)
    before = _left_behind(session, store_root)
    response = _post(client, url, headers, form, HOSTILE[case], HOSTILE_NAMES.get(case, "v.csv"))
    _assert_refused(response, case)
    assert _left_behind(session, store_root) == before, case


@pytest.mark.parametrize("case", sorted(TOO_LARGE))
def test_artifact_upload_refuses_huge_files_and_keeps_nothing(client, session, store_root,
                                                              token_for, case):
    headers, _ = token_for(Role.manufacturer)
    session.commit()
    before = _left_behind(session, store_root)
    response = _post(client, "/api/v1/artifacts", headers, {}, HOSTILE[case], "evidence.pdf")
    _assert_refused(response, case)
    assert _left_behind(session, store_root) == before


def test_artifact_upload_without_a_file_is_a_clear_422(client, session, token_for):
    headers, _ = token_for(Role.manufacturer)
    response = client.post("/api/v1/artifacts", headers=headers,
                           content_type="multipart/form-data", data={"other": "x"})
    assert response.status_code == 422
    assert "file" in response.get_json()["detail"]
