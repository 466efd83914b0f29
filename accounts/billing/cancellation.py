"""Cancelling and resuming from the account page: a subscription set to end at its period's
end (Stripe's `cancel_at_period_end`), and set to go on again until that end arrives.

Stripe is asked through its API; its answer is applied at once through the same sync the
webhooks use, so the reader sees the result on the next page. The webhook Stripe sends about
the same change then finds nothing new: no second email, no change.
"""

import unicodedata

import stripe
from django.db import transaction
from django.utils import timezone
from stripe.params import SubscriptionUpdateParams

from accounts.billing.client import BillingUnavailable, local_checkout_enabled, stripe_client
from accounts.billing.local_checkout import local_subscription_change
from accounts.billing.sync import (
    TERMINAL_STATUSES,
    subscription_lock,
    subscription_sync_from_stripe,
)
from accounts.membership import membership_grants_access
from accounts.models import Membership, SubscriptionCancellation, User
from publisher.errors import ApplicationError
from publisher.ratelimit import Limit, limit_exceeded
from publisher.text import text_strip_invisible

CHANGE_LIMITS = [
    Limit(10, 3600, "You have changed your subscription often in the last hour. Please try later.")
]


def cancellation_detail_clean(text: str) -> str:
    """A reason typed by the reader, stored as comments are: composed, without invisible
    characters, line breaks kept."""
    cleaned = unicodedata.normalize("NFC", text_strip_invisible(text or ""))
    return cleaned.replace("\r\n", "\n").strip()


def membership_cancellable(membership: Membership | None) -> bool:
    """A subscription of the reader's own that is running and not yet set to end."""
    return (
        membership is not None
        and bool(membership.stripe_subscription_id)
        and membership.status not in TERMINAL_STATUSES
        and membership_grants_access(membership)
        and not membership.cancel_at_period_end
    )


def membership_resumable(membership: Membership | None) -> bool:
    """Set to end, and the end has not come yet."""
    return (
        membership is not None
        and bool(membership.stripe_subscription_id)
        and membership.cancel_at_period_end
        and membership_grants_access(membership)
    )


def _count_change(user: User) -> None:
    if limit := limit_exceeded("subscription-change", user.pk, CHANGE_LIMITS):
        raise ApplicationError(limit.message, status=429)


def _locked_membership(user: User) -> Membership | None:
    """The reader's membership, locked in the current transaction, and its subscription held
    first, in the order the webhooks take them (subscription, then row), so that their sync
    and ours run one after the other and never wait on each other in a circle."""
    membership = Membership.objects.filter(user=user).first()
    if membership is None:
        return None
    if membership.stripe_subscription_id:
        subscription_lock(membership.stripe_subscription_id)
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.stripe_subscription_id != membership.stripe_subscription_id:
        raise ApplicationError("Your subscription changed just now. Please try again.")
    return locked


def _set_to_end(membership: Membership, *, end: bool) -> None:
    """Ask Stripe (or the local checkout) to set `cancel_at_period_end`, and apply the answer
    to `membership` at once."""
    if local_checkout_enabled():
        action = "cancel_at_period_end" if end else "resume"
        local_subscription_change(user=membership.user, action=action)
    else:
        params: SubscriptionUpdateParams = {"cancel_at_period_end": end}
        try:
            subscription = stripe_client().v1.subscriptions.update(
                membership.stripe_subscription_id, params=params
            )
        except stripe.StripeError as error:
            raise BillingUnavailable(str(error)) from error
        subscription_sync_from_stripe(subscription=subscription.to_dict(), state_at=timezone.now())
    membership.refresh_from_db()


def subscription_cancel_at_period_end(
    *, user: User, reason: str = "", detail: str = ""
) -> Membership:
    """Set the reader's subscription to end when its current period (or trial) ends, and
    record why they gave. Asking again once it is set changes nothing and records nothing.

    Raises ApplicationError (nothing to cancel, too many changes) or BillingUnavailable
    (Stripe refused or did not answer: nothing changed)."""
    if reason and reason not in SubscriptionCancellation.Reason.values:
        raise ApplicationError("Choose one of the listed reasons, or none.")
    detail = cancellation_detail_clean(detail)
    if len(detail) > SubscriptionCancellation.DETAIL_MAX_LENGTH:
        raise ApplicationError(
            f"Please keep it under {SubscriptionCancellation.DETAIL_MAX_LENGTH:,} characters."
        )
    _count_change(user)
    with transaction.atomic():
        membership = _locked_membership(user)
        if membership is not None and membership_resumable(membership):
            return membership  # a second submission of the same confirmation
        if membership is None or not membership_cancellable(membership):
            raise ApplicationError("You have no running subscription to cancel.")
        _set_to_end(membership, end=True)
        SubscriptionCancellation.objects.create(
            user=user,
            stripe_subscription_id=membership.stripe_subscription_id,
            plan=membership.plan,
            reason=reason,
            detail=detail,
            access_ends_at=membership.access_ends_at,
        )
    return membership


def subscription_resume(*, user: User) -> Membership:
    """Let a subscription set to end go on after all. Resuming one that is not set to end
    changes nothing; one whose period is over cannot be resumed (subscribe again)."""
    _count_change(user)
    with transaction.atomic():
        membership = _locked_membership(user)
        if membership is not None and membership_cancellable(membership):
            return membership  # already running: a second click of the same button
        if membership is None or not membership_resumable(membership):
            raise ApplicationError("Your subscription has ended; subscribe again to read on.")
        _set_to_end(membership, end=False)
    return membership
