"""Paid membership through Stripe: customers, Checkout, the Billing Portal, webhook events
and reconciliation.

Access is never granted by a redirect: only the Stripe state that reaches
`membership_sync_from_stripe` (from a verified webhook, the nightly reconciliation, or the
local test checkout) changes a membership.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db import connection as db_connection
from django.utils import timezone
from stripe._base_address import BaseAddresses  # the SDK exports the type only here

from accounts.membership import GRANTING_STATUSES, membership_grants_access
from accounts.models import Membership, Organisation, StripeEvent, StripeSubscription, User
from publisher.celery import enqueue

logger = logging.getLogger(__name__)

PLANS = ("monthly", "annual")
# A subscription in one of these states is over for good: Stripe never revives it.
TERMINAL_STATUSES = frozenset({Membership.Status.CANCELED, Membership.Status.INCOMPLETE_EXPIRED})
SUBSCRIPTION_EVENTS = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
INVOICE_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed"})


class BillingUnavailable(Exception):
    """Stripe could not be reached or refused the request; nothing was changed."""


class UnresolvedCustomer(Exception):
    """A webhook names a customer we cannot map to a user yet; Stripe should retry it."""


def local_checkout_enabled() -> bool:
    """The labelled local checkout exists only for local development without Stripe keys."""
    return settings.DEBUG and not settings.STRIPE_SECRET_KEY


def plan_price_id(plan: str) -> str:
    prices = {"monthly": settings.STRIPE_PRICE_MONTHLY, "annual": settings.STRIPE_PRICE_ANNUAL}
    if plan not in prices:
        raise ValueError(f"Unknown plan {plan!r}.")
    return prices[plan]


def _plan_for_price(price_id: str | None) -> str:
    if price_id and price_id.startswith("price_local_"):
        return price_id.removeprefix("price_local_")
    if price_id and price_id == settings.STRIPE_PRICE_ANNUAL:
        return "annual"
    if price_id and price_id == settings.STRIPE_PRICE_MONTHLY:
        return "monthly"
    return ""


def stripe_client() -> stripe.StripeClient:
    base_addresses: BaseAddresses | None = (
        {"api": settings.STRIPE_API_BASE} if settings.STRIPE_API_BASE else None
    )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, base_addresses=base_addresses, max_network_retries=2
    )


def _timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


# Checkout and portal ------------------------------------------------------------------


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


# Syncing Stripe state --------------------------------------------------------------------


def _subscription_period_end(subscription: dict[str, Any]) -> datetime | None:
    # Since the 2025 API versions the billing period lives on each subscription item.
    ends = [
        item.get("current_period_end")
        for item in (subscription.get("items") or {}).get("data", [])
        if item.get("current_period_end")
    ]
    period_end = _timestamp(max(ends)) if ends else None
    cancel_at = _timestamp(subscription.get("cancel_at"))
    if cancel_at and (period_end is None or cancel_at < period_end):
        return cancel_at
    return period_end


def _subscription_price(subscription: dict[str, Any]) -> str | None:
    items = (subscription.get("items") or {}).get("data", [])
    return ((items[0].get("price") or {}).get("id")) if items else None


def _subscription_quantity(subscription: dict[str, Any]) -> int:
    items = (subscription.get("items") or {}).get("data", [])
    return sum(int(item.get("quantity") or 0) for item in items)


def _user_hint(*values: object) -> User | None:
    for value in values:
        if value and str(value).isascii() and str(value).isdigit():
            user = User.objects.filter(pk=int(str(value))).first()
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


def _holder_for_customer(
    customer_id: str, *, user: User | None, organisation_id: object
) -> StripeSubscription:
    """The locked organisation or membership that a Stripe customer pays for."""
    organisations = Organisation.objects.select_for_update()
    organisation = organisations.filter(stripe_customer_id=customer_id).first()
    digits = str(organisation_id).isascii() and str(organisation_id).isdigit()
    if organisation is None and organisation_id and digits:
        organisation = organisations.filter(pk=int(str(organisation_id))).first()
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


def _trim_members_to_seats(organisation: Organisation) -> None:
    """Fewer seats were bought than are taken: the most recent non-admin members leave, so
    there are never more members than paid seats."""
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
) -> StripeSubscription:
    """Mirror one Stripe subscription onto the membership or organisation it pays for.

    `state_at` is when `subscription` was true (the event's creation time, or now for a
    fresh read). `authoritative` (reconciliation) skips the ordering guards.
    """
    metadata = subscription.get("metadata") or {}
    with transaction.atomic():
        hint = user or _user_hint(metadata.get("user_id"))
        holder = _holder_for_customer(
            subscription["customer"], user=hint, organisation_id=metadata.get("organisation_id")
        )
        granted_before = membership_grants_access(holder)
        if authoritative or _should_apply(holder, subscription, state_at=state_at):
            holder.stripe_subscription_id = subscription["id"]
            holder.status = subscription["status"]
            holder.current_period_end = _subscription_period_end(subscription)
            holder.cancel_at_period_end = bool(
                subscription.get("cancel_at_period_end") or subscription.get("cancel_at")
            )
            holder.stripe_state_at = max(filter(None, [state_at, holder.stripe_state_at]))
            if isinstance(holder, Organisation):
                holder.seats = _subscription_quantity(subscription)
            elif isinstance(holder, Membership):
                holder.plan = _plan_for_price(_subscription_price(subscription))
        holder.save()
        if isinstance(holder, Organisation):
            _trim_members_to_seats(holder)
        elif (
            isinstance(holder, Membership)
            and not granted_before
            and membership_grants_access(holder)
        ):
            _email_on_commit(holder, "membership-welcome")
    return holder


def _email_on_commit(membership: Membership, name: str) -> None:
    transaction.on_commit(
        partial(enqueue, "accounts.tasks.send_membership_email", membership.pk, name)
    )


def _fresh_subscription(subscription_id: str) -> dict[str, Any]:
    try:
        return stripe_client().v1.subscriptions.retrieve(subscription_id).to_dict()
    except stripe.StripeError as error:
        raise BillingUnavailable(str(error)) from error


def _lock_subscription(subscription_id: str) -> None:
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


def _sync_subscription(
    subscription_id: str,
    *,
    payload: dict[str, Any] | None,
    event_created: datetime,
    user: User | None = None,
) -> None:
    if not isinstance(subscription_id, str) or not subscription_id:
        raise ValueError(f"not a subscription id: {subscription_id!r}")  # answered 400
    if settings.STRIPE_SECRET_KEY:
        # Re-read the subscription so the membership always reflects Stripe's current state,
        # whatever order the events arrive in.
        _lock_subscription(subscription_id)
        subscription_sync_from_stripe(
            subscription=_fresh_subscription(subscription_id), state_at=timezone.now(), user=user
        )
    elif payload is not None:
        # The local checkout has no Stripe to ask; its events carry the whole subscription.
        subscription_sync_from_stripe(subscription=payload, state_at=event_created, user=user)


def _invoice_subscription_id(invoice: dict[str, Any]) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    subscription = details.get("subscription") or invoice.get("subscription")
    if isinstance(subscription, dict):
        return subscription.get("id")
    return subscription


def stripe_event_handle(*, event: dict[str, Any]) -> str:
    """Apply one verified Stripe event. Returns "processed", "duplicate" or "ignored".

    The event id is recorded in the same transaction as its effect, so a duplicate delivery
    (even a concurrent one) changes nothing, and a failure leaves no record: Stripe retries.
    """
    event_type = event["type"]
    created = _timestamp(event["created"]) or timezone.now()
    obj = event["data"]["object"]
    with transaction.atomic():
        try:
            with transaction.atomic():
                StripeEvent.objects.create(event_id=event["id"], type=event_type, created=created)
        except IntegrityError:
            return "duplicate"

        if event_type == "checkout.session.completed":
            if obj.get("mode") != "subscription" or not obj.get("customer"):
                return "ignored"
            user = _user_hint(obj.get("client_reference_id"))
            organisation_id = (obj.get("metadata") or {}).get("organisation_id")
            holder = _holder_for_customer(
                obj["customer"], user=None if organisation_id else user,
                organisation_id=organisation_id,
            )  # fmt: skip
            holder.save()
            if obj.get("subscription"):
                subscription_id = obj["subscription"]
                if isinstance(subscription_id, dict):
                    subscription_id = subscription_id["id"]
                _sync_subscription(subscription_id, payload=None, event_created=created, user=user)
        elif event_type in SUBSCRIPTION_EVENTS:
            _sync_subscription(obj["id"], payload=obj, event_created=created)
        elif event_type in INVOICE_EVENTS:
            subscription_id = _invoice_subscription_id(obj)
            if not subscription_id:
                return "ignored"
            _sync_subscription(subscription_id, payload=None, event_created=created)
            if event_type == "invoice.payment_failed":
                failed = Membership.objects.filter(stripe_subscription_id=subscription_id).first()
                if failed is not None:
                    _email_on_commit(failed, "payment-failed")
        else:
            return "ignored"
    return "processed"


# Reconciliation ---------------------------------------------------------------------------


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
                params={"customer": holder.stripe_customer_id, "status": "all", "limit": 20}
            )
        except stripe.StripeError:
            logger.exception("Could not list subscriptions of %s", holder.stripe_customer_id)
            result.failed += 1
            continue
        best = _best_subscription([s.to_dict() for s in listing.data])
        if best is None:
            if membership_grants_access(holder):
                holder.status = Membership.Status.CANCELED
                holder.stripe_state_at = timezone.now()
                holder.save()
        else:
            holder = subscription_sync_from_stripe(
                subscription=best, state_at=timezone.now(), authoritative=True
            )
        after = (holder.status, holder.current_period_end, holder.cancel_at_period_end)
        if after != before:
            result.changed += 1
            logger.info(
                "Reconciled %s %s: %s -> %s", type(holder).__name__, holder.pk, before, after
            )
    return result
