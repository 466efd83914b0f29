"""Lifecycle emails: each goes out once per occasion, whatever Stripe delivers twice or tells
in several events, and only after the change it describes has committed."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from accounts.billing.client import BillingUnavailable
from accounts.billing.emails import membership_email_send
from accounts.billing.reconcile import memberships_reconcile
from accounts.membership import membership_grants_access
from accounts.models import Membership, MembershipEmail

pytestmark = pytest.mark.django_db

SITE = "Gridline Research"


@pytest.fixture
def deliver(post_webhook, django_capture_on_commit_callbacks):
    """Post events as Stripe would, running what each commit queues (the emails)."""

    def post(*events):
        for event in events:
            with django_capture_on_commit_callbacks(execute=True):
                response = post_webhook(event)
            assert response.status_code == 200, response.content

    return post


def _subjects(mailoutbox) -> list[str]:
    return [message.subject for message in mailoutbox]


def _day(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local.year}"


def test_checkout_welcomes_once_though_three_events_arrive_twice_each(
    client_for, free_reader, stripe_fake, deliver, mailoutbox
):
    location = client_for(free_reader).post("/subscribe/checkout/", {"plan": "monthly"})["Location"]
    _, events = stripe_fake.complete_checkout(location.rsplit("/", 1)[1])

    deliver(*events, *reversed(events))

    assert _subjects(mailoutbox) == [f"Your {SITE} subscription is active"]
    membership = Membership.objects.get(user=free_reader)
    assert list(MembershipEmail.objects.values_list("kind", "key")) == [
        ("membership-welcome", membership.stripe_subscription_id)
    ]


def test_no_second_welcome_when_a_lapsed_payment_recovers(
    stripe_member, stripe_fake, deliver, mailoutbox, settings
):
    membership, subscription = stripe_member()
    long_ago = int((timezone.now() - timedelta(days=settings.PAST_DUE_GRACE_DAYS + 2)).timestamp())
    stripe_fake.update_subscription(
        subscription["id"], status="past_due", current_period_end=long_ago
    )
    deliver(stripe_fake.event("customer.subscription.updated", subscription))
    assert not membership_grants_access(Membership.objects.get(pk=membership.pk))

    deliver(*stripe_fake.renew(subscription["id"]))

    assert membership_grants_access(Membership.objects.get(pk=membership.pk))
    assert f"Your {SITE} subscription is active" not in _subjects(mailoutbox)


def test_trial_ending_email_once_with_the_first_charge(
    stripe_member, stripe_fake, deliver, mailoutbox
):
    membership, subscription = stripe_member(trial_days=14)
    notice = stripe_fake.trial_will_end(subscription["id"])

    deliver(notice, notice, stripe_fake.trial_will_end(subscription["id"]))

    (email,) = mailoutbox
    trial_end = Membership.objects.get(pk=membership.pk).trial_end
    assert email.subject == f"Your {SITE} trial ends on {_day(trial_end).rsplit(',', 1)[0]}"
    assert f"ends on {_day(trial_end)}" in email.body
    assert "we charge $29.00 to the card you gave us" in email.body


def test_trial_ending_without_a_card_asks_for_one(stripe_member, stripe_fake, deliver, mailoutbox):
    _, subscription = stripe_member(trial_days=7, card=False)

    deliver(stripe_fake.trial_will_end(subscription["id"]))

    (email,) = mailoutbox
    assert email.subject.endswith("add a card to keep reading")
    assert "Without a card your subscription simply ends with the trial" in email.body


def test_a_card_added_in_the_portal_counts_when_the_trial_ends(
    stripe_member, stripe_fake, deliver, mailoutbox
):
    """The portal saves a new card on the customer; the subscription may not name it."""
    _, subscription = stripe_member(trial_days=7, card=False)
    stripe_fake.customers[subscription["customer"]]["invoice_settings"][
        "default_payment_method"
    ] = "pm_from_portal"

    deliver(stripe_fake.trial_will_end(subscription["id"]))

    assert _subjects(mailoutbox)[0].startswith(f"Your {SITE} trial ends on")
    assert "add a card" not in mailoutbox[0].subject


def test_no_trial_ending_email_for_a_trial_set_to_end(
    stripe_member, stripe_fake, deliver, mailoutbox
):
    _, subscription = stripe_member(trial_days=7)
    deliver(stripe_fake.cancel_at_period_end(subscription["id"]))
    mailoutbox.clear()

    deliver(stripe_fake.trial_will_end(subscription["id"]))

    assert mailoutbox == []


def test_trial_ending_claim_rolls_back_with_a_failed_delivery(
    stripe_member, stripe_fake, post_webhook, deliver, mailoutbox
):
    """The claim is part of the delivery's transaction: when it fails, Stripe's retry sends."""
    _, subscription = stripe_member(trial_days=7)
    notice = stripe_fake.trial_will_end(subscription["id"])
    with mock.patch(
        "accounts.billing.webhooks._has_payment_method", side_effect=BillingUnavailable("down")
    ):
        assert post_webhook(notice).status_code == 503
    assert not MembershipEmail.objects.filter(kind="trial-ending").exists()

    deliver(notice)

    assert len(mailoutbox) == 1


def test_payment_failed_email_once_per_unpaid_invoice(
    stripe_member, stripe_fake, deliver, mailoutbox
):
    _, subscription = stripe_member()
    updated, failed = stripe_fake.renew(subscription["id"], paid=False)
    retry = stripe_fake.event(
        "invoice.payment_failed", {**failed["data"]["object"], "attempt_count": 2}
    )

    deliver(updated, failed, failed, retry)

    assert _subjects(mailoutbox) == [f"Your {SITE} payment did not go through"]
    email = mailoutbox[0]
    assert "update your card" in email.body
    html = email.alternatives[0].content
    assert 'href="http://testserver/accounts/profile/"' in html  # where "Manage billing" is

    deliver(stripe_fake.renew(subscription["id"], paid=False)[1])  # the next invoice fails too

    assert len(mailoutbox) == 2


def test_subscription_set_to_end_emails_once_with_a_resume_button(
    stripe_member, stripe_fake, deliver, mailoutbox
):
    membership, subscription = stripe_member()
    cancelled = stripe_fake.cancel_at_period_end(subscription["id"])

    deliver(cancelled, cancelled, stripe_fake.event("customer.subscription.updated", subscription))

    (email,) = mailoutbox
    ends = Membership.objects.get(pk=membership.pk).current_period_end
    assert f"ends on {_day(ends)}" in email.body
    html = email.alternatives[0].content
    assert re.search(
        r'<a href="http://testserver/accounts/profile/"[^>]*>Resume my subscription</a>', html
    )


def test_cancelling_again_after_resuming_is_a_new_occasion(
    stripe_member, stripe_fake, deliver, mailoutbox, time_machine
):
    _, subscription = stripe_member()
    deliver(stripe_fake.cancel_at_period_end(subscription["id"]))
    stripe_fake.modify_subscription(subscription["id"], {"cancel_at_period_end": "false"})
    deliver(stripe_fake.emitted[-1])
    time_machine.move_to(timezone.now() + timedelta(minutes=5))

    deliver(stripe_fake.cancel_at_period_end(subscription["id"]))

    ending = [s for s in _subjects(mailoutbox) if s.startswith(f"Your {SITE} subscription ends")]
    assert len(ending) == 2


def test_ended_email_once_even_after_reconciliation(
    stripe_member, stripe_fake, deliver, mailoutbox
):
    _, subscription = stripe_member()
    ended = stripe_fake.end_period(subscription["id"])

    deliver(ended, ended)
    memberships_reconcile()

    assert _subjects(mailoutbox) == [f"Your {SITE} subscription has ended"]
    html = mailoutbox[0].alternatives[0].content
    assert 'href="http://testserver/subscribe/"' in html


def test_annual_renewal_notice_once_with_amount_and_date(
    stripe_member, stripe_fake, deliver, mailoutbox
):
    membership, subscription = stripe_member(plan="annual")
    notice = stripe_fake.upcoming_renewal(subscription["id"])

    deliver(notice, notice, stripe_fake.upcoming_renewal(subscription["id"]))

    (email,) = mailoutbox
    renews = Membership.objects.get(pk=membership.pk).current_period_end
    assert email.subject.startswith(f"Your {SITE} annual subscription renews on")
    assert f"renews on {_day(renews)}, when we charge $290.00" in email.body


def test_no_renewal_notice_for_monthly_plans_or_subscriptions_set_to_end(
    stripe_member, stripe_fake, deliver, mailoutbox
):
    _, monthly = stripe_member(email="monthly@example.com")
    _, ending = stripe_member(email="ending@example.com", plan="annual")
    deliver(stripe_fake.upcoming_renewal(monthly["id"]))
    deliver(stripe_fake.cancel_at_period_end(ending["id"]))
    mailoutbox.clear()
    ending_notice = stripe_fake.event(
        "invoice.upcoming", stripe_fake.invoice_for(ending, paid=False) | {"id": None}
    )

    deliver(ending_notice)

    assert mailoutbox == []


def test_an_email_whose_occasion_passed_before_sending_is_dropped(stripe_member, mailoutbox):
    membership, _ = stripe_member(plan="annual")
    Membership.objects.filter(pk=membership.pk).update(cancel_at_period_end=True)

    assert not membership_email_send(membership_id=membership.pk, name="renewal-upcoming")
    assert not membership_email_send(membership_id=membership.pk, name="subscription-ended")
    assert mailoutbox == []


@pytest.mark.parametrize(
    "name",
    ["membership-welcome", "trial-ending", "trial-ending-add-card", "payment-failed",
     "subscription-ending", "subscription-ended", "renewal-upcoming"],
)  # fmt: skip
def test_every_lifecycle_email_has_text_and_html_with_links_on_site_url(
    stripe_member, mailoutbox, name, settings
):
    settings.SITE_URL = "https://research.example.com"
    membership, _ = stripe_member(plan="annual", trial_days=14)
    # Each email's condition, met for the rendering: it checks the templates, not the rules.
    with mock.patch.dict(
        "accounts.billing.emails.MEMBERSHIP_EMAILS", {name: lambda membership: True}
    ):
        assert membership_email_send(membership_id=membership.pk, name=name)

    (email,) = mailoutbox
    html = email.alternatives[0].content
    assert email.alternatives[0].mimetype == "text/html"
    assert email.body.startswith("Hello ")
    assert email.extra_headers["Auto-Submitted"] == "auto-generated"
    links = re.findall(r'href="([^"]+)"', html) + re.findall(r"https?://\S+", email.body)
    assert links
    assert all(link.startswith("https://research.example.com") for link in links), links
    assert "  " not in email.subject and "{" not in email.body + html


def test_the_local_portal_sends_the_same_emails(
    client_for, free_reader, settings, mailoutbox, django_capture_on_commit_callbacks
):
    """`make run` without Stripe: the local checkout and portal go through the same handlers,
    so each email can be seen in the terminal."""
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_TRIAL_DAYS = 14
    client = client_for(free_reader)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/subscribe/local-checkout/", {"plan": "annual"})
    for action in ["trial_will_end", "trial_will_end", "switch_plan", "switch_plan",
                   "payment_failed", "cancel_now"]:  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            client.post("/subscribe/local-portal/", {"action": action})

    assert _subjects(mailoutbox)[0] == f"Your {SITE} subscription is active"
    assert [s.split(" ")[3] for s in _subjects(mailoutbox)[1:]] == [
        "trial",
        "payment",
        "subscription",
    ]
    assert _subjects(mailoutbox)[-1] == f"Your {SITE} subscription has ended"


def test_the_local_portal_announces_an_annual_renewal(
    client_for, free_reader, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    client = client_for(free_reader)
    client.post("/subscribe/local-checkout/", {"plan": "annual"})
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        client.post("/subscribe/local-portal/", {"action": "renewal_upcoming"})

    (email,) = mailoutbox
    assert "when we charge $290.00" in email.body
