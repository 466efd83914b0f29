"""Anti-enumeration and brute-force limits on the account forms (django-allauth)."""

import pytest

from tests.factories import UserFactory

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
    from tests.factories import PASSWORD

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
