"""A record whose job fails follows it (#4, #11): an evaluation or a monitoring batch whose job
crashed, raised, or died with its worker is marked failed with a reason the user can act on (the
traceback goes to the log), shows so on the pages and the API, and a retry queues it again and
completes it; every step audited. On the real database, job runner and artifact store."""

from __future__ import annotations

import io
import logging
import subprocess
import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

from registry import db, jobs, storage
from registry.auth import SYSTEM, Actor
from registry.models import AuditEvent, Job, ModelVersion, Role, Stage
from registry.models.evaluations import Evaluation
from registry.models.monitoring import MonitoringBatch
from registry.schemas import TokenIn
from registry.schemas.evaluations import EvaluationIn
from registry.schemas.monitoring import BatchIn
from registry.services import artifacts, devices, evaluations, organisations
from registry.services import monitoring as service
from tests import factories
from tests.registry.test_evaluations import MAPPING, validation_csv
from tests.registry.test_monitoring import configure, csv_bytes, make_frame


def events(session, table: str, row_id: int) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(
        AuditEvent.object_type == table, AuditEvent.object_id == str(row_id))
        .order_by(AuditEvent.seq)))


def dead_worker() -> str:
    """host:pid of a process that has ended (what a killed worker leaves on its jobs)."""
    ended = subprocess.Popen(["true"])
    ended.wait()
    return f"{jobs.socket.gethostname()}:{ended.pid}"


def lose(job_id: str) -> None:
    """Leave the job as a worker killed in the middle of it does: running, by a dead process,
    with nothing of the task committed."""
    with db.unit_of_work() as s:
        job = s.get(Job, job_id)
        job.status, job.attempts, job.worker = "running", 1, dead_worker()
        job.started_at = job.created_at
        s.add(job)


@pytest.fixture
def held(monkeypatch):
    """Jobs are queued but not dispatched (they stay for ``lose``)."""
    monkeypatch.setattr(jobs.get_runner(), "dispatch", lambda job_id: None)


def submit(maker, *, data: bytes | None = None) -> tuple[int, str, str, int]:
    """A queued evaluation through the real service: (evaluation id, job id, device code,
    version id)."""
    with db.unit_of_work() as s:
        factories.bind(s)
        device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
        version = devices.candidate_version(s, device)
        evaluation = evaluations.submit_evaluation(
            s, maker, device.code, version.id, EvaluationIn(**MAPPING),
            io.BytesIO(data or validation_csv()), "valid.csv")
        return evaluation.id, evaluation.job_id, device.code, version.id


def bearer(actor) -> dict:
    with db.unit_of_work() as s:
        clear, _ = organisations.create_token(s, actor, TokenIn(name="t"),
                                              default_lifetime_days=1)
    return {"Authorization": f"Bearer {clear}"}


# --- evaluations ------------------------------------------------------------------------------


def test_a_crashed_evaluation_is_failed_with_a_reason_shown_and_a_retry_completes_it(
        client, connection, monkeypatch, caplog):
    import evaluation as library

    def out_of_memory(*args, **kwargs):
        raise MemoryError

    with db.unit_of_work() as s:
        factories.bind(s)
        maker_user = factories.UserFactory(role=Role.manufacturer)
    maker = Actor.from_user(maker_user)
    headers = bearer(maker)
    monkeypatch.setattr(library, "evaluate", out_of_memory)
    with caplog.at_level(logging.ERROR, logger="registry.jobs"):
        evaluation_id, job_id, code, version_id = submit(maker)
        jobs.get_runner().wait(job_id)
    monkeypatch.undo()

    with db.unit_of_work() as s:
        job, evaluation = s.get(Job, job_id), s.get(Evaluation, evaluation_id)
        assert job.status == "failed" and evaluation.status == "failed"
        assert evaluation.error == job.error
        assert job.error.startswith("internal error (MemoryError) while running the job")
        assert f"POST /api/v1/jobs/{job_id}/retry" in job.error and "Traceback" not in job.error
        assert evaluation.finished_at is not None and evaluation.results is None
        failed = events(s, "evaluation", evaluation_id)[-1]
        assert failed.action == "evaluation.failed" and failed.actor_email == "system"
        assert job.error in failed.payload
    crash = next(r for r in caplog.records if r.getMessage() == f"job {job_id} (evaluation.run) "
                 "crashed")
    assert crash.exc_info[0] is MemoryError  # the traceback is in the log

    api = client.get(f"/api/v1/devices/{code}/evaluations/{evaluation_id}", headers=headers)
    assert api.get_json()["status"] == "failed"
    assert api.get_json()["error"].startswith("internal error (MemoryError)")
    client.post("/login", data={"email": maker_user.email, "password": factories.PASSWORD})
    with db.unit_of_work() as s:
        version = s.get(ModelVersion, version_id).version
    page = client.get(f"/devices/{code}/versions/{version}?evaluation={evaluation_id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "The evaluation failed:" in text
    assert "internal error (MemoryError)" in text and "reload this page" not in text

    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=headers)
    assert retried.status_code == 202
    jobs.get_runner().wait(job_id)
    with db.unit_of_work() as s:
        job, evaluation = s.get(Job, job_id), s.get(Evaluation, evaluation_id)
        assert job.status == "succeeded" and job.attempts == 2
        assert evaluation.status == "done" and evaluation.error == ""
        assert evaluation.results["metrics"]["auc"]["value"] > 0.9
        assert s.get(ModelVersion, version_id).evaluated_at is not None
        actions = [e.action for e in events(s, "evaluation", evaluation_id)]
        assert actions == ["evaluation.submit", "evaluation.failed", "evaluation.requeue",
                           "evaluation.done"]


