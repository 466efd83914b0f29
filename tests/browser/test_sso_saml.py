"""SAML single sign-on in Chromium: a person at a company whose licence requires its own
sign-in types their work address on our login form, is sent to the company's page, signs in
at its SAML identity provider (pysaml2, in a second process), whose page posts the signed
response back by script, and is on the paid report reading it, on a seat taken then."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import OrganisationMember
from reports.publishing import report_save
from tests.support.factories import ReportFactory, UserFactory
from tests.support.saml import SAML_PASSWORD, SAML_READERS_GROUP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "Only seat holders learn that the Kestrel HX-10 idles at 11.2 W."


def test_work_address_signs_in_through_the_companys_saml_provider_and_reads_a_paid_report(
    live_server, page: Page, screenshot, settings, saml_identity_provider, saml_organisation
):
    settings.SITE_URL = live_server.url
    report = ReportFactory.build(
        slug="night-draw", title="Night draw of six inverters", body=f"## Night\n\n{SECRET}",
        is_free=False, author=UserFactory(is_staff=True, slug="lab"),
    )  # fmt: skip
    report_save(report=report)
    saml_identity_provider.add_user("ines@globex.example", SAML_READERS_GROUP)

    page.goto(f"{live_server.url}/accounts/login/?next=/reports/night-draw/")
    page.get_by_label("Email").fill("ines@globex.example")
    page.get_by_label("Password").fill("not-used-for-this-address")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Sign in with Globex Corporation")).to_be_visible()
    page.get_by_role("button", name="Continue with Globex Corporation").click()

    page.wait_for_url(f"{saml_identity_provider.url}/sso?**")
    page.get_by_label("Email").fill("ines@globex.example")
    page.get_by_label("Password").fill(SAML_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"{live_server.url}/reports/night-draw/")
    expect(page.get_by_text(SECRET)).to_be_visible()
    expect(page.locator(".paywall")).to_have_count(0)
    screenshot("sso-saml-paid-report")
    member = OrganisationMember.objects.get(user__email="ines@globex.example")
    assert member.organisation == saml_organisation


def test_a_refused_response_shows_what_happened(
    live_server, page: Page, screenshot, settings, saml_identity_provider, saml_organisation
):
    settings.SITE_URL = live_server.url
    saml_identity_provider.add_user("ines@globex.example", SAML_READERS_GROUP)
    saml_identity_provider.misbehave("expired")

    page.goto(f"{live_server.url}/team/globex/login/")
    page.get_by_role("button", name="Continue with Globex Corporation").click()
    page.wait_for_url(f"{saml_identity_provider.url}/sso?**")
    page.get_by_label("Email").fill("ines@globex.example")
    page.get_by_label("Password").fill(SAML_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(
        page.get_by_role("heading", name="Your organisation's sign-in could not sign you in")
    ).to_be_visible()
    screenshot("sso-saml-refused")
    assert not OrganisationMember.objects.exists()
