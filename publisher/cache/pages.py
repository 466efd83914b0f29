"""HTTP caching that never mixes readers.

Two layers, one rule:

- `CacheControlMiddleware` sets every response's `Cache-Control`. A response is public only
  when its view is marked (`public_page`, `cached_public_page`) and the reader is provably
  anonymous and nothing in the response is personal: a GET or HEAD, status 200, no session
  cookie on the request, no cookie set by the response (so no CSRF token was rendered into it
  and no flash message was shown), and no session write. Public responses carry
  `public, max-age=PUBLIC_PAGE_MAX_AGE` (with a CDN to purge them, also
  `s-maxage=PUBLIC_PAGE_SHARED_MAX_AGE`), `Vary: Cookie`, and the surrogate keys of what
  they show in `Surrogate-Key` and `Cache-Tag` (publisher/cache/cdn.py); every other
  response is `private, no-store`, without keys, unless its view already said `private` or
  `no-store` itself. The
  one exception is a `shared_asset` view (the favicon), whose bytes depend on the code
  alone: public for everyone.
- `cached_public_page` views also go through `PageCacheMiddleware`, a server-side page
  cache (Redis in production) for the same anonymous responses, first in MIDDLEWARE; in
  production `publisher/cache/wsgi.py` answers its hits before Django's handler, with
  the same lookup (`page_cache_lookup`). Entries are checked against the generation
  tokens of `publisher/cache/generations.py`, so an edit retires them at once.

The page cache is looked up only for requests without a session cookie or a flash-message
cookie: such a request cannot be logged in, so a cached page can never reach the wrong reader.
"""

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache, wraps

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.module_loading import import_string

from publisher.cache.cdn import PAGES_KEY, surrogate_keys_add, surrogate_keys_for
from publisher.cache.generations import (
    CACHE_ERRORS,
    current_generation,
    generations_settled,
    versioned_get,
    versioned_set,
)
from publisher.replica import served_from_replica

logger = logging.getLogger(__name__)


_SAFE_METHODS = {"GET", "HEAD"}


@cache
def _bypass_checks() -> tuple[Callable[[HttpRequest], bool], ...]:
    return tuple(import_string(path) for path in settings.PAGE_CACHE_BYPASS_CHECKS)


def request_may_be_anonymous_cached(request: HttpRequest) -> bool:
    """True when the request cannot belong to a logged-in reader or carry a flash message,
    and no app says it is personal without a cookie (PAGE_CACHE_BYPASS_CHECKS: a reader from
    an office range reads under a licence before their first session cookie)."""
    return (
        request.method in _SAFE_METHODS
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
        and not any(check(request) for check in _bypass_checks())
    )


def response_is_shareable(request: HttpRequest, response: HttpResponseBase) -> bool:
    """May a shared cache store this response and give it to any other anonymous reader?"""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    return (
        request_may_be_anonymous_cached(request)
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        # A CSRF token rendered into the page makes it personal even when the cookie was
        # already set (the middleware then sets it again, but do not rely on that here).
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not (user is not None and user.is_authenticated)
        and not (session is not None and session.modified)
    )


def _already_private(response: HttpResponseBase) -> bool:
    value = response.headers.get("Cache-Control", "").lower()
    return "private" in value or "no-store" in value


