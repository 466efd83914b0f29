"""A real browser counts its views through the page's reading mark: hidden, it still loads,
once per view, whether the page was rendered, came from the server's page cache or from the
browser's own cache; Chromium's own headless user agent is a known bot and counts nothing."""

import pytest
from playwright.sync_api import Browser

from tests.support.counting import BROWSER
from tests.support.factories import MembershipFactory, ReportFactory
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_views_in_chromium_are_counted_once_each(live_server, browser: Browser, counting, log_in):
    report = ReportFactory(slug="browsed", is_free=False)
    url = f"{live_server.url}{report.get_absolute_url()}"
    reader = browser.new_context(user_agent=BROWSER)
    page = reader.new_page()
    first = page.goto(url)
    # Another browser gets the page from the server's page cache...
    other = browser.new_context(user_agent=BROWSER)
    second = other.new_page().goto(url)
    other.close()
    # ...and the first, opening it again, from its own HTTP cache (public, max-age=60).
    page.goto(url)
    assert first is not None and first.headers.get("x-page-cache") == "miss"
    assert second is not None and second.headers.get("x-page-cache") == "hit"
    wait_until(
        lambda: counting.today().get(f"{report.pk}:paywall_views") == 3,
        timeout=10,
        message="three paywall views counted",
    )

    subscriber = reader.new_page()
    log_in(subscriber, MembershipFactory().user)
    subscriber.goto(url)
    wait_until(
        lambda: counting.today().get(f"{report.pk}:entitled_reads") == 1,
        timeout=10,
        message="the subscriber's read counted",
    )
    reader.close()

    headless = browser.new_context()  # HeadlessChrome in its user agent
    headless.new_page().goto(url)
    headless.close()
    assert counting.today() == {
        f"{report.pk}:public_reads": 3,
        f"{report.pk}:paywall_views": 3,
        f"{report.pk}:entitled_reads": 1,
    }