def test_an_evaluation_whose_stored_file_is_gone_fails_with_the_reason_and_retries(connection):
    """A real failure: the upload's blob disappeared from the store before the job ran (the job
    raises FileNotFoundError); restoring the file and retrying completes the evaluation."""
    data = validation_csv()
    with db.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
    with db.unit_of_work() as s:
        device = factories.DeviceFactory(manufacturer_id=maker.organisation_id)
        version = devices.candidate_version(s, device)
        evaluation = evaluations.submit_evaluation(
            s, maker, device.code, version.id, EvaluationIn(**MAPPING), io.BytesIO(data),
            "valid.csv")
        evaluation_id, job_id = evaluation.id, evaluation.job_id
        storage.get_store().path_for(evaluation.sha256).unlink()
    jobs.get_runner().wait(job_id)
    with db.unit_of_work() as s:
        failed = s.get(Evaluation, evaluation_id)
        assert failed.status == "failed"
        assert failed.error.startswith("internal error (FileNotFoundError)")
    storage.get_store().put(io.BytesIO(data))
    with db.unit_of_work() as s:
        jobs.retry(s, maker, job_id)
        assert s.get(Evaluation, evaluation_id).status == "queued"
    jobs.get_runner().wait(job_id)
    with db.unit_of_work() as s:
        assert s.get(Evaluation, evaluation_id).status == "done"


def test_a_lost_evaluation_job_is_reaped_with_its_evaluation_and_a_retry_completes_it(
        connection, held):
    with db.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
    evaluation_id, job_id, _, _ = submit(maker)
    lose(job_id)
    with db.unit_of_work() as s:
        assert s.get(Evaluation, evaluation_id).status == "queued"  # what issue #4 saw
        assert [j.id for j in jobs.reap_lost_jobs(s)] == [job_id]
    with db.unit_of_work() as s:
        evaluation = s.get(Evaluation, evaluation_id)
        assert evaluation.status == "failed" and evaluation.error.startswith("worker lost")
        assert f"dmd-registry jobs retry {job_id}" in evaluation.error
        assert events(s, "evaluation", evaluation_id)[-1].action == "evaluation.failed"
    runner = jobs.Runner(None)  # one that dispatches
    jobs.set_runner(runner)
    with db.unit_of_work() as s:
        jobs.requeue(s, s.get(Job, job_id))
    runner.wait(job_id)
    with db.unit_of_work() as s:
        evaluation = s.get(Evaluation, evaluation_id)
        assert evaluation.status == "done" and evaluation.error == ""
        assert [e.action for e in events(s, "evaluation", evaluation_id)][-2:] == [
            "evaluation.requeue", "evaluation.done"]


def test_a_record_already_recorded_is_left_alone_when_its_job_is_reaped(connection, held):
    """The worker died after committing the evaluation but before recording the job: the
    evaluation stays done, and a retry does not evaluate it twice."""
    with db.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
    evaluation_id, job_id, _, _ = submit(maker)
    with db.unit_of_work() as s:
        evaluations.run_evaluation(s, maker, s.get(Evaluation, evaluation_id))
    lose(job_id)
    with db.unit_of_work() as s:
        jobs.reap_lost_jobs(s)
        assert s.get(Evaluation, evaluation_id).status == "done"
        jobs.requeue(s, s.get(Job, job_id))
        assert s.get(Evaluation, evaluation_id).status == "done"
        actions = [e.action for e in events(s, "evaluation", evaluation_id)]
        assert actions == ["evaluation.submit", "evaluation.done"]