class CacheControlMiddleware:
    """Public, short-lived caching for anonymous pages; `private, no-store` for the rest.

    Sits below WhiteNoise (static files keep their far-future headers) and above the
    session, CSRF and message middleware, so it sees the cookies they set.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        asset_max_age = getattr(response, "shared_asset_max_age", None)
        if asset_max_age is not None and response.status_code == 200 and not response.cookies:
            # The same bytes for every reader, logged in or not (`shared_asset`).
            del response.headers["Cache-Control"]
            patch_cache_control(response, public=True, max_age=asset_max_age)
            return response
        max_age = getattr(response, "public_max_age", None)
        if (
            max_age is not None
            and response_is_shareable(request, response)
            and _replica_render_settled(request)
        ):
            _make_public(request, response, max_age=max_age)
        else:
            # Keys name what a shared cache may keep: nothing here.
            del response.headers[SURROGATE_KEY_HEADER]
            del response.headers[CACHE_TAG_HEADER]
            if not _already_private(response):
                del response.headers["Cache-Control"]
                patch_cache_control(response, private=True, no_store=True)
        return response


SURROGATE_KEY_HEADER = "Surrogate-Key"
CACHE_TAG_HEADER = "Cache-Tag"


def _make_public(request: HttpRequest, response: HttpResponseBase, *, max_age: int) -> None:
    shared_max_age = getattr(response, "public_shared_max_age", 0)
    keys = surrogate_keys_for(request)
    if shared_max_age and keys is not None:
        # Purged by key on every change: a shared cache may keep it far longer than a
        # browser, which nothing purges.
        patch_cache_control(response, public=True, max_age=max_age, s_maxage=shared_max_age)
    else:
        patch_cache_control(response, public=True, max_age=max_age)
    if keys is None:
        # Too many to name: only a change of every page purges it, so it is shared briefly.
        keys = [PAGES_KEY]
    if keys:
        response.headers[SURROGATE_KEY_HEADER] = " ".join(keys)
        response.headers[CACHE_TAG_HEADER] = ",".join(keys)
    patch_vary_headers(response, ["Cookie"])


def _replica_render_settled(request: HttpRequest) -> bool:
    """A page rendered from the read replica soon after a change may lack it: shared caches
    (nginx, the page cache, browsers) get it only once the replica surely holds the changes
    behind the current generations (publisher/cache/generations.py)."""
    if not served_from_replica(request):
        return True
    lookup = request.META.get(LOOKUP_META)
    if isinstance(lookup, PageLookup):
        return generations_settled(lookup.generations)
    generation = current_generation()
    return generation is not None and generations_settled((generation,))


def public_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let anonymous responses of this view be cached publicly for PUBLIC_PAGE_MAX_AGE, and
    by a CDN that is purged by key for PUBLIC_PAGE_SHARED_MAX_AGE."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        # Read by CacheControlMiddleware: attributes of our own on Django's response.
        response.public_max_age = settings.PUBLIC_PAGE_MAX_AGE  # type: ignore[attr-defined]
        response.public_shared_max_age = settings.PUBLIC_PAGE_SHARED_MAX_AGE  # type: ignore[attr-defined]
        return response

    return wrapper


def shared_asset(
    *, max_age: int
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Let this view's responses be cached publicly for `max_age`, whoever asked: for files
    that depend on nothing but the code (the favicon), never on the reader or the content.
    The view must not read the session or the user."""

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
            response = view(request, *args, **kwargs)
            # Read by CacheControlMiddleware: an attribute of our own on Django's response.
            response.shared_asset_max_age = max_age  # type: ignore[attr-defined]
            return response

        return wrapper

    return decorator


def _page_key(request: HttpRequest, params: Iterable[str]) -> str:
    query = "&".join(f"{name}={request.GET.get(name, '')}" for name in params)
    digest = hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()[:40]
    return f"pagecache:page:{digest}"


@dataclass(frozen=True)
class PageCacheRule:
    params: tuple[str, ...]
    report_slug: str | None


