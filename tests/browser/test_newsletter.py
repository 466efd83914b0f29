"""The newsletter-only reader in Chromium: no account, ever. Signup in a report's box,
confirmation from the email and the way back to the report, then the preferences and the
unsubscribe link of a notification email, opened in a browser that never logged in."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from accounts.models import NewsletterSubscriber
from reports.models import NotificationPreference, Report
from reports.publishing import report_publish
from tests.support.factories import ReportFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ADDRESS = "quiet.reader@example.com"


def _mail_to(address: str, subject_part: str):
    return next(m for m in reversed(mail.outbox) if m.to == [address] and subject_part in m.subject)


def test_a_reader_without_an_account_subscribes_chooses_and_unsubscribes(
    live_server, page: Page, new_page, settings, screenshot
):
    settings.SITE_URL = live_server.url
    ReportFactory(slug="heat-pump-night-losses", title="Heat pump night losses")
    report_url = f"{live_server.url}/reports/heat-pump-night-losses/"

    page.goto(report_url)
    box = page.locator(".newsletter-box")
    box.get_by_label("Email address").fill(ADDRESS)
    box.get_by_role("button", name="Notify me").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    confirmation = _mail_to(ADDRESS, "Confirm")
    link = re.search(r"(http://\S+/newsletter/confirm/\S+)", confirmation.body).group(1)
    assert link.endswith("?next=%2Freports%2Fheat-pump-night-losses%2F")
    page.goto(link)
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.get_by_role("heading", name="You are subscribed")).to_be_visible()
    screenshot("newsletter-confirmed")
    page.get_by_role("link", name="Back to the report").click()
    expect(page).to_have_url(report_url)

    # The link opened again, later, in another browser: it says so instead of "expired".
    again = new_page()
    again.goto(link)
    expect(again.get_by_role("heading", name="You are subscribed")).to_be_visible()
    expect(again.get_by_text("This link already confirmed your subscription")).to_be_visible()
    assert ADDRESS not in again.content()
    screenshot("newsletter-confirmed-again", target=again)

    draft = ReportFactory(
        slug="six-wallboxes", title="Standby draw of six wallboxes",
        status=Report.Status.DRAFT, published_at=None,
    )  # fmt: skip
    report_publish(report_id=draft.pk)
    notification = _mail_to(ADDRESS, "Standby draw of six wallboxes")
    preferences = re.search(r"Choose kinds and topics: (\S+)", notification.body).group(1)
    unsubscribe = re.search(r"Unsubscribe with one click: (\S+)", notification.body).group(1)

    reader = new_page()  # a browser that never logged in
    reader.goto(preferences)
    expect(reader.get_by_role("heading", name="Your new-report emails")).to_be_visible()
    expect(reader.get_by_text("q…@example.com").first).to_be_visible()
    assert ADDRESS not in reader.content()
    reader.get_by_label("Only the kinds and topics I choose").check()
    reader.get_by_label("Shootout").check()
    reader.get_by_role("button", name="Save my choices").click()
    expect(reader.get_by_text("Your choices are saved.")).to_be_visible()
    expect(reader.get_by_label("Shootout")).to_be_checked()
    screenshot("newsletter-preferences-by-link", target=reader)
    subscriber = NewsletterSubscriber.objects.get(email=ADDRESS)
    preference = NotificationPreference.objects.get(subscriber=subscriber)
    assert (preference.all_reports, preference.kinds) == (False, ["shootout"])

    last = preferences[-2]  # the signature's last character, before the final slash
    reader.goto(preferences[:-2] + ("A" if last != "A" else "B") + "/")
    expect(reader.get_by_text("damaged or incomplete")).to_be_visible()
    screenshot("newsletter-preferences-tampered", target=reader)

    reader.goto(unsubscribe)
    reader.get_by_role("button", name="Unsubscribe").click()
    expect(reader.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    subscriber.refresh_from_db()
    assert not subscriber.is_receiving
    reader.goto(preferences)
    expect(reader.get_by_text("We send no new-report emails")).to_be_visible()
