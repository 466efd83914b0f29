"""Citations: which reports link to which, derived from the links editors write.

`report_sync_citations` runs after every save in the admin and the demo loader (not in a
signal or `save()`, so bulk updates and migrations stay free of side effects). Reading goes
through the selectors below, which only ever count published citing reports.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import Resolver404, resolve

from reports.models import Citation, Report
from reports.rendering import link_targets


def _cited_slug(href: str) -> str | None:
    """The slug of the report an address points at, or None for anything else."""
    try:
        parts = urlsplit(href)
    except ValueError:
        return None
    if parts.netloc and parts.netloc.lower() != urlsplit(settings.SITE_URL).netloc.lower():
        return None
    if parts.scheme not in {"", "http", "https"} or not parts.path.startswith("/"):
        return None
    try:
        match = resolve(parts.path)
    except Resolver404:
        return None
    return match.kwargs.get("slug") if match.view_name == "reports:detail" else None


def report_sync_citations(*, report: Report) -> set[int]:
    """Make the report's outgoing citations match the links in its teaser and body.

    Returns the ids of the reports it now cites. Links to reports that do not exist (yet)
    are ignored; self-links are not citations.
    """
    slugs = {
        slug
        for href in [*link_targets(report.teaser), *link_targets(report.body)]
        if (slug := _cited_slug(href))
    }
    cited_ids = set(
        Report.objects.filter(slug__in=slugs).exclude(pk=report.pk).values_list("pk", flat=True)
    )
    with transaction.atomic():
        Citation.objects.filter(citing=report).exclude(cited_id__in=cited_ids).delete()
        Citation.objects.bulk_create(
            [Citation(citing=report, cited_id=pk) for pk in cited_ids], ignore_conflicts=True
        )
    return cited_ids


def citing_reports_published(*, report: Report) -> list[Report]:
    """Published reports that cite this one, newest first, in one query."""
    return list(
        Report.objects.published()
        .filter(citations_made__cited=report)
        .without_body()
        .select_related("author")
        .order_by("-published_at", "-id")
    )


def citing_reports_any_status(*, report: Report) -> list[Report]:
    """Every report that cites this one, drafts included: the editors' "possibly affected"."""
    return list(
        Report.objects.filter(citations_made__cited=report)
        .without_body()
        .order_by("-published_at", "-id")
    )
