"""Organisations' single sign-on through their own identity provider (OpenID Connect, SAML).

Staff link an organisation to an allauth SocialApp: provider "openid_connect" (a provider_id
of its own, settings {"server_url": ...}) or provider "saml" (its client_id names allauth's
/accounts/saml/<client_id>/ addresses; settings {"idp": {"entity_id", "sso_url", "x509cert"}
or {"entity_id", "metadata_url"}}). Its people sign in at /team/<slug>/login/, or are sent
there from the login form when the organisation requires single sign-on for its domains.

The identity provider vouches for a person at a sign-in when it names a verified address at
one of the organisation's domains and, where the organisation names a group, lists that group
(OpenID Connect: the `groups` claim; SAML: the attribute mapped as "groups"). A SAML identity
provider is the organisation's own, so the addresses it asserts at the organisation's domains
count as verified; anywhere else they count for nothing.

Vouched for, the person takes a seat while seats remain; no longer vouched for, their seat
ends at that sign-in and the sign-in is refused. An admin's removal ends a seat too, and keeps
single sign-on from giving it back until they invite the person again (as joining by domain
does).
"""

from typing import Any, NoReturn
from urllib.parse import urlencode, urlsplit

from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialLogin
from allauth.socialaccount.providers.oauth2.client import OAuth2Error
from allauth.socialaccount.providers.openid_connect.views import OpenIDConnectOAuth2Adapter
from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from accounts.models import Organisation, OrganisationMember, OrganisationRemoval, User
from accounts.organisations.services import organisation_join
from publisher.cache.generations import page_cache_invalidate_all
from publisher.errors import ApplicationError
from publisher.redirects import local_path
from publisher.site import site_url

GROUPS_CLAIM = "groups"
SSO_PROVIDERS = ("openid_connect", "saml")
# Where SAML identity providers commonly put group membership, unless staff map "groups" in
# the application's `attribute_mapping`.
SAML_GROUP_ATTRIBUTES = (
    "groups",
    "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    "memberOf",
    "urn:oid:1.3.6.1.4.1.5923.1.5.1.1",
)
# An organisation's SAML sign-in always checks these, whatever the application's settings
# say: a response must be for our service, current, and carry an assertion its provider
# signed; a response nobody asked for (identity-provider-initiated) signs nobody in.
SAML_ENFORCED = {
    "strict": True,
    "want_assertion_signed": True,
    "reject_idp_initiated_sso": True,
    "reject_deprecated_algorithm": True,
}


def _domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].strip().lower()


def organisation_requiring_sso(email: str) -> Organisation | None:
    """The organisation whose people must sign in through its identity provider, when the
    address is at one of its domains."""
    domain = _domain(email)
    if "@" not in email or not domain:
        return None
    candidates = Organisation.objects.filter(
        sso_required=True, sso_app__isnull=False, slug__isnull=False
    ).exclude(join_domains="")
    return next((o for o in candidates if domain in o.domains), None)


def sso_login_url(organisation: Organisation, *, next_path: str = "") -> str:
    url = reverse("accounts:team_sso_login", kwargs={"slug": organisation.slug})
    next_path = local_path(next_path)
    return f"{url}?{urlencode({'next': next_path})}" if next_path else url


def sso_required_message(organisation: Organisation) -> str:
    return (
        f"{organisation.name} signs its people in through its own single sign-on: "
        f"use “Continue with {organisation.name}” at {sso_login_url(organisation)}."
    )


def sso_provider_login_url(organisation: Organisation) -> str:
    """allauth's address that starts a sign-in with the organisation's identity provider."""
    app = organisation.sso_app
    assert app is not None  # nosec: only organisations with single sign-on have a page
    if app.provider == "saml":
        return reverse("saml_login", kwargs={"organization_slug": app.client_id})
    return reverse("openid_connect_login", kwargs={"provider_id": app.provider_id})


