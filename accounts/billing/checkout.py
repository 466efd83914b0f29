"""Stripe customers, Checkout sessions, Billing Portal sessions and cancellation."""

import logging
from typing import Any

import stripe
from django.conf import settings
from django.db import transaction
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsSubscriptionData

from accounts.billing.attribution import source_metadata
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


def trial_days_for(membership: Membership) -> int:
    """The free trial a checkout offers: STRIPE_TRIAL_DAYS for a reader's first subscription,
    none for a reader who subscribed before (a trial per cancellation would be a free month
    for the asking)."""
    if membership.stripe_subscription_id:
        return 0
    return settings.STRIPE_TRIAL_DAYS


def checkout_params(
    *,
    membership: Membership,
    price: str,
    success_url: str,
    cancel_url: str,
    source_report_id: int | None = None,
) -> SessionCreateParams:
    """What a subscription Checkout asks Stripe for: the price, promotion codes, the trial,
    and tax, each as Stripe's API reference describes it (the SDK's types check the names).
    The report the checkout started from rides in both metadata: the session's for whoever
    reads the Checkout, the subscription's for the sync that records the attribution."""
    user_id = str(membership.user_id)
    source = source_metadata(source_report_id)
    subscription_data: SessionCreateParamsSubscriptionData = {
        "metadata": {"user_id": user_id, **source}
    }
    params: SessionCreateParams = {
        "mode": "subscription",
        "customer": membership.stripe_customer_id,
        "client_reference_id": user_id,
        "line_items": [{"price": price, "quantity": 1}],
        "allow_promotion_codes": True,
        "subscription_data": subscription_data,
        **({"metadata": source} if source else {}),
        "success_url": success_url,
        "cancel_url": cancel_url,
    }
    if trial_days := trial_days_for(membership):
        subscription_data["trial_period_days"] = trial_days
        if not settings.STRIPE_TRIAL_REQUIRES_CARD:
            # Nothing is due today, so Checkout asks for no card; if none is added by the
            # trial's end, Stripe cancels the subscription (customer.subscription.deleted).
            params["payment_method_collection"] = "if_required"
            subscription_data["trial_settings"] = {
                "end_behavior": {"missing_payment_method": "cancel"}
            }
    if settings.STRIPE_AUTOMATIC_TAX:
        params["automatic_tax"] = {"enabled": True}
        params["tax_id_collection"] = {"enabled": True}
        # Our customers exist before Checkout: Stripe then taxes by the customer's address
        # and refuses tax ID collection unless Checkout may save what the reader enters
        # (address and business name) onto the customer.
        params["customer_update"] = {"address": "auto", "name": "auto"}
    return params


def checkout_session_create(
    *,
    user: User,
    plan: str,
    success_url: str,
    cancel_url: str,
    source_report_id: int | None = None,
) -> str:
    """Start a Stripe Checkout for a subscription; returns the address to send the reader to."""
    price = plan_price_id(plan)
    membership = membership_customer_ensure(user=user)
    params = checkout_params(
        membership=membership,
        price=price,
        success_url=success_url,
        cancel_url=cancel_url,
        source_report_id=source_report_id,
    )
    try:
        session = stripe_client().v1.checkout.sessions.create(params=params)
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
