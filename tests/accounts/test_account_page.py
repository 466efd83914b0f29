"""The account page's subscription: plan, status in words, the next charge or the trial's or
the subscription's end, billing history from Stripe (cached, and calm when Stripe is not
there), the way to the portal, and a call to subscribe for readers without access."""

import html
import re
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from accounts.models import LocalInvoice, Membership
from tests.support.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "/accounts/profile/"


def _day(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local.year}"


def _text(page: str) -> str:
    """The page as read: tags gone, entities decoded, spaces single."""
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())
    return re.sub(r" ([;,.])", r"\1", text)


def _invoice_lists(stripe_fake) -> list[dict]:
    return [params for method, path, params in stripe_fake.calls if path == "/v1/invoices"]


def test_a_member_sees_plan_status_and_the_next_charge(stripe_member, client_for):
    membership, _ = stripe_member(plan="annual")

    text = _text(client_for(membership.user).get(ACCOUNT).content.decode())

    assert "Plan Annual Status Active" in text
    assert f"Next charge: $290.00 on {_day(membership.current_period_end)}." in text
    assert "Manage billing" in text and "Cancel subscription" in text
    assert "Subscribe to read every report" not in text


def test_a_trial_shows_its_end_and_the_first_charge(stripe_member, client_for, settings):
    membership, _ = stripe_member(trial_days=14)
    client = client_for(membership.user)

    text = _text(client.get(ACCOUNT).content.decode())

    assert "Status Free trial" in text
    assert f"Your trial ends on {_day(membership.trial_end)}; then $29.00 is charged" in text
    assert "If you have not added a card" not in text
    settings.STRIPE_TRIAL_REQUIRES_CARD = False
    assert "If you have not added a card" in client.get(ACCOUNT).content.decode()


def test_switching_to_annual_in_the_portal_shows_on_the_account_page(
    stripe_member, stripe_fake, post_webhook, client_for
):
    membership, subscription = stripe_member()
    client = client_for(membership.user)
    portal = client.post("/subscribe/portal/")
    assert portal["Location"].startswith(f"{stripe_fake.base_url}/portal/")

    for event in stripe_fake.portal_action(subscription, "switch", subscription["customer"]):
        assert post_webhook(event).status_code == 200

    membership.refresh_from_db()
    text = _text(client.get(ACCOUNT).content.decode())
    assert membership.plan == "annual"
    assert (
        f"Plan Annual Status Active Next charge: $290.00 on {_day(membership.current_period_end)}"
        in text
    )
    assert membership.current_period_end > timezone.now() + timedelta(days=360)


def test_billing_history_lists_the_stripe_invoices_with_their_links(
    stripe_member, stripe_fake, post_webhook, client_for
):
    membership, subscription = stripe_member()
    first = stripe_fake.issue_invoice(subscription["id"], billing_reason="subscription_create")
    for event in stripe_fake.renew(subscription["id"]):
        post_webhook(event)
    second = [i for i in stripe_fake.invoices.values() if i["id"] != first["id"]][-1]

    page = client_for(membership.user).get(ACCOUNT).content.decode()

    assert _invoice_lists(stripe_fake) == [
        {"customer": membership.stripe_customer_id, "limit": "24"}
    ]
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>",
                      page, re.S)  # fmt: skip
    assert rows == [
        (second["number"], _day(timezone.now()), "$29.00", "Paid"),
        (first["number"], _day(timezone.now()), "$29.00", "Paid"),
    ]
    for invoice in (first, second):
        assert f'href="{invoice["hosted_invoice_url"]}">View' in page
        assert f'href="{invoice["invoice_pdf"]}">PDF' in page
    assert 'role="region" aria-label="Invoices, newest first" tabindex="0"' in page


def test_billing_history_is_cached_and_an_invoice_event_refreshes_it(
    stripe_member, stripe_fake, post_webhook, client_for, django_capture_on_commit_callbacks
):
    membership, subscription = stripe_member()
    client = client_for(membership.user)
    client.get(ACCOUNT)
    client.get(ACCOUNT)
    assert len(_invoice_lists(stripe_fake)) == 1

    _, paid = stripe_fake.renew(subscription["id"])
    with django_capture_on_commit_callbacks(execute=True):
        post_webhook(paid)
    page = client.get(ACCOUNT).content.decode()

    assert len(_invoice_lists(stripe_fake)) == 2
    assert paid["data"]["object"]["number"] in page


