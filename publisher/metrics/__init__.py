"""Prometheus metrics for the web and worker processes (deploy/README.md, "Metrics").

Requests by view (rate, latency, status) come from django-prometheus' middleware and its
database backends; this package adds what the site itself knows: the Celery queues'
depth (`broker.py`), tasks run by the workers (`tasks.py`), refused webhook calls (below),
and any collector an app names in `METRICS_COLLECTORS` (reports' pending deliveries),
all served by `views.metrics` to a scraper holding `METRICS_TOKEN`.

gunicorn runs several processes, and Celery's prefork pool several children: each writes
its counters to files in `PROMETHEUS_MULTIPROC_DIR` (prometheus_client's multiprocess
mode) and a scrape adds them up, so any process answers for all of them.
"""

import os

from prometheus_client import Counter

if folder := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    # prometheus_client writes there from the first metric made, and never creates it.
    os.makedirs(folder, exist_ok=True)

WEBHOOK_FAILURES = Counter(
    "gridline_webhook_failures_total",
    "Webhook calls refused: a bad signature or credential, or a payload that cannot be read.",
    ["provider", "reason"],
)

# In gunicorn the page cache's hits are answered before Django (publisher/cache/wsgi.py),
# so django-prometheus never sees them: the bulk of anonymous traffic is counted here.
PAGE_CACHE_FRONT_HITS = Counter(
    "gridline_page_cache_front_hits_total",
    "Anonymous pages answered from the page cache in front of Django's handler.",
)
FRONT_ANSWERS = Counter(
    "gridline_front_answers_total",
    "Logged-in readers' pages answered in front of Django's handler (PAGE_CACHE_FRONT_ANSWERS).",
)


def webhook_failure(*, provider: str, reason: str) -> None:
    """Count one refused webhook call (`provider`: stripe, postmark, mailgun, …;
    `reason`: signature or payload)."""
    WEBHOOK_FAILURES.labels(provider=provider, reason=reason).inc()
