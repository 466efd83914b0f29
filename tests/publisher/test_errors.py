"""Uncaught exceptions: a database outage answers 503 with Retry-After (Stripe, load
balancers and readers come back), anything else the ordinary 500 page."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from accounts.models import StripeEvent
from tests.support.stripe_fake import FakeStripe

pytestmark = pytest.mark.django_db


@pytest.fixture
def quiet_client() -> Client:
    return Client(raise_request_exception=False)


def _event() -> dict:
    fake = FakeStripe(api_key="sk_test_unused", prices=set())
    return fake.event("customer.subscription.updated", {"id": "sub_x", "customer": "cus_x"})


def test_a_database_outage_during_a_webhook_asks_stripe_to_retry(post_webhook, quiet_client):
    outage = OperationalError("connection to server at 127.0.0.1 failed: Connection refused")
    with mock.patch("accounts.billing.views.stripe_event_handle", side_effect=outage):
        response = post_webhook(_event(), using=quiet_client)

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Cache-Control"] == "no-store"
    assert "Back in a moment" in response.text
    assert not StripeEvent.objects.exists()


def test_a_database_outage_on_a_page_answers_503(quiet_client):
    outage = OperationalError("server closed the connection unexpectedly")
    with mock.patch("reports.views.pages.front_page", side_effect=outage):
        response = quiet_client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "cannot reach our database" in response.text


def test_any_other_error_is_the_ordinary_500(post_webhook, quiet_client):
    with mock.patch("accounts.billing.views.stripe_event_handle", side_effect=RuntimeError("bug")):
        response = post_webhook(_event(), using=quiet_client)

    assert response.status_code == 500
    assert "Retry-After" not in response
    assert "Something went wrong" in response.text


def test_opening_a_form_only_address_answers_405_with_a_page(client):
    response = client.get("/subscribe/team/")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Not a page to open" in page
    assert "use the button on the page you came from" in page


def test_a_405_keeps_the_headers_its_view_set(client):
    # never_cache sits outside require_http_methods here: the page must stay uncached.
    response = client.put("/newsletter/confirm/some-token/")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"
    assert "no-store" in response["Cache-Control"]
    assert "That request is not accepted here" in response.content.decode()


def test_a_post_to_a_page_answers_405_without_claiming_a_form(client):
    response = client.post("/newsletter/check-your-inbox/")

    assert response.status_code == 405
    assert "That request is not accepted here" in response.content.decode()
    assert "Not a page to open" not in response.content.decode()
