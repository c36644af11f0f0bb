"""Operations (#11): health and readiness, Prometheus metrics, request ids, sign-in limits."""

from __future__ import annotations

import pytest

from registry import storage
from registry.models import Role
from registry.ratelimit import limiter
from tests import factories


@pytest.fixture(autouse=True)
def _forget_attempts():
    yield
    limiter.reset()  # the counters must not hold back sign-ins of later tests


def test_healthz_answers_without_touching_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_checks_database_schema_and_artifact_store(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {"database": "ok", "artifacts": "ok",
                                             "broker": "ok"}


def test_readyz_names_what_is_not_ready(client, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the artifact folder should be")
    storage.set_store(storage.ArtifactStore(blocker / "artifacts", 1024))
    response = client.get("/readyz")
    body = response.get_json()
    assert response.status_code == 503 and body["status"] == "not ready"
    assert body["checks"]["database"] == "ok" and body["checks"]["artifacts"] != "ok"


def test_metrics_count_requests_by_endpoint_and_status(client):
    client.get("/api/v1/devices")
    client.get("/api/v1/devices/NOPE-404")
    text = client.get("/metrics").get_data(as_text=True)
    assert "# TYPE dmd_http_requests_total counter" in text
    assert 'dmd_http_requests_total{endpoint="api.list_devices",method="GET",status="200"}' in text
    assert 'endpoint="api.get_device",method="GET",status="404"' in text
    assert 'dmd_http_request_seconds_bucket{endpoint="api.list_devices"' in text


def test_request_ids_are_echoed_only_when_plain(client):
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}) \
        .headers["X-Request-Id"] == "abc-123"
    forged = client.get("/healthz", headers={"X-Request-Id": 'x" level=ERROR msg="forged'})
    assert forged.headers["X-Request-Id"] != 'x" level=ERROR msg="forged'
    assert len(forged.headers["X-Request-Id"]) == 16


def test_password_guessing_is_rate_limited_per_account(client, session):
    factories.bind(session)
    user = factories.UserFactory(role=Role.manufacturer)
    statuses = [client.post("/login", data={"email": user.email, "password": "wrong"},
                            environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
                for i in range(12)]
    # Ten wrong passwords are answered, from any address; then the account is held back.
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    assert client.get("/login").status_code == 200  # the form itself is never limited


def test_password_guessing_is_rate_limited_per_address(client, session):
    factories.bind(session)
    statuses = [client.post("/login", data={"email": f"nobody{i}@example.org",
                                            "password": "wrong"}).status_code
                for i in range(11)]
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
