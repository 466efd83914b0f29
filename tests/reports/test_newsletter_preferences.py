"""Logged-in readers turn notifications on or off and choose kinds and topics."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache

from accounts.models import NewsletterSubscriber
from accounts.newsletter.services import SIGNUPS_PER_IP
from reports.models import NotificationPreference
from tests.support.factories import NewsletterSubscriberFactory, TopicFactory

pytestmark = pytest.mark.django_db

URL = "/newsletter/preferences/"


def test_preferences_need_a_login(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_account_area_links_to_the_preferences(client_for, free_reader):
    page = client_for(free_reader).get("/accounts/email/").content.decode()

    assert f'href="{URL}"' in page


def test_turning_notifications_on_subscribes_the_verified_account_address(
    client_for, free_reader, mailoutbox
):
    response = client_for(free_reader).post(URL, {"enabled": "on", "scope": "all"})

    assert response.status_code == 302
    subscriber = NewsletterSubscriber.objects.get()
    assert (subscriber.email, subscriber.user) == ("free@example.com", free_reader)
    assert subscriber.is_receiving
    assert subscriber.consent_source == "account-preferences"
    assert mailoutbox == []


def test_unverified_account_address_gets_a_confirmation_email_first(
    client_for, free_reader, mailoutbox, django_capture_on_commit_callbacks
):
    EmailAddress.objects.filter(user=free_reader).update(verified=False)

    with django_capture_on_commit_callbacks(execute=True):
        client_for(free_reader).post(URL, {"enabled": "on", "scope": "all"})

    assert not NewsletterSubscriber.objects.get().is_receiving
    assert len(mailoutbox) == 1


def test_choosing_kinds_and_topics(client_for, free_reader):
    heat_pumps = TopicFactory(slug="heat-pumps", name="Heat pumps")
    client = client_for(free_reader)

    client.post(
        URL, {"enabled": "on", "scope": "chosen", "kinds": ["test"], "topics": [heat_pumps.pk]}
    )

    preference = NotificationPreference.objects.get()
    assert (preference.all_reports, preference.kinds) == (False, ["test"])
    assert list(preference.topics.all()) == [heat_pumps]
    page = client.get(URL).content.decode()
    assert re.search(r'value="test"[^>]*checked', page)
    assert re.search(rf'value="{heat_pumps.pk}"[^>]*checked', page)
    assert not re.search(r'value="shootout"[^>]*checked', page)


def test_choosing_only_kinds_but_none_is_refused(client_for, free_reader):
    response = client_for(free_reader).post(URL, {"enabled": "on", "scope": "chosen"})

    assert response.status_code == 200
    assert "Choose at least one kind or topic" in response.content.decode()
    assert not NewsletterSubscriber.objects.exists()


def test_an_anonymous_signup_is_linked_and_can_be_turned_off(client_for, free_reader):
    earlier = NewsletterSubscriberFactory(email="free@example.com")

    client_for(free_reader).post(URL, {"scope": "all"})

    earlier.refresh_from_db()
    assert earlier.unsubscribed_at is not None
    assert client_for(free_reader).get(URL).status_code == 200
    assert (
        "Notifications are <strong>off</strong>"
        in client_for(free_reader).get(URL).content.decode()
    )


def test_rate_limited_confirmation_is_a_message_not_an_error(client_for, free_reader, settings):
    EmailAddress.objects.filter(user=free_reader).update(verified=False)
    cache.clear()
    client = client_for(free_reader)
    for _ in range(SIGNUPS_PER_IP):
        client.post(URL, {"enabled": "on", "scope": "all"})

    response = client.post(URL, {"enabled": "on", "scope": "all"}, follow=True)

    assert response.status_code == 200
    assert "Too many signups from your network" in response.content.decode()
    cache.clear()
