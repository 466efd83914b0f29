"""The publisher's figures about members, revenue, cancellations and the newsletter.

All arithmetic on the subscription ledger (`SubscriptionChange`) and the newsletter's
timestamps is here; the dashboard (`reports.dashboard`) only lays it out. Every figure is
one aggregate query over its whole range (conditional sums per month, grouped in the
database), so its cost does not grow with the number of members in Python.

Months are calendar months in the site's time zone. A state "at a month's end" is the one
in force just before the next month starts; for the current month, now. Amounts stay in
the currency they were charged in: figures are given per currency, nothing is converted.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from accounts.models import (
    CancellationReason,
    NewsletterSubscriber,
    SubscriptionCancellation,
    SubscriptionChange,
    SubscriptionStatus,
)

MEMBER_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.CANCELED,
)
# A seat or a plan "held" at a month's end: the statuses that grant access (accounts.membership).
HOLDING_STATUSES = (
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.PAST_DUE,
)
MOVEMENTS = ("new", "expansion", "contraction", "churn")


@dataclass(frozen=True)
class MonthRange:
    """Consecutive calendar months, the last one running until `end` (now)."""

    starts: tuple[datetime, ...]
    end: datetime

    @property
    def boundaries(self) -> tuple[datetime, ...]:
        """Each month's start, then the range's end: month i runs from boundary i to i + 1."""
        return (*self.starts, self.end)

    @property
    def labels(self) -> list[str]:
        return [start.strftime("%Y-%m") for start in self.starts]


def month_range(*, months: int, now: datetime | None = None) -> MonthRange:
    """The last `months` calendar months up to `now`, the current month included."""
    local = timezone.localtime(now or timezone.now())
    year, month = local.year, local.month
    starts = []
    for _ in range(months):
        starts.append(local.replace(year=year, month=month, day=1, hour=0, minute=0, second=0,
                                    microsecond=0))  # fmt: skip
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    starts.reverse()
    # The zone's tzinfo, not a fixed offset: a month across a DST change gets its own.
    return MonthRange(starts=tuple(starts), end=local)


def _in_force(at: datetime) -> Q:
    return Q(at__lt=at) & (Q(until__isnull=True) | Q(until__gte=at))


def subscription_states(period: MonthRange) -> list[dict[str, Any]]:
    """Per kind, status, plan and currency: how many subscriptions, their seats and MRR were
    in force at each boundary (n0, seats0, mrr0 ... for boundary 0 ...). One query."""
    boundaries = period.boundaries
    aggregates: dict[str, Any] = {}
    for index, boundary in enumerate(boundaries):
        in_force = _in_force(boundary)
        aggregates[f"n{index}"] = Count("id", filter=in_force)
        aggregates[f"seats{index}"] = Sum("seats", filter=in_force, default=0)
        aggregates[f"mrr{index}"] = Sum("mrr", filter=in_force, default=0)
    # Rows of the annotated columns: dicts, whatever names the aggregates were given.
    rows: Any = (
        SubscriptionChange.objects.filter(at__lt=boundaries[-1])
        .filter(Q(until__isnull=True) | Q(until__gte=boundaries[0]))
        .values("kind", "status", "plan", "currency")
        .annotate(**aggregates)
        .order_by()
    )
    return list(rows)


@dataclass(frozen=True)
class MemberMonth:
    month: str
    by_status: dict[str, int]  # individual memberships at the month's end
    by_plan: dict[str, int]  # memberships holding access, per plan
    organisations: int  # team licences holding access
    seats: int  # their seats


def members_by_month(
    period: MonthRange, *, states: list[dict[str, Any]] | None = None
) -> list[MemberMonth]:
    """`states`: `subscription_states(period)`, when the caller has it already."""
    rows = subscription_states(period) if states is None else states
    months = []
    for index, label in enumerate(period.labels):
        end = index + 1
        by_status = dict.fromkeys(MEMBER_STATUSES, 0)
        by_plan = {"monthly": 0, "annual": 0}
        organisations = seats = 0
        for row in rows:
            count = row[f"n{end}"]
            if row["kind"] == SubscriptionChange.Kind.ORGANISATION:
                if row["status"] in HOLDING_STATUSES:
                    organisations += count
                    seats += row[f"seats{end}"]
                continue
            if row["status"] in by_status:
                by_status[row["status"]] += count
            if row["status"] in HOLDING_STATUSES and row["plan"] in by_plan:
                by_plan[row["plan"]] += count
        months.append(MemberMonth(label, {str(k): v for k, v in by_status.items()}, by_plan,
                                  organisations, seats))  # fmt: skip
    return months


@dataclass(frozen=True)
class RevenueMonth:
    month: str
    currency: str
    mrr_start: int
    new: int
    expansion: int
    contraction: int
    churn: int
    mrr_end: int

    @property
    def gross_churn(self) -> Decimal | None:
        """(contraction + churn) / MRR at the month's start; None without MRR to lose."""
        if not self.mrr_start:
            return None
        return Decimal(self.contraction + self.churn) / self.mrr_start

    @property
    def net_churn(self) -> Decimal | None:
        """(contraction + churn - expansion) / MRR at the start: negative when existing
        customers grew more than they shrank."""
        if not self.mrr_start:
            return None
        return Decimal(self.contraction + self.churn - self.expansion) / self.mrr_start


