"""The evaluation API (#4): multipart upload, 202 with the job, the report served, problem
documents for bad files, 404/403 by visibility, and the purge command."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

from registry import db, jobs, storage
from registry.models import Role, Task, User
from registry.models.evaluations import Evaluation
from registry.schemas import TokenIn
from registry.services import devices, organisations
from tests import factories
from tests.registry.test_evaluations import rhythm_csv, validation_csv


@pytest.fixture
def token_for(session):
    def make(role, organisation_id=None):
        actor = factories.actor_for(role, organisation_id)
        clear, _ = organisations.create_token(session, actor, TokenIn(name="t"),
                                              default_lifetime_days=1)
        session.flush()
        return {"Authorization": f"Bearer {clear}"}, actor

    return make


FORM = {"dataset_kind": "external", "site": "Lyon", "label_column": "truth",
        "score_column": "p", "positive_label": "1", "threshold": "0.5",
        "group_columns": "sex", "site_column": "centre", "id_column": "case",
        "period_start": "2025-01-01", "period_end": "2025-06-30"}


def post(client, headers, code, version_id, data: bytes, filename="v.csv", **form):
    return client.post(f"/api/v1/devices/{code}/versions/{version_id}/evaluations",
                       headers=headers, content_type="multipart/form-data",
                       data={**FORM, **form, "file": (io.BytesIO(data), filename)})


def test_upload_is_queued_then_served_with_its_report(client, session, token_for):
    headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    version = devices.candidate_version(session, device)
    response = post(client, headers, device.code, version.id, validation_csv())
    assert response.status_code == 202, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == "queued" and body["job_id"]
    assert body["columns"]["groups"] == ["sex"] and body["period_end"] == "2025-06-30"
    jobs.get_runner().wait(body["job_id"])
    detail = client.get(response.headers["Location"], headers=headers).get_json()
    assert detail["status"] == "done"
    assert detail["results"]["metrics"]["auc"]["interval"]["method"] == "delong-logit"
    assert detail["kpi_verdicts"][0]["metric"] == "auc"
    listed = client.get(f"/api/v1/devices/{device.code}/evaluations", headers=headers)
    assert [e["id"] for e in listed.get_json()] == [body["id"]]
    assert "results" not in listed.get_json()[0]
    of_version = client.get(f"/api/v1/devices/{device.code}/versions/{version.id}/evaluations",
                            headers=headers).get_json()
    assert [e["id"] for e in of_version] == [body["id"]]
    job = client.get(f"/api/v1/jobs/{body['job_id']}", headers=headers).get_json()
    assert job["status"] == "succeeded" and job["result"]["status"] == "done"


def test_multiclass_calibration_is_served_by_the_api_and_the_version_page(client, session,
                                                                        token_for):
    headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id, task=Task.multiclass)
    version = devices.candidate_version(session, device)
    response = post(client, headers, device.code, version.id, rhythm_csv(), label_column="rhythm",
                    score_column="", positive_label="", threshold="", prediction_column="predicted",
                    class_score_columns="NSR=p_NSR, AF=p_AF, AFL=p_AFL",
                    group_columns=["sex", "", "centre"])
    assert response.status_code == 202, response.get_data(as_text=True)
    # A list field takes every part sent under its name; a blank part is not sent.
    assert response.get_json()["columns"]["groups"] == ["sex", "centre"]
    assert response.get_json()["columns"]["class_scores"] == {
        "NSR": "p_NSR", "AF": "p_AF", "AFL": "p_AFL"}
    jobs.get_runner().wait(response.get_json()["job_id"])
    results = client.get(response.headers["Location"], headers=headers).get_json()["results"]
    assert sorted(results["calibration"]["per_class"]) == ["AF", "AFL", "NSR"]
    assert results["metrics"]["classwise_ece"]["value"] == pytest.approx(sum(
        c["ece"]["value"] for c in results["calibration"]["per_class"].values()) / 3)
    # The version page: the per-class reliability chart and the table of each class's measures.
    user = session.get(User, maker.user_id)
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    page = client.get(f"/devices/{device.code}/versions/{version.version}").get_data(as_text=True)
    assert 'aria-label="Calibration by class: observed against predicted probability' in page
    assert 'aria-label="Calibration by class"' in page
    slope = results["calibration"]["per_class"]["AF"]["slope"]["value"]
    assert "<td>AF</td>" in page and f"{slope:.4g}" in page
    assert "Class probability columns (multiclass: label=column, ...)" in page


def test_bad_file_is_a_422_problem_and_stores_nothing(client, session, token_for):
    headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    version = devices.candidate_version(session, device)
    response = post(client, headers, device.code, version.id,
                    validation_csv(rows=200, secu="290092A00112312"))
    assert response.status_code == 422
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.get_json()
    assert "'secu'" in problem["detail"] and "NIR" in problem["detail"]
    assert problem["errors"][0]["pointer"] == "#/file"
    missing = client.post(f"/api/v1/devices/{device.code}/versions/{version.id}/evaluations",
                          headers=headers, data=FORM, content_type="multipart/form-data")
    assert missing.status_code == 422 and "'file'" in missing.get_json()["detail"]
    unmapped = post(client, headers, device.code, version.id, validation_csv(),
                    dataset_kind="elsewhere")
    assert unmapped.status_code == 422
    assert session.exec(select(Evaluation)).all() == []
    assert not any(p.is_file() for p in storage.get_store().root.rglob("*")) \
        if storage.get_store().root.exists() else True


def test_visibility_404_and_ownership_403(client, session, token_for):
    owner_headers, maker = token_for(Role.manufacturer)
    device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
    version = devices.candidate_version(session, device)
    other_headers, _ = token_for(Role.manufacturer)
    assert post(client, other_headers, device.code, version.id,
                validation_csv()).status_code == 404
    assert client.get(f"/api/v1/devices/{device.code}/evaluations",
                      headers=other_headers).status_code == 404
    device.is_published = True
    session.add(device)
    session.flush()
    assert post(client, other_headers, device.code, version.id,
                validation_csv()).status_code == 403
    assert client.get(f"/api/v1/devices/{device.code}/evaluations/999999",
                      headers=owner_headers).status_code == 404


def test_purge_command_deletes_old_raw_files(db_kind, tmp_path, monkeypatch):
    """``dmd-registry evaluations purge`` on its own database, as an operator runs it."""
    from registry.app import configure_runtime
    from registry.cli import main
    from registry.config import load_settings
    from registry.migrate import upgrade
    from tests.conftest import drop_database, fresh_database_url

    name = f"dmd_purge_{tmp_path.name[-8:]}".replace("-", "_")
    url = fresh_database_url(db_kind, tmp_path, name)
    saved = (db._current, storage._current, jobs._runner)
    database = None
    try:
        upgrade(url)
        for key, value in {"DMD_DATABASE_URL": url, "DMD_INSTANCE_DIR": str(tmp_path),
                           "DMD_ENV": "test", "DMD_RAW_RETENTION_DAYS": "30"}.items():
            monkeypatch.setenv(key, value)
        database = configure_runtime(load_settings())
        with database.unit_of_work() as s:
            factories.bind(s)
            maker = factories.actor_for(Role.manufacturer)
            device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
            old = factories.evaluation(s, maker, device, seed=1)
            factories.evaluation(s, maker, device, seed=2)
            old.created_at = datetime.now(UTC) - timedelta(days=31)
            s.add(old)
            old_id, sha = old.id, old.sha256
        assert storage.get_store().path_for(sha).exists()
        result = CliRunner().invoke(main, ["evaluations", "purge"])
        assert result.exit_code == 0, result.output
        assert f"1 raw validation file(s) older than 30 days deleted (evaluations {old_id})" \
            in result.output
        assert not storage.get_store().path_for(sha).exists()
        with db.unit_of_work() as s:
            kept = s.get(Evaluation, old_id)
            assert kept.artifact_id is None and kept.results["n"] == 400
            assert json.dumps(kept.kpi_verdicts)
    finally:
        # The command wired its own engine (as a real run would): close both before dropping.
        for wired in {db._current, database} - {None, saved[0]}:
            wired.engine.dispose()
        db._current, storage._current, jobs._runner = saved
        drop_database(db_kind, name)
