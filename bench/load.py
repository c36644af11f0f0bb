"""Load on the production setup (#11): gunicorn workers on PostgreSQL, a Celery worker on Redis,
a registry of 10,000 devices, 50,000 model versions and 1,000,000 audit events.

    .venv/bin/python bench/load.py                               # the issue's run: 10 minutes
    .venv/bin/python bench/load.py --small --duration 60         # a quick one

The data is written with PostgreSQL COPY (service calls would take hours); the audit events form
a valid hash chain with signed checkpoints, checked with ``dmd-registry audit verify``.

Load is open-loop: every request has a time on a fixed schedule, and its latency is measured from
that time, so a slow server shows as queueing instead of as a lower request rate. wrk is not
installed here, and wrk cannot sign in, keep one session per stream or upload multipart files, so
the generator is Python threads over http.client keep-alive connections.

Each line reads ``name: value baseline ratio target``: the baseline is /healthz (a trivial
endpoint) measured in the same run. The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from types import SimpleNamespace

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry import audit, auth, migrate, signing  # noqa: E402
from registry.models import (  # noqa: E402
    ChangeType,
    Device,
    ModelVersion,
    Organisation,
    OrganisationKind,
    Role,
    Stage,
    Theme,
    User,
)

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DATABASE = "dmd_load"
REDIS = "redis://127.0.0.1:6379/7"
PASSWORD = "load-test-password-2026"
GUNICORN_ONLY = ("DMD_BIND", "DMD_WEB_WORKERS", "DMD_WEB_THREADS")  # read by gunicorn_conf.py
DEVICES_PER_MAKER = 50


# --- the registry ------------------------------------------------------------------------------


def _plain(value):
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _copy(cur, model, objects) -> None:
    """COPY model instances (with their ids) into the model's table."""
    columns = [c.name for c in model.__table__.columns]
    names = ", ".join(f'"{c}"' for c in columns)
    with cur.copy(f'COPY "{model.__tablename__}" ({names}) FROM STDIN') as copy:
        for obj in objects:
            copy.write_row([_plain(getattr(obj, c)) for c in columns])


def _audit_rows(events: int, devices: int, signer, start: datetime):
    """Yield (event row, checkpoint row or None): a valid chain, a checkpoint every 1000."""
    prev = audit.GENESIS
    actions = ("device.update", "version.register", "evidence.attach", "kpi.add")
    for seq in range(1, events + 1):
        device_id = (seq * 7919) % devices + 1
        event = SimpleNamespace(
            seq=seq, occurred_at=start + timedelta(milliseconds=seq), actor_id=None,
            actor_email="loader@load.example", actor_role="manufacturer", organisation_id=None,
            action=actions[seq % 4], object_type="device", object_id=str(device_id),
            device_id=device_id, reason="", prev_hash=prev,
            payload=audit.canonical_json({"field": "intended_purpose", "n": seq}))
        event.hash = prev = audit.event_hash(event)
        checkpoint = None
        if seq % audit.CHECKPOINT_EVERY_EVENTS == 0 or seq == events:
            checkpoint = (seq, seq, event.hash, event.occurred_at, signer.key_id,
                          signer.sign(audit.checkpoint_message(seq, seq, event.hash)))
        yield (seq, event.occurred_at, event.actor_id, event.actor_email, event.actor_role,
               event.organisation_id, event.action, event.object_type, event.object_id,
               event.device_id, event.reason, event.payload, event.prev_hash,
               event.hash), checkpoint


