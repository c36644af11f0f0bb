"""One job API for long work: Celery on Redis when DMD_BROKER_URL is set, in-process otherwise.

Either way the same task function runs through ``run_job``, which records the status, the result
or the error on the Job row, so callers poll one place.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlmodel import Session, select

from registry import auth, db
from registry.auth import Actor, Permission
from registry.errors import ConflictError, InvalidInputError, NotFoundError, RegistryError
from registry.models import Job, User, utcnow

logger = logging.getLogger(__name__)

TaskFunction = Callable[[Session, Actor, dict[str, Any]], dict[str, Any]]
#: Puts the record a task works on (an evaluation, a batch) in step with its job. Called, in
#: the transaction that changes the job, when the job ends "failed" without the task's own
#: writes (it raised, or its worker died: they rolled back) and when a retry queues it again;
#: it reads ``job.status``, ``job.error`` and ``job.arguments``.
RecordHook = Callable[[Session, Actor, Job], None]
TASKS: dict[str, TaskFunction] = {}
# What each task's energy is booked as (registry.models.energy.Phase values).
TASK_PHASES: dict[str, str] = {}
RECORD_HOOKS: dict[str, RecordHook] = {}
_energy_country: str | None = None


def task(name: str, *, phase: str = "registry",
         record: RecordHook | None = None) -> Callable[[TaskFunction], TaskFunction]:
    """Register a task function under ``name`` (its arguments and result are JSON); ``phase``
    says what its measured energy counts as: "validation", "monitoring" or "registry";
    ``record`` keeps the record the task works on in step with the job (see RecordHook)."""
    def register(fn: TaskFunction) -> TaskFunction:
        TASKS[name] = fn
        TASK_PHASES[name] = phase
        if record is not None:
            RECORD_HOOKS[name] = record
        return fn
    return register


def set_energy_country(country: str | None) -> None:
    """Measure every job's energy with CodeCarbon for this country's grid; None: don't."""
    global _energy_country
    _energy_country = country


class Runner:
    """Dispatches committed jobs: to Celery, or to a local thread."""

    def __init__(self, broker_url: str | None) -> None:
        self.broker_url = broker_url
        self._pool: ThreadPoolExecutor | None = None
        self.futures: dict[str, Future] = {}
        self._celery = None

    @property
    def celery(self):
        if self._celery is None:
            from registry.celery_app import make_celery

            self._celery = make_celery(self.broker_url)
        return self._celery

    def dispatch(self, job_id: str) -> None:
        if self.broker_url:
            self.celery.send_task("dmd.run_job", args=[job_id], task_id=job_id)
            return
        if self._pool is None:
            # One worker thread: jobs are CPU-bound and SQLite allows one writer at a time.
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dmd-job")
        self.futures[job_id] = self._pool.submit(run_job, job_id)

    def wait(self, job_id: str, timeout: float = 60) -> None:
        """Block until an in-process job is done (CLI and tests; Celery jobs are polled)."""
        future = self.futures.pop(job_id, None)
        if future is not None:
            future.result(timeout=timeout)

    def drain(self, timeout: float = 600) -> None:
        """Wait for every in-process job dispatched so far (before a command exits)."""
        while self.futures:
            self.wait(next(iter(self.futures)), timeout)


_runner: Runner | None = None


def set_runner(runner: Runner) -> None:
    global _runner
    _runner = runner


def get_runner() -> Runner:
    if _runner is None:
        raise RuntimeError("no job runner configured: call create_app() first")
    return _runner


def enqueue(session: Session, actor: Actor, name: str, arguments: dict[str, Any],
            device_id: int | None = None) -> Job:
    """Create a queued job; it is dispatched only after the caller's transaction commits."""
    if name not in TASKS:
        raise InvalidInputError(f"unknown job '{name}'; known jobs: {', '.join(sorted(TASKS))}")
    job = Job(id=str(uuid.uuid4()), name=name, arguments=arguments, submitted_by=actor.user_id,
              organisation_id=actor.organisation_id, device_id=device_id)
    session.add(job)
    session.flush()
    db.after_commit(session, lambda: get_runner().dispatch(job.id))
    return job


def get_job(session: Session, actor: Actor, job_id: str) -> Job:
    """A job the actor submitted (or any job, for an admin)."""
    auth.require(actor, Permission.JOB_READ)
    job = session.get(Job, job_id)
    if job is None or (actor.role is not auth.Role.admin
                       and job.organisation_id != actor.organisation_id):
        raise NotFoundError(f"job {job_id} not found")
    return job


class _EnergyMeter:
    """CodeCarbon around one job. Measuring is a side concern: if CodeCarbon cannot start or
    stop, the job still runs and ends normally, without a footprint (the failure is logged)."""

    def __init__(self, country: str | None) -> None:
        self.country = country
        self.record = None
        self._context = None
        self._measurement = None

    def __enter__(self) -> _EnergyMeter:
        if self.country:
            from monitoring.energy import measure_energy

            try:
                self._context = measure_energy(self.country)
                self._measurement = self._context.__enter__()
            except Exception:
                logger.warning("energy measurement unavailable", exc_info=True)
                self._context = None
        return self

    def __exit__(self, *exc_info) -> bool:
        if self._context is not None:
            try:
                self._context.__exit__(*exc_info)
                self.record = self._measurement.record
            except Exception:
                logger.warning("energy measurement failed", exc_info=True)
        return False


