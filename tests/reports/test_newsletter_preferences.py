"""Logged-in readers turn notifications on or off and choose kinds and topics; every reader,
with an account or not, does the same through the personal link in each notification."""

import re
from urllib.parse import quote

import pytest
from allauth.account.models import EmailAddress
from django.core.cache import cache
from django.test import Client

from accounts.models import NewsletterSubscriber
from accounts.newsletter.services import SIGNUPS_PER_IP, newsletter_preferences_token
from reports.models import NotificationPreference, Report
from reports.notifications.views import LINK_LIMITS
from reports.publishing import report_publish
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory, TopicFactory

pytestmark = pytest.mark.django_db

URL = "/newsletter/preferences/"


def _link(subscriber) -> str:
    return f"{URL}{newsletter_preferences_token(subscriber_token=subscriber.token)}/"


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


# The personal link in every notification: preferences without an account -------------------


def _emailed_preferences_path(subscriber, capture, mailoutbox) -> str:
    """Publish a report and return the path of the preferences link its email carried."""
    report = ReportFactory(status=Report.Status.DRAFT, published_at=None)
    with capture(execute=True):
        report_publish(report_id=report.pk)
    message = next(m for m in mailoutbox if m.to == [subscriber.email])
    html = message.alternatives[0][0]
    text_link = re.search(r"Choose kinds and topics: http://testserver(\S+)", message.body)
    html_link = re.search(r'href="http://testserver([^"]+)"[^>]*>Choose kinds and topics', html)
    assert text_link and html_link, message.body
    assert text_link.group(1) == html_link.group(1)
    return text_link.group(1)


@pytest.fixture
def reader(db):
    """A newsletter subscriber without an account."""
    return NewsletterSubscriberFactory(email="quiet.reader@example.com")


def test_every_notification_links_to_its_readers_own_preferences(
    reader, mailoutbox, django_capture_on_commit_callbacks
):
    other = NewsletterSubscriberFactory(email="other.reader@example.com")

    path = _emailed_preferences_path(reader, django_capture_on_commit_callbacks, mailoutbox)
    other_path = next(
        re.search(r"Choose kinds and topics: http://testserver(\S+)", m.body).group(1)
        for m in mailoutbox
        if m.to == [other.email]
    )

    assert path.startswith(f"{URL}") and path != URL
    assert path != other_path
    # The link names nobody: neither address appears in it, in any encoding.
    for address in (reader.email, other.email):
        for form in (address, quote(address), quote(address, safe="")):
            assert form not in path


def test_the_emailed_link_opens_preferences_without_logging_in(
    client, reader, mailoutbox, django_capture_on_commit_callbacks
):
    path = _emailed_preferences_path(reader, django_capture_on_commit_callbacks, mailoutbox)

    page = client.get(path)

    html = page.content.decode()
    assert page.status_code == 200
    assert "Your new-report emails" in html
    assert "Only the kinds and topics I choose" in html
    assert "Unsubscribe" in html
    # Only a hint of the address: a forwarded email does not tell its reader whose it is.
    assert "q…@example.com" in html
    assert reader.email not in html
    assert "no-store" in page["Cache-Control"]
    assert '<meta name="robots" content="noindex">' in html


def test_the_link_saves_kinds_and_topics(client, reader):
    heat_pumps = TopicFactory(slug="heat-pumps", name="Heat pumps")
    path = _link(reader)

    saved = client.post(
        path, {"scope": "chosen", "kinds": ["shootout"], "topics": [str(heat_pumps.pk)]}
    )

    assert saved.status_code == 302 and saved["Location"] == path
    preference = NotificationPreference.objects.get(subscriber=reader)
    assert (preference.all_reports, preference.kinds) == (False, ["shootout"])
    assert list(preference.topics.all()) == [heat_pumps]
    again = client.get(path).content.decode()
    assert "Your choices are saved." in again
    assert re.search(r'value="shootout"[^>]*checked', again)


