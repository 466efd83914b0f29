"""Newsletter subscriptions: double opt-in signup, confirmation and unsubscribe.

Anti-enumeration: `newsletter_signup` behaves the same for a new, a pending, a confirmed
and an unsubscribed address; only the mailbox owner learns anything (a confirmation email
arrives when there is something to confirm). The one exception is a logged-in reader's own
verified address: they own it, so they are told the truth, and emails start at once.
Rate limits use Django's cache: too many signups from one IP is an error the form shows;
too many for one address is silent (no further email), so the limit neither reveals the
address nor lets anyone mail-bomb it.

A used confirmation link confirms nothing again, but keeps answering "You are subscribed"
while its subscriber still receives the emails: only the holder of that link learns it, and
only about the address the link was sent to. Every notification email carries a
preferences link signed for its subscriber (`newsletter_preferences_token`), so a reader
without an account chooses kinds and topics, or unsubscribes, from any email.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial

from allauth.account.models import EmailAddress
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Case, Q, QuerySet, When
from django.utils import timezone
from django.utils.encoding import force_bytes, punycode

from accounts.models import EmailSuppression, NewsletterSubscriber, User
from publisher.celery import enqueue
from publisher.errors import ApplicationError
from publisher.ratelimit import Limit, limit_exceeded
from publisher.site import site_path

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


def _used_hash(token: str) -> str:
    """What a confirmation link's hash becomes once it confirmed: never the hash of a
    pending link again, so the link cannot confirm twice, yet it still finds its subscriber
    to say "You are subscribed"."""
    return hashlib.sha256(b"used:" + token.encode()).hexdigest()


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
    next_path: str = "",
    now: datetime | None = None,
) -> SignupAnswer:
    """Record a signup and, when there is something to confirm, send a confirmation email.

    `next_path` is the page the signup came from (a path on this site, else ignored): the
    confirmation link carries it, so the confirmed reader gets a link back there.
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
        _send_confirmation_on_commit(
            subscriber_id=subscriber.pk, token=token, next_path=site_path(next_path)
        )
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
        _confirm(subscriber, now=now)
    _link_and_save(subscriber, user=user)


