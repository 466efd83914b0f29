"""Parts of the report page that are the same for every reader, kept in the cache.

"N reports cite this report" and "Related reports" are lists of published reports' cards
(titles, dates, teasers: public text only). They change only when a report is published,
edited or removed, which bumps the global page-cache generation, so they are cached under
it: a page-cache miss for a report (a new comment, say) reuses them.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from publisher.caching import CACHE_ERRORS, versioned_get, versioned_set
from reports.citations import citing_reports_published
from reports.models import Report
from reports.selectors import related_reports


def _render_report_after(report: Report) -> str:
    citing = citing_reports_published(report=report)
    return render_to_string(
        "reports/includes/report_after.html",
        {
            "citing_reports": citing,
            "related_reports": related_reports(report=report, exclude=citing),
        },
    )


def report_after_html(*, report: Report) -> SafeString:
    key = f"fragment:report-after:{report.pk}"
    try:
        html, generations = versioned_get(key)
    except CACHE_ERRORS:
        return mark_safe(_render_report_after(report))  # noqa: S308 - our template
    if html is None:
        html = _render_report_after(report)
        versioned_set(
            key, html, generations=generations, timeout=settings.PAGE_CACHE_SECONDS or 600
        )
    return mark_safe(html)  # noqa: S308 - rendered by our template with autoescaping
