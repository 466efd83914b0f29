"""An editor corrects a published report in the admin with a public note; readers then find
it under "Updates and corrections": a subscriber with the paragraph as it was and as it is,
an anonymous reader with the note alone."""

import pytest
from playwright.sync_api import Page, expect

from reports.models import Report
from reports.publishing import report_save
from tests.support.factories import MembershipFactory, ReportFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WRONG = "The Brisa One idled at 13 W in our lab."
RIGHT = "The Brisa One idled at 1.3 W in our lab."
NOTE = "Corrected the Brisa One's idle draw: 1.3 W, not 13 W."


def test_an_editors_correction_reaches_readers_as_their_access_allows(
    live_server, page: Page, new_page, log_in, screenshot
):
    editor = UserFactory(email="ed@example.com", is_staff=True, is_superuser=True)
    report = ReportFactory(
        slug="standby", title="Wallbox standby power", is_free=False,
        body=f"## Results\n\n{WRONG}\n\nThe other five drew less than 3 W.",
    )  # fmt: skip
    report_save(report=report)  # as published: the first version kept
    log_in(page, editor)

    page.goto(f"{live_server.url}/admin/reports/report/{report.pk}/change/")
    body = page.locator("#id_body")
    body.fill(body.input_value().replace(WRONG, RIGHT))
    page.locator("#id_revision_note").fill(NOTE)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    page.goto(f"{live_server.url}/admin/reports/report/{report.pk}/revisions/")
    expect(page.locator("#content-main")).to_contain_text("Public update")
    expect(page.locator(".revision-diff__removed")).to_contain_text(WRONG)
    screenshot("corrections-admin-history")

    subscriber = new_page()
    log_in(subscriber, MembershipFactory(user__email="sam@example.com").user)
    subscriber.goto(f"{live_server.url}{report.get_absolute_url()}#updates")
    updates = subscriber.locator("#updates")
    expect(updates).to_contain_text("Updates and corrections")
    expect(updates).to_contain_text(NOTE)
    updates.get_by_text("What changed").click()
    expect(updates.locator(".change__removed")).to_contain_text(WRONG)
    expect(updates.locator(".change__added")).to_contain_text(RIGHT)
    updates.scroll_into_view_if_needed()
    screenshot("corrections-subscriber", target=subscriber)

    anonymous = new_page()
    anonymous.goto(f"{live_server.url}{report.get_absolute_url()}")
    expect(anonymous.locator("#updates")).to_contain_text(NOTE)
    expect(anonymous.locator("#updates")).to_contain_text("Subscribers see the paragraphs")
    assert WRONG not in anonymous.content() and RIGHT not in anonymous.content()
    screenshot("corrections-anonymous", target=anonymous)
    assert Report.objects.get(pk=report.pk).revisions.filter(is_public=True).count() == 1
