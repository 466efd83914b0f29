from django import template
from django.conf import settings

from accounts.sessions.devices import device_summary as summarise

register = template.Library()


@register.filter
def device_summary(user_agent: str) -> str:
    """ "Firefox on Windows" for a session's User-Agent (accounts.sessions.devices)."""
    return summarise(user_agent)


@register.simple_tag
def max_sessions() -> int:
    """MAX_SESSIONS_PER_USER, for the pages that explain the limit."""
    return settings.MAX_SESSIONS_PER_USER
