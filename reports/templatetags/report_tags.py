import json
from datetime import datetime
from functools import lru_cache

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from reports.images.markup import cover_html
from reports.models import KIND_PLURALS
from reports.rendering import markdown_text

register = template.Library()

# The characters that could close or confuse a <script> element, as JSON escapes
# (the same set Django's json_script uses).
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


@register.filter
def published_time(value: datetime | None) -> str:
    """'Apr 16, 2021, 07:58am EDT' in the site's time zone."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    # Django's "a" renders "a.m."; the house style is "07:58am".
    meridiem = date_format(local, "A").lower()
    return f"{date_format(local, 'M j, Y, h:i')}{meridiem} {date_format(local, 'T')}"


@register.filter
def published_date(value: datetime | None) -> str:
    """'Apr 16, 2021' for lists, where the time of day is noise."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value), "M j, Y")


@register.filter
def datetime_attribute(value: datetime | None) -> str:
    """A `<time datetime>` value: ISO 8601 in the site's time zone, to the second.

    Django's "c" format carries microseconds, and HTML allows at most three digits of a
    fraction of a second; readers and machines need no more than the second.
    """
    if value is None:
        return ""
    return timezone.localtime(value).isoformat(timespec="seconds")


@register.filter
def teaser_text(markdown_source: str) -> str:
    """The teaser as plain text for cards and descriptions (no Markdown punctuation)."""
    return markdown_text(markdown_source)


@register.simple_tag
def cover_picture(report: object, place: str) -> str:
    """A report's cover with its renditions: `{% cover_picture report "card" %}`."""
    return cover_html(report, place)


@register.simple_tag
def json_ld(data: dict) -> SafeString:
    """Structured data as an escaped `application/ld+json` block.

    Browsers never execute this type, so CSP does not apply to it and it carries no nonce:
    anonymous report pages are cached publicly, and a nonce baked into shared HTML would be
    no secret at all.
    """
    payload = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_SCRIPT_ESCAPES)
    return format_html(
        '<script type="application/ld+json">{}</script>',
        mark_safe(payload),  # noqa: S308 - JSON with <, > and & escaped above
    )


@register.simple_tag
def report_kinds() -> list[tuple[str, str, str]]:
    """(kind, plural label, URL) for the section navigation on every page."""
    return _kind_links(get_script_prefix())


@lru_cache(maxsize=8)
def _kind_links(script_prefix: str) -> list[tuple[str, str, str]]:
    # Reversed once per process (and URL prefix): the navigation is on every page, and
    # reversing its links costs a noticeable share of rendering a report page.
    return [
        (str(kind), label, reverse("reports:kind", kwargs={"kind": kind}))
        for kind, label in KIND_PLURALS.items()
    ]
