"""Search is limited per client address (30 a minute, 300 an hour) for readers who may not
read every body: the next search gets a 429 page that says why, with Retry-After, which no
cache keeps; other addresses, entitled readers and pages that run no search are unaffected."""

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from reports.views.search import HOUR_MESSAGE, MINUTE_MESSAGE, search_limits
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db
SEARCH = reverse("reports:search")


@pytest.fixture(autouse=True)
def report():
    return ReportFactory(title="Heat pump test")


_asked = itertools.count()


def _search(client, address="192.0.2.1", **params):
    """A new search each time, which still finds the report: an anonymous reader's repeated
    search is answered by the page cache, before the limit (test below)."""
    query = {"q": f"heat pump -nothing{next(_asked)}"}
    return client.get(SEARCH, params or query, REMOTE_ADDR=address)


def test_the_31st_search_in_a_minute_gets_a_429_page_that_says_why(client):
    statuses = [_search(client).status_code for _ in range(30)]

    limited = _search(client)

    assert statuses == [200] * 30
    assert limited.status_code == 429
    page = limited.content.decode()
    assert '<h1 class="page-title">Too many searches</h1>' in page
    assert MINUTE_MESSAGE in page
    assert "Heat pump test" not in page
    assert limited["Retry-After"] == "60"


def test_a_429_is_never_cached_or_shared(client):
    for _ in range(31):
        limited = _search(client)

    assert limited.status_code == 429
    assert set(limited["Cache-Control"].replace(" ", "").split(",")) == {"private", "no-store"}
    assert "X-Page-Cache" not in limited
    assert "Heat pump test" in _search(client, address="198.51.100.7").content.decode()
    assert _search(client).status_code == 429


def test_other_addresses_are_unaffected(client):
    for _ in range(31):
        _search(client, address="192.0.2.1")

    other = _search(client, address="198.51.100.7")

    assert other.status_code == 200
    assert "Heat pump test" in other.content.decode()


def test_the_limit_resets_after_the_minute(client):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(31):
            _search(client)
        clock.shift(timedelta(seconds=61))

        assert _search(client).status_code == 200


def test_the_limits_are_30_a_minute_and_300_an_hour_unless_set():
    assert [(limit.count, limit.seconds) for limit in search_limits()] == [(30, 60), (300, 3600)]


def test_searches_over_the_hours_limit_get_a_429_though_each_minute_was_under_its_own(
    client, settings
):
    """The limits at a tenth of their size (3 a minute, 30 an hour), so the test runs 31
    searches instead of 301; the arithmetic is the same."""
    settings.SEARCH_LIMIT_PER_MINUTE, settings.SEARCH_LIMIT_PER_HOUR = 3, 30
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _ in range(10):
            assert {_search(client).status_code for _ in range(3)} == {200}
            clock.shift(timedelta(seconds=61))

        limited = _search(client)

    assert limited.status_code == 429
    assert HOUR_MESSAGE in limited.content.decode()
    assert limited["Retry-After"] == "3600"


@pytest.mark.parametrize(
    "params", [{}, {"q": ""}, {"q": "   "}, {"q": "!!!"}, {"q": "x" * 201}, {"q": "a", "kind": "x"}]
)
def test_pages_that_run_no_search_are_not_counted(client, params):
    for _ in range(40):
        assert client.get(SEARCH, params, REMOTE_ADDR="192.0.2.1").status_code == 200

    assert _search(client).status_code == 200


def test_a_limit_set_to_0_is_off(client, settings):
    settings.SEARCH_LIMIT_PER_MINUTE, settings.SEARCH_LIMIT_PER_HOUR = 0, 0

    assert {_search(client).status_code for _ in range(31)} == {200}


@pytest.mark.parametrize("persona", ["subscriber", "editor"])
def test_readers_who_may_read_every_body_are_not_limited(request, client_for, persona):
    client = client_for(request.getfixturevalue(persona))

    assert {_search(client).status_code for _ in range(31)} == {200}


@pytest.mark.parametrize("persona", ["free_reader", "lapsed_subscriber"])
def test_logged_in_readers_without_access_are_limited_by_address(request, client_for, persona):
    client = client_for(request.getfixturevalue(persona))
    for _ in range(30):
        _search(client)

    assert _search(client).status_code == 429


def test_behind_the_proxy_each_forwarded_address_has_its_own_count(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    def behind_nginx(address: str):
        query = {"q": f"heat pump -nothing{next(_asked)}"}
        return client.get(SEARCH, query, REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=address)

    for _ in range(31):
        behind_nginx("203.0.113.5")

    assert behind_nginx("203.0.113.5").status_code == 429
    assert behind_nginx("203.0.113.6").status_code == 200


def test_a_repeated_anonymous_search_comes_from_the_page_cache_and_is_not_counted(client):
    """The same search by anonymous readers is one page for all of them, shared like any
    public page (nginx keeps it too): only a search that runs counts against the limit."""
    first = client.get(SEARCH, {"q": "heat pump"}, REMOTE_ADDR="192.0.2.1")
    repeated = [client.get(SEARCH, {"q": "heat pump"}, REMOTE_ADDR="192.0.2.1") for _ in range(40)]

    assert "Heat pump test" in first.content.decode()
    assert {response.status_code for response in repeated} == {200}
    assert {response["X-Page-Cache"] for response in repeated} == {"hit"}
    assert {response.content for response in repeated} == {first.content}
    # The first one ran and counts: 29 more new searches are allowed in the minute.
    assert {_search(client).status_code for _ in range(29)} == {200}
    assert _search(client).status_code == 429
