"""Organisation licences: buying seats, inviting colleagues, joining, and seat limits.

The last seat is taken under a row lock on the organisation, so concurrent joins can never
put more members in than were paid for.
"""

from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

import stripe
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import Resolver404, resolve
from django.utils import timezone

from accounts.billing.checkout import hosted_url
from accounts.billing.client import BillingUnavailable, local_checkout_enabled, stripe_client
from accounts.billing.local_checkout import local_team_seats_change
from accounts.billing.sync import subscription_sync_from_stripe
from accounts.membership import membership_grants_access, seat_for
from accounts.models import (
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    OrganisationRemoval,
    User,
)
from accounts.organisations.pricing import MAX_SEATS, min_seats, team_seats_parse
from publisher.cache.generations import page_cache_invalidate_all
from publisher.celery import enqueue
from publisher.errors import ApplicationError
from publisher.text import text_normalise_name

INVITATION_DAYS = 7
INVITATION_SALT = "accounts.team-invitation"
ORGANISATION_NAME_MAX_LENGTH = 120


def _affiliations_changed() -> None:
    # Comments show each commenter's organisation as verified (accounts.organisations.
    # affiliations): a seat, a domain list or an organisation's name changing retires every
    # cached page and comment thread, which may show it. Such changes are rare.
    page_cache_invalidate_all()


def admin_seat(user: User) -> OrganisationMember | None:
    seat = seat_for(user)
    return seat if seat is not None and seat.is_admin else None


# Buying ----------------------------------------------------------------------------------


def organisation_purchase_check(*, owner: User, name: str) -> str:
    """The organisation name as it will be stored, when `owner` may buy a licence for it.

    Raises ApplicationError for a name without visible letters, or a buyer who already
    holds a seat (an admin of a licence that never got paid may try again)."""
    typed = name
    name = text_normalise_name(name)[:ORGANISATION_NAME_MAX_LENGTH]
    if not name:
        raise ApplicationError(
            "Give your organisation a name in visible letters."
            if typed.strip()
            else "Give your organisation a name."
        )
    existing = seat_for(owner)
    if existing is not None and not (
        existing.is_admin and not membership_grants_access(existing.organisation)
    ):
        raise ApplicationError(f"You already hold a seat in {existing.organisation.name}.")
    return name


def organisation_start(*, owner: User, name: str) -> Organisation:
    """The organisation its buyer administers (and holds a seat in) before paying."""
    name = organisation_purchase_check(owner=owner, name=name)
    existing = seat_for(owner)
    if existing is not None:
        existing.organisation.name = name
        existing.organisation.save(update_fields=["name", "updated_at"])
        _affiliations_changed()
        return existing.organisation
    with transaction.atomic():
        organisation = Organisation.objects.create(name=name, owner=owner)
        OrganisationMember.objects.create(organisation=organisation, user=owner, is_admin=True)
    _affiliations_changed()
    return organisation


def organisation_checkout_session_create(
    *, organisation: Organisation, seats: int, buyer: User, success_url: str, cancel_url: str
) -> str:
    if not min_seats() <= seats <= MAX_SEATS:
        raise ApplicationError(f"Choose between {min_seats()} and {MAX_SEATS} seats.")
    client = stripe_client()
    try:
        with transaction.atomic():
            locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
            if not locked.stripe_customer_id:
                customer = client.v1.customers.create(
                    params={
                        "email": buyer.email,
                        "name": locked.name,
                        "metadata": {"organisation_id": str(locked.pk)},
                    },
                    options={"idempotency_key": f"customer-for-organisation-{locked.pk}"},
                )
                locked.stripe_customer_id = customer.id
                locked.save(update_fields=["stripe_customer_id", "updated_at"])
        metadata = {"organisation_id": str(organisation.pk)}
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": locked.stripe_customer_id,
                "client_reference_id": str(buyer.pk),
                "line_items": [{"price": settings.STRIPE_PRICE_SEAT, "quantity": seats}],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "metadata": metadata,
                "subscription_data": {"metadata": metadata},
            }
        )
    except stripe.StripeError as error:
        raise BillingUnavailable(str(error)) from error
    return hosted_url(session)


# Joining ---------------------------------------------------------------------------------


def organisation_join(*, organisation: Organisation, user: User) -> OrganisationMember:
    """Give `user` a seat, if one is free. Raises ApplicationError with a clear reason otherwise."""
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        seat = OrganisationMember.objects.filter(user=user).select_related("organisation").first()
        if seat is not None:
            if seat.organisation_id == locked.pk:
                return seat
            raise ApplicationError(f"You already hold a seat in {seat.organisation.name}.")
        if not membership_grants_access(locked):
            raise ApplicationError(f"The {locked.name} licence is not active.")
        if locked.members.count() >= locked.seats:
            raise ApplicationError(
                f"All {locked.seats} seats of {locked.name} are taken. "
                "Ask your team admin to add seats."
            )
        try:
            with transaction.atomic():
                seat = OrganisationMember.objects.create(organisation=locked, user=user)
        except IntegrityError:
            raise ApplicationError("You already hold a seat in another organisation.") from None
    _affiliations_changed()
    return seat


