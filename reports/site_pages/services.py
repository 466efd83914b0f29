"""Saving and deleting site pages. Every page shows the footer's links, and the sitemap lists
the pages, so a change retires every cached page, as a report's edit does."""

from django.db import transaction
from django.db.models import QuerySet
from django.urls import Resolver404, resolve

from publisher.cache.generations import page_cache_invalidate_all
from publisher.errors import ApplicationError
from reports.models import SitePage

# The pages every page's footer links to (templates/includes/footer.html): they may be
# edited but keep their address and cannot be deleted, or the footer would link nowhere.
FOOTER_SLUGS = ("about", "contact", "privacy", "terms")
# First segments of addresses that are not pages of the urlconf's own but still belong to
# something else: files, and folders the urlconf serves only below their root.
_RESERVED = frozenset({"accounts", "static", "media", "_cache"})


def site_page_slug_problem(*, slug: str) -> str:
    """Why /<slug>/ cannot be a site page ("" when it can): the address, or addresses below
    it, already belong to another part of the site."""
    if slug.lower() in _RESERVED:
        return f"/{slug}/ is used by another part of the site. Choose another address."
    for path in (f"/{slug}/", f"/{slug}/x/"):
        try:
            match = resolve(path)
        except Resolver404:
            continue
        if match.view_name != "site_pages:page":
            return f"/{slug}/ is used by another part of the site. Choose another address."
    return ""


def site_page_save(*, page: SitePage) -> SitePage:
    problem = site_page_slug_problem(slug=page.slug)
    if problem:
        raise ApplicationError(problem, status=400)
    with transaction.atomic():
        page.save()
        page_cache_invalidate_all()
    return page


def site_pages_delete(*, pages: QuerySet[SitePage]) -> int:
    """Delete pages that no footer link needs; returns how many went."""
    if pages.filter(slug__in=FOOTER_SLUGS).exists():
        raise ApplicationError("The footer links to this page: edit it instead.", status=400)
    with transaction.atomic():
        deleted, _ = pages.delete()
        page_cache_invalidate_all()
    return deleted
