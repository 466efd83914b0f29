"""Single sign-on in Chromium: a person at a company whose licence requires its own sign-in
types their work address on our login form, is sent to the company's page, signs in at the
company's identity provider (allauth's OpenID Connect provider in a second process), and is
back on the paid report reading it, on a seat taken at that first sign-in."""

import pytest
from playwright.sync_api import Page, expect

from accounts.models import OrganisationMember
from reports.publishing import report_save
from tests.support.factories import ReportFactory, UserFactory
from tests.support.sso import IDP_PASSWORD, READERS_GROUP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "Only seat holders learn that the Kestrel HX-10 idles at 11.2 W."


def test_work_address_signs_in_through_the_company_and_reads_a_paid_report(
    live_server, page: Page, screenshot, settings, identity_provider, sso_organisation
):
    settings.SITE_URL = live_server.url
    report = ReportFactory.build(
        slug="night-draw", title="Night draw of six inverters", body=f"## Night\n\n{SECRET}",
        is_free=False, author=UserFactory(is_staff=True, slug="lab"),
    )  # fmt: skip
    report_save(report=report)
    identity_provider.add_user("ines@acme.example", READERS_GROUP)

    page.goto(f"{live_server.url}/accounts/login/?next=/reports/night-draw/")
    page.get_by_label("Email").fill("ines@acme.example")
    page.get_by_label("Password").fill("not-used-for-this-address")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Sign in with Acme Integrators")).to_be_visible()
    expect(page.get_by_text("signs its people in through its own single sign-on")).to_be_visible()
    screenshot("sso-organisation-login")
    page.get_by_role("button", name="Continue with Acme Integrators").click()

    page.wait_for_url(f"{identity_provider.url}/accounts/login/**")
    page.get_by_label("Email").fill("ines@acme.example")
    page.get_by_label("Password").fill(IDP_PASSWORD)
    page.get_by_role("button", name="Sign In").click()

    page.wait_for_url(f"{live_server.url}/reports/night-draw/")
    expect(page.get_by_text(SECRET)).to_be_visible()
    expect(page.locator(".paywall")).to_have_count(0)
    screenshot("sso-paid-report")
    assert OrganisationMember.objects.get(user__email="ines@acme.example").organisation == (
        sso_organisation
    )
