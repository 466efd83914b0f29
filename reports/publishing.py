"""Saving and publishing reports: every writer (the admin, the demo and bench loaders) saves
through `report_save`; publishing happens now, or when a scheduled time comes."""

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from publisher.cache.generations import page_cache_invalidate_all
from reports.authors import author_ensure_slug
from reports.citations import report_sync_citations
from reports.images.services import (
    report_cover_renditions,
    report_prepare_cover,
    report_sync_images,
)
from reports.models import Report, Topic
from reports.notifications.fanout import notification_request
from reports.paywall import report_count_body
from reports.revisions.services import revision_record
from reports.search_index import reports_refresh_search_names, search_names_for
from reports.surrogate_keys import ReportChange

DUE_BATCH_SIZE = 100


def _mark_published(report: Report, *, now: datetime, by: User | None = None) -> None:
    report.status = Report.Status.PUBLISHED
    report.published_at = now
    report.save(update_fields=["status", "published_at", "updated_at"])
    # The version readers first saw: what later corrections are compared with.
    revision_record(report=report, saved_by=by, at=now)
    # Subscribers hear about it once the publish has committed (never on a rollback).
    notification_request(report=report)


def report_save(
    *,
    report: Report,
    topics: Iterable[Topic] | None = None,
    revised: bool = False,
    saved_by: User | None = None,
    now: datetime | None = None,
) -> Report:
    """Save a new or edited report with everything that follows from it.

    `revised` stamps the revision time (the editor recorded a public revision note). Every
    save of a report already published keeps its text as a revision (`reports.revisions`),
    a public update when `revised`, by `saved_by`; publishing keeps the first. The
    author gets an address for their author page; the report's citations are read again
    from its body; a report saved as published for the first time is published (and its
    notification requested); and every cached page is retired when the save commits, since
    a report appears on listings, feeds and other reports' pages as well as its own (a CDN
    is asked to purge exactly the pages it was and is on, `reports.surrogate_keys`).
    `topics`, when given, replace the report's topics (the admin saves them itself, then
    calls `report_refresh_search_names`). The names search finds the report by (topics,
    author) are written with the row, so its search vectors are computed once, and so are
    the counts of what its body holds that the paywall shows (`reports.paywall`). A new
    cover is stored without its metadata and given renditions, and the library images the
    text shows are recorded (`reports.images`).
    """
    now = now or timezone.now()
    topics = list(topics) if topics is not None else None
    with transaction.atomic():
        # Where it was shown, read before anything changes (its old topics, kind, author).
        change = ReportChange([report.pk] if report.pk else [])
        if revised:
            report.revised_at = now
        current = topics if topics is not None else report.topics.all() if report.pk else []
        report.search_names = search_names_for(topics=current, author=report.author)
        report_count_body(report=report)
        report_prepare_cover(report=report)
        report.save()
        change.include(report.pk, created=True)
        if report_cover_renditions(report=report):
            report.save(update_fields=["cover_renditions"])
        report_sync_images(report=report)
        if topics is not None:
            report.topics.set(topics)
        if report.author is not None:
            author_ensure_slug(user=report.author)
        report_sync_citations(report=report)
        if report.status == Report.Status.PUBLISHED and report.published_at is None:
            _publish_locked(report_id=report.pk, now=now, by=saved_by)
            report.refresh_from_db()
        elif report.status == Report.Status.PUBLISHED:
            note = report.revision_note.strip() if revised else ""
            revision_record(report=report, saved_by=saved_by, note=note, at=now)
        change.invalidate()
    return report


def reports_delete(*, reports: QuerySet[Report]) -> int:
    """Delete reports; every page that showed them is retired (at a CDN, exactly those,
    read before they go). Returns how many reports went."""
    with transaction.atomic():
        doomed = list(reports.values_list("pk", flat=True))
        change = ReportChange(doomed)
        Report.objects.filter(pk__in=doomed).delete()
        change.invalidate()
    return len(doomed)


def report_refresh_search_names(*, report: Report) -> None:
    """After a report's topics were saved without `report_save` (the admin's form saves them
    after the report): bring the names search finds it by up to date."""
    reports_refresh_search_names(reports=Report.objects.filter(pk=report.pk))
    report.refresh_from_db(fields=["search_names"])


def topic_save(*, topic: Topic) -> Topic:
    """Save a new or edited topic; its reports are found by its new name from now on, and
    every cached page (listings and report pages show topic names) is retired."""
    with transaction.atomic():
        topic.save()
        reports_refresh_search_names(reports=Report.objects.filter(topics=topic))
        page_cache_invalidate_all()
    return topic


def topics_delete(*, topics: QuerySet[Topic]) -> None:
    """Delete topics; their reports are no longer found by those names."""
    with transaction.atomic():
        affected = list(Report.objects.filter(topics__in=topics).values_list("pk", flat=True))
        topics.delete()
        reports_refresh_search_names(reports=Report.objects.filter(pk__in=affected))
        page_cache_invalidate_all()


def report_publish(*, report_id: int, now: datetime | None = None, by: User | None = None) -> bool:
    """Publish one report now. Returns False when it was already published."""
    with transaction.atomic():
        change = ReportChange([report_id])
        published = _publish_locked(report_id=report_id, now=now, by=by)
        if published:
            change.invalidate()
    return published


def _publish_locked(*, report_id: int, now: datetime | None, by: User | None) -> bool:
    report = Report.objects.select_for_update().get(pk=report_id)
    if report.status == Report.Status.PUBLISHED and report.published_at is not None:
        return False
    _mark_published(report, now=now or timezone.now(), by=by)
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
        change = ReportChange(report.pk for report in due)
        for report in due:
            _mark_published(report, now=report.publish_at or now)
        if due:
            change.invalidate()
    return [report.pk for report in due]
