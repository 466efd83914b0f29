"""A real Celery worker reports a failing task to Sentry (the local ingest fake) without
its arguments, and serves its tasks' counters on its own port behind the metrics token."""

import urllib.error
import urllib.request
import uuid

import pytest

from accounts.tasks import send_newsletter_confirmation
from tests.support.factories import NewsletterSubscriberFactory
from tests.support.integration_fixtures import free_port
from tests.support.metrics import TOKEN, parse, sample
from tests.support.sentry_fake import SentryFake
from tests.support.waiting import wait_until


@pytest.fixture
def sentry_fake():
    fake = SentryFake()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


def _worker_metrics(port: int, token: str | None = TOKEN) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
        return response.read().decode()


@pytest.mark.integration
def test_a_real_worker_reports_a_failed_task_and_counts_it(celery_rig, sentry_fake, tmp_path):
    port = free_port()
    celery_rig.env |= {
        "SENTRY_DSN": sentry_fake.dsn,
        "SENTRY_ENVIRONMENT": "worker-test",
        "CELERY_METRICS_PORT": str(port),
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "worker-metrics"),
        # Nothing listens there: sending the confirmation fails.
        "TEST_EMAIL_URL": f"smtp://127.0.0.1:{free_port()}",
    }
    celery_rig.start_worker(concurrency=2)
    subscriber = NewsletterSubscriberFactory(
        email=f"reader-{uuid.uuid4().hex[:8]}@example.com", confirmed_at=None
    )
    token = uuid.uuid4().hex

    send_newsletter_confirmation.apply_async(args=[subscriber.pk, token], queue=celery_rig.queue)

    event, envelope = sentry_fake.wait_for_event(timeout=60)
    types = [value["type"] for value in event["exception"]["values"]]
    assert "ConnectionRefusedError" in types
    assert event["environment"] == "worker-test"
    assert event["extra"]["celery-job"] == {
        "task_name": "accounts.tasks.send_newsletter_confirmation"
    }
    assert subscriber.email.encode() not in envelope.raw
    assert token.encode() not in envelope.raw

    task = "accounts.tasks.send_newsletter_confirmation"
    failures = "gridline_celery_tasks_total"
    wait_until(
        lambda: sample(parse(_worker_metrics(port)), failures, task=task, state="FAILURE") == 1,
        timeout=30,
        message="the worker's metrics to count the failure",
    )
    samples = parse(_worker_metrics(port))
    assert sample(samples, "gridline_celery_task_duration_seconds_count", task=task) == 1
    with pytest.raises(urllib.error.HTTPError) as refused:
        _worker_metrics(port, token=None)
    assert refused.value.code == 401
