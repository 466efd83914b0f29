import re

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


def _code_from(mail) -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.body, re.MULTILINE)
    assert match, mail.body
    return match.group(1)


def test_signup_verifies_email_by_code_and_keeps_profile_details(client, mailoutbox):
    response = client.post(
        "/accounts/signup/?next=/reports/some-report/",
        {
            "email": "New.Reader@Example.com",
            "password1": "a-long-unusual-passphrase",
            "display_name": "Nia Reader",
            "company": "Acme Integrators",
        },
    )
    assert response.status_code == 302

    user = User.objects.get(email__iexact="new.reader@example.com")
    assert (user.display_name, user.company) == ("Nia Reader", "Acme Integrators")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [user.email]
    assert "Welcome to Gridline Research." in mailoutbox[0].body

    # Not logged in before the code is entered.
    assert client.get("/accounts/email/").status_code == 302

    response = client.post(response["Location"], {"code": _code_from(mailoutbox[0])})

    assert response.status_code == 302
    assert user.emailaddress_set.get().verified
    assert client.get("/accounts/email/").status_code == 200


def test_unverified_user_cannot_log_in_with_password_alone(client, mailoutbox):
    User.objects.create_user("pending@example.com", "a-long-unusual-passphrase")

    response = client.post(
        "/accounts/login/",
        {"login": "pending@example.com", "password": "a-long-unusual-passphrase"},
    )

    assert response.status_code == 302
    assert "/accounts/confirm-email/" in response["Location"]
    assert client.get("/accounts/email/").status_code == 302


def test_weak_password_is_rejected_with_a_message(client):
    response = client.post(
        "/accounts/signup/", {"email": "weak@example.com", "password1": "password"}
    )

    assert response.status_code == 200
    assert "too common" in response.content.decode()
    assert not User.objects.filter(email="weak@example.com").exists()


@pytest.mark.parametrize("address", ["/accounts/signup/", "/accounts/password/change/"])
def test_password_rules_are_the_element_the_password_input_points_to(client, address):
    # Django's as_p wraps the rules (a list) in a <span> inside a <p>; browsers then close the
    # <p> early and aria-describedby points at an empty element. Ours are a div of their own.
    user = User.objects.create_user("reader@example.com", "a-long-unusual-passphrase")
    client.force_login(user)
    if address == "/accounts/signup/":
        client.logout()

    page = client.get(address).content.decode()

    field = re.search(r'<input type="password" name="password1"[^>]*>', page)
    assert field and 'aria-describedby="id_password1_helptext"' in field[0]
    rules = re.search(r'<div class="helptext" id="id_password1_helptext">(.*?)</div>', page, re.S)
    assert rules and "<ul><li>" in rules[1] and "at least 10 characters" in rules[1]
    assert '<span class="helptext"' not in page
