from datetime import timedelta

import pytest
from django.utils import timezone

from reports.models import Report
from reports.publishing import report_publish, reports_publish_due
from reports.tasks import publish_due_reports
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db


def test_publishing_a_draft_stamps_the_time():
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None)
    now = timezone.now()

    assert report_publish(report_id=draft.pk, now=now) is True

    draft.refresh_from_db()
    assert draft.status == Report.Status.PUBLISHED
    assert draft.published_at == now


def test_publishing_twice_keeps_the_first_time():
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None)
    first = timezone.now() - timedelta(minutes=5)
    report_publish(report_id=draft.pk, now=first)

    assert report_publish(report_id=draft.pk) is False

    draft.refresh_from_db()
    assert draft.published_at == first


def test_due_scheduled_reports_publish_at_their_scheduled_time():
    now = timezone.now()
    due = ReportFactory(
        status=Report.Status.SCHEDULED, published_at=None, publish_at=now - timedelta(minutes=1)
    )
    later = ReportFactory(
        status=Report.Status.SCHEDULED, published_at=None, publish_at=now + timedelta(hours=1)
    )
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None, publish_at=None)

    assert reports_publish_due(now=now) == [due.pk]

    due.refresh_from_db()
    later.refresh_from_db()
    draft.refresh_from_db()
    assert (due.status, due.published_at) == (Report.Status.PUBLISHED, due.publish_at)
    assert later.status == Report.Status.SCHEDULED
    assert draft.status == Report.Status.DRAFT
    assert reports_publish_due(now=now) == []


def test_beat_task_publishes_due_reports_eagerly():
    due = ReportFactory(
        status=Report.Status.SCHEDULED,
        published_at=None,
        publish_at=timezone.now() - timedelta(seconds=5),
    )

    assert publish_due_reports.delay().get() == [due.pk]
