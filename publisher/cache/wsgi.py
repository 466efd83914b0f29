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

Logged-in readers' requests are offered to the answers named in PAGE_CACHE_FRONT_ANSWERS
(the shared report page of entitled readers, reports/entitled_page.py), which decide as
strictly and fall back to Django the same way.
"""

from collections.abc import Callable, Iterable
from functools import cache
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.utils.module_loading import import_string

from publisher.cache.pages import hit_headers, page_cache_lookup
from publisher.metrics import FRONT_ANSWERS, PAGE_CACHE_FRONT_HITS

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict, StartResponse], Iterable[bytes]]


Answer = tuple[int, bytes, list[tuple[str, str]]]


@cache
def _answers() -> tuple[Callable[[WSGIRequest], Answer | None], ...]:
    return tuple(import_string(path) for path in settings.PAGE_CACHE_FRONT_ANSWERS)


class PageCacheFront:
    def __init__(self, application: WSGIApp) -> None:
        self.application = application

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        try:
            # WSGIRequest reads the environ lazily; the lookup is stored in it for Django.
            request = WSGIRequest(environ)
            lookup = page_cache_lookup(request)
            if lookup is not None and lookup.entry is not None:
                status, content, headers = lookup.entry
                PAGE_CACHE_FRONT_HITS.inc()
                headers = hit_headers(headers)
            elif lookup is None and (answer := self._answer(request)) is not None:
                status, content, headers = answer
                FRONT_ANSWERS.inc()
            else:
                return self.application(environ, start_response)
        except Exception:
            # A host outside ALLOWED_HOSTS (DisallowedHost), or anything else unexpected:
            # Django's handler runs the same lookup and answers it (400, or its 500 page)
            # as it answers every other request.
            return self.application(environ, start_response)
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [content]

    @staticmethod
    def _answer(request: WSGIRequest) -> Answer | None:
        for answer in _answers():
            found = answer(request)
            if found is not None:
                return found
        return None
