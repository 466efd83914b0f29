"""What a membership's Stripe state means for access.

Stripe keeps retrying a failed renewal for a while (`past_due`); we keep access during that
window so a card hiccup does not lock a paying reader out. Every other non-paying status
denies access. A subscription set to cancel at period end stays `active` in Stripe until the
period is over; we end access by time so no further webhook is needed.

An organisation that pays by invoice (`collection_method=send_invoice`) is judged by its
latest finalised invoice instead: Stripe marks such a subscription `active` before anyone
paid, so the status alone would open the licence on an unsent invoice. Access starts when
the invoice is finalised (sent to the buyer) and holds while it is paid, or open until its
due date plus the same grace as a failed card; written off (`uncollectible`), voided, or
with the subscription ended, it grants nothing.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Membership, Organisation, OrganisationMember, StripeSubscription

GRANTING_STATUSES = frozenset({Membership.Status.ACTIVE, Membership.Status.TRIALING})
# The subscription statuses under which an invoice-paying licence may still read: Stripe
# moves it to `past_due` once its invoice is overdue, and the invoice's terms decide.
INVOICED_STATUSES = GRANTING_STATUSES | {Membership.Status.PAST_DUE}


def _grace() -> timedelta:
    return timedelta(days=settings.PAST_DUE_GRACE_DAYS)


def invoice_access_ends_at(organisation: Organisation) -> datetime | None:
    """When an open invoice stops granting access: its due date plus the grace days."""
    if organisation.invoice_status != "open" or organisation.invoice_due_at is None:
        return None
    return organisation.invoice_due_at + _grace()


def invoice_terms_grant_access(organisation: Organisation, *, now: datetime) -> bool:
    if organisation.status not in INVOICED_STATUSES:
        return False
    period_end = organisation.current_period_end
    if organisation.cancel_at_period_end and period_end is not None and now >= period_end:
        return False
    if organisation.invoice_status == "paid":
        return True
    ends_at = invoice_access_ends_at(organisation)
    return ends_at is not None and now < ends_at


def membership_grants_access(
    membership: StripeSubscription | None, *, now: datetime | None = None
) -> bool:
    """Whether a mirrored Stripe subscription (a reader's or an organisation's) pays for
    access now."""
    if membership is None:
        return False
    now = now or timezone.now()
    if isinstance(membership, Organisation) and membership.pays_by_invoice:
        return invoice_terms_grant_access(membership, now=now)
    period_end = membership.current_period_end
    if membership.status in GRANTING_STATUSES:
        if membership.cancel_at_period_end and period_end is not None:
            return now < period_end
        return True
    if membership.status == Membership.Status.PAST_DUE and period_end is not None:
        return now < period_end + _grace()
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


def access_changes_at(user: object, *, now: datetime) -> datetime | None:
    """The next moment at which the user's paid access may end by the clock alone (a period
    ends, a grace runs out, an invoice falls overdue), or None when nothing grants it. The
    clock only ever ends access (it starts with a write: a payment, a seat), so this is the
    end of the first source that grants it now, the membership before the seat, which is
    how `seat_grants_access` is asked; what keeps an answer must not keep it past then."""
    subscription: StripeSubscription | None = membership_for(user)
    if not membership_grants_access(subscription, now=now):
        seat = seat_for(user)
        subscription = seat.organisation if seat is not None else None
        if not membership_grants_access(subscription, now=now):
            return None
    if subscription is None:  # cannot be: it grants access
        return None
    period_end = subscription.current_period_end
    moments: list[datetime | None] = []
    if period_end is not None:
        moments += [period_end, period_end + _grace()]
    if isinstance(subscription, Organisation):
        moments.append(invoice_access_ends_at(subscription))
    return min((moment for moment in moments if moment is not None and moment > now), default=None)
