"""The publisher's dashboard: each figure's arithmetic on a hand-made history, the CSVs,
who may see it, the range it accepts, and its constant number of queries."""

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.figures import (
    cancellation_reasons,
    members_by_month,
    month_range,
    newsletter_by_month,
    revenue_by_month,
)
from accounts.models import EmailEvent, SubscriptionCancellation, SubscriptionChange
from reports.dashboard.figures import FIGURES, TOP_REPORTS, Figures
from reports.models import Comment, Delivery, ReportDayCount, ReportNotification
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

ZONE = ZoneInfo("America/New_York")  # the site's time zone in the tests' settings
NOW = datetime(2026, 6, 15, 12, tzinfo=ZONE)
MEMBERSHIP, ORGANISATION = SubscriptionChange.Kind.MEMBERSHIP, SubscriptionChange.Kind.ORGANISATION


def _on(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 9, tzinfo=ZONE)


def _history(holder: int, *states, kind=MEMBERSHIP) -> None:
    """States of one subscription: (at, status, plan, mrr, seats), each until the next."""
    previous = 0
    for index, (at, status, plan, mrr, seats) in enumerate(states):
        until = states[index + 1][0] if index + 1 < len(states) else None
        SubscriptionChange.objects.create(
            kind=kind, holder_id=holder, at=at, until=until, status=status, plan=plan,
            seats=seats, mrr=mrr, previous_mrr=previous,
        )  # fmt: skip
        previous = mrr


@pytest.fixture
def history(settings):
    settings.TIME_ZONE = "America/New_York"
    # A: monthly since March, switches to annual in May (contraction 483).
    _history(
        1, (_on(3, 10), "active", "monthly", 2900, 0), (_on(5, 5), "active", "annual", 2417, 0)
    )
    # B: a trial in April, paid from April 16 (new), canceled in May (churn).
    _history(2, (_on(4, 2), "trialing", "monthly", 0, 0),
             (_on(4, 16), "active", "monthly", 2900, 0),
             (_on(5, 20), "canceled", "monthly", 0, 0))  # fmt: skip
    # C: annual since February, past due in June (still counted: no movement).
    _history(
        3, (_on(2, 1), "active", "annual", 2417, 0), (_on(6, 3), "past_due", "annual", 2417, 0)
    )
    # E: ended before the range.
    _history(4, (_on(1, 5), "active", "monthly", 2900, 0), (_on(2, 5), "canceled", "monthly", 0, 0))
    # F: a trial that started in June.
    _history(5, (_on(6, 10), "trialing", "monthly", 0, 0))
    # A team licence: 5 seats since March, 8 from May 10 (expansion 7250).
    _history(1, (_on(3, 1), "active", "", 12083, 5), (_on(5, 10), "active", "", 19333, 8),
             kind=ORGANISATION)  # fmt: skip


@pytest.fixture
def period():
    return month_range(months=3, now=NOW)


def test_the_range_is_calendar_months_in_the_site_zone_up_to_now(period):
    assert period.labels == ["2026-04", "2026-05", "2026-06"]
    assert period.starts[0] == datetime(2026, 4, 1, tzinfo=ZONE)
    assert period.end == NOW


def test_members_by_status_and_plan_at_each_months_end(history, period):
    months = members_by_month(period)
    assert [m.by_status for m in months] == [
        {"active": 3, "trialing": 0, "past_due": 0, "canceled": 1},
        {"active": 2, "trialing": 0, "past_due": 0, "canceled": 2},
        {"active": 1, "trialing": 1, "past_due": 1, "canceled": 2},
    ]
    assert [m.by_plan for m in months] == [
        {"monthly": 2, "annual": 1},
        {"monthly": 0, "annual": 2},
        {"monthly": 1, "annual": 2},
    ]
    assert [(m.organisations, m.seats) for m in months] == [(1, 5), (1, 8), (1, 8)]


def test_mrr_and_its_movements_per_month(history, period):
    april, may, june = revenue_by_month(period)
    assert (april.mrr_start, april.new, april.expansion, april.contraction, april.churn,
            april.mrr_end) == (17400, 2900, 0, 0, 0, 20300)  # fmt: skip
    assert (may.mrr_start, may.new, may.expansion, may.contraction, may.churn, may.mrr_end) == (
        20300, 0, 7250, 483, 2900, 24167,
    )  # fmt: skip
    assert (june.mrr_start, june.new, june.expansion, june.contraction, june.churn,
            june.mrr_end) == (24167, 0, 0, 0, 0, 24167)  # fmt: skip
    for month in (april, may, june):
        assert month.currency == "usd"
        moved = month.new + month.expansion - month.contraction - month.churn
        assert month.mrr_end - month.mrr_start == moved


