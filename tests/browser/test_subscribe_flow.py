"""The whole paid path in Chromium: paywall, signup, Stripe Checkout (the local fake, with
signed webhooks delivered to the live server), reading, cancelling, losing access."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import Membership
from tests.support.factories import ReportFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "Only subscribers learn that the Solvik Flex idles at 6.2 watts."


def test_reader_subscribes_reads_cancels_and_loses_access_at_period_end(
    live_server, page: Page, screenshot, stripe_fake, settings, time_machine
):
    # Stripe sends the reader back to SITE_URL, which here is the live server.
    settings.SITE_URL = live_server.url
    stripe_fake.webhook_url = f"{live_server.url}/stripe/webhook/"
    stripe_fake.period_seconds = 3600
    ReportFactory(
        slug="standby-draw",
        title="Standby draw of six inverters",
        teaser="What six inverters draw at night.",
        body=f"## Night\n\n{SECRET}\n",
    )
    report_url = f"{live_server.url}/reports/standby-draw/"

    page.goto(report_url)
    expect(page.get_by_text("Subscribe to read the full report")).to_be_visible()
    page.locator(".site-header").get_by_role("link", name="Subscribe", exact=True).click()

    expect(page.get_by_role("heading", name="Monthly")).to_be_visible()
    screenshot("pricing-anonymous")
    page.get_by_role("link", name="Subscribe monthly").click()

    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Your name").fill("Nia Reader")
    page.get_by_label("Password").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Sign up").click()

    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.M).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm").click()

    # The plan chosen before signing up: its checkout comes straight after the code.
    expect(page.get_by_role("heading", name="Fake Stripe Checkout")).to_be_visible()
    page.get_by_role("button", name="Pay and subscribe").click()

    expect(page.get_by_role("heading", name="Your subscription is active")).to_be_visible()
    screenshot("checkout-success")
    assert ("checkout.session.completed", 200) in stripe_fake.deliveries
    page.get_by_role("link", name="Continue reading").click()

    expect(page).to_have_url(report_url)
    expect(page.get_by_text(SECRET)).to_be_visible()

    page.goto(f"{live_server.url}/accounts/profile/")
    screenshot("account-subscribed")
    page.get_by_role("button", name="Manage billing").click()
    expect(page.get_by_role("heading", name="Fake Billing Portal")).to_be_visible()
    page.get_by_role("button", name="Cancel plan").click()

    expect(page.get_by_text("you keep full access until then")).to_be_visible()
    screenshot("account-cancelling")
    page.goto(report_url)
    expect(page.get_by_text(SECRET)).to_be_visible()

    period_end = Membership.objects.get(user__email="nia@example.com").current_period_end
    time_machine.move_to(period_end + timedelta(minutes=1))

    page.goto(report_url)
    expect(page.get_by_text("Subscribe to read the full report")).to_be_visible()
    assert SECRET not in page.content()