def _email_domain(email: str) -> str:
    return email.rsplit("@", 1)[-1].lower()


def _verified_emails(user: User) -> list[str]:
    return [e.lower() for e in EmailAddress.objects.filter(user=user, verified=True).values_list(
        "email", flat=True
    )]  # fmt: skip


def _removals_of(user: User, emails: list[str]) -> Q:
    """The removals that name this person: by account, or by any of their verified addresses."""
    return Q(removals__user=user) | Q(removals__email__in=emails)


def organisation_autojoin(*, user: User) -> Organisation | None:
    """Join the organisation that admits the user's verified email domain, if any.

    An organisation whose admin removed the person never admits them again by domain; only
    a new invitation does. Returns the organisation joined, None when none applies; raises
    ApplicationError when one applies but cannot take the user (no seat left)."""
    if seat_for(user) is not None:
        return None
    emails = _verified_emails(user)
    domains = {_email_domain(email) for email in emails}
    if not domains:
        return None
    candidates = (
        Organisation.objects.filter(auto_join=True)
        .exclude(join_domains="")
        .exclude(pk__in=Organisation.objects.filter(_removals_of(user, emails)).values("pk"))
    )
    for organisation in candidates:
        if domains & set(organisation.domains) and membership_grants_access(organisation):
            organisation_join(organisation=organisation, user=user)
            return organisation
    return None


# Invitations -----------------------------------------------------------------------------


def invitation_token(invitation: OrganisationInvitation) -> str:
    return signing.dumps(invitation.pk, salt=INVITATION_SALT)


def invitation_create(
    *, organisation: Organisation, email: str, invited_by: User
) -> OrganisationInvitation:
    email = email.strip().lower()
    if organisation.members.filter(user__email__iexact=email).exists():
        raise ApplicationError(f"{email} already holds a seat.")
    pending = organisation.invitations.filter(
        email=email, accepted_at__isnull=True, revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )  # fmt: skip
    if pending.exists():
        raise ApplicationError(f"{email} already has a pending invitation.")
    invitation = OrganisationInvitation.objects.create(
        organisation=organisation,
        email=email,
        invited_by=invited_by,
        expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
    )
    transaction.on_commit(partial(enqueue, "accounts.tasks.send_team_invitation", invitation.pk))
    return invitation


