"""allauth's emails in our words and frame: text and HTML, the site's name from settings."""

import re
from email import message_from_bytes, policy
from pathlib import Path

import allauth
import pytest
from allauth.account.adapter import get_adapter
from django.test import Client
from django.utils import timezone

pytestmark = pytest.mark.django_db

ALLAUTH_EMAILS = sorted(
    path.name.removesuffix("_subject.txt")
    for path in (Path(allauth.__file__).parent / "templates/account/email").glob("*_subject.txt")
)
# allauth's own wording, and what it says when it names the site after the request's host.
ALLAUTH_WORDING = ["Hello from", "Thank you for using", "has given your email address",
                   "You're receiving this", "127.0.0.1", "testserver", "example.com!"]  # fmt: skip


@pytest.fixture(autouse=True)
def _our_site(settings):
    settings.SITE_NAME = "Northwind Research"
    settings.SITE_URL = "https://research.example"


def _parts(message) -> tuple[str, str]:
    parsed = message_from_bytes(message.message().as_bytes(), policy=policy.default)
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    return text, html


def _assert_house_style(message, text: str, html: str) -> None:
    footer = "Northwind Research\nhttps://research.example"
    assert footer in text
    assert f"<title>{message.subject}</title>" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<a href="https://research.example" style="color:#16181d;' in html
    # Links are built in accounts/adapter.py; here only the words count.
    words_only = re.sub(r"\S+://\S+", "", message.subject + text)
    for words in ALLAUTH_WORDING:
        assert words not in words_only, words


def test_a_signups_verification_email_has_both_parts_in_our_words(client, mailoutbox):
    client.post(
        "/accounts/signup/", {"email": "nia@reader.example", "password1": "an-unusual-passphrase"}
    )

    (message,) = mailoutbox
    text, html = _parts(message)
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", text, re.MULTILINE)
    assert message.subject == "Welcome to Northwind Research: confirm your email address"
    assert "Welcome to Northwind Research. Please confirm that nia@reader.example" in text
    assert code is not None
    assert f">{code.group(1)}</span>" in html
    assert "<strong>nia@reader.example</strong>" in html
    _assert_house_style(message, text, html)


def test_a_password_reset_email_has_both_parts_in_our_words(free_reader, mailoutbox):
    Client().post("/accounts/password/reset/", {"email": free_reader.email})

    (message,) = mailoutbox
    text, html = _parts(message)
    link = re.search(r"^(\S+/accounts/password/reset/key/\S+/)$", text, re.MULTILINE)
    assert message.subject == "Reset your Northwind Research password"
    assert "asked to reset the password of the Northwind Research account" in text
    assert link is not None
    assert f'<a href="{link.group(1)}"' in html
    assert "Choose a new password</a>" in html
    _assert_house_style(message, text, html)


def test_a_login_code_email_is_ours_too(free_reader, mailoutbox):
    Client().post("/accounts/login/code/", {"email": free_reader.email})

    (message,) = mailoutbox
    text, html = _parts(message)
    assert message.subject == "Your code to log in to Northwind Research"
    assert re.search(r"^[A-Z0-9]{4}-[A-Z0-9]{4}$", text, re.MULTILINE)
    _assert_house_style(message, text, html)


SAMPLE_CONTEXT = {
    "email": "reader@reader.example", "code": "ABCD-EFGH",
    "activate_url": "https://research.example/accounts/confirm-email/k/",
    "password_reset_url": "https://research.example/accounts/password/reset/key/1-x/",
    "signup_url": "https://research.example/accounts/signup/",
    "from_email": "old@reader.example", "to_email": "new@reader.example",
    "deleted_email": "gone@reader.example", "ip": "203.0.113.9", "user_agent": "Firefox",
    "site_name": "Northwind Research", "site_url": "https://research.example",
}  # fmt: skip


@pytest.mark.parametrize("name", ALLAUTH_EMAILS)
def test_every_email_allauth_sends_has_our_text_and_html(name):
    assert len(ALLAUTH_EMAILS) >= 13  # the glob found allauth's templates

    message = get_adapter().render_mail(
        f"account/email/{name}", "reader@reader.example",
        {**SAMPLE_CONTEXT, "timestamp": timezone.now()},
    )  # fmt: skip

    text, html = _parts(message)
    assert "Northwind Research" in message.subject
    assert not message.subject.startswith("[")
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    assert message.extra_headers["Message-ID"].endswith("@research.example>")
    _assert_house_style(message, text, html)
    assert "{{" not in text + html and "&amp;lt;" not in html
