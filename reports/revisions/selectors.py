"""Reads of a report's history: its public updates for the report page, what each one
changed in the body (only for readers the access rule lets read it), the whole history for
the editors, and the reports a report cites that were updated after it was published."""

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache

from publisher.cache.generations import CACHE_ERRORS
from reports.access import Reader, can_read_body
from reports.models import Report, ReportRevision
from reports.rendering import RENDERING_VERSION, render_markdown
from reports.revisions.diff import Change, paragraph_changes

CHANGES_SECONDS = 24 * 3600


@dataclass(frozen=True)
class RenderedChange:
    """A `Change` rendered for the page: each block through the body's own Markdown pipeline
    and sanitiser."""

    removed: tuple[str, ...]
    added: tuple[str, ...]


@dataclass(frozen=True)
class PublicUpdate:
    saved_at: datetime
    note: str
    # What the update changed in the body; None when this reader may not read the body (they
    # are told only that subscribers see it), empty when the body did not change.
    changes: tuple[RenderedChange, ...] | None


def _rendered(change: Change) -> RenderedChange:
    return RenderedChange(
        removed=tuple(render_markdown(block) for block in change.removed),
        added=tuple(render_markdown(block) for block in change.added),
    )


def report_public_updates(*, report: Report, reader: Reader) -> list[PublicUpdate]:
    """The report's updates and corrections, newest first, as this reader may see them.

    Costs nothing for a report never updated (`revised_at` is empty), one query otherwise.
    A reader who may not read the body gets the dates and notes alone, from a query that
    never reads a revision's body. For the others the changed paragraphs are rendered once
    per version of the report and kept in the server's cache, which is read only here, after
    the same access check (as `reports.selectors.report_body_html` does for the body).
    """
    if report.revised_at is None or report.pk is None:
        return []
    if not can_read_body(reader, report):
        rows = (
            ReportRevision.objects.filter(report=report, is_public=True)
            .order_by("-saved_at", "-id")
            .values_list("saved_at", "note")
        )
        return [PublicUpdate(saved_at=at, note=note, changes=None) for at, note in rows]
    key = f"revision-changes:{RENDERING_VERSION}:{report.pk}:{report.updated_at.timestamp()}"
    try:
        updates = cache.get(key)
    except CACHE_ERRORS:
        updates = None
    if updates is None:
        updates = _updates_with_changes(report=report)
        with suppress(*CACHE_ERRORS):
            cache.set(key, updates, timeout=CHANGES_SECONDS)
    return updates


def _updates_with_changes(*, report: Report) -> list[PublicUpdate]:
    revisions = list(
        ReportRevision.objects.filter(report=report)
        .order_by("saved_at", "id")
        .values_list("saved_at", "note", "is_public", "body")
    )
    updates = []
    previous_body: str | None = None
    for saved_at, note, is_public, body in revisions:
        if is_public:
            changes = paragraph_changes(previous_body, body) if previous_body is not None else []
            updates.append(
                PublicUpdate(
                    saved_at=saved_at,
                    note=note,
                    changes=tuple(_rendered(change) for change in changes),
                )
            )
        previous_body = body
    updates.reverse()
    return updates


@dataclass(frozen=True)
class HistoryEntry:
    """One revision for the editors' history page, with what changed since the one before
    (Markdown source, not rendered: editors compare what they wrote)."""

    revision: ReportRevision
    title_before: str | None  # the previous title when this save changed it
    teaser_changes: list[Change]
    body_changes: list[Change]


def report_history(*, report: Report) -> list[HistoryEntry]:
    """Every revision of the report, newest first, each compared with the one before, in one
    query (the editors' history page)."""
    revisions = list(
        ReportRevision.objects.filter(report=report)
        .select_related("saved_by")
        .order_by("saved_at", "id")
    )
    entries = []
    previous: ReportRevision | None = None
    for revision in revisions:
        entries.append(
            HistoryEntry(
                revision=revision,
                title_before=(
                    previous.title if previous and previous.title != revision.title else None
                ),
                teaser_changes=paragraph_changes(previous.teaser, revision.teaser)
                if previous
                else [],
                body_changes=paragraph_changes(previous.body, revision.body) if previous else [],
            )
        )
        previous = revision
    entries.reverse()
    return entries


def cited_reports_updated_since(*, report: Report) -> list[Report]:
    """Published reports this one cites that carry a public update made after this one was
    published: what it says of them may be out of date. One query for the whole list."""
    if report.published_at is None or report.pk is None:
        return []
    return list(
        Report.objects.published()
        .filter(citations_received__citing=report, revised_at__gt=report.published_at)
        .only("slug", "title", "revised_at")
        .order_by("-revised_at", "-id")
    )
