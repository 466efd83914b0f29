"""sitemap.xml: the home page, published reports, topics, kinds, authors and the site pages
(About, Contact…). Only public addresses, all on SITE_URL."""

from datetime import datetime
from typing import Any

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.urls import reverse

from accounts.models import User
from publisher.site import site_domain, site_scheme
from reports.models import Report, SitePage, Topic


class SiteSitemap(Sitemap):
    """Django's sitemap view hands each section the request's scheme and host
    (`get_current_site(request)`); ours always answer with SITE_URL's, so a request with a
    foreign Host cannot put its name into the cached sitemap."""

    def get_protocol(self, protocol: str | None = None) -> str:
        return site_scheme()

    def get_domain(self, site: Any = None) -> str:
        return site_domain()


class HomeSitemap(SiteSitemap):
    def items(self) -> list[str]:
        return ["reports:home"]

    def location(self, item: str) -> str:
        return reverse(item)


class ReportSitemap(SiteSitemap):
    limit = 5000

    def items(self):
        return Report.objects.published().only("slug", "published_at", "revised_at").order_by("pk")

    def lastmod(self, item: Report) -> datetime | None:
        return item.revised_at or item.published_at


class TopicSitemap(SiteSitemap):
    def items(self):
        return (
            Topic.objects.filter(reports__in=Report.objects.published()).distinct().order_by("pk")
        )

    def location(self, item: Topic) -> str:
        return reverse("reports:topic", kwargs={"slug": item.slug})


class KindSitemap(SiteSitemap):
    def items(self) -> list[str]:
        return list(
            Report.objects.published().values_list("kind", flat=True).distinct().order_by("kind")
        )

    def location(self, item: str) -> str:
        return reverse("reports:kind", kwargs={"kind": item})


class AuthorSitemap(SiteSitemap):
    def items(self):
        return (
            User.objects.filter(slug__isnull=False, reports__in=Report.objects.published())
            .annotate(latest=Max("reports__published_at"))
            .only("slug")
            .order_by("pk")
        )

    def lastmod(self, item: User) -> datetime | None:
        return item.latest  # type: ignore[attr-defined]  # annotated in items()

    def location(self, item: User) -> str:
        return reverse("reports:author", kwargs={"slug": item.slug})


class SitePageSitemap(SiteSitemap):
    def items(self):
        return SitePage.objects.only("slug", "updated_at").order_by("pk")

    def lastmod(self, item: SitePage) -> datetime:
        return item.updated_at


SITEMAPS = {
    "home": HomeSitemap,
    "reports": ReportSitemap,
    "topics": TopicSitemap,
    "kinds": KindSitemap,
    "authors": AuthorSitemap,
    "pages": SitePageSitemap,
}
