"""Account security: anti-enumeration, brute-force limits (readers' login, login codes and
the admin's own form), session rotation and invalidation, and password strength."""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core import mail
from django.core.cache import cache
from django.test import Client

from accounts.models import User
from tests.support.factories import PASSWORD, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _signup(client, email):
    return client.post(
        "/accounts/signup/", {"email": email, "password1": "a-long-unusual-passphrase"}
    )


def test_signup_with_existing_email_looks_like_a_new_signup(client, mailoutbox):
    UserFactory(email="taken@example.com")

    existing = _signup(client, "taken@example.com")
    client.logout()
    new = _signup(client.__class__(), "fresh@example.com")

    assert existing.status_code == new.status_code == 302
    assert existing["Location"] == new["Location"]
    assert len(mailoutbox) == 2  # the owner of the taken address is told, by email only


def test_password_reset_for_unknown_email_looks_like_a_known_one(client, mailoutbox):
    UserFactory(email="known@example.com")

    known = client.post("/accounts/password/reset/", {"email": "known@example.com"})
    unknown = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_login_brute_force_is_limited(client):
    UserFactory(email="target@example.com")
    for n in range(5):
        client.post("/accounts/login/", {"login": "target@example.com", "password": f"guess-{n}"})

    # Even the right password is refused until the window passes.
    response = client.post(
        "/accounts/login/", {"login": "target@example.com", "password": PASSWORD}
    )

    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_by_emailed_code_is_offered(client):
    assert "/accounts/login/code/" in client.get("/accounts/login/").content.decode()


# Sessions -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _log_in(client, email, password=PASSWORD):
    response = client.post("/accounts/login/", {"login": email, "password": password})
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _is_logged_in(client) -> bool:
    return client.get("/accounts/profile/").status_code == 200


def test_session_key_rotates_on_login(client):
    user = UserFactory(email="rotate@example.com")
    client.get("/accounts/login/")
    session = client.session
    session["visited"] = True
    session.save()
    before = session.session_key

    after = _log_in(client, user.email)

    assert after != before
    assert not SessionStore(session_key=before).exists(before)
    assert client.session["_auth_user_id"] == str(user.pk)


def test_logout_invalidates_the_session_on_the_server(client):
    user = UserFactory(email="leaving@example.com")
    old_key = _log_in(client, user.email)
    thief = Client()
    thief.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert _is_logged_in(thief)

    client.post("/accounts/logout/")

    assert not SessionStore(session_key=old_key).exists(old_key)
    assert not _is_logged_in(thief)  # the copied cookie no longer authenticates
    assert not _is_logged_in(client)


def test_password_change_ends_every_other_session(client):
    user = UserFactory(email="changer@example.com")
    _log_in(client, user.email)
    other_device = Client()
    _log_in(other_device, user.email)

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "a-brand-new-passphrase-2026",
         "password2": "a-brand-new-passphrase-2026"},
    )  # fmt: skip

    assert response.status_code == 302
    assert _is_logged_in(client)  # the session that changed it goes on
    assert not _is_logged_in(other_device)


def test_password_reset_ends_every_session(client, mailoutbox):
    user = UserFactory(email="forgetful@example.com")
    logged_in = Client()
    _log_in(logged_in, user.email)

    client.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", mailoutbox[0].body)
    form_url = client.get(link.group(1))["Location"]
    new = "reset-passphrase-for-2026"
    client.post(form_url, {"password1": new, "password2": new})

    user.refresh_from_db()
    assert user.check_password(new)
    assert not _is_logged_in(logged_in)


def test_deactivated_account_loses_its_open_session(client):
    user = MembershipFactory(user__email="banned@example.com").user
    _log_in(client, user.email)

    User.objects.filter(pk=user.pk).update(is_active=False)

    assert not _is_logged_in(client)


