"""The local test checkout for development without Stripe keys (`make run`).

It builds the events Stripe would send and feeds them through the real webhook handler, so
the whole path from paywall to access can be clicked through locally: a trial when
STRIPE_TRIAL_DAYS is set, plan switches, cancelling and resuming, a failed renewal, and
the notices Stripe sends before a trial ends or an annual renewal. It records the invoices
Stripe would issue, for the account page's billing history. No payment is taken, and it
refuses to run unless `local_checkout_enabled()` (DEBUG on, no Stripe key).
"""

import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.billing.attribution import source_metadata
from accounts.billing.checkout import trial_days_for
from accounts.billing.client import local_checkout_enabled, plan_price_id
from accounts.billing.webhooks import stripe_event_handle
from accounts.models import LocalInvoice, Membership, Organisation, User

PERIODS = {"monthly": timedelta(days=30), "annual": timedelta(days=365)}
# What the local plans cost: the default prices shown on /subscribe/.
AMOUNTS = {"monthly": settings.PRICE_MONTHLY_CENTS, "annual": settings.PRICE_ANNUAL_CENTS}
LOCAL_ACTIONS = (
    "cancel_at_period_end",
    "resume",
    "cancel_now",
    "payment_failed",
    "switch_plan",
    "trial_will_end",
    "renewal_upcoming",
)


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
    *,
    subscription_id: str,
    customer: str,
    user: User,
    plan: str,
    status: str,
    period_end: int,
    trial_end: int | None = None,
    card: bool = True,
    source_report_id: int | None = None,
) -> dict[str, Any]:
    return {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer,
        "status": status,
        "cancel_at_period_end": False,
        "cancel_at": None,
        "canceled_at": None,
        "trial_end": trial_end,
        "default_payment_method": "pm_local_card" if card else None,
        "metadata": {"user_id": str(user.pk), **source_metadata(source_report_id)},
        "items": {
            "object": "list",
            "data": [
                {
                    "id": f"si_local_{secrets.token_hex(6)}",
                    "object": "subscription_item",
                    "price": {
                        "id": plan_price_id(plan) or f"price_local_{plan}",
                        "unit_amount": AMOUNTS.get(plan, 0),
                        "currency": "usd",
                    },
                    "quantity": 1,
                    "current_period_end": period_end,
                }
            ],
        },
    }


def _invoice_record(membership: Membership, *, amount: int, status: str = "paid") -> LocalInvoice:
    count = LocalInvoice.objects.filter(membership=membership).count()
    return LocalInvoice.objects.create(
        membership=membership,
        number=f"LOCAL-{membership.pk:04d}-{count + 1:04d}",
        amount_paid=amount,
        status=status,
    )


def _invoice(membership: Membership, *, invoice_id: str | None, amount: int) -> dict[str, Any]:
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": membership.stripe_customer_id,
        "amount_due": amount,
        "currency": "usd",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": membership.stripe_subscription_id},
        },
    }


def local_checkout_complete(
    *, user: User, plan: str, source_report_id: int | None = None
) -> Membership:
    """Subscribe `user` as a completed Stripe Checkout would, through the webhook handler."""
    _require_enabled()
    membership, _ = Membership.objects.get_or_create(user=user)
    trial_days = trial_days_for(membership)
    customer = f"cus_local_{user.pk}"
    subscription_id = f"sub_local_{secrets.token_hex(8)}"
    now = timezone.now()
    trial_end = int((now + timedelta(days=trial_days)).timestamp()) if trial_days else None
    period_end = trial_end or int((now + PERIODS[plan]).timestamp())
    session: dict[str, Any] = {
        "id": f"cs_local_{secrets.token_hex(8)}",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": customer,
        "subscription": subscription_id,
        "client_reference_id": str(user.pk),
    }
    subscription = _subscription(
        subscription_id=subscription_id,
        customer=customer,
        user=user,
        plan=plan,
        status="trialing" if trial_days else "active",
        period_end=period_end,
        trial_end=trial_end,
        # Checkout asks for no card when nothing is due today and none is required.
        card=not trial_days or settings.STRIPE_TRIAL_REQUIRES_CARD,
        source_report_id=source_report_id,
    )
    if source_report_id:
        session["metadata"] = source_metadata(source_report_id)
    with transaction.atomic():
        stripe_event_handle(event=_event("checkout.session.completed", session))
        stripe_event_handle(event=_event("customer.subscription.created", subscription))
        membership = Membership.objects.get(user=user)
        # A trial starts with an invoice for nothing, as at Stripe.
        _invoice_record(membership, amount=0 if trial_days else AMOUNTS[plan])
    return membership