def test_gross_and_net_revenue_churn(history, period):
    april, may, _ = revenue_by_month(period)
    assert april.gross_churn == 0
    assert may.gross_churn == Decimal(483 + 2900) / 20300
    assert may.net_churn == Decimal(483 + 2900 - 7250) / 20300
    assert round(may.gross_churn * 100, 1) == Decimal("16.7")
    assert round(may.net_churn * 100, 1) == Decimal("-19.0")


def test_churn_has_no_ratio_without_revenue_at_the_start(period):
    _history(9, (_on(5, 2), "active", "monthly", 2900, 0))
    april, may, _ = revenue_by_month(period)
    assert april.mrr_start == 0 and april.gross_churn is None and april.net_churn is None
    assert may.new == 2900


def test_each_currency_is_counted_on_its_own(period):
    SubscriptionChange.objects.create(kind=MEMBERSHIP, holder_id=7, at=_on(4, 3), status="active",
                                      plan="monthly", mrr=2500, currency="eur")  # fmt: skip
    _history(8, (_on(4, 4), "active", "monthly", 2900, 0))
    rows = {(r.month, r.currency): r.mrr_end for r in revenue_by_month(period)}
    assert rows[("2026-04", "eur")] == 2500
    assert rows[("2026-04", "usd")] == 2900


def test_newsletter_receiving_signups_confirmations_unsubscribes(period):
    NewsletterSubscriberFactory(consent_at=_on(3, 1), confirmed_at=_on(3, 2))
    NewsletterSubscriberFactory(consent_at=_on(4, 3), confirmed_at=_on(4, 4))
    NewsletterSubscriberFactory(
        consent_at=_on(5, 2), confirmed_at=_on(5, 3), unsubscribed_at=_on(6, 5)
    )
    NewsletterSubscriberFactory(consent_at=_on(6, 1), confirmed_at=None)  # never confirmed
    months = newsletter_by_month(period)
    assert [(m.receiving, m.signups, m.confirmations, m.unsubscribes) for m in months] == [
        (2, 1, 1, 0),
        (3, 1, 1, 0),
        (2, 1, 0, 1),
    ]


def test_cancellation_reasons_in_the_range(period):
    for reason, at in [("too_expensive", _on(4, 2)), ("too_expensive", _on(5, 2)),
                       ("not_reading", _on(6, 1)), ("", _on(5, 9)),
                       ("not_reading", _on(1, 1))]:  # fmt: skip
        SubscriptionCancellation.objects.create(reason=reason, created_at=at)
    counted = dict(cancellation_reasons(period))
    assert counted["It is too expensive"] == 2
    assert counted["I am not reading enough"] == 1  # January's is outside the range
    assert counted["No reason given"] == 1
    assert cancellation_reasons(period)[0] == ("It is too expensive", 2)


def _counts(report, day, **values):
    ReportDayCount.objects.create(report=report, day=day, **values)


def test_the_funnel_and_reads_per_report(period):
    report, other = ReportFactory(title="Heat pumps in the cold"), ReportFactory(title="Inverters")
    _counts(report, date(2026, 4, 2), paywall_views=120, checkouts_started=12, subscriptions_paid=3,
            public_reads=150, entitled_reads=40, gifts_opened=2)  # fmt: skip
    _counts(report, date(2026, 6, 14), paywall_views=80, checkouts_started=8, subscriptions_paid=2,
            public_reads=90, entitled_reads=10)  # fmt: skip
    _counts(report, date(2025, 6, 14), paywall_views=999, checkouts_started=99)  # outside
    _counts(other, date(2026, 5, 1), paywall_views=10, public_reads=500)
    Comment.objects.create(report=report, body="x", body_html="<p>x</p>", created_at=_on(5, 1))
    Comment.objects.create(report=report, body="y", body_html="<p>y</p>", created_at=_on(1, 1))
    figures = Figures(period)

    funnel = FIGURES["funnel"].table(figures)
    assert funnel.columns == ["report", "paywall_views", "checkouts_started", "paid",
                              "view_to_checkout_percent", "checkout_to_paid_percent",
                              "view_to_paid_percent"]  # fmt: skip
    assert funnel.rows[0] == ["Heat pumps in the cold", 200, 20, 5, Decimal("10.0"),
                              Decimal("25.0"), Decimal("2.5")]  # fmt: skip
    assert funnel.rows[1] == ["Inverters", 10, 0, 0, Decimal("0.0"), "", Decimal("0.0")]

    reads = FIGURES["reads"].table(figures)
    assert reads.rows == [["Inverters", 500, 0, 0, 0], ["Heat pumps in the cold", 240, 50, 1, 2]]


