"""The team page's usage in Chromium: a colleague reads a paid report through their seat (the
browser fetches the page's reading mark), the fold runs, and the admin sees the read, the
idle colleague marked beside Remove, and downloads the CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from accounts.models import Organisation, OrganisationMember
from tests.support.counting import BROWSER
from tests.support.factories import ReportFactory, UserFactory
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_sees_a_colleagues_reads_and_an_idle_seat_and_downloads_the_usage(
    live_server, browser: Browser, page: Page, log_in, counting, screenshot
):
    report = ReportFactory(slug="heat-pump-cop", title="Heat pump COP", is_free=False)
    admin = UserFactory(email="olu@acme.example", display_name="Olu Admin")
    reader = UserFactory(email="kim@acme.example", display_name="Kim Reader")
    idle = UserFactory(email="ivo@acme.example", display_name="Ivo Idle")
    organisation = Organisation.objects.create(
        name="Acme Integrators", owner=admin, seats=5, status="active",
        current_period_end=timezone.now() + timedelta(days=200),
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=admin, is_admin=True)
    for person in (reader, idle):
        OrganisationMember.objects.create(organisation=organisation, user=person)
    OrganisationMember.objects.filter(user=idle).update(
        joined_at=timezone.now() - timedelta(days=90)
    )

    # A browser's own user agent: Chromium's headless one is a known bot, never counted.
    context = browser.new_context(user_agent=BROWSER)
    kim = context.new_page()
    log_in(kim, reader)
    kim.goto(f"{live_server.url}{report.get_absolute_url()}")
    expect(kim.get_by_role("heading", name="Heat pump COP")).to_be_visible()
    seat = f"seat:{organisation.pk}:{reader.pk}"
    wait_until(
        lambda: counting.today().get(seat) == 1, timeout=10, message="the seat read in Redis"
    )
    context.close()
    counting.fold()

    log_in(page, admin)
    page.goto(f"{live_server.url}/team/")
    kim_row = page.get_by_role("row", name="Kim Reader")
    expect(kim_row.locator(".team-table__reads").last).to_have_text("1")
    idle_row = page.locator("tr.team-table__idle")
    expect(idle_row).to_have_count(1)
    expect(idle_row).to_contain_text("Ivo Idle")
    expect(idle_row).to_contain_text("Never")
    expect(idle_row.get_by_role("button", name="Remove")).to_be_visible()
    screenshot("team-usage")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download usage (CSV)").click()
    rows = list(csv.reader(io.StringIO(download.value.path().read_text())))
    assert rows[0][:4] == ["member", "email", "joined", "last activity"]
    assert len(rows[0]) == 16
    kim_csv = next(row for row in rows if row[1] == "kim@acme.example")
    assert kim_csv[-1] == "1"