# Passwords ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    ["short1", "password123", "qwertyuiop", "1234567890", "iloveyou12", "weakling@example.com"],
)
def test_weak_and_common_passwords_are_rejected_with_a_message(client, password):
    response = client.post(
        "/accounts/signup/", {"email": "weakling@example.com", "password1": password}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(r"too short|too common|entirely numeric|too similar", page), password
    assert not User.objects.filter(email="weakling@example.com").exists()


def test_password_change_refuses_a_common_password(client):
    user = UserFactory(email="careless@example.com")
    _log_in(client, user.email)

    response = client.post(
        "/accounts/password/change/",
        {"oldpassword": PASSWORD, "password1": "password123", "password2": "password123"},
    )

    assert "too common" in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# Brute force ----------------------------------------------------------------------------


def test_login_limit_keys_on_the_address_nginx_appends(client, settings):
    """Behind one proxy the last X-Forwarded-For entry is the client: a forged first entry
    does not buy an attacker a fresh bucket."""
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == 1
    UserFactory(email="target@example.com")
    for n in range(12):
        client.post(
            "/accounts/login/",
            {"login": f"nobody{n}@example.com", "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.9",
        )

    blocked = client.post(
        "/accounts/login/", {"login": "target@example.com", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="198.51.100.77, 203.0.113.9",
    )  # fmt: skip
    elsewhere = Client().post(
        "/accounts/login/", {"login": "target@example.com", "password": PASSWORD},
        HTTP_X_FORWARDED_FOR="203.0.113.10",
    )  # fmt: skip

    assert "Too many failed login attempts" in blocked.content.decode()
    assert elsewhere.status_code == 302


def _admin_login(client, email, password, **extra):
    return client.post(
        "/admin/login/?next=/admin/", {"username": email, "password": password}, **extra
    )


def test_admin_is_for_staff_only(client, client_for, free_reader):
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client_for(free_reader).get("/admin/")["Location"].startswith("/admin/login/")
    response = _admin_login(client, free_reader.email, PASSWORD)
    assert "staff account" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_brute_force_is_limited_per_account(client):
    UserFactory(email="editor@example.com", is_staff=True)
    for n in range(5):
        assert _admin_login(client, "editor@example.com", f"guess-{n}").status_code == 200

    response = _admin_login(Client(), "Editor@example.com", PASSWORD)

    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_login_brute_force_is_limited_per_address(client):
    UserFactory(email="chief@example.com", is_staff=True)
    for n in range(20):
        _admin_login(client, f"staff{n}@example.com", "guess", REMOTE_ADDR="192.0.2.5")

    locked = _admin_login(client, "chief@example.com", PASSWORD, REMOTE_ADDR="192.0.2.5")
    other = _admin_login(Client(), "chief@example.com", PASSWORD, REMOTE_ADDR="192.0.2.6")

    assert "Too many failed login attempts" in locked.content.decode()
    assert other.status_code == 302 and other["Location"] == "/admin/"


def test_login_code_allows_only_a_few_guesses(client, mailoutbox):
    user = UserFactory(email="coder@example.com")
    client.post("/accounts/login/code/", {"email": user.email})
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", mailoutbox[0].body, re.M).group(1)

    for guess in ["AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"]:
        client.post("/accounts/login/code/confirm/", {"code": guess})
    client.post("/accounts/login/code/confirm/", {"code": code})
    assert "_auth_user_id" not in client.session

    fresh = Client()  # the control: a code used at once does log in
    fresh.post("/accounts/login/code/", {"email": user.email})
    code = re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", mailoutbox[1].body, re.M).group(1)
    fresh.post("/accounts/login/code/confirm/", {"code": code})
    assert fresh.session["_auth_user_id"] == str(user.pk)


# Anti-enumeration -----------------------------------------------------------------------


def _errors(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_login_failure_looks_the_same_for_unknown_and_known_addresses(client):
    UserFactory(email="known@example.com")

    known = client.post("/accounts/login/", {"login": "known@example.com", "password": "nope"})
    unknown = Client().post(
        "/accounts/login/", {"login": "unknown@example.com", "password": "nope"}
    )

    assert known.status_code == unknown.status_code == 200
    message = "The email address and/or password you specified are not correct."
    assert message in known.content.decode() and message in unknown.content.decode()


def test_login_code_request_looks_the_same_for_unknown_and_known_addresses(client, mailoutbox):
    UserFactory(email="known@example.com")

    known = client.post("/accounts/login/code/", {"email": "known@example.com"})
    unknown = Client().post("/accounts/login/code/", {"email": "unknown@example.com"})

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_adding_an_address_someone_else_holds_looks_like_a_free_one(client_for, mailoutbox):
    UserFactory(email="taken@example.com")
    owner = UserFactory(email="adder@example.com")
    client = client_for(owner)

    taken = client.post("/accounts/email/", {"action_add": "", "email": "taken@example.com"})
    free = client.post("/accounts/email/", {"action_add": "", "email": "free@example.com"})

    assert taken.status_code == free.status_code == 302
    assert taken["Location"] == free["Location"]
    # Each address is sent a verification code; the page never says which one is taken.
    assert sorted(m.to[0] for m in mail.outbox) == ["free@example.com", "taken@example.com"]
