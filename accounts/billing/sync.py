"""Stripe state into memberships: a subscription as Stripe reports it becomes the
membership's (or an organisation's) status, period and seats.

Access is never granted by a redirect: only the Stripe state that reaches
`subscription_sync_from_stripe` (from a verified webhook, the nightly reconciliation, or the
local test checkout) changes a membership.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from accounts.billing.attribution import subscription_attribution_record
from accounts.billing.client import (
    BillingUnavailable,
    plan_for_price,
    stripe_client,
)
from accounts.billing.emails import membership_email_claim
from accounts.billing.ledger import subscription_change_record
from accounts.membership import GRANTING_STATUSES, membership_grants_access
from accounts.models import Membership, Organisation, StripeSubscription, User
from accounts.newsletter.services import newsletter_enrol_member
from publisher.ids import parse_id

logger = logging.getLogger(__name__)


# A subscription in one of these states is over for good: Stripe never revives it.
TERMINAL_STATUSES = frozenset({Membership.Status.CANCELED, Membership.Status.INCOMPLETE_EXPIRED})


class UnresolvedCustomer(Exception):
    """A webhook names a customer we cannot map to a user yet; Stripe should retry it."""


def stripe_timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _subscription_period_end(subscription: dict[str, Any]) -> datetime | None:
    # Since the 2025 API versions the billing period lives on each subscription item.
    ends: list[int] = [
        item["current_period_end"]
        for item in _items(subscription)
        if item.get("current_period_end")
    ]
    period_end = stripe_timestamp(max(ends)) if ends else None
    cancel_at = stripe_timestamp(subscription.get("cancel_at"))
    if cancel_at and (period_end is None or cancel_at < period_end):
        return cancel_at
    return period_end


def _subscription_price(subscription: dict[str, Any]) -> str | None:
    items = _items(subscription)
    return ((items[0].get("price") or {}).get("id")) if items else None


def _items(subscription: dict[str, Any]) -> list[dict[str, Any]]:
    return (subscription.get("items") or {}).get("data", [])


@dataclass(frozen=True)
class NextCharge:
    amount: int | None  # None: nothing more will be charged
    currency: str = ""


NO_CHARGE = NextCharge(amount=None)


def _next_charge(subscription: dict[str, Any]) -> NextCharge | None:
    """What the subscription's next invoice will charge; None when Stripe could not say.

    Stripe's preview of the next invoice is the one source that is right with a promotion
    code, tax, or the proration of a plan switch; the items' prices alone are not. It costs
    one API call, made here, when Stripe tells us the subscription changed (a few times per
    period, within the webhook that already re-reads it), never when the account page is
    shown; the nightly reconciliation refreshes it too. Without Stripe (the local checkout)
    the items' prices are the whole story."""
    if subscription.get("status") not in GRANTING_STATUSES or (
        subscription.get("cancel_at_period_end") or subscription.get("cancel_at")
    ):
        return NO_CHARGE  # it ends at the period's end: no invoice follows
    if not settings.STRIPE_SECRET_KEY:
        items = _items(subscription)
        amounts = [
            int((item.get("price") or {}).get("unit_amount") or 0) * int(item.get("quantity") or 1)
            for item in items
        ]
        currency = ((items[0].get("price") or {}).get("currency") or "") if items else ""
        return NextCharge(amount=sum(amounts), currency=currency) if items else NO_CHARGE
    try:
        preview = stripe_client().v1.invoices.create_preview(
            params={"subscription": subscription["id"]}
        )
    except stripe.InvalidRequestError:
        return NO_CHARGE  # Stripe has no upcoming invoice for it
    except stripe.StripeError:
        # Shown on the account page only: never worth holding up the access a webhook grants.
        logger.warning("No invoice preview for %s", subscription["id"], exc_info=True)
        return None
    return NextCharge(amount=preview.amount_due, currency=preview.currency or "")


def _subscription_quantity(subscription: dict[str, Any]) -> int:
    return sum(int(item.get("quantity") or 0) for item in _items(subscription))


def user_from_hint(*values: object) -> User | None:
    for value in values:
        if (user_id := parse_id(value)) is not None:
            user = User.objects.filter(pk=user_id).first()
            if user is not None:
                return user
    return None


def _membership_for_customer(customer_id: str, *, user: User | None) -> Membership:
    """The locked membership that owns `customer_id`, linking it to `user` on first sight."""
    membership = (
        Membership.objects.select_for_update().filter(stripe_customer_id=customer_id).first()
    )
    if membership is not None:
        return membership
    if user is None:
        raise UnresolvedCustomer(f"No user is linked to Stripe customer {customer_id}.")
    Membership.objects.get_or_create(user=user)
    membership = Membership.objects.select_for_update().get(user=user)
    if membership.stripe_customer_id and membership.stripe_customer_id != customer_id:
        logger.warning(
            "User %s changes Stripe customer from %s to %s",
            user.pk,
            membership.stripe_customer_id,
            customer_id,
        )
    membership.stripe_customer_id = customer_id
    return membership


