"""Notifications on real parts: PostgreSQL, Celery workers on Redis, SMTP to an aiosmtpd sink.

Each test publishes to SUBSCRIBERS addresses and checks what the sink received: every
address exactly once, except that a worker killed while a message was in flight may send
that one message again (the test names those addresses in the run's "integration notes").

Where production waits for the beat sweep (claims older than the task time limit, queued
rows older than NOTIFY_STALE_AFTER), the tests call the same sweep with those ages set to
zero, at a moment when no live worker holds a claim, instead of waiting 15 minutes.
"""

import re
import time
import uuid
from datetime import timedelta
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from accounts.models import NewsletterSubscriber
from reports.models import Delivery, Report, ReportNotification
from reports.notifications.sweep import deliveries_requeue_stale
from reports.publishing import report_publish
from reports.tasks import notify_report
from tests.support.factories import ReportFactory
from tests.support.integration_fixtures import NOTES, CeleryRig
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

SUBSCRIBERS = 2000
CANARY = "CANARY-PAID-BODY-integration-91c4"
SITE = "https://gridline.test"
MESSAGE_ID = re.compile(r"<delivery-(\d+)\.report-(\d+)@gridline\.test>")


def _subscribers(count: int = SUBSCRIBERS) -> dict[str, str]:
    now = timezone.now()
    NewsletterSubscriber.objects.bulk_create(
        NewsletterSubscriber(email=f"reader{n:05d}@example.com", confirmed_at=now, consent_at=now)
        for n in range(count)
    )
    return dict(NewsletterSubscriber.objects.values_list("email", "token"))


def _draft() -> Report:
    return ReportFactory(
        status=Report.Status.DRAFT,
        published_at=None,
        title="Heat pumps at -20 °C: eight units in the cold chamber",
        kind=Report.Kind.SHOOTOUT,
        teaser="Eight heat pumps, one cold chamber, and a surprise at -20 °C.",
        body=f"## Verdict\n\n{CANARY}: the paid findings.",
    )


def _wait_until_done(report: Report, total: int, *, timeout: float = 180) -> None:
    def done() -> bool:
        finished = Delivery.objects.filter(
            report=report,
            status__in=[Delivery.Status.SENT, Delivery.Status.SKIPPED, Delivery.Status.FAILED],
        ).count()
        return finished == total

    wait_until(done, timeout=timeout, message=f"{total} deliveries to finish")


def _check_every_message(sink, tokens: dict[str, str], report: Report) -> None:
    """Valid headers, the recipient's own unsubscribe link, the teaser and never the body."""
    deliveries = dict(Delivery.objects.filter(report=report).values_list("pk", "subscriber__email"))
    parser = BytesParser(policy=default_policy)
    for rcpts, raw in sink.messages:
        assert CANARY.encode() not in raw
        message = parser.parsebytes(raw)
        (address,) = rcpts
        assert not message.defects, message.defects
        assert message["To"] == address
        assert message["From"]
        assert "Heat pumps at -20 °C" in message["Subject"]
        assert parsedate_to_datetime(message["Date"]).tzinfo is not None
        match = MESSAGE_ID.fullmatch(message["Message-ID"])
        assert match and deliveries[int(match.group(1))] == address
        assert int(match.group(2)) == report.pk
        unsubscribe = f"{SITE}/newsletter/unsubscribe/{tokens[address]}/"
        assert message["List-Unsubscribe"] == f"<{unsubscribe}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        for kind in ("plain", "html"):
            part = message.get_body((kind,))
            assert not part.defects
            content = part.get_content()
            assert unsubscribe in content
            assert f"{SITE}/reports/{report.slug}/" in content
            assert "Eight heat pumps" in content
            assert CANARY not in content


def _assert_once_each(sink, tokens: dict[str, str], *, in_flight: set[str]) -> dict[str, int]:
    """Every address received the notification; more than once only if it was in flight."""
    counts = sink.per_recipient()
    assert set(counts) == set(tokens), set(tokens) ^ set(counts)
    duplicates = {address: n for address, n in counts.items() if n > 1}
    assert all(n == 2 for n in duplicates.values()), duplicates
    assert set(duplicates) <= in_flight, (duplicates, in_flight)
    return duplicates


