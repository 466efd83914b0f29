"""From the paywall to reading, in Chromium: an anonymous reader sees both prices and what the
report holds, chooses the annual plan, signs up, verifies the email with the mailed code,
arrives at the checkout of that plan (the local checkout of `make run`), pays, and is back on
the report reading its body."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import Membership
from reports.publishing import report_save
from tests.browser.conftest import SCREENSHOTS
from tests.support.factories import ReportFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "Only subscribers learn that the Kestrel HX-10 lost 11.2 W at night."
BODY = f"""## Night losses

{SECRET} We logged every unit for 30 nights, measuring the draw from the battery side.

| Unit | Night draw |
|---|---|
| Kestrel HX-10 | 11.2 W |
| Aurel H8 | 9.4 W |

![Night draw of six inverters](/static/demo/charger-standby.svg "Mean night draw, 30 nights")

https://www.youtube.com/watch?v=dQw4w9WgXcQ
"""


@pytest.fixture
def local_checkout(settings):
    """The labelled local checkout that `make run` uses without Stripe keys."""
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


def test_anonymous_reader_chooses_annual_signs_up_verifies_pays_and_reads(
    live_server, page: Page, screenshot, settings, local_checkout
):
    settings.SITE_URL = live_server.url
    report = ReportFactory.build(
        slug="night-losses", title="Night losses of six hybrid inverters",
        teaser="What six inverters draw from the battery at night.", body=BODY,
        is_free=False, video_minutes=42, author=UserFactory(is_staff=True, slug="lab"),
    )  # fmt: skip
    report_save(report=report)
    report_url = f"{live_server.url}/reports/night-losses/"

    page.goto(report_url)
    header = page.locator(".site-header")
    expect(header.get_by_role("link", name="Subscribe")).to_be_visible()
    header.screenshot(path=str(SCREENSHOTS / "paywall-header-anonymous.png"))
    paywall = page.locator(".paywall")
    expect(paywall.get_by_text("$290 a year")).to_be_visible()
    expect(paywall.get_by_text("$29 a month")).to_be_visible()
    expect(paywall.get_by_text("Two months free (save 17%)")).to_be_visible()
    highlights = paywall.locator(".paywall__highlights li").all_inner_texts()
    assert highlights[1:] == ["1 table", "1 figure", "42-minute video"]
    assert re.fullmatch(r"\d+-minute read", highlights[0])
    assert SECRET not in page.content() and "11.2 W" not in page.content()
    screenshot("paywall-report-anonymous")
    paywall.screenshot(path=str(SCREENSHOTS / "paywall-box.png"))

    paywall.get_by_role("link", name="Subscribe yearly").click()

    expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    expect(page.get_by_text("Annual plan, $290 a year.")).to_be_visible()
    page.get_by_label("Email").fill("nia@example.com")
    page.get_by_label("Your name").fill("Nia Reader")
    page.get_by_label("Password").fill("a-long-unusual-passphrase")
    screenshot("paywall-signup")
    page.get_by_role("button", name="Sign up").click()

    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.M).group(1)
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Confirm").click()

    expect(page.get_by_text("Local test checkout — no payment is taken.")).to_be_visible()
    expect(page.get_by_role("heading", name="Subscribe: annual plan")).to_be_visible()
    # The report whose paywall the reader came from rides along (its attribution).
    assert page.url.endswith(f"/subscribe/local-checkout/?plan=annual&from={report.pk}")
    screenshot("paywall-checkout")
    page.get_by_role("button", name="Complete test subscription").click()

    expect(page.get_by_role("heading", name="Your subscription is active")).to_be_visible()
    membership = Membership.objects.get(user__email="nia@example.com")
    assert (membership.status, membership.plan) == (Membership.Status.ACTIVE, "annual")
    assert membership.attributions.get().source_report_id == report.pk
    page.get_by_role("link", name="Continue reading").click()

    expect(page).to_have_url(report_url)
    expect(page.get_by_text(SECRET)).to_be_visible()
    expect(page.locator(".paywall")).to_have_count(0)
    expect(page.locator(".site-header").get_by_role("link", name="Subscribe")).to_have_count(0)
    expect(page.locator(".newsletter-box")).to_have_count(0)
    screenshot("paywall-report-subscriber")