def _current(membership: Membership) -> dict[str, Any]:
    """The local subscription as the membership mirrors it."""
    period_end = membership.current_period_end or timezone.now()
    subscription = _subscription(
        subscription_id=membership.stripe_subscription_id,
        customer=membership.stripe_customer_id,
        user=membership.user,
        plan=membership.plan or "monthly",
        status=membership.status,
        period_end=int(period_end.timestamp()),
        trial_end=int(membership.trial_end.timestamp()) if membership.trial_end else None,
        card=not membership.is_trialing or settings.STRIPE_TRIAL_REQUIRES_CARD,
    )
    if membership.cancel_at_period_end:
        subscription.update(cancel_at_period_end=True, cancel_at=int(period_end.timestamp()))
    return subscription


def local_subscription_change(*, user: User, action: str) -> Membership:
    """What the Billing Portal, our own cancel and resume buttons, a failed renewal or one of
    Stripe's notices would do, for the local checkout."""
    _require_enabled()
    if action not in LOCAL_ACTIONS:
        raise ValueError(f"Unknown action {action!r}.")
    membership = Membership.objects.select_related("user").get(user=user)
    subscription = _current(membership)
    now = int(time.time())
    event_type = "customer.subscription.updated"
    with transaction.atomic():
        if action == "cancel_at_period_end":
            period_end = subscription["items"]["data"][0]["current_period_end"]
            subscription.update(cancel_at_period_end=True, cancel_at=period_end, canceled_at=now)
        elif action == "resume":
            subscription.update(cancel_at_period_end=False, cancel_at=None, canceled_at=None)
        elif action == "payment_failed":
            subscription["status"] = "past_due"
            invoice = _invoice_record(
                membership, amount=AMOUNTS.get(membership.plan, 0), status="open"
            )
            stripe_event_handle(event=_event("customer.subscription.updated", subscription))
            event_type = "invoice.payment_failed"
            subscription = _invoice(
                membership, invoice_id=f"in_local_{invoice.pk}", amount=invoice.amount_paid
            )
        elif action == "switch_plan":
            _switch_plan(membership, subscription)
        elif action == "trial_will_end":
            event_type = "customer.subscription.trial_will_end"
        elif action == "renewal_upcoming":
            event_type = "invoice.upcoming"
            subscription = _invoice(
                membership, invoice_id=None, amount=AMOUNTS.get(membership.plan, 0)
            )
        else:
            subscription.update(status="canceled", canceled_at=now, ended_at=now)
            event_type = "customer.subscription.deleted"
        stripe_event_handle(event=_event(event_type, subscription))
    return Membership.objects.get(user=user)


def _switch_plan(membership: Membership, subscription: dict[str, Any]) -> None:
    """Monthly to annual or back, as the Billing Portal does it: a new billing interval starts
    a new period today, invoiced at once; during a trial only the price changes."""
    plan = "annual" if membership.plan == "monthly" else "monthly"
    item = subscription["items"]["data"][0]
    item["price"] = {
        "id": plan_price_id(plan) or f"price_local_{plan}",
        "unit_amount": AMOUNTS[plan],
        "currency": "usd",
    }
    if not membership.is_trialing:
        item["current_period_end"] = int((timezone.now() + PERIODS[plan]).timestamp())
        _invoice_record(membership, amount=AMOUNTS[plan])


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


