"""The Prometheus endpoint: refused without the token (absent without one configured),
requests counted by view, and the Celery queues' depth read from the broker."""

import urllib.error
import urllib.request
import uuid

import pytest
import redis

from publisher.celery import app as celery_app
from publisher.metrics.broker import QueueDepthCollector
from tests.support.integration_fixtures import TEST_REDIS_URL
from tests.support.metrics import AUTH, TOKEN, parse, sample, scrape


# Every request may read the office ranges (the page cache asks whether to step aside), so
# the tests of requests have the database.
def test_without_a_token_configured_the_endpoint_does_not_exist(client, settings, db):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", **AUTH).status_code == 404


def test_a_request_without_the_token_is_refused(client, metrics_token, db):
    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer " + "x" * len(TOKEN))
    basic = client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}")

    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert (wrong.status_code, basic.status_code) == (403, 403)
    assert b"gridline" not in missing.content + wrong.content


def test_the_token_gets_the_metrics_never_cached(client, metrics_token, db):
    response = client.get("/metrics", **AUTH)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"]
    assert b"django_http_requests_latency_seconds_by_view_method" in response.content


def test_requests_are_counted_by_view_name(client, metrics_token, db):
    before = scrape(client)

    for _ in range(3):
        assert client.get("/healthz").status_code == 200
    after = scrape(client)

    name = "django_http_responses_total_by_status_view_method_total"
    labels = {"status": "200", "view": "healthz", "method": "GET"}
    assert sample(after, name, **labels) - sample(before, name, **labels) == 3
    latency = "django_http_requests_latency_seconds_by_view_method_count"
    assert (
        sample(after, latency, view="healthz", method="GET")
        - sample(before, latency, view="healthz", method="GET")
        == 3
    )


@pytest.fixture
def test_queue(settings):
    """A queue of this test's own on the test Redis, as the broker the workers read."""
    name = f"metrics-{uuid.uuid4().hex[:12]}"
    settings.CELERY_TASK_DEFAULT_QUEUE = name
    settings.CELERY_BROKER_URL = TEST_REDIS_URL
    settings.CELERY_TASK_ALWAYS_EAGER = False
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        yield name
    finally:
        ours = list(client.scan_iter(match=f"*{name}*"))
        if ours:
            client.delete(*ours)


def test_queue_depth_counts_the_messages_waiting_on_the_broker(
    client, metrics_token, test_queue, db, django_assert_max_num_queries
):
    # Real task messages, as `enqueue` publishes them; one with a priority, which kombu's
    # Redis transport keeps in a list of its own.
    for _ in range(3):
        celery_app.send_task("reports.tasks.fold_day_counts", queue=test_queue)
    celery_app.send_task("reports.tasks.fold_day_counts", queue=test_queue, priority=6)

    scrape(client)  # the first request of a process also loads the office ranges
    with django_assert_max_num_queries(1):  # the pending deliveries' one grouped query
        samples = scrape(client)

    assert sample(samples, "gridline_celery_queue_length", queue=test_queue) == 4
    assert sample(samples, "gridline_celery_broker_up") == 1


def test_queue_depth_reads_the_broker_in_one_round_trip(test_queue, monkeypatch):
    calls = []
    original = redis.client.Pipeline.execute

    def counted(self, *args, **kwargs):
        calls.append(len(self.command_stack))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", counted)

    families = {family.name: family for family in QueueDepthCollector().collect()}

    assert len(calls) == 1
    assert families["gridline_celery_queue_length"].samples[0].value == 0


def test_an_unreachable_broker_is_reported_not_raised(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False

    families = {family.name: family for family in QueueDepthCollector().collect()}

    assert families["gridline_celery_broker_up"].samples[0].value == 0
    assert "gridline_celery_queue_length" not in families


def test_with_tasks_run_in_process_there_is_no_queue_to_report(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True

    assert list(QueueDepthCollector().collect()) == []


def test_tasks_are_counted_and_timed_by_name_and_outcome(metrics_token, db):
    from prometheus_client import REGISTRY

    from publisher.metrics.tasks import worker_metrics_serve
    from reports.tasks import fold_day_counts

    task = "reports.tasks.fold_day_counts"
    before = REGISTRY.get_sample_value(
        "gridline_celery_tasks_total", {"task": task, "state": "SUCCESS"}
    )
    fold_day_counts.delay()
    server = worker_metrics_serve("127.0.0.1", 0)
    try:
        port = server.server_port
        request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)  # noqa: S310 (loopback)
        request.add_header("Authorization", f"Bearer {TOKEN}")
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            samples = parse(response.read().decode())
    finally:
        server.shutdown()
        server.server_close()

    assert refused.value.code == 401
    labels = {"task": task, "state": "SUCCESS"}
    assert sample(samples, "gridline_celery_tasks_total", **labels) - (before or 0) == 1
    assert sample(samples, "gridline_celery_task_duration_seconds_count", task=task) >= 1


def test_a_worker_without_a_metrics_folder_says_so_and_runs_on(
    settings, metrics_token, monkeypatch, caplog
):
    from publisher.metrics.tasks import _worker_starting
    from tests.support.integration_fixtures import free_port

    settings.CELERY_METRICS_PORT = free_port()
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)

    _worker_starting()

    assert "PROMETHEUS_MULTIPROC_DIR" in caplog.text
    assert "serves no metrics" in caplog.text
