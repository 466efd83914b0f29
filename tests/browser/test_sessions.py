"""Your sessions in Chromium: the cap on signed-in devices and signing a device out."""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.factories import PASSWORD, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
LAPTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
TABLET = (
    "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)


def _device(browser: Browser, agent: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, user_agent=agent)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def _sign_in(page: Page, url: str, email: str) -> None:
    page.goto(f"{url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_reader_sees_their_devices_signs_one_out_and_the_cap_ends_the_oldest(
    live_server, browser: Browser, settings, screenshot
):
    settings.MAX_SESSIONS_PER_USER = 2
    reader = MembershipFactory(user__email="pat@example.com").user
    laptop, phone, tablet = (_device(browser, agent) for agent in (LAPTOP, PHONE, TABLET))
    try:
        _sign_in(laptop, live_server.url, reader.email)
        _sign_in(phone, live_server.url, reader.email)

        laptop.goto(f"{live_server.url}/accounts/profile/")
        laptop.get_by_role("link", name="See your sessions and sign out devices").click()
        rows = laptop.locator(".sessions-table tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("Firefox on Windows")
        expect(rows.first).to_contain_text("This device")
        expect(rows.nth(1)).to_contain_text("Safari on iPhone")
        screenshot("sessions-list", target=laptop)

        laptop.get_by_role("button", name="Sign out Safari on iPhone").click()
        expect(laptop.get_by_text("Signed out Safari on iPhone")).to_be_visible()
        expect(rows).to_have_count(1)
        phone.reload()
        expect(
            phone.get_by_text("You were signed out from another of your devices")
        ).to_be_visible()

        _sign_in(phone, live_server.url, reader.email)
        _sign_in(tablet, live_server.url, reader.email)
        expect(tablet.get_by_text("You were signed out on your oldest device")).to_be_visible()
        expect(tablet.get_by_text("Firefox on Windows")).to_be_visible()
        laptop.goto(f"{live_server.url}/accounts/sessions/")
        expect(
            laptop.get_by_text("You were signed out because your account signed in on another")
        ).to_be_visible()
        expect(laptop.get_by_label("Email")).to_be_visible()
        screenshot("sessions-ended-notice", target=laptop)
    finally:
        for page in (laptop, phone, tablet):
            page.context.close()
