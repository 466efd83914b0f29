"""The local test checkout for development without Stripe keys (`make run`).

It builds the events Stripe would send and feeds them through the real webhook handler, so
the whole path from paywall to access can be clicked through locally. No payment is taken,
and it refuses to run unless `local_checkout_enabled()` (DEBUG on, no Stripe key).
"""

import secrets
import time
from datetime import timedelta
from typing import Any

from django.utils import timezone

from accounts.billing.client import local_checkout_enabled, plan_price_id
from accounts.billing.webhooks import stripe_event_handle
from accounts.models import Membership, Organisation, User

PERIODS = {"monthly": timedelta(days=30), "annual": timedelta(days=365)}
LOCAL_ACTIONS = ("cancel_at_period_end", "resume", "cancel_now", "payment_failed")


class LocalCheckoutDisabled(Exception):
    pass


def _require_enabled() -> None:
    if not local_checkout_enabled():
        raise LocalCheckoutDisabled("The local checkout only runs with DEBUG on and no Stripe key.")


def _event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_local_{secrets.token_hex(12)}",
        "object": "event",
        "type": event_type,
        "created": int(time.time()),
        "data": {"object": obj},
    }


def _subscription(
    *, subscription_id: str, customer: str, user: User, plan: str, status: str, period_end: int
) -> dict[str, Any]:
    return {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "metadata": {"user_id": str(user.pk)},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_local_{secrets.token_hex(6)}",
                    "object": "subscription_item",
                    "price": {"id": plan_price_id(plan) or f"price_local_{plan}"},
                    "current_period_end": period_end,
                }
            ],
        },
    }


def local_checkout_complete(*, user: User, plan: str) -> Membership:
    """Subscribe `user` as a completed Stripe Checkout would, through the webhook handler."""
    _require_enabled()
    customer = f"cus_local_{user.pk}"
    subscription_id = f"sub_local_{secrets.token_hex(8)}"
    period_end = int((timezone.now() + PERIODS[plan]).timestamp())
    session = {
        "id": f"cs_local_{secrets.token_hex(8)}",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": customer,
        "subscription": subscription_id,
        "client_reference_id": str(user.pk),
    }
    stripe_event_handle(event=_event("checkout.session.completed", session))
    subscription = _subscription(
        subscription_id=subscription_id,
        customer=customer,
        user=user,
        plan=plan,
        status="active",
        period_end=period_end,
    )
    stripe_event_handle(event=_event("customer.subscription.created", subscription))
    return Membership.objects.get(user=user)


def local_subscription_change(*, user: User, action: str) -> Membership:
    """What the Billing Portal (or a failed renewal) would do, for the local checkout."""
    _require_enabled()
    if action not in LOCAL_ACTIONS:
        raise ValueError(f"Unknown action {action!r}.")
    membership = Membership.objects.get(user=user)
    period_end = membership.current_period_end or timezone.now()
    subscription = _subscription(
        subscription_id=membership.stripe_subscription_id,
        customer=membership.stripe_customer_id,
        user=user,
        plan=membership.plan or "monthly",
        status=membership.status,
        period_end=int(period_end.timestamp()),
    )
    subscription["cancel_at_period_end"] = membership.cancel_at_period_end
    event_type = "customer.subscription.updated"
    if action == "cancel_at_period_end":
        subscription["cancel_at_period_end"] = True
    elif action == "resume":
        subscription["cancel_at_period_end"] = False
    elif action == "payment_failed":
        subscription["status"] = "past_due"
    else:
        subscription["status"] = "canceled"
        event_type = "customer.subscription.deleted"
    stripe_event_handle(event=_event(event_type, subscription))
    return Membership.objects.get(user=user)


def _team_subscription(
    *, organisation: Organisation, buyer: User, subscription_id: str, seats: int, period_end: int
) -> dict[str, Any]:
    subscription = _subscription(
        subscription_id=subscription_id,
        customer=organisation.stripe_customer_id or f"cus_local_org_{organisation.pk}",
        user=buyer,
        plan="annual",
        status="active",
        period_end=period_end,
    )
    subscription["metadata"] = {"organisation_id": str(organisation.pk)}
    subscription["items"]["data"][0]["quantity"] = seats
    subscription["items"]["data"][0]["price"] = {"id": "price_local_seat"}
    return subscription


def local_team_checkout_complete(*, organisation: Organisation, buyer: User, seats: int) -> None:
    """A paid team licence as Stripe Checkout would create it, through the webhook handler."""
    _require_enabled()
    subscription = _team_subscription(
        organisation=organisation,
        buyer=buyer,
        subscription_id=f"sub_local_{secrets.token_hex(8)}",
        seats=seats,
        period_end=int((timezone.now() + PERIODS["annual"]).timestamp()),
    )
    stripe_event_handle(event=_event("customer.subscription.created", subscription))


def local_team_seats_change(*, organisation: Organisation, admin: User, seats: int) -> None:
    """What changing the subscription's quantity at Stripe does, for the local checkout:
    the same `customer.subscription.updated` event, through the webhook handler."""
    _require_enabled()
    period_end = organisation.current_period_end or timezone.now() + PERIODS["annual"]
    subscription = _team_subscription(
        organisation=organisation,
        buyer=admin,
        subscription_id=organisation.stripe_subscription_id,
        seats=seats,
        period_end=int(period_end.timestamp()),
    )
    subscription["status"] = organisation.status
    subscription["cancel_at_period_end"] = organisation.cancel_at_period_end
    stripe_event_handle(event=_event("customer.subscription.updated", subscription))
