"""Writes: recording provider events and the suppressions they lead to, and releasing them.

Every event is recorded under its unique key in the transaction that applies it, so a
redelivery finds the record and changes nothing. Suppressions only ever get added by events:
an event arriving late (a delivery after the bounce) never lifts one; only staff do.
"""

import logging
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.deliverability.events import ProviderEvent
from accounts.models import EmailEvent, EmailSuppression, User
from accounts.newsletter.services import newsletter_unsubscribe_address

logger = logging.getLogger(__name__)

Outcome = EmailEvent.Outcome
Reason = EmailSuppression.Reason

_SUPPRESSING = {Outcome.BOUNCED: Reason.BOUNCED, Outcome.COMPLAINED: Reason.COMPLAINED}


def email_event_record(*, event: ProviderEvent) -> bool:
    """Apply one provider event. False when it was recorded before (nothing changes)."""
    if not (event.recipient and event.outcome in _CONSEQUENTIAL):
        # Deliveries, opens and clicks only count: one statement, in its own transaction.
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_COUNTED if connection.vendor == "postgresql" else _INSERT,
                           _row(event))  # fmt: skip
            return cursor.fetchone() is not None
    with transaction.atomic(), connection.cursor() as cursor:
        # One statement both records the event and tells a redelivery (no row returned).
        cursor.execute(_INSERT, _row(event))
        if cursor.fetchone() is None:
            return False
        _apply(event)
    return True


_CONSEQUENTIAL = {
    Outcome.BOUNCED,
    Outcome.SOFT_BOUNCED,
    Outcome.COMPLAINED,
    Outcome.UNSUBSCRIBED,
}
_COLUMNS = ("provider", "key", "outcome", "event_type", "recipient", "message_id", "report_id",
            "occurred_at", "received_at")  # fmt: skip
_INSERT = """
    INSERT INTO accounts_emailevent
        (provider, key, outcome, event_type, recipient, message_id, report_id, occurred_at,
         received_at)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT (provider, key) DO NOTHING
    RETURNING id
"""
# The same with the commit not waiting for the disk (synchronous_commit off for this
# statement's transaction only): a database crash may lose the last fraction of a second of
# deliveries and opens, which is worth it, as the commit's flush was most of a webhook
# request's time. Events that suppress or unsubscribe take `_INSERT`, committed durably
# before the provider is answered.
_INSERT_COUNTED = """
    INSERT INTO accounts_emailevent
        (provider, key, outcome, event_type, recipient, message_id, report_id, occurred_at,
         received_at)
    SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s
    FROM (SELECT set_config('synchronous_commit', 'off', true)) AS asynchronous
    ON CONFLICT (provider, key) DO NOTHING
    RETURNING id
"""


def _row(event: ProviderEvent) -> list[Any]:
    values = {**asdict(event), "received_at": timezone.now()}
    return [values[column] for column in _COLUMNS]


def _apply(event: ProviderEvent) -> None:
    reason = _SUPPRESSING.get(event.outcome)  # type: ignore[call-overload]
    if reason is not None:
        email_suppression_add(
            address=event.recipient, reason=reason, provider=event.provider, detail=event.detail
        )
    elif event.outcome == Outcome.SOFT_BOUNCED and _soft_bounce_limit_reached(event):
        email_suppression_add(
            address=event.recipient,
            reason=Reason.SOFT_BOUNCES,
            provider=event.provider,
            detail=(
                f"{settings.EMAIL_SOFT_BOUNCE_LIMIT} soft bounces within "
                f"{settings.EMAIL_SOFT_BOUNCE_WINDOW_DAYS} days; last: {event.detail}"
            ),
        )
    elif event.outcome == Outcome.UNSUBSCRIBED:
        # The reader unsubscribed through the provider's own link or list: they stop
        # receiving the newsletter as if they had used ours, and are not sent to again.
        newsletter_unsubscribe_address(email=event.recipient)
        email_suppression_add(
            address=event.recipient,
            reason=Reason.PROVIDER_UNSUBSCRIBE,
            provider=event.provider,
            detail=event.detail,
        )


def _soft_bounce_limit_reached(event: ProviderEvent) -> bool:
    """Whether the soft bounces in the window ending at this one reach the limit. Counted
    by when they happened, not when they arrived, so the order of arrival does not matter."""
    window = timedelta(days=settings.EMAIL_SOFT_BOUNCE_WINDOW_DAYS)
    count = EmailEvent.objects.filter(
        recipient=event.recipient,
        outcome=Outcome.SOFT_BOUNCED,
        occurred_at__gt=event.occurred_at - window,
        occurred_at__lte=event.occurred_at + window,
    ).count()
    return count >= settings.EMAIL_SOFT_BOUNCE_LIMIT


def email_suppression_add(
    *, address: str, reason: str, provider: str = "", detail: str = ""
) -> EmailSuppression | None:
    """Suppress an address (normalised by the caller). None when one is already in force."""
    try:
        with transaction.atomic():
            return EmailSuppression.objects.create(
                address=address, reason=reason, provider=provider, detail=detail
            )
    except IntegrityError:
        return None


def email_suppression_release(
    *, suppressions: Iterable[EmailSuppression], by: User, now: datetime | None = None
) -> int:
    """Lift suppressions (staff, after the reader asked or the address was fixed)."""
    ids = [suppression.pk for suppression in suppressions]
    released = EmailSuppression.objects.in_force().filter(pk__in=ids)
    count = released.update(released_at=now or timezone.now(), released_by=by)
    logger.info("%s released %d email suppression(s)", by.email, count)
    return count
