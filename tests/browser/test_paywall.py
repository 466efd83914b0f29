import pytest
from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD, MembershipFactory, ReportFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "The H8 held 97.1 percent efficiency at half load, the best we measured."


def test_anonymous_sees_paywall_then_subscriber_logs_in_and_reads(
    live_server, page: Page, screenshot
):
    report = ReportFactory(
        slug="inverter-shootout",
        title="Five hybrid inverters on one bench",
        teaser="We ran five hybrid inverters through the same 30-day test.",
        body=f"## Efficiency\n\n{SECRET}\n\n- Standby draw\n- Noise\n",
    )
    MembershipFactory(user__email="sam@example.com")
    url = f"{live_server.url}{report.get_absolute_url()}"

    page.goto(url)
    expect(page.get_by_role("heading", name="Five hybrid inverters on one bench")).to_be_visible()
    expect(page.get_by_text("Subscribe to read the full report")).to_be_visible()
    assert SECRET not in page.content()
    screenshot("report-anonymous")

    page.locator(".paywall").get_by_role("link", name="Log in").click()
    page.get_by_label("Email").fill("sam@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    screenshot("login-form")
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(url)
    expect(page.get_by_text(SECRET)).to_be_visible()
    expect(page.get_by_text("Subscribe to read the full report")).to_have_count(0)
    screenshot("report-subscriber")
