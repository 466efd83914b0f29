"""The header's Subscribe button and the newsletter box, for each kind of reader: offered to
everyone who may not read every report, never competing with a report the reader may read,
and nothing personal in the pages shared by every anonymous reader."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import NewsletterSubscriber, Organisation, OrganisationMember
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory

SUBSCRIBE_BUTTON = re.compile(
    r'<a class="button button--small" href="/subscribe/[^"]*">Subscribe</a>'
)
BOX_FORM = 'class="newsletter-box__form"'
ON_LINE = 'You get new-report emails · <a href="/newsletter/preferences/">Manage</a>'


@pytest.fixture
def report(db):
    return ReportFactory(slug="night-draw", is_free=False)


def _get(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "lapsed_subscriber"])
@pytest.mark.parametrize("path", ["/", "/reports/night-draw/", "/search/", "/newsletter/"])
def test_readers_who_may_not_read_every_report_are_offered_to_subscribe(
    request, client_for, report, persona, path
):
    page = _get(client_for(request.getfixturevalue(persona)), path)

    assert SUBSCRIBE_BUTTON.search(page)
    assert f'href="/subscribe/?next={path}"' in page


@pytest.mark.parametrize("persona", ["subscriber", "editor"])
def test_entitled_readers_are_not_offered_to_subscribe(request, client_for, report, persona):
    client = client_for(request.getfixturevalue(persona))

    for path in ["/", "/reports/night-draw/", "/accounts/profile/"]:
        assert not SUBSCRIBE_BUTTON.search(_get(client, path)), path


def test_a_seat_holder_is_not_offered_to_subscribe(client_for, free_reader, report):
    organisation = Organisation.objects.create(
        name="Acme", owner=free_reader, seats=2, status="active"
    )
    OrganisationMember.objects.create(organisation=organisation, user=free_reader)

    assert not SUBSCRIBE_BUTTON.search(_get(client_for(free_reader), "/"))


def test_the_plans_page_does_not_offer_itself(client, db):
    assert not SUBSCRIBE_BUTTON.search(_get(client, "/subscribe/"))


def test_account_pages_are_nowhere_to_come_back_to(client, db):
    page = _get(client, "/accounts/login/")

    assert 'href="/subscribe/">Subscribe</a>' in page


def test_the_anonymous_page_is_shared_and_carries_the_button_and_nothing_personal(
    client, report, client_for, free_reader
):
    # A logged-in reader's visit first: what it shows of them must not reach the shared copy.
    NewsletterSubscriberFactory(email=free_reader.email, user=free_reader)
    client_for(free_reader).get("/reports/night-draw/")

    first = client.get("/reports/night-draw/")
    second = client.get("/reports/night-draw/")

    assert "public" in first["Cache-Control"]
    assert second["X-Page-Cache"] == "hit"
    page = second.content.decode()
    assert SUBSCRIBE_BUTTON.search(page)
    assert BOX_FORM in page and "You get new-report emails" not in page
    assert free_reader.email not in page and "Log out" not in page


def test_logged_in_pages_are_private(client_for, free_reader, report):
    response = client_for(free_reader).get("/reports/night-draw/")

    assert "private" in response["Cache-Control"]
    assert "X-Page-Cache" not in response


# The newsletter box ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["subscriber", "editor"])
def test_entitled_readers_see_no_newsletter_box_on_report_pages(
    request, client_for, report, persona
):
    page = _get(client_for(request.getfixturevalue(persona)), "/reports/night-draw/")

    assert "newsletter-box" not in page


def test_entitled_readers_of_a_free_report_see_no_box_either(client_for, subscriber, db):
    ReportFactory(slug="free-one", is_free=True)

    assert "newsletter-box" not in _get(client_for(subscriber), "/reports/free-one/")


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "lapsed_subscriber"])
def test_other_readers_see_the_box_on_report_pages(request, client_for, report, persona):
    assert BOX_FORM in _get(client_for(request.getfixturevalue(persona)), "/reports/night-draw/")


@pytest.mark.parametrize("linked", [True, False])
def test_a_reader_who_gets_the_emails_sees_so_and_a_link_to_manage_them(
    client_for, free_reader, report, linked
):
    NewsletterSubscriberFactory(email=free_reader.email, user=free_reader if linked else None)
    client = client_for(free_reader)

    for path in ["/", "/reports/night-draw/"]:
        page = _get(client, path)
        assert ON_LINE in page, path
        assert BOX_FORM not in page


def test_an_entitled_reader_who_gets_the_emails_sees_that_on_the_home_page(
    client_for, subscriber, report
):
    NewsletterSubscriberFactory(email=subscriber.email)

    assert ON_LINE in _get(client_for(subscriber), "/")
    assert "newsletter-box" not in _get(client_for(subscriber), "/reports/night-draw/")


@pytest.mark.parametrize("state", ["pending", "unsubscribed"])
def test_a_reader_not_receiving_the_emails_gets_the_form(client_for, free_reader, report, state):
    NewsletterSubscriber.objects.create(
        email=free_reader.email,
        confirmed_at=timezone.now() if state == "unsubscribed" else None,
        unsubscribed_at=timezone.now() if state == "unsubscribed" else None,
    )

    page = _get(client_for(free_reader), "/")

    assert BOX_FORM in page and "You get new-report emails" not in page


def test_someone_elses_subscription_at_another_address_is_not_the_readers(
    client_for, free_reader, report
):
    NewsletterSubscriberFactory(email="someone.else@example.com")

    assert BOX_FORM in _get(client_for(free_reader), "/")
