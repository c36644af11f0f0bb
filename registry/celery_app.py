"""The Celery application used when DMD_BROKER_URL is set (``dmd-registry worker``)."""

from __future__ import annotations

from celery import Celery


def make_celery(broker_url: str) -> Celery:
    app = Celery("dmd", broker=broker_url, backend=None)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        # A job is acknowledged after it ran, so a worker killed mid-job leaves it redelivered.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
    )

    @app.task(name="dmd.run_job")
    def run_job_task(job_id: str) -> str:
        from registry.jobs import run_job

        return run_job(job_id)

    return app
