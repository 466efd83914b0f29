"""The WSGI front answers page-cache hits before Django's handler: with exactly the headers the
full path gives (security headers, CSP, Cache-Control, Vary), only for requests that cannot be
a logged-in reader's, and never for a host or scheme Django would refuse. Entitled readers'
shared report page (reports/entitled_page.py) is answered there too, without a query."""

import io
import sys

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory
from django.utils import timezone

from publisher.cache import pages as caching
from publisher.cache.wsgi import PageCacheFront
from publisher.request_body import DrainRequestBody
from publisher.wsgi import application
from tests.publisher.test_security_headers import (  # noqa: F401 (fixtures)
    production_settings,
    under_production_settings,
)
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db

URL = "/reports/fronted/"


@pytest.fixture
def report():
    return ReportFactory(slug="fronted", title="Fronted report", body="Body canary 51c0.")


def _get(path: str = URL, **extra: str) -> tuple[str, list[tuple[str, str]], bytes, bool]:
    """One request through the WSGI application production runs: status, headers, body,
    and whether Django's handler ran."""
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        **extra,
    }
    answer: dict = {}
    handled: list[bool] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
        answer.update(status=status, headers=headers)

    def mark(**kwargs: object) -> None:
        handled.append(True)

    # As Django's test client does: the test's transaction keeps its connection open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    request_started.connect(mark)
    try:
        # A fresh handler, as the test client builds one: middleware reads settings once.
        result = PageCacheFront(WSGIHandler())(environ, start_response)
        body = b"".join(result)
        getattr(result, "close", lambda: None)()
    finally:
        request_started.disconnect(mark)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], list(answer["headers"]), body, bool(handled)


def _without_cache_marker(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name != "X-Page-Cache"]


def test_a_hit_is_answered_before_django_with_the_full_paths_headers(report, settings):
    settings.PAGE_CACHE_SECONDS = 0
    _, uncached_headers, uncached_body, _ = _get()
    settings.PAGE_CACHE_SECONDS = 600
    _, miss_headers, miss_body, miss_handled = _get()
    status, hit_headers, hit_body, hit_handled = _get()

    assert miss_handled and ("X-Page-Cache", "miss") in miss_headers
    assert status == "200 OK" and not hit_handled
    assert hit_headers[-1] == ("X-Page-Cache", "hit")
    # Byte for byte the same header policy as a page rendered with no cache at all.
    assert _without_cache_marker(hit_headers) == uncached_headers
    assert _without_cache_marker(miss_headers) == uncached_headers
    assert hit_body == miss_body == uncached_body
    names = dict(hit_headers)
    assert names["Cache-Control"] == "public, max-age=60"
    assert names["Vary"] == "Cookie"
    assert "frame-ancestors 'none'" in names["Content-Security-Policy"]
    assert names["X-Frame-Options"] == "DENY"


