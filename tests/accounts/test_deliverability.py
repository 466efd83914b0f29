"""Events back from email providers: each provider's tracking webhook as it really posts,
authenticated its way; suppression of hard bounces, complaints and repeated soft bounces;
duplicates and out-of-order events; the mail paths that skip suppressed addresses."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMessage, mailers
from django.db.models import Count
from django.test import Client

from accounts.deliverability.selectors import addresses_suppressed
from accounts.deliverability.services import email_suppression_release
from accounts.models import EmailEvent, EmailSuppression, NewsletterSubscriber
from accounts.newsletter.services import newsletter_recipients
from publisher.mail.providers import mailer_batch_size
from reports.notifications.fanout import (
    PROVIDER_CALLS_PER_TASK,
    SEND_BATCH_SIZE,
    send_batch_size,
)
from tests.support import provider_events as pe
from tests.support.factories import NewsletterSubscriberFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 2, 14, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def provider() -> Client:
    """A provider's POST: no cookies, no CSRF token."""
    return Client(enforce_csrf_checks=True)


def post(client: Client, request: pe.Request):
    path, body, headers = request
    content_type = headers.pop("Content-Type")
    return client.post(path, body, content_type=content_type, headers=headers)


def in_force(address: str) -> EmailSuppression | None:
    return EmailSuppression.objects.in_force().filter(address=address).first()


HARD_BOUNCES = {
    "postmark": lambda email, **kw: pe.postmark("Bounce", email=email, at=NOW, **kw),
    "amazon_ses": lambda email, **kw: pe.ses("Bounce", email=email, at=NOW, **kw),
    "mailgun": lambda email, **kw: pe.mailgun("failed", email=email, at=NOW, **kw),
    "resend": lambda email, **kw: pe.resend("email.bounced", email=email, at=NOW, **kw),
}
COMPLAINTS = {
    "postmark": lambda email: pe.postmark("SpamComplaint", email=email, at=NOW),
    "amazon_ses": lambda email: pe.ses("Complaint", email=email, at=NOW),
    "mailgun": lambda email: pe.mailgun("complained", email=email, at=NOW),
    "resend": lambda email: pe.resend("email.complained", email=email, at=NOW),
}


@pytest.mark.parametrize("name", HARD_BOUNCES)
def test_a_hard_bounce_suppresses_the_address_for_good(provider, name):
    response = post(provider, HARD_BOUNCES[name]("Gone@Example.com"))

    assert response.status_code == 200
    suppression = in_force("gone@example.com")
    assert suppression is not None
    assert suppression.reason == EmailSuppression.Reason.BOUNCED
    assert suppression.provider == name
    assert suppression.created_at == NOW
    # A delivery reported later (out of order) lifts nothing.
    later = {
        "postmark": pe.postmark("Delivery", email="gone@example.com", at=NOW),
        "amazon_ses": pe.ses("Delivery", email="gone@example.com", at=NOW, sns_id="later"),
        "mailgun": pe.mailgun("delivered", email="gone@example.com", at=NOW),
        "resend": pe.resend("email.delivered", email="gone@example.com", at=NOW, svix_id="msg_x"),
    }[name]
    assert post(provider, later).status_code == 200
    assert in_force("gone@example.com") == suppression


@pytest.mark.parametrize("name", COMPLAINTS)
def test_a_complaint_suppresses_the_address(provider, name):
    assert post(provider, COMPLAINTS[name]("angry@example.com")).status_code == 200

    suppression = in_force("angry@example.com")
    assert suppression is not None
    assert suppression.reason == EmailSuppression.Reason.COMPLAINED


@pytest.mark.parametrize(
    "request_for",
    [
        lambda: pe.postmark("Bounce", email="a@example.com", at=NOW, auth="hook-user:wrong"),
        lambda: pe.postmark("Bounce", email="a@example.com", at=NOW, auth=""),
        lambda: pe.ses("Bounce", email="a@example.com", at=NOW, auth="intruder:guess"),
        lambda: pe.mailgun("failed", email="a@example.com", at=NOW, key="not-the-key"),
        lambda: pe.resend(
            "email.bounced",
            email="a@example.com",
            at=NOW,
            secret="whsec_" + "b3RoZXItc2VjcmV0LW5vdC1vdXJz",
        ),
    ],
    ids=["postmark-wrong", "postmark-missing", "ses-wrong", "mailgun-wrong", "resend-wrong"],
)
def test_wrong_or_missing_credentials_are_refused_and_change_nothing(provider, request_for):
    response = post(provider, request_for())

    assert 400 <= response.status_code < 500
    assert not EmailSuppression.objects.exists()
    assert not EmailEvent.objects.exists()


