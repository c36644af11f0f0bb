"""Jobs whose process dies (#11): marked failed with a message that says how to retry, and a
retry runs them again; with a real Celery worker killed by SIGKILL in the middle of a job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis
from sqlalchemy import text

from registry import db, jobs
from registry.errors import ConflictError, NotFoundError
from registry.models import Job, Role
from tests import factories
from tests.registry.test_jobs import REDIS


def test_reaping_marks_only_jobs_of_dead_local_processes(session):
    factories.bind(session)
    organisation = factories.actor_for(Role.auditor).organisation_id
    ended = subprocess.Popen(["true"])
    ended.wait()
    host = jobs.socket.gethostname()

    def running(worker: str) -> Job:
        return Job(id=str(uuid.uuid4()), name="audit.verify", status="running", worker=worker,
                   organisation_id=organisation)

    dead, alive, elsewhere = (running(f"{host}:{ended.pid}"), running(f"{host}:{os.getppid()}"),
                              running("another-host:1"))
    session.add_all([dead, alive, elsewhere])
    session.flush()
    assert [j.id for j in jobs.reap_lost_jobs(session)] == [dead.id]
    assert dead.status == "failed" and dead.error.startswith("worker lost")
    assert f"dmd-registry jobs retry {dead.id}" in dead.error
    assert alive.status == elsewhere.status == "running"


def test_only_a_failed_job_is_retried_and_then_it_runs_again(connection):
    with db.unit_of_work() as s:
        factories.bind(s)
        hospital = factories.actor_for(Role.hospital)  # may not read the audit trail: fails
        job = jobs.enqueue(s, hospital, "audit.verify", {})
        auditor = factories.actor_for(Role.auditor)
        finished = jobs.enqueue(s, auditor, "audit.verify", {})
    jobs.get_runner().wait(job.id)
    jobs.get_runner().wait(finished.id)
    with db.unit_of_work() as s:
        with pytest.raises(ConflictError, match="only a failed job"):
            jobs.retry(s, auditor, finished.id)
        with pytest.raises(NotFoundError):  # another organisation's job
            jobs.retry(s, auditor, job.id)
        assert jobs.retry(s, hospital, job.id).status == "queued"
    jobs.get_runner().wait(job.id)
    with db.unit_of_work() as s:
        again = s.get(Job, job.id)
        assert again.status == "failed" and again.attempts == 2


@pytest.mark.celery
@pytest.mark.slow
def test_a_celery_worker_killed_mid_job_leaves_it_failed_and_retryable(db_kind, tmp_path):
    if db_kind != "postgresql":
        pytest.skip("holds the job mid-way with a table lock, which SQLite cannot do without "
                    "also stopping the job from starting")
    from registry.app import configure_runtime
    from registry.config import load_settings
    from registry.migrate import upgrade
    from tests.conftest import drop_database, fresh_database_url

    redis.Redis.from_url(REDIS).flushdb()
    name = f"dmd_lost_{uuid.uuid4().hex[:8]}"
    url = fresh_database_url(db_kind, tmp_path, name)
    upgrade(url)
    env = {**os.environ, "DMD_DATABASE_URL": url, "DMD_BROKER_URL": REDIS,
           "DMD_INSTANCE_DIR": str(tmp_path), "DMD_ENV": "test", "DMD_ENERGY_TRACKING": "false"}

    def start_worker() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "registry.cli", "worker"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def status_of(job_id: str, wanted: set[str], timeout: float = 90) -> Job:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with database.unit_of_work() as s:
                job = s.get(Job, job_id)
                if job.status in wanted:
                    return job
            time.sleep(0.2)
        pytest.fail(f"job {job_id} never reached {wanted}")

    saved = db.get_database(), jobs.get_runner()
    worker = start_worker()
    database = configure_runtime(load_settings(database_url=url, broker_url=REDIS,
                                               instance_dir=tmp_path, env="test"))
    try:
        with database.unit_of_work() as s:
            factories.bind(s)
            auditor = factories.actor_for(Role.auditor)
        lock = database.engine.connect()
        transaction = lock.begin()
        # audit.verify reads the chain: with the table locked, it waits there, mid-job.
        lock.execute(text("LOCK TABLE audit_event IN ACCESS EXCLUSIVE MODE"))
        with database.unit_of_work() as s:
            job_id = jobs.enqueue(s, auditor, "audit.verify", {}).id
        running = status_of(job_id, {"running"})
        assert running.worker.endswith(f":{worker.pid}")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        transaction.rollback()
        lock.close()
        assert status_of(job_id, {"running", "failed", "succeeded"}).status == "running"

        worker = start_worker()  # a new worker reaps what the dead one left
        failed = status_of(job_id, {"failed"})
        assert failed.error.startswith(f"worker lost: process {running.worker} ended")

        with database.unit_of_work() as s:
            jobs.retry(s, auditor, job_id)
        done = status_of(job_id, {"succeeded"})
        assert done.attempts == 2 and done.result["ok"] is True
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        database.engine.dispose()
        db.set_database(saved[0])
        jobs.set_runner(saved[1])
        drop_database(db_kind, name)
