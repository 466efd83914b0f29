"""Newsletter signup: double opt-in, normalisation, anti-enumeration and rate limits."""

import re
import secrets
from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from accounts.models import NewsletterSubscriber
from accounts.newsletter.services import (
    SIGNUPS_PER_ADDRESS,
    SIGNUPS_PER_IP,
    newsletter_normalize_email,
    newsletter_preferences_token,
    newsletter_preferences_token_maker,
    newsletter_recipients,
)
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db

CANARY = "CANARY-PAID-BODY-7f3a"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _signup(client: Client, email: str, *, ip: str = "203.0.113.7", source: str = "home"):
    return client.post("/newsletter/", {"email": email, "source": source}, REMOTE_ADDR=ip)


def _confirm_link(mail) -> str:
    match = re.search(r"http://testserver(/newsletter/confirm/[^/\s]+/)", mail.body)
    assert match, mail.body
    return match.group(1)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Reader@Example.COM ", "reader@example.com"),
        ("Anna@Bücher.Example", "anna@xn--bcher-kva.example"),
        ("first.last+tag@sub.example.org.", "first.last+tag@sub.example.org"),
    ],
)
def test_addresses_are_normalised(raw, expected):
    assert newsletter_normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter your email address."),
        ("not-an-address", "Enter a valid email address"),
        ("a@", "Enter a valid email address"),
        ("two@example.com, three@example.com", "Enter a valid email address"),
        ("victim@example.com\r\nBcc: everyone@example.com", "cannot contain line breaks"),
        ("victim@example.com\nSubject: hi", "cannot contain line breaks"),
        ("x" * 250 + "@example.com", "too long"),
    ],
)
def test_unusable_addresses_are_refused_with_a_clear_message(raw, message):
    with pytest.raises(ValidationError, match=message):
        newsletter_normalize_email(raw)


def test_header_injection_gets_a_clear_message_and_sends_nothing(client, mailoutbox):
    response = _signup(client, "victim@example.com\r\nBcc: everyone@example.com")

    assert response.status_code == 400
    assert "cannot contain line breaks" in response.content.decode()
    assert mailoutbox == []
    assert not NewsletterSubscriber.objects.exists()


