"""WSGI entry point for production servers: ``gunicorn -c registry/gunicorn_conf.py
registry.wsgi:app``. Settings come from the DMD_* environment variables."""

from registry import db, jobs
from registry.app import create_app

app = create_app()
# A worker that replaces a killed one marks the jobs that died with it as failed (retryable).
with db.unit_of_work() as _session:
    jobs.reap_lost_jobs(_session)
