"""Parts of the report page that are the same for every reader, kept in the cache.

- the head: canonical link, sharing tags and JSON-LD (which says whether the body is part
  of the page, so there are two versions);
- the header: kind, topics, title, byline, dates, revision note, the cited reports updated
  since this one was published, and cover;
- after the article: "N reports cite this report" and "Related reports", lists of published
  reports' cards (titles, dates, teasers: public text only);
- with them, the surrogate keys the page names for a CDN (`reports.surrogate_keys`), which
  depend on the same lists.

They change only when a report is published, edited or removed, which bumps the global
page-cache generation; they are cached under it and the report's own generation, together,
in one entry per report: a page-cache miss for a report reuses them, and for an anonymous
reader they come in the same cache round trip as the report itself
(`reports.selectors.report_for_page`). Rendering them is a large share of the server
time of such a miss. Unpublished reports (editors' previews) are
always rendered afresh.
"""

from contextlib import suppress
from typing import NamedTuple

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from publisher.cache.generations import CACHE_ERRORS, versioned_get, versioned_set
from reports.citations import citing_reports_published
from reports.models import Report
from reports.revisions.selectors import cited_reports_updated_since
from reports.selectors import CachedPageParts, page_parts_key, related_reports
from reports.sharing import report_json_ld
from reports.surrogate_keys import report_page_keys


class ReportPageParts(NamedTuple):
    head: SafeString
    header: SafeString
    after: SafeString
    description: str  # plain text, escaped where the page uses it
    surrogate_keys: tuple[str, ...]


Rendered = tuple[str, str, str, str, tuple[str, ...]]


def _render_report_after(report: Report) -> tuple[str, tuple[str, ...]]:
    citing = citing_reports_published(report=report)
    related = related_reports(report=report, exclude=citing)
    html = render_to_string(
        "reports/includes/report_after.html",
        {"citing_reports": citing, "related_reports": related},
    )
    return html, report_page_keys(report=report, related=related)


def _render_parts(report: Report, *, body_included: bool) -> Rendered:
    json_ld = report_json_ld(report=report, body_included=body_included)
    head = render_to_string(
        "reports/includes/report_head.html",
        {"report": report, "json_ld": json_ld, "SITE_NAME": settings.SITE_NAME},
    )
    header = render_to_string(
        "reports/includes/report_header.html",
        {"report": report, "cited_updates": cited_reports_updated_since(report=report)},
    )
    after, keys = _render_report_after(report)
    return head, header, after, json_ld["description"], keys


def report_page_parts(
    *, report: Report, body_included: bool, cached: CachedPageParts | None = None
) -> ReportPageParts:
    """The reader-independent parts of the report page; `body_included` says whether this
    reader's page carries the body (the JSON-LD then says which part is paid). `cached` is
    what `report_for_page` already read of them, if anything (no second round trip)."""
    if not report.is_published:
        return _safe(_render_parts(report, body_included=body_included))
    key = page_parts_key(report.slug, body_included=body_included)
    if cached is not None:
        parts, generations = cached.entries.get(key), cached.generations
    else:
        try:
            parts, generations = versioned_get(key, slug=report.slug)
        except CACHE_ERRORS:
            return _safe(_render_parts(report, body_included=body_included))
    if parts is None:
        parts = _render_parts(report, body_included=body_included)
        with suppress(*CACHE_ERRORS):
            versioned_set(
                key, parts, generations=generations, timeout=settings.PAGE_CACHE_SECONDS or 600
            )
    return _safe(parts)  # type: ignore[arg-type]  # what _render_parts stored


def _safe(parts: Rendered) -> ReportPageParts:
    head, header, after, description, keys = parts
    # Rendered by our templates with autoescaping; stored as plain strings.
    return ReportPageParts(
        mark_safe(head),  # noqa: S308
        mark_safe(header),  # noqa: S308
        mark_safe(after),  # noqa: S308
        description,
        tuple(keys),
    )
