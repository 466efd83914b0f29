"""Celery's tasks counted and timed, and the worker's own scrape endpoint.

The prefork pool runs tasks in child processes, so the counters go to files in the
worker's `PROMETHEUS_MULTIPROC_DIR` (its own folder, not the web's), and the worker's main
process, which outlives its children, serves their sum over HTTP on
`CELERY_METRICS_ADDRESS:CELERY_METRICS_PORT` (default off), behind the same bearer token
as the web's `/metrics`. A worker is often on another machine than gunicorn, which is why
it answers for itself rather than through the web's files.
"""

import logging
import os
import time
from pathlib import Path
from socketserver import ThreadingMixIn
from threading import Thread
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from celery import signals
from django.conf import settings
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, multiprocess

from publisher.metrics.views import authorised, exposition, process_metrics

logger = logging.getLogger(__name__)

TASKS = Counter(
    "gridline_celery_tasks_total",
    "Celery tasks finished, by task and outcome (SUCCESS, FAILURE, RETRY, …).",
    ["task", "state"],
)
TASK_SECONDS = Histogram(
    "gridline_celery_task_duration_seconds",
    "Time Celery tasks took to run, by task.",
    ["task"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)

# Start times of the tasks running in this process, by task id (prerun to postrun).
_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _task_finished(
    task_id: str | None = None, task: Any = None, state: str | None = None, **kwargs: Any
) -> None:
    started = _started.pop(task_id, None) if task_id else None
    name = getattr(task, "name", None) or "unknown"
    TASKS.labels(task=name, state=state or "UNKNOWN").inc()
    if started is not None:
        TASK_SECONDS.labels(task=name).observe(time.monotonic() - started)


@signals.worker_process_shutdown.connect
def _pool_process_exited(pid: int | None = None, **kwargs: Any) -> None:
    # A pool child's live gauges must not outlive it (counters stay: they are still sums).
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid or os.getpid())


def multiprocess_dir_reset(path: str) -> None:
    """Empty a multiprocess folder before the processes writing to it start: files left by
    a previous run's processes would be added to this run's (their pids may come back)."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for leftover in folder.glob("*.db"):
        leftover.unlink(missing_ok=True)


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # Prometheus scrapes every few seconds; the journal needs none of it


def worker_metrics_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """WSGI: the worker's counters, for a request carrying the metrics token."""
    if environ.get("PATH_INFO") != "/metrics":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not found.\n"]
    if not authorised(environ.get("HTTP_AUTHORIZATION")):
        start_response(
            "401 Unauthorized",
            [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="metrics"')],
        )
        return [b"A bearer token is required.\n"]
    body = exposition([process_metrics()])
    start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST)])
    return [body]


def worker_metrics_serve(address: str, port: int) -> WSGIServer:
    """Serve `worker_metrics_app` on a thread of this process; the server is returned so
    its caller (a test) may stop it and read the port it got."""
    server = make_server(address, port, worker_metrics_app, _Server, _QuietHandler)
    Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


@signals.worker_init.connect
def _worker_starting(**kwargs: Any) -> None:
    """Start the worker's metrics endpoint when CELERY_METRICS_PORT asks for one. A setting
    missing, or the port taken, is logged as an error and the worker runs on without its
    metrics: the emails matter more than the counts (Celery would only log a raise here)."""
    port = settings.CELERY_METRICS_PORT
    if not port:
        return
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder or not settings.METRICS_TOKEN:
        logger.error(
            "CELERY_METRICS_PORT is set but %s is not: the worker serves no metrics.",
            "PROMETHEUS_MULTIPROC_DIR (a folder for the pool's counters)"
            if not folder
            else "METRICS_TOKEN",
        )
        return
    # Before the pool forks: its children write to this folder from their first task.
    multiprocess_dir_reset(folder)
    address = settings.CELERY_METRICS_ADDRESS
    try:
        worker_metrics_serve(address, port)
    except OSError as error:
        logger.error("Worker metrics cannot listen on %s:%s: %s", address, port, error)
        return
    logger.info("Worker metrics at http://%s:%s/metrics", address, port)
