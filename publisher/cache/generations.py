"""Generation tokens: what retires cached pages and fragments.

Every cached entry is stored with the generations it was rendered under and served only
while they are current. Publishing or editing any report bumps the global generation (home,
lists, feeds, sitemap and every report page, whose related and citing lists may change); a
comment change bumps its report's own generation (the anonymous page shows the comment
count). Writes bump them at once and again on commit, so an entry rendered from old rows ends
up under a retired generation and is never served again. nginx keys its own cached pages by
the global generation (publisher/cache/proxy.py): after each commit its copy of the
generation is purged, and a report's comment change purges that report's page. A CDN in
front (publisher/cache/cdn.py) is then asked, off the request, to purge the surrogate keys
the change names: exactly the pages it affected, or every page when it names none.

With a read replica (publisher/replica.py) a page rendered after the commit may still come
from rows the replica has not replayed yet. Each generation therefore carries the time it
was made, and nothing read from the replica is stored under a generation younger than the
replica may lag (`generations_settled`): such a page is served, never kept, until the
replica is sure to hold the change.
"""

import logging
import secrets
import time
from collections.abc import Callable, Collection, Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from redis.exceptions import RedisError

from publisher.cache.cdn import PAGES_KEY, cdn_purge_configured
from publisher.cache.proxy import GENERATION_PROXY_KEY, proxy_page_key, proxy_purge
from publisher.celery import enqueue
from publisher.replica import reading_from_replica, replica_may_lack

logger = logging.getLogger(__name__)

GENERATION_KEY = "pagecache:gen"


# A cache outage makes pages slower, never unavailable.
CACHE_ERRORS = (RedisError, OSError)


def _report_generation_key(slug: str) -> str:
    return f"pagecache:report:{slug}"


def _new_generation() -> str:
    # When it was made (milliseconds, hex), then the part that makes it unique.
    return f"{int(time.time() * 1000):x}.{secrets.token_hex(6)}"


def _made_at(generation: str) -> float:
    stamp, dot, _ = generation.partition(".")
    try:
        return int(stamp, 16) / 1000 if dot else 0.0
    except ValueError:
        return 0.0  # a token without its time (made before tokens had one): long ago


def generations_settled(generations: tuple[str, ...]) -> bool:
    """Whether the replica surely holds the changes that made these generations."""
    return not any(replica_may_lack(written_at=_made_at(g)) for g in generations)


def _bump(key: str) -> None:
    # A write must not fail because the cache is down: its pages then stay cached at most
    # PAGE_CACHE_SECONDS (comment threads a minute).
    try:
        cache.set(key, _new_generation(), timeout=None)
    except CACHE_ERRORS:
        logger.warning("Could not invalidate cached pages (%s)", key, exc_info=True)


def _bump_now_and_on_commit(
    key: str, *, purge: Callable[[], None], cdn_keys: Callable[[], Iterable[str]]
) -> None:
    # Now, so the writer's next read (and a test inside one transaction) sees the change;
    # again after commit, to retire whatever another process rendered from the old rows in
    # between and stored under the first bump. nginx and the CDN are purged after that
    # second bump, so what they fetch next is rendered from the committed rows.
    _bump(key)

    def after_commit() -> None:
        _bump(key)
        purge()
        _request_cdn_purge(cdn_keys)

    transaction.on_commit(after_commit)


def _request_cdn_purge(cdn_keys: Callable[[], Iterable[str]]) -> None:
    if not cdn_purge_configured():
        return
    try:
        # Named after the commit, from the committed rows (the admin saves a report's
        # topics after the report itself, in the same transaction).
        keys = sorted(set(cdn_keys()))
        if keys:
            enqueue("publisher.cache.tasks.purge_cdn_keys", keys)
    except Exception:
        # The change has committed: a purge that cannot even be queued (the broker is
        # down) must not fail it. The pages' shared lifetime bounds what readers see.
        logger.exception("Could not request a CDN purge")


def _purge_generation() -> None:
    proxy_purge(keys=[GENERATION_PROXY_KEY])


def _every_page() -> list[str]:
    return [PAGES_KEY]


def page_cache_invalidate_all(*, cdn_keys: Callable[[], Iterable[str]] | None = None) -> None:
    """Forget every cached page (a report was published, edited or removed) in Django's
    cache and nginx. At the CDN, the pages carrying `cdn_keys()` (called once the change has
    committed), or every page when the change cannot say which it affected."""
    _bump_now_and_on_commit(
        GENERATION_KEY, purge=_purge_generation, cdn_keys=cdn_keys or _every_page
    )


def page_cache_invalidate_report(*, slug: str, cdn_keys: Collection[str] = ()) -> None:
    """Forget the cached pages and comment threads of one report (its comments changed);
    at the CDN, the pages carrying `cdn_keys`."""

    def purge_report_page() -> None:
        if not settings.PROXY_PURGE_URL:
            return
        generation = current_generation()
        if generation is not None:
            path = reverse("reports:detail", kwargs={"slug": slug})
            proxy_purge(keys=[proxy_page_key(generation=generation, path=path)])

    _bump_now_and_on_commit(
        _report_generation_key(slug), purge=purge_report_page, cdn_keys=lambda: cdn_keys
    )


def page_cache_retire_report(*, slug: str) -> None:
    """Retire what Django's cache holds of one report's page (its entries under the report's
    generation), purging no shared cache: for a save that bypassed the services, which
    purge what they change themselves."""
    _bump_now_and_on_commit(_report_generation_key(slug), purge=lambda: None, cdn_keys=lambda: ())


def current_generation() -> str | None:
    """The global generation (a first one if there is none), or None when the cache is
    unreachable."""
    try:
        generation = cache.get(GENERATION_KEY)
        if generation is None:
            cache.add(GENERATION_KEY, _new_generation(), timeout=None)
            generation = cache.get(GENERATION_KEY)
        return generation
    except CACHE_ERRORS:
        logger.warning("Could not read the page-cache generation", exc_info=True)
        return None


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
    entries, generations, _ = versioned_get_many_with(keys, slug=slug)
    return entries, generations


def versioned_get_many_with(
    keys: list[str], *, slug: str | None = None, also: Iterable[str] = ()
) -> tuple[dict[str, Any], tuple[str, ...], dict[str, Any]]:
    """`versioned_get_many`, reading in the same round trip the plain cache keys `also`
    (what is found of them, as stored)."""
    others = list(also)
    generation_keys = [GENERATION_KEY] + ([_report_generation_key(slug)] if slug else [])
    found = cache.get_many([*keys, *generation_keys, *others])
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
    return entries, current, {key: found[key] for key in others if key in found}


def versioned_set(key: str, value: object, *, generations: tuple[str, ...], timeout: int) -> None:
    """Store `value` under these generations, unless it was read from a replica that may
    not hold the change behind them yet."""
    if reading_from_replica() and not generations_settled(generations):
        return
    cache.set(key, (generations, value), timeout=timeout)
