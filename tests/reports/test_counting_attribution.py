"""Conversions are attributed to the report whose paywall the reader came from: its plan
buttons carry the report, a checkout started from it counts `checkouts_started`, and the
subscription, once paid, counts `subscriptions_paid` for that report exactly once, however
often Stripe delivers the events. Anything else in `from` attributes nothing and breaks
nothing."""

import threading
from datetime import date, datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client

from accounts.models import Membership, SubscriptionAttribution
from reports.models import ReportDayCount
from tests.support.counting import BROWSER
from tests.support.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def paid():
    return ReportFactory(slug="converting", is_free=False)


def _paid_count(report) -> int:
    return sum(
        ReportDayCount.objects.filter(report=report).values_list("subscriptions_paid", flat=True)
    )


def _start(client, report_id, *, plan="annual"):
    return client.post(
        "/subscribe/checkout/", {"plan": plan, "next": "/reports/converting/", "from": report_id}
    )


def _session(stripe_fake, response):
    return stripe_fake.sessions[response["Location"].rsplit("/", 1)[1]]


def test_the_paywall_offers_carry_the_report(client, client_for, free_reader, paid):
    anonymous = client.get(paid.get_absolute_url()).content.decode()
    signup = next(
        unescape(part.split('"')[0])
        for part in anonymous.split('href="')[1:]
        if part.startswith("/accounts/signup/?next=%2Fsubscribe")
    )
    checkout = parse_qs(urlsplit(signup).query)["next"][0]
    assert parse_qs(urlsplit(checkout).query)["from"] == [str(paid.pk)]

    logged_in = client_for(free_reader).get(paid.get_absolute_url()).content.decode()
    assert f'<input type="hidden" name="from" value="{paid.pk}">' in logged_in


def test_a_checkout_from_a_report_counts_a_start_and_its_payment_once(
    client_for, free_reader, paid, stripe_fake, post_webhook, counting
):
    client = client_for(free_reader)

    start = _start(client, paid.pk)

    assert start.status_code == 303
    assert counting.today() == {f"{paid.pk}:checkouts_started": 1}
    session = _session(stripe_fake, start)
    assert session["metadata"] == {"source_report_id": str(paid.pk)}
    assert session["_subscription_metadata"]["source_report_id"] == str(paid.pk)

    _, events = stripe_fake.complete_checkout(session["id"])
    for event in events:
        assert post_webhook(event).status_code == 200
    # Stripe redelivers every event, and sends others about the same subscription.
    for event in events:
        assert post_webhook(event).status_code == 200
    subscription = stripe_fake.subscriptions[session["subscription"]]
    assert (
        post_webhook(stripe_fake.event("customer.subscription.updated", subscription)).status_code
        == 200
    )

    attribution = SubscriptionAttribution.objects.get()
    assert (attribution.subscription_id, attribution.source_report_id) == (
        session["subscription"],
        paid.pk,
    )
    assert attribution.membership == Membership.objects.get(user=free_reader)
    assert _paid_count(paid) == 1

    counting.fold()
    row = ReportDayCount.objects.get(report=paid)
    assert (row.checkouts_started, row.subscriptions_paid) == (1, 1)


def test_a_trial_counts_as_paid_when_it_converts(
    client_for, free_reader, paid, stripe_fake, post_webhook, counting, settings
):
    settings.STRIPE_TRIAL_DAYS = 14
    session = _session(stripe_fake, _start(client_for(free_reader), paid.pk))
    _, events = stripe_fake.complete_checkout(session["id"], card=True)
    for event in events:
        post_webhook(event)
    assert Membership.objects.get(user=free_reader).status == "trialing"
    assert _paid_count(paid) == 0

    for event in stripe_fake.end_trial(session["subscription"]):
        post_webhook(event)

    assert _paid_count(paid) == 1


def test_the_payment_is_counted_on_the_sites_day(
    client_for, free_reader, paid, stripe_fake, post_webhook, counting
):
    # Published before the instant below whatever clock the suite runs at (--frozen-clock).
    paid.published_at = datetime(2026, 12, 1, 9, tzinfo=NEW_YORK)
    paid.save(update_fields=["published_at"])
    # 23:50 in New York is already tomorrow in UTC.
    with time_machine.travel(datetime(2026, 12, 3, 23, 50, tzinfo=NEW_YORK), tick=True):
        session = _session(stripe_fake, _start(client_for(free_reader), paid.pk))
        _, events = stripe_fake.complete_checkout(session["id"])
        for event in events:
            post_webhook(event)

    assert list(ReportDayCount.objects.values_list("day", "subscriptions_paid")) == [
        (date(2026, 12, 3), 1)
    ]