def test_the_link_refuses_an_empty_choice_and_changes_nothing(client, reader):
    response = client.post(_link(reader), {"scope": "chosen"})

    assert response.status_code == 400
    assert "Choose at least one kind or topic" in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_the_link_unsubscribes(client, reader):
    response = client.post(_link(reader), {"action": "unsubscribe"})

    assert response.status_code == 200
    assert "You are unsubscribed" in response.content.decode()
    reader.refresh_from_db()
    assert not reader.is_receiving
    page = client.get(_link(reader)).content.decode()
    assert "We send no new-report emails" in page
    assert "Save my choices" not in page


def test_saving_through_the_link_needs_the_csrf_token(reader):
    guarded = Client(enforce_csrf_checks=True)

    response = guarded.post(_link(reader), {"action": "unsubscribe"})

    assert response.status_code == 403
    reader.refresh_from_db()
    assert reader.is_receiving


def test_without_a_token_there_are_no_preferences(client, reader):
    response = client.get(URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert client.post(URL, {"enabled": "", "scope": "all"}).status_code == 302
    reader.refresh_from_db()
    assert reader.is_receiving


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature
        lambda token: ("x" if token[0] != "x" else "y") + token[1:],  # the subscriber part
        lambda token: token.split(":")[0],  # the signature cut off
        lambda token: token[: len(token) // 2],  # cut short in the mail client
    ],
    ids=["signature", "payload", "unsigned", "truncated"],
)
def test_a_tampered_link_is_refused_with_a_clear_message(client, reader, tamper):
    response = client.get(
        f"{URL}{tamper(newsletter_preferences_token(subscriber_token=reader.token))}/"
    )
    post = client.post(
        f"{URL}{tamper(newsletter_preferences_token(subscriber_token=reader.token))}/",
        {"action": "unsubscribe"},
    )

    for refused in (response, post):
        assert refused.status_code == 400
        assert "damaged or incomplete" in refused.content.decode()
        assert "no-store" in refused["Cache-Control"]
    reader.refresh_from_db()
    assert reader.is_receiving


def test_the_unsubscribe_token_alone_does_not_open_preferences(client, reader):
    """The signature has a salt of its own: the unsubscribe link's token is not accepted."""
    response = client.get(f"{URL}{reader.token}/")

    assert response.status_code == 400


def test_a_link_whose_subscription_was_deleted_says_so(client, reader):
    path = _link(reader)
    reader.delete()

    response = client.get(path)

    assert response.status_code == 404
    assert "no longer works" in response.content.decode()


def test_one_readers_link_changes_nobody_elses_choices(client, reader):
    other = NewsletterSubscriberFactory(email="other.reader@example.com")

    client.post(_link(reader), {"scope": "chosen", "kinds": ["news"]})
    client.post(_link(reader), {"action": "unsubscribe"})

    other.refresh_from_db()
    assert other.is_receiving
    assert not NotificationPreference.objects.filter(subscriber=other).exists()


def test_the_account_holder_is_sent_to_the_account_page(client_for, free_reader):
    subscriber = NewsletterSubscriberFactory(email=free_reader.email, user=free_reader)

    response = client_for(free_reader).get(_link(subscriber))

    assert response.status_code == 302
    assert response["Location"] == URL


def test_another_logged_in_reader_still_sees_only_the_links_subscription(
    client_for, free_reader, reader
):
    page = client_for(free_reader).get(_link(reader)).content.decode()

    assert "q…@example.com" in page
    assert free_reader.email not in page


def test_preferences_links_are_rate_limited_per_address(client, reader):
    path = _link(reader)
    for _ in range(LINK_LIMITS[0].count):
        assert client.get(path, REMOTE_ADDR="198.51.100.4").status_code == 200

    limited = client.get(path, REMOTE_ADDR="198.51.100.4")
    elsewhere = client.get(path, REMOTE_ADDR="198.51.100.5")

    assert limited.status_code == 429
    assert limited["Retry-After"] == "60"
    assert "Too many requests" in limited.content.decode()
    assert elsewhere.status_code == 200


def test_the_link_page_costs_a_fixed_number_of_queries(
    client, reader, django_assert_max_num_queries
):
    TopicFactory.create_batch(5)
    path = _link(reader)
    client.post(path, {"scope": "chosen", "kinds": ["news"]})

    # The subscriber, the preference, its topics, the topics to choose from (twice: whether
    # there are any, then the boxes), and the session the saved message left.
    with django_assert_max_num_queries(6):
        assert client.get(path).status_code == 200
