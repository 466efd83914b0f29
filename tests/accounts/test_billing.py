"""Pricing, Checkout, the Billing Portal, reconciliation, the local checkout and deletion."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from accounts.billing.emails import membership_email_send
from accounts.checks import stripe_configured_in_production
from accounts.membership import membership_grants_access
from accounts.models import Membership, User
from tests.support.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_pricing_page_shows_both_plans_to_everyone(client, settings):
    page = client.get("/subscribe/?next=/reports/x/").content.decode()

    assert settings.PRICE_MONTHLY_DISPLAY in page
    assert settings.PRICE_ANNUAL_DISPLAY in page
    # A logged-out reader signs up and comes back to the plan's checkout, then to the report
    # (tests/accounts/test_join_path.py), or logs in and comes back here.
    assert "/accounts/signup/?next=%2Fsubscribe%2Fcheckout%2F%3Fplan%3Dannual" in page
    assert "/accounts/login/?next=/subscribe/%3Fnext%3D/reports/x/" in page


def test_pricing_page_ignores_foreign_next(client_for, free_reader):
    page = client_for(free_reader).get("/subscribe/?next=https://evil.example/").content.decode()

    assert "evil.example" not in page


def test_checkout_creates_customer_once_and_redirects_to_stripe(
    client_for, free_reader, stripe_fake, settings
):
    client = client_for(free_reader)

    first = client.post("/subscribe/checkout/", {"plan": "monthly", "next": "/reports/x/"})
    second = client.post("/subscribe/checkout/", {"plan": "annual"})

    assert first.status_code == 303
    assert first["Location"].startswith(f"{stripe_fake.base_url}/pay/cs_test_")
    assert second.status_code == 303
    assert len(stripe_fake.customers) == 1
    membership = Membership.objects.get(user=free_reader)
    assert membership.stripe_customer_id in stripe_fake.customers
    sessions = list(stripe_fake.sessions.values())
    assert [s["_price"] for s in sessions] == [
        settings.STRIPE_PRICE_MONTHLY,
        settings.STRIPE_PRICE_ANNUAL,
    ]
    assert {s["customer"] for s in sessions} == {membership.stripe_customer_id}
    assert {s["client_reference_id"] for s in sessions} == {str(free_reader.pk)}
    assert sessions[0]["success_url"].endswith(
        "/subscribe/success/?session_id={CHECKOUT_SESSION_ID}"
    )


def test_returning_from_checkout_does_not_grant_access_until_the_webhook(
    client_for, free_reader, stripe_fake, post_webhook
):
    client = client_for(free_reader)
    location = client.post("/subscribe/checkout/", {"plan": "monthly", "next": "/reports/x/"})[
        "Location"
    ]
    session_id = location.rsplit("/", 1)[1]

    waiting = client.get(f"/subscribe/success/?session_id={session_id}").content.decode()
    assert "Confirming your subscription" in waiting
    assert not membership_grants_access(Membership.objects.get(user=free_reader))

    _, events = stripe_fake.complete_checkout(session_id)
    for event in events:
        assert post_webhook(event).status_code == 200

    done = client.get(f"/subscribe/success/?session_id={session_id}").content.decode()
    assert "Your subscription is active" in done
    assert 'href="/reports/x/"' in done


def test_checkout_rejects_unknown_plan(client_for, free_reader, stripe_fake):
    response = client_for(free_reader).post(
        "/subscribe/checkout/", {"plan": "lifetime"}, follow=True
    )

    assert "Choose the monthly or the annual plan." in response.content.decode()
    assert stripe_fake.requests == []


def test_checkout_requires_login(client):
    response = client.post("/subscribe/checkout/", {"plan": "monthly"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_subscriber_is_sent_to_account_instead_of_paying_twice(client_for, subscriber, stripe_fake):
    response = client_for(subscriber).post("/subscribe/checkout/", {"plan": "monthly"})

    assert response["Location"] == reverse("accounts:account")
    assert stripe_fake.sessions == {}


def test_stripe_outage_during_checkout_shows_a_message(client_for, free_reader, stripe_fake):
    stripe_fake.fail_requests = 100

    response = client_for(free_reader).post(
        "/subscribe/checkout/", {"plan": "monthly"}, follow=True
    )

    assert response.status_code == 200
    assert "could not reach our payment provider" in response.content.decode()


def test_billing_portal_redirects_to_stripe(client_for, free_reader, stripe_fake):
    customer = stripe_fake.create_customer({"email": free_reader.email})
    MembershipFactory(user=free_reader, stripe_customer_id=customer["id"])

    response = client_for(free_reader).post("/subscribe/portal/")

    assert response.status_code == 303
    assert response["Location"].startswith(f"{stripe_fake.base_url}/portal/bps_")


def test_billing_portal_without_customer_explains(client_for, free_reader, stripe_fake):
    response = client_for(free_reader).post("/subscribe/portal/", follow=True)

    assert "Billing is not available" in response.content.decode()


def test_account_page_shows_status_and_renewal(client_for, subscriber):
    membership = subscriber.membership
    page = client_for(subscriber).get("/accounts/profile/").content.decode()

    assert "Active" in page
    # The page speaks in the site's time zone, whose month can differ from UTC's.
    renews = timezone.localtime(membership.current_period_end)
    assert f"Renews on {renews:%b} {renews.day}, {renews.year}" in page
    assert "Manage billing" not in page  # no Stripe customer yet in this fixture


def test_account_page_saves_profile(client_for, free_reader):
    response = client_for(free_reader).post(
        "/accounts/profile/", {"display_name": "Fran F.", "company": "Acme"}, follow=True
    )

    assert "Your details were saved." in response.content.decode()
    free_reader.refresh_from_db()
    assert (free_reader.display_name, free_reader.company) == ("Fran F.", "Acme")


def test_reconcile_fixes_drift(stripe_fake, settings):
    user = UserFactory()
    customer = stripe_fake.create_customer({"email": user.email})
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_MONTHLY
    )
    stripe_fake.update_subscription(subscription["id"], status="canceled")
    MembershipFactory(
        user=user, stripe_customer_id=customer["id"], stripe_subscription_id=subscription["id"]
    )  # our copy still says active: a webhook was missed
    in_sync_user = UserFactory()
    other = stripe_fake.create_customer({"email": in_sync_user.email})
    ok = stripe_fake.create_subscription(customer=other["id"], price=settings.STRIPE_PRICE_MONTHLY)
    MembershipFactory(
        user=in_sync_user,
        stripe_customer_id=other["id"],
        stripe_subscription_id=ok["id"],
        current_period_end=None,
    )
    call_command("stripe_reconcile", stdout=(out := StringIO()))

    assert "Checked 2 memberships: 2 corrected" in out.getvalue()
    assert Membership.objects.get(user=user).status == "canceled"
    assert Membership.objects.get(user=in_sync_user).current_period_end is not None

    call_command("stripe_reconcile", stdout=(out := StringIO()))
    assert "Checked 2 memberships: 0 corrected" in out.getvalue()


def test_reconcile_reports_stripe_failures(stripe_fake):
    MembershipFactory(stripe_customer_id="cus_x")
    stripe_fake.fail_requests = 100

    with pytest.raises(CommandError, match="could not be checked"):
        call_command("stripe_reconcile", stdout=StringIO())


# The local test checkout -------------------------------------------------------------------


@pytest.fixture
def local_mode(settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


def test_local_checkout_grants_access_through_the_webhook_handler(
    local_mode, client_for, free_reader
):
    client = client_for(free_reader)

    start = client.post("/subscribe/checkout/", {"plan": "annual", "next": "/reports/x/"})
    assert start["Location"] == "/subscribe/local-checkout/?plan=annual"
    page = client.get(start["Location"]).content.decode()
    assert "Local test checkout — no payment is taken" in page

    done = client.post("/subscribe/local-checkout/", {"plan": "annual"}, follow=True)

    assert "Your subscription is active" in done.content.decode()
    membership = Membership.objects.get(user=free_reader)
    assert (membership.status, membership.plan) == ("active", "annual")
    assert membership.stripe_subscription_id.startswith("sub_local_")


def test_local_portal_cancels_at_period_end_and_resumes(local_mode, client_for, free_reader):
    client = client_for(free_reader)
    client.post("/subscribe/local-checkout/", {"plan": "monthly"})

    client.post("/subscribe/local-portal/", {"action": "cancel_at_period_end"})
    membership = Membership.objects.get(user=free_reader)
    assert membership.cancel_at_period_end and membership_grants_access(membership)

    client.post("/subscribe/local-portal/", {"action": "cancel_now"})
    assert not membership_grants_access(Membership.objects.get(user=free_reader))


def test_local_checkout_is_unreachable_in_production(client_for, free_reader, settings):
    settings.DEBUG = False
    settings.STRIPE_SECRET_KEY = ""
    client = client_for(free_reader)

    assert client.get("/subscribe/local-checkout/?plan=monthly").status_code == 404
    assert client.post("/subscribe/local-checkout/", {"plan": "monthly"}).status_code == 404
    assert [e.id for e in stripe_configured_in_production(None)] == ["accounts.E001"]
    assert not Membership.objects.filter(user=free_reader).exists()


def test_local_checkout_is_off_when_stripe_keys_exist(client_for, free_reader, settings):
    settings.DEBUG = True

    assert client_for(free_reader).get("/subscribe/local-checkout/").status_code == 404
    assert stripe_configured_in_production(None) == []


# Account deletion ----------------------------------------------------------------------


def test_account_deletion_cancels_the_subscription_first(client, stripe_fake, settings):
    user = UserFactory(email="leaving@example.com")
    customer = stripe_fake.create_customer({"email": user.email})
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_MONTHLY
    )
    MembershipFactory(
        user=user, stripe_customer_id=customer["id"], stripe_subscription_id=subscription["id"]
    )
    client.force_login(user)

    wrong = client.post("/accounts/delete/", {"password": "not-it"})
    assert "That is not your password." in wrong.content.decode()
    assert User.objects.filter(pk=user.pk).exists()

    response = client.post("/accounts/delete/", {"password": PASSWORD}, follow=True)

    assert "Your account was deleted." in response.content.decode()
    assert not User.objects.filter(pk=user.pk).exists()
    assert stripe_fake.subscriptions[subscription["id"]]["status"] == "canceled"


def test_account_deletion_stops_when_stripe_is_down(client, stripe_fake, settings):
    user = UserFactory()
    MembershipFactory(user=user, stripe_customer_id="cus_1", stripe_subscription_id="sub_1")
    stripe_fake.fail_requests = 100
    client.force_login(user)

    response = client.post("/accounts/delete/", {"password": PASSWORD}, follow=True)

    assert "was not deleted" in response.content.decode()
    assert User.objects.filter(pk=user.pk).exists()


# Emails after commit ---------------------------------------------------------------------


def test_welcome_email_after_the_webhook_grants_access(
    stripe_fake, settings, post_webhook, mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(email="welcome@example.com")
    customer = stripe_fake.create_customer({"email": user.email})
    MembershipFactory(user=user, stripe_customer_id=customer["id"], status="")
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_MONTHLY
    )
    event = stripe_fake.event("customer.subscription.created", subscription)

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(event)
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(stripe_fake.event("customer.subscription.updated", subscription))

    assert [m.subject for m in mailoutbox] == ["Your Gridline Research subscription is active"]
    assert mailoutbox[0].to == ["welcome@example.com"]


def test_payment_failed_email(
    stripe_fake, settings, post_webhook, mailoutbox, django_capture_on_commit_callbacks
):
    user = UserFactory(email="card@example.com")
    customer = stripe_fake.create_customer({"email": user.email})
    subscription = stripe_fake.create_subscription(
        customer=customer["id"], price=settings.STRIPE_PRICE_MONTHLY
    )
    MembershipFactory(
        user=user, stripe_customer_id=customer["id"], stripe_subscription_id=subscription["id"]
    )
    stripe_fake.update_subscription(subscription["id"], status="past_due")

    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(
            stripe_fake.event(
                "invoice.payment_failed", stripe_fake.invoice_for(subscription, paid=False)
            )
        )

    assert [m.subject for m in mailoutbox] == ["Your Gridline Research payment did not go through"]
    assert "update your card" in mailoutbox[0].body


def test_membership_email_tasks_queued_with_underscore_names_still_send(mailoutbox):
    membership = MembershipFactory(user__email="queued@example.com")

    assert membership_email_send(membership_id=membership.pk, name="membership_welcome")
    assert membership_email_send(membership_id=membership.pk, name="payment_failed")

    assert [m.subject for m in mailoutbox] == [
        "Your Gridline Research subscription is active",
        "Your Gridline Research payment did not go through",
    ]


def test_membership_email_refuses_other_template_names():
    membership = MembershipFactory()

    with pytest.raises(ValueError, match="Not a membership email"):
        membership_email_send(membership_id=membership.pk, name="team-invitation")


def test_account_page_shows_newsletter_status_and_preferences_link(client_for, free_reader):
    page = client_for(free_reader).get("/accounts/profile/").content.decode()

    assert "You do not receive new-report emails." in page
    assert 'href="/newsletter/preferences/"' in page
