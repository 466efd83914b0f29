"""RFC 8058 one-click unsubscribe: a POST with no cookies and no CSRF token, the token decides."""

import pytest
from django.test import Client
from django.test.client import encode_multipart
from django.utils import timezone

from accounts.models import NewsletterSubscriber

pytestmark = pytest.mark.django_db

ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def subscriber():
    return NewsletterSubscriber.objects.create(
        email="reader@example.com", confirmed_at=timezone.now()
    )


@pytest.fixture
def mail_provider() -> Client:
    """What a mailbox provider's one-click POST looks like: no cookies, no CSRF token."""
    return Client(enforce_csrf_checks=True)


def _url(token: str) -> str:
    return f"/newsletter/unsubscribe/{token}/"


def test_one_click_post_urlencoded_unsubscribes(subscriber, mail_provider):
    response = mail_provider.post(
        _url(subscriber.token), ONE_CLICK, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None
    assert not subscriber.is_receiving


def test_one_click_post_multipart_unsubscribes(subscriber, mail_provider):
    body = encode_multipart("provider-boundary", {"List-Unsubscribe": "One-Click"})

    response = mail_provider.post(
        _url(subscriber.token), body, content_type="multipart/form-data; boundary=provider-boundary"
    )

    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None


def test_get_shows_a_button_and_does_not_unsubscribe(subscriber, mail_provider):
    response = mail_provider.get(_url(subscriber.token))

    assert response.status_code == 200
    page = response.content.decode()
    assert "<form" in page
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is None


def test_the_button_on_the_page_unsubscribes(subscriber, mail_provider):
    response = mail_provider.post(_url(subscriber.token), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is not None


@pytest.mark.parametrize("tamper", ["flip", "truncate", "extend", "other"])
def test_a_tampered_token_does_nothing(subscriber, mail_provider, tamper):
    other = NewsletterSubscriber.objects.create(
        email="other@example.com", confirmed_at=timezone.now()
    )
    token = subscriber.token
    bad = {
        "flip": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "truncate": token[:-4],
        "extend": token + "x",
        "other": "x" * len(token),
    }[tamper]

    post = mail_provider.post(
        _url(bad), ONE_CLICK, content_type="application/x-www-form-urlencoded"
    )
    get = mail_provider.get(_url(bad))

    assert (post.status_code, get.status_code) == (404, 404)
    assert "not valid" in post.content.decode()
    assert set(NewsletterSubscriber.objects.values_list("unsubscribed_at", flat=True)) == {None}
    assert other.pk


def test_a_post_without_the_one_click_field_does_nothing(subscriber, mail_provider):
    response = mail_provider.post(_url(subscriber.token), {"something": "else"})

    assert response.status_code == 400
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at is None


def test_unsubscribing_twice_keeps_the_first_time(subscriber, mail_provider):
    mail_provider.post(_url(subscriber.token), {"List-Unsubscribe": "One-Click"})
    subscriber.refresh_from_db()
    first = subscriber.unsubscribed_at

    again = mail_provider.post(_url(subscriber.token), {"List-Unsubscribe": "One-Click"})

    assert again.status_code == 200
    subscriber.refresh_from_db()
    assert subscriber.unsubscribed_at == first
