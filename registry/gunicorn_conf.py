"""gunicorn settings for the registry; every value can be overridden on the command line.

    gunicorn -c registry/gunicorn_conf.py registry.wsgi:app

Workers are separate processes: each opens its own database pool, and Prometheus metrics are
added up across them through PROMETHEUS_MULTIPROC_DIR (created here when unset).
"""

import multiprocessing
import os
import tempfile

bind = os.environ.get("DMD_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("DMD_WEB_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("DMD_WEB_THREADS", 4))
worker_class = "gthread"
timeout = 120  # large uploads are validated in the request before being queued as a job
graceful_timeout = 30
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}o)s'
forwarded_allow_ips = os.environ.get("DMD_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Load the app in each worker after the fork: no database connection crosses a fork.
preload_app = False

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="dmd-metrics-")


def post_worker_init(worker):
    import gc

    # The app's modules, templates and metadata live as long as the worker: keep them out of
    # the collector's scans, which otherwise pause every thread of the worker now and then.
    gc.collect()
    gc.freeze()
    # Says when a worker can serve: importing the app takes seconds on a loaded machine.
    worker.log.info("Worker ready (pid: %s)", worker.pid)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
