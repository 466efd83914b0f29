"""A real Celery worker, on Redis, runs our beat task against the test database."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from publisher.celery import app as celery_app
from reports.models import Report
from reports.tasks import publish_due_reports
from tests.factories import ReportFactory

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ["TEST_REDIS_URL"]


def _wait_for(predicate, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def celery_worker_queue(transactional_db) -> Iterator[str]:
    """Start `celery worker` on a queue of its own; stop it and remove the Redis keys it made."""
    queue = f"test-{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(TEST_REDIS_URL)
    keys_before = set(client.keys("*"))
    settings = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "publisher.settings_test",
        "DATABASE_URL": (
            f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
        ),
        "CELERY_BROKER_URL": TEST_REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"worker-{queue}.log", "w+")  # noqa: SIM115
    celery = shutil.which("celery", path=str(Path(sys.executable).parent))
    worker = subprocess.Popen(
        [celery, "-A", "publisher", "worker", "-Q", queue, "-n", f"{queue}@%h",
         "--concurrency", "1", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        _wait_for(
            lambda: "ready." in (ROOT / "var" / f"worker-{queue}.log").read_text(),
            timeout=60,
            what="the Celery worker to start",
        )
        yield queue
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        created = set(client.keys("*")) - keys_before
        if created:
            client.delete(*created)


@pytest.fixture
def broker_not_eager() -> Iterator[None]:
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = TEST_REDIS_URL
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = True


@pytest.mark.integration
def test_real_worker_publishes_a_due_report(celery_worker_queue, broker_not_eager):
    report = ReportFactory(
        status=Report.Status.SCHEDULED,
        published_at=None,
        publish_at=timezone.now() - timedelta(seconds=1),
    )

    publish_due_reports.apply_async(queue=celery_worker_queue)

    def published() -> bool:
        report.refresh_from_db()
        return report.status == Report.Status.PUBLISHED

    _wait_for(published, timeout=30, what="the worker to publish the report")
    assert report.published_at == report.publish_at
