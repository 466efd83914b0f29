"""Notifications and transactional emails through the providers' real Anymail backends,
against local fakes of their send APIs (tests/support/providers_fake.py)."""

import math
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.mail import mailers
from django.utils import timezone

from accounts.models import NewsletterSubscriber
from publisher.env import mailer_from_url
from publisher.mail import providers
from reports import tasks
from reports.models import Delivery, Report
from reports.notifications import fanout, sending, sweep
from reports.notifications.fanout import delivery_batch_insert
from reports.notifications.sending import deliveries_send
from reports.notifications.sweep import deliveries_requeue_stale
from reports.publishing import report_publish
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory
from tests.support.providers_fake import FakeProviders

pytestmark = pytest.mark.django_db

BATCH = 3  # each provider's batch size, made small so a few recipients fill several


@pytest.fixture
def fake():
    server = FakeProviders().start()
    yield server
    server.stop()


def _url(scheme: str, fake: FakeProviders) -> str:
    base = fake.base_url
    return {
        "postmark": f"postmark://server-token@?api_url={base}",
        "mailgun": f"mailgun://key-123@?api_url={base}v3/&sender_domain=mg.example.com",
        "resend": f"resend://re_123@?api_url={base}",
        "ses": f"ses://AKID:secret@?region=eu-west-1&endpoint_url={base.rstrip('/')}",
    }[scheme]


@pytest.fixture
def provider(request, fake, settings, monkeypatch, env_email_url):
    scheme = request.param
    settings.MAILERS = {"default": env_email_url(_url(scheme, fake))}
    settings.DEFAULT_FROM_EMAIL = "Gridline Research <reports@example.com>"
    for backend in (providers.PostmarkBackend, providers.MailgunBackend, providers.ResendBackend):
        monkeypatch.setattr(backend, "batch_size", BATCH)
    monkeypatch.setattr(fanout, "SEND_BATCH_SIZE", 2)
    return scheme


@pytest.fixture
def env_email_url(monkeypatch):
    def build(url: str) -> dict:
        monkeypatch.setenv("EMAIL_URL", url)
        return mailer_from_url("EMAIL_URL", default="smtp://localhost")

    return build


@pytest.fixture
def report():
    return ReportFactory(
        status=Report.Status.DRAFT,
        published_at=None,
        title="Heat pumps & the cold",
        kind=Report.Kind.SHOOTOUT,
        teaser="Eight heat pumps.",
    )


def _publish(report, capture) -> None:
    with capture(execute=True):
        report_publish(report_id=report.pk)


BATCHING = ["postmark", "mailgun", "resend"]


