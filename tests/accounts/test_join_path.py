"""From a paywall to paying: a plan chosen before having an account survives signup and email
verification, lands on that plan's checkout, and the reader returns to the report. Every
`next` on the way is a path on this site or nothing."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils.http import urlencode

from accounts.billing.views import NEXT_SESSION_KEY
from accounts.models import Membership, User
from accounts.plans import annual_saving, plan_offers
from accounts.templatetags.plans import checkout_url, plan_intent, signup_for_plan_url
from publisher.redirects import local_path
from tests.support.factories import PASSWORD, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

REPORT = "/reports/standby-draw/"
PASSPHRASE = "a-long-unusual-passphrase"
# Ways a `next` has been made to leave a site: other hosts in every spelling browsers
# accept, other schemes, and control characters browsers drop.
OPEN_REDIRECTS = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "/\t/evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://testserver@evil.example/",
    "http://testserver/reports/x/",  # our own host, but absolute: nothing links to it
    " /reports/x/",
    "reports/x/",
]


@pytest.fixture
def local_checkout(settings):
    """The labelled local checkout of `make run` (DEBUG on, no Stripe key)."""
    settings.DEBUG = True
    settings.STRIPE_SECRET_KEY = ""


def _code(message) -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", message.body, re.MULTILINE)
    assert match, message.body
    return match.group(1)


def _sign_up_and_verify(client: Client, mailoutbox, *, next_url: str | None) -> str:
    """Sign up with `next` (None: none), enter the mailed code; where the reader lands."""
    query = f"?{urlencode({'next': next_url})}" if next_url is not None else ""
    response = client.post(
        f"/accounts/signup/{query}",
        {"email": "nia@example.com", "password1": PASSPHRASE, "display_name": "Nia Reader"},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    response = client.post(response["Location"], {"code": _code(mailoutbox[-1])})
    assert response.status_code == 302
    return response["Location"]


def test_a_plan_chosen_on_the_paywall_survives_signup_and_verification(
    client, mailoutbox, local_checkout
):
    ReportFactory(slug="standby-draw")

    landing = _sign_up_and_verify(client, mailoutbox, next_url=checkout_url("annual", REPORT))

    assert landing == checkout_url("annual", REPORT)
    response = client.get(landing)
    assert response["Location"] == "/subscribe/local-checkout/?plan=annual"
    assert client.session[NEXT_SESSION_KEY] == REPORT

    assert client.get(response["Location"]).status_code == 200  # the local checkout page
    client.post("/subscribe/local-checkout/", {"plan": "annual"})
    user = User.objects.get(email="nia@example.com")
    assert Membership.objects.get(user=user).status == Membership.Status.ACTIVE
    success = client.get("/subscribe/success/").content.decode()
    assert f'href="{REPORT}"' in success  # "Continue reading": back on the report


def test_a_plan_button_for_an_existing_account_keeps_the_plan_through_login(client):
    UserFactory(email="fran@example.com")
    signup = signup_for_plan_url("monthly", REPORT)
    page = client.get(signup).content.decode()
    login_link = re.search(r'Already have an account\? <a href="([^"]+)"', page)[1]

    response = client.post(
        login_link.replace("&amp;", "&"), {"login": "fran@example.com", "password": PASSWORD}
    )

    assert response["Location"] == checkout_url("monthly", REPORT)


def test_joining_without_a_plan_lands_on_the_page_the_reader_came_from(client, mailoutbox):
    assert _sign_up_and_verify(client, mailoutbox, next_url=REPORT) == REPORT


def test_the_header_and_login_page_carry_the_page_along(client, db):
    ReportFactory(slug="standby-draw")

    report_page = client.get(REPORT).content.decode()
    login = client.get(f"/accounts/login/?next={REPORT}").content.decode()

    assert f'href="/accounts/login/?next={REPORT}"' in report_page
    assert f'href="/subscribe/?next={REPORT}"' in report_page
    assert f'href="/accounts/signup/?{urlencode({"next": REPORT})}"' in login


@pytest.mark.parametrize("evil", OPEN_REDIRECTS)
def test_signup_and_verification_never_redirect_off_the_site(client, mailoutbox, evil):
    landing = _sign_up_and_verify(client, mailoutbox, next_url=evil)

    assert landing == "/"


@pytest.mark.parametrize("evil", OPEN_REDIRECTS)
def test_login_never_redirects_off_the_site(client, free_reader, evil):
    response = client.post(
        f"/accounts/login/?{urlencode({'next': evil})}",
        {"login": free_reader.email, "password": PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize("evil", OPEN_REDIRECTS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_checkout_keeps_no_foreign_next(client_for, free_reader, local_checkout, evil, method):
    client = client_for(free_reader)

    response = getattr(client, method)("/subscribe/checkout/", {"plan": "annual", "next": evil})

    assert response["Location"] == "/subscribe/local-checkout/?plan=annual"
    assert client.session[NEXT_SESSION_KEY] == ""


@pytest.mark.parametrize("evil", OPEN_REDIRECTS)
def test_the_pricing_page_passes_on_no_foreign_next(client, evil):
    page = client.get("/subscribe/", {"next": evil}).content.decode()

    assert "evil.example" not in page
    assert "javascript:" not in page


@pytest.mark.parametrize("evil", OPEN_REDIRECTS)
def test_a_foreign_next_names_no_plan_on_the_signup_page(client, evil):
    page = client.get("/accounts/signup/", {"next": f"{evil}?plan=annual"}).content.decode()

    assert "Annual plan" not in page


@pytest.mark.parametrize("evil", OPEN_REDIRECTS)
def test_local_path_refuses_every_way_off_the_site(evil):
    assert local_path(evil) == ""


@pytest.mark.parametrize("path", ["/", REPORT, "/reports/x/?page=2#comments", "/search/?q=a%20b"])
def test_local_path_keeps_paths_of_this_site(path):
    assert local_path(path) == path


def test_checkout_by_get_needs_a_login_and_keeps_the_plan(client):
    response = client.get(checkout_url("annual", REPORT))

    assert response.status_code == 302
    login, query = response["Location"].split("?", 1)
    assert login == "/accounts/login/"
    assert parse_qs(query)["next"] == [checkout_url("annual", REPORT)]


def test_checkout_by_get_without_a_plan_goes_back_to_the_plans(client_for, free_reader):
    response = client_for(free_reader).get("/subscribe/checkout/", {"plan": "lifetime"})

    assert response["Location"] == "/subscribe/"


def test_checkout_by_get_creates_a_stripe_checkout_for_the_plan(
    client_for, free_reader, stripe_fake
):
    response = client_for(free_reader).get(checkout_url("annual", REPORT))

    assert response.status_code == 303
    assert urlsplit(response["Location"]).netloc == urlsplit(stripe_fake.base_url).netloc


def test_the_signup_page_says_which_plan_comes_next(client):
    page = client.get(signup_for_plan_url("annual", REPORT)).content.decode()

    assert "Annual plan, $290 a year." in page
    assert "confirm your email address" in page


def test_the_pricing_page_offers_each_plan_through_signup_to_its_checkout(client):
    page = client.get("/subscribe/", {"next": REPORT}).content.decode().replace("&amp;", "&")

    for plan in ["monthly", "annual"]:
        assert f'href="{signup_for_plan_url(plan, REPORT)}"' in page
    assert "Two months free (save 17%)" in page


@pytest.mark.parametrize(
    ("next_url", "plan"),
    [
        (checkout_url("annual", REPORT), "annual"),
        (checkout_url("monthly"), "monthly"),
        ("/subscribe/checkout/?plan=lifetime", None),
        ("/subscribe/?plan=annual", None),  # not the checkout
        ("https://evil.example/subscribe/checkout/?plan=annual", None),
        ("", None),
        (None, None),
    ],
)
def test_plan_intent_names_only_a_plan_of_our_own_checkout(next_url, plan):
    intent = plan_intent(next_url)

    assert (intent.id if intent else None) == plan


@pytest.mark.parametrize(
    ("monthly", "annual", "saving"),
    [
        (2900, 29000, "Two months free (save 17%)"),
        (1000, 11000, "One month free (save 8%)"),
        (1000, 9000, "Three months free (save 25%)"),
        (2900, 30000, "Save 14%"),
        (2900, 34800, ""),
        (2900, 40000, ""),
        (1000, 11950, ""),  # less than one percent
    ],
)
def test_annual_saving(monthly, annual, saving):
    assert annual_saving(monthly_cents=monthly, annual_cents=annual) == saving


def test_plan_offers_put_the_annual_plan_first():
    offers = plan_offers()

    assert list(offers) == ["annual", "monthly"]
    assert offers["annual"].action == "Subscribe yearly"