def test_each_notifications_deliveries_by_status(period):
    report = ReportFactory(title="Batteries")
    ReportNotification.objects.create(report=report, requested_at=_on(5, 1))
    for n, status in enumerate(["sent", "sent", "failed", "skipped", "queued"]):
        subscriber = NewsletterSubscriberFactory(email=f"d{n}@example.com")
        Delivery.objects.create(report=report, subscriber=subscriber, status=status)
    table = FIGURES["deliveries"].table(Figures(period))
    assert table.columns == ["report", "requested_at", "sent", "skipped", "failed", "waiting"]
    assert table.rows == [["Batteries", _on(5, 1).isoformat(timespec="minutes"), 2, 1, 1, 1]]


# The page --------------------------------------------------------------------------------


def test_the_admin_index_links_to_the_dashboard(client, editor):
    client.force_login(editor)
    response = client.get(reverse("admin:index"))
    assert reverse("dashboard:page") in response.content.decode()


@pytest.mark.parametrize("name", ["page", "chart", "csv"])
def test_readers_never_see_the_dashboard(client, subscriber, name):
    url = reverse(f"dashboard:{name}", kwargs={} if name == "page" else {"slug": "mrr"})
    assert client.get(url).status_code == 302  # to the admin's login
    client.force_login(subscriber)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.parametrize("months", ["abc", "13", "-1", "12' OR 1=1", "1" * 400])
def test_a_range_not_offered_gets_a_clear_message(client, editor, months):
    client.force_login(editor)
    page = client.get(reverse("dashboard:page"), {"months": months})
    assert page.status_code == 400
    assert "Choose a range from the list" in page.content.decode()
    for name in ("chart", "csv"):
        response = client.get(reverse(f"dashboard:{name}", args=["mrr"]), {"months": months})
        assert response.status_code == 400
        assert "Choose a range from the list" in response.content.decode()


def test_an_unknown_figure_is_not_found(client, editor):
    client.force_login(editor)
    assert client.get(reverse("dashboard:chart", args=["nope"])).status_code == 404
    assert client.get(reverse("dashboard:csv", args=["nope"])).status_code == 404


@time_machine.travel(NOW, tick=False)
def test_the_page_has_a_chart_a_table_and_a_csv_per_figure(client, editor, history):
    client.force_login(editor)
    response = client.get(reverse("dashboard:page"), {"months": "3"})
    assert response.status_code == 200
    html = response.content.decode()
    for slug, figure in FIGURES.items():
        assert f"{reverse('dashboard:chart', args=[slug])}?months=3" in html
        assert f"{reverse('dashboard:csv', args=[slug])}?months=3" in html
        assert f'<caption id="{slug}-caption">{figure.title}</caption>' in html
    assert '<th scope="row">2026-05</th><td>USD</td><td>203.00</td><td>241.67</td>' in html.replace(
        "\n", ""
    )
    assert response["Cache-Control"].startswith("max-age=0")


