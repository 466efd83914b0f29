"""Newsletter subscriptions: double opt-in signup, confirmation and unsubscribe.

Anti-enumeration: `newsletter_signup` behaves the same for a new, a pending, a confirmed
and an unsubscribed address; only the mailbox owner learns anything (a confirmation email
arrives when there is something to confirm). The one exception is a logged-in reader's own
verified address: they own it, so they are told the truth, and emails start at once.
Rate limits use Django's cache: too many signups from one IP is an error the form shows;
too many for one address is silent (no further email), so the limit neither reveals the
address nor lets anyone mail-bomb it.
"""

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial

from allauth.account.models import EmailAddress
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Case, Q, QuerySet, When
from django.utils import timezone
from django.utils.encoding import punycode

from accounts.models import NewsletterSubscriber, User
from publisher.celery import enqueue
from publisher.errors import ApplicationError
from publisher.ratelimit import Limit, limit_exceeded

CONFIRMATION_MAX_AGE = timedelta(days=3)
SIGNUPS_PER_IP = 10
SIGNUPS_PER_ADDRESS = 3
IP_LIMIT = Limit(
    SIGNUPS_PER_IP,
    3600,
    "Too many signups from your network just now. Please try again in an hour.",
)
# Further signups of one address within a day are accepted silently and send nothing, so
# nobody can flood a stranger's inbox with confirmation requests.
ADDRESS_LIMIT = Limit(SIGNUPS_PER_ADDRESS, 86400, "")
MAX_EMAIL_LENGTH = 254


def newsletter_normalize_email(raw: str) -> str:
    """The address as we store and compare it: trimmed, case-folded, IDNA-encoded domain.

    Raises ValidationError with a message meant for the reader.
    """
    value = (raw or "").strip()
    if not value:
        raise ValidationError("Enter your email address.", code="required")
    if any(char in value for char in "\r\n\x00"):
        # A line break in an address is how header injection starts: refuse it outright.
        raise ValidationError("An email address cannot contain line breaks.", code="injection")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain:
        raise ValidationError("Enter a valid email address, like name@example.com.", code="invalid")
    try:
        ascii_domain = punycode(domain.rstrip(".").casefold())
    except UnicodeError:
        raise ValidationError(
            "That address has a domain name we cannot read.", code="invalid"
        ) from None
    normalised = f"{local.casefold()}@{ascii_domain}"
    if len(normalised) > MAX_EMAIL_LENGTH:
        raise ValidationError("That email address is too long.", code="invalid")
    try:
        validate_email(normalised)
    except ValidationError:
        raise ValidationError(
            "Enter a valid email address, like name@example.com.", code="invalid"
        ) from None
    return normalised


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class SignupAnswer(StrEnum):
    """What a signup may tell the person who sent it."""

    # The answer that reveals nothing: a confirmation link is on its way if the address
    # still needs confirming. Anyone but the address's verified owner gets this one.
    CHECK_INBOX = "check-inbox"
    # The logged-in reader's own verified address: its emails were started at once (the
    # verification was the proof of ownership double opt-in asks for).
    STARTED = "started"
    # The logged-in reader's own verified address already receives them; nothing changed.
    ALREADY_RECEIVING = "already-receiving"


def newsletter_signup(
    *,
    email: str,
    ip: str | None,
    source: str,
    user: User | None = None,
    now: datetime | None = None,
) -> SignupAnswer:
    """Record a signup and, when there is something to confirm, send a confirmation email.

    Raises ValidationError for an unusable address and ApplicationError (429) for a busy
    network. A logged-in reader signing up one of their own verified addresses is told the
    truth (started, or already receiving), since nothing about the address is news to them;
    for every other address the answer is CHECK_INBOX, whatever the address's state was.
    """
    normalised = newsletter_normalize_email(email)
    if ip and limit_exceeded("newsletter-signup-ip", ip, [IP_LIMIT]):
        raise ApplicationError(IP_LIMIT.message, status=429)
    now = now or timezone.now()
    if user is not None and normalised in _verified_addresses(user):
        return _signup_own_address(user=user, email=normalised, ip=ip, source=source, now=now)
    if limit_exceeded("newsletter-signup-address", _hash(normalised), [ADDRESS_LIMIT]):
        return SignupAnswer.CHECK_INBOX
    with transaction.atomic():
        subscriber, _ = NewsletterSubscriber.objects.select_for_update().get_or_create(
            email=normalised
        )
        if subscriber.is_receiving:
            return SignupAnswer.CHECK_INBOX
        token = secrets.token_urlsafe(32)
        subscriber.confirmation_token_hash = _hash(token)
        subscriber.confirmation_sent_at = now
        subscriber.consent_at = now
        subscriber.consent_ip = ip
        subscriber.consent_source = source[:140]
        if _may_link(user, subscriber):
            subscriber.user = user
        subscriber.save()
        _send_confirmation_on_commit(subscriber_id=subscriber.pk, token=token)
    return SignupAnswer.CHECK_INBOX


def _verified_addresses(user: User) -> set[str]:
    """A logged-in reader's verified addresses, normalised as subscribers' are."""
    if not user.is_authenticated:
        return set()
    addresses = set()
    for address in EmailAddress.objects.filter(user=user, verified=True).values_list(
        "email", flat=True
    ):
        try:
            addresses.add(newsletter_normalize_email(address))
        except ValidationError:
            continue
    return addresses


