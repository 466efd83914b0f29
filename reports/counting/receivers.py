"""What billing tells counting: checkouts started from a report's paywall, and the paid
subscriptions that came from them (accounts/billing/attribution.py sends both)."""

from datetime import datetime

from django.dispatch import receiver
from django.utils import timezone

from accounts.billing.attribution import (
    checkout_started_from_report,
    subscription_paid_from_report,
)
from reports.counting.folding import day_counts_add
from reports.counting.store import counts_add
from reports.models import Report


@receiver(checkout_started_from_report, dispatch_uid="reports.counting.checkout_started")
def checkout_started(*, report_id: int, **kwargs: object) -> bool:
    """A published report: count the checkout (into Redis, like the views) and say so, so
    the checkout carries it. Any other id attributes nothing."""
    if not Report.objects.published().filter(pk=report_id).exists():
        return False
    counts_add(report_id=report_id, counters=("checkouts_started",))
    return True


@receiver(subscription_paid_from_report, dispatch_uid="reports.counting.subscription_paid")
def subscription_paid(*, report_id: int, paid_at: datetime, **kwargs: object) -> None:
    # Straight into the day's row, in the transaction that records the attribution: the
    # two happen together, once, or not at all (a webhook Stripe will deliver again).
    day_counts_add(day=timezone.localdate(paid_at), counts={report_id: {"subscriptions_paid": 1}})
