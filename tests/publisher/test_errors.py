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