def _unsubscribe_links_work(sink, sample: int = 20) -> None:
    mail_provider = Client(enforce_csrf_checks=True)
    parser = BytesParser(policy=default_policy)
    for rcpts, raw in sink.messages[:sample]:
        url = parser.parsebytes(raw)["List-Unsubscribe"].strip("<>")
        path = urlsplit(url).path
        assert mail_provider.get(path).status_code == 200
        response = mail_provider.post(
            path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200
        assert NewsletterSubscriber.objects.get(email=rcpts[0]).unsubscribed_at is not None


def _rate(sink, started: float) -> str:
    elapsed = sink.arrivals[-1] - started
    return (
        f"{len(sink.arrivals)} messages in {elapsed:.1f} s ({len(sink.arrivals) / elapsed:.0f}/s)"
    )


def test_publishing_reaches_every_subscriber_exactly_once(celery_rig: CeleryRig):
    tokens = _subscribers()
    report = _draft()
    celery_rig.start_worker(concurrency=2)
    sink = celery_rig.sink

    started = time.monotonic()
    report_publish(report_id=report.pk)
    wait_until(lambda: sink.count() >= SUBSCRIBERS, timeout=180, message="every message")
    _wait_until_done(report, SUBSCRIBERS)

    assert _assert_once_each(sink, tokens, in_flight=set()) == {}
    assert Delivery.objects.filter(report=report, status=Delivery.Status.SENT).count() == (
        SUBSCRIBERS
    )
    _check_every_message(sink, tokens, report)
    _unsubscribe_links_work(sink)
    NOTES.append(f"publish to {SUBSCRIBERS} (2 worker processes): {_rate(sink, started)}")


def test_rolled_back_publish_enqueues_nothing_and_publishing_twice_fans_out_once(
    celery_rig: CeleryRig,
):
    tokens = _subscribers(50)
    report = _draft()
    celery_rig.start_worker(concurrency=1)

    with pytest.raises(RuntimeError), transaction.atomic():
        report_publish(report_id=report.pk)
        raise RuntimeError("rolled back")
    assert celery_rig.queued() == 0
    celery_rig.wait_until_idle()  # anything that was enqueued anyway has run

    assert not ReportNotification.objects.exists()
    assert celery_rig.sink.count() == 0

    assert report_publish(report_id=report.pk) is True
    assert report_publish(report_id=report.pk) is False
    _wait_until_done(report, len(tokens))
    celery_rig.wait_until_idle()  # a second fan-out, had there been one, has run too

    assert _assert_once_each(celery_rig.sink, tokens, in_flight=set()) == {}
    assert celery_rig.sink.count() == len(tokens)


def test_the_same_notify_task_delivered_twice_sends_each_message_once(celery_rig: CeleryRig):
    tokens = _subscribers()
    report = ReportFactory(body=CANARY)  # already published: the fan-out is driven by hand
    celery_rig.start_worker(concurrency=2)
    task_id = str(uuid.uuid4())

    # The same message twice (a broker redelivery) and a second, independent run.
    notify_report.apply_async(args=[report.pk], task_id=task_id)
    notify_report.apply_async(args=[report.pk], task_id=task_id)
    notify_report.delay(report.pk)
    _wait_until_done(report, SUBSCRIBERS)
    celery_rig.wait_until_idle()  # every run of the task has finished

    assert _assert_once_each(celery_rig.sink, tokens, in_flight=set()) == {}
    assert celery_rig.sink.count() == SUBSCRIBERS


def _claimed(report: Report) -> set[str]:
    return set(
        Delivery.objects.filter(report=report, status=Delivery.Status.SENDING).values_list(
            "subscriber__email", flat=True
        )
    )


@pytest.mark.parametrize("victim", ["whole worker", "pool processes"])
def test_worker_killed_mid_batch_and_restarted(celery_rig: CeleryRig, victim: str):
    tokens = _subscribers()
    report = _draft()
    sink = celery_rig.sink
    worker = celery_rig.start_worker(concurrency=2)

    report_publish(report_id=report.pk)
    wait_until(lambda: sink.count() >= SUBSCRIBERS // 3, timeout=120, message="sending to start")
    # Rows claimed just before or just after the kill: the message in flight is among them.
    in_flight = _claimed(report)
    if victim == "whole worker":
        worker.kill()
    else:
        # The main process sees its pool die: task_reject_on_worker_lost puts the tasks back
        # on the queue, and the redelivered tasks resume their own claims.
        worker.kill_pool()
    in_flight |= _claimed(report)
    received_at_kill = sink.count()
    if victim == "whole worker":
        # The unacknowledged messages stay invisible for the visibility timeout (an hour): the
        # beat sweep recovers once the dead worker's claims outlive the task time limit.
        deliveries_requeue_stale(pending_for=timedelta(0), claimed_for=timedelta(0))
        celery_rig.start_worker(concurrency=2)
    _wait_until_done(report, SUBSCRIBERS)
    celery_rig.wait_until_idle()  # redelivered tasks have finished resending, if they do

    duplicates = _assert_once_each(sink, tokens, in_flight=in_flight)
    assert len(duplicates) <= 2  # at most one message in flight per killed pool process
    _check_every_message(sink, tokens, report)
    NOTES.append(
        f"SIGKILL of the {victim} after {received_at_kill} messages, {len(in_flight)} rows "
        f"claimed at the kill; duplicates: {sorted(duplicates) or 'none'}"
    )


def test_broker_restarted_mid_fan_out(celery_rig: CeleryRig, private_redis):
    tokens = _subscribers()
    report = _draft()
    sink = celery_rig.sink
    celery_rig.use_broker(private_redis.url)
    worker = celery_rig.start_worker(concurrency=2)

    report_publish(report_id=report.pk)
    wait_until(lambda: sink.count() >= SUBSCRIBERS // 4, timeout=120, message="sending to start")
    log_at_kill = worker.log_size()
    private_redis.kill()  # no persistence: every queued task message is lost
    received_at_restart = sink.count()
    wait_until(
        lambda: worker.logged("Connection to broker lost", since=log_at_kill),
        timeout=30,
        message="the worker to notice the broker is gone",
    )
    private_redis.start()
    # Live workers keep their claims; only rows whose task messages were lost are re-enqueued.
    wait_until(
        lambda: deliveries_requeue_stale(pending_for=timedelta(0)) >= 0,
        timeout=30,
        message="the sweep to reach the restarted broker",
    )
    _wait_until_done(report, SUBSCRIBERS)
    celery_rig.wait_until_idle()

    duplicates = _assert_once_each(sink, tokens, in_flight=set())
    assert duplicates == {}
    NOTES.append(
        f"Redis killed and restarted after {received_at_restart} messages; duplicates: none"
    )


def test_smtp_refusing_for_a_while_then_accepting(celery_rig: CeleryRig):
    tokens = _subscribers()
    report = _draft()
    sink = celery_rig.sink
    sink.refusing = True
    celery_rig.start_worker(concurrency=2)

    refusing_since = time.monotonic()
    report_publish(report_id=report.pk)
    wait_until(lambda: sink.refusals >= 6, timeout=60, message="the sink to refuse some batches")
    # Refusing on until a batch has come back after its backoff and been refused again.
    wait_until(
        lambda: Delivery.objects.filter(report=report, attempts__gte=2).exists(),
        timeout=60,
        message="a retried batch to be refused again",
    )
    refused = sink.refusals
    refusing_for = time.monotonic() - refusing_since
    sink.refusing = False
    _wait_until_done(report, SUBSCRIBERS)
    celery_rig.wait_until_idle()

    assert _assert_once_each(sink, tokens, in_flight=set()) == {}
    retried = Delivery.objects.filter(report=report, attempts__gt=1).count()
    assert retried > 0
    assert not Delivery.objects.filter(report=report, status=Delivery.Status.FAILED).exists()
    NOTES.append(
        f"SMTP sink answered 451 {refused} times in {refusing_for:.1f} s, until a retried "
        f"batch was refused again; {retried} deliveries needed a retry; duplicates: none"
    )
