"""Fixed-window rate limits in the shared cache (Redis in production), and the client
address they are keyed on."""

from dataclasses import dataclass

from allauth.core.internal.httpkit import get_client_ip
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The reader's address, as allauth resolves it for its own login limits: behind nginx
    the X-Forwarded-For entry ALLAUTH_TRUSTED_PROXY_COUNT hops from the right (the one our
    proxy appended, which a client cannot forge), otherwise REMOTE_ADDR. One resolver, so
    every limit and consent record sees the same address. Resolved once per request (the
    page cache, the office ranges and the session records all ask)."""
    if _RESOLVED in request.META:
        return request.META[_RESOLVED]
    try:
        address = get_client_ip(request)
    except ImproperlyConfigured:
        # Fewer X-Forwarded-For entries than trusted proxies: the request did not come
        # through them all. Its own connection is the only address we know.
        address = request.META.get("REMOTE_ADDR") or None
    request.META[_RESOLVED] = address
    return address


# Where a request keeps its resolved address (the WSGI environ, for Django's handler too).
_RESOLVED = "publisher.client_ip"


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int
    message: str


def limit_exceeded(scope: str, key: object, limits: list[Limit]) -> Limit | None:
    """Count one attempt against each limit; return the first limit exceeded, if any."""
    exceeded = None
    for limit in limits:
        cache_key = f"ratelimit:{scope}:{key}:{limit.seconds}"
        cache.add(cache_key, 0, timeout=limit.seconds)
        try:
            used = cache.incr(cache_key)
        except ValueError:  # the key expired between add and incr
            cache.set(cache_key, 1, timeout=limit.seconds)
            used = 1
        if used > limit.count and exceeded is None:
            exceeded = limit
    return exceeded


def limit_reached(scope: str, key: object, limits: list[Limit]) -> Limit | None:
    """The first limit whose count is already used up, without counting an attempt."""
    for limit in limits:
        if (cache.get(f"ratelimit:{scope}:{key}:{limit.seconds}") or 0) >= limit.count:
            return limit
    return None
