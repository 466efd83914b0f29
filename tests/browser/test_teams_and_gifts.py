"""Team licences and gift links in Chromium, with the Stripe fake delivering signed webhooks."""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from reports.gifts.services import gift_create
from reports.models import GiftLink
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
    page.get_by_role("button", name="Review the order").click()
    expect(page.locator(".order__total")).to_contain_text("$870 a year")
    page.get_by_role("button", name="Continue to payment").click()
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


def test_a_team_bought_locally_invites_a_new_reader_who_signs_up_and_seats_change(
    live_server, page: Page, new_page, log_in, settings, screenshot
):
    """Without Stripe keys: the local test checkout, the invitation to someone without an
    account, and changing the seats, all in Chromium."""
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""
    settings.SITE_URL = live_server.url
    ReportFactory(slug="switchover", title="Backup switchover times", body=SECRET)
    admin = UserFactory(email="olu@acme.example", display_name="Olu Admin")

    log_in(page, admin)
    page.goto(f"{live_server.url}/subscribe/#teams")
    total = page.locator("[data-team-total]")
    expect(total).to_have_text("$870 a year for 3 seats")
    page.get_by_label("Organisation name").fill("Acme Integrators")
    page.get_by_label("Seats").fill("4")
    expect(total).to_have_text("$1,160 a year for 4 seats")  # repeated as the seats change
    page.get_by_label("Seats").fill("2")
    expect(total).to_have_text("choose from 3 to 500 seats")
    page.get_by_label("Seats").fill("4")
    screenshot("team-offer")
    page.get_by_role("button", name="Review the order").click()
    expect(page.get_by_text("Local test checkout — no payment is taken.")).to_be_visible()
    expect(page.locator(".order__total")).to_contain_text("$1,160 a year")
    screenshot("team-confirm-local")
    page.get_by_role("button", name="Complete test purchase").click()
    expect(page.get_by_text("Test licence for 4 seats is active (no payment).")).to_be_visible()
    expect(page.get_by_text("Seats used: 1 of 4")).to_be_visible()

    page.get_by_label("Email address").fill("kim@acme.example")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to kim@acme.example.")).to_be_visible()

    kim = new_page()
    kim.goto(live_server.url + _invitation_link("kim@acme.example"))
    expect(kim.locator(".team-invitation")).to_have_text(
        re.compile(r"Olu Admin invited kim@acme\.example to Acme Integrators's licence")
    )
    screenshot("team-invitation-anonymous", target=kim)
    kim.get_by_role("link", name="Create an account").click()
    expect(kim.get_by_label("Email")).to_have_value("kim@acme.example")
    kim.get_by_label("Email").fill("kim.private@example.com")
    kim.get_by_label("Password").fill("a-long-unusual-passphrase")
    kim.get_by_role("button", name="Sign Up").click()
    expect(kim.get_by_text("is for kim@acme.example: sign up with that address")).to_be_visible()
    screenshot("team-signup-other-address", target=kim)
    kim.get_by_label("Email").fill("kim@acme.example")
    kim.get_by_label("Password").fill("a-long-unusual-passphrase")
    kim.get_by_role("button", name="Sign Up").click()
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.M).group(1)
    kim.get_by_label("Code").fill(code)
    kim.get_by_role("button", name="Confirm").click()
    kim.get_by_role("button", name="Join Acme Integrators").click()
    expect(kim.get_by_text("Welcome to the Acme Integrators licence.")).to_be_visible()
    kim.goto(f"{live_server.url}/reports/switchover/")
    expect(kim.get_by_text(SECRET)).to_be_visible()

    page.goto(f"{live_server.url}/team/")
    expect(page.get_by_text("Seats used: 2 of 4")).to_be_visible()
    page.get_by_label("Seats", exact=True).fill("6")
    expect(page.locator("[data-team-total]")).to_have_text("$1,740 a year for 6 seats")
    page.get_by_role("button", name="Change seats").click()
    expect(page.locator(".order__total")).to_contain_text("$1,740 a year (was $1,160)")
    screenshot("team-seats-confirm")
    page.get_by_role("button", name="Change to 6 seats").click()
    expect(page.get_by_text("The licence now has 6 seats.")).to_be_visible()
    expect(page.get_by_text("Seats used: 2 of 6")).to_be_visible()
    screenshot("team-page-after-seat-change")


