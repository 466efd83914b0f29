"""axe-core on the pages readers use most, in light and dark mode: no violations at all
(every rule axe runs by default, WCAG 2.x A/AA and best practices)."""

import json
from datetime import timedelta

import pytest
from allauth.socialaccount.models import SocialApp
from django.utils import timezone
from playwright.sync_api import Page

from accounts.models import NewsletterSubscriber, Organisation, OrganisationMember, User
from accounts.newsletter.services import newsletter_preferences_token
from accounts.organisations.services import invitation_create, invitation_token
from reports.comments.services import comment_create
from reports.gifts.services import gift_create
from reports.models import Report, SitePage
from tests.support.factories import UserFactory
from tests.support.figures import record
from tests.support.members import member_at_stripe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_RESULTS: dict[str, int] = {}
FOR_A_PLAN = "%2Fsubscribe%2Fcheckout%2F%3Fplan%3Dannual"


def axe_violations(page: Page, script) -> list[dict]:
    page.add_script_tag(path=str(script))
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    return json.loads(result)["violations"]


def _describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']} {node['failureSummary'][:300]!r}")
    return "\n".join(lines)


@pytest.fixture
def pages(demo_site, live_server, stripe_fake, settings):
    report = Report.objects.published().filter(is_free=False).order_by("-published_at").first()
    subscriber = User.objects.get(email="subscriber@example.com")
    first = comment_create(
        author=subscriber, report=report, body="We saw the same *standby* draw on ours."
    )
    editor = User.objects.get(email="editor@example.com")
    comment_create(author=editor, report=report, body="Thanks: noted.", parent_id=first.pk)
    gift_create(giver=subscriber, report=report)
    reader = NewsletterSubscriber.objects.get(email="reader@example.com")
    preferences = newsletter_preferences_token(subscriber_token=reader.token)
    admin = UserFactory(email="admin@acme.example", display_name="Ada Admin")
    identity_provider = SocialApp.objects.create(
        provider="openid_connect", provider_id="acme", name="Acme Integrators",
        client_id="gridline-research", settings={"server_url": "https://idp.acme.example"},
    )  # fmt: skip
    organisation = Organisation.objects.create(
        name="Acme Integrators", owner=admin, seats=3, status="active",
        current_period_end=timezone.now() + timedelta(days=300), stripe_subscription_id="sub_x",
        # Paid by invoice: the team page shows it open, with its amount, due date and page.
        collection_method="send_invoice", invoice_id="in_x", invoice_number="ACME-0001",
        invoice_status="open", invoice_due_at=timezone.now() + timedelta(days=30),
        invoice_amount_due=87000, invoice_amount_remaining=87000, invoice_currency="usd",
        invoice_hosted_url="https://invoice.stripe.com/i/acct_x/test_x",
        slug="acme", sso_app=identity_provider,
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=admin, is_admin=True)
    invitation = invitation_create(
        organisation=organisation, email="kim@acme.example", invited_by=admin
    )
    member = member_at_stripe(
        stripe_fake, email="member@example.com", price=settings.STRIPE_PRICE_MONTHLY,
        trial_days=14,
    )  # fmt: skip
    free_reader = User.objects.get(email="reader@example.com")
    # Seeded by a migration, which an earlier test's flush may have removed.
    SitePage.objects.update_or_create(
        slug="about", defaults={"title": "About", "body": "## How we work\n\nWe *measure*."}
    )
    return {
        "home": ("/", None),
        "report-anonymous": (report.get_absolute_url(), None),
        # The paywall's plan forms, and the "You get new-report emails" line.
        "report-free-reader": (report.get_absolute_url(), free_reader),
        "home-free-reader": ("/", free_reader),
        "about": ("/about/", None),
        "signup-for-a-plan": (f"/accounts/signup/?next={FOR_A_PLAN}", None),
        "report-subscriber": (report.get_absolute_url(), subscriber),
        # A table wider than the text column, in its scroll region.
        "report-wide-table": ("/reports/battery-capacity-fade-two-years/", subscriber),
        # A portrait, an affiliation and a bio above the author's reports.
        "author": (f"/authors/{report.author.slug}/", None),
        "search": ("/search/?q=inverter", None),
        "subscribe": ("/subscribe/", None),
        "account": ("/accounts/profile/", subscriber),
        "sessions": ("/accounts/sessions/", subscriber),
        # A trial, billing history in its scroll region, Manage billing and Cancel.
        "account-member": ("/accounts/profile/", member),
        "subscription-cancel": ("/accounts/subscription/cancel/", member),
        "comment-form": (f"/comments/{first.pk}/edit/", subscriber),
        "login": ("/accounts/login/", None),
        "signup": ("/accounts/signup/", None),
        "newsletter": ("/newsletter/", None),
        "newsletter-preferences": ("/newsletter/preferences/", subscriber),
        "newsletter-preferences-link": (f"/newsletter/preferences/{preferences}/", None),
        "subscribe-teams": ("/subscribe/", admin),
        "team": ("/team/", admin),
        "team-invoice-order": ("/subscribe/team/invoice/?name=Acme&seats=3", free_reader),
        "team-invitation": (f"/team/join/{invitation_token(invitation)}/", None),
        "team-sso-login": ("/team/acme/login/", None),
        "gift-confirm": (f"{report.get_absolute_url()}gift/", subscriber),
        "gift-list": ("/gifts/", subscriber),
        "comment-delete": (f"/comments/{first.pk}/delete/", subscriber),
    }


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_no_axe_violations(pages, live_server, a11y_page, log_in, axe_script, color_scheme):
    problems = []
    for name, (path, user) in pages.items():
        page = a11y_page(color_scheme=color_scheme)
        if user is not None:
            log_in(page, user)
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, (name, response.status)
        violations = axe_violations(page, axe_script)
        AXE_RESULTS[f"{name} ({color_scheme})"] = len(violations)
        record(f"axe {name} ({color_scheme}): {len(violations)} violations")
        if violations:
            problems.append(f"{name} ({color_scheme}, {path}):\n{_describe(violations)}")
        page.context.close()

    assert not problems, "\n".join(problems)
