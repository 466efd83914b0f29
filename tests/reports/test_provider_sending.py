"""Notifications and transactional emails through the providers' real Anymail backends,
against local fakes of their send APIs (tests/support/providers_fake.py)."""

import json
import math
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.mail import mailers
from django.utils import timezone

from accounts.figures import month_range
from accounts.models import EmailEvent, NewsletterSubscriber
from publisher.env import mailer_from_url
from publisher.mail import providers
from reports import tasks
from reports.dashboard.figures import FIGURES, Figures
from reports.models import Delivery, Report
from reports.notifications import fanout, sending, sweep
from reports.notifications.fanout import delivery_batch_insert
from reports.notifications.sending import deliveries_send
from reports.notifications.sweep import deliveries_requeue_stale
from reports.publishing import report_publish
from tests.support import provider_events as pe
from tests.support import providers_fake
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
    for backend in (
        providers.PostmarkBackend,
        providers.MailgunBackend,
        providers.ResendBackend,
        providers.AmazonSESBackend,
    ):
        monkeypatch.setattr(backend, "batch_size", BATCH)
    # This fake's SES account starts without templates: so does the process's memory of them.
    monkeypatch.setattr(providers.AmazonSESBackend, "templates_known", set())
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


BATCHING = ["postmark", "mailgun", "resend", "ses"]
SES_TEMPLATES = "/v2/email/templates"
SES_BULK = "/v2/email/outbound-bulk-emails"


