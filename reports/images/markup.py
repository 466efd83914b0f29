"""The HTML of a picture with renditions: `<picture>` with a WebP `<source>` and the
original format's `<img>` as fallback, each with a `srcset` the browser picks from by the
`sizes` the page gives, and the image's own width and height so nothing shifts as it loads."""

from django.core.files.storage import Storage, default_storage
from django.utils.html import format_html
from django.utils.safestring import mark_safe

# How wide a picture is drawn, for the browser to pick a rendition before layout.
SIZES_BODY = "(min-width: 48rem) 70ch, calc(100vw - 2rem)"
SIZES_COVER = SIZES_BODY
SIZES_LEAD = "(min-width: 48rem) 40rem, calc(100vw - 2rem)"
SIZES_CARD = "(min-width: 48rem) 20rem, calc(100vw - 2rem)"


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
) -> str:
    """The `<picture>` for `renditions` (reports.images.processing.renditions_store), or ""
    when there are none. Lazy and decoded off the main thread, unless `eager` (the picture
    at the top of its page: fetched first)."""
    storage = storage or default_storage
    items = sorted(renditions.get("items") or [], key=lambda item: item["width"])
    if not items:
        return ""
    fallback = rendition_for(renditions, max_width=960) or items[-1]
    loading = (
        'fetchpriority="high" decoding="async"' if eager else 'loading="lazy" decoding="async"'
    )
    fallback_type = "image/png" if renditions.get("fallback") == "png" else "image/jpeg"
    return format_html(
        '<picture{}><source type="image/webp" srcset="{}" sizes="{}">'
        '<source type="{}" srcset="{}" sizes="{}">'
        '<img src="{}" width="{}" height="{}" alt="{}" {} decoding="async"></picture>',
        format_html(' class="{}"', css_class) if css_class else "",
        _srcset(items, "webp", storage),
        sizes,
        fallback_type,
        _srcset(items, "fallback", storage),
        sizes,
        storage.url(fallback["fallback"]),
        renditions["width"],
        renditions["height"],
        alt,
        mark_safe(loading),  # noqa: S308 - one of our two constants
    )
