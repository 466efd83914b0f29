"""A real Celery worker, on Redis, runs our beat task against the test database."""

from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Report
from reports.tasks import publish_due_reports
from tests.support.factories import ReportFactory
from tests.support.waiting import wait_until


@pytest.mark.integration
def test_real_worker_publishes_a_due_report(celery_worker_queue):
    report = ReportFactory(
        status=Report.Status.SCHEDULED,
        published_at=None,
        publish_at=timezone.now() - timedelta(seconds=1),
    )

    publish_due_reports.apply_async(queue=celery_worker_queue)

    def published() -> bool:
        report.refresh_from_db()
        return report.status == Report.Status.PUBLISHED

    wait_until(published, timeout=30, message="the worker to publish the report")
    assert report.published_at == report.publish_at
