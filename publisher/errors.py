"""Errors: the one application error that services raise for a person to read, the
answer to an uncaught exception (503 when the database is unreachable, 500 otherwise), and
a page for a request with the wrong method (405).

An outage of PostgreSQL (a restart, a failover) is not a bug in the request: a 503 with
Retry-After tells load balancers, crawlers and Stripe's webhook deliveries to come back,
and tells a reader the page will return. Django calls `handler500` inside its `except`
block, so the exception being handled is still in `sys.exc_info()`.
"""

import sys
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.template import loader
from django.views import defaults

RETRY_AFTER_SECONDS = 30


class ApplicationError(Exception):
    """An action that is not allowed or not valid. `message` is written for the person who
    tried; `status` is the HTTP status a view answers with when it shows the message."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def server_error(request: HttpRequest) -> HttpResponse:
    if not isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        return defaults.server_error(request)
    response = HttpResponse(loader.render_to_string("503.html"), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class MethodNotAllowedPageMiddleware:
    """Give the empty 405 of `require_POST` and its kin a page.

    A reader reaches a form's address by a bookmark, a reload or a shared link, and an empty
    body shows a blank screen. The original response keeps its status, its Allow header and
    whatever its view's decorators set (never_cache, cookies); only its body is filled in.
    Last in MIDDLEWARE, so the page renders with the reader's session, user and CSP nonce.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not response.content:
            allowed = {method.strip() for method in response["Allow"].split(",")}
            response.content = loader.render_to_string(
                "405.html",
                {"form_only": request.method in {"GET", "HEAD"} and "POST" in allowed},
                request=request,
            )
        return response
