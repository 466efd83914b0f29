"""Verified Stripe events, each applied by the handler for its type."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.billing.sync import (
    holder_for_customer,
    membership_email_on_commit,
    stripe_timestamp,
    subscription_sync_by_id,
    user_from_hint,
)
from accounts.models import Membership, StripeEvent


def _invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription = details.get("subscription") or invoice.get("subscription")
    if isinstance(subscription, dict):
        return subscription.get("id")
    return subscription


def _checkout_completed(session: dict[str, Any], created: datetime) -> str:
    if session.get("mode") != "subscription" or not session.get("customer"):
        return "ignored"
    user = user_from_hint(session.get("client_reference_id"))
    organisation_id = (session.get("metadata") or {}).get("organisation_id")
    holder = holder_for_customer(
        session["customer"], user=None if organisation_id else user,
        organisation_id=organisation_id,
    )  # fmt: skip
    holder.save()
    if session.get("subscription"):
        subscription_id = session["subscription"]
        if isinstance(subscription_id, dict):
            subscription_id = subscription_id["id"]
        subscription_sync_by_id(subscription_id, payload=None, event_created=created, user=user)
    return "processed"


def _subscription_changed(subscription: dict[str, Any], created: datetime) -> str:
    subscription_sync_by_id(subscription["id"], payload=subscription, event_created=created)
    return "processed"


def _invoice_paid(invoice: dict[str, Any], created: datetime) -> str:
    subscription_id = _invoice_subscription_id(invoice)
    if not subscription_id:
        return "ignored"
    subscription_sync_by_id(subscription_id, payload=None, event_created=created)
    return "processed"


def _invoice_payment_failed(invoice: dict[str, Any], created: datetime) -> str:
    outcome = _invoice_paid(invoice, created)
    if outcome == "processed":
        subscription_id = _invoice_subscription_id(invoice)
        failed = Membership.objects.filter(stripe_subscription_id=subscription_id).first()
        if failed is not None:
            membership_email_on_commit(failed, "payment-failed")
    return outcome


# Every event type we act on, and its handler; any other type is acknowledged and ignored.
HANDLERS: dict[str, Callable[[dict[str, Any], datetime], str]] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _invoice_payment_failed,
}


def stripe_event_handle(*, event: dict[str, Any]) -> str:
    """Apply one verified Stripe event. Returns "processed", "duplicate" or "ignored".

    The event id is recorded in the same transaction as its effect, so a duplicate delivery
    (even a concurrent one) changes nothing, and a failure leaves no record: Stripe retries.
    """
    event_type = event["type"]
    created = stripe_timestamp(event["created"]) or timezone.now()
    handler = HANDLERS.get(event_type)
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(event_id=event["id"], type=event_type, created=created)
        except IntegrityError:
            return "duplicate"
        if handler is None:
            return "ignored"
        return handler(event["data"]["object"], created)
