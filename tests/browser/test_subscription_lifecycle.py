"""A subscription's life in Chromium, through the local checkout `make run` uses: a trial,
its end and the billing history on the account page, cancelling with a reason, the date
access ends, and resuming."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Membership, SubscriptionCancellation
from tests.support.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _day(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local.year}"


def test_trial_subscriber_cancels_with_a_reason_and_resumes(
    live_server, page: Page, log_in, screenshot, settings
):
    # The local checkout: DEBUG on and no Stripe key, as `make run` has it.
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_TRIAL_DAYS = 14
    settings.SITE_URL = live_server.url
    reader = UserFactory(email="tess@example.com", display_name="Tess Trial")
    log_in(page, reader)

    page.goto(f"{live_server.url}/subscribe/")
    page.get_by_role("button", name="Subscribe monthly").click()
    expect(page.get_by_text("Local test checkout — no payment is taken")).to_be_visible()
    expect(page.get_by_text("Starts with a 14-day free trial")).to_be_visible()
    page.get_by_role("button", name="Complete test subscription").click()

    expect(page.get_by_role("heading", name="Your subscription is active")).to_be_visible()
    expect(page.get_by_text("You will get an email when a new report is published")).to_be_visible()
    expect(page.get_by_role("button", name="Turn off new-report emails")).to_be_visible()
    screenshot("lifecycle-checkout-success")

    membership = Membership.objects.get(user=reader)
    trial_end = _day(membership.trial_end)
    page.goto(f"{live_server.url}/accounts/profile/")
    subscription = page.locator("section", has=page.get_by_role("heading", name="Subscription"))
    expect(subscription.get_by_text("Free trial")).to_be_visible()
    expect(subscription).to_contain_text(f"Your trial ends on {trial_end}; then $29.00 is charged")
    history = page.get_by_role("region", name="Invoices, newest first")
    expect(history.get_by_role("row")).to_have_count(2)  # the header and the trial's invoice
    expect(history.get_by_role("row").nth(1)).to_contain_text(
        re.compile(rf"LOCAL-\d{{4}}-0001\s+{re.escape(_day(timezone.now()))}\s+\$0\.00\s+Paid")
    )
    expect(page.get_by_role("button", name="Manage billing")).to_be_visible()
    screenshot("lifecycle-account-trial")

    page.get_by_role("link", name="Cancel subscription").click()
    expect(page.get_by_role("heading", name="Cancel your subscription")).to_be_visible()
    expect(page.get_by_text(f"will end on {trial_end}, when your trial ends")).to_be_visible()
    page.get_by_label("It is too expensive").check()
    page.get_by_label("Anything else you would like us to know?").fill(
        "The shootouts are great; the price is steep for a one-person shop."
    )
    screenshot("lifecycle-cancel-confirmation")
    page.get_by_role("button", name="Cancel subscription").click()

    expect(page.get_by_role("status")).to_contain_text(f"Your subscription ends on {trial_end}.")
    expect(subscription).to_contain_text(
        f"Your subscription ends on {trial_end}; you keep full access until then."
    )
    expect(page.get_by_role("link", name="Cancel subscription")).to_have_count(0)
    reason = SubscriptionCancellation.objects.get(user=reader)
    assert reason.reason == "too_expensive"
    assert reason.detail.startswith("The shootouts are great")
    screenshot("lifecycle-account-ending")

    page.get_by_role("button", name="Resume").click()

    expect(page.get_by_role("status")).to_contain_text("Your subscription goes on")
    expect(subscription).to_contain_text(f"Your trial ends on {trial_end}; then $29.00 is charged")
    expect(page.get_by_role("link", name="Cancel subscription")).to_be_visible()
    assert not Membership.objects.get(user=reader).cancel_at_period_end
    screenshot("lifecycle-account-resumed")