def test_signup_records_consent_and_sends_a_confirmation(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _signup(client, "New.Reader@Example.com", source="report:heat-pumps")

    assert response.status_code == 302
    assert response["Location"] == "/newsletter/check-your-inbox/"
    subscriber = NewsletterSubscriber.objects.get()
    assert subscriber.email == "new.reader@example.com"
    assert subscriber.consent_ip == "203.0.113.7"
    assert subscriber.consent_source == "report:heat-pumps"
    assert subscriber.consent_at is not None
    assert subscriber.confirmed_at is None
    assert not subscriber.is_receiving
    assert [m.to for m in mailoutbox] == [["new.reader@example.com"]]
    assert "Confirm" in mailoutbox[0].subject
    assert "List-Unsubscribe" not in mailoutbox[0].extra_headers


def test_unknown_source_is_recorded_as_the_newsletter_page(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _signup(client, "a@example.com", source="<script>")

    assert NewsletterSubscriber.objects.get().consent_source == "newsletter"


def test_confirmation_link_shows_a_button_and_only_a_post_confirms(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _signup(client, "reader@example.com")
    link = _confirm_link(mailoutbox[0])

    page = client.get(link)

    assert page.status_code == 200
    assert "Confirm my subscription" in page.content.decode()
    assert NewsletterSubscriber.objects.get().confirmed_at is None

    confirmed = client.post(link)

    assert confirmed.status_code == 200
    subscriber = NewsletterSubscriber.objects.get()
    assert subscriber.is_receiving
    assert list(newsletter_recipients()) == [subscriber]


def test_confirmation_link_works_once(client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _signup(client, "reader@example.com")
    link = _confirm_link(mailoutbox[0])
    client.post(link)
    NewsletterSubscriber.objects.update(confirmed_at=None)  # even if it were pending again

    again = client.post(link)

    assert again.status_code == 404
    assert "expired or was already used" in again.content.decode()
    assert client.get(link).status_code == 404
    assert NewsletterSubscriber.objects.get().confirmed_at is None


def test_confirmation_link_expires(client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _signup(client, "reader@example.com")
    link = _confirm_link(mailoutbox[0])

    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        assert client.get(link).status_code == 404
        assert client.post(link).status_code == 404

    assert NewsletterSubscriber.objects.get().confirmed_at is None


def test_a_new_signup_replaces_the_previous_confirmation_link(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _signup(client, "reader@example.com")
        _signup(client, "READER@example.com")
    first, second = (_confirm_link(mail) for mail in mailoutbox)

    assert client.post(first).status_code == 404
    assert client.post(second).status_code == 200
    assert NewsletterSubscriber.objects.count() == 1


@pytest.mark.parametrize("state", ["new", "pending", "confirmed", "unsubscribed"])
def test_signup_answers_the_same_whatever_the_address_state(
    client, state, django_capture_on_commit_callbacks
):
    now = timezone.now()
    if state != "new":
        NewsletterSubscriber.objects.create(
            email="known@example.com",
            confirmed_at=None if state == "pending" else now,
            unsubscribed_at=now if state == "unsubscribed" else None,
        )

    with django_capture_on_commit_callbacks(execute=True):
        response = _signup(client, "Known@Example.com")
    page = client.get(response["Location"])

    assert (response.status_code, response["Location"]) == (302, "/newsletter/check-your-inbox/")
    assert page.status_code == 200
    assert "If that address still needs confirming" in page.content.decode()
    assert "If the address already gets our new-report emails" in page.content.decode()
    assert "known@example.com" not in page.content.decode().lower()


def test_signup_of_a_confirmed_address_changes_nothing_and_sends_nothing(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    confirmed_at = timezone.now() - timedelta(days=10)
    NewsletterSubscriber.objects.create(email="known@example.com", confirmed_at=confirmed_at)

    with django_capture_on_commit_callbacks(execute=True):
        _signup(client, "known@example.com", ip="198.51.100.9")

    subscriber = NewsletterSubscriber.objects.get()
    assert subscriber.confirmed_at == confirmed_at
    assert subscriber.consent_ip is None
    assert mailoutbox == []


def test_an_unsubscribed_address_can_opt_in_again(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    NewsletterSubscriber.objects.create(
        email="back@example.com", confirmed_at=timezone.now(), unsubscribed_at=timezone.now()
    )

    with django_capture_on_commit_callbacks(execute=True):
        _signup(client, "back@example.com")
    client.post(_confirm_link(mailoutbox[0]))

    assert NewsletterSubscriber.objects.get().is_receiving


def test_signups_are_rate_limited_per_ip(client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(SIGNUPS_PER_IP):
            assert _signup(client, f"r{n}@example.com").status_code == 302
        refused = _signup(client, "one-more@example.com")
        other_network = _signup(client, "elsewhere@example.com", ip="198.51.100.1")

    assert refused.status_code == 429
    assert "Too many signups from your network" in refused.content.decode()
    assert not NewsletterSubscriber.objects.filter(email="one-more@example.com").exists()
    assert other_network.status_code == 302


def test_behind_nginx_a_forged_forwarded_for_neither_dodges_the_limit_nor_lands_in_consent(
    client, settings, django_capture_on_commit_callbacks
):
    """nginx appends the client's address to X-Forwarded-For; with one trusted proxy that
    last entry is the client, whatever the client wrote before it."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1

    def through_nginx(email: str, forged: str):
        return client.post(
            "/newsletter/", {"email": email, "source": "home"},
            REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"{forged}, 203.0.113.50",
        )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        for n in range(SIGNUPS_PER_IP):
            assert through_nginx(f"f{n}@example.com", forged=f"10.0.0.{n}").status_code == 302
        refused = through_nginx("one-more@example.com", forged="10.9.9.9")

    assert refused.status_code == 429
    assert NewsletterSubscriber.objects.get(email="f0@example.com").consent_ip == "203.0.113.50"


def test_signups_per_address_are_limited_silently(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            _signup(client, "target@example.com", ip=f"198.51.100.{n}")
            for n in range(SIGNUPS_PER_ADDRESS + 2)
        ]

    # Same answer every time (nothing to learn), but no mail-bombing of the address.
    assert {r.status_code for r in responses} == {302}
    assert len(mailoutbox) == SIGNUPS_PER_ADDRESS


def test_newsletter_box_is_on_home_and_report_pages_and_works_without_an_account(
    django_capture_on_commit_callbacks, mailoutbox
):
    report = ReportFactory(slug="heat-pumps", body=CANARY)
    browser = Client(enforce_csrf_checks=True)
    for path in ["/", f"/reports/{report.slug}/"]:
        page = browser.get(path).content.decode()
        assert "Enter your email to get notified of new shootouts, tests, investigations" in page
        assert 'action="/newsletter/"' in page
        # The page is cached for every anonymous reader: no per-reader token in it
        # (publisher/csrf.py explains what protects the form instead).
        assert "csrfmiddlewaretoken" not in page

    source = re.search(r'name="source" value="([^"]+)"', page).group(1)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(
            "/newsletter/",
            {"email": "box@example.com", "source": source},
            HTTP_ORIGIN="http://testserver",
            HTTP_SEC_FETCH_SITE="same-origin",
        )

    assert response.status_code == 302
    assert NewsletterSubscriber.objects.get().consent_source == "report:heat-pumps"
    assert CANARY not in mailoutbox[0].body
    assert all(CANARY not in content for content, _ in mailoutbox[0].alternatives)


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_ORIGIN": "https://evil.example"}, {"HTTP_SEC_FETCH_SITE": "cross-site"}],
)
def test_signup_from_another_site_is_refused(headers):
    response = Client(enforce_csrf_checks=True).post(
        "/newsletter/", {"email": "a@example.com"}, **headers
    )

    assert response.status_code == 403
    assert not NewsletterSubscriber.objects.exists()


def test_logged_in_signup_without_csrf_token_is_refused(client_for, subscriber):
    browser = client_for(subscriber)
    browser.handler.enforce_csrf_checks = True

    page = browser.get("/").content.decode()
    response = browser.post("/newsletter/", {"email": "a@example.com"})

    assert "csrfmiddlewaretoken" in page  # a logged-in reader's page is private: it has one
    assert response.status_code == 403
    assert not NewsletterSubscriber.objects.exists()


def test_newsletter_page_shows_the_signup_form(client):
    page = client.get("/newsletter/")

    assert page.status_code == 200
    assert "Enter your email to get notified" in page.content.decode()


# Opening a confirmation link again, and the way back to the report -------------------------


def _used_link(client, mailoutbox, capture) -> str:
    """Sign reader@example.com up and confirm; returns the confirmation link, now used."""
    with capture(execute=True):
        _signup(client, "reader@example.com")
    link = _confirm_link(mailoutbox[0])
    assert client.post(link).status_code == 200
    return link


def test_a_used_confirmation_link_says_you_are_subscribed(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    link = _used_link(client, mailoutbox, django_capture_on_commit_callbacks)

    opened = Client().get(link)
    pressed = Client().post(link)

    for again in (opened, pressed):
        html = again.content.decode()
        assert again.status_code == 200
        assert "You are subscribed" in html
        assert "expired" not in html
        # Nothing the first answer did not already give, and not even the address.
        assert "reader@example.com" not in html
        assert "no-store" in again["Cache-Control"]
    subscriber = NewsletterSubscriber.objects.get()
    assert subscriber.is_receiving
    assert len(mailoutbox) == 1


def test_a_used_link_says_nothing_once_its_reader_unsubscribed(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    link = _used_link(client, mailoutbox, django_capture_on_commit_callbacks)
    subscriber = NewsletterSubscriber.objects.get()
    client.post(f"/newsletter/unsubscribe/{subscriber.token}/", {"List-Unsubscribe": "One-Click"})

    again = client.post(link)

    assert again.status_code == 404
    assert "expired or was already used" in again.content.decode()
    subscriber.refresh_from_db()
    assert not subscriber.is_receiving


def test_a_used_link_is_no_oracle_for_other_addresses(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """Only the link's own subscriber decides its answer: an invented link is refused the
    same way whether or not other addresses are subscribed, and a used link of one reader
    answers the same whatever other readers do."""
    invented = "/newsletter/confirm/an-invented-token-of-the-right-length-0123456789/"
    before = client.get(invented)
    with django_capture_on_commit_callbacks(execute=True):
        _signup(client, "first@example.com")
        _signup(client, "second@example.com", ip="203.0.113.8")
    first, second = (_confirm_link(mail) for mail in mailoutbox)
    client.post(first)
    first_again = client.get(first).content.decode()
    client.post(second)
    NewsletterSubscriber.objects.filter(email="second@example.com").update(
        unsubscribed_at=timezone.now()
    )

    after = client.get(invented)

    assert (before.status_code, after.status_code) == (404, 404)
    assert _main(before.content.decode()) == _main(after.content.decode())
    assert _main(client.get(first).content.decode()) == _main(first_again)
    assert "second@example.com" not in first_again


def _main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def test_confirming_from_a_report_box_links_back_to_the_report(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    report = ReportFactory(slug="heat-pump-night-losses")
    page = client.get(report.get_absolute_url()).content.decode()
    next_path = re.search(r'name="next" value="([^"]+)"', page).group(1)
    assert next_path == "/reports/heat-pump-night-losses/"

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/newsletter/",
            {
                "email": "box@example.com",
                "source": "report:heat-pump-night-losses",
                "next": next_path,
            },
        )
    link = re.search(r"http://testserver(/newsletter/confirm/\S+)", mailoutbox[0].body).group(1)
    assert link.endswith("/?next=%2Freports%2Fheat-pump-night-losses%2F")
    button = client.get(link).content.decode()
    assert '<input type="hidden" name="next" value="/reports/heat-pump-night-losses/">' in button

    confirmed = client.post(link.split("?")[0], {"next": next_path})

    html = confirmed.content.decode()
    assert 'href="/reports/heat-pump-night-losses/">Back to the report</a>' in html
    again = client.get(link).content.decode()
    assert 'href="/reports/heat-pump-night-losses/">Back to the report</a>' in again


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/reports/x/",
        "//evil.example/reports/x/",
        "/\\evil.example/reports/x/",
        "javascript:alert(1)",
        "reports/x/",
        "/reports/x/\nSet-Cookie: a=b",
        "/" + "a" * 600,
    ],
)
def test_only_same_site_paths_come_back(
    client, mailoutbox, django_capture_on_commit_callbacks, next_path
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/newsletter/", {"email": "box@example.com", "next": next_path})
    link = re.search(r"http://testserver(/newsletter/confirm/\S+)", mailoutbox[0].body).group(1)

    assert "?" not in link  # the email carries no foreign address
    crafted = client.post(link, {"next": next_path}).content.decode()
    assert "You are subscribed" in crafted
    assert "Back to the report" not in crafted
    assert "evil.example" not in crafted
    assert (
        "Back to the report" not in client.get(f"{link}?next={quote(next_path)}").content.decode()
    )


# Logged-in readers are told the truth about their own addresses ---------------------------


def _box_signup(client: Client, email: str):
    return client.post("/newsletter/", {"email": email, "source": "report:night-draw"})


def test_a_readers_own_confirmed_address_is_told_it_already_gets_the_emails(
    client_for, free_reader, mailoutbox, django_capture_on_commit_callbacks
):
    confirmed_at = timezone.now() - timedelta(days=10)
    NewsletterSubscriber.objects.create(email=free_reader.email, confirmed_at=confirmed_at)
    client = client_for(free_reader)

    with django_capture_on_commit_callbacks(execute=True):
        response = _box_signup(client, free_reader.email.upper())
    page = client.get(response["Location"]).content.decode()

    assert response["Location"] == "/newsletter/preferences/"
    assert f"You already get new-report emails at {free_reader.email}." in page
    assert "confirmation link is on its way" not in page
    assert mailoutbox == []
    subscriber = NewsletterSubscriber.objects.get()
    assert subscriber.confirmed_at == confirmed_at
    assert subscriber.user == free_reader  # linked now that its owner used it


@pytest.mark.parametrize("state", ["new", "pending", "unsubscribed"])
def test_a_readers_own_verified_address_starts_at_once_without_an_email(
    client_for, free_reader, mailoutbox, django_capture_on_commit_callbacks, state
):
    if state != "new":
        NewsletterSubscriber.objects.create(
            email=free_reader.email,
            confirmed_at=timezone.now() if state == "unsubscribed" else None,
            unsubscribed_at=timezone.now() if state == "unsubscribed" else None,
            confirmation_token_hash="x" * 64 if state == "pending" else "",
        )
    client = client_for(free_reader)

    with django_capture_on_commit_callbacks(execute=True):
        response = _box_signup(client, free_reader.email)
    page = client.get(response["Location"]).content.decode()

    assert response["Location"] == "/newsletter/preferences/"
    assert f"Done: we will email {free_reader.email} when a new report is published." in page
    assert mailoutbox == []
    subscriber = NewsletterSubscriber.objects.get()
    assert subscriber.is_receiving
    assert (subscriber.user, subscriber.consent_source) == (free_reader, "report:night-draw")
    assert subscriber.confirmation_token_hash == ""


def test_another_address_from_a_logged_in_reader_reveals_nothing(
    client_for, free_reader, mailoutbox, django_capture_on_commit_callbacks
):
    NewsletterSubscriber.objects.create(email="colleague@example.com", confirmed_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = _box_signup(client_for(free_reader), "colleague@example.com")

    assert response["Location"] == "/newsletter/check-your-inbox/"
    assert mailoutbox == []


def test_an_unverified_account_address_still_needs_the_confirmation_email(
    client_for, mailoutbox, django_capture_on_commit_callbacks
):
    from allauth.account.models import EmailAddress

    from tests.support.factories import UserFactory

    user = UserFactory(email="unverified@example.com")
    EmailAddress.objects.filter(user=user).update(verified=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = _box_signup(client_for(user), user.email)

    assert response["Location"] == "/newsletter/check-your-inbox/"
    assert len(mailoutbox) == 1
    assert not NewsletterSubscriber.objects.get().is_receiving


def test_anonymous_signup_of_a_logged_in_readers_address_still_reveals_nothing(
    client, free_reader, mailoutbox, django_capture_on_commit_callbacks
):
    NewsletterSubscriber.objects.create(email=free_reader.email, confirmed_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = _signup(client, free_reader.email)

    assert response["Location"] == "/newsletter/check-your-inbox/"
    assert mailoutbox == []


def test_the_per_network_limit_applies_to_readers_own_addresses_too(client_for, free_reader):
    client = client_for(free_reader)
    for n in range(SIGNUPS_PER_IP):
        assert _signup(client, f"r{n}@example.com").status_code == 302

    refused = _signup(client, free_reader.email)

    assert refused.status_code == 429
    assert not NewsletterSubscriber.objects.filter(email=free_reader.email).exists()


def test_a_send_batchs_preferences_tokens_are_the_signers_own():
    make = newsletter_preferences_token_maker()
    for token in ["a", secrets.token_urlsafe(32), "Ünïcode-token", ""]:
        assert make(token) == newsletter_preferences_token(subscriber_token=token)
        assert (
            signing.Signer(salt="accounts.newsletter.preferences-link").unsign(make(token)) == token
        )
