"""Names other readers see (display names, companies, organisations) are stored without
bidi overrides, zero-width and other invisible characters; a name of nothing visible is
refused with a message and changes nothing."""

import importlib

import pytest
from django import forms

from accounts.forms import AdminUserChangeForm
from accounts.models import Organisation, User
from accounts.organisations.services import organisation_start
from accounts.users import user_profile_update
from publisher.errors import ApplicationError
from tests.support.factories import UserFactory

pytestmark = pytest.mark.django_db

# Two words with invisible characters around and inside them: each stores as "A B".
SPOOFED = [
    "\u202e{} {}",  # right-to-left override: "Nia Reader" would show as "redaeR aiN"
    "{}\u2066 {}\u2069",  # isolates
    "{}\u200b\u200c \u200d{}\u200e\u200f",  # zero-width characters and direction marks
    "\ufeff{}\x00 {}\x7f",  # byte-order mark, control characters
    "  {} \t\n {}\u00a0 ",  # whitespace of every kind, one space each
]
SPOOF_IDS = ["override", "isolates", "zero-width", "bom-and-controls", "whitespace"]
ONLY_INVISIBLE = [
    pytest.param("\u202e", id="override"),
    pytest.param("\u200b\u200b", id="zero-width"),
    pytest.param("\ufeff \u2066\u2069", id="bom-space-isolates"),
    pytest.param("\u3164", id="hangul-filler"),
]


def _signup(client, **names):
    return client.post(
        "/accounts/signup/",
        {"email": "nia@example.com", "password1": "a-long-unusual-passphrase", **names},
    )


@pytest.mark.parametrize("spoof", SPOOFED, ids=SPOOF_IDS)
def test_signup_stores_names_without_invisible_characters(client, spoof):
    response = _signup(
        client, display_name=spoof.format("Nia", "Reader"), company=spoof.format("Acme", "Ltd")
    )

    assert response.status_code == 302
    user = User.objects.get(email="nia@example.com")
    assert (user.display_name, user.company) == ("Nia Reader", "Acme Ltd")


@pytest.mark.parametrize("typed", ONLY_INVISIBLE)
def test_signup_refuses_a_name_of_only_invisible_characters(client, typed):
    response = _signup(client, display_name=typed)

    assert response.status_code == 200
    assert "only invisible characters" in response.content.decode()
    assert not User.objects.exists()


def test_signup_without_a_name_is_still_fine(client):
    assert _signup(client, display_name="", company="").status_code == 302
    assert User.objects.get(email="nia@example.com").display_name == ""


@pytest.mark.parametrize("spoof", SPOOFED, ids=SPOOF_IDS)
def test_profile_stores_names_without_invisible_characters(client_for, free_reader, spoof):
    response = client_for(free_reader).post(
        "/accounts/profile/",
        {"display_name": spoof.format("Fran", "F."), "company": spoof.format("Acme", "Ltd")},
    )

    assert response.status_code == 302
    free_reader.refresh_from_db()
    assert (free_reader.display_name, free_reader.company) == ("Fran F.", "Acme Ltd")


@pytest.mark.parametrize("typed", ONLY_INVISIBLE)
def test_profile_refuses_a_name_of_only_invisible_characters(client_for, free_reader, typed):
    response = client_for(free_reader).post(
        "/accounts/profile/", {"display_name": "Fran Free", "company": typed}
    )

    assert response.status_code == 200
    assert "only invisible characters" in response.content.decode()
    free_reader.refresh_from_db()
    assert (free_reader.display_name, free_reader.company) == ("Fran Free", "")


def test_admin_user_form_cleans_names_too():
    form = AdminUserChangeForm(instance=UserFactory())

    assert form.fields["display_name"].clean("\u202eEve\u200b") == "Eve"
    with pytest.raises(forms.ValidationError, match="only invisible characters"):
        form.fields["company"].clean("\u2066\u2069")


def test_profile_service_cleans_and_refuses_like_the_forms(free_reader):
    user_profile_update(user=free_reader, display_name="\u202eFran", company="Ac\u200bme")
    free_reader.refresh_from_db()
    assert (free_reader.display_name, free_reader.company) == ("Fran", "Acme")

    with pytest.raises(ApplicationError, match="only invisible characters"):
        user_profile_update(user=free_reader, display_name="\u200b", company="")
    free_reader.refresh_from_db()
    assert free_reader.display_name == "Fran"


def test_joiners_stay_where_they_show_in_emoji_and_persian_names(free_reader):
    user_profile_update(
        user=free_reader,
        display_name="Fran \U0001f469\u200d\U0001f4bb",
        company="\u0645\u06cc\u200c\u062e\u0648",
    )

    free_reader.refresh_from_db()
    assert free_reader.display_name == "Fran \U0001f469\u200d\U0001f4bb"
    assert free_reader.company == "\u0645\u06cc\u200c\u062e\u0648"


@pytest.mark.parametrize("spoof", SPOOFED, ids=SPOOF_IDS)
def test_organisation_names_are_stored_without_invisible_characters(spoof):
    organisation = organisation_start(owner=UserFactory(), name=spoof.format("Acme", "Ltd"))

    assert organisation.name == "Acme Ltd"


@pytest.mark.parametrize("typed", ONLY_INVISIBLE)
def test_team_checkout_refuses_an_organisation_name_of_only_invisible_characters(
    client_for, free_reader, stripe_fake, typed
):
    response = client_for(free_reader).post(
        "/subscribe/team/", {"name": typed, "seats": "3"}, follow=True
    )

    assert "Give your organisation a name in visible letters." in response.content.decode()
    assert not Organisation.objects.exists()
    assert stripe_fake.sessions == {}


def test_names_stored_before_the_cleaning_are_cleaned_by_the_migration():
    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0008_strip_invisible_from_names")
    spoofed = UserFactory(display_name="\u202eEve", company="Ac\u200bme  Ltd")
    blank = UserFactory(display_name="\u200b", company="")
    clean = UserFactory(display_name="Fran", company="Acme")
    organisation = Organisation.objects.create(name="Acme\u2066 Ltd\u2069", owner=clean)
    invisible = Organisation.objects.create(name="\u200b", owner=blank)

    migration.strip_invisible_from_names(apps, None)

    for row in (spoofed, blank, clean, organisation, invisible):
        row.refresh_from_db()
    assert (spoofed.display_name, spoofed.company) == ("Eve", "Acme Ltd")
    assert blank.display_name == ""
    assert (clean.display_name, clean.company) == ("Fran", "Acme")
    assert organisation.name == "Acme Ltd"
    assert invisible.name == "\u200b"  # left for staff rather than given an invented name
