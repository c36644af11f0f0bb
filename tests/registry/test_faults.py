"""Faults (#11) with real processes and signals: a web worker killed in the middle of an upload
leaves no row and, after the sweep, no file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from registry import db, migrate, signing
from registry.models import Artifact, AuditEvent, Role
from registry.schemas import TokenIn
from registry.services import organisations
from tests import factories
from tests.conftest import drop_database, fresh_database_url
from tests.registry.test_production_server import ROOT, _free_port, _get

pytestmark = pytest.mark.slow


def _upload(base: str, token: str, content: bytes) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"report.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").encode() + \
        content + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{base}/api/v1/artifacts", data=body, method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": f"multipart/form-data; "
                                                              f"boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")
    except (urllib.error.URLError, ConnectionError) as err:
        return 0, {"error": str(err)}


def _blobs(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and len(p.name) == 64]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def test_a_worker_killed_mid_upload_leaves_no_row_and_the_sweep_removes_its_file(
        db_kind, tmp_path):
    if db_kind != "postgresql":
        pytest.skip("needs a table lock to hold the upload between the file and its row; "
                    "SQLite's one write lock is taken before the file is written")
    name = f"dmd_fault_{uuid.uuid4().hex[:8]}"
    url = fresh_database_url(db_kind, tmp_path, name)
    migrate.upgrade(url)
    database = db.Database(url)
    signing.set_signer(signing.load_or_create(tmp_path / "signing_key.pem"))
    with database.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
        token, _ = organisations.create_token(s, maker, TokenIn(name="upload"),
                                              default_lifetime_days=1)
    port = _free_port()
    env = {**os.environ, "DMD_ENV": "prod", "DMD_SECRET_KEY": "x" * 40,
           "DMD_INSTANCE_DIR": str(tmp_path), "DMD_DATABASE_URL": url,
           "DMD_BIND": f"127.0.0.1:{port}", "DMD_WEB_WORKERS": "1",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c",
                               str(ROOT / "registry" / "gunicorn_conf.py"), "registry.wsgi:app"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base, artifacts = f"http://127.0.0.1:{port}", tmp_path / "artifacts"
    try:
        for _ in range(150):
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        lock = database.engine.connect()
        transaction = lock.begin()
        lock.execute(text("LOCK TABLE artifact IN ACCESS EXCLUSIVE MODE"))
        results = []
        upload = threading.Thread(target=lambda: results.append(
            _upload(base, token, b"%PDF-1.4 killed mid-upload " + os.urandom(4096))))
        upload.start()
        for _ in range(300):
            if _blobs(artifacts):
                break
            time.sleep(0.05)
        assert _blobs(artifacts), "the upload never reached the artifact store"
        (worker,) = _children(server.pid)
        os.kill(worker, signal.SIGKILL)
        upload.join(timeout=30)
        transaction.rollback()
        lock.close()
        assert results and results[0][0] in (0, 500, 502)  # the client saw the connection die

        with database.unit_of_work() as s:
            assert s.exec(select(Artifact)).all() == []
            assert s.exec(select(AuditEvent).where(AuditEvent.action == "artifact.upload")) \
                .all() == []
        orphans = _blobs(artifacts)
        assert len(orphans) == 1
        swept = subprocess.run([sys.executable, "-m", "registry.cli", "sweep-artifacts",
                                "--older-than-minutes", "0"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
        assert swept.returncode == 0, swept.stderr
        assert "1 orphan file(s) removed" in swept.stdout and _blobs(artifacts) == []

        # gunicorn replaced the worker; the registry still takes uploads.
        for _ in range(150):
            status, body = _upload(base, token, b"%PDF-1.4 after the crash")
            if status == 201:
                break
            time.sleep(0.2)
        assert status == 201, body
        assert [p.name for p in _blobs(artifacts)] == [body["sha256"]]
    finally:
        server.terminate()
        server.wait(timeout=30)
        database.engine.dispose()
        drop_database(db_kind, name)
