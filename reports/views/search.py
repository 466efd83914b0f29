"""The search page: the form and this reader's results (reports/search.py decides the matches),
within a limit per client address."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from publisher.cache.cdn import surrogate_keys_add
from publisher.cache.pages import public_page
from publisher.ratelimit import Limit, client_ip, limit_exceeded
from reports.access import is_entitled_reader
from reports.office import request_office_network
from reports.search import SearchForm, search_reports
from reports.surrogate_keys import SEARCH

MINUTE_MESSAGE = "You have searched very often in the last minute. Please wait a minute."
HOUR_MESSAGE = "You have searched very often in the last hour. Please wait an hour."


def search_limits() -> list[Limit]:
    """Searches from one address a minute and an hour (SEARCH_LIMIT_PER_MINUTE, _PER_HOUR:
    30 and 300 unless set), counted only when a search runs: not the empty page, a blank
    query or one the form refused. A person reading results runs a few searches a minute;
    30 in a minute, or 300 in an hour (one every 12 seconds for an hour), is a script
    working through queries. Readers who may read every body are not counted: search tells
    them nothing they cannot read, and a team's seats often share an office's one address.
    """
    windows = [
        (settings.SEARCH_LIMIT_PER_MINUTE, 60, MINUTE_MESSAGE),
        (settings.SEARCH_LIMIT_PER_HOUR, 3600, HOUR_MESSAGE),
    ]
    return [Limit(count, seconds, message) for count, seconds, message in windows if count]


@require_safe
@public_page
def search(request: HttpRequest) -> HttpResponse:
    # Any report's change may change any search's results.
    surrogate_keys_add(request, [SEARCH])
    form = SearchForm(request.GET or None)
    page = None
    if form.is_valid() and form.cleaned_data["q"]:
        network = request_office_network(request)
        if not is_entitled_reader(request.user, network=network):
            address = client_ip(request) or "unknown"
            exceeded = limit_exceeded("search", address, search_limits())
            if exceeded is not None:
                return _too_many(request, exceeded)
        page = search_reports(
            text=form.cleaned_data["q"],
            reader=request.user,
            network=network,
            kind=form.cleaned_data["kind"] or None,
            topic=form.cleaned_data["topic"],
            page_number=request.GET.get("page"),
        )
    return render(request, "reports/search.html", {"form": form, "page": page})


def _too_many(request: HttpRequest, exceeded: Limit) -> HttpResponse:
    response = render(
        request, "reports/search_limited.html", {"message": exceeded.message}, status=429
    )
    # The window's length: the counter may reset sooner, never later.
    response["Retry-After"] = str(exceeded.seconds)
    # Only this address is limited: no cache may keep this answer or give it to another.
    response["Cache-Control"] = "private, no-store"
    return response
