"""Email through a provider's API on the production topology: `make prodlike
EMAIL_PROVIDER=postmark`'s pieces (nginx, gunicorn with the production settings, the Celery
worker and beat) with `EMAIL_URL=postmark://…` pointed at the providers' fake running as a
service of the topology (tests/support/providers_fake.py), on their own ports (nginx 8780,
gunicorn 8781, the fake 8726), database `publisher_provider_mail` and a Redis of this
module's own.

A report reaches every subscriber once, in Postmark's batches of 500; a hard bounce and a
spam complaint posted as Postmark posts them, through nginx to the tracking webhook with its
basic auth, suppress those two addresses; the next report skips them, and the admin shows
why. Events without the webhook's credentials are refused and change nothing.
"""

import http.client
import json
import math
import secrets
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from deploy.prodlike.run import Topology
from publisher.mail.providers import PostmarkBackend
from reports.models import Delivery
from tests.prodlike.topology import reset_run, seed
from tests.prodlike.webclient import WebClient
from tests.support import provider_events
from tests.support.integration_fixtures import PrivateRedis
from tests.support.waiting import wait_while_progressing

SUBSCRIBERS = 1_200  # three of Postmark's batches
STAFF_PASSWORD = "prodlike-desk-" + "password-2026"
DELIVERIES = Delivery._meta.db_table


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    redis = PrivateRedis()
    topology = Topology(
        name="prodlike-provider-mail", http_port=8780, app_port=8781, smtp_port=8725,
        email_provider="postmark", provider_port=8726, database="publisher_provider_mail",
        redis_port=redis.port, redis_db=0, demo_data=False,
    )  # fmt: skip
    # Whatever an interrupted run left (processes bound to a Redis that is gone, logs, the
    # database), so every count asserted here is this run's.
    reset_run(topology)
    try:
        redis.start()
        topology.start()
        yield topology
    finally:
        topology.stop()
        redis.kill()


@pytest.fixture(scope="module")
def readers(topology: Topology) -> list[str]:
    emails = seed(topology, "subscribers", "provider-reader", str(SUBSCRIBERS))
    assert isinstance(emails, dict)
    return list(emails["emails"])


def at_fake(topology: Topology) -> tuple[list[str], Counter[str]]:
    """The paths of the calls the fake answered, and the copies it accepted per address."""
    url = f"http://127.0.0.1:{topology.provider_port}/_fake/sent"
    with urllib.request.urlopen(url, timeout=10) as response:
        sent = json.load(response)
    return sent["calls"], Counter(sent["counts"])


def statuses(topology: Topology, report_id: int) -> Counter[str]:
    env = topology.env()
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as db:
        rows = db.execute(
            f"SELECT status, count(*) FROM {DELIVERIES} WHERE report_id = %s"  # noqa: S608
            " GROUP BY status",
            (report_id,),
        ).fetchall()
    return Counter(dict(rows))


def publish_and_wait(topology: Topology, readers: list[str]) -> tuple[int, list[str], Counter]:
    """Publish a report; once every delivery row is final, the report's id and the calls and
    copies the fake accepted for it."""
    calls_before, copies_before = at_fake(topology)
    report = seed(topology, "publish", secrets.token_hex(4))
    assert isinstance(report, dict)
    report_id = int(report["id"])

    def final() -> bool:
        counts = statuses(topology, report_id)
        done = sum(counts[status] for status in ("sent", "skipped", "failed"))
        return done == len(readers)

    wait_while_progressing(
        final,
        progress=lambda: tuple(sorted(statuses(topology, report_id).items())),
        stall=30,
        timeout=90,
        message=lambda: f"report {report_id}'s deliveries: {statuses(topology, report_id)}",
    )
    calls, copies = at_fake(topology)
    return report_id, calls[len(calls_before) :], copies - copies_before