@time_machine.travel(NOW, tick=False)
def test_each_chart_is_an_svg_without_script(client, editor, history):
    client.force_login(editor)
    for slug in FIGURES:
        response = client.get(reverse("dashboard:chart", args=[slug]), {"months": "3"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("image/svg+xml")
        body = response.content.decode()
        assert "<svg" in body and "<script" not in body
        assert "prefers-color-scheme" in body
        assert "script-src" not in response["Content-Security-Policy"]
        assert "default-src 'none'" in response["Content-Security-Policy"]


@time_machine.travel(NOW, tick=False)
def test_the_mrr_csv_columns_and_rows(client, editor, history):
    client.force_login(editor)
    response = client.get(reverse("dashboard:csv", args=["churn"]), {"months": "3"})
    assert response["Content-Disposition"] == 'attachment; filename="churn-3-months-2026-06-15.csv"'
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["month", "currency", "mrr_start", "contraction", "churn", "expansion",
                       "gross_revenue_churn_percent", "net_revenue_churn_percent"]  # fmt: skip
    assert rows[2] == ["2026-05", "USD", "203.00", "4.83", "29.00", "72.50", "16.7", "-19.0"]


@time_machine.travel(NOW, tick=False)
def test_a_csv_quotes_a_title_a_spreadsheet_would_run(client, editor):
    report = ReportFactory(title='=HYPERLINK("http://x")')
    _counts(report, date(2026, 6, 1), public_reads=3)
    client.force_login(editor)
    response = client.get(reverse("dashboard:csv", args=["reads"]))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["report", "public_reads", "entitled_reads", "comments", "gifts_opened"]
    assert rows[1][0] == '\'=HYPERLINK("http://x")'


PAGE_QUERIES = 12


def _grow(n: int, *, first: int) -> None:
    users = UserFactory.create_batch(n)
    for index, user in enumerate(users):
        _history(first + index, (_on(4, 1 + index % 20), "active", "monthly", 2900, 0),
                 (_on(5, 1 + index % 20), "canceled", "monthly", 0, 0))  # fmt: skip
        report = ReportFactory()
        _counts(report, date(2026, 5, 1 + index % 20), paywall_views=index, public_reads=index)
        ReportNotification.objects.create(report=report, requested_at=_on(5, 2))
        NewsletterSubscriberFactory(consent_at=_on(4, 2), confirmed_at=_on(4, 3))
        Comment.objects.create(report=report, author=user, body="c", body_html="<p>c</p>",
                               created_at=_on(5, 3))  # fmt: skip
        SubscriptionCancellation.objects.create(user=user, reason="other", created_at=_on(5, 4))
        for outcome in ("delivered", "opened", "bounced"):
            _event(report, outcome, key=f"{first + index}-{outcome}")


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@time_machine.travel(NOW, tick=False)
def test_the_page_chart_and_csv_queries_do_not_grow_with_the_data(client, editor):
    client.force_login(editor)
    urls = [reverse("dashboard:page"), reverse("dashboard:chart", args=["reads"]),
            reverse("dashboard:csv", args=["funnel"])]  # fmt: skip
    _grow(2, first=1000)
    small = [_queries(client, url) for url in urls]
    _grow(30, first=2000)
    assert [_queries(client, url) for url in urls] == small
    # The session, then the ledger's states (members and revenue share them), the MRR
    # movements, the newsletter, the cancellations, the reports' totals with their titles
    # and comments (the funnel and the reads share them), the deliveries and the providers'
    # outcomes. A chart or a
    # CSV computes its own figure only.
    assert small == [PAGE_QUERIES, 4, 4]


def test_the_demo_data_gives_every_chart_a_year_of_history(demo_media):
    call_command("load_demo_data", verbosity=0)
    figures = Figures(month_range(months=12, now=timezone.now()))
    assert all(m.by_status["active"] > 0 for m in figures.members[1:])
    assert sum(m.by_status["trialing"] + m.by_status["past_due"] for m in figures.members) > 0
    assert all(m.seats > 0 for m in figures.members[-3:])
    revenue = figures.revenue
    assert all(r.mrr_end > 0 for r in revenue[1:])
    for movement in ("new", "expansion", "contraction", "churn"):
        assert sum(getattr(r, movement) for r in revenue) > 0, movement
    assert sum(n for _, n in figures.cancellations) > 5
    assert len(figures.funnel) == TOP_REPORTS and figures.funnel[0].subscriptions_paid > 0
    assert figures.reads[0].public_reads > figures.reads[0].entitled_reads > 0
    assert all(n.receiving > 0 for n in figures.newsletter[1:])
    assert any(n.unsubscribes for n in figures.newsletter)
    assert figures.notifications and figures.notifications[0].sent > 100
    # A second load leaves the history alone.
    changes = SubscriptionChange.objects.count()
    call_command("load_demo_data", verbosity=0)
    assert SubscriptionChange.objects.count() == changes


def _event(report, outcome: str, *, key: str, at=None) -> None:
    EmailEvent.objects.create(
        provider="postmark", key=key, outcome=outcome, event_type=outcome,
        recipient="r@example.com", report_id=report.pk, occurred_at=at or _on(5, 5),
    )  # fmt: skip


@time_machine.travel(NOW, tick=False)
def test_provider_outcomes_per_report(client, editor):
    read, quiet = ReportFactory(title="Read widely"), ReportFactory(title="Quiet")
    for n in range(3):
        _event(read, "delivered", key=f"d{n}")
    _event(read, "opened", key="o1")
    _event(read, "clicked", key="c1")
    _event(read, "bounced", key="b1")
    _event(read, "soft_bounced", key="s1")
    _event(quiet, "complained", key="x1")
    _event(quiet, "rejected", key="r1")
    _event(quiet, "delivered", key="old", at=_on(1, 5))  # before the three months
    EmailEvent.objects.create(provider="postmark", key="gone", outcome="delivered",
                              event_type="delivered", report_id=999_999,
                              occurred_at=_on(5, 5))  # fmt: skip

    table = FIGURES["outcomes"].table(Figures(month_range(months=3, now=timezone.now())))

    assert table.columns == ["report", "delivered", "opened", "clicked", "bounced",
                             "soft_bounced", "complained", "rejected"]  # fmt: skip
    assert table.rows == [["Read widely", 3, 1, 1, 1, 1, 0, 0], ["Quiet", 0, 0, 0, 0, 0, 1, 1]]
    client.force_login(editor)
    response = client.get(reverse("dashboard:csv", args=["outcomes"]), {"months": "3"})
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1] == ["Read widely", "3", "1", "1", "1", "1", "0", "0"]
