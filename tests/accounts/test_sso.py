"""Organisations' single sign-on, end to end against allauth's own OpenID Connect provider
running in a second Django process (tests/support/sso.py): seats on first sign-in while they
last, seats ending when the provider stops vouching, refused ID tokens, and the addresses
that must sign in through it."""

import re
import time
from html import unescape

import jwt
import pytest
import requests
from allauth.socialaccount.models import SocialAccount
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import OrganisationMember, OrganisationRemoval, User
from accounts.organisations.sso import SignedIDTokenAdapter
from tests.accounts.conftest import SSO_SECRET as SECRET
from tests.support.factories import PASSWORD, UserFactory
from tests.support.oidc_idp import EXPIRED, FOREIGN_KEY, WRONG_AUDIENCE
from tests.support.sso import CLIENT_ID, IDP_PASSWORD, PROVIDER_ID, READERS_GROUP

pytestmark = pytest.mark.django_db(transaction=True)


def _csrf(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def _sso_sign_in(live_server, email: str, *, next_path: str = "/") -> requests.Response:
    """A person's browser: our organisation page, the provider's login form, and back."""
    browser = requests.Session()
    page = browser.get(f"{live_server.url}/team/acme/login/?next={next_path}", timeout=10)
    assert page.status_code == 200
    at_provider = browser.post(
        f"{live_server.url}/accounts/oidc/acme/login/",
        data={"csrfmiddlewaretoken": _csrf(page.text), "next": next_path},
        timeout=10,
    )
    assert "/accounts/login/" in at_provider.url, at_provider.url
    return browser.post(
        at_provider.url,
        data={"csrfmiddlewaretoken": _csrf(at_provider.text), "login": email,
              "password": IDP_PASSWORD},
        headers={"Referer": at_provider.url}, timeout=20,
    )  # fmt: skip


def test_first_sign_in_opens_an_account_takes_a_seat_and_reads_paid_reports(
    live_server, identity_provider, sso_organisation, paid_report
):
    identity_provider.add_user("ines@acme.example", READERS_GROUP)

    landed = _sso_sign_in(live_server, "ines@acme.example", next_path="/reports/night-draw/")

    assert landed.url == f"{live_server.url}/reports/night-draw/"
    assert SECRET in unescape(landed.text)
    user = User.objects.get(email="ines@acme.example")
    assert user.seat.organisation == sso_organisation
    assert SocialAccount.objects.get(user=user).provider == "acme"


def test_existing_account_at_the_domain_signs_in_by_its_address_and_takes_a_seat(
    live_server, identity_provider, sso_organisation
):
    existing = UserFactory(email="omar@acme.example")
    identity_provider.add_user("omar@acme.example", READERS_GROUP)

    _sso_sign_in(live_server, "omar@acme.example")

    assert OrganisationMember.objects.get(user=existing).organisation == sso_organisation
    assert User.objects.filter(email__iexact="omar@acme.example").count() == 1


def test_no_seat_when_all_are_taken_and_the_person_is_told(
    live_server, identity_provider, sso_organisation, paid_report
):
    sso_organisation.seats = 1
    sso_organisation.save()
    OrganisationMember.objects.create(organisation=sso_organisation, user=UserFactory())
    identity_provider.add_user("ines@acme.example", READERS_GROUP)

    landed = _sso_sign_in(live_server, "ines@acme.example", next_path="/reports/night-draw/")

    assert "All 1 seats of Acme Integrators are taken" in unescape(landed.text)
    assert SECRET not in unescape(landed.text)
    assert not OrganisationMember.objects.filter(user__email="ines@acme.example").exists()


def test_seat_ends_at_the_next_sign_in_once_the_provider_drops_the_group(
    live_server, identity_provider, sso_organisation
):
    identity_provider.add_user("ines@acme.example", READERS_GROUP)
    _sso_sign_in(live_server, "ines@acme.example")
    assert OrganisationMember.objects.filter(user__email="ines@acme.example").exists()

    identity_provider.set_groups("ines@acme.example")
    landed = _sso_sign_in(live_server, "ines@acme.example")

    text = unescape(landed.text)
    assert "no longer lists you among the readers" in text
    assert "Your seat in Acme Integrators has ended." in text
    assert not OrganisationMember.objects.filter(user__email="ines@acme.example").exists()
    assert landed.url.startswith(f"{live_server.url}/team/acme/login/")
    assert "Log out" not in text

    identity_provider.set_groups("ines@acme.example", READERS_GROUP)
    _sso_sign_in(live_server, "ines@acme.example")
    assert OrganisationMember.objects.filter(user__email="ines@acme.example").exists()


def test_an_admins_removal_is_not_undone_by_signing_in_again(
    live_server, identity_provider, sso_organisation
):
    identity_provider.add_user("ines@acme.example", READERS_GROUP)
    OrganisationRemoval.objects.create(organisation=sso_organisation, email="ines@acme.example")

    landed = _sso_sign_in(live_server, "ines@acme.example")

    assert "took you off the team" in unescape(landed.text)
    assert not OrganisationMember.objects.filter(user__email="ines@acme.example").exists()


def test_provider_is_not_trusted_for_addresses_outside_its_domains(
    live_server, identity_provider, sso_organisation
):
    victim = UserFactory(email="someone@elsewhere.example")
    identity_provider.add_user("someone@elsewhere.example", READERS_GROUP)

    landed = _sso_sign_in(live_server, "someone@elsewhere.example")

    assert "for addresses at its own domains" in unescape(landed.text)
    assert not SocialAccount.objects.filter(user=victim).exists()
    assert not OrganisationMember.objects.exists()


@pytest.mark.parametrize("mode", [WRONG_AUDIENCE, EXPIRED, FOREIGN_KEY])
def test_id_tokens_for_another_audience_expired_or_not_signed_by_the_provider_are_refused(
    live_server, identity_provider, sso_organisation, mode
):
    identity_provider.add_user("ines@acme.example", READERS_GROUP)
    identity_provider.misbehave(mode)

    landed = _sso_sign_in(live_server, "ines@acme.example")

    assert "could not sign you in" in unescape(landed.text)
    assert not User.objects.filter(email="ines@acme.example").exists()
    assert not OrganisationMember.objects.exists()


def test_unsigned_id_token_from_the_token_endpoint_is_refused(
    rf, identity_provider, sso_organisation
):
    """allauth.idp only issues signed tokens, so this one is made here and decoded as the
    callback decodes what the token endpoint answered, against the provider's real keys."""
    now = int(time.time())
    unsigned = jwt.encode(
        {"iss": identity_provider.url, "aud": CLIENT_ID, "sub": "1", "iat": now,
         "exp": now + 300, "email": "ines@acme.example", "email_verified": True},
        key=None, algorithm="none",
    )  # fmt: skip
    app = sso_organisation.sso_app

    # allauth alone takes it: it skips the signature of a token it fetched itself.
    plain = OpenIDConnectOAuth2Adapter(rf.get("/"), PROVIDER_ID)
    plain.did_fetch_access_token = True
    assert plain._decode_id_token(app, unsigned)["sub"] == "1"

    checked = SignedIDTokenAdapter(rf.get("/"), PROVIDER_ID)
    checked.did_fetch_access_token = True
    with pytest.raises(OAuth2Error):
        checked._decode_id_token(app, unsigned)


def test_login_form_sends_an_sso_domain_to_its_organisation(client, sso_organisation):
    UserFactory(email="ines@acme.example")

    response = client.post(
        reverse("account_login"),
        {"login": "Ines@Acme.example", "password": PASSWORD, "next": "/reports/x/"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/team/acme/login/?next=%2Freports%2Fx%2F"
    assert "_auth_user_id" not in client.session
    assert any(
        "signs its people in through its own single sign-on" in str(m)
        for m in get_messages(response.wsgi_request)
    )


def test_password_login_stays_for_other_domains_and_optional_sso(client, sso_organisation):
    UserFactory(email="ines@acme.example")
    sso_organisation.sso_required = False
    sso_organisation.save()

    response = client.post(
        reverse("account_login"), {"login": "ines@acme.example", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert "_auth_user_id" in client.session


@pytest.mark.parametrize(
    ("url_name", "data"),
    [
        ("account_reset_password", {"email": "ines@acme.example"}),
        ("account_request_login_code", {"email": "ines@acme.example"}),
        ("account_signup", {"email": "new@acme.example", "password1": "a-long-passphrase-9"}),
    ],
)
def test_required_sso_refuses_codes_resets_and_signups_with_a_pointer(
    client, mailoutbox, sso_organisation, url_name, data
):
    UserFactory(email="ines@acme.example")

    response = client.post(reverse(url_name), data)

    assert response.status_code == 200
    assert "/team/acme/login/" in unescape(response.content.decode())
    assert not mailoutbox
    assert not User.objects.filter(email="new@acme.example").exists()


def test_organisation_login_page_is_404_without_an_identity_provider(client, sso_organisation):
    assert client.get("/team/acme/login/").status_code == 200
    sso_organisation.sso_app = None
    sso_organisation.save()
    assert client.get("/team/acme/login/").status_code == 404
    assert client.get("/team/nobody/login/").status_code == 404


def test_organisation_login_page_lets_its_form_reach_the_provider_and_only_that(
    client, identity_provider, sso_organisation, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        response = client.get("/team/acme/login/?next=/reports/night-draw/")

    policy = response["Content-Security-Policy"]
    form_action = next(d for d in policy.split(";") if d.strip().startswith("form-action"))
    assert identity_provider.url in form_action
    assert identity_provider.url not in client.get("/accounts/login/")["Content-Security-Policy"]
    html = response.content.decode()
    assert 'action="/accounts/oidc/acme/login/"' in html
    assert 'name="next" value="/reports/night-draw/"' in html
    assert (
        'name="next"' not in client.get("/team/acme/login/?next=//evil.example/").content.decode()
    )


def test_no_page_lists_the_organisations_identity_providers(client_for, sso_organisation):
    client = client_for(UserFactory())

    for url in ("/accounts/login/", "/accounts/signup/", "/accounts/3rdparty/"):
        response = client.get(url) if url == "/accounts/3rdparty/" else Client().get(url)
        assert response.status_code == 200, url
        assert "Acme" not in response.content.decode(), url


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"slug": None}, "slug"),
        ({"join_domains": ""}, "sso_required"),
        ({"sso_app": None}, "sso_required"),
    ],
)
def test_staff_cannot_save_single_sign_on_it_cannot_run(sso_organisation, change, field):
    for name, value in change.items():
        setattr(sso_organisation, name, value)

    with pytest.raises(ValidationError) as refused:
        sso_organisation.full_clean()

    assert field in refused.value.message_dict


def test_identity_provider_must_be_openid_connect(sso_organisation):
    sso_organisation.sso_app.provider = "google"
    sso_organisation.sso_app.save()

    with pytest.raises(ValidationError) as refused:
        sso_organisation.full_clean()

    assert "sso_app" in refused.value.message_dict


def test_admin_edits_an_organisations_single_sign_on(client_for, sso_organisation):
    staff = client_for(UserFactory(is_staff=True, is_superuser=True))

    page = staff.get(f"/admin/accounts/organisation/{sso_organisation.pk}/change/")

    assert page.status_code == 200
    for field in ("slug", "sso_app", "sso_required", "sso_group"):
        assert f'name="{field}"' in page.content.decode()
