"""The evaluation job on a real Celery worker (Redis): the same task function as in-process."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
import redis

from registry import db, jobs, storage
from registry.models import Role
from registry.models.evaluations import Evaluation
from registry.schemas.evaluations import EvaluationIn
from registry.services import devices, evaluations
from tests import factories
from tests.registry.test_evaluations import MAPPING, validation_csv
from tests.registry.test_jobs import REDIS, worker_output


@pytest.mark.celery
def test_evaluation_runs_on_a_real_celery_worker(db_kind, tmp_path):
    from registry.app import configure_runtime
    from registry.config import load_settings
    from registry.migrate import upgrade
    from tests.conftest import drop_database, fresh_database_url

    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not running at {REDIS}; .ci/run starts it")
    redis.Redis.from_url(REDIS).flushdb()
    name = f"dmd_celery_eval_{os.getpid()}"
    url = fresh_database_url(db_kind, tmp_path, name)
    upgrade(url)
    env = {**os.environ, "DMD_DATABASE_URL": url, "DMD_BROKER_URL": REDIS,
           "DMD_INSTANCE_DIR": str(tmp_path), "DMD_ENV": "test", "DMD_ENERGY_TRACKING": "false"}
    worker = subprocess.Popen([sys.executable, "-m", "registry.cli", "worker"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    saved = db._current, jobs._runner, storage._current
    database = None
    try:
        database = configure_runtime(load_settings(database_url=url, broker_url=REDIS,
                                                   instance_dir=tmp_path, env="test"))
        with database.unit_of_work() as s:
            factories.bind(s)
            maker = factories.actor_for(Role.manufacturer)
            device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
            version = devices.candidate_version(s, device)
            queued = evaluations.submit_evaluation(
                s, maker, device.code, version.id, EvaluationIn(**MAPPING),
                io.BytesIO(validation_csv()), "valid.csv")
        deadline = time.monotonic() + 90
        status = "queued"
        while time.monotonic() < deadline and status not in ("done", "failed"):
            time.sleep(0.3)
            with database.unit_of_work() as s:
                status = s.get(Evaluation, queued.id).status
        assert status == "done", worker_output(worker)
        with database.unit_of_work() as s:
            done = s.get(Evaluation, queued.id)
            assert done.results["n"] == 500 and done.kpi_verdicts[0]["metric"] == "auc"
    finally:
        worker.terminate()
        worker.communicate(timeout=20)
        if database is not None:
            database.engine.dispose()
        db._current, jobs._runner, storage._current = saved
        drop_database(db_kind, name)