@pytest.mark.parametrize(
    "value", ["", "abc", "-1", "1e3", "0", "99999999999999999999", "١٢", "999999", "draft"]
)
def test_a_from_naming_no_published_report_attributes_nothing(
    client_for, free_reader, paid, stripe_fake, post_webhook, counting, value
):
    if value == "draft":
        value = str(ReportFactory(status="draft", published_at=None).pk)

    start = _start(client_for(free_reader), value)

    assert start.status_code == 303  # the checkout goes on
    session = _session(stripe_fake, start)
    assert session["metadata"] == {}
    assert "source_report_id" not in session["_subscription_metadata"]
    _, events = stripe_fake.complete_checkout(session["id"])
    for event in events:
        assert post_webhook(event).status_code == 200
    assert counting.today() == {}
    assert not SubscriptionAttribution.objects.exists()
    assert not ReportDayCount.objects.exists()


def test_a_checkout_without_from_is_not_attributed(
    client_for, free_reader, stripe_fake, post_webhook, counting
):
    response = client_for(free_reader).post("/subscribe/checkout/", {"plan": "monthly"})
    _, events = stripe_fake.complete_checkout(_session(stripe_fake, response)["id"])
    for event in events:
        post_webhook(event)

    assert Membership.objects.get(user=free_reader).status == "active"
    assert not SubscriptionAttribution.objects.exists()


def test_a_signup_from_the_paywall_lands_on_a_checkout_that_counts(
    client, client_for, free_reader, paid, stripe_fake, counting
):
    """The anonymous paywall's address, followed after signing up (as the join path tests
    do), is the GET checkout with `from`."""
    page = client.get(paid.get_absolute_url(), HTTP_USER_AGENT=BROWSER).content.decode()
    signup = next(
        unescape(part.split('"')[0])
        for part in page.split('href="')[1:]
        if part.startswith("/accounts/signup/?next=%2Fsubscribe")
    )
    checkout = parse_qs(urlsplit(signup).query)["next"][0]

    response = client_for(free_reader).get(checkout)

    assert response.status_code == 303
    assert counting.today() == {f"{paid.pk}:checkouts_started": 1}
    assert _session(stripe_fake, response)["metadata"] == {"source_report_id": str(paid.pk)}


@pytest.fixture
def local_mode(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


def test_the_local_checkout_attributes_the_same_way(
    local_mode, client_for, free_reader, paid, counting
):
    client = client_for(free_reader)

    start = _start(client, paid.pk)
    assert start["Location"] == f"/subscribe/local-checkout/?plan=annual&from={paid.pk}"
    page = client.get(start["Location"]).content.decode()
    assert f'<input type="hidden" name="from" value="{paid.pk}">' in page
    client.post(start["Location"], {"plan": "annual", "from": paid.pk})

    assert counting.today() == {f"{paid.pk}:checkouts_started": 1}
    assert SubscriptionAttribution.objects.get().source_report_id == paid.pk
    assert _paid_count(paid) == 1


def test_a_local_checkout_with_garbage_from_is_not_attributed(
    local_mode, client_for, free_reader, counting
):
    client = client_for(free_reader)

    start = _start(client, "<script>")
    assert start["Location"] == "/subscribe/local-checkout/?plan=annual"
    assert client.post(f"{start['Location']}&from=x%00", {"plan": "annual"}).status_code == 302

    assert Membership.objects.get(user=free_reader).status == "active"
    assert not SubscriptionAttribution.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_events_of_a_payment_delivered_twice_at_once_count_it_once(
    client_for, free_reader, paid, stripe_fake, post_webhook, counting
):
    session = _session(stripe_fake, _start(client_for(free_reader), paid.pk))
    _, events = stripe_fake.complete_checkout(session["id"])
    deliveries = [event for event in events for _ in range(2)]
    start = threading.Barrier(len(deliveries))
    statuses: list[int] = []

    def deliver(event) -> None:
        start.wait(timeout=10)
        try:
            statuses.append(post_webhook(event, using=Client()).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(event,)) for event in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert statuses == [200] * len(deliveries)
    assert SubscriptionAttribution.objects.count() == 1
    assert _paid_count(paid) == 1


def test_the_publisher_sees_the_attributions_in_the_admin(
    local_mode, client_for, free_reader, paid, counting, django_assert_max_num_queries
):
    client = client_for(free_reader)
    client.post(_start(client, paid.pk)["Location"], {"plan": "annual"})
    admin = client_for(UserFactory(email="chief@example.com", is_staff=True, is_superuser=True))

    with django_assert_max_num_queries(12):
        page = admin.get("/admin/accounts/subscriptionattribution/")

    assert page.status_code == 200
    text = page.content.decode()
    assert SubscriptionAttribution.objects.get().subscription_id in text
    assert str(free_reader) in text