def _new_team_subscription(organisation: Organisation, buyer: User, seats: int) -> dict:
    """A year's licence of `seats` seats, starting now."""
    return _team_subscription(
        organisation=organisation,
        buyer=buyer,
        subscription_id=f"sub_local_{secrets.token_hex(8)}",
        seats=seats,
        period_end=int((timezone.now() + PERIODS["annual"]).timestamp()),
    )


def local_team_checkout_complete(*, organisation: Organisation, buyer: User, seats: int) -> None:
    """A paid team licence as Stripe Checkout would create it, through the webhook handler."""
    _require_enabled()
    subscription = _new_team_subscription(organisation, buyer, seats)
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


LOCAL_INVOICE_ACTIONS = ("invoice_paid", "invoice_uncollectible")


def _local_invoice(
    organisation: Organisation, *, seats: int, status: str, due_date: int,
    purchase_order: str = "",
) -> dict[str, Any]:  # fmt: skip
    """The licence's invoice as Stripe reports it once finalised (sent to the buyer)."""
    amount = seats * settings.PRICE_SEAT_CENTS
    return {
        "id": organisation.invoice_id or f"in_local_{secrets.token_hex(8)}",
        "object": "invoice",
        "number": organisation.invoice_number or f"LOCAL-ORG-{organisation.pk:04d}-0001",
        "status": status,
        "collection_method": "send_invoice",
        "due_date": due_date,
        "currency": "usd",
        "amount_due": amount,
        "amount_remaining": 0 if status == "paid" else amount,
        "hosted_invoice_url": None,  # the local checkout has no invoice page to link to
        "custom_fields": (
            [{"name": "Purchase order", "value": purchase_order}] if purchase_order else None
        ),
    }


def local_team_invoice_subscription_create(
    *, organisation: Organisation, buyer: User, seats: int, net_terms: int, purchase_order: str
) -> None:
    """A licence paid by invoice as Stripe would create it: the subscription and its first
    invoice, finalised at once and due in `net_terms` days, through the webhook handler."""
    _require_enabled()
    subscription = _new_team_subscription(organisation, buyer, seats)
    due = int((timezone.now() + timedelta(days=net_terms)).timestamp())
    subscription.update(
        collection_method="send_invoice",
        days_until_due=net_terms,
        latest_invoice=_local_invoice(
            organisation, seats=seats, status="open", due_date=due, purchase_order=purchase_order
        ),
    )
    stripe_event_handle(event=_event("customer.subscription.created", subscription))


def local_team_invoice_change(*, organisation: Organisation, admin: User, action: str) -> None:
    """What recording the bank transfer (paid out of band) or writing the invoice off
    (uncollectible) in Stripe's dashboard would send, for the local checkout."""
    _require_enabled()
    if action not in LOCAL_INVOICE_ACTIONS or not organisation.invoice_id:
        raise ValueError(f"No local invoice action {action!r} here.")
    period_end = organisation.current_period_end or timezone.now() + PERIODS["annual"]
    subscription = _team_subscription(
        organisation=organisation,
        buyer=admin,
        subscription_id=organisation.stripe_subscription_id,
        seats=organisation.seats,
        period_end=int(period_end.timestamp()),
    )
    paid = action == "invoice_paid"
    due = organisation.invoice_due_at or timezone.now()
    subscription.update(
        status="active" if paid else organisation.status,
        collection_method="send_invoice",
        latest_invoice=_local_invoice(
            organisation, seats=organisation.seats, status="paid" if paid else "uncollectible",
            due_date=int(due.timestamp()),
        ),
    )  # fmt: skip
    stripe_event_handle(event=_event("customer.subscription.updated", subscription))
