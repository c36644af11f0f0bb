"""Statements and time of the monitoring overview for few and many deployments (#11).

Run from the repository root: ``.venv/bin/python -m bench.monitoring_overview [--sizes 5,200]``
(under a minute).

For each size, seeds a throwaway SQLite registry with that many deployments at one hospital (two
per device, half of them configured), each with four batches (three analysed, with a drift
share), an open alert and an open incident, then asks ``GET /monitoring`` (the web page, with
its drift chart across sites) and ``GET /api/v1/monitoring/deployments`` as the hospital: the
SQL statements of one request, and its time (best of 5). The smallest size is the baseline: the
statements must not grow with the number of deployments (the script exits non-zero when they
do); the time ratio is printed, since the rows shown still grow with it. Reading deployment by
deployment, as before #11, measured 68 -> 2210 statements (web) and 49 -> 1606 (API), 351 and
222 ms at 200; batched: 22 and 16 statements at both sizes, 87-109 ms and 32-41 ms at 200.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta

from bench.registry_app import empty_app

PASSWORD = "bench password 1"
TARGET_STATEMENT_RATIO = 1.0
PAGES = {"web /monitoring": "/monitoring", "api deployments": "/api/v1/monitoring/deployments"}


def _seed(database, n: int, password_hash: str) -> str:
    """``n`` deployments as described above; returns the hospital's clear API token."""
    from registry import auth
    from registry.models import (
        Artifact,
        ChangeType,
        Deployment,
        Device,
        ModelVersion,
        Organisation,
        OrganisationKind,
        Role,
        Theme,
        User,
        utcnow,
    )
    from registry.models.monitoring import (
        BatchStatus,
        Incident,
        MonitoringAlert,
        MonitoringBatch,
        MonitoringConfig,
    )

    with database.unit_of_work() as session:
        maker = Organisation(name="Bench maker", kind=OrganisationKind.manufacturer)
        hospital = Organisation(name="Bench hospital", kind=OrganisationKind.hospital)
        session.add_all([maker, hospital])
        session.flush()
        user = User(email="bench@example.org", name="Bench", password_hash=password_hash,
                    organisation_id=hospital.id, role=Role.hospital)
        session.add(user)
        session.flush()
        artifact = Artifact(sha256="0" * 64, size_bytes=1, filename="b.csv",
                            organisation_id=hospital.id, uploaded_by=user.id)
        session.add(artifact)
        session.flush()
        start = utcnow() - timedelta(days=30)
        for i in range(n):
            if i % 2 == 0:
                device = Device(code=f"BENCH-{i:04d}", name=f"Bench device {i}",
                                manufacturer_id=maker.id, theme=Theme.TECH_PLATFORM)
                session.add(device)
                session.flush()
                version = ModelVersion(device_id=device.id, version="1.0",
                                       change_type=ChangeType.initial)
                session.add(version)
                session.flush()
            deployment = Deployment(device_id=device.id, model_version_id=version.id,
                                    hospital_id=hospital.id, site=f"site {i}", status="live")
            session.add(deployment)
            session.flush()
            if i % 2 == 0:
                session.add(MonitoringConfig(deployment_id=deployment.id, created_by=user.id))
            for week in range(4):
                analysed = week < 3
                session.add(MonitoringBatch(
                    deployment_id=deployment.id, device_id=device.id, artifact_id=artifact.id,
                    received_at=start + timedelta(days=7 * week), row_count=100,
                    status=BatchStatus.done if analysed else BatchStatus.queued,
                    drift_share=(week + i % 3) / 10 if analysed else None))
            session.flush()
            session.add(MonitoringAlert(
                deployment_id=deployment.id, device_id=device.id, rule_id="drift",
                dedup_key="drift", kind="drift_share_above", severity="high", subject="age",
                first_batch_id=1, last_batch_id=1))
            session.add(Incident(device_id=device.id, deployment_id=deployment.id,
                                 reference=f"INC-{i}", title="odd output", severity="low",
                                 awareness_at=start, created_by=user.id,
                                 organisation_id=hospital.id))
        clear, token = auth.new_token(user, "bench", [auth.Permission.MONITORING_READ.value],
                                      timedelta(days=1))
        session.add(token)
    return clear


def _measure(client, engine, url: str, headers: dict, repeats: int = 5) -> tuple[int, float]:
    """(statements of one request, best time in seconds)."""
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    best = float("inf")
    for attempt in range(repeats + 1):  # the first request warms caches and is not timed
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        began = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = time.perf_counter() - began
        event.remove(engine, "before_cursor_execute", count)
        assert response.status_code == 200, (url, response.status_code, response.data[:300])
        if attempt:
            best = min(best, elapsed)
    return len(statements), best


def run(n: int, password_hash: str) -> dict[str, tuple[int, float]]:
    app = empty_app("monitoring-overview")
    app.config["WTF_CSRF_ENABLED"] = False  # the bench signs in with a plain form post
    database = app.extensions["dmd"]["database"]
    token = _seed(database, n, password_hash)
    client = app.test_client()
    login = client.post("/login", data={"email": "bench@example.org", "password": PASSWORD})
    assert login.status_code == 302, login.status_code
    return {name: _measure(client, database.engine, page,
                           {"Authorization": f"Bearer {token}"} if "/api/" in page else {})
            for name, page in PAGES.items()}


def main() -> int:
    from registry import auth

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5,200",
                        help="numbers of deployments, the first one the baseline (default 5,200)")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    password_hash = auth.hash_password(PASSWORD)
    results = {n: run(n, password_hash) for n in sizes}
    baseline = results[sizes[0]]
    failed = False
    for name in PAGES:
        few, few_time = baseline[name]
        for n in sizes:
            statements, seconds = results[n][name]
            ratio = statements / few
            failed |= ratio > TARGET_STATEMENT_RATIO
            print(f"{name:16} {n:5} deployments: {statements:5} statements "
                  f"(x{ratio:.2f}, target <= {TARGET_STATEMENT_RATIO:g}), "
                  f"{seconds * 1000:8.1f} ms (x{seconds / few_time:.2f})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
