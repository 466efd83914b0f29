"""The subscription ledger: each change the sync makes to what a subscription counts for
(status, plan, seats, monthly amount) becomes a `SubscriptionChange`, so the publisher's
figures (members over time, MRR and its movements) have a history to be computed from.

One writer, `subscription_change_record`, called by the sync (`accounts.billing.sync`) and
the reconciliation's "no subscription left" path: every change of the mirrored Stripe state
passes through one of those two.
"""

from datetime import datetime
from typing import Any

from django.conf import settings

from accounts.models import Membership, Organisation, StripeSubscription, SubscriptionChange
from accounts.plans import MONTHLY

# The states that pay: a trial has not paid yet, and a canceled or unpaid subscription no
# longer does. `past_due` still counts while Stripe retries the card, as Stripe's own MRR does.
PAYING_STATUSES = frozenset({Membership.Status.ACTIVE, Membership.Status.PAST_DUE})
DEFAULT_CURRENCY = "usd"  # the display settings spell prices in US dollars

_INTERVAL_MONTHS = {"month": 1, "year": 12, "week": 12 / 52, "day": 12 / 365}


def _months_per_charge(price: dict[str, Any], *, plan: str) -> float:
    recurring = price.get("recurring") or {}
    interval = recurring.get("interval")
    if interval in _INTERVAL_MONTHS:
        return _INTERVAL_MONTHS[interval] * int(recurring.get("interval_count") or 1)
    # The local checkout's prices carry no interval: the plan says it (a seat is yearly).
    return 1 if plan == MONTHLY else 12


def _settings_monthly_amount(holder: StripeSubscription) -> int:
    if isinstance(holder, Organisation):
        return round(holder.seats * settings.PRICE_SEAT_CENTS / 12)
    if getattr(holder, "plan", "") == MONTHLY:
        return settings.PRICE_MONTHLY_CENTS
    return round(settings.PRICE_ANNUAL_CENTS / 12)


def monthly_amount(
    holder: StripeSubscription, subscription: dict[str, Any] | None
) -> tuple[int, str]:
    """What the subscription charges a month, in the smallest unit, and its currency.

    From the subscription's items (unit amount x quantity over the billing interval) when
    Stripe gave them, otherwise from the configured prices. Rounded to a whole unit: an
    annual price of $290.00 counts $24.17 a month."""
    plan = getattr(holder, "plan", "")
    items = ((subscription or {}).get("items") or {}).get("data") or []
    amounts: list[float] = []
    currency = ""
    for item in items:
        price = item.get("price") or {}
        if price.get("unit_amount") is None:
            continue
        quantity = int(item.get("quantity") or 1)
        amounts.append(int(price["unit_amount"]) * quantity / _months_per_charge(price, plan=plan))
        currency = currency or (price.get("currency") or "")
    if amounts:
        return round(sum(amounts)), (currency or DEFAULT_CURRENCY).lower()
    return _settings_monthly_amount(holder), DEFAULT_CURRENCY


def subscription_change_record(
    *, holder: StripeSubscription, at: datetime, subscription: dict[str, Any] | None = None
) -> SubscriptionChange | None:
    """Record the holder's state as of `at`, if it differs from the one in force.

    Call inside the transaction that saved the holder, under its row lock (the sync holds
    it), so two changes of one subscription never both close the same open row. Returns
    the new row, or None when nothing the figures count changed (a period renewed, a
    cancellation scheduled: those live on the holder)."""
    kind = (
        SubscriptionChange.Kind.ORGANISATION
        if isinstance(holder, Organisation)
        else SubscriptionChange.Kind.MEMBERSHIP
    )
    amount, currency = monthly_amount(holder, subscription)
    mrr = amount if holder.status in PAYING_STATUSES else 0
    seats = holder.seats if isinstance(holder, Organisation) else 0
    plan = getattr(holder, "plan", "")
    current = SubscriptionChange.objects.filter(
        kind=kind, holder_id=holder.pk, until__isnull=True
    ).first()
    if current is not None:
        if (current.status, current.plan, current.seats, current.mrr, current.currency) == (
            holder.status,
            plan,
            seats,
            mrr,
            currency,
        ):
            return None
        # The ledger never runs backwards, even when Stripe's clock and ours disagree.
        at = max(at, current.at)
        current.until = at
        current.save(update_fields=["until"])
    return SubscriptionChange.objects.create(
        kind=kind,
        holder_id=holder.pk,
        at=at,
        status=holder.status,
        plan=plan,
        seats=seats,
        mrr=mrr,
        previous_mrr=current.mrr if current is not None else 0,
        currency=currency,
    )