def test_a_hit_keeps_the_production_security_headers(report, under_production_settings):  # noqa: F811
    https = {"wsgi.url_scheme": "https", "SERVER_PORT": "443", "HTTP_X_FORWARDED_PROTO": "https"}
    _, miss_headers, _, _ = _get(**https)
    _, hit_headers, _, hit_handled = _get(**https)

    assert not hit_handled
    assert _without_cache_marker(hit_headers) == _without_cache_marker(miss_headers)
    assert dict(hit_headers)["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    # Plain HTTP under HTTPS-only is redirected by Django, never answered from the cache.
    status, headers, _, handled = _get()
    assert handled and status.startswith("301")
    assert dict(headers)["Location"] == "https://testserver" + URL


@pytest.mark.parametrize(
    "cookie", ["sessionid=anything", "messages=anything", "a=1; sessionid=x; b=2"]
)
def test_a_request_with_a_session_or_message_cookie_never_gets_a_hit(report, cookie):
    _get()
    assert _get()[3] is False  # cached now

    _, headers, _, handled = _get(HTTP_COOKIE=cookie)

    assert handled
    assert "X-Page-Cache" not in dict(headers)
    assert "public" not in dict(headers)["Cache-Control"]


def test_logged_in_readers_are_never_answered_from_the_anonymous_cache(
    report, client_for, subscriber
):
    _get()
    client = client_for(subscriber)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    _, headers, body, handled = _get(HTTP_COOKIE=cookie)

    assert handled and b"Body canary 51c0." in body
    assert dict(headers)["Cache-Control"] == "private, no-store"


def test_a_host_outside_allowed_hosts_is_refused_even_when_cached(report):
    _get()

    status, _, body, handled = _get(HTTP_HOST="evil.example")

    assert handled and status.startswith("400")
    assert b"Fronted report" not in body


def test_a_miss_asks_the_cache_once(report, monkeypatch):
    calls = []
    real = caching.versioned_get

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(caching, "versioned_get", counting)
    _, headers, _, _ = _get()

    assert ("X-Page-Cache", "miss") in headers
    assert len([call for call in calls if call[0].startswith("pagecache:page:")]) == 1


def test_a_cache_outage_serves_the_page_from_django(report, monkeypatch):
    def down(*args, **kwargs):
        raise OSError("Redis is down")

    monkeypatch.setattr(caching, "versioned_get", down)

    status, headers, body, handled = _get()

    assert handled and status == "200 OK" and b"Fronted report" in body
    assert "X-Page-Cache" not in dict(headers)


def test_the_test_client_still_gets_hits_from_the_middleware(report):
    Client().get(URL)
    assert Client().get(URL).headers["X-Page-Cache"] == "hit"


def test_production_serves_through_the_front():
    assert isinstance(application, DrainRequestBody)
    assert isinstance(application.application, PageCacheFront)


def test_a_hit_answered_in_front_is_counted_for_prometheus(report, settings):
    from prometheus_client import REGISTRY

    settings.PAGE_CACHE_SECONDS = 600
    _get()  # the miss fills the cache
    before = REGISTRY.get_sample_value("gridline_page_cache_front_hits_total") or 0

    _get()
    _get()

    assert REGISTRY.get_sample_value("gridline_page_cache_front_hits_total") == before + 2


# The entitled readers' shared report page ----------------------------------------------------


def _reader_cookies(client: Client) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


@pytest.fixture
def paid_report():
    return ReportFactory(slug="fronted", title="Fronted report", body="Body canary 51c0.",
                         is_free=False)  # fmt: skip


def test_an_entitled_readers_hit_is_answered_before_django_without_a_query(
    paid_report, client_for, subscriber, django_assert_num_queries
):
    client = client_for(subscriber)
    miss = client.get(URL)  # Django renders the shared page and sets the CSRF cookie
    assert miss.headers["X-Entitled-Page"] == "miss"

    with django_assert_num_queries(0):
        status, headers, body, handled = _get(HTTP_COOKIE=_reader_cookies(client))

    assert status == "200 OK" and not handled
    assert b"Body canary 51c0." in body and b"Sam" in body and b"Log out" in body
    assert ("X-Entitled-Page", "hit") in headers
    own = {"Content-Length", "X-Entitled-Page"}
    assert {n: v for n, v in headers if n not in own} == {
        n: v for n, v in miss.headers.items() if n not in own
    }
    assert dict(headers)["Content-Length"] == str(len(body))


def test_an_entitled_hit_is_counted_for_prometheus(paid_report, client_for, subscriber):
    from prometheus_client import REGISTRY

    client = client_for(subscriber)
    client.get(URL)
    client.get(URL)
    before = REGISTRY.get_sample_value("gridline_front_answers_total") or 0

    _, _, _, handled = _get(HTTP_COOKIE=_reader_cookies(client))

    assert not handled
    assert REGISTRY.get_sample_value("gridline_front_answers_total") == before + 1


def test_without_a_csrf_cookie_django_answers_and_sets_it(paid_report, client_for, subscriber):
    client = client_for(subscriber)
    client.get(URL)
    cookie = f"sessionid={client.cookies['sessionid'].value}"

    _, headers, body, handled = _get(HTTP_COOKIE=cookie)

    assert handled and b"Body canary 51c0." in body
    assert any(name == "Set-Cookie" and "csrftoken=" in value for name, value in headers)


def test_a_due_last_seen_record_goes_through_django(paid_report, client_for, subscriber):
    """A session counted by allauth's login records, every few minutes, when and where it
    was last seen: a request that would record it is Django's."""
    from allauth.usersessions.models import UserSession

    from accounts.sessions.services import TRACKED_SESSION_KEY, session_seen_key

    client = client_for(subscriber)
    session = client.session
    session[TRACKED_SESSION_KEY] = True
    session.save()
    UserSession.objects.create(
        user=subscriber, session_key=session.session_key, ip="127.0.0.1", user_agent="test"
    )
    client.get(URL)  # records now, renders the shared page
    client.get(URL)
    cookies = _reader_cookies(client)

    _, _, _, handled = _get(HTTP_COOKIE=cookies)
    assert not handled  # recorded a moment ago: nothing to write

    # As if SEEN_EVERY_SECONDS had passed.
    seen = session_seen_key(
        request=RequestFactory().get(URL, REMOTE_ADDR="127.0.0.1"),
        session_key=session.session_key,
        now=timezone.now(),
    )
    assert cache.delete(seen)
    _, _, body, handled = _get(HTTP_COOKIE=cookies)
    assert handled and b"Body canary 51c0." in body
    assert UserSession.objects.get(session_key=session.session_key).last_seen_at is not None