def test_ses_without_credentials_is_asked_for_them(provider):
    path, body, headers = pe.ses("Bounce", email="a@example.com", at=NOW, auth="")

    response = provider.post(path, body, content_type="text/plain", headers=headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic")
    assert not EmailEvent.objects.exists()


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailInsecureWebhookWarning")
def test_a_provider_without_credentials_configured_is_refused(provider, settings):
    settings.ANYMAIL = {}

    assert (
        post(provider, pe.postmark("Bounce", email="a@example.com", at=NOW, auth="")).status_code
        == 400
    )
    assert (
        post(provider, pe.mailgun("failed", email="a@example.com", at=NOW, key="")).status_code
        == 400
    )
    assert not EmailSuppression.objects.exists()


@pytest.mark.parametrize(
    "path,body,content_type",
    [
        ("/anymail/postmark/tracking/", b"{not json", "application/json"),
        ("/anymail/postmark/tracking/", b"[1, 2, 3]", "application/json"),
        ("/anymail/postmark/tracking/", b"\xff\xfe\x00", "application/json"),
        ("/anymail/amazon_ses/tracking/", b"<xml/>", "text/plain"),
        (
            "/anymail/amazon_ses/tracking/",
            b'{"Type": "Notification", "MessageId": "m"}',
            "text/plain",
        ),
        ("/anymail/mailgun/tracking/", b"[]", "application/json"),
        ("/anymail/mailgun/tracking/", b'{"signature": 5}', "application/json"),
        ("/anymail/resend/tracking/", b"\x00\x01", "application/json"),
    ],
)
def test_garbage_bodies_get_a_4xx_never_a_500(provider, path, body, content_type):
    headers = pe.basic_auth() | {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": "m",
    }

    response = provider.post(path, body, content_type=content_type, headers=headers)

    assert 400 <= response.status_code < 500
    assert not EmailEvent.objects.exists()


def test_authenticated_but_unreadable_payloads_are_a_400(provider):
    body = json.dumps({"RecordType": "Bounce", "Type": "HardBounce", "Metadata": [1]})

    response = provider.post(
        "/anymail/postmark/tracking/",
        body,
        content_type="application/json",
        headers=pe.basic_auth(),
    )

    assert response.status_code == 400


def test_the_same_event_delivered_twice_is_applied_once(provider):
    bounce = pe.postmark(
        "Bounce", email="soft@example.com", at=NOW, bounce_type="SoftBounce", event_id=77
    )

    for _ in range(3):
        assert post(provider, bounce).status_code == 200
        bounce = pe.postmark(
            "Bounce", email="soft@example.com", at=NOW, bounce_type="SoftBounce", event_id=77
        )

    assert EmailEvent.objects.count() == 1
    # Three deliveries of one soft bounce are one soft bounce, not the limit of three.
    assert in_force("soft@example.com") is None


def test_events_without_an_id_are_told_apart_by_their_payload(provider):
    opened = pe.postmark("Open", email="r@example.com", at=NOW, report_id=9)
    opened_again = pe.postmark(
        "Open", email="r@example.com", at=NOW + timedelta(hours=1), report_id=9
    )

    for request in (
        opened,
        opened_again,
        pe.postmark("Open", email="r@example.com", at=NOW, report_id=9),
    ):
        assert post(provider, request).status_code == 200

    assert EmailEvent.objects.filter(outcome="opened", report_id=9).count() == 2


def test_ses_one_notification_for_two_recipients_is_two_events(provider):
    path, body, headers = pe.ses("Bounce", email="one@example.com", at=NOW)
    notification = json.loads(body)
    event = json.loads(notification["Message"])
    event["bounce"]["bouncedRecipients"].append({"emailAddress": "two@example.com"})
    notification["Message"] = json.dumps(event)

    post(provider, (path, json.dumps(notification).encode(), headers))

    assert in_force("one@example.com") and in_force("two@example.com")


SOFT_BOUNCES = {
    "postmark": lambda at, n: pe.postmark(
        "Bounce", email="full@example.com", at=at, bounce_type="SoftBounce", event_id=n
    ),
    "postmark-transient": lambda at, n: pe.postmark(
        "Bounce", email="full@example.com", at=at, bounce_type="Transient", event_id=n
    ),
    "amazon_ses": lambda at, n: pe.ses(
        "Bounce", email="full@example.com", at=at, bounce_type="Transient", sns_id=f"sns-{n}"
    ),
    "mailgun": lambda at, n: pe.mailgun(
        "failed", email="full@example.com", at=at, severity="temporary"
    ),
    "resend": lambda at, n: pe.resend(
        "email.bounced",
        email="full@example.com",
        at=at,
        bounce_type="Transient",
        svix_id=f"msg_{n}",
    ),
}


@pytest.mark.parametrize("name", SOFT_BOUNCES)
def test_soft_bounces_suppress_at_the_limit_within_the_window(provider, name):
    build = SOFT_BOUNCES[name]
    for n, days_ago in enumerate([6, 3]):
        assert post(provider, build(NOW - timedelta(days=days_ago), n)).status_code == 200
    assert in_force("full@example.com") is None

    post(provider, build(NOW, 2))

    suppression = in_force("full@example.com")
    assert suppression is not None
    assert suppression.reason == EmailSuppression.Reason.SOFT_BOUNCES


def test_soft_bounces_spread_beyond_the_window_do_not_suppress(provider):
    for n, days_ago in enumerate([20, 10, 0]):
        post(provider, SOFT_BOUNCES["postmark"](NOW - timedelta(days=days_ago), n))

    assert EmailEvent.objects.filter(outcome="soft_bounced").count() == 3
    assert in_force("full@example.com") is None


def test_soft_bounces_arriving_out_of_order_count_by_when_they_happened(provider):
    for n, days_ago in enumerate([0, 5, 2]):
        post(provider, SOFT_BOUNCES["postmark"](NOW - timedelta(days=days_ago), n))

    assert in_force("full@example.com") is not None


def test_the_soft_bounce_limit_and_window_are_settings(provider, settings):
    settings.EMAIL_SOFT_BOUNCE_LIMIT = 2
    settings.EMAIL_SOFT_BOUNCE_WINDOW_DAYS = 30
    for n, days_ago in enumerate([25, 0]):
        post(provider, SOFT_BOUNCES["postmark"](NOW - timedelta(days=days_ago), n))

    assert in_force("full@example.com") is not None


def test_a_provider_unsubscribe_unsubscribes_the_newsletter_subscriber(provider):
    subscriber = NewsletterSubscriberFactory(email="leaving@example.com")

    post(provider, pe.postmark("SubscriptionChange", email="leaving@example.com", at=NOW))
    post(provider, pe.mailgun("unsubscribed", email="leaving@example.com", at=NOW))

    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at == NOW
    assert in_force("leaving@example.com").reason == "provider_unsubscribe"


@pytest.mark.parametrize(
    "request_for",
    [
        lambda: pe.postmark("SomethingNew", email="x@example.com", at=NOW),
        lambda: pe.ses("Subscription", email="x@example.com", at=NOW),
        lambda: pe.mailgun("accepted", email="x@example.com", at=NOW),
        lambda: pe.resend("contact.created", email="x@example.com", at=NOW),
    ],
)
def test_unknown_events_are_acknowledged_and_change_nothing(provider, request_for):
    assert post(provider, request_for()).status_code == 200

    assert not EmailSuppression.objects.exists()
    assert set(EmailEvent.objects.values_list("outcome", flat=True)) <= {"other"}


def test_events_count_per_report_from_the_metadata(provider):
    for n in range(3):
        post(provider, pe.postmark("Delivery", email=f"r{n}@example.com", at=NOW, report_id=12))
    post(provider, pe.ses("Open", email="r0@example.com", at=NOW, report_id=12))
    post(provider, pe.mailgun("failed", email="r1@example.com", at=NOW, report_id=12))
    post(provider, pe.resend("email.delivered", email="r2@example.com", at=NOW, report_id=13))

    counts = dict(
        EmailEvent.objects.filter(report_id=12).values_list("outcome").annotate(n=Count("id"))
    )
    assert counts == {"delivered": 3, "opened": 1, "bounced": 1}
    assert EmailEvent.objects.get(report_id=13).outcome == "delivered"


def test_release_by_staff_lets_the_address_be_mailed_again(editor):
    EmailSuppression.objects.create(address="back@example.com", reason="bounced")

    released = email_suppression_release(suppressions=EmailSuppression.objects.all(), by=editor)

    assert released == 1
    suppression = EmailSuppression.objects.get()
    assert (suppression.released_at, suppression.released_by) == (NOW, editor)
    assert addresses_suppressed(["back@example.com"]) == set()


def test_transactional_mail_skips_suppressed_recipients_in_one_query(
    django_assert_num_queries, settings
):
    # As publisher/settings.py configures it (Django's test set-up swaps in a bare locmem).
    settings.MAILERS = {
        "default": {
            "BACKEND": "accounts.deliverability.mailer.SuppressingMailer",
            "OPTIONS": {"backend": "django.core.mail.backends.locmem.EmailBackend"},
        }
    }
    EmailSuppression.objects.create(address="gone@example.com", reason="bounced")
    messages = [
        EmailMessage("Your code", "1234", to=["Gone <GONE@example.com>"]),
        EmailMessage("Receipt", "Thanks", to=["here@example.com", "gone@example.com"]),
    ]

    with django_assert_num_queries(1):
        sent = mailers.default.send_messages(messages)

    assert sent == 1
    assert [m.to for m in mail.outbox] == [["here@example.com"]]


def test_addresses_suppressed_compares_normalised_addresses():
    EmailSuppression.objects.create(address="mixed@example.com", reason="complained")

    assert addresses_suppressed(["Mixed@Example.COM", "other@example.com", "not an address"]) == {
        "Mixed@Example.COM"
    }


@pytest.fixture
def chief():
    return UserFactory(email="chief@example.com", is_staff=True, is_superuser=True)


def test_the_admin_lists_searches_and_releases_suppressions(client, chief):
    EmailSuppression.objects.create(
        address="gone@example.com", reason="bounced", provider="postmark"
    )
    EmailSuppression.objects.create(address="other@example.com", reason="complained")
    client.force_login(chief)

    page = client.get("/admin/accounts/emailsuppression/?q=gone")
    assert page.status_code == 200
    assert "gone@example.com" in page.content.decode()
    assert "other@example.com" not in page.content.decode()
    assert "Hard bounce" in page.content.decode()

    gone = EmailSuppression.objects.get(address="gone@example.com")
    response = client.post(
        "/admin/accounts/emailsuppression/",
        {"action": "release", "_selected_action": [gone.pk]},
    )
    assert response.status_code == 302
    gone.refresh_from_db()
    assert gone.released_by == chief


def test_staff_suppress_an_address_by_hand_normalised(client, chief):
    client.force_login(chief)

    response = client.post(
        "/admin/accounts/emailsuppression/add/",
        {
            "address": " Hand@Example.com ",
            "reason": "manual",
            "provider": "",
            "detail": "asked",
            "created_at_0": "2026-11-02",
            "created_at_1": "09:30:00",
        },
    )
    assert response.status_code == 302
    assert in_force("hand@example.com") is not None

    again = client.post(
        "/admin/accounts/emailsuppression/add/",
        {
            "address": "not-an-address",
            "reason": "manual",
            "created_at_0": "2026-11-02",
            "created_at_1": "09:30:00",
        },
    )
    assert again.status_code == 200
    assert EmailSuppression.objects.count() == 1


def test_newsletter_recipients_exclude_suppressed_addresses():
    kept, gone = NewsletterSubscriberFactory.create_batch(2)
    EmailSuppression.objects.create(address=gone.email, reason="bounced")

    assert list(newsletter_recipients()) == [kept]
    assert NewsletterSubscriber.objects.receiving().count() == 2


def test_a_mailgun_retry_is_the_same_event_though_signed_afresh(provider):
    first = pe.mailgun("delivered", email="r@example.com", at=NOW, token="a" * 50)
    retry = pe.mailgun("delivered", email="r@example.com", at=NOW, token="b" * 50)

    assert post(provider, first).status_code == post(provider, retry).status_code == 200

    assert EmailEvent.objects.count() == 1


def test_every_configured_mailer_is_wrapped_in_the_suppression_filter():
    # Django's test set-up replaces MAILERS with a bare locmem, so read the modules' own.
    import publisher.settings
    import publisher.settings_test

    for module in (publisher.settings, publisher.settings_test):
        for mailer in module.MAILERS.values():
            assert mailer["BACKEND"] == "accounts.deliverability.mailer.SuppressingMailer"
            assert mailer["OPTIONS"]["backend"]


def test_the_filter_passes_the_real_backends_attributes_through(settings):
    settings.MAILERS = {
        "default": {
            "BACKEND": "accounts.deliverability.mailer.SuppressingMailer",
            "OPTIONS": {
                "backend": "django.core.mail.backends.smtp.EmailBackend",
                "options": {"host": "mail.example.com", "port": 2525},
            },
        }
    }

    mailer = mailers.default

    assert (mailer.host, mailer.port) == ("mail.example.com", 2525)


@pytest.mark.parametrize(
    ("backend", "size"),
    [
        ("publisher.mail.providers.PostmarkBackend", 500),
        ("publisher.mail.providers.MailgunBackend", 1000),
        ("publisher.mail.smtp.EmailBackend", 0),
    ],
)
def test_a_wrapped_mailer_batches_as_its_real_backend(settings, backend, size):
    """The fan-out sizes its send tasks by the provider's batch API behind the filter."""
    settings.MAILERS = {
        "default": {
            "BACKEND": "accounts.deliverability.mailer.SuppressingMailer",
            "OPTIONS": {"backend": backend, "options": {}},
        }
    }

    assert mailer_batch_size() == size
    assert send_batch_size() == max(size * PROVIDER_CALLS_PER_TASK, SEND_BATCH_SIZE)
