"""An anonymous reader finds a report through search and follows its citations; the main
reading pages are captured at desktop and phone widths for review."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Locator, Page, expect

from accounts.models import User
from tests.browser.conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CITED_TITLE = "Two years of capacity fade: what three home batteries actually lost"
MOBILE = {"width": 390, "height": 844}


@pytest.fixture
def demo_data(live_server, demo_media, serve_media):
    call_command("load_demo_data", stdout=None)


def _phone_screenshots(browser: Browser, screenshot, shots: dict[str, str], storage_state=None):
    """Open each url at 390 px, check nothing scrolls sideways, and save a screenshot."""
    context = browser.new_context(viewport=MOBILE, storage_state=storage_state)
    phone = context.new_page()
    for name, url in shots.items():
        phone.goto(url)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{url} is {overflow}px wider than a phone"
        screenshot(name, target=phone)
    context.close()


def test_anonymous_reader_searches_opens_a_result_and_follows_a_citation(
    live_server, demo_data, page: Page, browser: Browser, screenshot
):
    page.goto(f"{live_server.url}/")
    expect(page.locator(".card--lead")).to_be_visible()
    screenshot("home-desktop")

    page.get_by_role("searchbox", name="Search reports").first.fill("capacity fade")
    page.get_by_role("searchbox", name="Search reports").first.press("Enter")
    expect(page).to_have_url(re.compile(r"/search/\?q=capacity\+fade"))
    expect(page.locator(".results mark").first).to_be_visible()
    screenshot("search-desktop")

    page.get_by_role("link", name=CITED_TITLE).click()
    expect(page.get_by_role("heading", level=1, name=CITED_TITLE)).to_be_visible()
    expect(page.get_by_text("Subscribe to read the full report")).to_be_visible()
    citations = page.locator("#citations")
    expect(
        citations.get_by_role("heading", name=re.compile(r"\d+ reports? cites? this report"))
    ).to_be_visible()
    report_url = page.url
    screenshot("report-anonymous-desktop")

    _phone_screenshots(
        browser,
        screenshot,
        {"report-anonymous-mobile": report_url, "home-mobile": f"{live_server.url}/"},
    )

    first_citer = citations.locator(".card__title a").first
    citer_title = first_citer.inner_text()
    first_citer.click()
    expect(page.get_by_role("heading", level=1, name=citer_title)).to_be_visible()


def test_subscriber_reads_the_full_report_on_desktop_and_phone(
    live_server, demo_data, page: Page, browser: Browser, screenshot
):
    page.goto(f"{live_server.url}/accounts/login/?next=/reports/hybrid-inverter-shootout/")
    page.get_by_label("Email").fill("subscriber@example.com")
    page.get_by_label("Password").fill("demo-password-2026")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible()
    expect(page.locator(".report__body table").first).to_be_visible()
    expect(page.get_by_text("Subscribe to read the full report")).to_have_count(0)
    screenshot("report-subscriber-desktop")

    _phone_screenshots(
        browser,
        screenshot,
        {
            "report-subscriber-mobile": page.url,
            "search-mobile": f"{live_server.url}/search/?q=inverter+efficiency",
        },
        storage_state=page.context.storage_state(),
    )


def test_a_wide_table_scrolls_by_keyboard_and_shows_it_has_more_columns(
    live_server, demo_data, page: Page, log_in
):
    log_in(page, User.objects.get(email="subscriber@example.com"))
    page.goto(f"{live_server.url}/reports/battery-capacity-fade-two-years/")
    region = page.get_by_role("region", name="Table: Unit", exact=True)
    last_column = region.get_by_role("columnheader", name="Full cycles")
    # At 1280 px the eight columns are wider than the text column: the case this is for.
    client_width, scroll_width = region.evaluate("el => [el.clientWidth, el.scrollWidth]")
    assert scroll_width > client_width + 100
    assert not _inside(region, last_column)
    # The cue: shadows that stay at the edges, covers that scroll with the table.
    assert region.evaluate("el => getComputedStyle(el).backgroundAttachment") == (
        "local, local, scroll, scroll"
    )
    region.scroll_into_view_if_needed()
    _region_screenshot(page, region, "report-wide-table-start")

    page.locator('a.heading-anchor[href="#results"]').focus()
    page.keyboard.press("Tab")

    expect(region).to_be_focused()
    assert region.evaluate("el => getComputedStyle(el).outlineStyle") == "solid"
    for _ in range(12):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "el => el.scrollLeft + el.clientWidth >= el.scrollWidth - 1", arg=region.element_handle()
    )
    assert _inside(region, last_column)
    _region_screenshot(page, region, "report-wide-table-end")


def _region_screenshot(page: Page, region: Locator, name: str) -> None:
    """The region and a margin around it (its focus ring included), for review."""
    box = region.bounding_box()
    assert box
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    clip = {"x": box["x"] - 16, "y": box["y"] - 16,
            "width": box["width"] + 32, "height": box["height"] + 32}  # fmt: skip
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), clip=clip)


def _inside(region: Locator, cell: Locator) -> bool:
    """Is the cell wholly within the region's visible box?"""
    box, inner = region.bounding_box(), cell.bounding_box()
    assert box and inner
    return box["x"] <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"] + 1
