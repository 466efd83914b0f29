"""HTTP caching that never mixes readers.

Two layers, one rule:

- `CacheControlMiddleware` sets every response's `Cache-Control`. A response is public only
  when its view is marked (`public_page`, `cached_public_page`) and the reader is provably
  anonymous and nothing in the response is personal: a GET or HEAD, status 200, no session
  cookie on the request, no cookie set by the response (so no CSRF token was rendered into it
  and no flash message was shown), and no session write. Public responses carry
  `public, max-age=PUBLIC_PAGE_MAX_AGE` and `Vary: Cookie`; every other response is
  `private, no-store` unless its view already said `private` or `no-store` itself.
- `cached_public_page` adds a server-side page cache (Redis in production) for the same
  anonymous responses. Entries are checked against generation tokens: publishing or editing
  any report bumps the global generation (home, lists, feeds, sitemap and every report page,
  whose related and citing lists may change); a comment change bumps its report's own
  generation (the anonymous page shows the comment count). Writes bump them at once and
  again on commit, so a page rendered from old rows ends up under a retired generation and
  is never served again.

The page cache is looked up only for requests without a session cookie or a flash-message
cookie: such a request cannot be logged in, so a cached page can never reach the wrong reader.
"""

import hashlib
import secrets
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import SimpleTemplateResponse
from django.utils.cache import patch_cache_control, patch_vary_headers

GENERATION_KEY = "pagecache:gen"
_SAFE_METHODS = {"GET", "HEAD"}
# Headers of the view's own response worth keeping; everything else (security headers,
# Cache-Control, Vary) is added again by the middleware on every response, cached or not.
_STORED_HEADERS = {"content-type", "content-language", "last-modified", "x-robots-tag", "link"}


def _report_generation_key(slug: str) -> str:
    return f"pagecache:report:{slug}"


def _new_generation() -> str:
    return secrets.token_hex(6)


def _bump(key: str) -> None:
    cache.set(key, _new_generation(), timeout=None)


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
    generation_keys = [GENERATION_KEY] + ([_report_generation_key(slug)] if slug else [])
    found = cache.get_many([key, *generation_keys])
    generations = []
    for generation_key in generation_keys:
        generation = found.get(generation_key)
        if generation is None:
            cache.add(generation_key, _new_generation(), timeout=None)
            generation = cache.get(generation_key)
        generations.append(generation)
    entry = found.get(key)
    if entry is not None and entry[0] == tuple(generations):
        return entry[1], tuple(generations)
    return None, tuple(generations)


def versioned_set(key: str, value: object, *, generations: tuple[str, ...], timeout: int) -> None:
    cache.set(key, (generations, value), timeout=timeout)


def request_may_be_anonymous_cached(request: HttpRequest) -> bool:
    """True when the request cannot belong to a logged-in reader or carry a flash message."""
    return (
        request.method in _SAFE_METHODS
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        and CookieStorage.cookie_name not in request.COOKIES
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
        max_age = getattr(response, "public_max_age", None)
        if max_age is not None and response_is_shareable(request, response):
            patch_cache_control(response, public=True, max_age=max_age)
            patch_vary_headers(response, ["Cookie"])
        elif not _already_private(response):
            del response.headers["Cache-Control"]
            patch_cache_control(response, private=True, no_store=True)
        return response


def public_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Let anonymous responses of this view be cached publicly for PUBLIC_PAGE_MAX_AGE."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        response.public_max_age = settings.PUBLIC_PAGE_MAX_AGE
        return response

    return wrapper


def _page_key(request: HttpRequest, params: Iterable[str]) -> str:
    query = "&".join(f"{name}={request.GET.get(name, '')}" for name in params)
    digest = hashlib.sha256(f"{request.path}?{query}".encode()).hexdigest()[:40]
    return f"pagecache:page:{digest}"


def _storable(request: HttpRequest, response: HttpResponseBase) -> bool:
    return (
        request.method == "GET"
        and response.status_code == 200
        and not response.streaming
        and not response.cookies
        and not _already_private(response)
        and not request.META.get("CSRF_COOKIE_NEEDS_UPDATE")
        and not (hasattr(request, "session") and request.session.modified)
        and not (hasattr(request, "_messages") and len(messages.get_messages(request)))
    )


def cached_public_page(
    *, params: Iterable[str] = (), report_slug: str | None = None
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """`public_page`, plus a server-side cache of the anonymous response.

    `params` names the query parameters the page depends on (all others are ignored, so
    `?utm_source=` cannot multiply entries); `report_slug` names the URL argument holding the
    report's slug, whose own generation then also guards the entry.
    """
    params = tuple(params)

    def decorator(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        public_view = public_page(view)

        @wraps(view)
        def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
            if not settings.PAGE_CACHE_SECONDS or not request_may_be_anonymous_cached(request):
                return public_view(request, *args, **kwargs)
            key = _page_key(request, params)
            slug = str(kwargs[report_slug]) if report_slug else None
            entry, generations = versioned_get(key, slug=slug)
            if entry is not None:
                status, content, headers = entry
                response = HttpResponse(content, status=status)
                for name, value in headers:
                    response.headers[name] = value
                response.headers["X-Page-Cache"] = "hit"
                response.public_max_age = settings.PUBLIC_PAGE_MAX_AGE
                return response
            response = public_view(request, *args, **kwargs)
            if _storable(request, response):

                def store(rendered: HttpResponseBase) -> None:
                    headers = [
                        (name, value)
                        for name, value in rendered.headers.items()
                        if name.lower() in _STORED_HEADERS
                    ]
                    versioned_set(
                        key,
                        (rendered.status_code, rendered.content, headers),
                        generations=generations,
                        timeout=settings.PAGE_CACHE_SECONDS,
                    )
                    rendered.headers["X-Page-Cache"] = "miss"

                # Template responses (the sitemap) are rendered after the view returns.
                if isinstance(response, SimpleTemplateResponse) and not response.is_rendered:
                    response.add_post_render_callback(store)
                else:
                    store(response)
            return response

        return wrapper

    return decorator
