"""Reads for the reader-facing pages. Each returns what a page shows in a fixed number of
queries, whatever the number of reports, topics or citations."""

from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Count, F, IntegerField, Value, Window
from django.db.models.functions import RowNumber

from accounts.models import User
from accounts.organisations.networks import OfficeNetwork
from publisher.cache.generations import CACHE_ERRORS, versioned_get_many, versioned_set
from reports.access import Reader, can_read_body
from reports.models import KIND_PLURALS, Report, ReportQuerySet
from reports.rendering import RENDERING_VERSION, render_markdown

RELATED_LIMIT = 4
HOME_LATEST = 4
HOME_PER_KIND = 3


def _readable_reports() -> ReportQuerySet:
    return Report.objects.without_body().select_related("author").prefetch_related("topics")


@dataclass(frozen=True)
class CachedPageParts:
    """What the cache held of the report page's reader-independent parts
    (`reports.fragments`), read in the same round trip as the anonymous reader's report."""

    entries: dict[str, object]
    generations: tuple[str, ...]


# What one entry of the report page's parts holds (reports/fragments.py): changed with it,
# so that a release never reads entries another release stored.
PAGE_PARTS_LAYOUT = 2


def page_parts_key(slug: str, *, body_included: bool) -> str:
    return f"fragment:report-page:{PAGE_PARTS_LAYOUT}:{slug}:{int(body_included)}"


def report_for_page(*, slug: str, reader: Reader) -> tuple[Report | None, CachedPageParts | None]:
    """The report at `slug` without its body (editors also see drafts and scheduled ones),
    with the page's cached parts when they came with it."""
    if reader.is_staff:
        return _readable_reports().filter(slug=slug).first(), None
    if reader.is_authenticated:
        return _readable_reports().published().filter(slug=slug).first(), None
    return _published_report_for_anonymous(slug=slug)


def _published_report_for_anonymous(*, slug: str) -> tuple[Report | None, CachedPageParts | None]:
    """Building this query in the ORM is a large share of the CPU of rendering the
    anonymous report page, so what an anonymous reader's page needs of the report (no body, and
    no author's password hash) is kept under the same generations as that cached page, so it
    changes exactly when the page does: an edit, a (un)publish, a comment (its count).
    Logged-in readers read the row itself, so their body (cached by `updated_at`) is fresh
    after any save, even one that bypassed the services that invalidate.

    The page's cached parts are read in the same round trip (a free report's page carries
    the body, so both versions are asked for)."""
    key = f"published-report:{slug}"
    parts_keys = [page_parts_key(slug, body_included=included) for included in (False, True)]
    try:
        entries, generations = versioned_get_many([key, *parts_keys], slug=slug)
    except CACHE_ERRORS:
        return _readable_reports().published().filter(slug=slug).first(), None
    report = entries.pop(key)
    if report is None:
        report = _readable_reports().defer("author__password").published().filter(slug=slug).first()
        if report is not None:
            with suppress(*CACHE_ERRORS):
                versioned_set(
                    key, report, generations=generations, timeout=settings.PAGE_CACHE_SECONDS or 600
                )
    return report, CachedPageParts(entries=entries, generations=generations)


BODY_HTML_SECONDS = 24 * 3600


def report_body_html(
    *, report: Report, reader: Reader, network: OfficeNetwork | None = None
) -> str | None:
    """The rendered body, loaded only once the access rule said yes.

    Rendering a 30 KB body takes tens of milliseconds, so the HTML is kept in the cache,
    keyed by the report's last change, and read from there only here, after the same check:
    the cache is server-side storage like the database, never a response anyone is given.
    """
    if not can_read_body(reader, report, network=network):
        return None
    key = f"body-html:{RENDERING_VERSION}:{report.pk}:{report.updated_at.timestamp()}"
    try:
        html = cache.get(key)
    except CACHE_ERRORS:
        html = None
    if html is None:
        body = Report.objects.values_list("body", flat=True).get(pk=report.pk)
        html = render_markdown(body)
        with suppress(*CACHE_ERRORS):
            cache.set(key, html, timeout=BODY_HTML_SECONDS)
    return html


