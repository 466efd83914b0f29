"""Which report a subscription came from: the paywall's plan buttons carry the report's id
(`from`), the checkout puts it in Stripe's metadata (`source_report_id`, on the session and
on the subscription), and when the subscription is first paid it is recorded once
(`SubscriptionAttribution`).

`accounts` never imports `reports`, so it asks and tells through two signals, which
`reports.counting` receives: whether an id names a report (counting the checkout started
from it), and that a subscription from it was paid.
"""

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from accounts.models import Membership, SubscriptionAttribution
from publisher.ids import parse_id

logger = logging.getLogger(__name__)

METADATA_KEY = "source_report_id"

# Sent with `report_id` when a checkout starts from a report's paywall. A receiver answers
# True when the id names a report it knows (and counts the start); no answer, no attribution.
checkout_started_from_report = Signal()
# Sent with `report_id` and `paid_at` once per subscription, inside the transaction that
# records it, so what a receiver writes there happens exactly once too.
subscription_paid_from_report = Signal()


def checkout_source(value: object) -> int | None:
    """The report a checkout starts from, when `value` (the `from` parameter) names one;
    None for anything else, which is no error: the checkout goes on unattributed."""
    report_id = parse_id(value)
    if not report_id:
        return None
    answers = checkout_started_from_report.send(sender=Membership, report_id=report_id)
    return report_id if any(answer is True for _, answer in answers) else None


def source_metadata(report_id: int | None) -> dict[str, str]:
    """The Stripe metadata that carries the source to the subscription."""
    return {METADATA_KEY: str(report_id)} if report_id else {}


def subscription_attribution_record(
    *, membership: Membership, subscription: dict[str, Any], now: datetime | None = None
) -> SubscriptionAttribution | None:
    """Record, once, the report a paid subscription came from. Called by every sync of a
    member's subscription; only the first that sees it `active` with a source records it."""
    if subscription.get("status") != "active":
        return None
    report_id = parse_id((subscription.get("metadata") or {}).get(METADATA_KEY))
    if not report_id:
        return None
    paid_at = now or timezone.now()
    try:
        with transaction.atomic():
            attribution = SubscriptionAttribution.objects.create(
                subscription_id=subscription["id"],
                membership=membership,
                source_report_id=report_id,
                paid_at=paid_at,
            )
            subscription_paid_from_report.send(
                sender=SubscriptionAttribution, report_id=report_id, paid_at=paid_at
            )
    except IntegrityError:
        # Recorded by an earlier event (a redelivery, or invoice.paid after the update).
        return None
    return attribution