def invitation_from_token(token: str) -> OrganisationInvitation:
    try:
        invitation_id = signing.loads(token, salt=INVITATION_SALT)
    except signing.BadSignature:
        raise ApplicationError("This invitation link is not valid.") from None
    invitation = (
        OrganisationInvitation.objects.select_related("organisation", "invited_by")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or invitation.revoked_at is not None:
        raise ApplicationError("This invitation was withdrawn.")
    if invitation.accepted_at is not None:
        raise ApplicationError("This invitation was already used.")
    if invitation.expires_at <= timezone.now():
        raise ApplicationError("This invitation has expired. Ask your team admin for a new one.")
    return invitation


def invitation_for_path(path: object) -> OrganisationInvitation | None:
    """The open invitation whose join page `path` is (a signup's `next`), if any."""
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    try:
        match = resolve(urlsplit(path).path)
    except Resolver404:
        return None
    if match.view_name != "accounts:team_join":
        return None
    try:
        return invitation_from_token(match.kwargs["token"])
    except ApplicationError:
        return None


def invitation_accept(*, token: str, user: User) -> OrganisationMember:
    """Take the invited seat. An invitation is the admin asking this person back, so it also
    lifts an earlier removal from the organisation."""
    invitation = invitation_from_token(token)
    emails = _verified_emails(user)
    if invitation.email not in emails:
        raise ApplicationError(
            f"This invitation is for {invitation.email}. Log in with that address (or add and "
            "verify it on your account) to accept it."
        )
    with transaction.atomic():
        locked = OrganisationInvitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted_at is not None:
            raise ApplicationError("This invitation was already used.")
        seat = organisation_join(organisation=invitation.organisation, user=user)
        locked.accepted_at = timezone.now()
        locked.save(update_fields=["accepted_at"])
        OrganisationRemoval.objects.filter(organisation=invitation.organisation).filter(
            Q(user=user) | Q(email__in=emails)
        ).delete()
    return seat


# Administration --------------------------------------------------------------------------


def _require_admin(organisation: Organisation, admin: User) -> None:
    seat = admin_seat(admin)
    if seat is None or seat.organisation_id != organisation.pk:
        raise ApplicationError("Only this organisation's admins can do that.")


def member_remove(*, organisation: Organisation, admin: User, member_id: int) -> None:
    """Remove someone from the team: their access ends at once, and stays ended (joining by
    email domain no longer admits them) until an admin invites them again."""
    _require_admin(organisation, admin)
    member = organisation.members.filter(pk=member_id).select_related("user").first()
    if member is None:
        raise ApplicationError("That person is not on the team.")
    if member.user_id == admin.pk:
        raise ApplicationError("You cannot remove yourself; make someone else admin first.")
    with transaction.atomic():
        OrganisationRemoval.objects.update_or_create(
            organisation=organisation,
            email=member.user.email.lower(),
            defaults={"user": member.user, "removed_by": admin, "removed_at": timezone.now()},
        )
        member.delete()
    _affiliations_changed()


def member_make_admin(*, organisation: Organisation, admin: User, member_id: int) -> None:
    _require_admin(organisation, admin)
    updated = organisation.members.filter(pk=member_id).update(is_admin=True)
    if not updated:
        raise ApplicationError("That person is not on the team.")


def invitation_revoke(*, organisation: Organisation, admin: User, invitation_id: int) -> None:
    _require_admin(organisation, admin)
    organisation.invitations.filter(pk=invitation_id, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def _stripe_seats_change(organisation: Organisation, seats: int) -> None:
    """Set the quantity of the licence's seat item at Stripe, and mirror the answer at once
    (its webhook follows and changes nothing more). The added seats are invoiced now, pro
    rata; removed ones become a credit on the next invoice."""
    client = stripe_client()
    try:
        subscription = client.v1.subscriptions.retrieve(organisation.stripe_subscription_id)
        items = subscription["items"]["data"]
        seat_items = [i for i in items if i["price"]["id"] == settings.STRIPE_PRICE_SEAT]
        item = (seat_items or items)[0]
        updated = client.v1.subscriptions.update(
            organisation.stripe_subscription_id,
            params={
                "items": [{"id": item["id"], "quantity": seats}],
                "proration_behavior": "always_invoice",
            },
        )
    except (stripe.StripeError, IndexError, KeyError) as error:
        raise BillingUnavailable(repr(error)) from error
    subscription_sync_from_stripe(subscription=updated.to_dict(), state_at=timezone.now())


def organisation_seats_check(*, organisation: Organisation, seats: object) -> int:
    """The number of seats `organisation` may change to: a licence's range, no fewer than
    the seats in use, and not the number it has. ApplicationError says what is wrong."""
    wanted = team_seats_parse(seats, at_least=organisation.members.count())
    if not membership_grants_access(organisation) or not organisation.stripe_subscription_id:
        raise ApplicationError("The licence is not active, so its seats cannot change.")
    if wanted == organisation.seats:
        raise ApplicationError(f"The licence already has {wanted} seats.")
    return wanted


def organisation_seats_change(*, organisation: Organisation, admin: User, seats: object) -> int:
    """Change the number of seats paid for; returns it. Stripe's subscription quantity, or
    the local test checkout's without Stripe keys.

    Never below the seats in use: the organisation's row stays locked from the count to the
    recorded change, so nobody takes a seat in between (joining waits for the lock). Raises
    ApplicationError with the reason, or BillingUnavailable when Stripe did not answer."""
    _require_admin(organisation, admin)
    with transaction.atomic():
        locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
        wanted = organisation_seats_check(organisation=locked, seats=seats)
        if local_checkout_enabled():
            local_team_seats_change(organisation=locked, admin=admin, seats=wanted)
        else:
            _stripe_seats_change(locked, wanted)
    return wanted


# Public email services: anyone can have an address there, so none of them identifies a
# company's people (a team listing one would let any stranger join its seats and speak in
# comments as the company, marked verified).
PUBLIC_MAIL_DOMAINS = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
        "protonmail.com", "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com",
        "mail.ru", "yandex.ru", "yandex.com", "qq.com", "163.com", "126.com", "zoho.com",
        "fastmail.com", "hey.com", "tutanota.com", "duck.com",
    }
)  # fmt: skip


def organisation_domains_update(
    *, organisation: Organisation, admin: User, domains: str, auto_join: bool
) -> None:
    _require_admin(organisation, admin)
    cleaned = []
    for domain in domains.replace(" ", ",").split(","):
        domain = domain.strip().lower().lstrip("@")
        if not domain:
            continue
        if "." not in domain or not all(
            part.isalnum() or "-" in part for part in domain.split(".")
        ):
            raise ApplicationError(f"{domain!r} is not an email domain such as example.com.")
        if domain in PUBLIC_MAIL_DOMAINS:
            raise ApplicationError(
                f"{domain} is a public email service: anyone can have an address there, so it "
                "cannot tell your company's people. List your company's own domains."
            )
        cleaned.append(domain)
    organisation.join_domains = ", ".join(dict.fromkeys(cleaned))
    organisation.auto_join = auto_join and bool(cleaned)
    organisation.save(update_fields=["join_domains", "auto_join", "updated_at"])
    _affiliations_changed()
