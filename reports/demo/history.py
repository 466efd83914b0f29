"""A year of history for the publisher's dashboard in `make run`: members joining on either
plan (some after a trial), switching plan, falling behind on a payment, cancelling with a
reason; team licences adding and removing seats; newsletter signups, confirmations and
unsubscribes; a team's members and their reads through their seats (the first team,
administered by the `team` persona); daily reads, paywall views, checkouts and paid
subscriptions per report; and
the delivery counts of the latest reports' notifications, with the provider's events about
them (deliveries, opens, clicks, bounces, complaints).

Drawn from a fixed seed relative to the load, written once (the first load; a later one
finds the demo members and leaves everything alone), and in bulk: tests load the demo
often. The rows are what the site itself would have written: the ledger
(`SubscriptionChange`) as the Stripe sync does, memberships in the state the ledger ends
in, the day counts the counting folds in.
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from accounts.billing.ledger import PAYING_STATUSES
from accounts.models import (
    CancellationReason,
    EmailEvent,
    EmailSuppression,
    Membership,
    NewsletterSubscriber,
    Organisation,
    OrganisationMember,
    SeatMonthReads,
    SubscriptionCancellation,
    SubscriptionChange,
    SubscriptionStatus,
    User,
)
from reports.models import Delivery, Report, ReportDayCount, ReportNotification

MEMBERS = 180
NEWSLETTER = 420
TEAMS = [("Northwind Installers", 6), ("Sunfield Energy", 12), ("Harbour Grid Services", 4),
         ("Kestrel Heat Pumps", 20)]  # fmt: skip
MEMBER_EMAIL = "demo-member-{n:03d}@example.org"
NEWSLETTER_EMAIL = "demo-reader-{n:03d}@example.net"
# The first team's colleagues of its admin: (name, days since last seen, reads a month).
TEAMMATES = [("Ola Berg", 1, 14), ("Priit Tamm", 6, 6), ("Nina Holm", 19, 3),
             ("Bo Ek", 48, 0)]  # fmt: skip
TEAMMATE_EMAIL = "demo-team-{n}@example.org"
YEAR = 365
# Reads fade after publication; few come later than this.
READ_DAYS = 120
NOTIFIED_REPORTS = 6
REASONS = [
    (CancellationReason.TOO_EXPENSIVE, 5),
    (CancellationReason.NOT_READING, 4),
    (CancellationReason.MISSING_CONTENT, 2),
    (CancellationReason.TEAM_LICENCE, 1),
    (CancellationReason.OTHER, 1),
    ("", 3),
]


@dataclass(frozen=True)
class _State:
    at: datetime
    status: str
    plan: str = ""
    seats: int = 0


def demo_history_load(
    *, now: datetime, persona_memberships: list[Membership], team_admin: User | None = None
) -> bool:
    """Write the history unless an earlier load did; returns whether it wrote it."""
    if User.objects.filter(email=MEMBER_EMAIL.format(n=0)).exists():
        return False
    rng = random.Random(2026)  # the same history every time, not security
    ledger: list[SubscriptionChange] = []
    for membership in persona_memberships:
        # The personas have been members for most of the year, on the annual plan.
        joined = now - timedelta(days=rng.randint(200, 330))
        ledger += _ledger(
            "membership", membership.pk, [_State(joined, membership.status, "annual")]
        )
    ledger += _members(rng, now=now)
    ledger += _teams(rng, now=now, admin=team_admin)
    SubscriptionChange.objects.bulk_create(ledger, batch_size=1000)
    _newsletter(rng, now=now)
    reports = list(Report.objects.published().order_by("-published_at"))
    _day_counts(rng, reports, now=now)
    _notifications(rng, reports[:NOTIFIED_REPORTS], now=now)
    return True


def _monthly_amount(state: _State) -> int:
    if state.status not in PAYING_STATUSES:
        return 0
    if state.seats:
        return round(state.seats * settings.PRICE_SEAT_CENTS / 12)
    if state.plan == "monthly":
        return settings.PRICE_MONTHLY_CENTS
    return round(settings.PRICE_ANNUAL_CENTS / 12)


def _ledger(kind: str, holder_id: int, states: list[_State]) -> list[SubscriptionChange]:
    rows = []
    previous = 0
    for index, state in enumerate(states):
        mrr = _monthly_amount(state)
        following = states[index + 1].at if index + 1 < len(states) else None
        rows.append(
            SubscriptionChange(
                kind=kind, holder_id=holder_id, at=state.at, until=following,
                status=state.status, plan=state.plan, seats=state.seats, mrr=mrr,
                previous_mrr=previous, currency="usd",
            )
        )  # fmt: skip
        previous = mrr
    return rows


def _member_states(rng: random.Random, *, now: datetime) -> list[_State]:
    """One member's year: a join (more of them lately: the publication grows), perhaps a
    trial first, perhaps a plan switch, a late payment, a cancellation."""
    days_ago = int(YEAR * rng.random() ** 1.4) + 1
    at = now - timedelta(days=days_ago, hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
    plan = "annual" if rng.random() < 0.55 else "monthly"
    states = []
    if rng.random() < 0.3:
        states.append(_State(at, SubscriptionStatus.TRIALING, plan))
        at += timedelta(days=14)
        if rng.random() < 0.25:  # the trial ends without a card
            return [*states, _State(at, SubscriptionStatus.CANCELED, plan)]
    states.append(_State(at, SubscriptionStatus.ACTIVE, plan))

    def later(low: int, high: int) -> datetime:
        return states[-1].at + timedelta(days=rng.randint(low, high), hours=rng.randint(0, 23))

    if rng.random() < 0.18:
        plan = "monthly" if plan == "annual" else "annual"
        states.append(_State(later(20, 150), SubscriptionStatus.ACTIVE, plan))
    if rng.random() < 0.07:
        states.append(_State(later(20, 120), SubscriptionStatus.PAST_DUE, plan))
        if rng.random() < 0.5:
            states.append(_State(later(3, 8), SubscriptionStatus.ACTIVE, plan))
    if rng.random() < 0.22:
        states.append(_State(later(25, 200), SubscriptionStatus.CANCELED, plan))
    return [state for state in states if state.at < now]


def _members(rng: random.Random, *, now: datetime) -> list[SubscriptionChange]:
    histories = [_member_states(rng, now=now) for _ in range(MEMBERS)]
    unusable = make_password(None)  # background members: nobody logs in as them
    users = User.objects.bulk_create(
        User(email=MEMBER_EMAIL.format(n=n), display_name=f"Demo member {n}", password=unusable,
             date_joined=states[0].at)
        for n, states in enumerate(histories)
    )  # fmt: skip
    memberships = Membership.objects.bulk_create(
        Membership(
            user=user,
            status=states[-1].status,
            plan=states[-1].plan,
            current_period_end=_period_end(states[-1], now=now),
            trial_end=states[0].at + timedelta(days=14)
            if states[0].status == SubscriptionStatus.TRIALING
            else None,
        )
        for user, states in zip(users, histories, strict=True)
    )
    cancellations = []
    ledger = []
    for user, membership, states in zip(users, memberships, histories, strict=True):
        ledger += _ledger("membership", membership.pk, states)
        ended = states[-1]
        if ended.status == SubscriptionStatus.CANCELED and len(states) > 1:
            reason = rng.choices([r for r, _ in REASONS], weights=[w for _, w in REASONS])[0]
            cancellations.append(
                SubscriptionCancellation(
                    user=user, plan=ended.plan, reason=reason, access_ends_at=ended.at,
                    created_at=ended.at - timedelta(days=rng.randint(1, 20)),
                )
            )  # fmt: skip
    SubscriptionCancellation.objects.bulk_create(cancellations)
    return ledger


def _period_end(state: _State, *, now: datetime) -> datetime:
    if state.status == SubscriptionStatus.CANCELED:
        return state.at
    return now + timedelta(days=30 if state.plan == "monthly" else 200)


def _teams(rng: random.Random, *, now: datetime, admin: User | None) -> list[SubscriptionChange]:
    ledger = []
    for index, (name, seats) in enumerate(TEAMS):
        at = now - timedelta(days=rng.randint(60, 340))
        states = [_State(at, SubscriptionStatus.ACTIVE, seats=seats)]
        for _ in range(rng.randint(1, 3)):
            at += timedelta(days=rng.randint(20, 60))
            if at >= now:
                break
            seats = max(3, seats + rng.choice([-2, -1, 2, 3, 5]))
            states.append(_State(at, SubscriptionStatus.ACTIVE, seats=seats))
        organisation = Organisation.objects.create(
            name=name,
            seats=seats,
            status=SubscriptionStatus.ACTIVE,
            current_period_end=now + timedelta(days=120),
        )
        ledger += _ledger("organisation", organisation.pk, states)
        if index == 0 and admin is not None:
            _team_members(rng, organisation, admin=admin, since=states[0].at, now=now)
    return ledger


def _team_members(
    rng: random.Random, organisation: Organisation, *, admin: User, since: datetime, now: datetime
) -> None:
    """The admin and TEAMMATES in the team, with a year of reads through their seats (what
    the counting's fold writes) and their last sign-ins; the last one has gone idle."""
    organisation.owner = admin
    organisation.save(update_fields=["owner"])
    unusable = make_password(None)
    people = [admin] + [
        User.objects.create(
            email=TEAMMATE_EMAIL.format(n=n), display_name=name, company=organisation.name,
            password=unusable, last_login=now - timedelta(days=days, hours=rng.randint(1, 9)),
        )
        for n, (name, days, _) in enumerate(TEAMMATES)
    ]  # fmt: skip
    monthly = [10] + [reads for _, _, reads in TEAMMATES]
    quiet = [0] + [days for _, days, _ in TEAMMATES]
    today = timezone.localdate(now)
    rows = []
    for n, (person, reads) in enumerate(zip(people, monthly, strict=True)):
        seat = OrganisationMember.objects.create(
            organisation=organisation, user=person, is_admin=person == admin
        )
        # auto_now_add wrote the load's time: the seat was taken when the licence began.
        joined = since + timedelta(days=3 * n)
        OrganisationMember.objects.filter(pk=seat.pk).update(joined_at=joined)
        year, month = today.year, today.month
        for _ in range(12):
            first = date(year, month, 1)
            last_seen = now - timedelta(days=quiet[n])
            if joined.date() < date(year, month, 28) and first <= timezone.localdate(last_seen):
                rows.append(SeatMonthReads(organisation=organisation, user=person, month=first,
                                           reads=max(0, reads + rng.randint(-3, 4))))  # fmt: skip
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    SeatMonthReads.objects.bulk_create(rows)


def _newsletter(rng: random.Random, *, now: datetime) -> None:
    rows = []
    for n in range(NEWSLETTER):
        consent = now - timedelta(
            days=int(YEAR * rng.random() ** 1.2), minutes=rng.randint(0, 1440)
        )
        confirmed = consent + timedelta(hours=rng.randint(1, 40)) if rng.random() < 0.86 else None
        if confirmed is not None and confirmed >= now:
            confirmed = None
        left = None
        if confirmed is not None and rng.random() < 0.12:
            left = confirmed + timedelta(days=rng.randint(3, 200))
            left = left if left < now else None
        rows.append(
            NewsletterSubscriber(
                email=NEWSLETTER_EMAIL.format(n=n), consent_at=consent,
                consent_source=rng.choice(["home", "report", "newsletter page"]),
                confirmed_at=confirmed, unsubscribed_at=left,
            )
        )  # fmt: skip
    NewsletterSubscriber.objects.bulk_create(rows, ignore_conflicts=True)


def _day_counts(rng: random.Random, reports: list[Report], *, now: datetime) -> None:
    """Daily counts from each report's publication, fading over READ_DAYS; today's are the
    live counters' to write."""
    today = now.date()
    rows = []
    for report in reports:
        assert report.published_at is not None  # published() has a time
        first = report.published_at.date()
        popularity = rng.uniform(40, 260)
        for offset in range(min(READ_DAYS, (today - first).days)):
            day = first + timedelta(days=offset)
            interest = popularity * 0.93**offset + rng.uniform(0, 4)
            public = int(interest * rng.uniform(0.7, 1.3))
            entitled = int(interest * rng.uniform(0.25, 0.45))
            paywall = 0 if report.is_free else int(public * rng.uniform(0.55, 0.8))
            checkouts = _some(rng, paywall, 0.035)
            paid = _some(rng, checkouts, 0.4)
            if public + entitled == 0:
                continue
            rows.append(_count(report, day, public, entitled, paywall, checkouts, paid,
                               _some(rng, entitled, 0.02)))  # fmt: skip
    ReportDayCount.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)