def holder_for_customer(
    customer_id: str, *, user: User | None, organisation_id: object
) -> StripeSubscription:
    """The locked organisation or membership that a Stripe customer pays for."""
    organisations = Organisation.objects.select_for_update()
    organisation = organisations.filter(stripe_customer_id=customer_id).first()
    if organisation is None and (pk := parse_id(organisation_id)) is not None:
        organisation = organisations.filter(pk=pk).first()
        if organisation is not None:
            organisation.stripe_customer_id = customer_id
    if organisation is not None:
        return organisation
    return _membership_for_customer(customer_id, user=user)


def _should_apply(
    holder: StripeSubscription, subscription: dict[str, Any], *, state_at: datetime
) -> bool:
    if holder.stripe_state_at and state_at < holder.stripe_state_at:
        return False  # an older picture of Stripe than the one we hold
    same = holder.stripe_subscription_id in ("", subscription["id"])
    if same:
        # A canceled subscription never comes back; a late "active" is out of order.
        return not (
            holder.stripe_subscription_id
            and holder.status in TERMINAL_STATUSES
            and subscription["status"] not in TERMINAL_STATUSES
        )
    # Another subscription of the same customer takes over only when it is the better one:
    # the end of an old subscription must not revoke a newer, paid one.
    return subscription["status"] in GRANTING_STATUSES or not membership_grants_access(holder)


def _invoice_apply(organisation: Organisation, invoice: dict[str, Any]) -> None:
    """Mirror the licence's latest invoice, once finalised: a draft may still change (Stripe
    finalises a renewal's about an hour after drafting it) and is nobody's bill yet, so the
    invoice before it keeps deciding until then."""
    if not invoice.get("id") or invoice.get("status") in (None, "draft"):
        return
    organisation.invoice_id = invoice["id"]
    organisation.invoice_number = invoice.get("number") or ""
    organisation.invoice_status = invoice["status"]
    organisation.invoice_due_at = stripe_timestamp(invoice.get("due_date"))
    organisation.invoice_amount_due = invoice.get("amount_due")
    organisation.invoice_amount_remaining = invoice.get("amount_remaining")
    organisation.invoice_currency = invoice.get("currency") or ""
    organisation.invoice_hosted_url = invoice.get("hosted_invoice_url") or ""


def _deciding_invoice(
    subscription: dict[str, Any], open_invoices: list[dict[str, Any]] | None
) -> dict[str, Any] | None:
    """The invoice an invoice-paying licence is judged by: its latest one when written off;
    else the open invoice due first, so that paying a later, smaller invoice (the proration
    of added seats) does not excuse an earlier unpaid one; else the latest."""
    latest = subscription.get("latest_invoice")
    latest = latest if isinstance(latest, dict) else None  # an id unless expanded
    if latest is not None and latest.get("status") == "uncollectible":
        return latest
    if open_invoices:
        return min(open_invoices, key=lambda invoice: invoice.get("due_date") or 0)
    return latest


def _trim_members_to_seats(organisation: Organisation) -> None:
    """Fewer seats were bought than are taken: the most recent non-admin members leave, so
    there are never more members than paid seats.

    Unlike an admin's removal this records no `OrganisationRemoval`: it is about the seat
    count, not the person, so when seats free up again joining by domain admits them."""
    members = list(organisation.members.order_by("-is_admin", "joined_at", "id"))
    for member in members[organisation.seats :]:
        logger.warning("Seat reduction removes %s from %s", member.user_id, organisation.pk)
        member.delete()


def subscription_sync_from_stripe(
    *,
    subscription: dict[str, Any],
    state_at: datetime,
    user: User | None = None,
    authoritative: bool = False,
    open_invoices: list[dict[str, Any]] | None = None,
) -> StripeSubscription:
    """Mirror one Stripe subscription onto the membership or organisation it pays for.

    `state_at` is when `subscription` was true (the event's creation time, or now for a
    fresh read). `authoritative` (reconciliation) skips the ordering guards. An invoiced
    licence's invoice comes from the subscription's `latest_invoice` (read expanded) and
    `open_invoices`, the subscription's open invoices when they were listed.
    """
    metadata = subscription.get("metadata") or {}
    with transaction.atomic():
        hint = user or user_from_hint(metadata.get("user_id"))
        holder = holder_for_customer(
            subscription["customer"], user=hint, organisation_id=metadata.get("organisation_id")
        )
        before = _Before.of(holder)
        applied = authoritative or _should_apply(holder, subscription, state_at=state_at)
        if applied:
            holder.stripe_subscription_id = subscription["id"]
            holder.status = subscription["status"]
            holder.current_period_end = _subscription_period_end(subscription)
            holder.cancel_at_period_end = bool(
                subscription.get("cancel_at_period_end") or subscription.get("cancel_at")
            )
            holder.stripe_state_at = max(filter(None, [state_at, holder.stripe_state_at]))
            if isinstance(holder, Organisation):
                holder.seats = _subscription_quantity(subscription)
                holder.collection_method = subscription.get("collection_method") or ""
                if (invoice := _deciding_invoice(subscription, open_invoices)) is not None:
                    _invoice_apply(holder, invoice)
            elif isinstance(holder, Membership):
                holder.plan = plan_for_price(_subscription_price(subscription))
                holder.trial_end = stripe_timestamp(subscription.get("trial_end"))
                if (charge := _next_charge(subscription)) is not None:
                    holder.next_charge_amount = charge.amount
                    holder.next_charge_currency = charge.currency
        holder.save()
        if applied:
            subscription_change_record(
                holder=holder, at=holder.stripe_state_at or state_at, subscription=subscription
            )
        if isinstance(holder, Organisation):
            _trim_members_to_seats(holder)
        elif isinstance(holder, Membership) and applied:
            _lifecycle_emails(holder, subscription, before=before)
            subscription_attribution_record(membership=holder, subscription=subscription)
    return holder


