"""One wording for getting in, on our pages and allauth's alike: "Log in" and "Log out",
"Sign up" for a free account, "Subscribe" for paying. Never "Sign in", "Login", "Register",
"Join" or "Create account" for any of them."""

import re
from html import unescape

import pytest
from django.test import Client

from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db

# Case-insensitive: never right in any capitalisation. "join the discussion" is another verb;
# "Join" and "Sign Up" as labels are caught by their capitals.
VARIANTS = re.compile(
    r"(?i:\bsign[ -]?in\b|\bsign[ -]?out\b|\bsigned (?:in|out)\b|\bsignup\b|\blog-?in\b"
    r"|\blog-out\b|\blogout\b|\bregister|\bcreate (?:an )?account\b)|\bSign Up\b|\bJoin\b"
)


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    text = re.sub(r"https?://\S+", " ", text)  # addresses are not wording
    return " ".join(text.split())


def _variants(html: str) -> list[str]:
    return VARIANTS.findall(_visible_text(html))


@pytest.fixture
def report(db):
    return ReportFactory(slug="night-draw", is_free=False)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/reports/night-draw/",
        "/subscribe/",
        "/subscribe/?next=/reports/night-draw/",
        "/accounts/login/",
        "/accounts/login/?next=/subscribe/checkout/%3Fplan%3Dannual",
        "/accounts/signup/",
        "/accounts/signup/?next=/subscribe/checkout/%3Fplan%3Dannual",
        "/accounts/login/code/",
        "/accounts/password/reset/",
        "/newsletter/",
        "/about/",
        "/no-such-page/",
    ],
)
@pytest.mark.parametrize("persona", ["anonymous", "free_reader"])
def test_pages_use_one_wording(request, client_for, report, path, persona):
    client = client_for(request.getfixturevalue(persona))
    client.raise_request_exception = False

    page = client.get(path, follow=True).content.decode()

    assert _variants(page) == [], path


def test_the_logout_page_says_log_out(client_for, free_reader):
    page = client_for(free_reader).get("/accounts/logout/").content.decode()

    assert "<title>Log out · Gridline Research</title>" in page
    assert _variants(page) == []


def test_the_code_pages_and_messages_say_log_in(client, free_reader, mailoutbox):
    response = client.post("/accounts/login/code/", {"email": free_reader.email}, follow=True)
    code_page = response.content.decode()

    assert "Enter your code to log in" in code_page
    assert "We emailed a code to log in with to" in code_page
    assert _variants(code_page) == []
    assert _variants(mailoutbox[0].body) == []
    assert mailoutbox[0].subject == "Your code to log in to Gridline Research"


def test_logging_in_and_out_say_so_in_the_same_words(client, free_reader):
    from tests.support.factories import PASSWORD

    logged_in = client.post(
        "/accounts/login/", {"login": free_reader.email, "password": PASSWORD}, follow=True
    ).content.decode()
    logged_out = client.post("/accounts/logout/", follow=True).content.decode()

    assert "You are logged in as" in logged_in
    assert "You are logged out." in logged_out
    assert _variants(logged_in) == [] and _variants(logged_out) == []


def test_the_comment_box_says_log_in_or_subscribe(client, report):
    page = client.get("/reports/night-draw/").content.decode()

    assert re.search(r"Subscribers only\.\s+<a [^>]+>Log in</a> or\s+<a [^>]+>subscribe</a>", page)


def test_the_unknown_account_email_says_sign_up(client, mailoutbox):
    Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})

    (message,) = mailoutbox
    assert "To sign up with this one:" in message.body
    assert _variants(message.body) == []
