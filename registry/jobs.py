"""One job API for long work: Celery on Redis when DMD_BROKER_URL is set, in-process otherwise.

Either way the same task function runs through ``run_job``, which records the status, the result
or the error on the Job row, so callers poll one place.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sqlmodel import Session

from registry import auth, db
from registry.auth import Actor, Permission
from registry.errors import InvalidInputError, NotFoundError, RegistryError
from registry.models import Job, User, utcnow

logger = logging.getLogger(__name__)

TaskFunction = Callable[[Session, Actor, dict[str, Any]], dict[str, Any]]
TASKS: dict[str, TaskFunction] = {}
# What each task's energy is booked as (registry.models.energy.Phase values).
TASK_PHASES: dict[str, str] = {}
_energy_country: str | None = None


def task(name: str, *, phase: str = "registry") -> Callable[[TaskFunction], TaskFunction]:
    """Register a task function under ``name`` (its arguments and result are JSON); ``phase``
    says what its measured energy counts as: "validation", "monitoring" or "registry"."""
    def register(fn: TaskFunction) -> TaskFunction:
        TASKS[name] = fn
        TASK_PHASES[name] = phase
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


def run_job(job_id: str) -> str:
    """Run one job to completion and record the outcome; returns the final status."""
    with db.unit_of_work() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFoundError(f"job {job_id} not found")
        if job.status == "succeeded":
            return job.status  # a redelivered message: the work is already done
        job.status, job.started_at, job.attempts = "running", utcnow(), job.attempts + 1
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
        except Exception:  # a job must end in a recorded state, whatever the task raised
            logger.exception("job %s (%s) crashed", job_id, name)
            status, error, result = "failed", traceback.format_exc(limit=3), None
    with db.unit_of_work() as session:
        job = session.get(Job, job_id)
        job.status, job.result, job.error, job.finished_at = status, result, error, utcnow()
        session.add(job)
        if meter.record is not None:
            from registry.services.energy import record_job_footprint

            record_job_footprint(session, job, TASK_PHASES.get(name, "registry"), meter.record)
    logger.info("job %s (%s) %s in %.2fs", job_id, name, status,
                (utcnow() - started).total_seconds())
    return status
