"""Nightly reconciliation: every holder of a Stripe customer compared with Stripe, drift fixed."""

from dataclasses import dataclass
from typing import Any

import stripe
from django.conf import settings
from django.utils import timezone

from accounts.billing.client import BillingUnavailable, stripe_client
from accounts.billing.ledger import subscription_change_record
from accounts.billing.sync import (
    logger,
    open_invoices_of,
    subscription_sync_from_stripe,
)
from accounts.membership import GRANTING_STATUSES, membership_grants_access
from accounts.models import Membership, Organisation


@dataclass
class ReconcileResult:
    checked: int = 0
    changed: int = 0
    failed: int = 0


def _best_subscription(subscriptions: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not subscriptions:
        return None
    return max(subscriptions, key=lambda s: (s["status"] in GRANTING_STATUSES, s.get("created", 0)))


def memberships_reconcile() -> ReconcileResult:
    """Compare every membership and organisation that has a Stripe customer with Stripe, and
    fix drift."""
    result = ReconcileResult()
    if not settings.STRIPE_SECRET_KEY:
        return result
    client = stripe_client()
    holders = [
        *Membership.objects.exclude(stripe_customer_id="").order_by("pk"),
        *Organisation.objects.exclude(stripe_customer_id="").order_by("pk"),
    ]
    for holder in holders:
        result.checked += 1
        before = (holder.status, holder.current_period_end, holder.cancel_at_period_end)
        try:
            listing = client.v1.subscriptions.list(
                params={
                    "customer": holder.stripe_customer_id,
                    "status": "all",
                    "limit": 20,
                    # An invoice-paying licence's access follows its latest invoice.
                    "expand": ["data.latest_invoice"],
                }
            )
        except stripe.StripeError:
            logger.exception("Could not list subscriptions of %s", holder.stripe_customer_id)
            result.failed += 1
            continue
        best = _best_subscription([s.to_dict() for s in listing.data])
        if best is None:
            if membership_grants_access(holder):
                holder.status = Membership.Status.CANCELED
                now = timezone.now()
                holder.stripe_state_at = now
                holder.save()
                subscription_change_record(holder=holder, at=now)
        else:
            try:
                open_invoices = open_invoices_of(best)
            except BillingUnavailable:
                logger.exception("Could not list the open invoices of %s", best["id"])
                result.failed += 1
                continue
            holder = subscription_sync_from_stripe(
                subscription=best, state_at=timezone.now(), authoritative=True,
                open_invoices=open_invoices,
            )  # fmt: skip
        after = (holder.status, holder.current_period_end, holder.cancel_at_period_end)
        if after != before:
            result.changed += 1
            logger.info(
                "Reconciled %s %s: %s -> %s", type(holder).__name__, holder.pk, before, after
            )
    return result
