"""Checkout's offer: promotion codes, trials (with or without a card) and Stripe Tax, sent
through the real SDK to the fake, which checks them against Stripe's API reference."""

from datetime import timedelta

import pytest
import stripe
from django.utils import timezone

from accounts.billing.client import stripe_client
from accounts.membership import membership_grants_access
from accounts.models import Membership
from tests.support.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _start_checkout(client, stripe_fake, plan="monthly"):
    """The reader clicks Subscribe; returns the form Stripe received and the session id."""
    response = client.post("/subscribe/checkout/", {"plan": plan})
    assert response.status_code == 303, response.content
    session_id = response["Location"].rsplit("/", 1)[1]
    params = [p for m, path, p in stripe_fake.calls if path == "/v1/checkout/sessions"][-1]
    return params, session_id


def _pay(stripe_fake, post_webhook, session_id, **checkout):
    _, events = stripe_fake.complete_checkout(session_id, **checkout)
    for event in events:
        assert post_webhook(event).status_code == 200


def test_checkout_allows_promotion_codes_and_offers_no_trial_by_default(
    client_for, free_reader, stripe_fake
):
    params, session_id = _start_checkout(client_for(free_reader), stripe_fake)

    assert params["allow_promotion_codes"] == "true"
    assert "trial_period_days" not in params["subscription_data"]
    assert {"payment_method_collection", "automatic_tax", "tax_id_collection",
            "customer_update"}.isdisjoint(params)  # fmt: skip
    assert stripe_fake.sessions[session_id]["allow_promotion_codes"] is True


def test_a_promotion_code_lowers_the_next_charge_on_the_account_page(
    client_for, free_reader, stripe_fake, post_webhook
):
    client = client_for(free_reader)
    _, session_id = _start_checkout(client, stripe_fake)

    _pay(stripe_fake, post_webhook, session_id, promotion_code="LAUNCH50")

    membership = Membership.objects.get(user=free_reader)
    assert (membership.next_charge_amount, membership.next_charge_currency) == (1450, "usd")
    assert (
        "Next charge: <strong>$14.50</strong>" in client.get("/accounts/profile/").content.decode()
    )


def test_trial_days_start_a_trialing_subscription_that_grants_access(
    client_for, free_reader, stripe_fake, post_webhook, settings
):
    settings.STRIPE_TRIAL_DAYS = 14
    client = client_for(free_reader)
    params, session_id = _start_checkout(client, stripe_fake)

    assert params["subscription_data"]["trial_period_days"] == "14"
    assert "payment_method_collection" not in params  # a card is asked for, as by default
    _pay(stripe_fake, post_webhook, session_id)

    membership = Membership.objects.get(user=free_reader)
    assert membership.status == "trialing"
    assert membership_grants_access(membership)
    assert membership.trial_end == membership.current_period_end
    assert abs(membership.trial_end - (timezone.now() + timedelta(days=14))) < timedelta(minutes=1)
    # The first charge is the whole price, due when the trial ends; the trial's invoice is $0.
    assert membership.next_charge_amount == 2900
    assert [i["total"] for i in stripe_fake.invoices.values()] == [0]


def test_a_trial_without_card_asks_for_none_and_ends_by_webhook(
    client_for, free_reader, stripe_fake, post_webhook, settings, mailoutbox,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.STRIPE_TRIAL_DAYS = 7
    settings.STRIPE_TRIAL_REQUIRES_CARD = False
    params, session_id = _start_checkout(client_for(free_reader), stripe_fake)

    assert params["payment_method_collection"] == "if_required"
    assert params["subscription_data"]["trial_settings"] == {
        "end_behavior": {"missing_payment_method": "cancel"}
    }
    _pay(stripe_fake, post_webhook, session_id)
    membership = Membership.objects.get(user=free_reader)
    assert membership.status == "trialing"
    subscription = stripe_fake.subscriptions[membership.stripe_subscription_id]
    assert subscription["default_payment_method"] is None

    (deleted,) = stripe_fake.end_trial(subscription["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(deleted).status_code == 200

    membership.refresh_from_db()
    assert membership.status == "canceled"
    assert not membership_grants_access(membership)
    assert mailoutbox[-1].subject == "Your Gridline Research subscription has ended"


def test_a_returning_subscriber_gets_no_second_trial(client_for, stripe_fake, settings):
    settings.STRIPE_TRIAL_DAYS = 14
    customer = stripe_fake.create_customer({"email": "back@example.com"})
    membership = MembershipFactory(
        user__email="back@example.com", stripe_customer_id=customer["id"],
        stripe_subscription_id="sub_old", status="canceled",
        current_period_end=timezone.now() - timedelta(days=40),
    )  # fmt: skip

    params, _ = _start_checkout(client_for(membership.user), stripe_fake)

    assert "trial_period_days" not in params["subscription_data"]


def test_automatic_tax_collects_address_and_tax_id_onto_the_existing_customer(
    client_for, free_reader, stripe_fake, post_webhook, settings
):
    settings.STRIPE_AUTOMATIC_TAX = True
    client = client_for(free_reader)
    params, session_id = _start_checkout(client, stripe_fake)

    assert params["automatic_tax"] == {"enabled": "true"}
    assert params["tax_id_collection"] == {"enabled": "true"}
    assert params["customer_update"] == {"address": "auto", "name": "auto"}
    _pay(stripe_fake, post_webhook, session_id, address={"country": "US", "postal_code": "94110"},
         business_name="Fran's Solar LLC")  # fmt: skip

    membership = Membership.objects.get(user=free_reader)
    customer = stripe_fake.customers[membership.stripe_customer_id]
    assert customer["address"] == {"country": "US", "postal_code": "94110"}
    assert customer["name"] == "Fran's Solar LLC"
    assert membership.next_charge_amount == 3190  # $29.00 and 10% tax, as Stripe previews it


@pytest.mark.parametrize(
    ("options", "param"),
    [
        ({"automatic_tax": {"enabled": True}}, "customer_update[address]"),
        ({"tax_id_collection": {"enabled": True}, "customer_update": {"address": "auto"}},
         "customer_update[name]"),
        ({"subscription_data": {"trial_period_days": 0}}, "subscription_data[trial_period_days]"),
        ({"subscription_data": {"trial_settings": {"end_behavior": {
            "missing_payment_method": "forget"}}}},
         "subscription_data[trial_settings][end_behavior][missing_payment_method]"),
        ({"discounts": [{"promotion_code": "promo_1"}]}, "discounts"),
    ],
)  # fmt: skip
def test_the_fake_refuses_what_stripe_refuses_for_an_existing_customer(
    stripe_fake, settings, options, param
):
    """The fake holds the application to the reference's rules: tax for an existing customer
    needs `customer_update`, a trial at least a day, and codes exclude fixed discounts."""
    customer = stripe_fake.create_customer({"email": "rules@example.com"})
    params = {
        "mode": "subscription", "customer": customer["id"], "allow_promotion_codes": True,
        "line_items": [{"price": settings.STRIPE_PRICE_MONTHLY, "quantity": 1}],
        "success_url": "http://testserver/subscribe/success/", **options,
    }  # fmt: skip

    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe_client().v1.checkout.sessions.create(params=params)

    assert refused.value.param == param
