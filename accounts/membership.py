"""What a membership's Stripe state means for access.

Stripe keeps retrying a failed renewal for a while (`past_due`); we keep access during that
window so a card hiccup does not lock a paying reader out. Every other non-paying status
denies access. A subscription set to cancel at period end stays `active` in Stripe until the
period is over; we end access by time so no further webhook is needed.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Membership, OrganisationMember, StripeSubscription

GRANTING_STATUSES = frozenset({Membership.Status.ACTIVE, Membership.Status.TRIALING})


def membership_grants_access(
    membership: StripeSubscription | None, *, now: datetime | None = None
) -> bool:
    """Whether a mirrored Stripe subscription (a reader's or an organisation's) pays for
    access now."""
    if membership is None:
        return False
    now = now or timezone.now()
    period_end = membership.current_period_end
    if membership.status in GRANTING_STATUSES:
        if membership.cancel_at_period_end and period_end is not None:
            return now < period_end
        return True
    if membership.status == Membership.Status.PAST_DUE and period_end is not None:
        return now < period_end + timedelta(days=settings.PAST_DUE_GRACE_DAYS)
    return False


def membership_for(user: object) -> Membership | None:
    """The user's membership, or None, without raising for readers who never subscribed."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.membership  # type: ignore[attr-defined]
    except Membership.DoesNotExist:
        return None


def seat_for(user: object) -> OrganisationMember | None:
    """The organisation seat the user holds, with its organisation, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.seat  # type: ignore[attr-defined]
    except OrganisationMember.DoesNotExist:
        return None


def seat_grants_access(user: object, *, now: datetime | None = None) -> bool:
    seat = seat_for(user)
    return seat is not None and membership_grants_access(seat.organisation, now=now)