def saml_service_addresses(app: Any) -> dict[str, str]:
    """What an organisation's SAML identity provider is told about us: our entity ID (our
    metadata's address unless staff named another in the application's `sp` settings), the
    assertion consumer service, and the metadata itself, all on SITE_URL."""
    slug = {"organization_slug": app.client_id}
    metadata = site_url(reverse("saml_metadata", kwargs=slug))
    return {
        "entity_id": ((app.settings or {}).get("sp") or {}).get("entity_id") or metadata,
        "acs_url": site_url(reverse("saml_acs", kwargs=slug)),
        "metadata_url": metadata,
    }


def sso_authorization_origin(organisation: Organisation) -> str:
    """Where the browser goes to sign in: the organisation's page posts to allauth, which
    redirects the form there, so the page's form-action policy must name it. For OpenID
    Connect that is the origin of the provider's `server_url`, unless staff moved the
    authorization endpoint with allauth's `openid_configuration_overrides`; for SAML, of
    the provider's single sign-on address (or, failing that, of its metadata)."""
    app_settings = organisation.sso_app.settings if organisation.sso_app else {}
    if organisation.sso_app is not None and organisation.sso_app.provider == "saml":
        idp = app_settings.get("idp") or {}
        address = idp.get("sso_url") or idp.get("metadata_url") or ""
    else:
        overrides = app_settings.get("openid_configuration_overrides") or {}
        address = overrides.get("authorization_endpoint") or app_settings.get("server_url", "")
    url = urlsplit(address)
    return f"{url.scheme}://{url.netloc}" if url.scheme in ("http", "https") and url.netloc else ""


def _saml_claims(sociallogin: SocialLogin) -> dict[str, Any]:
    """A SAML sign-in's address (allauth's attribute mapping, or the NameID), whether it
    counts as verified (SocialAccountAdapter.is_email_verified), and every value of the
    groups attribute (allauth's mapping keeps only the first)."""
    attributes = sociallogin.account.extra_data or {}
    addresses = [a for a in sociallogin.email_addresses if a.primary] or list(
        sociallogin.email_addresses
    )
    mapping = (sociallogin.provider.app.settings or {}).get("attribute_mapping") or {}
    names = mapping.get("groups") or SAML_GROUP_ATTRIBUTES
    names = [names] if isinstance(names, str) else names
    groups: Any = next((attributes[n] for n in names if attributes.get(n)), [])
    return {
        "email": addresses[0].email if addresses else "",
        "email_verified": bool(addresses and addresses[0].verified),
        GROUPS_CLAIM: list(groups) if isinstance(groups, list | tuple) else [groups],
    }


def _claims(sociallogin: SocialLogin) -> dict[str, Any]:
    """What the identity provider said. OpenID Connect: the ID token's claims over those of
    its userinfo endpoint (allauth keeps both)."""
    if sociallogin.provider.id == "saml":
        return _saml_claims(sociallogin)
    data = sociallogin.account.extra_data or {}
    return {**(data.get("userinfo") or {}), **(data.get("id_token") or {})}


def sso_refusal(*, organisation: Organisation, claims: dict[str, Any]) -> str | None:
    """Why the identity provider does not vouch for this person, or None when it does."""
    email = str(claims.get("email") or "")
    if not email:
        return f"{organisation.name}'s sign-in did not tell us your email address."
    if _domain(email) not in organisation.domains:
        return f"{organisation.name}'s single sign-on is for addresses at its own domains."
    if claims.get("email_verified") not in (True, "true", "True"):
        return f"{organisation.name}'s sign-in did not confirm your email address."
    if organisation.sso_group:
        groups = claims.get(GROUPS_CLAIM) or []
        if not isinstance(groups, list) or organisation.sso_group not in groups:
            return f"{organisation.name} no longer lists you among the readers of this licence."
    return None


def sso_seat_end(*, organisation: Organisation, user: User) -> bool:
    """End the person's seat in the organisation (its identity provider stopped vouching for
    them). Unlike an admin's removal nothing is recorded: once the provider vouches again,
    the next sign-in gives the seat back."""
    deleted, _ = OrganisationMember.objects.filter(organisation=organisation, user=user).delete()
    if deleted:
        # Comment threads show seat holders' organisations as verified (affiliations.py).
        page_cache_invalidate_all()
    return bool(deleted)


