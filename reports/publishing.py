"""Publishing reports: now, or when their scheduled time comes."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from publisher.cache.pages import page_cache_invalidate_all
from reports.models import Report
from reports.notifications.fanout import notification_request

DUE_BATCH_SIZE = 100


def _mark_published(report: Report, *, now: datetime) -> None:
    report.status = Report.Status.PUBLISHED
    report.published_at = now
    report.save(update_fields=["status", "published_at", "updated_at"])
    # Subscribers hear about it once the publish has committed (never on a rollback).
    notification_request(report=report)


def report_publish(*, report_id: int, now: datetime | None = None) -> bool:
    """Publish one report now. Returns False when it was already published."""
    now = now or timezone.now()
    with transaction.atomic():
        report = Report.objects.select_for_update().get(pk=report_id)
        if report.status == Report.Status.PUBLISHED and report.published_at is not None:
            return False
        _mark_published(report, now=now)
        page_cache_invalidate_all()
    return True


def reports_publish_due(*, now: datetime | None = None) -> list[int]:
    """Publish scheduled reports whose time has come; returns the ids published.

    Rows are claimed with SKIP LOCKED, so two beat ticks or two workers running this at
    once never publish the same report twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Report.objects.select_for_update(skip_locked=True)
            .filter(status=Report.Status.SCHEDULED, publish_at__lte=now)
            .order_by("publish_at", "id")[:DUE_BATCH_SIZE]
        )
        for report in due:
            _mark_published(report, now=report.publish_at or now)
        if due:
            page_cache_invalidate_all()
    return [report.pk for report in due]
