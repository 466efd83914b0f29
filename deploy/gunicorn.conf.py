"""gunicorn settings for the web process: `gunicorn publisher.wsgi -c deploy/gunicorn.conf.py`.

Sized for a 2-core machine behind nginx. Every value can be overridden from the environment
(GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS, GUNICORN_ACCESS_LOG), so systemd, the
Procfile, `make prodlike` and `make bench` share this one file.
"""

import os
import shutil
import tempfile

from gunicorn.glogging import Logger

# Prometheus' multiprocess mode (publisher/metrics/): each worker process writes its
# counters to files in this folder and a scrape of any of them adds up all of them. Set
# before the application is loaded (prometheus_client reads it once, at import). Unset, each
# master gets a fresh private folder, removed when it exits; systemd points it at the
# web's RuntimeDirectory (deploy/systemd/gridline-web.service). Never share one folder
# between two masters, or between gunicorn and a Celery worker.
# (A reload reads this file again: the folder chosen first stays.)
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["GRIDLINE_PRIVATE_METRICS_DIR"] = (
        tempfile.mkdtemp(prefix="gridline-web-metrics-")
    )
os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)

# Loopback only: nginx is the way in (it sets X-Forwarded-For/-Proto, which Django trusts).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Threads in a few processes: a request spends part of its time waiting on PostgreSQL and
# Redis, and threaded workers keep nginx's upstream connections alive. On 2 cores,
# 4 processes of 2 threads served cached pages fastest in `make bench`.
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))

# Load the application once in the master and fork: faster starts and shared memory. Django
# opens database and Redis connections lazily, in each worker, so nothing is shared by fork.
preload_app = True

# A request that takes longer than this is a bug or a stuck connection: the worker is
# replaced. nginx's proxy_read_timeout is a little longer.
timeout = 30
graceful_timeout = 30
keepalive = 5
# Request lines as long as nginx passes (large_client_header_buffers 4 8k): gunicorn's default
# (4094) refused longer ones with a bare error of its own, where Django answers them itself
# (a search form's message; paths over 2 KB its 414 page, publisher/url_length.py). 8190 is
# gunicorn's maximum.
limit_request_line = 8190
# Recycle workers now and then so a slow leak can never grow without bound. Not too often:
# a worker serves a few thousand cached pages a second, and at 5,000 each was replaced every
# few seconds under load (a fresh process reconnects to Redis and PostgreSQL and warms up).
max_requests = 100_000
max_requests_jitter = 10_000
# The heartbeat file on tmpfs, so a slow disk never looks like a hung worker.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108

# Access log with the time spent per request in microseconds (%(D)s); "-" is stdout (the
# journal under systemd).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(D)sus "%(a)s"'


class AccessLogger(Logger):
    """gunicorn's logger, building only the fields `access_log_format` uses.

    The stock one copies every request header, response header and WSGI environ entry into
    a dict and formats a date for each line whatever the format asks for: measured in
    `make bench`, that was about 15% of the CPU gunicorn spent on a page served from the
    cache. Fields missing here print as "-", as gunicorn prints unknown ones.
    """

    def atoms(self, resp, req, environ, request_time):
        status = resp.status
        return {
            "h": environ.get("REMOTE_ADDR", "-"),
            "r": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": status.split(None, 1)[0] if isinstance(status, str) else status,
            "B": getattr(resp, "sent", None),
            "D": request_time.seconds * 1_000_000 + request_time.microseconds,
            "a": environ.get("HTTP_USER_AGENT", "-"),
        }


logger_class = AccessLogger
errorlog = "-"
loglevel = "info"
# nginx on the same host is the only proxy whose X-Forwarded-* headers gunicorn trusts.
forwarded_allow_ips = "127.0.0.1,::1"
proxy_allow_ips = "127.0.0.1,::1"


def on_starting(server):
    """Once, as the master starts (not on a reload): forget a previous run's files, whose
    process ids may come back and whose counts are not this run's."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.unlink(os.path.join(folder, name))


def child_exit(server, worker):
    """A worker exited (recycled, timed out or killed): its live gauges go with it; its
    counters stay in the sums, as counters must."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    private = os.environ.get("GRIDLINE_PRIVATE_METRICS_DIR")
    if private:
        shutil.rmtree(private, ignore_errors=True)