def test_stripe_unreachable_shows_a_note_instead_of_the_history(
    stripe_member, stripe_fake, client_for
):
    membership, _ = stripe_member()
    client = client_for(membership.user)
    stripe_fake.fail_requests = 100

    first = client.get(ACCOUNT)
    second = client.get(ACCOUNT)

    assert first.status_code == second.status_code == 200
    assert (
        "We could not load your invoices from our payment provider just now"
        in first.content.decode()
    )
    # Remembered for a minute, and without retries: one call for both pages.
    assert stripe_fake.requests.count(("GET", "/v1/invoices")) == 1
    assert "Plan Monthly" in _text(second.content.decode())


def test_a_slow_stripe_does_not_hold_the_page(stripe_member, stripe_fake, client_for):
    membership, _ = stripe_member()
    stripe_fake.answer_delay = 1.0

    with mock.patch("accounts.billing.client.PAGE_TIMEOUT_SECONDS", 0.2):
        response = client_for(membership.user).get(ACCOUNT)

    assert response.status_code == 200
    assert "We could not load your invoices" in response.content.decode()


def test_a_reader_who_never_subscribed_is_invited_to(client_for, free_reader, stripe_fake):
    page = client_for(free_reader).get(ACCOUNT).content.decode()

    assert "You do not have a subscription." in page
    assert "Subscribe to read every report in full" in page
    assert '<a class="button" href="/subscribe/">Subscribe</a>' in page
    assert "Billing history" not in page and "Cancel subscription" not in page
    assert stripe_fake.requests == []


@pytest.mark.parametrize(
    ("status", "period_days", "words", "sentence"),
    [
        ("canceled", -3, "Ended", "Your subscription has ended."),
        ("past_due", -1, "Payment overdue", "You keep access while we retry"),
        ("unpaid", -20, "Unpaid", "Please update your card"),
    ],
)
def test_each_status_is_said_in_words(client_for, status, period_days, words, sentence):
    membership = MembershipFactory(
        status=status, current_period_end=timezone.now() + timedelta(days=period_days)
    )

    text = _text(client_for(membership.user).get(ACCOUNT).content.decode())

    assert f"Status {words}" in text
    assert sentence in text
    assert ("Subscribe to read every report" in text) is (status != "past_due")


def test_staff_and_team_seats_are_not_asked_to_subscribe(client_for, editor):
    assert "Subscribe to read" not in client_for(editor).get(ACCOUNT).content.decode()


def test_local_checkout_invoices_show_in_the_history(client_for, free_reader, settings):
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_TRIAL_DAYS = 7
    client = client_for(free_reader)
    client.post("/subscribe/local-checkout/", {"plan": "monthly"})
    client.post("/subscribe/local-portal/", {"action": "switch_plan"})

    text = _text(client.get(ACCOUNT).content.decode())

    membership = Membership.objects.get(user=free_reader)
    assert membership.plan == "annual" and membership.is_trialing
    assert f"Your trial ends on {_day(membership.trial_end)}; then $290.00 is charged" in text
    assert f"LOCAL-{membership.pk:04d}-0001 {_day(timezone.now())} $0.00 Paid —" in text


@pytest.mark.parametrize(("local", "budget"), [(False, 4), (True, 5)])
def test_the_account_page_keeps_its_query_budget(
    local, budget, stripe_member, stripe_fake, client_for, settings,
    django_assert_max_num_queries,
):  # fmt: skip
    """The user (the session is cached), the membership, the seat, the newsletter row, and
    with the local checkout its invoices; Stripe's invoices come from the cache after the
    first view, and nothing grows with the number of invoices."""
    membership, subscription = stripe_member()
    for number in range(3):
        stripe_fake.issue_invoice(subscription["id"])
        LocalInvoice.objects.create(membership=membership, number=f"L-{number}", amount_paid=2900)
    if local:
        settings.DEBUG = True
        settings.STRIPE_SECRET_KEY = ""
    client = client_for(membership.user)
    assert client.get(ACCOUNT).content.decode().count("<td>$29.00</td>") == 3

    with django_assert_max_num_queries(budget):
        assert client.get(ACCOUNT).status_code == 200


def test_a_seat_holder_sees_the_team_and_no_call_to_subscribe(client_for):
    from accounts.models import Organisation, OrganisationMember

    user = UserFactory()
    organisation = Organisation.objects.create(
        name="Acme",
        seats=2,
        status="active",
        current_period_end=timezone.now() + timedelta(days=30),
    )
    OrganisationMember.objects.create(organisation=organisation, user=user)

    text = _text(client_for(user).get(ACCOUNT).content.decode())

    assert "You hold a seat in Acme" in text
    assert "Subscribe to read" not in text and "You do not have a subscription" not in text
