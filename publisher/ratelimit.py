"""Fixed-window rate limits in the shared cache (Redis in production)."""

from dataclasses import dataclass

from django.core.cache import cache


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