def _signup_own_address(
    *, user: User, email: str, ip: str | None, source: str, now: datetime
) -> SignupAnswer:
    with transaction.atomic():
        subscriber, _ = NewsletterSubscriber.objects.select_for_update().get_or_create(email=email)
        answer = SignupAnswer.ALREADY_RECEIVING if subscriber.is_receiving else SignupAnswer.STARTED
        _start_verified(subscriber, user=user, ip=ip, source=source, now=now)
    return answer


def _start_verified(
    subscriber: NewsletterSubscriber, *, user: User, ip: str | None, source: str, now: datetime
) -> None:
    """Start (or keep) emails to an address the reader proved is theirs, and save the row
    (locked by the caller). Consent is recorded only when emails start."""
    if not subscriber.is_receiving:
        subscriber.consent_at = now
        subscriber.consent_ip = ip
        subscriber.consent_source = source[:140]
        subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None
        subscriber.confirmation_token_hash = ""
    if _may_link(user, subscriber):
        subscriber.user = user
    subscriber.save()


def _send_confirmation_on_commit(*, subscriber_id: int, token: str) -> None:
    transaction.on_commit(
        partial(enqueue, "accounts.tasks.send_newsletter_confirmation", subscriber_id, token)
    )


def newsletter_subscriber_for_confirmation(
    *, token: str, now: datetime | None = None
) -> NewsletterSubscriber | None:
    """The pending subscriber a confirmation link belongs to, if it is unused and fresh."""
    if not token:
        return None
    subscriber = NewsletterSubscriber.objects.filter(confirmation_token_hash=_hash(token)).first()
    if subscriber is None or subscriber.confirmation_sent_at is None:
        return None
    if (now or timezone.now()) - subscriber.confirmation_sent_at > CONFIRMATION_MAX_AGE:
        return None
    return subscriber


def newsletter_confirm(*, token: str, now: datetime | None = None) -> NewsletterSubscriber | None:
    """Confirm the subscription a link belongs to; the link stops working once used."""
    now = now or timezone.now()
    with transaction.atomic():
        subscriber = newsletter_subscriber_for_confirmation(token=token, now=now)
        if subscriber is None:
            return None
        subscriber = NewsletterSubscriber.objects.select_for_update().get(pk=subscriber.pk)
        if subscriber.confirmation_token_hash != _hash(token):  # used by a concurrent request
            return None
        subscriber.confirmed_at = now
        subscriber.unsubscribed_at = None
        subscriber.confirmation_token_hash = ""
        subscriber.save()
    return subscriber


def newsletter_subscriber_by_token(*, token: str) -> NewsletterSubscriber | None:
    if not token:
        return None
    return NewsletterSubscriber.objects.filter(token=token).first()


def newsletter_unsubscribe(*, token: str, now: datetime | None = None) -> bool:
    """Unsubscribe the owner of an unsubscribe token. False (and nothing done) for a bad token."""
    subscriber = newsletter_subscriber_by_token(token=token)
    if subscriber is None:
        return False
    NewsletterSubscriber.objects.filter(pk=subscriber.pk, unsubscribed_at__isnull=True).update(
        unsubscribed_at=now or timezone.now(), updated_at=now or timezone.now()
    )
    return True


def newsletter_recipients() -> QuerySet[NewsletterSubscriber]:
    """Everyone who receives new-report notifications (before content preferences)."""
    return NewsletterSubscriber.objects.receiving()


def _may_link(user: User | None, subscriber: NewsletterSubscriber) -> bool:
    """Link a signup to the logged-in account when it is the account's own address."""
    if user is None or not user.is_authenticated or subscriber.user_id is not None:
        return False
    if NewsletterSubscriber.objects.filter(user=user).exists():
        return False
    try:
        return newsletter_normalize_email(user.email) == subscriber.email
    except ValidationError:
        return False


def newsletter_subscriber_for_user(*, user: User) -> NewsletterSubscriber | None:
    """The subscriber row of a logged-in reader: linked to the account, or else at its
    address. One query (the newsletter box on every page a reader opens asks it)."""
    try:
        at_address = Q(email=newsletter_normalize_email(user.email))
    except ValidationError:
        at_address = Q(pk__in=[])
    return (
        NewsletterSubscriber.objects.filter(Q(user=user) | at_address)
        .order_by(Case(When(user=user, then=0), default=1), "pk")
        .first()
    )


def _user_email_verified(user: User) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


def newsletter_set_for_user(
    *, user: User, enabled: bool, ip: str | None, now: datetime | None = None
) -> NewsletterSubscriber | None:
    """Turn notifications on or off for a logged-in reader's account address.

    The account address was verified by allauth, which is the proof of ownership double
    opt-in exists for, so turning notifications on here confirms at once; an unverified
    address gets the ordinary confirmation email instead.
    """
    now = now or timezone.now()
    subscriber = newsletter_subscriber_for_user(user=user)
    if not enabled:
        if subscriber is not None and subscriber.unsubscribed_at is None:
            subscriber.unsubscribed_at = now
            subscriber.save(update_fields=["unsubscribed_at", "updated_at"])
        return subscriber
    if not _user_email_verified(user):
        newsletter_signup(email=user.email, ip=ip, source="account-preferences", user=user)
        return newsletter_subscriber_for_user(user=user)
    with transaction.atomic():
        if subscriber is None:
            subscriber, _ = NewsletterSubscriber.objects.get_or_create(
                email=newsletter_normalize_email(user.email)
            )
        subscriber = NewsletterSubscriber.objects.select_for_update().get(pk=subscriber.pk)
        _start_verified(subscriber, user=user, ip=ip, source="account-preferences", now=now)
    return subscriber
