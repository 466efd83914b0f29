"""The whole way from reader to subscriber and back, in Chromium, through the local checkout
`make run` uses, with a free trial: an anonymous reader meets the paywall (both prices), chooses
the annual plan, signs up, verifies the address with the mailed code, starts the trial at the
checkout, reads the report's body, finds the trial's end and the billing history on the account
page, cancels with a reason and resumes. Each step's email arrives once, as text and HTML."""

import re
from collections import Counter

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import Membership, SubscriptionCancellation
from reports.publishing import report_save
from tests.support.factories import ReportFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "Only subscribers learn that the Aurel H8 drew 9.4 W in standby."
BODY = f"""## Standby draw

{SECRET} We logged every unit for 30 nights from the battery side.

| Unit | Standby draw |
|---|---|
| Aurel H8 | 9.4 W |
| Kestrel HX-10 | 11.2 W |
"""


def _day(moment) -> str:
    local = timezone.localtime(moment)
    return f"{local:%b} {local.day}, {local.year}"


def _subjects() -> Counter[str]:
    return Counter(message.subject for message in mail.outbox)


def _assert_house_style(message) -> None:
    """Every lifecycle email has a text and an HTML part, and links to the site's own address."""
    (html, kind) = message.alternatives[0]
    assert kind == "text/html" and "<html" in html
    assert "http://" in message.body or "https://" in message.body


def test_reader_to_trial_subscriber_cancels_with_a_reason_and_resumes(
    live_server, page: Page, screenshot, settings
):
    settings.DEBUG = True  # the local checkout: DEBUG on and no Stripe key, as `make run` has it
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_TRIAL_DAYS = 14
    settings.SITE_URL = live_server.url
    report = ReportFactory.build(
        slug="standby-draw", title="Standby draw of six hybrid inverters",
        teaser="What six inverters draw while they wait.", body=BODY, is_free=False,
        author=UserFactory(is_staff=True, slug="lab", display_name="Lab Desk"),
    )  # fmt: skip
    report_save(report=report)
    report_url = f"{live_server.url}/reports/standby-draw/"

    # 1. The paywall names both prices and sells the annual plan.
    page.goto(report_url)
    paywall = page.locator(".paywall")
    expect(paywall.get_by_text("$290 a year")).to_be_visible()
    expect(paywall.get_by_text("$29 a month")).to_be_visible()
    assert SECRET not in page.content()
    screenshot("walk-1-paywall")
    paywall.get_by_role("link", name="Subscribe yearly").click()

    # 2. Signup keeps the chosen plan; the mailed code verifies the address.
    expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    page.get_by_label("Email").fill("ria@example.com")
    page.get_by_label("Your name").fill("Ria Reader")
    page.get_by_label("Password").fill("a-long-unusual-passphrase")
    screenshot("walk-2-signup")
    page.get_by_role("button", name="Sign up").click()
    (code_mail,) = mail.outbox
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", code_mail.body, re.M).group(1)
    page.get_by_label("Code").fill(code)
    screenshot("walk-3-verification")
    page.get_by_role("button", name="Confirm").click()

    # 3. The checkout of that plan, with the trial.
    expect(page.get_by_text("Local test checkout — no payment is taken")).to_be_visible()
    expect(page.get_by_role("heading", name="Subscribe: annual plan")).to_be_visible()
    expect(page.get_by_text("Starts with a 14-day free trial")).to_be_visible()
    screenshot("walk-4-checkout")
    page.get_by_role("button", name="Complete test subscription").click()
    expect(page.get_by_role("heading", name="Your subscription is active")).to_be_visible()
    screenshot("walk-5-success")
    membership = Membership.objects.get(user__email="ria@example.com")
    assert (membership.status, membership.plan) == (Membership.Status.TRIALING, "annual")
    trial_end = _day(membership.trial_end)

    # 4. Back on the report, reading its body.
    page.get_by_role("link", name="Continue reading").click()
    expect(page).to_have_url(report_url)
    expect(page.get_by_text(SECRET)).to_be_visible()
    expect(page.locator(".paywall")).to_have_count(0)
    screenshot("walk-6-report-body")

    # 5. The account page: the trial's end and the billing history.
    page.goto(f"{live_server.url}/accounts/profile/")
    subscription = page.locator("section", has=page.get_by_role("heading", name="Subscription"))
    expect(subscription.get_by_text("Free trial")).to_be_visible()
    expect(subscription).to_contain_text(f"Your trial ends on {trial_end}")
    history = page.get_by_role("region", name="Invoices, newest first")
    expect(history.get_by_role("row")).to_have_count(2)  # the header and the trial's invoice
    screenshot("walk-7-account-trial")

    # 6. Cancelling asks first, keeps a reason and says when access ends.
    page.get_by_role("link", name="Cancel subscription").click()
    expect(page.get_by_text(f"will end on {trial_end}, when your trial ends")).to_be_visible()
    page.get_by_label("I am not reading enough").check()
    screenshot("walk-8-cancel")
    page.get_by_role("button", name="Cancel subscription").click()
    expect(subscription).to_contain_text(f"Your subscription ends on {trial_end}")
    assert SubscriptionCancellation.objects.get(user=membership.user).reason == "not_reading"
    screenshot("walk-9-ending")

    # 7. Resume until then.
    page.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("link", name="Cancel subscription")).to_be_visible()
    assert not Membership.objects.get(pk=membership.pk).cancel_at_period_end
    screenshot("walk-10-resumed")

    # Each step's email, once: the code, the welcome, the set-to-end notice with Resume.
    subjects = _subjects()
    assert subjects[code_mail.subject] == 1
    assert subjects["Your Gridline Research subscription is active"] == 1
    ending = [
        m
        for m in mail.outbox
        if m.subject.startswith("Your Gridline Research subscription ends on")
    ]
    assert len(ending) == 1
    assert "Resume" in ending[0].body
    for message in mail.outbox[1:]:
        _assert_house_style(message)
    assert all(message.to == ["ria@example.com"] for message in mail.outbox)
