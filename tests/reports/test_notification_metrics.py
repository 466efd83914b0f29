"""Pending notification deliveries on the Prometheus endpoint: how many, and how old the
oldest is, read in one query at scrape time."""

from datetime import UTC, datetime, timedelta

import time_machine

from reports.models import Delivery
from reports.notifications.metrics import PendingDeliveriesCollector
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory
from tests.support.metrics import sample, scrape

NOW = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)


def _deliveries(*statuses_and_ages: tuple[str, timedelta]) -> None:
    report = ReportFactory()
    for status, age in statuses_and_ages:
        Delivery.objects.create(
            report=report,
            subscriber=NewsletterSubscriberFactory(),
            status=status,
            created_at=NOW - age,
        )


def test_pending_deliveries_and_the_oldest_ones_age(
    client, metrics_token, db, django_assert_max_num_queries
):
    _deliveries(
        ("queued", timedelta(minutes=10)),
        ("queued", timedelta(minutes=2)),
        ("sending", timedelta(minutes=5)),
        ("sent", timedelta(hours=3)),
        ("failed", timedelta(hours=2)),
    )

    scrape(client)  # the first request of a process also loads the office ranges
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(1):
        samples = scrape(client)

    assert sample(samples, "gridline_deliveries_pending", status="queued") == 2
    assert sample(samples, "gridline_deliveries_pending", status="sending") == 1
    age = "gridline_deliveries_oldest_pending_age_seconds"
    assert sample(samples, age, status="queued") == 600
    assert sample(samples, age, status="sending") == 300


def test_nothing_pending_reports_zeros(db, django_assert_num_queries):
    _deliveries(("sent", timedelta(minutes=1)))

    with django_assert_num_queries(1):
        families = list(PendingDeliveriesCollector().collect())

    values = {(f.name, s.labels["status"]): s.value for f in families for s in f.samples}
    assert values == {
        ("gridline_deliveries_pending", "queued"): 0,
        ("gridline_deliveries_pending", "sending"): 0,
        ("gridline_deliveries_oldest_pending_age_seconds", "queued"): 0,
        ("gridline_deliveries_oldest_pending_age_seconds", "sending"): 0,
    }
