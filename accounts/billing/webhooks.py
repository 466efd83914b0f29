"""Verified Stripe events, each applied by the handler for its type."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.billing.client import BillingUnavailable, stripe_client
from accounts.billing.emails import membership_email_claim
from accounts.billing.invoices import invoice_history_forget
from accounts.billing.sync import (
    TERMINAL_STATUSES,
    UnresolvedCustomer,
    holder_for_customer,
    stripe_timestamp,
    subscription_lock,
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
    subscription_id = session.get("subscription")
    if isinstance(subscription_id, dict):
        subscription_id = subscription_id["id"]
    if isinstance(subscription_id, str) and subscription_id and settings.STRIPE_SECRET_KEY:
        # The subscription's lock before the holder's row, in the order every other event
        # of this subscription takes them: the other order deadlocks with a
        # customer.subscription.created delivered at the same moment.
        subscription_lock(subscription_id)
    holder = holder_for_customer(
        session["customer"], user=None if organisation_id else user,
        organisation_id=organisation_id,
    )  # fmt: skip
    holder.save()
    if subscription_id:
        subscription_sync_by_id(subscription_id, payload=None, event_created=created, user=user)
    return "processed"


def _subscription_changed(subscription: dict[str, Any], created: datetime) -> str:
    try:
        subscription_sync_by_id(subscription["id"], payload=subscription, event_created=created)
    except UnresolvedCustomer:
        if subscription.get("status") in TERMINAL_STATUSES:
            # Deleting an account ends its subscription at Stripe, then removes the customer's
            # membership: the ending arrives for nobody. There is nothing left to mirror, and
            # asking Stripe to retry would only repeat it for days.
            return "ignored"
        raise
    return "processed"


def _invoice_paid(invoice: dict[str, Any], created: datetime) -> str:
    invoice_history_forget(customer_id=invoice.get("customer"))
    subscription_id = _invoice_subscription_id(invoice)
    if not subscription_id:
        return "ignored"
    subscription_sync_by_id(subscription_id, payload=None, event_created=created)
    return "processed"


def _invoice_changed(invoice: dict[str, Any], created: datetime) -> str:
    """An invoice of a subscription was finalised (sent), written off, voided or became
    overdue. The subscription is re-read with its latest invoice, which an invoice-paying
    licence's access follows; for a card-paying one nothing changes. Without Stripe keys
    the local checkout sends the subscription itself, so the invoice adds nothing there."""
    if not settings.STRIPE_SECRET_KEY:
        return "ignored"
    return _invoice_paid(invoice, created)


def _membership_of(subscription_id: str | None) -> Membership | None:
    if not subscription_id:
        return None
    return Membership.objects.filter(stripe_subscription_id=subscription_id).first()


def _invoice_payment_failed(invoice: dict[str, Any], created: datetime) -> str:
    outcome = _invoice_paid(invoice, created)
    failed = _membership_of(_invoice_subscription_id(invoice))
    if outcome == "processed" and failed is not None:
        # One email per unpaid invoice: Stripe retries the card over several days and reports
        # each failed attempt, but the email (we retry; update your card) stays the same.
        key = invoice.get("id") or f"{failed.stripe_subscription_id}:{invoice.get('created')}"
        membership_email_claim(failed, name="payment-failed", key=key)
    return outcome


def _has_payment_method(subscription: dict[str, Any]) -> bool:
    """Whether the subscription has something to charge when its trial ends: its own default
    payment method, or else the customer's (where the Billing Portal saves a new card)."""
    if subscription.get("default_payment_method") or subscription.get("default_source"):
        return True
    if not settings.STRIPE_SECRET_KEY:
        return False
    try:
        customer = stripe_client().v1.customers.retrieve(subscription["customer"]).to_dict()
    except stripe.StripeError as error:
        raise BillingUnavailable(str(error)) from error
    invoice_settings = customer.get("invoice_settings") or {}
    return bool(invoice_settings.get("default_payment_method") or customer.get("default_source"))


def _trial_will_end(subscription: dict[str, Any], created: datetime) -> str:
    """Stripe's notice three days before a trial ends: tell the reader what happens then."""
    fresh = subscription_sync_by_id(subscription["id"], payload=subscription, event_created=created)
    membership = _membership_of(subscription["id"])
    if (
        membership is None
        or fresh is None
        or not membership.is_trialing
        or membership.cancel_at_period_end
        or membership.trial_end is None
    ):
        return "processed"  # converted, cancelled or ended meanwhile: nothing to announce
    name = "trial-ending" if _has_payment_method(fresh) else "trial-ending-add-card"
    key = f"{subscription['id']}:{int(membership.trial_end.timestamp())}"
    membership_email_claim(membership, name=name, key=key, kind="trial-ending")
    return "processed"


def _invoice_upcoming(invoice: dict[str, Any], created: datetime) -> str:
    """Stripe's notice before a renewal (7 days ahead, as set in the dashboard): annual
    members are told what will be charged and when; a monthly renewal needs no email."""
    subscription_id = _invoice_subscription_id(invoice)
    if not subscription_id:
        return "ignored"
    subscription_sync_by_id(subscription_id, payload=None, event_created=created)
    membership = _membership_of(subscription_id)
    if (
        membership is None
        or membership.plan != "annual"
        or membership.status != Membership.Status.ACTIVE
        or membership.cancel_at_period_end
        or membership.current_period_end is None
    ):
        return "processed"
    if isinstance(invoice.get("amount_due"), int):
        # The event carries the very invoice that is coming: its amount is the one to quote.
        membership.next_charge_amount = invoice["amount_due"]
        membership.next_charge_currency = invoice.get("currency") or ""
        membership.save(update_fields=["next_charge_amount", "next_charge_currency", "updated_at"])
    key = f"{subscription_id}:{int(membership.current_period_end.timestamp())}"
    membership_email_claim(membership, name="renewal-upcoming", key=key)
    return "processed"


# Every event type we act on, and its handler; any other type is acknowledged and ignored.
HANDLERS: dict[str, Callable[[dict[str, Any], datetime], str]] = {
    "checkout.session.completed": _checkout_completed,
    "customer.subscription.created": _subscription_changed,
    "customer.subscription.updated": _subscription_changed,
    "customer.subscription.deleted": _subscription_changed,
    "customer.subscription.trial_will_end": _trial_will_end,
    "invoice.finalized": _invoice_changed,
    "invoice.marked_uncollectible": _invoice_changed,
    "invoice.voided": _invoice_changed,
    "invoice.overdue": _invoice_changed,
    "invoice.paid": _invoice_paid,
    "invoice.payment_failed": _invoice_payment_failed,
    "invoice.upcoming": _invoice_upcoming,
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