WORKER_LOST = ("worker lost: process {worker} ended while running the job; nothing it did "
               "was committed. Retry it (POST /api/v1/jobs/{id}/retry or dmd-registry jobs "
               "retry {id})")
# What the submitter reads when a task crashed; the traceback goes to the log, not to them.
CRASHED = ("internal error ({kind}) while running the job; nothing it did was committed and "
           "the details are in the registry's log under job {id}. Retry it (POST /api/v1/jobs/"
           "{id}/retry or dmd-registry jobs retry {id}); if it fails again, report job {id} to "
           "the registry's operators")


def current_worker() -> str:
    """host:pid of this process, read when needed: a forked pool child has its own pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(worker: str) -> bool | None:
    """Whether the process named ``host:pid`` is alive; None when it runs on another host."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reap_lost_jobs(session: Session) -> list[Job]:
    """Mark as failed the running jobs whose process on this host has died (a killed worker
    leaves them "running" for ever); other hosts reap their own when their workers start."""
    lost = []
    for job in session.exec(select(Job).where(Job.status == "running")):
        if job.worker and job.worker != current_worker() and _alive(job.worker) is False:
            job.status, job.finished_at = "failed", utcnow()
            job.error = WORKER_LOST.format(worker=job.worker, id=job.id)
            session.add(job)
            _follow(session, auth.SYSTEM, job)
            lost.append(job)
    if lost:
        logger.warning("marked %d job(s) of dead workers as failed: %s", len(lost),
                       ", ".join(j.id for j in lost))
    return lost


def retry(session: Session, actor: Actor, job_id: str) -> Job:
    """Queue a failed job the actor may see again (same arguments), after the commit."""
    return requeue(session, get_job(session, actor, job_id), actor)


def requeue(session: Session, job: Job, actor: Actor = auth.SYSTEM) -> Job:
    """Queue a failed job again; the record it works on goes back to queued with it."""
    job_id = job.id
    if job.status != "failed":
        raise ConflictError(f"job {job_id} is {job.status}; only a failed job can be retried")
    job.status, job.error, job.result, job.finished_at = "queued", "", None, None
    session.add(job)
    hook = RECORD_HOOKS.get(job.name)
    if hook is not None:
        hook(session, actor, job)
    db.after_commit(session, lambda: get_runner().dispatch(job.id))
    return job


def _follow(session: Session, actor: Actor, job: Job) -> None:
    """Mark the job's record failed with it. Best effort: the job's own state must be recorded
    even if this fails (a job left "running" would never be retried)."""
    hook = RECORD_HOOKS.get(job.name)
    if hook is None:
        return
    try:
        with session.begin_nested():
            hook(session, actor, job)
    except Exception:
        logger.exception("job %s (%s): could not mark its record failed", job.id, job.name)


def run_job(job_id: str) -> str:
    """Run one job to completion and record the outcome; returns the final status."""
    with db.unit_of_work() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFoundError(f"job {job_id} not found")
        if job.status in ("succeeded", "failed"):
            # A redelivered message: the work is done, or it failed and waits for someone to
            # decide on a retry (which queues it again).
            return job.status
        job.status, job.started_at, job.attempts = "running", utcnow(), job.attempts + 1
        job.worker = current_worker()
        session.add(job)
        name, arguments, user_id = job.name, dict(job.arguments), job.submitted_by
    started = utcnow()
    with _EnergyMeter(_energy_country) as meter:
        try:
            with db.unit_of_work() as session:
                user = session.get(User, user_id) if user_id else None
                actor = Actor.from_user(user) if user else auth.SYSTEM
                result = TASKS[name](session, actor, arguments)
            status, error = "succeeded", ""
        except RegistryError as exc:
            status, error, result = "failed", f"{exc.title}: {exc.detail}", None
        except Exception as exc:  # a job must end in a recorded state, whatever the task raised
            logger.exception("job %s (%s) crashed", job_id, name)
            status, result = "failed", None
            error = CRASHED.format(kind=type(exc).__name__, id=job_id)
    with db.unit_of_work() as session:
        job = session.get(Job, job_id)
        job.status, job.result, job.error, job.finished_at = status, result, error, utcnow()
        session.add(job)
        if status == "failed":
            _follow(session, auth.SYSTEM, job)
        if meter.record is not None:
            from registry.services.energy import record_job_footprint

            record_job_footprint(session, job, TASK_PHASES.get(name, "registry"), meter.record)
    logger.info("job %s (%s) %s in %.2fs", job_id, name, status,
                (utcnow() - started).total_seconds())
    return status