def test_jobs_reap_and_retry_commands_carry_the_evaluation(db_kind, tmp_path, monkeypatch):
    """``dmd-registry jobs reap`` and ``jobs retry`` on a registry of their own, as an operator
    runs them after a worker was killed."""
    from registry.app import configure_runtime
    from registry.cli import main
    from registry.config import load_settings
    from registry.migrate import upgrade
    from tests.conftest import drop_database, fresh_database_url

    name = f"dmd_reap_{uuid.uuid4().hex[:8]}"
    url = fresh_database_url(db_kind, tmp_path, name)
    saved = (db._current, storage._current, jobs._runner)
    database = None
    try:
        upgrade(url)
        for key, value in {"DMD_DATABASE_URL": url, "DMD_INSTANCE_DIR": str(tmp_path),
                           "DMD_ENV": "test", "DMD_ENERGY_TRACKING": "false"}.items():
            monkeypatch.setenv(key, value)
        database = configure_runtime(load_settings())
        with database.unit_of_work() as s:
            factories.bind(s)
            maker = factories.actor_for(Role.manufacturer)
        with monkeypatch.context() as held_here:
            held_here.setattr(jobs.get_runner(), "dispatch", lambda job_id: None)
            evaluation_id, job_id, _, _ = submit(maker)
        lose(job_id)

        def run(*args: str):
            result = CliRunner().invoke(main, list(args))
            # The command wired its own engine (as a real run would): close it.
            if db._current is not database:
                db._current.engine.dispose()
                db.set_database(database)
            return result

        reaped = run("jobs", "reap")
        assert reaped.exit_code == 0, reaped.output
        assert f"{job_id} evaluation.run: worker lost" in reaped.output
        with db.unit_of_work() as s:
            assert s.get(Evaluation, evaluation_id).status == "failed"
        retried = run("jobs", "retry", job_id)
        assert retried.exit_code == 0, retried.output
        assert f"job {job_id} succeeded" in retried.output
        with db.unit_of_work() as s:
            evaluation = s.get(Evaluation, evaluation_id)
            assert evaluation.status == "done" and evaluation.error == ""
            requeue = events(s, "evaluation", evaluation_id)[-2]
            assert requeue.action == "evaluation.requeue" and requeue.actor_email == "system"
    finally:
        for wired in {db._current, database} - {None, saved[0]}:
            wired.engine.dispose()
        db._current, storage._current, jobs._runner = saved
        drop_database(db_kind, name)


# --- monitoring batches -----------------------------------------------------------------------




@pytest.fixture
def deployed(connection):
    """A device deployed at a hospital, monitored against an uploaded reference."""
    with db.unit_of_work() as s:
        factories.bind(s)
        maker = factories.actor_for(Role.manufacturer)
        hospital = factories.actor_for(Role.hospital)
        device = factories.DeviceFactory(manufacturer_id=maker.organisation_id,
                                         stage=Stage.S7_POSTMARKET)
        deployment = factories.deploy(s, device, hospital.organisation_id)
        reference = artifacts.upload_artifact(s, maker, io.BytesIO(csv_bytes(
            make_frame(400, seed=1))), "validation.csv", "text/csv")
        world = {"maker": maker, "hospital": hospital, "device": device,
                 "deployment": deployment, "reference": reference}
        configure(s, world)
    return world


def upload(world, frame) -> tuple[int, str]:
    with db.unit_of_work() as s:
        batch = service.upload_batch(s, world["hospital"], world["deployment"].id,
                                     io.BytesIO(csv_bytes(frame)), "batch.csv", BatchIn())
        return batch.id, batch.job_id


def test_a_batch_whose_reference_is_gone_fails_with_the_reason_and_a_retry_analyses_it(
        client, deployed):
    """A real failure: the reference is the deployed version's validation data, whose raw rows
    the retention period deleted; the analysis raises a conflict that says what to do."""
    world = deployed
    validation = make_frame(400, seed=1).assign(truth=lambda f: (f["score"] > 0.3).astype(int))
    with db.unit_of_work() as s:
        evaluation = evaluations.submit_evaluation(
            s, world["maker"], world["device"].code, world["deployment"].model_version_id,
            EvaluationIn(dataset_kind="external", label_column="truth", score_column="score",
                         positive_label="1", threshold=0.5, id_column="record_id"),
            io.BytesIO(csv_bytes(validation)), "validation.csv", synchronous=True)
        configure(s, world, reference_artifact_id=None, reference_evaluation_id=evaluation.id)
        evaluations.purge_raw_files(s, SYSTEM, retention_days=0,
                                    now=evaluation.created_at + timedelta(days=1))
    batch_id, job_id = upload(world, make_frame(300, seed=3, age_shift=12))
    jobs.get_runner().wait(job_id)
    with db.unit_of_work() as s:
        batch, job = s.get(MonitoringBatch, batch_id), s.get(Job, job_id)
        assert job.status == "failed" and batch.status == "failed"
        assert batch.error == job.error
        assert "its raw rows were deleted" in batch.error and "upload a new reference" in \
            batch.error
        assert batch.results is None
        fail = events(s, "monitoring_batch", batch_id)[-1]
        assert fail.action == "monitoring.batch.fail" and "raw rows were deleted" in fail.payload

    headers = bearer(world["hospital"])
    api = client.get(f"/api/v1/batches/{batch_id}", headers=headers).get_json()
    assert api["status"] == "failed" and "upload a new reference" in api["error"]
    listed = client.get(f"/api/v1/deployments/{world['deployment'].id}/batches",
                        headers=headers).get_json()
    assert [b["status"] for b in listed if b["id"] == batch_id] == ["failed"]

    with db.unit_of_work() as s:  # what the error says: a new reference
        configure(s, world)
    retried = client.post(f"/api/v1/jobs/{job_id}/retry", headers=headers)
    assert retried.status_code == 202
    jobs.get_runner().wait(job_id)
    with db.unit_of_work() as s:
        batch = s.get(MonitoringBatch, batch_id)
        assert batch.status == "done" and batch.error == "" and batch.n_features_drifted == 1
        assert [e.action for e in events(s, "monitoring_batch", batch_id)] == [
            "monitoring.batch.upload", "monitoring.batch.fail", "monitoring.batch.requeue",
            "monitoring.batch.analyse"]


