"""What a report tells search engines and link previews: canonical URL, descriptions and
schema.org `NewsArticle` data. Everything here comes from public fields (title, teaser,
cover, author, dates); `hasPart` names the body element only when the page carries it."""

from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils.text import Truncator

from reports.models import Report
from reports.rendering import teaser_text

DESCRIPTION_CHARS = 200
BODY_SELECTOR = ".report__body"


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def report_description(report: Report) -> str:
    return Truncator(teaser_text(report.teaser)).chars(DESCRIPTION_CHARS)


def report_json_ld(*, report: Report, body_included: bool) -> dict[str, Any]:
    url = absolute_url(report.get_absolute_url())
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": report.title,
        "description": report_description(report),
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "isAccessibleForFree": report.is_free,
        "publisher": {
            "@type": "Organization",
            "name": settings.SITE_NAME,
            "url": settings.SITE_URL,
        },
    }
    if report.published_at:
        data["datePublished"] = report.published_at.isoformat()
        data["dateModified"] = (report.revised_at or report.published_at).isoformat()
    if report.author:
        data["author"] = {"@type": "Person", "name": report.author.get_full_name()}
        if report.author.slug:
            data["author"]["url"] = absolute_url(
                reverse("reports:author", kwargs={"slug": report.author.slug})
            )
    if report.cover_image:
        data["image"] = {
            "@type": "ImageObject",
            "url": absolute_url(report.cover_image.url),
            "width": report.cover_width,
            "height": report.cover_height,
        }
    if not report.is_free and body_included:
        data["hasPart"] = {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": BODY_SELECTOR,
        }
    return data