def _movements(period: MonthRange) -> dict[tuple[int, str], dict[str, int]]:
    """Per month index and currency, the MRR each kind of change moved. One query.

    Each change is classed by what it did to its subscription's MRR: from nothing (new,
    a reactivation included), to nothing (churn), up (expansion) or down (contraction)."""
    delta_up = F("mrr") - F("previous_mrr")
    delta_down = F("previous_mrr") - F("mrr")
    aggregates: dict[str, Any] = {}
    boundaries = period.boundaries
    for index in range(len(period.starts)):
        month = Q(at__gte=boundaries[index], at__lt=boundaries[index + 1])
        aggregates[f"new{index}"] = Sum(
            delta_up, filter=month & Q(previous_mrr=0, mrr__gt=0), default=0
        )
        aggregates[f"expansion{index}"] = Sum(
            delta_up, filter=month & Q(previous_mrr__gt=0, mrr__gt=F("previous_mrr")), default=0
        )
        aggregates[f"contraction{index}"] = Sum(
            delta_down, filter=month & Q(mrr__gt=0, mrr__lt=F("previous_mrr")), default=0
        )
        aggregates[f"churn{index}"] = Sum(
            delta_down, filter=month & Q(previous_mrr__gt=0, mrr=0), default=0
        )
    rows: Any = (
        SubscriptionChange.objects.filter(at__gte=boundaries[0], at__lt=boundaries[-1])
        .values("currency")
        .annotate(**aggregates)
        .order_by()
    )
    result: dict[tuple[int, str], dict[str, int]] = {}
    for row in rows:
        for index in range(len(period.starts)):
            result[(index, row["currency"])] = {m: row[f"{m}{index}"] for m in MOVEMENTS}
    return result


def revenue_by_month(
    period: MonthRange, *, states: list[dict[str, Any]] | None = None
) -> list[RevenueMonth]:
    """MRR at each month's start and end and its movements in between, per currency."""
    mrr: dict[tuple[int, str], int] = defaultdict(int)
    for row in subscription_states(period) if states is None else states:
        for index in range(len(period.boundaries)):
            mrr[(index, row["currency"])] += row[f"mrr{index}"]
    movements = _movements(period)
    currencies = sorted({currency for _, currency in mrr} | {c for _, c in movements})
    zero = dict.fromkeys(MOVEMENTS, 0)
    return [
        RevenueMonth(
            month=label,
            currency=currency,
            mrr_start=mrr[(index, currency)],
            **movements.get((index, currency), zero),
            mrr_end=mrr[(index + 1, currency)],
        )
        for currency in currencies
        for index, label in enumerate(period.labels)
    ]


def cancellation_reasons(period: MonthRange) -> list[tuple[str, int]]:
    """Why readers set their subscriptions to end within the range, most told first."""
    counts = dict(
        SubscriptionCancellation.objects.filter(
            created_at__gte=period.starts[0], created_at__lt=period.end
        )
        .values_list("reason")
        .annotate(n=Count("id"))
        .order_by()
    )
    labelled = [(str(label), counts.get(value, 0)) for value, label in CancellationReason.choices]
    labelled.append(("No reason given", counts.get("", 0)))
    return sorted(labelled, key=lambda pair: -pair[1])


@dataclass(frozen=True)
class NewsletterMonth:
    month: str
    receiving: int  # confirmed and not unsubscribed at the month's end
    signups: int  # consents given (a signup, or an import's original consent)
    confirmations: int
    unsubscribes: int


def newsletter_by_month(period: MonthRange) -> list[NewsletterMonth]:
    """One query. The subscriber row keeps its latest confirmation and unsubscription only,
    so an address that left and came back counts where it stands now."""
    boundaries = period.boundaries
    aggregates: dict[str, Any] = {}
    for index, boundary in enumerate(boundaries[1:]):
        start = boundaries[index]
        aggregates[f"receiving{index}"] = Count(
            "id",
            filter=Q(confirmed_at__lt=boundary)
            & (Q(unsubscribed_at__isnull=True) | Q(unsubscribed_at__gte=boundary)),
        )
        aggregates[f"signups{index}"] = Count(
            "id", filter=Q(consent_at__gte=start, consent_at__lt=boundary)
        )
        aggregates[f"confirmations{index}"] = Count(
            "id", filter=Q(confirmed_at__gte=start, confirmed_at__lt=boundary)
        )
        aggregates[f"unsubscribes{index}"] = Count(
            "id", filter=Q(unsubscribed_at__gte=start, unsubscribed_at__lt=boundary)
        )
    totals = NewsletterSubscriber.objects.aggregate(**aggregates)
    return [
        NewsletterMonth(
            month=label,
            receiving=totals[f"receiving{index}"],
            signups=totals[f"signups{index}"],
            confirmations=totals[f"confirmations{index}"],
            unsubscribes=totals[f"unsubscribes{index}"],
        )
        for index, label in enumerate(period.labels)
    ]