def test_a_lost_analysis_job_is_reaped_with_its_batch_and_a_retry_analyses_it(deployed, held):
    batch_id, job_id = upload(deployed, make_frame(300, seed=2))
    lose(job_id)
    with db.unit_of_work() as s:
        assert [j.id for j in jobs.reap_lost_jobs(s)] == [job_id]
    with db.unit_of_work() as s:
        batch = s.get(MonitoringBatch, batch_id)
        assert batch.status == "failed" and batch.error.startswith("worker lost")
    runner = jobs.Runner(None)
    jobs.set_runner(runner)
    with db.unit_of_work() as s:
        jobs.retry(s, deployed["hospital"], job_id)
        assert s.get(MonitoringBatch, batch_id).status == "queued"
    runner.wait(job_id)
    with db.unit_of_work() as s:
        batch = s.get(MonitoringBatch, batch_id)
        assert batch.status == "done" and batch.results["drift"]["n_features_drifted"] == 0
        requeue = events(s, "monitoring_batch", batch_id)[-2]
        assert requeue.action == "monitoring.batch.requeue"
        assert requeue.actor_id == deployed["hospital"].user_id


def test_a_crashed_measurement_keeps_the_analysis_and_says_why_until_a_retry_measures(
        client, deployed, monkeypatch):
    import monitoring.performance as performance

    frame = make_frame(300, seed=2)
    batch_id, job_id = upload(deployed, frame)
    jobs.get_runner().wait(job_id)

    def broken(*args, **kwargs):
        raise RuntimeError("numerical trouble")

    labels = frame[["record_id"]].assign(y_true=(frame["score"] > 0.3).astype(int))
    monkeypatch.setattr(performance, "binary_performance", broken)
    with db.unit_of_work() as s:
        service.upload_labels(s, deployed["hospital"], batch_id, io.BytesIO(csv_bytes(labels)),
                              "labels.csv")
        measure_id = s.exec(select(Job.id).where(Job.name == "monitoring.measure_batch")).one()
    jobs.get_runner().wait(measure_id)
    monkeypatch.undo()
    with db.unit_of_work() as s:
        batch = s.get(MonitoringBatch, batch_id)
        assert batch.status == "done" and batch.results is not None and batch.measured is None
        assert batch.error.startswith("measuring against the labels failed: internal error "
                                      "(RuntimeError)")
        assert "numerical trouble" not in batch.error  # the message stays in the log

    client.post("/login", data={"email": _email(deployed["hospital"]),
                                "password": factories.PASSWORD})
    page = client.get(f"/deployments/{deployed['deployment'].id}/monitoring")
    assert "measuring against the labels failed" in page.get_data(as_text=True)

    with db.unit_of_work() as s:
        jobs.retry(s, deployed["hospital"], measure_id)
    jobs.get_runner().wait(measure_id)
    with db.unit_of_work() as s:
        batch = s.get(MonitoringBatch, batch_id)
        assert batch.status == "done" and batch.error == ""
        assert batch.measured["labels_artifact_id"] == batch.labels_artifact_id
        assert [e.action for e in events(s, "monitoring_batch", batch_id)][-3:] == [
            "monitoring.batch.fail", "monitoring.batch.requeue", "monitoring.batch.measure"]


def _email(actor) -> str:
    from registry.models import User

    with db.unit_of_work() as s:
        return s.get(User, actor.user_id).email
