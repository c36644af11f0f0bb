"""Jobs: the same task function in-process and on a real Celery worker with Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import redis

from registry import db, jobs
from registry.models import Job, Role
from tests import factories


def test_in_process_job_runs_after_commit(connection):
    with db.unit_of_work() as s:
        factories.bind(s)
        auditor = factories.actor_for(Role.auditor)
        job = jobs.enqueue(s, auditor, "audit.verify", {})
        assert jobs.get_runner().futures == {}  # not dispatched before the commit
    jobs.get_runner().wait(job.id)
    with db.unit_of_work() as s:
        done = s.get(Job, job.id)
        assert done.status == "succeeded" and done.result["ok"] is True
        assert done.result["problems"] == []


def test_failed_job_records_its_error(connection):
    with db.unit_of_work() as s:
        factories.bind(s)
        hospital = factories.actor_for(Role.hospital)  # may not read the audit trail
        job = jobs.enqueue(s, hospital, "audit.verify", {})
    jobs.get_runner().wait(job.id)
    with db.unit_of_work() as s:
        failed = s.get(Job, job.id)
        assert failed.status == "failed" and "may not audit:read" in failed.error


def test_unknown_job_name_is_refused(session):
    from registry.errors import InvalidInputError

    factories.bind(session)
    with pytest.raises(InvalidInputError, match="unknown job 'nope'"):
        jobs.enqueue(session, factories.actor_for(Role.admin), "nope", {})


REDIS = os.environ.get("DMD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.mark.celery
def test_job_runs_on_a_real_celery_worker(db_kind, tmp_path):
    """A worker process (``dmd-registry worker``) takes the job from Redis and records it."""
    from registry.config import load_settings
    from registry.migrate import upgrade
    from tests.conftest import drop_database, fresh_database_url

    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not running at {REDIS}; .ci/run starts it")
    redis.Redis.from_url(REDIS).flushdb()
    name = f"dmd_celery_{os.getpid()}"
    url = fresh_database_url(db_kind, tmp_path, name)
    upgrade(url)
    env = {**os.environ, "DMD_DATABASE_URL": url, "DMD_BROKER_URL": REDIS,
           "DMD_INSTANCE_DIR": str(tmp_path), "DMD_ENV": "test"}
    worker = subprocess.Popen([sys.executable, "-m", "registry.cli", "worker"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    from registry.app import configure_runtime

    saved = db.get_database(), jobs.get_runner()
    try:
        database = configure_runtime(load_settings(database_url=url, broker_url=REDIS,
                                                   instance_dir=tmp_path, env="test"))
        with database.unit_of_work() as s:
            factories.bind(s)
            auditor = factories.actor_for(Role.auditor)
            job = jobs.enqueue(s, auditor, "audit.verify", {})
        deadline = time.monotonic() + 60
        status = "queued"
        while time.monotonic() < deadline and status not in ("succeeded", "failed"):
            time.sleep(0.2)
            with database.unit_of_work() as s:
                status = s.get(Job, job.id).status
        assert status == "succeeded", worker_output(worker)
        with database.unit_of_work() as s:
            assert s.get(Job, job.id).result["ok"] is True
        database.engine.dispose()
    finally:
        worker.terminate()
        worker.communicate(timeout=20)
        db.set_database(saved[0])
        jobs.set_runner(saved[1])
        drop_database(db_kind, name)


def worker_output(worker) -> str:
    worker.terminate()
    out, _ = worker.communicate(timeout=20)
    return out.decode(errors="replace")[-3000:]
