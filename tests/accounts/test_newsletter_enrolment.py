"""Subscribing enrols the reader in new-report emails, with the consent recorded, and never
over an address's own record: a pending signup is confirmed, an unsubscribe stands."""

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import NewsletterSubscriber
from accounts.newsletter.services import newsletter_enrol_member
from reports.notifications.recipients import report_recipients
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def subscribe(client_for, stripe_fake, post_webhook, django_capture_on_commit_callbacks):
    """The reader pays at Checkout; the webhooks arrive. Returns their logged-in client."""

    def run(user):
        client = client_for(user)
        location = client.post("/subscribe/checkout/", {"plan": "monthly"})["Location"]
        _, events = stripe_fake.complete_checkout(location.rsplit("/", 1)[1])
        with django_capture_on_commit_callbacks(execute=True):
            for event in events:
                assert post_webhook(event).status_code == 200
        return client

    return run


def test_a_new_subscriber_gets_new_report_emails_with_the_consent_recorded(
    free_reader, subscribe, mailoutbox
):
    subscribe(free_reader)

    subscriber = NewsletterSubscriber.objects.get(email="free@example.com")
    assert subscriber.is_receiving and subscriber.user == free_reader
    assert subscriber.consent_source == "paid-subscription"
    assert subscriber.consent_at == subscriber.confirmed_at
    assert subscriber.consent_ip is None  # it arrived by Stripe's webhook, not from the reader
    assert subscriber in report_recipients(report=ReportFactory())
    welcome = mailoutbox[-1]
    assert "We will also email free@example.com when a new report is published" in welcome.body
    assert "http://testserver/newsletter/preferences/" in welcome.body


def test_an_address_already_receiving_keeps_its_own_consent(free_reader, subscribe):
    earlier = timezone.now() - timedelta(days=90)
    NewsletterSubscriberFactory(
        email="free@example.com", consent_at=earlier, confirmed_at=earlier,
        consent_source="report-page", consent_ip="203.0.113.9",
    )  # fmt: skip

    subscribe(free_reader)

    subscriber = NewsletterSubscriber.objects.get(email="free@example.com")
    assert (subscriber.consent_at, subscriber.consent_source, subscriber.consent_ip) == (
        earlier, "report-page", "203.0.113.9",
    )  # fmt: skip
    assert subscriber.confirmed_at == earlier


def test_a_pending_signup_is_confirmed_and_keeps_its_consent(free_reader, subscribe):
    asked = timezone.now() - timedelta(days=1)
    NewsletterSubscriberFactory(
        email="free@example.com", consent_at=asked, consent_source="newsletter",
        consent_ip="198.51.100.4", confirmed_at=None, confirmation_token_hash="a" * 64,
    )  # fmt: skip

    subscribe(free_reader)

    subscriber = NewsletterSubscriber.objects.get(email="free@example.com")
    assert subscriber.is_receiving
    assert (subscriber.consent_at, subscriber.consent_source) == (asked, "newsletter")
    assert subscriber.confirmation_token_hash == ""


def test_an_unsubscribed_address_stays_unsubscribed(free_reader, subscribe, mailoutbox):
    left = timezone.now() - timedelta(days=30)
    NewsletterSubscriberFactory(email="free@example.com", confirmed_at=left, unsubscribed_at=left)

    client = subscribe(free_reader)

    subscriber = NewsletterSubscriber.objects.get(email="free@example.com")
    assert subscriber.unsubscribed_at == left and not subscriber.is_receiving
    assert "New-report emails are off for you" in mailoutbox[-1].body
    page = client.get("/subscribe/success/").content.decode()
    assert "You do not receive new-report emails." in page
    assert "You will get an email when a new report is published" not in page


def test_an_unverified_address_is_not_enrolled():
    user = UserFactory(email="unverified@example.com")
    EmailAddress.objects.filter(user=user).update(verified=False)

    assert newsletter_enrol_member(user=user) is None
    assert not NewsletterSubscriber.objects.filter(email="unverified@example.com").exists()


def test_a_choice_made_under_an_earlier_address_stands():
    user = UserFactory(email="new@example.com")
    earlier = NewsletterSubscriberFactory(
        email="old@example.com", user=user, unsubscribed_at=timezone.now()
    )

    assert newsletter_enrol_member(user=user) == earlier
    assert not NewsletterSubscriber.objects.filter(email="new@example.com").exists()


def test_the_success_page_says_so_with_a_one_click_way_out(free_reader, subscribe):
    client = subscribe(free_reader)
    subscriber = NewsletterSubscriber.objects.get(email="free@example.com")

    page = client.get("/subscribe/success/").content.decode()

    assert "You will get an email when a new report is published" in page
    action = f'action="/newsletter/unsubscribe/{subscriber.token}/"'
    assert action in page
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in page

    done = client.post(f"/newsletter/unsubscribe/{subscriber.token}/",
                       {"List-Unsubscribe": "One-Click"})  # fmt: skip

    assert "You are unsubscribed" in done.content.decode()
    subscriber.refresh_from_db()
    assert not subscriber.is_receiving


def test_the_plans_page_lists_new_report_emails_among_the_benefits(client):
    assert "Email when a new report is published" in client.get("/subscribe/").content.decode()
