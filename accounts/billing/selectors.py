"""What the account page says about a reader's own subscription."""

from dataclasses import dataclass
from datetime import datetime

from accounts.billing.cancellation import membership_cancellable, membership_resumable
from accounts.billing.money import money_display
from accounts.membership import membership_grants_access
from accounts.models import Membership

PLAN_WORDS = {"monthly": "Monthly", "annual": "Annual"}
STATUS_WORDS: dict[str, str] = {
    Membership.Status.ACTIVE: "Active",
    Membership.Status.TRIALING: "Free trial",
    Membership.Status.PAST_DUE: "Payment overdue",
    Membership.Status.UNPAID: "Unpaid",
    Membership.Status.CANCELED: "Ended",
    Membership.Status.INCOMPLETE: "Waiting for the first payment",
    Membership.Status.INCOMPLETE_EXPIRED: "Not completed",
    Membership.Status.PAUSED: "Paused",
}


@dataclass(frozen=True)
class MembershipOverview:
    """The membership in the page's words. `state` picks the sentence: "trial" (trial end,
    then the first charge), "renewing" (the next charge), "ending" (the date access ends,
    and Resume), "past_due" (a failed payment), or "inactive" (no access)."""

    plan: str
    status: str
    state: str
    has_access: bool
    trial_end: datetime | None = None
    next_charge_at: datetime | None = None
    next_charge: str = ""
    ends_at: datetime | None = None
    can_cancel: bool = False
    can_resume: bool = False


def _state(membership: Membership, *, has_access: bool) -> str:
    if not has_access:
        return "inactive"
    if membership.cancel_at_period_end:
        return "ending"
    if membership.status == Membership.Status.PAST_DUE:
        return "past_due"
    if membership.is_trialing:
        return "trial"
    return "renewing"


def membership_overview(*, membership: Membership | None) -> MembershipOverview | None:
    """The reader's own subscription for the account page; None when they never had one."""
    if membership is None or not membership.status:
        return None
    has_access = membership_grants_access(membership)
    status = membership.status
    next_charge = ""
    if membership.next_charge_amount is not None:
        next_charge = money_display(membership.next_charge_amount, membership.next_charge_currency)
    return MembershipOverview(
        plan=PLAN_WORDS.get(membership.plan, ""),
        status=STATUS_WORDS.get(status, membership.get_status_display()),
        state=_state(membership, has_access=has_access),
        has_access=has_access,
        trial_end=membership.trial_end if membership.is_trialing else None,
        # The charge falls due when the period (or the trial) ends.
        next_charge_at=membership.current_period_end,
        next_charge=next_charge,
        ends_at=membership.access_ends_at,
        can_cancel=membership_cancellable(membership),
        can_resume=membership_resumable(membership),
    )