def build_registry(url: str, instance: Path, n_devices: int, n_versions: int,
                   n_events: int) -> dict:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    migrate.upgrade(url)
    signer = signing.load_or_create(instance / "signing_key.pem")
    password_hash = auth.hash_password(PASSWORD)
    now = datetime.now(UTC)
    makers = max(1, n_devices // DEVICES_PER_MAKER)
    orgs = [Organisation(id=1, name="Registry operator", kind=OrganisationKind.registry_operator),
            Organisation(id=2, name="Load hospital", kind=OrganisationKind.hospital)]
    orgs += [Organisation(id=3 + m, name=f"Maker {m:04d}", kind=OrganisationKind.manufacturer)
             for m in range(makers)]
    users = [User(id=1, email="admin@load.example", name="Admin", password_hash=password_hash,
                  organisation_id=1, role=Role.admin),
             User(id=2, email="hospital@load.example", name="Hospital", organisation_id=2,
                  password_hash=password_hash, role=Role.hospital)]
    users += [User(id=3 + m, email=f"maker{m}@load.example", name=f"Maker {m}",
                   password_hash=password_hash, organisation_id=3 + m, role=Role.manufacturer)
              for m in range(makers)]
    themes = list(Theme)
    devices = (Device(
        id=i, code=f"LD-{i:05d}", name=f"Load device {i:05d}", manufacturer_id=3 + (i - 1) % makers,
        intended_purpose="aid to detect a condition on chest images", theme=themes[i % len(themes)],
        medical_indication="condition X", target_population="adults", intended_users="radiologists",
        use_environment="hospital", risk_class="IIa", stage=Stage.S1_NEEDS, is_published=True,
        created_at=now, updated_at=now) for i in range(1, n_devices + 1))
    per_device = max(1, n_versions // n_devices)
    versions = (ModelVersion(
        id=(d - 1) * per_device + v + 1, device_id=d, version=f"{v + 1}.0",
        change_type=ChangeType.initial if v == 0 else ChangeType.none_model,
        model_card={"algorithm": "cnn"}, created_at=now)
        for d in range(1, n_devices + 1) for v in range(per_device))
    started = time.perf_counter()
    with psycopg.connect(url.replace("+psycopg", "")) as conn, conn.cursor() as cur:
        _copy(cur, Organisation, orgs)
        _copy(cur, User, users)
        _copy(cur, Device, devices)
        _copy(cur, ModelVersion, versions)
        checkpoints = []
        columns = ("seq, occurred_at, actor_id, actor_email, actor_role, organisation_id, action, "
                   "object_type, object_id, device_id, reason, payload, prev_hash, hash")
        with cur.copy(f"COPY audit_event ({columns}) FROM STDIN") as copy:
            for row, checkpoint in _audit_rows(n_events, n_devices, signer,
                                               now - timedelta(milliseconds=n_events + 60_000)):
                copy.write_row(row)
                if checkpoint:
                    checkpoints.append(checkpoint)
        with cur.copy("COPY audit_checkpoint (seq, count, head_hash, signed_at, key_id, "
                      "signature) FROM STDIN") as copy:
            for checkpoint in checkpoints:
                copy.write_row(checkpoint)
        for table in ("organisation", "user", "device", "model_version"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                        f"(SELECT max(id) FROM \"{table}\"))")
        conn.commit()
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        # Write out what the bulk load dirtied now, not in a checkpoint during the measurement.
        conn.execute("CHECKPOINT")
    return {"makers": makers, "seconds": time.perf_counter() - started,
            "versions": n_devices * per_device}


def prepare_live(settings, makers: int, writers: int, last_device: int) -> dict:
    """Tokens, and a deployment monitored for batch uploads: few rows, so through the services."""
    from sqlmodel import select

    from registry import db
    from registry.app import configure_runtime
    from registry.models import Deployment
    from registry.schemas import TokenIn
    from registry.schemas.monitoring import MonitoringConfigIn, UploadTokenIn
    from registry.services import artifacts, organisations
    from registry.services import monitoring as monitoring_service

    configure_runtime(settings)
    with db.unit_of_work() as session:
        admin = auth.Actor.from_user(session.get(User, 1))
        admin_token, _ = organisations.create_token(session, admin, TokenIn(name="load"), 1)
        writer_tokens = []
        for w in range(writers):
            maker = auth.Actor.from_user(session.get(User, 3 + w % makers))
            clear, _ = organisations.create_token(session, maker, TokenIn(name=f"w{w}"), 1)
            writer_tokens.append((clear, f"LD-{w % makers + 1:05d}"))  # one of its devices
        # The monitored device: the last one, moved to post-market and deployed at the hospital.
        device = session.get(Device, last_device)
        device.stage = Stage.S7_POSTMARKET
        maker = auth.Actor.from_user(session.get(User, device.manufacturer_id))
        hospital = auth.Actor.from_user(session.get(User, 2))
        version = session.exec(select(ModelVersion).where(
            ModelVersion.device_id == device.id)).first()
        deployment = Deployment(device_id=device.id, model_version_id=version.id, hospital_id=2,
                                site="main site")
        session.add(deployment)
        session.flush()
        reference = artifacts.upload_artifact(session, maker, io.BytesIO(_batch_csv(400, 1)),
                                              "validation.csv", "text/csv")
        monitoring_service.configure_monitoring(session, maker, deployment.id, MonitoringConfigIn(
            batch_schema=SCHEMA, reference_artifact_id=reference.id, rules=RULES))
        upload_token, _ = monitoring_service.create_upload_token(
            session, hospital, deployment.id, UploadTokenIn(), default_lifetime_days=1)
    return {"admin": admin_token, "writers": writer_tokens, "deployment": deployment.id,
            "upload": upload_token}


SCHEMA = {"id_column": "record_id", "columns": [
    {"name": "record_id", "kind": "text"}, {"name": "age", "kind": "numeric"},
    {"name": "sex", "kind": "categorical"}, {"name": "score", "kind": "numeric"}]}
RULES = [{"id": "drift-share", "kind": "drift_share_above", "severity": "high", "level": 0.3}]


def _batch_csv(rows: int, seed: int) -> bytes:
    rng = random.Random(seed)
    lines = ["record_id,age,sex,score"] + [
        f"r{i},{rng.gauss(60, 8):.1f},{rng.choice('FM')},{rng.betavariate(2, 5):.4f}"
        for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


# --- the servers ---------------------------------------------------------------------------------


def start_servers(env: dict, log: Path, celery: bool) -> list[subprocess.Popen]:
    out = open(log, "w")  # noqa: SIM115 (kept open while the servers run)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "registry/gunicorn_conf.py"),
         "--access-logfile", "/dev/null", "registry.wsgi:app"],
        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)]
    if celery:
        procs.append(subprocess.Popen(
            [str(ROOT / ".venv/bin/dmd-registry"), "worker", "--concurrency", "1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
        # Its start-up (imports) takes CPU for seconds: wait for it before measuring.
        for _ in range(300):
            if " ready." in log.read_text():
                break
            time.sleep(0.5)
    return procs


def wait_ready(host: str, port: int) -> None:
    for _ in range(300):
        try:
            conn = HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready (see the server log)")


def warm_up(host: str, port: int, paths: list[str], headers: dict) -> None:
    """Until every worker has booted (importing the app takes seconds), new connections land on
    whichever worker accepts; wait until 40 fresh connections in a row answer quickly."""
    quick, deadline = 0, time.monotonic() + 180
    while quick < 40 and time.monotonic() < deadline:
        for path in paths:
            conn = HTTPConnection(host, port, timeout=60)
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
            conn.close()
            quick = quick + 1 if time.perf_counter() - started < 0.5 else 0


def sign_in(host: str, port: int, email: str) -> str:
    conn = HTTPConnection(host, port, timeout=10)
    conn.request("GET", "/login")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";")[0]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    body = f"email={email}&password={PASSWORD}" + (f"&csrf_token={token.group(1)}" if token else "")
    conn.request("POST", "/login", body=body.replace("@", "%40"), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    response = conn.getresponse()
    response.read()
    if response.status != 302:
        raise SystemExit(f"sign-in failed: HTTP {response.status}")
    return response.getheader("Set-Cookie").split(";")[0]


# --- the load ------------------------------------------------------------------------------------


@dataclass
class Stream:
    """One kind of request sent at a constant rate by ``workers`` keep-alive connections."""

    name: str
    rate: float
    workers: int
    make: object  # (rng, worker) -> (method, path, body, headers)
    latencies: list[float] = field(default_factory=list)
    due_at: list[float] = field(default_factory=list)  # seconds into the run, per latency
    codes: list[int] = field(default_factory=list)  # HTTP status (0: no answer), per latency
    statuses: dict[int, int] = field(default_factory=dict)
    sent_late: int = 0


def run_stream(stream: Stream, host: str, port: int, start: float, duration: float) -> None:
    due: queue.Queue = queue.Queue()
    lock = threading.Lock()

    def worker(index: int) -> None:
        rng = random.Random(index)
        conn = HTTPConnection(host, port, timeout=60)
        while (at := due.get()) is not None:
            pause = at - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            method, path, body, headers = stream.make(rng, index)
            status = 0
            for _attempt in range(2):  # the server closes idle keep-alive connections: reopen
                try:
                    conn.request(method, path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    status = response.status
                    break
                except (OSError, HTTPException):
                    conn.close()
                    conn = HTTPConnection(host, port, timeout=60)
            with lock:
                stream.latencies.append(time.perf_counter() - at)
                stream.due_at.append(at - start)
                stream.codes.append(status)
                stream.statuses[status] = stream.statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True)
               for i in range(stream.workers)]
    for thread in threads:
        thread.start()
    count = int(stream.rate * duration)
    for i in range(count):  # the schedule: request i is due at start + i / rate
        due.put(start + i / stream.rate)
    for _ in threads:
        due.put(None)
    for thread in threads:
        thread.join()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n").encode() + data + \
        f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of load measured")
    parser.add_argument("--warm-up", type=float, default=30,
                        help="seconds of the same load before the measured part (not counted)")
    parser.add_argument("--rate", type=float, default=200, help="mixed reads per second")
    parser.add_argument("--write-rate", type=float, default=16, help="API writes per second")
    parser.add_argument("--writers", type=int, default=8, help="concurrent API writers")
    parser.add_argument("--upload-rate", type=float, default=0.5, help="batch uploads/s")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--web-threads", type=int, default=4, help="threads per worker")
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=50_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true",
                        help="1,000 devices, 5,000 versions, 100,000 events")
    parser.add_argument("--no-verify", action="store_true", help="skip `audit verify`")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if args.small:
        args.devices, args.versions, args.events = 1_000, 5_000, 100_000
    instance = Path(tempfile.mkdtemp(prefix="dmd-load-"))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"
    built = build_registry(url, instance, args.devices, args.versions, args.events)
    print(f"# registry: {args.devices} devices, {built['versions']} model versions, "
          f"{args.events} audit events written in {built['seconds']:.1f} s")
    env = {**os.environ, "DMD_ENV": "prod", "DMD_SECRET_KEY": uuid.uuid4().hex * 2,
           "DMD_INSTANCE_DIR": str(instance), "DMD_DATABASE_URL": url,
           "DMD_BROKER_URL": REDIS, "DMD_BIND": f"127.0.0.1:{args.port}",
           "DMD_WEB_WORKERS": str(args.web_workers), "DMD_WEB_THREADS": str(args.web_threads),
           "DMD_LOG_FORMAT": "json",
           "DMD_ENERGY_TRACKING": "false", "DMD_LOGIN_RATE_LIMIT": "1000 per minute"}
    if not args.no_verify:
        started = time.perf_counter()
        check = subprocess.run([str(ROOT / ".venv/bin/dmd-registry"), "audit", "verify"],
                               env=env, capture_output=True, text=True)
        print(f"# audit verify ({time.perf_counter() - started:.0f} s): "
              f"{(check.stdout or check.stderr).strip().splitlines()[-1]}")
        if check.returncode:
            return 1
    from registry.config import load_settings

    live = prepare_live(load_settings(**{k[4:].lower(): v for k, v in env.items()
                                         if k.startswith("DMD_") and k not in GUNICORN_ONLY}),
                        built["makers"], args.writers, args.devices)
    log = instance / "servers.log"
    procs = start_servers(env, log, celery=args.upload_rate > 0)
    host, port = "127.0.0.1", args.port
    try:
        wait_ready(host, port)
        cookie = sign_in(host, port, "maker0@load.example")
        maker0_devices = [f"LD-{i:05d}" for i in range(1, args.devices + 1, built["makers"])]
        admin = {"Authorization": f"Bearer {live['admin']}"}
        pages = max(1, args.devices // 50)
        batch, batch_type = multipart(_batch_csv(300, 3), "batch.csv")
        warm_up(host, port, ["/healthz", "/catalogue", f"/devices/{maker0_devices[0]}"],
                {"Cookie": cookie})

        def write(rng, w):
            token, code = live["writers"][w % len(live["writers"])]
            body = json.dumps({"intended_purpose": f"aid to detect X, revision {rng.random()}"})
            return "PATCH", f"/api/v1/devices/{code}", body, {
                "Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        streams = [
            Stream("healthz", 10, 4, lambda r, w: ("GET", "/healthz", None, {})),
            Stream("catalogue", args.rate / 3, 24, lambda r, w: (
                "GET", f"/catalogue?offset={r.randrange(pages) * 50}", None, {})),
            Stream("api_device_list", args.rate / 3, 24, lambda r, w: (
                "GET", f"/api/v1/devices?offset={r.randrange(pages) * 50}", None, admin)),
            Stream("device_page", args.rate / 3, 24, lambda r, w: (
                "GET", f"/devices/{r.choice(maker0_devices)}", None, {"Cookie": cookie})),
            Stream("api_write", args.write_rate, args.writers, write),
        ]
        if args.upload_rate > 0:
            streams.append(Stream("batch_upload", args.upload_rate, 2, lambda r, w: (
                "POST", f"/api/v1/deployments/{live['deployment']}/batches", batch,
                {"Authorization": f"Bearer {live['upload']}", "Content-Type": batch_type})))
        # One schedule: the warm-up (caches, connections, PostgreSQL's buffers) runs into the
        # measured part at the same rate, with no gap; report() counts only the measured part.
        start = time.perf_counter() + 1
        threads = [threading.Thread(target=run_stream, args=(
            s, host, port, start, args.warm_up + args.duration)) for s in streams]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start - args.warm_up
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    return report(streams, elapsed, args, log)


def measured(stream: Stream, warm_up: float) -> Stream:
    """The stream's requests due after the warm-up, their times counted from its end."""
    kept = [i for i, at in enumerate(stream.due_at) if at >= warm_up]
    statuses: dict[int, int] = {}
    for i in kept:
        statuses[stream.codes[i]] = statuses.get(stream.codes[i], 0) + 1
    return Stream(stream.name, stream.rate, stream.workers, stream.make,
                  [stream.latencies[i] for i in kept],
                  [stream.due_at[i] - warm_up for i in kept],
                  [stream.codes[i] for i in kept], statuses)


def report(streams: list[Stream], elapsed: float, args, log: Path) -> int:
    streams = [measured(s, args.warm_up) for s in streams]
    base = streams[0]
    base_p50, base_p99 = percentile(base.latencies, 0.5), percentile(base.latencies, 0.99)
    print(f"# {elapsed:.0f} s (after {args.warm_up:g} s of warm-up) at {args.rate:g} reads/s, "
          f"{args.write_rate:g} writes/s by "
          f"{args.writers} writers, {args.upload_rate:g} uploads/s; {args.web_workers} gunicorn "
          f"workers x {args.web_threads} threads, {os.cpu_count()} cores; latency in ms from "
          "each request's scheduled time")
    print("# name: value baseline ratio target")
    missed = []

    def line(name: str, value: float, baseline: float, target: str, ok: bool | None) -> None:
        ratio = value / baseline if baseline else float("nan")
        print(f"{name}: {value:.1f} {baseline:.1f} {ratio:.1f}x {target}")
        if ok is False:
            missed.append(name)

    reads = [s for s in streams if s.name in ("catalogue", "api_device_list", "device_page")]
    all_reads = [x for s in reads for x in s.latencies]
    served = sum(n for s in reads for st, n in s.statuses.items() if 200 <= st < 400)
    for s in streams:
        rps = len(s.latencies) / elapsed
        p50, p99 = percentile(s.latencies, 0.5) * 1000, percentile(s.latencies, 0.99) * 1000
        line(f"{s.name}_req_per_s", rps, len(base.latencies) / elapsed, "-", None)
        line(f"{s.name}_p50_ms", p50, base_p50 * 1000, "-", None)
        target = {"api_write": 500.0}.get(s.name)
        line(f"{s.name}_p99_ms", p99, base_p99 * 1000, f"<={target:g}" if target else "-",
             p99 <= target if target else None)
        bad = {k: v for k, v in s.statuses.items() if not 200 <= k < 400}
        if bad:
            print(f"#   {s.name} non-2xx/3xx statuses: {bad}")
    # Served per second of the schedule: every request is due within the run's duration, so an
    # answered request counts whenever its answer came (a late one shows in the latency).
    rps = served / args.duration
    line("mixed_reads_req_per_s", rps, len(base.latencies) / elapsed, ">=200", rps >= 200)
    p99 = percentile(all_reads, 0.99) * 1000
    line("mixed_reads_p99_ms", p99, base_p99 * 1000, "<=250", p99 <= 250)
    # Where the slow requests were: the p99 of each minute (of each 10 s in a short run).
    window = 60 if args.duration >= 300 else 10
    timed = sorted(zip([t for s in reads for t in s.due_at], all_reads, strict=True))
    slices = {}
    for at, latency in timed:
        slices.setdefault(int(at // window), []).append(latency)
    print(f"# mixed reads p99 ms per {window} s: " + " ".join(
        f"{percentile(v, 0.99) * 1000:.0f}" for _, v in sorted(slices.items())))
    errors = sum(n for s in streams for st, n in s.statuses.items() if st >= 500 or st == 0)
    line("server_errors", errors, 0, "==0", errors == 0)
    if missed:
        print(f"# missed: {', '.join(missed)} (server log: {log})")
        return 1
    shutil.rmtree(log.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
