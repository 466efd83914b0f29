"""Generation tokens: what retires cached pages and fragments.

Every cached entry is stored with the generations it was rendered under and served only
while they are current. Publishing or editing any report bumps the global generation (home,
lists, feeds, sitemap and every report page, whose related and citing lists may change); a
comment change bumps its report's own generation (the anonymous page shows the comment
count). Writes bump them at once and again on commit, so an entry rendered from old rows ends
up under a retired generation and is never served again.
"""

import logging
import secrets
from typing import Any

from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

GENERATION_KEY = "pagecache:gen"


# A cache outage makes pages slower, never unavailable.
CACHE_ERRORS = (RedisError, OSError)


def _report_generation_key(slug: str) -> str:
    return f"pagecache:report:{slug}"


def _new_generation() -> str:
    return secrets.token_hex(6)


def _bump(key: str) -> None:
    # A write must not fail because the cache is down: its pages then stay cached at most
    # PAGE_CACHE_SECONDS (comment threads a minute).
    try:
        cache.set(key, _new_generation(), timeout=None)
    except CACHE_ERRORS:
        logger.warning("Could not invalidate cached pages (%s)", key, exc_info=True)


def _bump_now_and_on_commit(key: str) -> None:
    # Now, so the writer's next read (and a test inside one transaction) sees the change;
    # again after commit, to retire whatever another process rendered from the old rows in
    # between and stored under the first bump.
    _bump(key)
    transaction.on_commit(lambda: _bump(key))


def page_cache_invalidate_all() -> None:
    """Forget every cached page (a report was published, edited or removed)."""
    _bump_now_and_on_commit(GENERATION_KEY)


def page_cache_invalidate_report(*, slug: str) -> None:
    """Forget the cached pages and comment threads of one report (its comments changed)."""
    _bump_now_and_on_commit(_report_generation_key(slug))


def versioned_get(key: str, *, slug: str | None = None) -> tuple[Any, tuple[str, ...]]:
    """One cache round trip: the entry at `key` if it was stored under the current
    generations, and those generations (to store a fresh entry under)."""
    entries, generations = versioned_get_many([key], slug=slug)
    return entries[key], generations


def versioned_get_many(
    keys: list[str], *, slug: str | None = None
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """`versioned_get` for several entries kept under the same generations, in one round
    trip: each key's entry, or None where it is missing or older than the generations."""
    generation_keys = [GENERATION_KEY] + ([_report_generation_key(slug)] if slug else [])
    found = cache.get_many([*keys, *generation_keys])
    generations = []
    for generation_key in generation_keys:
        generation = found.get(generation_key)
        if generation is None:
            cache.add(generation_key, _new_generation(), timeout=None)
            generation = cache.get(generation_key)
        generations.append(generation)
    current = tuple(generations)
    entries = {}
    for key in keys:
        entry = found.get(key)
        entries[key] = entry[1] if entry is not None and entry[0] == current else None
    return entries, current


def versioned_set(key: str, value: object, *, generations: tuple[str, ...], timeout: int) -> None:
    cache.set(key, (generations, value), timeout=timeout)