def sso_seat_grant(*, organisation: Organisation, user: User) -> OrganisationMember:
    """A seat for someone the identity provider vouched for. Raises ApplicationError when an
    admin removed them or no seat is left."""
    emails = [user.email.lower()]
    removed = OrganisationRemoval.objects.filter(organisation=organisation).filter(
        Q(user=user) | Q(email__in=emails)
    )
    if removed.exists() and not organisation.members.filter(user=user).exists():
        raise ApplicationError(
            f"An admin of {organisation.name} took you off the team; ask them to invite you again."
        )
    return organisation_join(organisation=organisation, user=user)


def organisation_for_login(sociallogin: SocialLogin) -> Organisation | None:
    app = sociallogin.provider.app
    if app is None or app.pk is None:
        return None
    return Organisation.objects.filter(sso_app=app).first()


def sso_after_login(request: HttpRequest, *, user: User, sociallogin: SocialLogin) -> None:
    """Once signed in through an organisation's identity provider: take a seat in it."""
    organisation = organisation_for_login(sociallogin)
    if organisation is None:
        return
    try:
        sso_seat_grant(organisation=organisation, user=user)
    except ApplicationError as error:
        messages.warning(request, error.message)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Only organisations' identity providers sign people in, and only for their own."""

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        organisation = organisation_for_login(sociallogin)
        if organisation is None:
            self._refuse(request, "That sign-in is not linked to any organisation.", "/")
        refusal = sso_refusal(organisation=organisation, claims=_claims(sociallogin))
        if refusal is None:
            return
        if sociallogin.is_existing:
            ended = sso_seat_end(organisation=organisation, user=sociallogin.user)
            if ended:
                refusal += f" Your seat in {organisation.name} has ended."
        self._refuse(request, refusal, sso_login_url(organisation))

    def get_app(self, request: HttpRequest, provider: str, client_id: str | None = None) -> Any:
        app = super().get_app(request, provider, client_id=client_id)
        if app.provider == "saml":
            # A copy for this sign-in only: what staff saved stays as they saved it.
            app_settings = dict(app.settings or {})
            app_settings["advanced"] = {**(app_settings.get("advanced") or {}), **SAML_ENFORCED}
            # Our entity ID is the same whichever address a request came in on.
            entity_id = saml_service_addresses(app)["entity_id"]
            app_settings["sp"] = {**(app_settings.get("sp") or {}), "entity_id": entity_id}
            app.settings = app_settings
        return app

    def is_email_verified(self, provider: Any, email: str) -> bool:
        # A SAML assertion rarely says whether an address was verified: the organisation's
        # own identity provider is trusted for its own domains (sso_refusal still refuses
        # every other address).
        if provider.id == "saml" and provider.app is not None and provider.app.pk is not None:
            organisation = Organisation.objects.filter(sso_app=provider.app).first()
            if organisation is not None and _domain(email) in organisation.domains:
                return True
        return super().is_email_verified(provider, email)

    def list_providers(self, request: HttpRequest) -> list:
        # allauth's pages list every configured provider ("Add a third-party account"):
        # here that would be the list of our customers. Each is reached from its own
        # organisation's page, and is never listed.
        return []

    def _refuse(self, request: HttpRequest, message: str, url: str) -> NoReturn:
        messages.error(request, message)
        raise ImmediateHttpResponse(HttpResponseRedirect(url))


class SignedIDTokenAdapter(OpenIDConnectOAuth2Adapter):
    """allauth's OpenID Connect client, always checking the ID token's signature.

    allauth skips the signature of an ID token it fetched from the token endpoint itself
    (OpenID Connect Core 3.1.3.7 lets a client rely on TLS there). An organisation's
    identity provider is configured by hand, possibly behind a proxy: a token that is not
    signed by a key the provider publishes signs nobody in.
    """

    def _decode_id_token(self, app: Any, id_token: str) -> dict:
        self.did_fetch_access_token = False
        try:
            return super()._decode_id_token(app, id_token)
        except (KeyError, ValueError) as error:
            # No key id, or no header at all: an unsigned token.
            raise OAuth2Error("Unsigned id_token") from error
