"""Pending notification deliveries for Prometheus, counted when it scrapes
(METRICS_COLLECTORS in settings; publisher/metrics/views.py serves them).

Pending is `queued` (waiting for a send task) and `sending` (claimed by one). A fan-out
leaves up to one row per subscriber pending for a few minutes; rows that stay pending mean
the workers are down, behind, or stuck. One grouped query reads both statuses' counts and
oldest rows, which the partial indexes on those two statuses keep small.
"""

from collections.abc import Iterator
from datetime import datetime

from django.db import DatabaseError
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from reports.models import Delivery

PENDING = (Delivery.Status.QUEUED, Delivery.Status.SENDING)


def deliveries_pending_summary() -> dict[str, tuple[int, datetime | None]]:
    """Each pending status's number of rows and its oldest row's creation time."""
    rows = (
        Delivery.objects.filter(status__in=PENDING)
        .order_by()
        .values("status")
        .annotate(count=Count("pk"), oldest=Min("created_at"))
    )
    summary: dict[str, tuple[int, datetime | None]] = {status: (0, None) for status in PENDING}
    for row in rows:
        summary[row["status"]] = (row["count"], row["oldest"])
    return summary


class PendingDeliveriesCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        count = GaugeMetricFamily(
            "gridline_deliveries_pending",
            "Notification emails not sent yet, by status (queued, sending).",
            labels=["status"],
        )
        age = GaugeMetricFamily(
            "gridline_deliveries_oldest_pending_age_seconds",
            "Age of the oldest notification email not sent yet, by status (0: none).",
            labels=["status"],
        )
        try:
            summary = deliveries_pending_summary()
        except DatabaseError:
            return  # the database is down: the scrape still reports everything else
        now = timezone.now()
        for status, (number, oldest) in summary.items():
            count.add_metric([status], number)
            age.add_metric([status], max(0.0, (now - oldest).total_seconds()) if oldest else 0)
        yield count
        yield age
