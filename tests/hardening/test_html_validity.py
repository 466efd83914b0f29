"""Every page type we render is valid HTML, checked by the Nu HTML Checker (vnu.jar).

The pages are rendered through Django's test client for each persona (anonymous, free
reader, subscriber, team admin, editor) over the demo content, whose reports carry covers,
the renderer's tables, figures (a library photo among them) and citations, and comment
threads. They are written to one
folder and checked in one run of the checker (one JVM start, a few seconds), which must
report no error at all.

Included: home; reports free and paid, with and without comments, with a hidden comment for
the editor, opened through a gift link; topic, kind and author pages; search with results,
without results and empty; pricing; the account page (also in a trial with billing history
from the Stripe fake, and set to end), the cancel confirmation (also with an error), account
deletion, team (with its open invoice), team join, gift list, gift confirmation (and its
refusal), comment edit, delete and hide (with its error), the team order and seat-change
confirmations, the team order on invoice (also with errors), the invitation for a visitor
without an account, checkout success and newsletter preference pages
(the account's, and the emailed link's with its invalid-link page); the newsletter signup,
check-inbox, confirm (also opened again once used) and unsubscribe pages and their
invalid-link pages; allauth's login, login by code, signup (also with errors; signup and
login also with a plan chosen on the paywall), email verification, email, password reset
(request, done, from the mailed key), password change and logout pages; Your sessions; the
site pages (About); the error pages (400, 403, 404, 500, 503) and the 405, both for opening a form's
address and for posting to a page. Excluded: Django's own admin templates (not ours), feeds
and the sitemap (XML), and the local checkout, which exists only with DEBUG on.
"""

import hashlib
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.utils import timezone
from django.views import defaults

from accounts.models import (
    NewsletterSubscriber,
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    User,
)
from accounts.newsletter.services import newsletter_preferences_token
from accounts.organisations.services import invitation_token
from publisher.errors import server_error
from reports.comments.services import comment_create, comment_hide
from reports.gifts.services import gift_create, gift_token
from reports.models import Report, SitePage
from tests.support.factories import NewsletterSubscriberFactory, UserFactory
from tests.support.figures import record
from tests.support.members import member_at_stripe

CONFIRM_TOKEN = "a-known-newsletter-confirmation-token"
USED_TOKEN = "a-newsletter-confirmation-token-used-once"
FOR_A_PLAN = "%2Fsubscribe%2Fcheckout%2F%3Fplan%3Dannual%26next%3D%252Freports%252Fx%252F"
# Checked with the pages: the checker must report it, or the run proves nothing.
KNOWN_BAD = (
    '<!DOCTYPE html><html lang="en"><head><title>Known bad</title></head>'
    '<body><time datetime="2026-04-16T07:58:07.123456-04:00">Apr 16</time></body></html>'
)


@dataclass(frozen=True)
class Page:
    name: str
    persona: str
    path: str
    status: int = 200
    data: dict[str, str] | None = None  # POSTed instead of a GET


