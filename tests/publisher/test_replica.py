"""Reads from a streaming replica (publisher/replica.py), against a real primary and standby
on loopback (tests/support/replication.py).

The proof of where a page read from is twofold: the queries each alias ran during the
request, and, with the standby's replay paused, what the page shows: the replica's older
state for an anonymous reader, the primary's for the author who just wrote.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import time_machine
from django.db import OperationalError, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from publisher.cache import generations
from publisher.replica import PIN_COOKIE, REPLICA_ALIAS, replica_health_forget
from reports.models import Report
from tests.support.factories import MembershipFactory, ReportFactory, UserFactory

# The replica's health check, one query on each side.
HEALTH_CHECK = ("pg_current_wal_insert_lsn", "pg_is_in_recovery")


@pytest.fixture(autouse=True)
def _pages_rendered_every_time(settings) -> None:
    # The server-side page cache would answer a second request without reading anything.
    settings.PAGE_CACHE_SECONDS = 0


class Reads:
    """The queries requests ran on the primary and on the replica (the replica's health
    check aside)."""

    def __init__(self) -> None:
        self.primary: list[str] = []
        self.replica: list[str] = []

    def __repr__(self) -> str:
        return f"Reads(primary={len(self.primary)}, replica={len(self.replica)})"


@contextmanager
def reads() -> Iterator[Reads]:
    found = Reads()
    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(connections[REPLICA_ALIAS]) as on_replica,
    ):
        yield found
    found.primary = _reads(on_primary)
    found.replica = _reads(on_replica)


def _reads(captured: CaptureQueriesContext) -> list[str]:
    return [
        query["sql"]
        for query in captured.captured_queries
        if not any(check in query["sql"] for check in HEALTH_CHECK)
    ]


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_page_reads_the_replica_while_the_author_sees_their_own_comment(
    replicated, settings
):
    settings.REPLICA_MAX_LAG_SECONDS = 3600  # replay is paused below: the lag only grows
    author = MembershipFactory().user
    report = ReportFactory()
    replicated.wait_replayed()
    replicated.pause_replay()

    client = logged_in(author)
    posted = client.post(
        reverse("reports:comment_post", args=[report.slug]), {"body": "Seen by its author at once"}
    )
    assert posted.status_code == 302
    assert PIN_COOKIE in posted.cookies
    assert Report.objects.get(pk=report.pk).comment_count == 1

    with reads() as anonymous_reads:
        anonymous_page = Client().get(report.get_absolute_url())
    assert anonymous_page.status_code == 200
    assert "Comments (0)" in anonymous_page.text
    assert anonymous_reads.replica
    assert anonymous_reads.primary == []

    with reads() as author_reads:
        author_page = client.get(report.get_absolute_url())
    assert "Comments (1)" in author_page.text
    assert "Seen by its author at once" in author_page.text
    assert author_reads.replica == []

    replicated.resume_replay()
    replicated.wait_replayed()
    assert "Comments (1)" in Client().get(report.get_absolute_url()).text


def test_a_writer_reads_from_the_primary_until_the_pin_expires(replicated, settings):
    author = MembershipFactory().user
    report = ReportFactory()
    replicated.wait_replayed()
    client = logged_in(author)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        client.post(reverse("reports:comment_post", args=[report.slug]), {"body": "A comment"})

        with reads() as pinned:
            assert client.get(reverse("reports:feed")).status_code == 200
        assert pinned.replica == []
        assert pinned.primary

        with reads() as other_reader:
            Client().get(reverse("reports:feed"))
        assert other_reader.replica
        assert other_reader.primary == []

        traveller.shift(settings.REPLICA_PIN_SECONDS + 1)
        replica_health_forget()  # its interval is on the monotonic clock, which stood still
        with reads() as later:
            client.get(reverse("reports:feed"))
        assert any("reports_report" in sql for sql in later.replica)
        # Only who the reader is comes from the primary: their session may be new.
        assert not any("reports_report" in sql for sql in later.primary)


def test_a_failed_post_that_wrote_nothing_pins_nothing(replicated):
    report = ReportFactory()
    client = logged_in(UserFactory())
    client.get(reverse("reports:home"))  # the session's first sight is recorded, a write
    posted = client.post(
        reverse("reports:comment_post", args=[report.slug]), {"body": "Not a subscriber"}
    )
    assert posted.status_code == 403
    assert PIN_COOKIE not in posted.cookies


def test_a_replica_behind_the_threshold_leaves_reads_on_the_primary(replicated, settings, caplog):
    settings.REPLICA_MAX_LAG_SECONDS = 0
    report = ReportFactory(title="The first title")
    replicated.wait_replayed()
    replicated.pause_replay()
    Report.objects.filter(pk=report.pk).update(title="The corrected title")

    with caplog.at_level(logging.INFO, logger="publisher.replica"), reads() as found:
        first = Client().get(reverse("reports:feed"))
        second = Client().get(reverse("reports:feed"))
    assert "The corrected title" in first.text
    assert "The corrected title" in second.text
    assert found.replica == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "behind the primary" in warnings[0]

    settings.REPLICA_MAX_LAG_SECONDS = 3600
    replica_health_forget()
    with reads() as tolerant:
        older = Client().get(reverse("reports:feed"))
    assert "The first title" in older.text
    assert tolerant.replica


def test_a_stopped_replica_leaves_reads_on_the_primary_without_an_error(replicated, caplog):
    report = ReportFactory(title="Still served")
    replicated.wait_replayed()
    with reads() as healthy:
        assert Client().get(reverse("reports:feed")).status_code == 200
    assert healthy.replica

    # Stopped between two of this process's checks: the first request finds out itself.
    replicated.standby.stop()
    with caplog.at_level(logging.WARNING, logger="publisher.replica"), reads() as found:
        feed = Client().get(reverse("reports:feed"))
        page = Client().get(report.get_absolute_url())
    assert feed.status_code == 200
    assert "Still served" in feed.text
    assert page.status_code == 200
    assert "Still served" in page.text
    assert found.primary
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.name == "publisher.replica" and r.levelno == logging.WARNING
    ]
    assert len(warnings) == 1
    assert "unreachable" in warnings[0]


def test_a_query_the_replica_cancels_is_read_again_from_the_primary(replicated, caplog):
    report = ReportFactory(title="Read again")
    replicated.wait_replayed()
    assert Client().get(reverse("reports:feed")).status_code == 200  # the replica is usable

    def cancelled_by_replay(execute, sql, params, many, context):
        if any(check in sql for check in HEALTH_CHECK):
            return execute(sql, params, many, context)
        raise OperationalError("canceling statement due to conflict with recovery")

    with (
        connections[REPLICA_ALIAS].execute_wrapper(cancelled_by_replay),
        caplog.at_level(logging.WARNING, logger="publisher.replica"),
        reads() as found,
    ):
        feed = Client().get(reverse("reports:feed"))
    assert feed.status_code == 200
    assert "Read again" in feed.text
    assert found.primary
    # Still a usable replica: nothing to warn about, and the next reader reads from it.
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    with reads() as next_reader:
        Client().get(report.get_absolute_url())
    assert next_reader.replica


def test_views_outside_the_list_and_logged_in_readers_read_from_the_primary(replicated):
    reader = logged_in(MembershipFactory().user)
    editor = logged_in(UserFactory(is_staff=True))
    report = ReportFactory()
    replicated.wait_replayed()

    with reads() as member_page:
        assert reader.get(report.get_absolute_url()).status_code == 200
    with reads() as account_page:
        assert reader.get(reverse("account_email")).status_code == 200
    assert member_page.replica == []
    assert account_page.replica == []

    replicated.wait_replayed()  # the reader's visits were recorded, on the primary
    with reads() as dashboard:
        assert editor.get(reverse("dashboard:page")).status_code == 200
    assert dashboard.replica


def _view_names(resolver: URLResolver, namespace: str = "") -> Iterator[str]:
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _view_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield f"{namespace}{pattern.name}"


def test_every_view_named_for_the_replica_exists(settings):
    names = set(_view_names(get_resolver()))
    assert set(settings.REPLICA_READ_VIEWS) <= names
    assert set(settings.REPLICA_READ_VIEWS.values()) <= {"anonymous", "everyone"}


def test_without_a_replica_a_write_sets_no_pin(subscriber, client_for):
    report = ReportFactory()
    posted = client_for(subscriber).post(
        reverse("reports:comment_post", args=[report.slug]), {"body": "On the one database"}
    )
    assert posted.status_code == 302
    assert PIN_COOKIE not in posted.cookies


def test_a_page_read_from_the_replica_soon_after_a_change_is_served_but_not_kept(
    replicated, settings
):
    settings.PAGE_CACHE_SECONDS = 600
    author = MembershipFactory().user
    report = ReportFactory()
    replicated.wait_replayed()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        # The comment retires the report's cached page; the replica may not have it yet.
        logged_in(author).post(
            reverse("reports:comment_post", args=[report.slug]), {"body": "A fresh comment"}
        )
        replicated.wait_replayed()
        soon = Client().get(report.get_absolute_url())
        assert soon.status_code == 200
        assert "private" in soon["Cache-Control"]
        assert "X-Page-Cache" not in soon

        traveller.shift(settings.REPLICA_MAX_LAG_SECONDS + settings.REPLICA_CHECK_SECONDS + 1)
        replica_health_forget()
        with reads() as settled:
            later = Client().get(report.get_absolute_url())
        assert settled.replica
        assert "Comments (1)" in later.text
        assert "public" in later["Cache-Control"]
        assert later["X-Page-Cache"] == "miss"
        assert Client().get(report.get_absolute_url())["X-Page-Cache"] == "hit"


def test_a_generation_is_unsettled_only_while_the_replica_may_lag(monkeypatch, settings):
    monkeypatch.setattr("publisher.replica.replica_configured", lambda: True)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        fresh = generations._new_generation()
        assert not generations.generations_settled((fresh,))
        # Tokens from before generations carried their time are old by definition.
        assert generations.generations_settled(("0123456789ab",))
        traveller.shift(settings.REPLICA_MAX_LAG_SECONDS + settings.REPLICA_CHECK_SECONDS)
        assert generations.generations_settled((fresh,))
