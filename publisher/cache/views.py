"""The page-cache generation, for nginx's cache keys (publisher/cache/proxy.py)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from publisher.cache.generations import current_generation

GENERATION_HEADER = "X-Page-Generation"


@require_safe
def page_generation(request: HttpRequest) -> HttpResponse:
    """The generation nginx puts in front of its page keys; public, so nginx caches it
    (for PUBLIC_PAGE_MAX_AGE, or until a change purges it). Never longer, even when pages
    are shared for hours (PUBLIC_PAGE_SHARED_MAX_AGE): should a purge of nginx fail, the
    generation it keys pages by still moves on within that minute."""
    generation = current_generation()
    if generation is None:
        # The cache is down: nginx keeps serving its last copy (proxy_cache_use_stale), or
        # keys pages by nothing until the cache is back.
        response = HttpResponse(status=503)
        response["Cache-Control"] = "private, no-store"
        return response
    response = HttpResponse(b"", content_type="text/plain")
    response[GENERATION_HEADER] = generation
    # Read by CacheControlMiddleware, as `public_page` sets it, without a shared lifetime.
    response.public_max_age = settings.PUBLIC_PAGE_MAX_AGE  # type: ignore[attr-defined]
    return response
