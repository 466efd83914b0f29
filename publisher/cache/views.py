"""The page-cache generation, for nginx's cache keys (publisher/cache/proxy.py)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from publisher.cache.generations import current_generation
from publisher.cache.pages import public_page

GENERATION_HEADER = "X-Page-Generation"


@require_safe
@public_page
def page_generation(request: HttpRequest) -> HttpResponse:
    """The generation nginx puts in front of its page keys; public, so nginx caches it
    (for PUBLIC_PAGE_MAX_AGE, or until a change purges it)."""
    generation = current_generation()
    if generation is None:
        # The cache is down: nginx keeps serving its last copy (proxy_cache_use_stale), or
        # keys pages by nothing until the cache is back.
        response = HttpResponse(status=503)
        response["Cache-Control"] = "private, no-store"
        return response
    response = HttpResponse(b"", content_type="text/plain")
    response[GENERATION_HEADER] = generation
    return response
