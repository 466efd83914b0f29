"""The search page: the form and this reader's results (reports/search.py decides the matches),
within a limit per client address."""

from contextlib import suppress

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_safe

from accounts.organisations.networks import OfficeNetwork
from publisher.cache.cdn import surrogate_keys_add
from publisher.cache.generations import CACHE_ERRORS, versioned_get, versioned_set
from publisher.cache.pages import cached_public_page
from publisher.ratelimit import Limit, client_ip, limit_exceeded
from reports.access import is_entitled_reader
from reports.entitled_page import (
    NO_THREAD,
    entitled_page_cached,
    entitled_page_response,
    entitled_search_view,
    search_query_digest,
    search_shared,
    shared_page_context,
    shared_page_split,
)
from reports.office import request_office_network
from reports.reader_cards import reader_card_refresh
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
@entitled_search_view
# An anonymous reader's search page is everyone's: kept whole in the page cache (and nginx's)
# by what the form reads. A repeated search is answered there, before the limit below, which
# guards the work of a new one.
@cached_public_page(params=["q", "kind", "topic", "page"])
def search(request: HttpRequest) -> HttpResponse:
    # Any report's change may change any search's results.
    surrogate_keys_add(request, [SEARCH])
    form = SearchForm(request.GET or None)
    searched_html = None
    if form.is_valid() and form.cleaned_data["q"]:
        network = request_office_network(request)
        if not is_entitled_reader(request.user, network=network):
            address = client_ip(request) or "unknown"
            exceeded = limit_exceeded("search", address, search_limits())
            if exceeded is not None:
                return _too_many(request, exceeded)
        elif network is None and (shared := _shared_search_page(request, form)) is not None:
            return shared
        searched_html = _searched_html(request, form, network=network)
    return render(request, "reports/search.html", {"form": form, "searched_html": searched_html})


# Changed with what the results hold, so that a release never reads another's entries.
RESULTS_LAYOUT = 2
RESULTS_SECONDS = 300


def _searched_html(
    request: HttpRequest, form: SearchForm, *, network: OfficeNetwork | None
) -> SafeString:
    """The form and the results of this search, rendered once for every reader of the same
    kind.

    A search answers every reader who may read every report alike, and every other reader
    alike (the access rule, reports/search.py), so its rendered results (count, cards,
    snippets, pagination) are kept per kind of reader and query string, under the
    page-cache generation that every report's change bumps (publisher/cache/generations.py):
    server-side only, never a response. The form, filled from the query string, comes with
    them: its topic list is a query and a hundred rendered options, and a topic's change
    bumps the same generation. A repeated search costs a cache read; a new one runs in
    full."""
    entitled = is_entitled_reader(request.user, network=network)
    digest = search_query_digest(request)
    key = f"search:results:{RESULTS_LAYOUT}:{'entitled' if entitled else 'public'}:{digest}"
    try:
        html, generations = versioned_get(key)
    except CACHE_ERRORS:
        html, generations = None, None
    if html is None:
        page = search_reports(
            text=form.cleaned_data["q"],
            reader=request.user,
            network=network,
            kind=form.cleaned_data["kind"] or None,
            topic=form.cleaned_data["topic"],
            page_number=request.GET.get("page"),
        )
        # The fragment's templates use nothing of the reader: the request is there for
        # the pagination's query string, which the key holds whole.
        context = {"page": page, "form": form}
        html = render_to_string(
            "reports/includes/search_form.html", context, request=request
        ) + render_to_string("reports/includes/search_results.html", context, request=request)
        if generations is not None:
            with suppress(*CACHE_ERRORS):
                versioned_set(key, html, generations=generations, timeout=RESULTS_SECONDS)
    return mark_safe(html)  # noqa: S308 - rendered by our templates with autoescaping


def _shared_search_page(request: HttpRequest, form: SearchForm) -> HttpResponse | None:
    """The search page every entitled reader shares for this query string
    (reports/entitled_page.py), for this reader, or None when theirs must be rendered for
    them alone (staff). Decided from the database, as the report page's: the reader's card
    is refreshed here for the hits that follow."""
    user = request.user
    if not user.is_authenticated or user.is_staff:
        return None
    card = reader_card_refresh(user=user)
    if card is None or not card.entitled:
        return None
    shared = search_shared(request)
    page, generations = entitled_page_cached(shared=shared, variant=shared.variant_for(card))
    fresh = page is None
    if page is None:
        context = {
            "form": form,
            "searched_html": _searched_html(request, form, network=None),
            **shared_page_context(thread=NO_THREAD),
        }
        html = render_to_string("reports/search.html", context, request=request)
        page = shared_page_split(html, report_id=None, thread=NO_THREAD)
        if page is None:
            return None
    return entitled_page_response(
        request, page=page, card=card, shared=shared, generations=generations, fresh=fresh
    )


def _too_many(request: HttpRequest, exceeded: Limit) -> HttpResponse:
    response = render(
        request, "reports/search_limited.html", {"message": exceeded.message}, status=429
    )
    # The window's length: the counter may reset sooner, never later.
    response["Retry-After"] = str(exceeded.seconds)
    # Only this address is limited: no cache may keep this answer or give it to another.
    response["Cache-Control"] = "private, no-store"
    return response
