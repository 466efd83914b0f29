"""Team licences and gift links in Chromium, with the Stripe fake delivering signed webhooks."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD, MembershipFactory, ReportFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "Team canary: the Norvane Duo 6 switched over in 8 ms."


def _invitation_link(address: str) -> str:
    message = next(m for m in reversed(mail.outbox) if m.to == [address])
    return re.search(r"(/team/join/\S+/)", message.body).group(1)


def test_admin_buys_three_seats_and_the_fourth_person_is_refused(
    live_server, page: Page, new_page, log_in, stripe_fake, settings, screenshot
):
    # Stripe sends the reader back to SITE_URL, which here is the live server.
    settings.SITE_URL = live_server.url
    stripe_fake.webhook_url = f"{live_server.url}/stripe/webhook/"
    ReportFactory(slug="switchover", title="Backup switchover times", body=SECRET)
    admin = UserFactory(email="olu@acme.example", display_name="Olu Admin")
    colleague = UserFactory(email="kim@acme.example")
    late = UserFactory(email="lee@acme.example")
    UserFactory(email="dana@example-integrator.com")

    log_in(page, admin)
    page.goto(f"{live_server.url}/subscribe/#teams")
    page.get_by_label("Organisation name").fill("Acme Integrators")
    page.get_by_label("Seats").fill("3")
    page.get_by_role("button", name="Buy a team licence").click()
    page.get_by_role("button", name="Pay and subscribe").click()

    expect(page.get_by_role("heading", name="Acme Integrators")).to_be_visible()
    expect(page.get_by_text("Seats used: 1 of 3")).to_be_visible()
    for address in ("kim@acme.example", "lee@acme.example"):
        page.get_by_label("Email address").fill(address)
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_text(f"Invitation sent to {address}.")).to_be_visible()
    page.get_by_label("Domains").fill("example-integrator.com")
    page.get_by_label("Let them join automatically while seats remain").check()
    page.get_by_role("button", name="Save").click()

    kim = new_page()
    log_in(kim, colleague)
    kim.goto(live_server.url + _invitation_link("kim@acme.example"))
    kim.get_by_role("button", name="Join Acme Integrators").click()
    expect(kim.get_by_text("Welcome to the Acme Integrators licence.")).to_be_visible()
    kim.goto(f"{live_server.url}/reports/switchover/")
    expect(kim.get_by_text(SECRET)).to_be_visible()

    dana = new_page()
    dana.goto(f"{live_server.url}/accounts/login/")
    dana.get_by_label("Email").fill("dana@example-integrator.com")
    dana.get_by_label("Password").fill(PASSWORD)
    dana.get_by_role("button", name="Log in").click()
    expect(dana.get_by_text("You joined the Acme Integrators team licence.")).to_be_visible()

    lee = new_page()
    log_in(lee, late)
    lee.goto(live_server.url + _invitation_link("lee@acme.example"))
    lee.get_by_role("button", name="Join Acme Integrators").click()
    expect(lee.get_by_text("All 3 seats of Acme Integrators are taken.")).to_be_visible()
    screenshot("team-fourth-refused", target=lee)
    lee.goto(f"{live_server.url}/reports/switchover/")
    expect(lee.get_by_text("Subscribe to read the full report")).to_be_visible()

    page.goto(f"{live_server.url}/team/")
    expect(page.get_by_text("Seats used: 3 of 3")).to_be_visible()
    screenshot("team-page")


def test_subscriber_sends_a_gift_link_that_a_logged_out_reader_reads(
    live_server, page: Page, new_page, log_in, screenshot
):
    ReportFactory(slug="capacity-fade", title="Two years of capacity fade", body=SECRET)
    subscriber = MembershipFactory(user__display_name="Sam Subscriber").user

    log_in(page, subscriber)
    page.goto(f"{live_server.url}/reports/capacity-fade/")
    page.get_by_role("button", name="Gift this report").click()
    expect(page.get_by_text("Your gift link is ready")).to_be_visible()
    link = page.locator(".gift-list input").first.input_value()
    screenshot("gift-list")

    reader = new_page()
    reader.goto(link.replace("http://testserver", live_server.url))
    expect(reader.get_by_text("Shared with you by Sam Subscriber")).to_be_visible()
    expect(reader.get_by_text(SECRET)).to_be_visible()
    expect(reader.get_by_role("link", name="Subscribe for every report")).to_be_visible()
    screenshot("gift-opened", target=reader)

    reader.goto(f"{live_server.url}/reports/capacity-fade/")
    expect(reader.get_by_text("Subscribe to read the full report")).to_be_visible()
