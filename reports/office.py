"""Reading from an office network: the request's network facts, and the session that marks it.

`OfficeNetworkMiddleware` looks the client address up (the trusted-proxy rule of the rate
limits, publisher/ratelimit.py, so a forged X-Forwarded-For grants nothing) on every request:
the answer is `request.office_network`, which the surfaces pass to reports/access.py. Access
is never carried by the session: a reader who leaves the range loses it on their next request.

The session is there for the caches. Its cookie makes every later response private, so
neither nginx nor the page cache stores or serves an entitled page; the very first request
(no cookie yet) is kept from both by the address itself (nginx's `geo` block and
PAGE_CACHE_BYPASS_CHECKS), and its response sets the cookie, which makes it private too.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from accounts.organisations.networks import OfficeNetwork, office_network_for_request
from reports.access import office_licence

SESSION_KEY = "office_licence"


def request_office_network(request: HttpRequest) -> OfficeNetwork | None:
    """The network facts OfficeNetworkMiddleware found for this request (None without it)."""
    return getattr(request, "office_network", None)


class OfficeNetworkMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        network = office_network_for_request(request)
        request.office_network = network  # type: ignore[attr-defined]
        organisation = office_licence(network)
        session = request.session
        marker = {"id": organisation.pk, "name": organisation.name} if organisation else None
        # Written only when it changes: a session write on every page would cost a query.
        if marker is not None and session.get(SESSION_KEY) != marker:
            session[SESSION_KEY] = marker
        elif marker is None and self._has_session(request) and SESSION_KEY in session:
            # Only a reader who has a session can carry the marker: an anonymous reader
            # without one is not made to load (and Vary on) an empty session.
            del session[SESSION_KEY]
        return self.get_response(request)

    @staticmethod
    def _has_session(request: HttpRequest) -> bool:
        return settings.SESSION_COOKIE_NAME in request.COOKIES


def office_licence_name(request: HttpRequest) -> str | None:
    """The organisation a reader is reading through now, for the header and the paywall."""
    organisation = office_licence(request_office_network(request))
    return organisation.name if organisation else None
