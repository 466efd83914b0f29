"""What pages tell search engines and link previews: canonical URLs, descriptions, an
image and schema.org data (`NewsArticle` for a report, `WebSite` for the home page,
`CollectionPage` for topic, kind and author lists). Everything here comes from public
fields (title, teaser, cover, author, dates); `hasPart` names the body element only when
the page carries it. Every URL is absolute on SITE_URL."""

from typing import Any

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

from publisher.site import public_url, site_url
from reports.images.markup import cover_for_sharing
from reports.models import Report
from reports.rendering import teaser_text

DESCRIPTION_CHARS = 200
ELLIPSIS = "…"
BODY_SELECTOR = ".report__body"
SITE_DESCRIPTION = "Independent tests, shootouts and investigations of home-energy equipment."
# The preview image for pages without a cover of their own (static/og-default.png), sized
# for the large cards link previews show.
DEFAULT_IMAGE = "og-default.png"
DEFAULT_IMAGE_SIZE = (1200, 630)


def shorten(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """`text` in at most `limit` characters, cut after a whole word with an ellipsis.

    Only a single word longer than the whole budget is cut inside itself.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS) + 1]
    space = cut.rfind(" ")
    cut = cut[:space] if space > 0 else cut[:-1]
    # "clean," + "…" reads as a typo; the ellipsis replaces the punctuation.
    return cut.rstrip(" ,;:-\u2013\u2014") + ELLIPSIS


def report_description(report: Report) -> str:
    return shorten(teaser_text(report.teaser))


def default_image() -> dict[str, Any]:
    width, height = DEFAULT_IMAGE_SIZE
    return {
        "@type": "ImageObject",
        "url": public_url(static(DEFAULT_IMAGE)),
        "width": width,
        "height": height,
    }


def report_image(report: Report) -> dict[str, Any]:
    """The report's cover as a schema.org `ImageObject`, or the site's default image."""
    cover = cover_for_sharing(report)
    if cover is None:
        return default_image()
    url, width, height = cover
    return {"@type": "ImageObject", "url": url, "width": width, "height": height}


def _publisher() -> dict[str, Any]:
    return {"@type": "Organization", "name": settings.SITE_NAME, "url": site_url("/")}


def home_json_ld() -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "WebSite",
        "name": settings.SITE_NAME,
        "description": SITE_DESCRIPTION,
        "url": site_url("/"),
        "image": default_image(),
        "publisher": _publisher(),
    }


def listing_json_ld(
    *, title: str, description: str, url: str, schema_type: str = "CollectionPage"
) -> dict[str, Any]:
    """A topic, kind or author page (or, as a `WebPage`, a site page such as About); `url`
    is its canonical address."""
    return {
        "@context": "https://schema.org",
        "@type": schema_type,
        "name": title,
        "description": description,
        "url": url,
        "image": default_image(),
        "isPartOf": {"@type": "WebSite", "name": settings.SITE_NAME, "url": site_url("/")},
    }


def report_json_ld(*, report: Report, body_included: bool) -> dict[str, Any]:
    url = site_url(report.get_absolute_url())
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": report.title,
        "description": report_description(report),
        "url": url,
        "mainEntityOfPage": {"@type": "WebPage", "@id": url},
        "isAccessibleForFree": report.is_free,
        "image": report_image(report),
        "publisher": _publisher(),
    }
    if report.published_at:
        data["datePublished"] = report.published_at.isoformat()
        data["dateModified"] = (report.revised_at or report.published_at).isoformat()
    if report.author:
        data["author"] = {"@type": "Person", "name": report.author.byline_name}
        if report.author.slug:
            data["author"]["url"] = site_url(
                reverse("reports:author", kwargs={"slug": report.author.slug})
            )
    if not report.is_free and body_included:
        data["hasPart"] = {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": BODY_SELECTOR,
        }
    return data