def _send_confirmation_on_commit(*, subscriber_id: int, token: str, next_path: str = "") -> None:
    transaction.on_commit(
        partial(
            enqueue,
            "accounts.tasks.send_newsletter_confirmation",
            subscriber_id,
            token,
            next_path,
        )
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


def newsletter_confirmed_by_link(*, token: str) -> bool:
    """Whether a used confirmation link's subscriber still receives the emails.

    Answers only about the one address the link was sent to, and only to the holder of the
    link (32 random bytes, stored hashed): no other address can be asked about."""
    if not token:
        return False
    subscriber = NewsletterSubscriber.objects.filter(
        confirmation_token_hash=_used_hash(token)
    ).first()
    return subscriber is not None and subscriber.is_receiving


def newsletter_confirm(*, token: str, now: datetime | None = None) -> NewsletterSubscriber | None:
    """Confirm the subscription a link belongs to; the link confirms once."""
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
        subscriber.confirmation_token_hash = _used_hash(token)
        subscriber.save()
    return subscriber


# The preferences link in every notification: the subscriber's own token, signed with a salt
# of its own so that no other signature the site makes with the same key stands in for it.
_PREFERENCES_SIGNER = signing.Signer(salt="accounts.newsletter.preferences-link")
PREFERENCES_LINK_DAMAGED = (
    "This preferences link is damaged or incomplete. Open it again from the newest of our "
    "emails, or copy the whole address; nothing was changed."
)
PREFERENCES_LINK_GONE = (
    "This preferences link no longer works: we hold no subscription for it. Nothing was changed."
)


def newsletter_preferences_token(*, subscriber_token: str) -> str:
    """The token of a subscriber's preferences link, from their unsubscribe token.

    It names no address (the page it opens shows only a hint of it), and without the site's
    key nobody can make one for another subscriber."""
    return _PREFERENCES_SIGNER.sign(subscriber_token)


def newsletter_preferences_token_maker() -> Callable[[str], str]:
    """`newsletter_preferences_token` for a whole send batch: the same tokens, made with the
    signing key derived once. Django's signer derives its HMAC key from the salt and the
    site's key for every token, which was a tenth of a notification's sending cost."""
    signer = _PREFERENCES_SIGNER  # sha256 and ":", Django's defaults: the tests compare both
    key = hashlib.sha256(force_bytes(signer.salt) + b"signer" + force_bytes(signer.key))
    keyed = hmac.new(key.digest(), digestmod=hashlib.sha256)

    def make(token: str) -> str:
        mac = keyed.copy()
        mac.update(token.encode())
        return f"{token}:{base64.urlsafe_b64encode(mac.digest()).rstrip(b'=').decode()}"

    return make


def newsletter_subscriber_for_preferences(*, token: str) -> NewsletterSubscriber:
    """The subscriber a preferences link belongs to. ApplicationError says why there is none:
    400 for a damaged or forged link, 404 for a link whose subscription was deleted."""
    try:
        subscriber_token = _PREFERENCES_SIGNER.unsign(token)
    except signing.BadSignature:
        raise ApplicationError(PREFERENCES_LINK_DAMAGED, status=400) from None
    subscriber = newsletter_subscriber_by_token(token=subscriber_token)
    if subscriber is None:
        raise ApplicationError(PREFERENCES_LINK_GONE, status=404)
    return subscriber


def newsletter_email_hint(email: str) -> str:
    """Enough of an address for its owner to recognise it, not enough to read it off the
    screen of someone the email was forwarded to: `r…@example.com`."""
    local, _, domain = email.rpartition("@")
    return f"{local[:1]}…@{domain}" if local else "…"


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


def newsletter_unsubscribe_address(*, email: str, now: datetime | None = None) -> int:
    """Unsubscribe a (normalised) address the provider told us unsubscribed there."""
    moment = now or timezone.now()
    return NewsletterSubscriber.objects.filter(email=email, unsubscribed_at__isnull=True).update(
        unsubscribed_at=moment, updated_at=moment
    )


def newsletter_recipients() -> QuerySet[NewsletterSubscriber]:
    """Everyone who receives new-report notifications (before content preferences): never a
    suppressed address (a hard bounce, a complaint; `accounts.deliverability`), excluded in
    the query itself."""
    return NewsletterSubscriber.objects.receiving().exclude(
        email__in=EmailSuppression.objects.in_force().values("address")
    )


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


PAID_SUBSCRIPTION_SOURCE = "paid-subscription"


def newsletter_enrol_member(
    *, user: User, now: datetime | None = None
) -> NewsletterSubscriber | None:
    """Start new-report emails for a reader whose paid subscription has just begun.

    The pricing page lists the emails among what a subscription includes, and the checkout
    comes from a verified account address: that is the consent (what double opt-in proves),
    recorded as one (its time and source; no IP, since it arrives by Stripe's webhook). An
    address with a record of its own keeps it: one already receiving is left alone; one
    signed up but not confirmed is confirmed, its original consent kept; and one that
    unsubscribed stays unsubscribed, because leaving was a choice that paying for reports
    does not undo. An address we have not verified is not enrolled at all.
    """
    if not _user_email_verified(user):
        return None
    try:
        normalised = newsletter_normalize_email(user.email)
    except ValidationError:
        return None
    linked = NewsletterSubscriber.objects.filter(user=user).first()
    if linked is not None and linked.email != normalised:
        # A record under the account's earlier address: the reader's choice there stands.
        return linked
    now = now or timezone.now()
    with transaction.atomic():
        subscriber, _ = NewsletterSubscriber.objects.select_for_update().get_or_create(
            email=normalised,
            defaults={
                "consent_at": now,
                "consent_source": PAID_SUBSCRIPTION_SOURCE,
                "confirmed_at": now,
            },
        )
        if subscriber.unsubscribed_at is None and not subscriber.is_receiving:
            if subscriber.consent_at is None:
                subscriber.consent_at = now
                subscriber.consent_source = PAID_SUBSCRIPTION_SOURCE
            _confirm(subscriber, now=now)
        _link_and_save(subscriber, user=user)
    return subscriber


def _confirm(subscriber: NewsletterSubscriber, *, now: datetime) -> None:
    """Receiving from now on: the account's verified address is the proof of ownership that
    double opt-in asks for."""
    subscriber.confirmed_at = now
    subscriber.unsubscribed_at = None
    subscriber.confirmation_token_hash = ""


def _link_and_save(subscriber: NewsletterSubscriber, *, user: User) -> None:
    if _may_link(user, subscriber):
        subscriber.user = user
    subscriber.save()


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
