"""The editor opens the publisher's dashboard from the admin after `load_demo_data` and
sees every chart, in a light and a dark colour scheme, with nothing refused by the CSP."""

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, expect

from reports.dashboard.figures import FIGURES
from reports.demo.loading import DEMO_PASSWORD
from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_data(live_server, demo_media, serve_media):
    call_command("load_demo_data", stdout=None)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_editor_follows_the_dashboard_link_and_sees_every_chart(
    live_server, demo_data, browser: Browser, screenshot, scheme
):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.get_by_label("Email").fill("editor@example.com")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # The admin index, loaded: a screenshot taken mid-navigation fails in Chromium.
    dashboard_link = page.get_by_role("link", name="Publisher's dashboard")
    expect(dashboard_link).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-admin-index-{scheme}.png"))
    dashboard_link.click()
    expect(page.get_by_role("heading", name="Publisher's dashboard")).to_be_visible()

    for slug, figure in FIGURES.items():
        section = page.locator(f"#{slug}")
        expect(section.get_by_role("heading", name=figure.title)).to_be_visible()
        chart = section.locator("img")
        chart.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=chart.element_handle()
        )
        src = live_server.url + (chart.get_attribute("src") or "")
        svg = context.request.get(src, fail_on_status_code=True).text()
        # Drawn, not pygal's "no data" text: the demo history fills every chart.
        assert svg.count("<path") + svg.count("<rect") > 10, slug
        assert "Nothing counted" not in svg, slug
        assert section.locator("tbody tr").count() >= 1
        csv_link = section.get_by_role("link", name=f"Download “{figure.title}” as CSV")
        expect(csv_link).to_be_visible()
        section.screenshot(path=str(SCREENSHOTS / f"dashboard-{scheme}-{slug}.png"))
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(f"dashboard-{scheme}", target=page)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    context.close()