def test_subscriber_sends_a_gift_link_that_a_logged_out_reader_reads(
    live_server, page: Page, new_page, log_in, screenshot
):
    ReportFactory(slug="capacity-fade", title="Two years of capacity fade", body=SECRET)
    subscriber = MembershipFactory(user__display_name="Sam Subscriber").user
    gift_create(giver=subscriber, report=ReportFactory(title="An earlier gift"))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    log_in(page, subscriber)
    page.goto(f"{live_server.url}/reports/capacity-fade/")
    page.get_by_role("link", name="Gift this report").click()
    # Nothing is spent before the giver confirms, and the page says what is left.
    expect(page.get_by_role("heading", name="Gift “Two years of capacity fade”")).to_be_visible()
    expect(page.locator(".gift-allowance")).to_contain_text("4 of 5 left")
    assert GiftLink.objects.count() == 1
    screenshot("gift-confirm")
    page.get_by_role("button", name="Create the gift link").click()
    expect(page.get_by_text("Your gift link is ready")).to_be_visible()
    expect(page.get_by_text("3 new links left this month")).to_be_visible()
    new = page.locator(".gift-list__new")
    link = new.locator(".gift-copy input").input_value()
    new.get_by_role("button", name="Copy link").click()
    expect(new.get_by_role("status")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == link
    screenshot("gift-list")

    reader = new_page()
    reader.goto(link.replace("http://testserver", live_server.url))
    expect(reader.get_by_text("Shared with you by Sam Subscriber")).to_be_visible()
    expect(reader.get_by_text(SECRET)).to_be_visible()
    expect(reader.get_by_role("link", name="Subscribe for every report")).to_be_visible()
    screenshot("gift-opened", target=reader)

    reader.goto(f"{live_server.url}/reports/capacity-fade/")
    expect(reader.get_by_text("Subscribe to read the full report")).to_be_visible()


def test_without_javascript_the_gift_link_sits_in_a_selectable_field(
    live_server, browser, log_in, screenshot
):
    ReportFactory(slug="capacity-fade", title="Two years of capacity fade", body=SECRET)
    subscriber = MembershipFactory().user
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    try:
        log_in(page, subscriber)
        page.goto(f"{live_server.url}/reports/capacity-fade/")
        page.get_by_role("link", name="Gift this report").click()
        page.get_by_role("button", name="Create the gift link").click()

        field = page.locator(".gift-list__new .gift-copy input")
        expect(field).to_have_attribute("readonly", "")
        expect(page.get_by_role("button", name="Copy link")).to_be_hidden()
        field.select_text()
        selected = field.evaluate("f => f.value.slice(f.selectionStart, f.selectionEnd)")
        assert selected == field.input_value()
        assert "/gift/" in selected
        screenshot("gift-list-no-js", target=page)
    finally:
        context.close()


INVOICE_SECRET = "Invoice canary: the Norvane Duo 6 held 98% after a year."


def test_a_licence_paid_by_invoice_opens_with_the_invoice_and_ends_when_written_off(
    live_server, page: Page, new_page, log_in, stripe_fake, settings, screenshot
):
    from accounts.models import Organisation
    from accounts.organisations.services import organisation_join
    from tests.support.waiting import wait_until

    settings.SITE_URL = live_server.url
    stripe_fake.webhook_url = f"{live_server.url}/stripe/webhook/"
    ReportFactory(slug="holding", title="A year of capacity", body=INVOICE_SECRET)
    admin = UserFactory(email="olu@acme.example", display_name="Olu Admin")

    log_in(page, admin)
    page.goto(f"{live_server.url}/subscribe/#teams")
    page.get_by_label("Organisation name").fill("Acme Integrators")
    page.get_by_label("Seats").fill("3")
    page.get_by_role("button", name="Review the order").click()
    page.get_by_role("link", name="Pay by invoice instead").click()
    page.get_by_label("Company legal name").fill("Acme Integrators Ltd")
    page.get_by_label("Address", exact=True).fill("1 Bridge Street")
    page.get_by_label("City").fill("Manchester")
    page.get_by_label("Country").select_option("GB")
    page.get_by_label("Tax ID (optional)", exact=True).select_option("gb_vat")
    page.get_by_label("Tax ID number").fill("GB12")
    page.get_by_role("button", name="Order and send the invoice").click()
    expect(page.get_by_text("GB12 is not shaped like a UK VAT number")).to_be_visible()
    assert stripe_fake.subscriptions == {}
    page.get_by_label("Tax ID number").fill("GB 123 4567 89")
    page.get_by_label("Purchase order number").fill("PO-7781")
    page.get_by_label("Payment terms").select_option("14")
    page.get_by_role("button", name="Order and send the invoice").click()

    expect(page.get_by_text("is on its way to olu@acme.example")).to_be_visible()
    expect(page.get_by_text("Open: $720.00 due on")).to_be_visible()
    screenshot("team-invoice-open")
    page.get_by_role("link", name="View and pay the invoice").click()
    expect(page.get_by_text("Purchase order: PO-7781")).to_be_visible()
    expect(page.get_by_text("Tax ID (gb_vat): GB123456789")).to_be_visible()
    expect(page.get_by_text("Billed to Acme Integrators Ltd (olu@acme.example)")).to_be_visible()
    page.go_back()
    organisation = Organisation.objects.get(owner=admin)
    invoice = stripe_fake.invoices[organisation.invoice_id]
    assert invoice["custom_fields"] == [{"name": "Purchase order", "value": "PO-7781"}]
    assert invoice["customer_tax_ids"] == [{"type": "gb_vat", "value": "GB123456789"}]

    colleague = UserFactory(email="kim@acme.example")
    organisation_join(organisation=organisation, user=colleague)
    kim = new_page()
    log_in(kim, colleague)
    kim.goto(f"{live_server.url}/reports/holding/")
    expect(kim.get_by_text(INVOICE_SECRET)).to_be_visible()

    stripe_fake.mark_uncollectible(organisation.invoice_id)  # its webhook follows
    wait_until(
        lambda: Organisation.objects.get(pk=organisation.pk).invoice_status == "uncollectible",
        timeout=15,
        message="the written-off invoice to reach the licence",
    )
    kim.reload()
    expect(kim.get_by_text("Subscribe to read the full report")).to_be_visible()
    assert INVOICE_SECRET not in kim.content()
    page.goto(f"{live_server.url}/team/")
    expect(page.get_by_text("Unpaid and written off")).to_be_visible()
    screenshot("team-invoice-written-off")
