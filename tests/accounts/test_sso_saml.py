"""Organisations' single sign-on through SAML 2.0, end to end against pysaml2's identity
provider running in a second process (tests/support/saml.py): seats on first sign-in, seats
ending when the provider stops listing the group, and the responses a service must refuse
(another audience, expired, unsigned, an unsigned assertion in a signed response, a key the
service was never given)."""

import re
from html import unescape

import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from django.core.exceptions import ValidationError

from accounts.models import OrganisationMember, User
from tests.accounts.conftest import SSO_SECRET as SECRET
from tests.support.factories import PASSWORD, UserFactory
from tests.support.saml import SAML_CLIENT_ID, SAML_PASSWORD, SAML_READERS_GROUP
from tests.support.saml_idp import (
    EXPIRED,
    FOREIGN_KEY,
    ONLY_RESPONSE_SIGNED,
    SHA1_SIGNATURE,
    UNSIGNED,
    UNSOLICITED,
    WRONG_AUDIENCE,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _csrf(text: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)


def _hidden(text: str) -> dict[str, str]:
    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', text)
    }


def _saml_sign_in(live_server, email: str, *, next_path: str = "/") -> requests.Response:
    """A person's browser: our organisation page, the provider's form, its auto-posted
    response to our assertion consumer, and on."""
    browser = requests.Session()
    page = browser.get(f"{live_server.url}/team/globex/login/?next={next_path}", timeout=10)
    assert page.status_code == 200
    at_provider = browser.post(
        f"{live_server.url}/accounts/saml/{SAML_CLIENT_ID}/login/",
        data={"csrfmiddlewaretoken": _csrf(page.text), "next": next_path},
        timeout=10,
    )
    assert "/sso?SAMLRequest=" in at_provider.url, at_provider.url
    answered = browser.post(
        at_provider.url.split("?")[0],
        data={**_hidden(at_provider.text), "email": email, "password": SAML_PASSWORD},
        timeout=20,
    )
    assert answered.status_code == 200, answered.text
    action = unescape(re.search(r'<form[^>]+action="([^"]+)"', answered.text).group(1))
    assert action.startswith(live_server.url), action
    # The provider's page posts the form by script; a browser without one posts it by hand.
    return browser.post(action, data=_hidden_all(answered.text), timeout=20)


def _hidden_all(text: str) -> dict[str, str]:
    fields = re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', text)
    return {name: unescape(value) for name, value in fields}


def test_first_sign_in_opens_an_account_takes_a_seat_and_reads_paid_reports(
    live_server, saml_identity_provider, saml_organisation, paid_report
):
    saml_identity_provider.add_user("ines@globex.example", SAML_READERS_GROUP)

    landed = _saml_sign_in(live_server, "ines@globex.example", next_path="/reports/night-draw/")

    assert landed.url == f"{live_server.url}/reports/night-draw/", saml_identity_provider.log
    assert SECRET in landed.text
    user = User.objects.get(email="ines@globex.example")
    assert user.seat.organisation == saml_organisation
    assert SocialAccount.objects.get(user=user).provider == "globex"


def test_existing_account_at_the_domain_signs_in_by_its_address_and_takes_a_seat(
    live_server, saml_identity_provider, saml_organisation
):
    """SAML providers seldom say an address is verified: the organisation's own provider
    is trusted for its own domains, so the existing account is the one signed in."""
    existing = UserFactory(email="omar@globex.example")
    saml_identity_provider.add_user("omar@globex.example", SAML_READERS_GROUP)

    _saml_sign_in(live_server, "omar@globex.example")

    assert OrganisationMember.objects.get(user=existing).organisation == saml_organisation
    assert User.objects.filter(email__iexact="omar@globex.example").count() == 1


def test_seat_ends_at_the_next_sign_in_once_the_provider_drops_the_group(
    live_server, saml_identity_provider, saml_organisation
):
    saml_identity_provider.add_user("ines@globex.example", SAML_READERS_GROUP, "engineering")
    _saml_sign_in(live_server, "ines@globex.example")
    assert OrganisationMember.objects.filter(user__email="ines@globex.example").exists()

    saml_identity_provider.set_groups("ines@globex.example", "engineering")
    landed = _saml_sign_in(live_server, "ines@globex.example")

    text = unescape(landed.text)
    assert "no longer lists you among the readers" in text
    assert "Your seat in Globex Corporation has ended." in text
    assert landed.url.startswith(f"{live_server.url}/team/globex/login/")
    assert not OrganisationMember.objects.filter(user__email="ines@globex.example").exists()


