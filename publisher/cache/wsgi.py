"""Page-cache hits answered in front of Django's request handler.

A hit from `PageCacheMiddleware` still pays for Django's handler around it: the request
signals (which check every database connection), the middleware chain's set-up, an
`HttpResponse` with a dozen headers and its conversion back to WSGI. For the most common
request of all, an anonymous reader opening a shared report, that was most of the work
(measured in `make bench`: about two thirds of the CPU of a hit inside the application).

`PageCacheFront` wraps the WSGI application and asks the same question the middleware asks,
with the same function (`page_cache_lookup`): a GET or HEAD of a cached page, with no session
or flash-message cookie, over HTTPS where HTTPS is enforced, for an allowed host. A hit is
returned as stored: the very headers the full path produced for the first reader (security
headers, CSP, `Cache-Control: public`, `Vary: Cookie`). Anything else, a host outside
ALLOWED_HOSTS included, goes to Django unchanged, carrying the lookup so that the miss is not
looked up twice.
"""

from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from django.core.handlers.wsgi import WSGIRequest

from publisher.cache.pages import hit_headers, page_cache_lookup
from publisher.metrics import PAGE_CACHE_FRONT_HITS

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


class PageCacheFront:
    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        try:
            # WSGIRequest reads the environ lazily; the lookup is stored in it for Django.
            lookup = page_cache_lookup(WSGIRequest(environ))
        except Exception:
            # A host outside ALLOWED_HOSTS (DisallowedHost), or anything else unexpected:
            # Django's handler runs the same lookup and answers it (400, or its 500 page)
            # as it answers every other request.
            return self.application(environ, start_response)
        if lookup is None or lookup.entry is None:
            return self.application(environ, start_response)
        status, content, headers = lookup.entry
        PAGE_CACHE_FRONT_HITS.inc()
        start_response(f"{status} {HTTPStatus(status).phrase}", hit_headers(headers))
        return [content]