@pytest.fixture
def site(db, settings, mailoutbox, demo_media, stripe_fake):
    call_command("load_demo_data", verbosity=0)
    users = {user.email: user for user in User.objects.all()}
    subscriber = users["subscriber@example.com"]
    editor = users["editor@example.com"]
    commented = Report.objects.get(slug="hybrid-inverter-shootout")
    first = comment_create(
        author=subscriber, report=commented, body="We saw the same *standby* draw on ours."
    )
    comment_create(author=editor, report=commented, body="Thanks: noted.", parent_id=first.pk)
    hidden = comment_create(author=subscriber, report=commented, body="Off topic.")
    comment_hide(moderator=editor, comment=hidden, reason="Off topic")
    gifted = Report.objects.get(slug="battery-capacity-fade-two-years")
    gift = gift_create(giver=subscriber, report=gifted)

    team_admin = UserFactory(email="admin@acme.example", display_name="Ada Admin")
    organisation = Organisation.objects.create(
        name="Acme Integrators", owner=team_admin, seats=3, status="active",
        current_period_end=timezone.now() + timedelta(days=300), stripe_subscription_id="sub_1",
        # Paid by invoice: the team page shows the open invoice.
        collection_method="send_invoice", invoice_id="in_1", invoice_number="ACME-0001",
        invoice_status="open", invoice_due_at=timezone.now() + timedelta(days=30),
        invoice_amount_due=87000, invoice_amount_remaining=87000, invoice_currency="usd",
        invoice_hosted_url="https://invoice.stripe.com/i/acct_1/test_1",
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=team_admin, is_admin=True)
    invitation = OrganisationInvitation.objects.create(
        organisation=organisation, email="reader@example.com", invited_by=team_admin,
        expires_at=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    NewsletterSubscriberFactory(
        email="pending@example.com", confirmed_at=None, confirmation_sent_at=timezone.now(),
        confirmation_token_hash=hashlib.sha256(CONFIRM_TOKEN.encode()).hexdigest(),
    )  # fmt: skip
    unsubscribe = NewsletterSubscriber.objects.get(email="reader@example.com").token
    preferences = (
        f"/newsletter/preferences/{newsletter_preferences_token(subscriber_token=unsubscribe)}/"
    )
    NewsletterSubscriberFactory(
        email="confirmed@example.com", confirmation_sent_at=timezone.now() - timedelta(days=2),
        confirmation_token_hash=hashlib.sha256(b"used:" + USED_TOKEN.encode()).hexdigest(),
    )  # fmt: skip
    # Seeded by a migration, which an earlier test's flush may have removed.
    SitePage.objects.update_or_create(
        slug="about", defaults={"title": "About", "body": "## How we work\n\nWe *measure*."}
    )

    paid_with_comments = commented.get_absolute_url()
    # Corrected in the demo: its updates and, for the entitled, what changed.
    paid_without_comments = "/reports/ev-charger-standby-power/"
    # Cites a report corrected after it was published: the header says so.
    free = "/reports/home-battery-sizing-guide/"
    author = f"/authors/{commented.author.slug}/"
    personas = {
        "anonymous": None,
        "free_reader": users["reader@example.com"],
        "subscriber": subscriber,
        "team_admin": team_admin,
        "editor": editor,
    }
    pages = []
    for persona in personas:
        pages += [
            Page("home", persona, "/"),
            Page("report-paid-comments", persona, paid_with_comments),
            Page("report-paid-no-comments", persona, paid_without_comments),
            Page("report-free", persona, free),
            Page("search-results", persona, "/search/?q=inverter"),
            Page("pricing", persona, "/subscribe/"),
            Page("newsletter-signup", persona, "/newsletter/"),
            Page("not-found", persona, "/no-such-page/", status=404),
            Page("site-page", persona, "/about/"),
        ]
        if persona != "anonymous":
            pages += [
                Page("account", persona, "/accounts/profile/"),
                Page("sessions", persona, "/accounts/sessions/"),
                Page("newsletter-preferences", persona, "/newsletter/preferences/"),
                Page("password-change", persona, "/accounts/password/change/"),
                Page("email", persona, "/accounts/email/"),
            ]
    annual = settings.STRIPE_PRICE_ANNUAL
    personas["member"] = member_at_stripe(
        stripe_fake, email="member@example.com", price=annual, trial_days=14
    )
    personas["ending"] = member_at_stripe(
        stripe_fake, email="ending@example.com", price=annual, ending=True
    )
    pages += [
        Page("account-trial-billing", "member", "/accounts/profile/"),
        Page("account-ending", "ending", "/accounts/profile/"),
        Page("subscription-cancel", "member", "/accounts/subscription/cancel/"),
        Page("subscription-cancel-invalid", "member", "/accounts/subscription/cancel/", 400,
             {"reason": "ransom"}),
        Page("checkout-success-member", "member", "/subscribe/success/"),
    ]  # fmt: skip
    pages += [
        # A library photo in the body: a figure with a <picture> and its renditions.
        Page("report-free-library-image", "anonymous", "/reports/inverter-datasheet-guide/"),
        Page("topic", "anonymous", "/topics/home-batteries/"),
        Page("kind", "anonymous", "/kinds/test/"),
        Page("author", "anonymous", author),
        Page("search-no-results", "anonymous", "/search/?q=zeppelin"),
        Page("search-empty", "anonymous", "/search/"),
        Page("search-subscriber-no-results", "subscriber", "/search/?q=zeppelin"),
        Page("gift-open", "anonymous", f"/gift/{gift_token(gift)}/"),
        Page("gift-invalid", "anonymous", "/gift/not-a-gift/", status=404),
        Page("gift-list", "subscriber", "/gifts/"),
        Page("gift-list-empty", "free_reader", "/gifts/"),
        Page("comment-edit", "subscriber", f"/comments/{first.pk}/edit/"),
        Page("comment-delete", "subscriber", f"/comments/{first.pk}/delete/"),
        Page("comment-hide", "editor", f"/comments/{first.pk}/hide/"),
        Page("comment-hide-invalid", "editor", f"/comments/{first.pk}/hide/", 400, {}),
        Page("report-with-own-hidden-comment", "subscriber", paid_with_comments),
        Page("gift-confirm", "subscriber", f"/reports/{gifted.slug}/gift/"),
        Page("gift-refused", "free_reader", f"/reports/{gifted.slug}/gift/", status=403),
        Page("team-confirm", "free_reader", "/subscribe/team/", 200, {"name": "A", "seats": "3"}),
        Page("team-seats", "team_admin", "/team/", 200, {"action": "seats", "seats": "5"}),
        Page("team-join-anonymous", "anonymous", f"/team/join/{invitation_token(invitation)}/"),
        Page("newsletter-preferences-link", "anonymous", preferences),
        Page("newsletter-preferences-link-invalid", "anonymous", f"{preferences[:-1]}x/", 400),
        Page("newsletter-confirm-used", "anonymous", f"/newsletter/confirm/{USED_TOKEN}/"),
        Page("account-delete", "free_reader", "/accounts/delete/"),
        Page("team", "team_admin", "/team/"),
        Page("team-join", "free_reader", f"/team/join/{invitation_token(invitation)}/"),
        Page("team-join-invalid", "free_reader", "/team/join/not-a-token/", status=400),
        Page("team-checkout-get", "free_reader", "/subscribe/team/", status=405),
        Page("team-invoice", "free_reader", "/subscribe/team/invoice/?name=Acme&seats=3"),
        Page(
            "team-invoice-errors",
            "free_reader",
            "/subscribe/team/invoice/",
            400,
            {"name": "Acme", "seats": "2", "tax_id_type": "eu_vat", "tax_id": "DE1"},
        ),
        Page("post-to-a-page", "anonymous", "/newsletter/check-your-inbox/", 405, {}),
        Page("checkout-success", "subscriber", "/subscribe/success/"),
        Page("newsletter-check-inbox", "anonymous", "/newsletter/check-your-inbox/"),
        Page("newsletter-confirm", "anonymous", f"/newsletter/confirm/{CONFIRM_TOKEN}/"),
        Page("newsletter-confirm-invalid", "anonymous", "/newsletter/confirm/nope/", status=404),
        Page("newsletter-unsubscribe", "anonymous", f"/newsletter/unsubscribe/{unsubscribe}/"),
        Page("newsletter-unsubscribe-invalid", "anonymous", "/newsletter/unsubscribe/no/", 404),
        Page("newsletter-signup-invalid", "anonymous", "/newsletter/", 400, {"email": "x"}),
        Page("login", "anonymous", "/accounts/login/"),
        Page("login-invalid", "anonymous", "/accounts/login/", 200, {"login": "a@b.example"}),
        Page("login-code", "anonymous", "/accounts/login/code/"),
        Page("signup", "anonymous", "/accounts/signup/"),
        Page("signup-for-a-plan", "anonymous", f"/accounts/signup/?next={FOR_A_PLAN}"),
        Page("login-for-a-plan", "anonymous", f"/accounts/login/?next={FOR_A_PLAN}"),
        Page("signup-invalid", "anonymous", "/accounts/signup/", 200, {"email": "x"}),
        Page("password-reset", "anonymous", "/accounts/password/reset/"),
        Page("password-reset-done", "anonymous", "/accounts/password/reset/done/"),
        Page("logout", "subscriber", "/accounts/logout/"),
    ]
    return personas, pages


def _fetch(client: Client, page: Page):
    if page.data is None:
        return client.get(page.path)
    return client.post(page.path, page.data)  # a form sent with mistakes: its errors show


def _reset_from_key_page(client: Client, mailoutbox) -> str:
    """The set-a-new-password page a reset email links to (its key is only in the email)."""
    client.post("/accounts/password/reset/", {"email": "reader@example.com"})
    link = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", mailoutbox[-1].body)
    assert link, mailoutbox[-1].body
    response = client.get(link[1], follow=True)
    assert response.status_code == 200
    return response.content.decode()


def _signup_verification_page(client: Client) -> str:
    response = client.post(
        "/accounts/signup/",
        {"email": "new-reader@example.com", "password1": "a long enough passphrase 2026"},
        follow=True,
    )
    assert response.status_code == 200
    assert response.redirect_chain, response.content.decode()[:2000]
    return response.content.decode()


def _error_pages() -> dict[str, str]:
    request = RequestFactory().get("/")
    pages = {
        "error-400": defaults.bad_request(request, Exception()),
        "error-403": defaults.permission_denied(request, Exception()),
        "error-500": server_error(request),
    }
    try:
        raise OperationalError("the database is unreachable")
    except OperationalError:
        pages["error-503"] = server_error(request)
    return {name: response.content.decode() for name, response in pages.items()}


def _check(command: list[str], folder: Path) -> dict[str, list[str]]:
    files = sorted(folder.glob("*.html"))
    result = subprocess.run(
        [*command, "--errors-only", "--format", "json", *map(str, files)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    report = json.loads(result.stderr or result.stdout)
    errors: dict[str, list[str]] = {}
    for message in report["messages"]:
        name = Path(message.get("url", "?")).name
        where = f"line {message.get('lastLine', '?')}"
        extract = message.get("extract", "").strip()
        errors.setdefault(name, []).append(f"{where}: {message['message']}  [{extract}]")
    return errors


def test_every_page_type_is_valid_html(site, client_for, vnu_command, tmp_path, mailoutbox):
    personas, pages = site
    clients = {name: client_for(user) if user else Client() for name, user in personas.items()}
    for client in clients.values():
        client.raise_request_exception = False
    documents: dict[str, str] = {}
    for page in pages:
        response = _fetch(clients[page.persona], page)
        assert response.status_code == page.status, (page, response.status_code)
        documents[f"{page.persona}--{page.name}"] = response.content.decode()
    documents["anonymous--password-reset-from-key"] = _reset_from_key_page(Client(), mailoutbox)
    documents["anonymous--signup-verify-email"] = _signup_verification_page(Client())
    documents.update({f"anonymous--{name}": html for name, html in _error_pages().items()})
    for name, html in documents.items():
        (tmp_path / f"{name}.html").write_text(html)
    (tmp_path / "known-bad.html").write_text(KNOWN_BAD)

    errors = _check(vnu_command, tmp_path)

    assert any("fraction of a second" in line for line in errors.pop("known-bad.html", []))

    total = sum(len(found) for found in errors.values())
    record(f"Nu HTML checker: {len(documents)} pages, {total} errors")
    report = "\n".join(
        f"{name} ({len(found)}):\n    " + "\n    ".join(found)
        for name, found in sorted(errors.items())
    )
    print(report, file=sys.stderr)
    assert not errors, f"{total} HTML errors in {len(errors)} of {len(documents)} pages:\n{report}"
