"""Stripe customers, Checkout sessions, Billing Portal sessions and cancellation."""

import logging
from typing import Any

import stripe
from django.db import transaction

from accounts.billing.client import (
    BillingUnavailable,
    local_checkout_enabled,
    plan_price_id,
    stripe_client,
)
from accounts.billing.sync import TERMINAL_STATUSES
from accounts.models import Membership, StripeSubscription, User

logger = logging.getLogger(__name__)


def membership_customer_ensure(*, user: User) -> Membership:
    """The user's membership with a Stripe customer, created once and reused ever after."""
    Membership.objects.get_or_create(user=user)
    with transaction.atomic():
        # The row lock makes two simultaneous checkouts share one customer.
        membership = Membership.objects.select_for_update().get(user=user)
        if not membership.stripe_customer_id:
            try:
                customer = stripe_client().v1.customers.create(
                    params={
                        "email": user.email,
                        "name": user.get_full_name(),
                        "metadata": {"user_id": str(user.pk)},
                    },
                    options={"idempotency_key": f"customer-for-user-{user.pk}"},
                )
            except stripe.StripeError as error:
                raise BillingUnavailable(str(error)) from error
            membership.stripe_customer_id = customer.id
            membership.save(update_fields=["stripe_customer_id", "updated_at"])
    return membership


def checkout_session_create(*, user: User, plan: str, success_url: str, cancel_url: str) -> str:
    """Start a Stripe Checkout for a subscription; returns the address to send the reader to."""
    price = plan_price_id(plan)
    membership = membership_customer_ensure(user=user)
    try:
        session = stripe_client().v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": membership.stripe_customer_id,
                "client_reference_id": str(user.pk),
                "line_items": [{"price": price, "quantity": 1}],
                "success_url": success_url,
                "cancel_url": cancel_url,
                "allow_promotion_codes": True,
                "subscription_data": {"metadata": {"user_id": str(user.pk)}},
            }
        )
    except stripe.StripeError as error:
        raise BillingUnavailable(str(error)) from error
    return hosted_url(session)


def hosted_url(session: Any) -> str:
    """The hosted page (Checkout or Billing Portal) of a session we just created: Stripe
    always gives one; without it there is nowhere to send the reader."""
    if not session.url:
        raise BillingUnavailable(f"Stripe session {session.id} has no URL")
    return str(session.url)


def portal_session_create(*, holder: StripeSubscription | None, return_url: str) -> str:
    """A Billing Portal session for a membership's or an organisation's Stripe customer."""
    if holder is None or not holder.stripe_customer_id:
        raise BillingUnavailable("There is no billing account yet.")
    try:
        session = stripe_client().v1.billing_portal.sessions.create(
            params={"customer": holder.stripe_customer_id, "return_url": return_url}
        )
    except stripe.StripeError as error:
        raise BillingUnavailable(str(error)) from error
    return hosted_url(session)


def subscription_cancel_now(*, membership: Membership) -> None:
    """End a subscription at once (used when a reader deletes their account)."""
    if not membership.stripe_subscription_id or membership.status in TERMINAL_STATUSES:
        return
    if local_checkout_enabled():
        return
    try:
        stripe_client().v1.subscriptions.cancel(membership.stripe_subscription_id)
    except stripe.InvalidRequestError:
        # Already canceled or unknown at Stripe: nothing left to stop.
        logger.info("Subscription %s was not cancellable", membership.stripe_subscription_id)
    except stripe.StripeError as error:
        raise BillingUnavailable(str(error)) from error
