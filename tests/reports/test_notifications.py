"""New-report notifications in-process: fan-out, claims, sending, retries and the sweep."""

import re
import smtplib
from datetime import timedelta
from email import message_from_bytes, policy
from itertools import pairwise

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import NewsletterSubscriber
from reports import tasks
from reports.models import (
    Delivery,
    DeliveryBatch,
    NotificationPreference,
    Report,
    ReportNotification,
)
from reports.notifications import fanout, sending, sweep
from reports.notifications.fanout import delivery_batch_insert, notification_fan_out
from reports.notifications.sending import deliveries_send
from reports.notifications.sweep import deliveries_requeue_stale
from reports.publishing import report_publish, reports_publish_due
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory, TopicFactory
from tests.support.mailers import refused, scripted_mailer

pytestmark = pytest.mark.django_db

CANARY = "CANARY-PAID-BODY-5be1"


@pytest.fixture
def draft():
    return ReportFactory(
        status=Report.Status.DRAFT,
        published_at=None,
        title="Heat pumps at -20 °C: the shootout",
        kind=Report.Kind.SHOOTOUT,
        teaser="Eight heat pumps, one **cold chamber**.",
        body=f"## Findings\n\n{CANARY} the paid verdict.",
        author__display_name="Ada Author",
    )


@pytest.fixture
def recorded_sends(monkeypatch):
    """Deliveries get created, but send tasks are recorded instead of run: a fan-out batch's
    task inserts its rows and records their ids, a plain send task records its ids."""
    batches: list[list[int]] = []

    def insert_only(*, batch_ids: list[int]) -> None:
        for batch_id in batch_ids:
            batches.append(delivery_batch_insert(batch_id=batch_id))

    monkeypatch.setattr(fanout, "delivery_batches_enqueue", insert_only)
    monkeypatch.setattr(
        sweep, "deliveries_enqueue", lambda delivery_ids: batches.append(list(delivery_ids))
    )
    return batches


def _publish(report, capture) -> None:
    with capture(execute=True):
        report_publish(report_id=report.pk)


def _raw(message) -> bytes:
    return message.message().as_bytes()


def _assert_no_canary(message) -> None:
    assert CANARY not in message.subject
    assert CANARY not in message.body
    assert all(CANARY not in content for content, _ in message.alternatives)
    parsed = message_from_bytes(_raw(message), policy=policy.default)
    for part in parsed.walk():
        if part.get_content_maintype() == "text":
            assert CANARY not in part.get_content()
    assert CANARY.encode() not in _raw(message)


def test_publishing_emails_each_confirmed_subscriber_once(
    draft, mailoutbox, django_capture_on_commit_callbacks
):
    confirmed = NewsletterSubscriberFactory.create_batch(3)
    NewsletterSubscriberFactory(email="pending@example.com", confirmed_at=None)
    NewsletterSubscriberFactory(email="gone@example.com", unsubscribed_at=timezone.now())

    _publish(draft, django_capture_on_commit_callbacks)

    assert sorted(m.to[0] for m in mailoutbox) == sorted(s.email for s in confirmed)
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    for message in mailoutbox:
        subscriber = NewsletterSubscriber.objects.get(email=message.to[0])
        delivery = Delivery.objects.get(subscriber=subscriber)
        parsed = message_from_bytes(_raw(message), policy=policy.default)
        assert not parsed.defects
        url = f"http://testserver/newsletter/unsubscribe/{subscriber.token}/"
        assert parsed["List-Unsubscribe"] == f"<{url}>"
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert parsed["To"] == subscriber.email
        assert f"delivery-{delivery.pk}." in parsed["Message-ID"]
        assert parsed["Subject"] == "New shootout: Heat pumps at -20 °C: the shootout"
        text = parsed.get_body(("plain",)).get_content()
        html = parsed.get_body(("html",)).get_content()
        for part in (text, html):
            assert "Ada Author" in part
            assert "Eight heat pumps" in part
            assert url in part
            assert f"http://testserver/reports/{draft.slug}/" in part
        assert "Read the report" in html
        assert "<strong>cold chamber</strong>" in html
        _assert_no_canary(message)