def cached_public_page(
    *, params: Iterable[str] = (), report_slug: str | None = None, keys: Iterable[str] = ()
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """`public_page`, plus the server-side page cache (`PageCacheMiddleware`).

    `params` names the query parameters the page depends on (all others are ignored, so
    `?utm_source=` cannot multiply entries); `report_slug` names the URL argument holding the
    report's slug, whose own generation then also guards the entry. `keys` are surrogate
    keys every response of the view carries (the view may add its own,
    `publisher.cache.cdn.surrogate_keys_add`).
    """
    static_keys = tuple(keys)

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def keyed(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
            surrogate_keys_add(request, static_keys)
            return view(request, *args, **kwargs)

        wrapper = public_page(keyed)
        # Read by the page cache: an attribute of our own on the view function.
        wrapper.page_cache = PageCacheRule(tuple(params), report_slug)  # type: ignore[attr-defined]
        return wrapper

    return decorator


def _storable(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Only what CacheControlMiddleware made public (it checked the reader, the cookies, the
    CSRF token and the session), from a GET, complete."""
    return (
        request.method == "GET"
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        and "public" in response.headers.get("Cache-Control", "")
    )


@dataclass
class PageLookup:
    """One request's look into the page cache: the entry found (or None) and what a fresh
    response is stored under."""

    key: str
    entry: tuple[int, bytes, list[tuple[str, str]]] | None
    generations: tuple[str, ...]


# Where a request carries its lookup (WSGI environ / request.META), so the WSGI front
# (publisher/cache/wsgi.py) and this middleware never ask Redis twice for one request.
LOOKUP_META = "publisher.page_cache_lookup"


_UNAVAILABLE = "unavailable"


def page_cache_lookup(request: HttpRequest) -> PageLookup | None:
    """The page cache's answer for this request, or None when it may not use the cache
    (not a cached page, a session or flash-message cookie, plain HTTP under HTTPS-only) or
    Redis is down. Raises DisallowedHost for a host outside ALLOWED_HOSTS, hits included."""
    if LOOKUP_META in request.META:
        found = request.META[LOOKUP_META]
        return None if found == _UNAVAILABLE else found
    rule, kwargs = _rule(request)
    if rule is None:
        request.META[LOOKUP_META] = _UNAVAILABLE
        return None
    request.get_host()  # ALLOWED_HOSTS is checked on hits too
    key = _page_key(request, rule.params)
    slug = str(kwargs[rule.report_slug]) if rule.report_slug else None
    try:
        entry, generations = versioned_get(key, slug=slug)
    except CACHE_ERRORS:
        logger.warning("Page cache unavailable", exc_info=True)
        request.META[LOOKUP_META] = _UNAVAILABLE
        return None
    lookup = PageLookup(key=key, entry=entry, generations=generations)
    request.META[LOOKUP_META] = lookup
    return lookup


def _rule(request: HttpRequest) -> tuple[PageCacheRule | None, dict]:
    if not settings.PAGE_CACHE_SECONDS or not request_may_be_anonymous_cached(request):
        return None, {}
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return None, {}
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None, {}
    return getattr(match.func, "page_cache", None), match.kwargs


class PageCacheMiddleware:
    """The server-side cache of anonymous pages, first in MIDDLEWARE.

    A hit answers before any other middleware runs: the stored response carries every
    header the first one had (security headers, Cache-Control, Vary) and was only stored
    because it was public. Requests that might be a logged-in reader's (a session cookie) or
    carry a flash message never look into the cache; neither does a plain-HTTP request when
    HTTPS is enforced (SecurityMiddleware redirects it first). In production the WSGI front
    (publisher/cache/wsgi.py) answers hits before Django's handler even starts; this
    middleware answers them for every other way in (the test client, runserver, ASGI) and
    stores the misses.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        lookup = page_cache_lookup(request)
        if lookup is None:
            return self.get_response(request)
        if lookup.entry is not None:
            status, content, headers = lookup.entry
            hit = HttpResponse(content, status=status)
            for name, value in hit_headers(headers):
                hit.headers[name] = value
            return hit
        response = self.get_response(request)
        if isinstance(response, HttpResponse) and _storable(request, response):
            headers = [(name, value) for name, value in response.headers.items()]
            try:
                versioned_set(
                    lookup.key,
                    (response.status_code, response.content, headers),
                    generations=lookup.generations,
                    timeout=settings.PAGE_CACHE_SECONDS,
                )
            except CACHE_ERRORS:
                logger.warning("Page cache unavailable", exc_info=True)
            else:
                response.headers["X-Page-Cache"] = "miss"
        return response


def hit_headers(stored: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers of a hit: exactly the stored response's, marked as a hit."""
    return [*stored, ("X-Page-Cache", "hit")]
