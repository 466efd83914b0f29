"""Error reports reach Sentry (the real SDK, a local ingest server) without the reader in
them: no address, no comment text, no session cookie, no token from a query string."""

import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator

import pytest
import sentry_sdk

from publisher.sentry import breadcrumb_scrub, event_scrub, sentry_init
from tests.support.factories import ReportFactory
from tests.support.integration_fixtures import ROOT
from tests.support.sentry_fake import SentryFake, envelope_parse

# Made at run time: the source lines the SDK sends around each frame would otherwise show
# a literal written in this file.
COMMENT_TEXT = "My confidential remark " + uuid.uuid4().hex
QUERY_TOKEN = uuid.uuid4().hex
HEADER_TOKEN = uuid.uuid4().hex
CSRF_SECRET = uuid.uuid4().hex


@pytest.fixture
def sentry_fake() -> Iterator[SentryFake]:
    fake = SentryFake()
    fake.start()
    sentry_init(
        dsn=fake.dsn, environment="test-env", release="gridline@1.2.3", traces_sample_rate=0.0
    )
    try:
        yield fake
    finally:
        sentry_sdk.get_client().close(timeout=5)
        sentry_sdk.get_global_scope().set_client(None)
        sentry_sdk.get_isolation_scope().clear()
        fake.stop()


def _exception_types(event: dict) -> list[str]:
    return [value["type"] for value in event["exception"]["values"]]


def test_a_failing_view_reports_the_exception_without_the_reader(
    sentry_fake, live_server, client_for, subscriber, monkeypatch
):
    # Through a real WSGI server, as in gunicorn: the SDK's WSGI layer adds the request's
    # address, headers and environment to the event, the Django layer its body and cookies.
    ReportFactory(slug="paid", title="A paid report")

    def comment_store_down(*, author, report, body, parent_id):
        raise RuntimeError("comment store unavailable")

    monkeypatch.setattr("reports.comments.views.comments.comment_create", comment_store_down)
    session_cookie = client_for(subscriber).cookies["sessionid"].value
    request = urllib.request.Request(  # noqa: S310 (the live server)
        f"{live_server.url}/reports/paid/comments/?token={QUERY_TOKEN}",
        data=urllib.parse.urlencode({"body": COMMENT_TEXT}).encode(),
        headers={
            # Django's CSRF check compares the header with the cookie.
            "Cookie": f"sessionid={session_cookie}; csrftoken={CSRF_SECRET}",
            "X-CSRFToken": CSRF_SECRET,
            "Authorization": f"Bearer {HEADER_TOKEN}",
            "X-Forwarded-For": "203.0.113.77",
            "Host": "testserver",
        },
    )

    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=30)  # noqa: S310 (the live server)
    sentry_sdk.flush(timeout=10)

    assert answer.value.code == 500
    event, envelope = sentry_fake.wait_for_event()
    assert "RuntimeError" in _exception_types(event)
    assert event["environment"] == "test-env"
    assert event["release"] == "gridline@1.2.3"
    assert event["request"]["url"] == "http://testserver/reports/paid/comments/"
    assert event["request"]["method"] == "POST"
    assert "user" not in event
    raw = envelope.raw.decode()
    for secret in [
        subscriber.email,
        COMMENT_TEXT,
        session_cookie,
        QUERY_TOKEN,
        HEADER_TOKEN,
        "203.0.113.77",
    ]:
        assert secret not in raw, secret


def test_a_failing_task_reports_the_exception_without_its_arguments(sentry_fake, monkeypatch, db):
    from accounts import tasks

    def mail_down(*, subscriber_id, token, next_path=""):
        raise ConnectionRefusedError("relay refused")

    monkeypatch.setattr(tasks, "newsletter_confirmation_send", mail_down)

    token = uuid.uuid4().hex
    with pytest.raises(ConnectionRefusedError):
        tasks.send_newsletter_confirmation.delay(7, token)
    sentry_sdk.flush(timeout=10)

    event, envelope = sentry_fake.wait_for_event()
    assert "ConnectionRefusedError" in _exception_types(event)
    job = event["extra"]["celery-job"]
    assert job == {"task_name": "accounts.tasks.send_newsletter_confirmation"}
    assert token.encode() not in envelope.raw


def test_scrubbing_removes_what_integrations_add():
    event = {
        "request": {
            "url": "https://gridline.test/newsletter/confirm/?token=abc",
            "query_string": "token=abc",
            "data": {"email": "reader@example.com"},
            "cookies": {"sessionid": "s3ss10n"},
            "headers": {"Cookie": "sessionid=s3ss10n", "Authorization": "Bearer x", "Host": "h"},
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"email": "reader@example.com", "ip_address": "203.0.113.9"},
        "logentry": {"message": "No account for %s", "params": ["reader@example.com"]},
        "extra": {"data": {"args": "['reader@example.com']"}, "sys.argv": ["celery"]},
        "exception": {
            "values": [
                {
                    "type": "IntegrityError",
                    "value": "DETAIL: Key (email)=(reader@example.com) already exists.",
                    "stacktrace": {"frames": [{"function": "f", "vars": {"body": "text"}}]},
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {"category": "redis", "message": "GET 'django.contrib.sessions.cached_dbs3ss10n'"},
                {
                    "category": "query",
                    "message": "SELECT 1 WHERE a = %s",
                    "data": {"db.params": ["x"]},
                },
            ]
        },
    }

    scrubbed = event_scrub(event, {})

    text = repr(scrubbed)
    for secret in ["reader@example.com", "s3ss10n", "token=abc", "Bearer x", "203.0.113.9", "text"]:
        assert secret not in text, secret
    assert scrubbed["request"]["headers"] == {"Host": "h"}
    assert scrubbed["exception"]["values"][0]["type"] == "IntegrityError"
    assert scrubbed["breadcrumbs"]["values"][1]["message"] == "SELECT 1 WHERE a = %s"


def test_a_logged_breadcrumb_keeps_its_template_not_its_arguments():
    import logging

    record = logging.LogRecord("x", logging.INFO, "f", 1, "Signed up %s", ("r@example.com",), None)
    crumb = {"type": "log", "message": record.getMessage(), "data": {"extra": "r@example.com"}}

    assert breadcrumb_scrub(crumb, {"log_record": record}) == {
        "type": "log",
        "message": "Signed up %s",
        "data": {},
    }


def test_the_fake_reads_envelopes_with_and_without_lengths():
    event = b'{"a":\n"b c"}'
    body = b'{"event_id":"e1"}\n{"type":"event","length":%d}\n%s\n{"type":"session"}\n{}\n' % (
        len(event),
        event,
    )

    envelope = envelope_parse(body)

    assert [header["type"] for header, _ in envelope.items] == ["event", "session"]
    assert envelope.payloads("event") == [{"a": "b c"}]


def _sentry_state(env: dict[str, str]) -> str:
    code = (
        "import django; django.setup(); import sentry_sdk;"
        "c = sentry_sdk.get_client();"
        "print(sentry_sdk.is_initialized(), sorted(set(c.integrations) & {'django', 'celery'}),"
        " (c.options.get('data_collection') or {}).get('user_info'),"
        " c.options.get('include_local_variables'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def test_sentry_starts_only_with_a_dsn():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "publisher.settings_test"}
    env.pop("SENTRY_DSN", None)

    assert _sentry_state(env).startswith("False")
    assert _sentry_state({**env, "SENTRY_DSN": "http://k@127.0.0.1:9/1"}) == (
        "True ['celery', 'django'] False False"
    )