def test_publish_rolled_back_enqueues_nothing(
    draft, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(tasks.notify_report, "delay", lambda *args: enqueued.append(args))

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        report_publish(report_id=draft.pk)
        raise RuntimeError("the editor's request failed after publishing")

    assert callbacks == []
    assert enqueued == []
    assert not ReportNotification.objects.exists()
    draft.refresh_from_db()
    assert draft.status == Report.Status.DRAFT


def test_publishing_twice_fans_out_once(
    draft, monkeypatch, mailoutbox, django_capture_on_commit_callbacks
):
    NewsletterSubscriberFactory.create_batch(2)
    _publish(draft, django_capture_on_commit_callbacks)
    enqueued = []
    monkeypatch.setattr(tasks.notify_report, "delay", lambda *args: enqueued.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        assert report_publish(report_id=draft.pk) is False

    assert enqueued == []
    assert len(mailoutbox) == 2


def test_the_same_notify_task_run_twice_sends_nothing_new(
    draft, mailoutbox, django_capture_on_commit_callbacks
):
    NewsletterSubscriberFactory.create_batch(3)
    _publish(draft, django_capture_on_commit_callbacks)

    assert tasks.notify_report.delay(draft.pk).get() == 0
    assert notification_fan_out(report_id=draft.pk) == 0

    assert len(mailoutbox) == 3
    assert Delivery.objects.count() == 3


def test_scheduled_report_notifies_when_the_beat_publishes_it(
    mailoutbox, django_capture_on_commit_callbacks
):
    NewsletterSubscriberFactory()
    report = ReportFactory(
        status=Report.Status.SCHEDULED,
        published_at=None,
        publish_at=timezone.now() - timedelta(seconds=5),
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert reports_publish_due() == [report.pk]

    assert len(mailoutbox) == 1


def test_subscriber_who_unsubscribed_meanwhile_is_skipped(draft, recorded_sends, mailoutbox):
    stays, leaves = NewsletterSubscriberFactory.create_batch(2)
    report_publish(report_id=draft.pk)
    notification_fan_out(report_id=draft.pk)
    NewsletterSubscriber.objects.filter(pk=leaves.pk).update(unsubscribed_at=timezone.now())

    result = deliveries_send(delivery_ids=recorded_sends[0], claimant="task-1")

    assert (result.sent, result.skipped) == (1, 1)
    assert [m.to for m in mailoutbox] == [[stays.email]]
    assert Delivery.objects.get(subscriber=leaves).status == Delivery.Status.SKIPPED


def test_kind_and_topic_preferences_choose_the_reports(
    mailoutbox, django_capture_on_commit_callbacks
):
    heat_pumps = TopicFactory(slug="heat-pumps", name="Heat pumps")
    everything = NewsletterSubscriberFactory(email="all@example.com")
    only_shootouts = NewsletterSubscriberFactory(email="shootouts@example.com")
    only_heat_pumps = NewsletterSubscriberFactory(email="heat@example.com")
    chose_nothing = NewsletterSubscriberFactory(email="nothing@example.com")
    NotificationPreference.objects.create(subscriber=everything, all_reports=True)
    NotificationPreference.objects.create(
        subscriber=only_shootouts, all_reports=False, kinds=["shootout"]
    )
    NotificationPreference.objects.create(subscriber=only_heat_pumps, all_reports=False).topics.set(
        [heat_pumps]
    )
    NotificationPreference.objects.create(subscriber=chose_nothing, all_reports=False)
    test_on_heat_pumps = ReportFactory(
        status=Report.Status.DRAFT, published_at=None, kind=Report.Kind.TEST, topics=[heat_pumps]
    )
    shootout = ReportFactory(status=Report.Status.DRAFT, published_at=None, kind="shootout")

    _publish(test_on_heat_pumps, django_capture_on_commit_callbacks)
    first = sorted(m.to[0] for m in mailoutbox)
    _publish(shootout, django_capture_on_commit_callbacks)
    second = sorted(m.to[0] for m in mailoutbox[len(first) :])

    assert first == ["all@example.com", "heat@example.com"]
    assert second == ["all@example.com", "shootouts@example.com"]


def _queued_deliveries(draft, count: int, recorded_sends) -> list[int]:
    NewsletterSubscriberFactory.create_batch(count)
    report_publish(report_id=draft.pk)
    notification_fan_out(report_id=draft.pk)
    return [pk for batch in recorded_sends for pk in batch]


def test_transient_refusal_puts_the_rest_back_and_reports_it(draft, recorded_sends, settings):
    ids = _queued_deliveries(draft, 4, recorded_sends)

    with scripted_mailer(settings, [None, refused(451)]) as outbox:
        result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (result.sent, result.released) == (1, 3)
    assert "451" in result.transient_error
    assert len(outbox) == 1
    rows = {d.pk: d for d in Delivery.objects.all()}
    assert rows[ids[0]].status == Delivery.Status.SENT
    assert [rows[pk].status for pk in ids[1:]] == [Delivery.Status.QUEUED] * 3
    assert (rows[ids[1]].attempts, rows[ids[2]].attempts) == (1, 0)
    assert "451" in rows[ids[1]].error

    with scripted_mailer(settings, []) as outbox:
        again = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert again.sent == 3
    assert len(outbox) == 3


@pytest.mark.parametrize(
    "error",
    [
        smtplib.SMTPServerDisconnected("Connection unexpectedly closed"),
        ConnectionRefusedError(111, "Connection refused"),
        smtplib.SMTPDataError(421, b"closing"),
    ],
)
def test_connection_trouble_is_transient(draft, recorded_sends, settings, error):
    ids = _queued_deliveries(draft, 2, recorded_sends)

    with scripted_mailer(settings, [error]):
        result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert result.transient_error
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.QUEUED}


def test_permanent_refusal_fails_that_row_only(draft, recorded_sends, settings):
    ids = _queued_deliveries(draft, 3, recorded_sends)

    with scripted_mailer(settings, [None, refused(550), None]) as outbox:
        result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (result.sent, result.failed) == (2, 1)
    assert len(outbox) == 2
    failed = Delivery.objects.get(status=Delivery.Status.FAILED)
    assert failed.pk == ids[1]
    assert "550" in failed.error


def test_eager_send_task_leaves_a_refused_batch_to_the_sweep(draft, recorded_sends, settings):
    ids = _queued_deliveries(draft, 3, recorded_sends)
    recorded_sends.clear()

    with scripted_mailer(settings, [refused(451)]) as outbox:
        assert "451" in tasks.send_deliveries.delay(ids).get()["transient_error"]
        assert outbox == []
        deliveries_requeue_stale(pending_for=timedelta(0), now=timezone.now() + timedelta(1))
        for batch in recorded_sends:
            tasks.send_deliveries.delay(batch)

    assert len(outbox) == 3
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}


@pytest.mark.parametrize("retries", [0, 1, 4, 12])
def test_retry_backoff_grows_with_jitter_and_a_cap(settings, retries):
    step = min(settings.NOTIFY_RETRY_BACKOFF_MAX, settings.NOTIFY_RETRY_BACKOFF * 2**retries)

    countdowns = {tasks.retry_countdown(retries) for _ in range(20)}

    assert all(step / 2 <= c <= step for c in countdowns)
    assert len(countdowns) > 1


def test_a_delivery_is_given_up_after_the_attempt_cap(draft, recorded_sends, settings):
    ids = _queued_deliveries(draft, 1, recorded_sends)
    Delivery.objects.update(attempts=settings.NOTIFY_MAX_ATTEMPTS, error="451 busy")

    result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert result.failed == 1
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.error.startswith("Gave up after")


def test_two_tasks_with_the_same_rows_send_each_once(draft, recorded_sends, mailoutbox):
    ids = _queued_deliveries(draft, 3, recorded_sends)

    first = deliveries_send(delivery_ids=ids, claimant="task-1")
    second = deliveries_send(delivery_ids=ids, claimant="task-2")

    assert (first.sent, second.sent) == (3, 0)
    assert len(mailoutbox) == 3


def test_a_redelivered_task_resumes_its_own_claims_only(draft, recorded_sends, mailoutbox):
    ids = _queued_deliveries(draft, 2, recorded_sends)
    Delivery.objects.update(
        status=Delivery.Status.SENDING, claimed_by="task-1", claimed_at=timezone.now()
    )

    assert deliveries_send(delivery_ids=ids, claimant="task-2").sent == 0
    assert deliveries_send(delivery_ids=ids, claimant="task-1").sent == 2
    assert len(mailoutbox) == 2


def test_sweep_requeues_forgotten_and_abandoned_rows_but_not_live_claims(
    draft, recorded_sends, monkeypatch
):
    ids = _queued_deliveries(draft, 4, recorded_sends)
    recorded_sends.clear()
    now = timezone.now()
    long_ago = now - timedelta(hours=2)
    forgotten, abandoned, live, fresh = ids
    Delivery.objects.filter(pk=forgotten).update(enqueued_at=long_ago)
    Delivery.objects.filter(pk=abandoned).update(
        status=Delivery.Status.SENDING, claimed_at=long_ago, claimed_by="dead"
    )
    Delivery.objects.filter(pk=live).update(
        status=Delivery.Status.SENDING, claimed_at=now, claimed_by="alive"
    )
    Delivery.objects.filter(pk=fresh).update(enqueued_at=now)
    unfinished = ReportFactory()
    ReportNotification.objects.create(report=unfinished, requested_at=long_ago)
    notified = []
    monkeypatch.setattr(tasks.notify_report, "delay", lambda report_id: notified.append(report_id))

    assert deliveries_requeue_stale(now=now) == 2

    assert sorted(pk for batch in recorded_sends for pk in batch) == sorted([forgotten, abandoned])
    assert Delivery.objects.get(pk=live).claimed_by == "alive"
    assert notified == [unfinished.pk]


def test_beat_schedule_runs_the_sweep(settings):
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}

    assert "reports.tasks.requeue_stale_deliveries" in tasks_scheduled