@pytest.mark.parametrize("provider", BATCHING, indirect=True)
@pytest.mark.parametrize("count", [1, 7])
def test_a_fan_out_makes_one_call_per_batch_with_each_recipients_own_values(
    provider, fake, report, count, django_capture_on_commit_callbacks
):
    subscribers = NewsletterSubscriberFactory.create_batch(count)

    _publish(report, django_capture_on_commit_callbacks)

    send_paths = [path for path in fake.calls]
    assert len(send_paths) == math.ceil(count / BATCH)
    assert sorted(copy.to for copy in fake.sent) == sorted(s.email for s in subscribers)
    for copy in fake.sent:
        subscriber = NewsletterSubscriber.objects.get(email=copy.to)
        url = f"http://testserver/newsletter/unsubscribe/{subscriber.token}/"
        headers = {name.lower(): value for name, value in copy.headers.items()}
        assert headers["list-unsubscribe"] == f"<{url}>"
        assert headers["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
        assert "list-id" in headers
        assert url in copy.text and url in copy.html
        assert subscriber.email in copy.text
        assert "%recipient." not in copy.text + copy.html + copy.subject
        assert copy.subject == "New shootout: Heat pumps & the cold"
        assert "Heat pumps &amp; the cold" in copy.html
        # nobody else's link reaches this copy
        others = NewsletterSubscriber.objects.exclude(pk=subscriber.pk)
        assert not any(other.token in copy.text + copy.html for other in others)
    if provider in ("postmark", "mailgun"):
        # Their tracking events carry it back: deliveries and bounces count per report.
        assert {copy.metadata.get("report_id") for copy in fake.sent} == {str(report.pk)}
    rows = Delivery.objects.select_related("subscriber")
    assert {row.status for row in rows} == {Delivery.Status.SENT}
    ids = {copy.to: copy.message_id for copy in fake.sent}
    for row in rows:
        expected = ids[row.subscriber.email]
        assert row.provider_message_id == expected


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_ses_sends_each_notification_with_its_own_call(
    provider, fake, report, django_capture_on_commit_callbacks
):
    subscribers = NewsletterSubscriberFactory.create_batch(3)

    _publish(report, django_capture_on_commit_callbacks)

    assert fake.calls == ["/v2/email/outbound-emails"] * 3
    assert sorted(copy.to for copy in fake.sent) == sorted(s.email for s in subscribers)
    for copy in fake.sent:
        token = NewsletterSubscriber.objects.get(email=copy.to).token
        assert copy.headers["List-Unsubscribe"] == (
            f"<http://testserver/newsletter/unsubscribe/{token}/>"
        )
        assert token in copy.text
    assert {d.status for d in Delivery.objects.all()} == {Delivery.Status.SENT}


def _queued(report, count: int) -> list[int]:
    NewsletterSubscriberFactory.create_batch(count)
    report.status = Report.Status.PUBLISHED
    report.published_at = timezone.now()
    report.save()
    fanout.notification_fan_out(report_id=report.pk)
    return list(Delivery.objects.order_by("pk").values_list("pk", flat=True))


@pytest.fixture
def no_enqueue(monkeypatch):
    monkeypatch.setattr(
        fanout,
        "delivery_batches_enqueue",
        lambda *, batch_ids: [delivery_batch_insert(batch_id=pk) for pk in batch_ids],
    )
    monkeypatch.setattr(sweep, "deliveries_enqueue", lambda delivery_ids: None)


@pytest.mark.parametrize("provider", ["postmark"], indirect=True)
def test_a_5xx_releases_the_batch_and_the_retry_sends_it(provider, fake, report, no_enqueue):
    ids = _queued(report, 5)
    fake.fail_next.append((503, {}, '{"Message": "Service unavailable"}'))

    first = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (first.sent, first.released, first.retry_after) == (0, 5, 0)
    assert "503" in first.transient_error
    rows = list(Delivery.objects.order_by("pk"))
    assert {row.status for row in rows} == {Delivery.Status.QUEUED}
    assert [row.attempts for row in rows] == [1, 1, 1, 0, 0]  # only the batch tried
    assert fake.sent == []

    again = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert again.sent == 5
    assert sorted(fake.sends_per_recipient().values()) == [1] * 5


@pytest.mark.parametrize("provider", ["resend"], indirect=True)
def test_a_429_retries_no_sooner_than_its_retry_after(provider, fake, report, no_enqueue):
    ids = _queued(report, 2)
    fake.fail_next.append((429, {"Retry-After": "42"}, '{"message": "Too many requests"}'))

    result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert result.retry_after == 42
    assert result.released == 2

    class Request:
        is_eager = False
        retries = 0

    class Task:
        request = Request()

        def retry(self, countdown):
            self.countdown = countdown
            return RuntimeError("retry")

    task = Task()
    with pytest.raises(RuntimeError):
        tasks._send_or_retry(task, result)
    assert task.countdown >= 42


@pytest.mark.parametrize("provider", ["postmark"], indirect=True)
def test_a_partial_batch_rejection_fails_those_rows_only(provider, fake, report, no_enqueue):
    ids = _queued(report, 3)
    refused = Delivery.objects.select_related("subscriber").get(pk=ids[1]).subscriber.email
    fake.inactive.add(refused)

    result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (result.sent, result.failed) == (2, 1)
    rows = {row.subscriber.email: row for row in Delivery.objects.select_related("subscriber")}
    assert rows[refused].status == Delivery.Status.FAILED
    assert "rejected" in rows[refused].error
    assert rows[refused].provider_message_id == ""
    others = [row for email, row in rows.items() if email != refused]
    assert all(row.status == Delivery.Status.SENT and row.provider_message_id for row in others)


@pytest.mark.parametrize("provider", ["postmark"], indirect=True)
def test_a_batch_wholly_rejected_fails_its_rows_without_retrying(
    provider, fake, report, no_enqueue
):
    ids = _queued(report, 1)
    fake.inactive.add(Delivery.objects.get().subscriber.email)

    result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (result.failed, result.transient_error) == (1, "")
    assert Delivery.objects.get().status == Delivery.Status.FAILED


class _Killed(BaseException):
    """A worker killed after the provider accepted a batch and before the mark."""


def _crash_between_call_and_mark(monkeypatch, *, on_call: int):
    real = sending._finish_batch
    calls = {"n": 0}

    def finish(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == on_call:
            raise _Killed
        return real(*args, **kwargs)

    monkeypatch.setattr(sending, "_finish_batch", finish)
    return lambda: monkeypatch.setattr(sending, "_finish_batch", real)  # a healthy worker


@pytest.mark.parametrize("provider", ["postmark", "mailgun"], indirect=True)
def test_a_worker_killed_between_call_and_mark_resends_at_most_that_batch(
    provider, fake, report, no_enqueue, monkeypatch
):
    ids = _queued(report, 8)  # batches of 3, 3, 2 within one send
    restore = _crash_between_call_and_mark(monkeypatch, on_call=2)

    with pytest.raises(_Killed):
        deliveries_send(delivery_ids=ids, claimant="task-1")
    restore()

    # The sweep finds the dead worker's claims once they are older than any task runs.
    later = timezone.now() + timezone.timedelta(hours=2)
    deliveries_requeue_stale(now=later)
    deliveries_send(delivery_ids=ids, claimant="task-2")

    counts = fake.sends_per_recipient()
    assert len(counts) == 8
    doubled = [email for email, n in counts.items() if n > 1]
    assert max(counts.values()) == 2
    assert len(doubled) == BATCH  # exactly the batch in flight, nobody else
    assert {d.status for d in Delivery.objects.all()} == {Delivery.Status.SENT}


@pytest.mark.parametrize("provider", ["resend"], indirect=True)
def test_with_resend_the_idempotency_key_keeps_even_that_batch_single(
    provider, fake, report, no_enqueue, monkeypatch
):
    ids = _queued(report, 8)
    restore = _crash_between_call_and_mark(monkeypatch, on_call=2)

    with pytest.raises(_Killed):
        deliveries_send(delivery_ids=ids, claimant="task-1")
    restore()
    deliveries_requeue_stale(now=timezone.now() + timezone.timedelta(hours=2))
    deliveries_send(delivery_ids=ids, claimant="task-2")

    counts = fake.sends_per_recipient()
    assert sorted(counts.values()) == [1] * 8
    assert len(fake.idempotent) == 3
    rows = Delivery.objects.all()
    assert {d.status for d in rows} == {Delivery.Status.SENT}
    # the answer replayed for the repeated key still names each copy's id
    ids_at_fake = {copy.to: copy.message_id for copy in fake.sent}
    for row in rows.select_related("subscriber"):
        assert row.provider_message_id == ids_at_fake[row.subscriber.email]


@pytest.mark.parametrize("provider", ["postmark", "mailgun", "resend", "ses"], indirect=True)
def test_transactional_email_goes_through_the_provider(provider, fake):
    mail.send_mail("Your code", "Code: 123456", None, ["reader@example.com"])

    assert [copy.to for copy in fake.sent] == ["reader@example.com"]
    assert "123456" in fake.sent[0].text
    assert fake.sent[0].subject == "Your code"


def test_the_default_mailer_reads_the_provider_setting(fake, settings, env_email_url):
    settings.MAILERS = {"default": env_email_url(_url("postmark", fake))}
    backend = mailers.default
    assert isinstance(backend, providers.PostmarkBackend)
    assert urlsplit(backend.api_url).port == fake.server.server_address[1]


def test_each_field_is_filled_once_and_a_value_is_never_read_as_a_field():
    text = "Hi %recipient.email_x%, leave at %recipient.url_x%; %recipient.unknown% stays."
    filled = providers._personalise(
        text, {"email_x": "%recipient.url_x%@example.com", "url_x": "https://u/"}
    )
    assert (
        filled
        == "Hi %recipient.url_x%@example.com, leave at https://u/; %recipient.unknown% stays."
    )


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_ses_throttling_is_retried_and_each_copy_is_marked_with_its_id(
    provider, fake, report, no_enqueue
):
    ids = _queued(report, 2)
    fake.fail_next.append(
        (429, {"x-amzn-ErrorType": "TooManyRequestsException"}, '{"message": "Slow down"}')
    )

    result = deliveries_send(delivery_ids=ids, claimant="task-1")

    # boto3 retries SES's throttling itself (its standard retry mode), before we see it
    assert (result.sent, result.released, fake.fail_next) == (2, 0, [])
    at_fake = {copy.to: copy.message_id for copy in fake.sent}
    assert sorted(fake.sends_per_recipient().values()) == [1, 1]
    for row in Delivery.objects.select_related("subscriber"):
        assert row.provider_message_id == at_fake[row.subscriber.email]


def test_each_send_task_takes_a_whole_provider_batch_behind_the_suppression_filter(
    settings, env_email_url, fake
):
    real = env_email_url(_url("postmark", fake))
    settings.MAILERS = {
        "default": {
            "BACKEND": "accounts.deliverability.mailer.SuppressingMailer",
            "OPTIONS": {"backend": real["BACKEND"], "options": real.get("OPTIONS", {})},
        }
    }
    assert providers.mailer_batch_size() == providers.PostmarkBackend.batch_size == 500
    assert fanout.send_batch_size() == 500