def body_html_for_reader(*, report: Report, reader: Reader, body: str) -> str | None:
    """Render body text already in hand (the admin preview's unsaved text) for a reader."""
    return render_markdown(body) if can_read_body(reader, report) else None


def related_reports(
    *, report: Report, exclude: Iterable[Report] = (), limit: int = RELATED_LIMIT
) -> list[Report]:
    """Published reports sharing a topic or the kind: most shared topics first, then newest.

    Never the report itself, nor those in `exclude` (the page already lists its citing
    reports). Uses the report's prefetched topics, so it costs one query: the best `limit`
    reports sharing topics, and the newest `limit` of the same kind sharing none, each found
    through an index, then merged (counting shared topics for every published report
    instead takes a scan of the whole table).
    """
    topic_ids = [topic.pk for topic in report.topics.all()]
    candidates = (
        Report.objects.published()
        .without_body()
        .select_related("author")
        .exclude(pk__in=[report.pk, *(other.pk for other in exclude)])
    )
    sharing = (
        candidates.filter(topics__in=topic_ids)
        .annotate(shared=Count("topics"))
        .order_by("-shared", "-published_at", "-id")[:limit]
    )
    same_kind = (
        candidates.filter(kind=report.kind)
        .exclude(topics__in=topic_ids)
        .annotate(shared=Value(0, output_field=IntegerField()))
        .order_by("-published_at", "-id")[:limit]
    )
    if not connection.features.supports_slicing_ordering_in_compound:
        # SQLite (`make run`) cannot limit the halves of a UNION: two queries instead.
        merged: list[Report] = [*sharing, *same_kind]
        merged.sort(key=lambda r: (r.shared, r.published_at, r.pk), reverse=True)  # type: ignore[attr-defined]
        return merged[:limit]
    return list(
        sharing.union(same_kind, all=True).order_by("-shared", "-published_at", "-id")[:limit]
    )


def listing(reports: ReportQuerySet) -> ReportQuerySet:
    """What a list of report cards needs: no body, the author joined, newest first."""
    return reports.without_body().select_related("author").order_by("-published_at", "-id")


def paginate(reports: ReportQuerySet, *, page_number: str | None, per_page: int) -> Page:
    return Paginator(listing(reports), per_page).get_page(page_number)


@dataclass
class KindSection:
    kind: str
    label: str
    reports: list[Report] = field(default_factory=list)


@dataclass
class FrontPage:
    lead: Report | None
    latest: list[Report]
    sections: list[KindSection]


def front_page(*, latest: int = HOME_LATEST, per_kind: int = HOME_PER_KIND) -> FrontPage:
    """The lead report, the next latest ones, then the newest few of each kind not shown yet.

    Two queries: the latest list, and one window query for all the kind sections.
    """
    newest = list(listing(Report.objects.published())[: latest + 1])
    shown = [report.pk for report in newest]
    by_kind = (
        listing(Report.objects.published().exclude(pk__in=shown))
        .annotate(
            position=Window(
                RowNumber(),
                partition_by=F("kind"),
                order_by=[F("published_at").desc(), F("id").desc()],
            )
        )
        .filter(position__lte=per_kind)
    )
    sections = {kind: KindSection(kind=kind, label=label) for kind, label in KIND_PLURALS.items()}
    for report in by_kind:
        sections[Report.Kind(report.kind)].reports.append(report)
    return FrontPage(
        lead=newest[0] if newest else None,
        latest=newest[1:],
        sections=[section for section in sections.values() if section.reports],
    )


def author_by_slug(*, slug: str) -> User | None:
    """An author with at least one published report; other accounts have no public page."""
    return User.objects.filter(slug=slug, reports__in=Report.objects.published()).distinct().first()
