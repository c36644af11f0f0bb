"""Liveness, readiness and metrics for operators and load balancers (issue #11).

``/healthz`` answers while the process serves requests; ``/readyz`` checks what a request needs
(database reachable and at the latest migration, artifact store writable, broker reachable when
configured) and answers 503 naming what is not; ``/metrics`` is the Prometheus text format.
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import nullcontext

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import text

from registry import db, storage
from registry.migrate import alembic_config

bp = Blueprint("ops", __name__)

REQUESTS = Counter("dmd_http_requests_total", "HTTP requests served",
                   ["method", "endpoint", "status"])
LATENCY = Histogram("dmd_http_request_seconds", "Time to answer an HTTP request",
                    ["method", "endpoint"],
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
# Paths polled by machines: counted, but kept out of the latency of real pages.
_QUIET = {"ops.healthz", "ops.readyz", "ops.metrics", "static"}


def instrument(app) -> None:
    @app.before_request
    def _start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _observe(response):
        endpoint = request.endpoint or "unmatched"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        if endpoint not in _QUIET and "started" in g:
            LATENCY.labels(request.method, endpoint).observe(time.perf_counter() - g.started)
        return response


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


def _check_database() -> str | None:
    database = db.get_database()
    # Tests bind the registry to one open connection; a server opens its own.
    opened = nullcontext(database.bind) if database.bind is not None else database.engine.connect()
    with opened as conn:
        conn.execute(text("SELECT 1"))
        current = MigrationContext.configure(conn).get_current_revision()
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current != head:
        return f"schema at {current or 'nothing'}, code expects {head}: run dmd-registry init-db"
    return None


def _check_artifacts() -> str | None:
    root = storage.get_store().root
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=root, prefix=".ready-"):
        pass
    return None


def _check_broker() -> str | None:
    settings = current_app.extensions["dmd"]["settings"]
    if not settings.broker_url:
        return None
    import redis

    client = redis.Redis.from_url(settings.broker_url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()
    return None


@bp.get("/readyz")
def readyz():
    checks = {}
    for name, check in (("database", _check_database), ("artifacts", _check_artifacts),
                        ("broker", _check_broker)):
        try:
            problem = check()
        except Exception as exc:  # any failure means "not ready"; say which and why
            problem = f"{type(exc).__name__}: {exc}"
        checks[name] = problem or "ok"
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


@bp.get("/metrics")
def metrics():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Several gunicorn workers: add up what every worker wrote to the shared folder.
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)
