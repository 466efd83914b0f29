from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import strip_tags

from reports.rendering import render_markdown

register = template.Library()


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
def teaser_text(markdown_source: str) -> str:
    """The teaser as plain text for cards and descriptions (no Markdown punctuation)."""
    return strip_tags(render_markdown(markdown_source)).strip()