def post_event(
    topology: Topology, record_type: str, *, email: str, auth: str, **fields: object
) -> int:
    """A Postmark tracking event POSTed through nginx, as Postmark sends it; the status."""
    path, body, headers = provider_events.postmark(
        record_type, email=email, at=datetime.now(UTC), auth=auth, **fields
    )
    connection = http.client.HTTPConnection("127.0.0.1", topology.http_port, timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_a_report_reaches_every_subscriber_in_batches_and_the_next_skips_the_suppressed(
    topology, readers
):
    batch = PostmarkBackend.batch_size
    first, calls, copies = publish_and_wait(topology, readers)

    assert calls == ["/email/batch"] * math.ceil(SUBSCRIBERS / batch)
    assert copies == Counter(dict.fromkeys(readers, 1))
    rows = seed(topology, "deliveries", str(first))
    assert isinstance(rows, dict)
    assert {row["status"] for row in rows.values()} == {"sent"}
    assert all(row["message_id"] for row in rows.values())

    bounced, complained = readers[17], readers[803]
    secret = topology.webhook_secret
    assert post_event(
        topology, "Bounce", email=bounced, auth=secret, bounce_type="HardBounce",
        report_id=first, message_id=rows[bounced]["message_id"], event_id=7_001,
    ) == 200  # fmt: skip
    assert post_event(
        topology, "SpamComplaint", email=complained, auth=secret, report_id=first,
        message_id=rows[complained]["message_id"], event_id=7_002,
    ) == 200  # fmt: skip
    assert seed(topology, "suppressions") == [
        {"address": bounced, "reason": "bounced", "provider": "postmark"},
        {"address": complained, "reason": "complained", "provider": "postmark"},
    ]
    assert seed(topology, "email-events") == 2

    second, calls, copies = publish_and_wait(topology, readers)

    mailed = [reader for reader in readers if reader not in {bounced, complained}]
    assert copies == Counter(dict.fromkeys(mailed, 1))
    assert calls == ["/email/batch"] * math.ceil(len(mailed) / batch)
    rows = seed(topology, "deliveries", str(second))
    assert isinstance(rows, dict)
    assert Counter(row["status"] for row in rows.values()) == {"sent": len(mailed), "skipped": 2}
    assert rows[bounced]["status"] == rows[complained]["status"] == "skipped"
    assert rows[bounced]["error"].startswith("Suppressed address: Hard bounce at postmark (")
    assert rows[complained]["error"].startswith("Suppressed address: Spam complaint at postmark (")

    # The newsroom sees who is suppressed and why, and why the report skipped them.
    desk = WebClient(topology.url)
    seed(topology, "staff", "desk@example.com", STAFF_PASSWORD)
    token = desk.form_token("/admin/login/")
    login = desk.post(
        "/admin/login/",
        {"csrfmiddlewaretoken": token, "username": "desk@example.com",
         "password": STAFF_PASSWORD, "next": "/admin/"},
    )  # fmt: skip
    assert (login.status, login.header("Location")) == (302, "/admin/")
    page = desk.get("/admin/accounts/emailsuppression/")
    assert page.status == 200
    for address, reason in [(bounced, "Hard bounce"), (complained, "Spam complaint")]:
        row = _admin_row(page.text, address)
        assert reason in row and "postmark" in row
    page = desk.get(f"/admin/reports/delivery/?report__id__exact={second}&status__exact=skipped")
    assert page.status == 200
    assert "2 deliveries" in page.text
    assert "Suppressed address: Hard bounce" in _admin_row(page.text, bounced)
    assert "Suppressed address: Spam complaint" in _admin_row(page.text, complained)


def _admin_row(html: str, address: str) -> str:
    """The change list's table row that names the address."""
    at = html.index(address)
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


def test_events_without_the_webhooks_credentials_are_refused_and_change_nothing(topology, readers):
    target = readers[1_111]
    before = (seed(topology, "suppressions"), seed(topology, "email-events"))

    answers = [
        post_event(topology, "Bounce", email=target, auth="", event_id=7_101),
        post_event(topology, "Bounce", email=target, auth="prodlike-hooks:wrong", event_id=7_102),
        post_event(topology, "SpamComplaint", email=target, auth="nobody:", event_id=7_103),
    ]

    assert answers == [400, 400, 400]
    assert (seed(topology, "suppressions"), seed(topology, "email-events")) == before
