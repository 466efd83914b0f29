"""The HTML of a picture with renditions: `<picture>` with a WebP `<source>` and the
original format's `<img>` as fallback, each with a `srcset` the browser picks from by the
`sizes` the page gives; the `<img>` has the image's own width and height, so nothing shifts
as it loads."""

from typing import Any

from django.core.files.storage import Storage, default_storage
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from publisher.site import public_url

# How wide a picture is drawn, for the browser to pick a rendition before layout.
SIZES_BODY = "(min-width: 48rem) 70ch, calc(100vw - 2rem)"
SIZES_COVER = SIZES_BODY
SIZES_LEAD = "(min-width: 48rem) 40rem, calc(100vw - 2rem)"
SIZES_CARD = "(min-width: 48rem) 20rem, calc(100vw - 2rem)"
SIZES_THUMB = "8rem"


def _srcset(items: list[dict], kind: str, storage: Storage) -> str:
    return ", ".join(f"{storage.url(item[kind])} {item['width']}w" for item in items)


def rendition_for(renditions: dict, *, max_width: int) -> dict | None:
    """The widest rendition no wider than `max_width` (else the narrowest)."""
    items = sorted(renditions.get("items") or [], key=lambda item: item["width"])
    if not items:
        return None
    fitting = [item for item in items if item["width"] <= max_width]
    return fitting[-1] if fitting else items[0]


def picture_html(
    *,
    renditions: dict,
    alt: str,
    sizes: str,
    eager: bool = False,
    storage: Storage | None = None,
    css_class: str = "",
    fallback_width: int = 960,
) -> str:
    """The `<picture>` for `renditions` (reports.images.processing.renditions_store), or ""
    when there are none. Lazy and decoded off the main thread, unless `eager` (the picture
    at the top of its page: fetched first)."""
    storage = storage or default_storage
    items = sorted(renditions.get("items") or [], key=lambda item: item["width"])
    if not items:
        return ""
    fallback = rendition_for(renditions, max_width=fallback_width) or items[-1]
    loading = 'fetchpriority="high"' if eager else 'loading="lazy"'
    # Browsers that take WebP pick from the <source>; the others from the <img>'s own
    # srcset in the original's format, and the oldest load its src.
    return format_html(
        '<picture{}><source type="image/webp" srcset="{}" sizes="{}">'
        '<img src="{}" srcset="{}" sizes="{}" width="{}" height="{}" alt="{}" {} '
        'decoding="async"></picture>',
        format_html(' class="{}"', css_class) if css_class else "",
        _srcset(items, "webp", storage),
        sizes,
        storage.url(fallback["fallback"]),
        _srcset(items, "fallback", storage),
        sizes,
        renditions["width"],
        renditions["height"],
        alt,
        mark_safe(loading),  # noqa: S308 - one of our two constants
    )


# Where a cover is shown: the `sizes` it is drawn at, the fallback's width, and whether it is
# the first thing its page shows, fetched first and never lazily: the report page's own
# cover, and the home page's lead, its largest picture (Lighthouse measured a lazy lead
# costing the home page's paint).
COVER_PLACES = {
    "report": (SIZES_COVER, 960, True),
    "lead": (SIZES_LEAD, 960, True),
    "card": (SIZES_CARD, 480, False),
    "thumb": (SIZES_THUMB, 480, False),
}


def cover_html(report: Any, place: str) -> str:
    """A report's cover at one of `COVER_PLACES`, from the renditions on its row (no query,
    no storage call beyond building URLs). A cover stored before renditions existed is shown
    as its one file."""
    if not report.cover_image:
        return ""
    sizes, fallback_width, eager = COVER_PLACES[place]
    storage = report.cover_image.storage
    if (report.cover_renditions or {}).get("source") == report.cover_image.name:
        return picture_html(
            renditions=report.cover_renditions,
            alt=report.cover_alt,
            sizes=sizes,
            eager=eager,
            storage=storage,
            fallback_width=fallback_width,
        )
    return format_html(
        '<img src="{}" width="{}" height="{}" alt="{}" {} decoding="async">',
        report.cover_image.url,
        report.cover_width,
        report.cover_height,
        report.cover_alt,
        mark_safe('fetchpriority="high"' if eager else 'loading="lazy"'),  # noqa: S308
    )


def cover_email(report: Any) -> dict | None:
    """The cover for an email: one JPEG or PNG (many mail clients show no WebP) about as wide
    as an email's column, with its absolute address, width and height."""
    if not report.cover_image:
        return None
    renditions = report.cover_renditions or {}
    item = None
    if renditions.get("source") == report.cover_image.name:
        item = rendition_for(renditions, max_width=1200)
    if item is None:
        url, width, height = report.cover_image.url, report.cover_width, report.cover_height
    else:
        url = report.cover_image.storage.url(item["fallback"])
        width, height = item["width"], item["height"]
    if not width or not height:
        return None
    # Drawn at most 560 px wide, the email's column; the file has twice that for sharp screens.
    shown = min(560, width)
    return {
        "url": public_url(url),
        "width": shown,
        "height": round(height * shown / width),
        "alt": report.cover_alt,
    }


def cover_for_sharing(report: Any) -> tuple[str, int, int] | None:
    """(url, width, height) of the cover for link previews and JSON-LD: at most 1600 wide."""
    if not report.cover_image:
        return None
    renditions = report.cover_renditions or {}
    if renditions.get("source") == report.cover_image.name:
        item = rendition_for(renditions, max_width=1600)
        if item is not None:
            return (
                public_url(report.cover_image.storage.url(item["fallback"])),
                item["width"],
                item["height"],
            )
    return (public_url(report.cover_image.url), report.cover_width, report.cover_height)