@pytest.mark.parametrize("provider", BATCHING, indirect=True)
@pytest.mark.parametrize("count", [1, 7])
def test_a_fan_out_makes_one_call_per_batch_with_each_recipients_own_values(
    provider, fake, report, count, django_capture_on_commit_callbacks
):
    subscribers = NewsletterSubscriberFactory.create_batch(count)

    _publish(report, django_capture_on_commit_callbacks)

    send_paths = [path for path in fake.calls if path != SES_TEMPLATES]
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
    if provider in ("postmark", "mailgun", "ses"):
        # Their tracking events carry it back: deliveries and bounces count per report.
        assert {copy.metadata.get("report_id") for copy in fake.sent} == {str(report.pk)}
    rows = Delivery.objects.select_related("subscriber")
    assert {row.status for row in rows} == {Delivery.Status.SENT}
    ids = {copy.to: copy.message_id for copy in fake.sent}
    for row in rows:
        expected = ids[row.subscriber.email]
        assert row.provider_message_id == expected


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_ses_messages_sent_one_by_one_carry_the_report_in_their_metadata(
    provider, fake, report, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(providers.AmazonSESBackend, "batch_size", 0)
    subscribers = NewsletterSubscriberFactory.create_batch(3)

    _publish(report, django_capture_on_commit_callbacks)

    assert fake.calls == ["/v2/email/outbound-emails"] * 3
    assert sorted(copy.to for copy in fake.sent) == sorted(s.email for s in subscribers)
    rows = {row.subscriber.email: row for row in Delivery.objects.select_related("subscriber")}
    for copy in fake.sent:
        token = rows[copy.to].subscriber.token
        assert copy.headers["List-Unsubscribe"] == (
            f"<http://testserver/newsletter/unsubscribe/{token}/>"
        )
        assert token in copy.text
        assert copy.metadata == {"delivery": str(rows[copy.to].pk), "report_id": str(report.pk)}
        assert rows[copy.to].provider_message_id == copy.message_id
    assert {d.status for d in rows.values()} == {Delivery.Status.SENT}


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


def _the_first_batch_waits_and_the_retry_sends_all(fake: FakeProviders, ids: list[int]) -> None:
    rows = list(Delivery.objects.order_by("pk"))
    assert {row.status for row in rows} == {Delivery.Status.QUEUED}
    assert [row.attempts for row in rows] == [1, 1, 1, 0, 0]  # only the batch tried
    assert fake.sent == []

    again = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert again.sent == 5
    assert sorted(fake.sends_per_recipient().values()) == [1] * 5


@pytest.mark.parametrize("provider", ["postmark"], indirect=True)
def test_a_5xx_releases_the_batch_and_the_retry_sends_it(provider, fake, report, no_enqueue):
    ids = _queued(report, 5)
    fake.fail_next.append((503, {}, '{"Message": "Service unavailable"}'))

    first = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (first.sent, first.released, first.retry_after) == (0, 5, 0)
    assert "503" in first.transient_error
    _the_first_batch_waits_and_the_retry_sends_all(fake, ids)


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


@pytest.mark.parametrize(
    ("provider", "answer"), [("postmark", "rejected"), ("ses", "failed")], indirect=["provider"]
)
def test_a_partial_batch_rejection_fails_those_rows_only(
    provider, answer, fake, report, no_enqueue
):
    ids = _queued(report, 3)
    refused = Delivery.objects.select_related("subscriber").get(pk=ids[1]).subscriber.email
    fake.inactive.add(refused)  # Postmark's inactive recipient
    fake.ses_entry_failures[refused] = "MESSAGE_REJECTED"  # SES's entry status

    result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (result.sent, result.failed) == (2, 1)
    rows = {row.subscriber.email: row for row in Delivery.objects.select_related("subscriber")}
    assert rows[refused].status == Delivery.Status.FAILED
    assert answer in rows[refused].error
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


@pytest.mark.parametrize("provider", ["postmark", "mailgun", "ses"], indirect=True)
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
    # four calls a task, each marked as it returns
    assert fanout.send_batch_size() == 500 * fanout.PROVIDER_CALLS_PER_TASK == 2000


# Amazon SES batches: our rendering stored as an SES template, SendBulkEmail per 50 -------


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_an_ses_fan_out_sends_bulk_calls_of_50_from_one_template_of_our_rendering(
    provider, fake, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(providers.AmazonSESBackend, "batch_size", 50)
    # Braces and backslashes a template language could read, in every part of the email
    title = r"Heat {{pumps}} & {{{raw}}} \{{escaped}} {{#if x}}cold{{/if}} }}"
    report = ReportFactory(
        status=Report.Status.DRAFT,
        published_at=None,
        title=title,
        kind=Report.Kind.SHOOTOUT,
        teaser="Eight {heat} pumps.",
    )
    subscribers = NewsletterSubscriberFactory.create_batch(119)
    quoted = NewsletterSubscriberFactory(email="o'brien+{x}@example.com")

    _publish(report, django_capture_on_commit_callbacks)

    assert fake.calls.count(SES_BULK) == math.ceil(120 / 50)
    assert fake.calls.count(SES_TEMPLATES) == 1  # three send tasks, the same content
    assert len(fake.ses_templates) == 1
    assert fake.rendering_failures == []
    assert sorted(fake.sends_per_recipient().values()) == [1] * 120
    rows = {row.subscriber.email: row for row in Delivery.objects.select_related("subscriber")}
    assert set(rows) == {s.email for s in [*subscribers, quoted]}
    for copy in fake.sent:
        row = rows[copy.to]
        url = f"http://testserver/newsletter/unsubscribe/{row.subscriber.token}/"
        assert copy.headers["List-Unsubscribe"] == f"<{url}>"
        assert copy.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "List-Id" in copy.headers
        assert url in copy.text and url in copy.html
        assert copy.metadata == {"delivery": str(row.pk), "report_id": str(report.pk)}
        assert row.status == Delivery.Status.SENT
        assert row.provider_message_id == copy.message_id
        assert copy.subject == f"New shootout: {title}"
        assert title in copy.text and "Eight {heat} pumps." in copy.html
        assert r"Heat {{pumps}} &amp; {{{raw}}} \{{escaped}}" in copy.html
        assert copy.to in copy.text
    mine = next(copy for copy in fake.sent if copy.to == quoted.email)
    # escaped once in the HTML, as it is in the text
    assert "o&#x27;brien+{x}@example.com" in mine.html
    assert "&amp;#x27;" not in mine.html and "o'brien+{x}@example.com" in mine.text
    template = next(iter(fake.ses_templates.values()))
    assert "o&#x27;brien" not in template["Html"] and quoted.token not in template["Text"]


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_an_ses_template_another_worker_made_is_used_as_it_is(provider, fake, report, no_enqueue):
    ids = _queued(report, 4)
    deliveries_send(delivery_ids=ids[:2], claimant="task-1")
    providers.AmazonSESBackend.templates_known.clear()  # another process: it knows none

    result = deliveries_send(delivery_ids=ids[2:], claimant="task-2")

    assert result.sent == 2
    assert fake.calls.count(SES_TEMPLATES) == 2  # the second answered AlreadyExists
    assert len(fake.ses_templates) == 1
    assert sorted(fake.sends_per_recipient().values()) == [1] * 4
    # What the account holds, read back as SES answers GetEmailTemplate: no personal value
    backend = mailers.default
    backend.open()
    try:
        stored = backend.client.get_email_template(TemplateName=next(iter(fake.ses_templates)))
    finally:
        backend.close()
    tokens = NewsletterSubscriber.objects.values_list("token", flat=True)
    content = stored["TemplateContent"]
    assert content["Subject"] == "New shootout: Heat pumps & the cold"
    assert "{{{v1}}}" in content["Text"] and "{{{v1}}}" not in content["Subject"]
    assert not any(token in content["Text"] + content["Html"] for token in tokens)


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_an_ses_template_deleted_from_the_account_is_made_again_on_the_retry(
    provider, fake, report, no_enqueue
):
    ids = _queued(report, 2)
    deliveries_send(delivery_ids=ids[:1], claimant="task-1")
    fake.ses_templates.clear()  # someone tidied the account

    first = deliveries_send(delivery_ids=ids[1:], claimant="task-1")
    again = deliveries_send(delivery_ids=ids[1:], claimant="task-1")

    assert (first.released, "NotFoundException" in first.transient_error) == (1, True)
    assert again.sent == 1
    assert len(fake.ses_templates) == 1
    assert sorted(fake.sends_per_recipient().values()) == [1, 1]


def _no_boto_retries(settings) -> None:
    options = settings.MAILERS["default"]["OPTIONS"]
    options["client_params"] = {
        **options["client_params"],
        "config": {"retries": {"total_max_attempts": 1}},
    }


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
@pytest.mark.parametrize(
    ("status", "kind"), [(503, "ServiceUnavailable"), (429, "TooManyRequestsException")]
)
@pytest.mark.parametrize("path", [SES_TEMPLATES, SES_BULK])
def test_an_ses_5xx_or_throttling_releases_the_batch_and_the_retry_sends_it(
    provider, fake, report, no_enqueue, settings, status, kind, path
):
    _no_boto_retries(settings)  # boto3 would retry these itself first; here it gives up
    ids = _queued(report, 5)
    fake.fail_only = path
    fake.fail_next.append((status, {}, json.dumps({"__type": kind, "message": "Slow down"})))

    first = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (first.sent, first.released) == (0, 5)
    assert kind in first.transient_error
    _the_first_batch_waits_and_the_retry_sends_all(fake, ids)
    assert len(fake.ses_templates) == 1


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_ses_bulk_throttling_is_retried_by_boto3_first(provider, fake, report, no_enqueue):
    ids = _queued(report, 3)
    fake.fail_only = SES_BULK
    fake.fail_next.append(
        (429, {"x-amzn-ErrorType": "TooManyRequestsException"}, '{"message": "Slow down"}')
    )

    result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (result.sent, result.released, fake.fail_next) == (3, 0, [])
    assert sorted(fake.sends_per_recipient().values()) == [1] * 3


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_an_ses_batch_refused_whole_for_one_reason_is_retried(provider, fake, report, no_enqueue):
    # One status for every entry is the account's state (paused, over quota), not theirs.
    ids = _queued(report, 2)
    for row in Delivery.objects.select_related("subscriber"):
        fake.ses_entry_failures[row.subscriber.email] = "ACCOUNT_SENDING_PAUSED"

    result = deliveries_send(delivery_ids=ids, claimant="task-1")

    assert (result.sent, result.failed, result.released) == (0, 0, 2)
    assert "ACCOUNT_SENDING_PAUSED" in result.transient_error


@pytest.mark.parametrize("provider", ["ses"], indirect=True)
def test_an_ses_event_for_a_batch_copy_counts_for_its_report(
    provider, fake, report, no_enqueue, client
):
    deliveries_send(delivery_ids=_queued(report, 2), claimant="task-1")
    copy = fake.sent[0]

    # SES's event echoes the message's headers; Anymail reads the metadata from X-Metadata.
    path, body, headers = pe.ses(
        "Delivery", email=copy.to, at=timezone.now(), message_id=copy.message_id,
        mail_headers=copy.headers,
    )  # fmt: skip
    response = client.post(path, body, content_type=headers.pop("Content-Type"), headers=headers)

    assert response.status_code == 200
    assert EmailEvent.objects.get().report_id == report.pk
    table = FIGURES["outcomes"].table(Figures(month_range(months=3, now=timezone.now())))
    assert table.rows == [[report.title, 1, 0, 0, 0, 0, 0, 0]]


@pytest.mark.parametrize(
    "text",
    [
        "Hi %recipient.a%, {{b}} \\%recipient.a% {%recipient.b%} %recipient.gone% \\",
        "{{{{raw}}}} %recipient.a%%recipient.b% }}}{ \\\\{{x}}",
        "",
    ],
)
def test_an_ses_template_renders_as_the_batch_copy_would_be_filled(text):
    values = {"a": "{{b}} & %recipient.b%", "b": "<i>\\</i>"}
    names: dict[str, str] = {}
    template = providers.ses_template(text, keys=set(values), names=names)
    data = {
        "lbrace": "{", "rbrace": "}", "backslash": "\\",
        **{name: values[key] for key, name in names.items()},
    }  # fmt: skip

    assert providers_fake._ses_render(template, data) == providers._personalise(text, values)
    assert providers.ses_template(text, keys=set(values), names={}) == template