def test_no_seat_when_all_are_taken(live_server, saml_identity_provider, saml_organisation):
    saml_organisation.seats = 1
    saml_organisation.save()
    OrganisationMember.objects.create(organisation=saml_organisation, user=UserFactory())
    saml_identity_provider.add_user("ines@globex.example", SAML_READERS_GROUP)

    landed = _saml_sign_in(live_server, "ines@globex.example")

    assert "All 1 seats of Globex Corporation are taken" in unescape(landed.text)
    assert not OrganisationMember.objects.filter(user__email="ines@globex.example").exists()


def test_provider_is_not_trusted_for_addresses_outside_its_domains(
    live_server, saml_identity_provider, saml_organisation
):
    victim = UserFactory(email="someone@elsewhere.example")
    saml_identity_provider.add_user("someone@elsewhere.example", SAML_READERS_GROUP)

    landed = _saml_sign_in(live_server, "someone@elsewhere.example")

    assert "for addresses at its own domains" in unescape(landed.text)
    assert not SocialAccount.objects.filter(user=victim).exists()
    assert not OrganisationMember.objects.exists()


@pytest.mark.parametrize(
    "mode",
    [WRONG_AUDIENCE, EXPIRED, UNSIGNED, ONLY_RESPONSE_SIGNED, FOREIGN_KEY, SHA1_SIGNATURE,
     UNSOLICITED],
)  # fmt: skip
def test_responses_a_service_must_not_trust_are_refused(
    live_server, saml_identity_provider, saml_organisation, mode
):
    # What staff saved cannot loosen the checks (accounts.organisations.sso.SAML_ENFORCED).
    app = saml_organisation.sso_app
    app.settings["advanced"] = {
        "want_assertion_signed": False, "reject_idp_initiated_sso": False, "strict": False,
        "reject_deprecated_algorithm": False,
    }  # fmt: skip
    app.save()
    saml_identity_provider.add_user("ines@globex.example", SAML_READERS_GROUP)
    saml_identity_provider.misbehave(mode)

    landed = _saml_sign_in(live_server, "ines@globex.example", next_path="/reports/night-draw/")

    assert landed.status_code == 401
    assert "could not sign you in" in unescape(landed.text)
    assert not User.objects.filter(email="ines@globex.example").exists()
    assert not OrganisationMember.objects.exists()
    app.refresh_from_db()
    assert app.settings["advanced"]["want_assertion_signed"] is False


def test_the_provider_can_be_configured_by_its_metadata_address(
    live_server, saml_identity_provider, saml_organisation
):
    app = saml_organisation.sso_app
    app.settings["idp"] = {
        "entity_id": f"{saml_identity_provider.url}/metadata",
        "metadata_url": f"{saml_identity_provider.url}/metadata",
    }
    app.save()
    saml_identity_provider.add_user("ines@globex.example", SAML_READERS_GROUP)

    _saml_sign_in(live_server, "ines@globex.example")

    assert OrganisationMember.objects.filter(user__email="ines@globex.example").exists()


def test_organisation_page_lets_its_form_reach_the_provider(
    client, saml_identity_provider, saml_organisation
):
    page = client.get("/team/globex/login/")

    assert f'action="/accounts/saml/{SAML_CLIENT_ID}/login/"' in page.content.decode()
    form_action = page["Content-Security-Policy"].split("form-action")[1].split(";")[0]
    assert saml_identity_provider.url in form_action


def test_staff_may_choose_a_saml_application(saml_organisation):
    saml_organisation.clean()
    saml_organisation.sso_app.provider = "google"
    with pytest.raises(ValidationError) as refused:
        saml_organisation.clean()
    assert "OpenID Connect or SAML" in str(refused.value)


def test_password_login_is_refused_for_the_domain_with_a_pointer(client, saml_organisation):
    UserFactory(email="ines@globex.example")
    page = client.post("/accounts/login/", {"login": "ines@globex.example", "password": PASSWORD})
    assert page.status_code in (200, 302)
    assert "_auth_user_id" not in client.session


def test_admin_shows_what_to_give_the_identity_provider(client_for, live_server, saml_organisation):
    staff = client_for(UserFactory(is_staff=True, is_superuser=True))
    page = staff.get(f"/admin/accounts/organisation/{saml_organisation.pk}/change/")

    text = unescape(page.content.decode())
    metadata = f"{live_server.url}/accounts/saml/{SAML_CLIENT_ID}/metadata/"
    assert f"Entity ID: <code>{metadata}</code>" in text
    assert f"<code>{live_server.url}/accounts/saml/{SAML_CLIENT_ID}/acs/</code>" in text
    served = requests.get(metadata, timeout=10).text
    assert f'entityID="{metadata}"' in served
