"""The production start (#11): gunicorn with several workers on loopback, real processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from registry import migrate

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), dict(err.headers)


@pytest.mark.slow
def test_gunicorn_workers_serve_ready_with_shared_metrics(tmp_path):
    url = f"sqlite:///{tmp_path / 'registry.db'}"
    migrate.upgrade(url)
    port = _free_port()
    env = {**os.environ, "DMD_ENV": "prod", "DMD_SECRET_KEY": "x" * 40,
           "DMD_INSTANCE_DIR": str(tmp_path), "DMD_DATABASE_URL": url,
           "DMD_BIND": f"127.0.0.1:{port}", "DMD_WEB_WORKERS": "2", "DMD_LOG_FORMAT": "json",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "registry" / "gunicorn_conf.py"),
         "registry.wsgi:app"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(server.stdout), daemon=True)
    reader.start()
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if _get(f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start")
        status, body, _ = _get(f"{base}/readyz")
        assert status == 200, body
        for _ in range(20):
            assert _get(f"{base}/api/v1/devices")[0] == 200
        status, metrics, _ = _get(f"{base}/metrics")
        # Twenty requests spread over two workers, counted together.
        line = next(x for x in metrics.splitlines() if x.startswith(
            'dmd_http_requests_total{endpoint="api.list_devices",method="GET",status="200"}'))
        assert float(line.split()[-1]) == 20
        _, _, headers = _get(f"{base}/login")
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
        # Stop only once both workers have loaded the app: a worker stopped while importing
        # prints gunicorn's boot traceback, which would hide a real one.
        for _ in range(300):
            if sum("Worker ready" in x for x in lines) >= 2:
                break
            time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=30)
        reader.join(timeout=10)
        server.stdout.close()
    output = "".join(lines)
    assert "Booting worker" in output
    assert output.count("Booting worker") >= 2
    assert "Traceback" not in output, output[output.find("Traceback") - 200:][:3000]
