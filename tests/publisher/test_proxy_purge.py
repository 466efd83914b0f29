"""Purging nginx's page cache (publisher/cache/proxy.py): after a change commits, Django
asks each PROXY_PURGE_URL to drop its copy of the page-cache generation (or, for a comment,
its copy of the report's page), through a local fake of nginx's purge server. A purge that
fails never fails the write."""

import http.server
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.exceptions import ImproperlyConfigured

from publisher.cache import generations
from publisher.cache.proxy import GENERATION_PROXY_KEY, proxy_page_key
from publisher.env import env_url_list
from reports.comments.services import comment_create
from reports.models import Report
from reports.publishing import report_save
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db


class FakePurgeServer(http.server.ThreadingHTTPServer):
    """nginx's purge server as Django sees it: 200 for a key it held, 404 otherwise."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[tuple[str, str]] = []
        super().__init__(("127.0.0.1", 0), _PurgeHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _PurgeHandler(http.server.BaseHTTPRequestHandler):
    server: FakePurgeServer

    def do_PURGE(self) -> None:
        self.server.received.append((self.command, self.path))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the test reads what the server received, not its log."""


@contextmanager
def _serve(status: int) -> Iterator[FakePurgeServer]:
    server = FakePurgeServer(status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def purge_server(settings) -> Iterator[FakePurgeServer]:
    with _serve(200) as server:
        settings.PROXY_PURGE_URL = [server.url]
        yield server


@pytest.fixture
def failing_purge_server(settings) -> Iterator[FakePurgeServer]:
    with _serve(500) as server:
        settings.PROXY_PURGE_URL = [server.url]
        yield server


def test_editing_a_report_purges_the_proxys_generation_after_the_commit(
    purge_server, django_capture_on_commit_callbacks
):
    report = ReportFactory(is_free=True)
    with django_capture_on_commit_callbacks() as callbacks:
        report.is_free = False
        report_save(report=report)
        assert purge_server.received == []  # nothing reaches nginx before the commit
    for callback in callbacks:
        callback()
    assert purge_server.received == [("PURGE", GENERATION_PROXY_KEY)]


def test_publishing_a_draft_purges_the_proxys_generation(
    purge_server, django_capture_on_commit_callbacks
):
    report = ReportFactory(status=Report.Status.DRAFT, published_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        report.status = Report.Status.PUBLISHED
        report_save(report=report)
    assert ("PURGE", GENERATION_PROXY_KEY) in purge_server.received


def test_a_new_comment_purges_its_report_page_under_the_current_generation(
    purge_server, subscriber, django_capture_on_commit_callbacks
):
    report = ReportFactory(slug="purged-on-comment")
    with django_capture_on_commit_callbacks(execute=True):
        comment_create(author=subscriber, report=report, body="A comment to count.")
    key = proxy_page_key(
        generation=generations.current_generation(), path="/reports/purged-on-comment/"
    )
    assert purge_server.received == [("PURGE", key)]


def test_a_failing_purge_is_logged_and_the_save_still_commits(
    failing_purge_server, caplog, django_capture_on_commit_callbacks
):
    report = ReportFactory(is_free=True)
    with (
        caplog.at_level(logging.WARNING, logger="publisher.cache.proxy"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report.is_free = False
        report_save(report=report)
    assert failing_purge_server.received == [("PURGE", GENERATION_PROXY_KEY)]
    assert Report.objects.get(pk=report.pk).is_free is False
    assert "answered 500" in caplog.text


def test_an_unreachable_purge_server_is_logged_and_the_save_still_commits(
    settings, caplog, django_capture_on_commit_callbacks
):
    with _serve(200) as server:
        unreachable = server.url  # a port nothing listens on once the server is closed
    settings.PROXY_PURGE_URL = [unreachable]
    report = ReportFactory(is_free=True)
    with (
        caplog.at_level(logging.WARNING, logger="publisher.cache.proxy"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        report.is_free = False
        report_save(report=report)
    assert Report.objects.get(pk=report.pk).is_free is False
    assert f"at {unreachable} failed" in caplog.text


def test_nothing_is_purged_without_a_purge_url(settings, django_capture_on_commit_callbacks):
    settings.PROXY_PURGE_URL = []
    with _serve(200) as server:
        with django_capture_on_commit_callbacks(execute=True):
            report_save(report=ReportFactory())
        assert server.received == []


def test_the_generation_nginx_keys_pages_by_is_public_and_changes_with_every_edit(
    client, django_capture_on_commit_callbacks
):
    first = client.get("/_cache/generation")
    assert first.status_code == 200
    assert "public" in first["Cache-Control"]
    with django_capture_on_commit_callbacks(execute=True):
        report_save(report=ReportFactory())
    second = client.get("/_cache/generation")
    assert second["X-Page-Generation"] != first["X-Page-Generation"]
    assert second["X-Page-Generation"] == generations.current_generation()


def test_purge_urls_must_be_http(monkeypatch):
    monkeypatch.setenv("PROXY_PURGE_URL", "http://127.0.0.1:8079, https://10.0.0.2:8079")
    assert env_url_list("PROXY_PURGE_URL", schemes={"http", "https"}) == [
        "http://127.0.0.1:8079",
        "https://10.0.0.2:8079",
    ]
    monkeypatch.setenv("PROXY_PURGE_URL", "127.0.0.1:8079")
    with pytest.raises(ImproperlyConfigured, match="PROXY_PURGE_URL"):
        env_url_list("PROXY_PURGE_URL", schemes={"http", "https"})
