"""The admin's live preview script runs under our CSP and shows both readers' views."""

import pytest
from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD, ReportFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editor_types_markdown_and_sees_both_previews_update(live_server, page: Page, screenshot):
    UserFactory(email="ed@example.com", is_staff=True, is_superuser=True)
    report = ReportFactory(teaser="Old teaser.", body="Old body.", is_free=False)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/reports/report/{report.pk}/change/")
    page.get_by_label("Email").fill("ed@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    anonymous = page.locator('[data-preview-variant="anonymous"]')
    subscriber = page.locator('[data-preview-variant="subscriber"]')
    expect(subscriber).to_contain_text("Old body.")

    page.locator("#id_body").fill("## Fresh findings\n\nThe new **paid** paragraph.")

    expect(subscriber.get_by_role("heading", name="Fresh findings")).to_be_visible()
    expect(subscriber).to_contain_text("The new paid paragraph.")
    expect(anonymous).to_contain_text("Subscribe to read the full report")
    expect(anonymous).not_to_contain_text("The new paid paragraph.")
    page.locator(".report-preview").scroll_into_view_if_needed()
    screenshot("admin-preview")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
