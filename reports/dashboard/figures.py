"""The publisher's dashboard: each figure as a table (for the page and its CSV) and a chart.

Member, revenue and newsletter arithmetic is `accounts.figures`'; the reports' own figures
(reads, the paywall funnel, comments, gifts, notification deliveries and what the
email providers reported about them) are computed here,
each in one grouped query over the chosen months. `Figures` computes each one at most once
per request, and only those a response needs.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from accounts import figures as account_figures
from accounts.billing.money import ZERO_DECIMAL
from accounts.figures import MonthRange
from accounts.models import EmailEvent
from reports.models import Comment, Delivery, Report, ReportDayCount, ReportNotification

# The reports shown on the page and in its charts; their CSVs list every report counted.
TOP_REPORTS = 15


@dataclass(frozen=True)
class ReportCounts:
    report_id: int
    title: str
    public_reads: int
    entitled_reads: int
    paywall_views: int
    checkouts_started: int
    subscriptions_paid: int
    gifts_opened: int
    comments: int = 0

    @property
    def reads(self) -> int:
        return self.public_reads + self.entitled_reads


def ratio(part: int, whole: int) -> Decimal | None:
    """`part / whole`, None when there is no whole to divide by."""
    return Decimal(part) / whole if whole else None


def percent(value: Decimal | None) -> Decimal | str:
    """A ratio as a percentage with one decimal (12.5), or "" when it has none."""
    return "" if value is None else (value * 100).quantize(Decimal("0.1"))


def major_units(amount: int, currency: str) -> Decimal:
    """Minor units as the plain decimal a spreadsheet reads: 241700 usd as 2417.00."""
    if currency.lower() in ZERO_DECIMAL:
        return Decimal(amount)
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


_COUNTED = ("public_reads", "entitled_reads", "paywall_views", "checkouts_started",
            "subscriptions_paid", "gifts_opened")  # fmt: skip


def _report_counts(
    period: MonthRange, *, orders: tuple[str, ...], limit: int | None
) -> dict[str, list[ReportCounts]]:
    """Per report, the range's totals, most first by each of `orders` (a counted column, or
    "reads"); the `limit` first of each. Three queries: the totals of every report counted
    (summed in the database, one row per report), then the chosen reports' titles and
    their comments in the range."""
    totals: Any = (  # dicts of the annotated columns
        ReportDayCount.objects.filter(day__gte=period.starts[0].date(), day__lte=period.end.date())
        .values("report_id")
        # Named apart from the columns: an annotation called after a column hides it.
        .annotate(**{f"sum_{name}": Sum(name) for name in _COUNTED})
        .order_by()
    )
    counted = [
        ReportCounts(report_id=row["report_id"], title="",
                     **{name: row[f"sum_{name}"] for name in _COUNTED})
        for row in totals
    ]  # fmt: skip
    chosen = {
        order: sorted(counted, key=lambda r: (-getattr(r, order), r.report_id))[:limit]
        for order in orders
    }
    ids = {r.report_id for rows in chosen.values() for r in rows}
    titles = dict(Report.objects.filter(pk__in=ids).values_list("pk", "title"))
    comments = dict(
        Comment.objects.filter(
            report_id__in=ids, created_at__gte=period.starts[0], created_at__lt=period.end
        )
        .values_list("report_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {
        order: [
            replace(r, title=titles.get(r.report_id, ""), comments=comments.get(r.report_id, 0))
            for r in rows
        ]
        for order, rows in chosen.items()
    }


@dataclass(frozen=True)
class NotificationCounts:
    title: str
    requested_at: datetime
    sent: int
    skipped: int
    failed: int
    waiting: int  # queued or being sent


def _notification_counts(period: MonthRange, *, limit: int | None) -> list[NotificationCounts]:
    statuses = Delivery.Status
    rows = (
        ReportNotification.objects.filter(
            requested_at__gte=period.starts[0], requested_at__lt=period.end
        )
        .order_by("-requested_at", "-pk")
        .values("report__title", "requested_at")
        .annotate(
            sent=Count("report__deliveries", filter=Q(report__deliveries__status=statuses.SENT)),
            skipped=Count(
                "report__deliveries", filter=Q(report__deliveries__status=statuses.SKIPPED)
            ),
            failed=Count(
                "report__deliveries", filter=Q(report__deliveries__status=statuses.FAILED)
            ),
            waiting=Count(
                "report__deliveries",
                filter=Q(report__deliveries__status__in=[statuses.QUEUED, statuses.SENDING]),
            ),
        )
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        NotificationCounts(
            title=row["report__title"],
            requested_at=row["requested_at"],
            sent=row["sent"],
            skipped=row["skipped"],
            failed=row["failed"],
            waiting=row["waiting"],
        )
        for row in rows
    ]


@dataclass(frozen=True)
class OutcomeCounts:
    title: str
    delivered: int
    opened: int
    clicked: int
    bounced: int  # hard bounces; soft ones are the provider still trying
    soft_bounced: int
    complained: int
    rejected: int


_OUTCOMES = ("delivered", "opened", "clicked", "bounced", "soft_bounced", "complained",
             "rejected")  # fmt: skip


def _outcome_counts(period: MonthRange, *, limit: int | None) -> list[OutcomeCounts]:
    """What the email providers reported about each report's emails in the range (their
    tracking events, `accounts.deliverability`, which name the report in the message's
    metadata), most delivered first. One query: the title comes with the totals."""
    rows: Any = (  # dicts of the annotated columns
        EmailEvent.objects.filter(
            report_id__isnull=False,
            occurred_at__gte=period.starts[0],
            occurred_at__lt=period.end,
        )
        .values("report_id")
        .annotate(
            title=Subquery(Report.objects.filter(pk=OuterRef("report_id")).values("title")[:1]),
            **{name: Count("id", filter=Q(outcome=name)) for name in _OUTCOMES},
        )
        # Ids in metadata that name no report (deleted since) are left out.
        .filter(title__isnull=False)
        .order_by(F("delivered").desc(), "report_id")
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        OutcomeCounts(title=row["title"], **{name: row[name] for name in _OUTCOMES}) for row in rows
    ]


class Figures:
    """The figures of one range, each computed on first use."""

    def __init__(self, period: MonthRange, *, limit: int | None = TOP_REPORTS) -> None:
        self.period = period
        self.limit = limit

    @cached_property
    def _states(self) -> list[dict[str, Any]]:
        return account_figures.subscription_states(self.period)

    @cached_property
    def members(self) -> list[account_figures.MemberMonth]:
        return account_figures.members_by_month(self.period, states=self._states)

    @cached_property
    def revenue(self) -> list[account_figures.RevenueMonth]:
        return account_figures.revenue_by_month(self.period, states=self._states)

    @cached_property
    def newsletter(self) -> list[account_figures.NewsletterMonth]:
        return account_figures.newsletter_by_month(self.period)

    @cached_property
    def cancellations(self) -> list[tuple[str, int]]:
        return account_figures.cancellation_reasons(self.period)

    @cached_property
    def _reports(self) -> dict[str, list[ReportCounts]]:
        return _report_counts(self.period, orders=("paywall_views", "reads"), limit=self.limit)

    @cached_property
    def funnel(self) -> list[ReportCounts]:
        return self._reports["paywall_views"]

    @cached_property
    def reads(self) -> list[ReportCounts]:
        return self._reports["reads"]

    @cached_property
    def notifications(self) -> list[NotificationCounts]:
        return _notification_counts(self.period, limit=self.limit)

    @cached_property
    def outcomes(self) -> list[OutcomeCounts]:
        return _outcome_counts(self.period, limit=self.limit)


@dataclass(frozen=True)
class Table:
    columns: list[str]
    rows: list[list[object]]


def _members_table(figures: Figures) -> Table:
    statuses = [str(s) for s in account_figures.MEMBER_STATUSES]
    return Table(
        ["month", *statuses],
        [[m.month, *(m.by_status[s] for s in statuses)] for m in figures.members],
    )


def _plans_table(figures: Figures) -> Table:
    return Table(
        ["month", "monthly", "annual", "team_licences", "team_seats"],
        [
            [m.month, m.by_plan["monthly"], m.by_plan["annual"], m.organisations, m.seats]
            for m in figures.members
        ],
    )


def _money_cells(currency: str, *amounts: int) -> list[object]:
    return [major_units(amount, currency) for amount in amounts]


def _mrr_table(figures: Figures) -> Table:
    return Table(
        ["month", "currency", "mrr_start", "mrr_end"],
        [
            [r.month, r.currency.upper(), *_money_cells(r.currency, r.mrr_start, r.mrr_end)]
            for r in figures.revenue
        ],
    )


def _movements_table(figures: Figures) -> Table:
    return Table(
        ["month", "currency", "new", "expansion", "contraction", "churn"],
        [
            [r.month, r.currency.upper(),
             *_money_cells(r.currency, r.new, r.expansion, r.contraction, r.churn)]
            for r in figures.revenue
        ],
    )  # fmt: skip


def _churn_table(figures: Figures) -> Table:
    return Table(
        ["month", "currency", "mrr_start", "contraction", "churn", "expansion",
         "gross_revenue_churn_percent", "net_revenue_churn_percent"],
        [
            [r.month, r.currency.upper(),
             *_money_cells(r.currency, r.mrr_start, r.contraction, r.churn, r.expansion),
             percent(r.gross_churn), percent(r.net_churn)]
            for r in figures.revenue
        ],
    )  # fmt: skip


def _funnel_table(figures: Figures) -> Table:
    return Table(
        ["report", "paywall_views", "checkouts_started", "paid",
         "view_to_checkout_percent", "checkout_to_paid_percent", "view_to_paid_percent"],
        [
            [r.title, r.paywall_views, r.checkouts_started, r.subscriptions_paid,
             percent(ratio(r.checkouts_started, r.paywall_views)),
             percent(ratio(r.subscriptions_paid, r.checkouts_started)),
             percent(ratio(r.subscriptions_paid, r.paywall_views))]
            for r in figures.funnel
        ],
    )  # fmt: skip


def _reads_table(figures: Figures) -> Table:
    return Table(
        ["report", "public_reads", "entitled_reads", "comments", "gifts_opened"],
        [
            [r.title, r.public_reads, r.entitled_reads, r.comments, r.gifts_opened]
            for r in figures.reads
        ],
    )


def _newsletter_table(figures: Figures) -> Table:
    return Table(
        ["month", "receiving", "signups", "confirmations", "unsubscribes"],
        [
            [n.month, n.receiving, n.signups, n.confirmations, n.unsubscribes]
            for n in figures.newsletter
        ],
    )


def _deliveries_table(figures: Figures) -> Table:
    return Table(
        ["report", "requested_at", "sent", "skipped", "failed", "waiting"],
        [
            [n.title, timezone.localtime(n.requested_at).isoformat(timespec="minutes"),
             n.sent, n.skipped, n.failed, n.waiting]
            for n in figures.notifications
        ],
    )  # fmt: skip


def _outcomes_table(figures: Figures) -> Table:
    return Table(
        ["report", *_OUTCOMES],
        [[o.title, *(getattr(o, name) for name in _OUTCOMES)] for o in figures.outcomes],
    )


def _cancellations_table(figures: Figures) -> Table:
    return Table(["reason", "cancellations"], [[r, n] for r, n in figures.cancellations])


@dataclass(frozen=True)
class Figure:
    slug: str
    title: str
    description: str  # what the chart shows: its image's alternative text
    table: Callable[[Figures], Table]


FIGURES = {
    figure.slug: figure
    for figure in [
        Figure("members", "Members by status",
               "Individual memberships at each month's end by Stripe status.", _members_table),
        Figure("plans", "Members per plan and team seats",
               "Memberships holding access per plan, team licences and their seats, at each "
               "month's end.", _plans_table),
        Figure("mrr", "Monthly recurring revenue",
               "MRR at each month's end; annual plans and seats count a twelfth.",
               _mrr_table),
        Figure("movements", "MRR movements",
               "MRR gained from new and expanding subscriptions and lost to contraction and "
               "churn, per month.", _movements_table),
        Figure("churn", "Gross and net revenue churn",
               "Gross churn: (contraction + churn) / MRR at the month's start. Net churn "
               "also subtracts expansion.", _churn_table),
        Figure("funnel", "Conversion funnel per report",
               "Paywall views, checkouts started and subscriptions paid from each report's "
               "paywall.", _funnel_table),
        Figure("reads", "Reads, comments and gifts per report",
               "Page views by readers who may not read the body (public) and by those who "
               "may (entitled), comments and gift links opened.", _reads_table),
        Figure("newsletter", "Newsletter subscribers",
               "Addresses receiving the emails at each month's end (right axis), signups, "
               "confirmations and unsubscribes per month.", _newsletter_table),
        Figure("deliveries", "Notification deliveries",
               "Each report notification's emails by delivery status.", _deliveries_table),
        Figure("outcomes", "Deliveries by provider outcome",
               "What the email provider reported for each report's emails: delivered, "
               "opened, clicked, bounced (hard and soft), spam complaints and rejections.",
               _outcomes_table),
        Figure("cancellations", "Cancellation reasons",
               "Why readers set their subscriptions to end, as they told us.",
               _cancellations_table),
    ]
}  # fmt: skip