@dataclass(frozen=True)
class _Before:
    """The membership ahead of a sync: lifecycle emails tell what the sync changed."""

    granted: bool
    cancelling: bool
    status: str
    subscription_id: str

    @classmethod
    def of(cls, holder: StripeSubscription) -> "_Before":
        return cls(
            granted=membership_grants_access(holder),
            cancelling=holder.cancel_at_period_end,
            status=holder.status,
            subscription_id=holder.stripe_subscription_id,
        )


def _lifecycle_emails(
    membership: Membership, subscription: dict[str, Any], *, before: _Before
) -> None:
    """Claim the emails this change calls for. Each claim is keyed by its occasion, so the
    same change seen again (a duplicate event, the API's answer and then the webhook, the
    reconciliation) sends nothing more."""
    subscription_id = subscription["id"]
    granted = membership_grants_access(membership)
    if (
        granted
        and not before.granted
        and membership_email_claim(membership, name="membership-welcome", key=subscription_id)
    ):
        newsletter_enrol_member(user=membership.user)
    if granted and membership.cancel_at_period_end and not before.cancelling:
        # Stripe sets `canceled_at` at each request to cancel: cancelling, resuming and
        # cancelling again is a second occasion; the same request seen twice is not.
        period_end = membership.current_period_end
        requested = subscription.get("canceled_at") or (
            int(period_end.timestamp()) if period_end else ""
        )
        membership_email_claim(
            membership, name="subscription-ending", key=f"{subscription_id}:{requested}"
        )
    if (
        membership.status == Membership.Status.CANCELED
        and before.status
        and before.status not in TERMINAL_STATUSES
        and before.subscription_id == subscription_id
    ):
        membership_email_claim(membership, name="subscription-ended", key=subscription_id)


def _fresh_subscription(subscription_id: str) -> dict[str, Any]:
    try:
        return (
            stripe_client()
            .v1.subscriptions.retrieve(subscription_id, params={"expand": ["latest_invoice"]})
            .to_dict()
        )
    except stripe.StripeError as error:
        raise BillingUnavailable(str(error)) from error


def open_invoices_of(subscription: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The open invoices of a subscription paid by invoice (one more call to Stripe, only
    for those); None for a card-paying one, whose invoices decide nothing."""
    if subscription.get("collection_method") != "send_invoice":
        return None
    try:
        listing = stripe_client().v1.invoices.list(
            params={"subscription": subscription["id"], "status": "open", "limit": 100}
        )
    except stripe.StripeError as error:
        raise BillingUnavailable(str(error)) from error
    return [invoice.to_dict() for invoice in listing.data]


def subscription_lock(subscription_id: str) -> None:
    """Hold one subscription's webhook work to one transaction at a time, until it commits.

    Stripe delivers events concurrently. Two handlers that re-read the same subscription
    around a change at Stripe could otherwise commit in the opposite order of their reads,
    and the older picture would win. Under this lock, reads and writes of a subscription
    happen in the same order, so the last write is the newest read. (SQLite, for `make run`,
    serialises every write anyway.)"""
    if db_connection.vendor == "postgresql":
        with db_connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [subscription_id]
            )


def subscription_sync_by_id(
    subscription_id: str,
    *,
    payload: dict[str, Any] | None,
    event_created: datetime,
    user: User | None = None,
) -> dict[str, Any] | None:
    """Sync one subscription; returns it as it was read (None: nothing to sync from)."""
    if not isinstance(subscription_id, str) or not subscription_id:
        raise ValueError(f"not a subscription id: {subscription_id!r}")  # answered 400
    if settings.STRIPE_SECRET_KEY:
        # Re-read the subscription so the membership always reflects Stripe's current state,
        # whatever order the events arrive in.
        subscription_lock(subscription_id)
        fresh = _fresh_subscription(subscription_id)
        subscription_sync_from_stripe(
            subscription=fresh, state_at=timezone.now(), user=user,
            open_invoices=open_invoices_of(fresh),
        )  # fmt: skip
        return fresh
    if payload is not None:
        # The local checkout has no Stripe to ask; its events carry the whole subscription.
        subscription_sync_from_stripe(subscription=payload, state_at=event_created, user=user)
    return payload