def test_sending_a_batch_costs_one_update_per_message(
    draft, recorded_sends, django_assert_max_num_queries
):
    ids = _queued_deliveries(draft, 40, recorded_sends)

    with django_assert_max_num_queries(40 + 12):
        assert deliveries_send(delivery_ids=ids, claimant="task-1").sent == 40


def test_personal_values_are_escaped_in_html(draft, recorded_sends, mailoutbox):
    NewsletterSubscriber.objects.create(email="o'brien&co@example.com", confirmed_at=timezone.now())
    report_publish(report_id=draft.pk)
    notification_fan_out(report_id=draft.pk)

    deliveries_send(delivery_ids=recorded_sends[0], claimant="task-1")

    html = mailoutbox[0].alternatives[0].content
    assert "o&#x27;brien&amp;co@example.com" in html
    assert "o'brien&co@example.com" in mailoutbox[0].body
    assert re.search(r"%%[0-9a-f]{16}-", html + mailoutbox[0].body) is None


def test_subject_and_text_carry_the_title_as_written_and_html_escapes_it(
    mailoutbox, django_capture_on_commit_callbacks
):
    title = 'Batteries & <Chargers> "tested"'
    NewsletterSubscriberFactory()
    report = ReportFactory(
        status=Report.Status.DRAFT, published_at=None, kind=Report.Kind.TEST, title=title
    )

    _publish(report, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    parsed = message_from_bytes(_raw(message), policy=policy.default)
    text = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = parsed.get_body(("html",)).get_content()
    assert message.subject == parsed["Subject"] == f"New test: {title}"
    assert f"\n{title}\n" in text
    assert text == message.body
    assert "&amp;" not in text and "&lt;" not in text and "&quot;" not in text
    escaped = "Batteries &amp; &lt;Chargers&gt; &quot;tested&quot;"
    assert f"<title>New test: {escaped}</title>" in html
    assert f">{escaped}</a></h1>" in html
    assert "<Chargers>" not in html


def test_teaser_links_keep_their_targets_in_text_and_become_absolute_in_both_parts(
    mailoutbox, django_capture_on_commit_callbacks
):
    NewsletterSubscriberFactory()
    report = ReportFactory(
        status=Report.Status.DRAFT, published_at=None, slug="pumps",
        teaser="We followed [the method](https://standards.example/en14825) and "
        "[our rig](/reports/test-rig/); see [the findings](#findings).",
    )  # fmt: skip

    _publish(report, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    parsed = message_from_bytes(_raw(message), policy=policy.default)
    text = " ".join(parsed.get_body(("plain",)).get_content().split())
    html = parsed.get_body(("html",)).get_content()
    assert "the method <https://standards.example/en14825>" in text
    assert "our rig <http://testserver/reports/test-rig/>" in text
    assert "the findings <http://testserver/reports/pumps/#findings>" in text
    assert 'href="http://testserver/reports/test-rig/"' in html
    assert 'href="http://testserver/reports/pumps/#findings"' in html
    assert 'href="/' not in html and 'href="#' not in html


def test_notifications_carry_a_list_id_in_the_sites_domain(
    draft, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://research.example"
    NewsletterSubscriberFactory()

    _publish(draft, django_capture_on_commit_callbacks)

    (message,) = mailoutbox
    parsed = message_from_bytes(_raw(message), policy=policy.default)
    assert parsed["List-Id"] == "Gridline Research new reports <reports.research.example>"
    assert message.extra_headers["List-Id"] == parsed["List-Id"]
    assert parsed["Message-ID"].endswith("@research.example>")


def test_a_fan_out_writes_batches_that_cover_every_recipient_once_in_order(draft, monkeypatch):
    monkeypatch.setattr(fanout, "SEND_BATCH_SIZE", 4)
    subscribers = NewsletterSubscriberFactory.create_batch(23)
    NewsletterSubscriber.objects.filter(pk=subscribers[5].pk).update(confirmed_at=None)
    report_publish(report_id=draft.pk)
    enqueued: list[list[int]] = []
    monkeypatch.setattr(
        fanout, "delivery_batches_enqueue", lambda batch_ids: enqueued.append(batch_ids)
    )

    assert notification_fan_out(report_id=draft.pk) == 22

    assert not Delivery.objects.exists()  # each send task inserts its own rows
    batches = list(DeliveryBatch.objects.filter(report=draft).order_by("after_subscriber_id"))
    assert enqueued == [[batch.pk for batch in batches]]
    assert [batch.size for batch in batches] == [4, 4, 4, 4, 4, 2]
    assert batches[0].after_subscriber_id == 0
    for earlier, later in pairwise(batches):
        assert earlier.last_subscriber_id == later.after_subscriber_id
    assert batches[-1].last_subscriber_id == subscribers[-1].pk
    covered = [
        pk
        for batch in batches
        for pk in NewsletterSubscriber.objects.receiving()
        .filter(pk__gt=batch.after_subscriber_id, pk__lte=batch.last_subscriber_id)
        .values_list("pk", flat=True)
    ]
    assert covered == sorted(s.pk for s in subscribers if s != subscribers[5])
    assert ReportNotification.objects.get(report=draft).fanned_out_at is not None
    assert notification_fan_out(report_id=draft.pk) == 0  # nothing twice
    assert DeliveryBatch.objects.filter(report=draft).count() == 6


def test_a_fan_outs_queries_do_not_grow_with_its_recipients(draft, monkeypatch):
    monkeypatch.setattr(fanout, "SEND_BATCH_SIZE", 4)
    monkeypatch.setattr(fanout, "delivery_batches_enqueue", lambda batch_ids: None)
    report_publish(report_id=draft.pk)
    NewsletterSubscriberFactory.create_batch(3)
    with CaptureQueriesContext(connection) as few:
        notification_fan_out(report_id=draft.pk)
    DeliveryBatch.objects.all().delete()
    NewsletterSubscriberFactory.create_batch(60)

    with CaptureQueriesContext(connection) as many:
        notification_fan_out(report_id=draft.pk)

    assert DeliveryBatch.objects.count() == 16
    assert len(many) == len(few) <= 10


def test_a_batch_inserts_its_rows_once_and_then_returns_only_those_still_to_send(
    draft, recorded_sends, mailoutbox
):
    subscribers = NewsletterSubscriberFactory.create_batch(3)
    report_publish(report_id=draft.pk)
    notification_fan_out(report_id=draft.pk)
    batch = DeliveryBatch.objects.get(report=draft)
    assert batch.inserted_at is not None
    ids = recorded_sends[0]
    assert sorted(Delivery.objects.values_list("subscriber_id", flat=True)) == sorted(
        s.pk for s in subscribers
    )
    deliveries_send(delivery_ids=ids[:1], claimant="task-1")

    assert delivery_batch_insert(batch_id=batch.pk) == ids[1:]
    assert Delivery.objects.count() == 3


def test_a_batch_leaves_out_who_left_since_the_fan_out_and_an_unpublished_report(
    draft, monkeypatch, mailoutbox
):
    stays, leaves = NewsletterSubscriberFactory.create_batch(2)
    report_publish(report_id=draft.pk)
    monkeypatch.setattr(fanout, "delivery_batches_enqueue", lambda batch_ids: None)
    notification_fan_out(report_id=draft.pk)
    leaves.unsubscribed_at = timezone.now()
    leaves.save()
    batch = DeliveryBatch.objects.get()

    assert tasks.send_delivery_batch.delay(batch.pk).get()["sent"] == 1

    assert [m.to for m in mailoutbox] == [[stays.email]]
    assert not Delivery.objects.filter(subscriber=leaves).exists()
    other = ReportFactory(status=Report.Status.DRAFT, published_at=None)
    report_publish(report_id=other.pk)
    notification_fan_out(report_id=other.pk)
    Report.objects.filter(pk=other.pk).update(status=Report.Status.DRAFT)
    unpublished = DeliveryBatch.objects.get(report=other)

    assert tasks.send_delivery_batch.delay(unpublished.pk).get()["sent"] == 0

    assert not Delivery.objects.filter(report=other).exists()
    assert DeliveryBatch.objects.get(pk=unpublished.pk).inserted_at is not None
    assert len(mailoutbox) == 1


def test_sweep_requeues_batches_whose_task_was_lost_but_not_fresh_or_inserted_ones(
    draft, monkeypatch
):
    monkeypatch.setattr(fanout, "SEND_BATCH_SIZE", 2)
    NewsletterSubscriberFactory.create_batch(6)
    report_publish(report_id=draft.pk)
    enqueued: list[int] = []
    monkeypatch.setattr(
        fanout, "delivery_batches_enqueue", lambda batch_ids: enqueued.extend(batch_ids)
    )
    notification_fan_out(report_id=draft.pk)
    lost, _fresh, inserted = DeliveryBatch.objects.order_by("pk")
    now = timezone.now()
    long_ago = now - timedelta(hours=2)
    DeliveryBatch.objects.filter(pk__in=[lost.pk, inserted.pk]).update(enqueued_at=long_ago)
    DeliveryBatch.objects.filter(pk=inserted.pk).update(inserted_at=long_ago)
    enqueued.clear()

    assert deliveries_requeue_stale(now=now) == 2

    assert enqueued == [lost.pk]
    assert DeliveryBatch.objects.get(pk=lost.pk).enqueued_at == now
    assert deliveries_requeue_stale(now=now) == 0


class _Clock:
    def __init__(self) -> None:
        self.now, self.slept = 100.0, []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_the_pacer_spaces_messages_to_the_rate_and_catches_up_only_briefly(monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(sending, "time", clock)
    monkeypatch.setattr(sending._Pacer, "CATCH_UP", 0.5)
    pacer = sending._Pacer()

    for _ in range(5):  # 4 a second: after the half second of catch-up, one every 0.25 s
        pacer.wait(4)
    assert clock.slept == [0.25, 0.25]
    clock.now += 10  # a long pause is not made up: the same short allowance, then the pace
    for _ in range(4):
        pacer.wait(4)
    pacer.wait(0)

    assert clock.slept == [0.25, 0.25, 0.25]


def test_a_send_rate_paces_a_batch(draft, recorded_sends, settings, monkeypatch):
    ids = _queued_deliveries(draft, 4, recorded_sends)
    clock = _Clock()
    monkeypatch.setattr(sending, "time", clock)
    monkeypatch.setattr(sending._Pacer, "CATCH_UP", 0.5)
    monkeypatch.setattr(sending, "_pace", sending._Pacer())
    settings.NOTIFY_SEND_RATE = 4

    assert deliveries_send(delivery_ids=ids, claimant="task-1").sent == 4

    assert clock.slept == [0.25]


def test_the_email_names_an_author_without_a_display_name_as_the_publication():
    """A byline never shows part of an email address, in the email as on the page."""
    from tests.support.factories import UserFactory

    author = UserFactory(email="jo.private@example.com", display_name="", is_staff=True)
    report = ReportFactory(author=author)

    rendered = sending.notification_email(report=report).rendered

    text = rendered.text + rendered.html
    assert "jo.private" not in text
    assert "By Gridline Research" in text