def _count(report: Report, day: date, *values: int) -> ReportDayCount:
    public, entitled, paywall, checkouts, paid, gifts = values
    return ReportDayCount(
        report=report, day=day, public_reads=public, entitled_reads=entitled,
        paywall_views=paywall, checkouts_started=checkouts, subscriptions_paid=paid,
        gifts_opened=gifts,
    )  # fmt: skip


def _some(rng: random.Random, trials: int, chance: float) -> int:
    """How many of `trials` happen at `chance` each (a binomial draw, counted cheaply)."""
    expected = trials * chance
    return max(
        0, min(trials, int(expected + rng.uniform(-0.5, 1.0) * expected**0.5 + rng.random()))
    )


def _notifications(rng: random.Random, reports: list[Report], *, now: datetime) -> None:
    """Finished notifications (nothing for the sweep to resume) with their outcomes."""
    addresses = dict(
        NewsletterSubscriber.objects.filter(email__startswith="demo-reader-")
        .receiving()
        .order_by("pk")
        .values_list("pk", "email")
    )
    subscribers = list(addresses)
    deliveries, events = [], []
    for report in reports:
        if ReportNotification.objects.filter(report=report).exists():
            continue
        assert report.published_at is not None
        at = min(report.published_at + timedelta(minutes=2), now)
        ReportNotification.objects.create(
            report=report, requested_at=at, enqueued_at=at, fanned_out_at=at
        )
        for subscriber in subscribers:
            roll = rng.random()
            status = (
                Delivery.Status.FAILED if roll < 0.015
                else Delivery.Status.SKIPPED if roll < 0.05
                else Delivery.Status.SENT
            )  # fmt: skip
            deliveries.append(
                Delivery(
                    report=report, subscriber_id=subscriber, status=status, attempts=1,
                    created_at=at, enqueued_at=at, sent_at=at if status == "sent" else None,
                    error="550 mailbox unavailable" if status == "failed" else "",
                )
            )  # fmt: skip
            if status == Delivery.Status.SENT:
                events += _provider_events(rng, report, addresses[subscriber], at=at)
    Delivery.objects.bulk_create(deliveries, batch_size=2000, ignore_conflicts=True)
    EmailEvent.objects.bulk_create(events, batch_size=2000, ignore_conflicts=True)
    # As the events' receiver would have: hard bounces and complaints suppress.
    EmailSuppression.objects.bulk_create(
        [
            EmailSuppression(address=e.recipient, reason=e.outcome, provider=e.provider,
                             detail="demo", created_at=e.occurred_at)
            for e in events
            if e.outcome in (EmailEvent.Outcome.BOUNCED, EmailEvent.Outcome.COMPLAINED)
        ],
        ignore_conflicts=True,
    )  # fmt: skip


def _provider_events(
    rng: random.Random, report: Report, email: str, *, at: datetime
) -> list[EmailEvent]:
    """What the provider reported about one sent notification (its tracking events)."""
    Outcome = EmailEvent.Outcome
    outcomes = [Outcome.BOUNCED] if rng.random() < 0.02 else [Outcome.DELIVERED]
    if outcomes == [Outcome.DELIVERED]:
        if rng.random() < 0.45:
            outcomes.append(Outcome.OPENED)
            if rng.random() < 0.3:
                outcomes.append(Outcome.CLICKED)
        if rng.random() < 0.004:
            outcomes.append(Outcome.COMPLAINED)
    return [
        EmailEvent(
            provider="postmark", key=f"demo:{report.pk}:{email}:{outcome}", outcome=outcome,
            event_type=outcome, recipient=email, report_id=report.pk,
            occurred_at=at + timedelta(minutes=1 + 30 * index), received_at=at,
        )
        for index, outcome in enumerate(outcomes)
    ]  # fmt: skip
