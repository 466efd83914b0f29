"""Notify newsletter subscribers about a published report, showing progress.

Safe to run again: recipients who already have a delivery for the report are not sent it
twice. Without a worker (Celery eager, `make run`) the emails go out in this process.
"""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Sum

from publisher.progress import ProgressBar
from reports.models import Delivery, DeliveryBatch, Report
from reports.notifications.fanout import notification_fan_out
from reports.notifications.recipients import report_recipients
from reports.notifications.sweep import delivery_counts


class Command(BaseCommand):
    help = "Email newsletter subscribers about a published report (each recipient once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="The report's slug.")
        parser.add_argument(
            "--no-wait", action="store_true", help="Enqueue and return without waiting."
        )
        parser.add_argument(
            "--timeout", type=float, default=3600, help="Seconds to wait for the workers."
        )

    def handle(self, *args: object, slug: str, no_wait: bool, timeout: float, **options) -> None:
        report = Report.objects.published().defer("body").filter(slug=slug).first()
        if report is None:
            raise CommandError(f"No published report with the slug {slug!r}.")
        total = max(
            report_recipients(report=report).count(),
            Delivery.objects.filter(report=report).count(),
        )
        self.stdout.write(f"{report.title}: {total} recipient(s).")
        enqueued = notification_fan_out(report_id=report.pk)
        self.stdout.write(f"Enqueued {enqueued} email(s).")
        bar = ProgressBar(self.stdout, "sent, skipped or failed", total)
        deadline = time.monotonic() + timeout
        while not no_wait and self._unfinished(report) and time.monotonic() < deadline:
            self._show(bar, report, total)
            time.sleep(1)
        counts = self._show(bar, report, total)
        not_inserted = DeliveryBatch.objects.filter(
            report=report, inserted_at__isnull=True
        ).aggregate(n=Sum("size"))["n"]
        self.stdout.write(
            self.style.SUCCESS(
                "Sent {sent}, skipped {skipped}, failed {failed}, waiting {waiting}.".format(
                    **counts, waiting=counts["queued"] + counts["sending"] + (not_inserted or 0)
                )
            )
        )

    def _unfinished(self, report: Report) -> bool:
        return (
            DeliveryBatch.objects.filter(report=report, inserted_at__isnull=True).exists()
            or Delivery.objects.filter(
                report=report, status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
            ).exists()
        )

    def _show(self, bar: ProgressBar, report: Report, recipients: int) -> dict[str, int]:
        counts = delivery_counts(report_ids=[report.pk])[report.pk]
        # Batches insert their rows as they start: count the recipients still ahead of them.
        total = max(sum(counts.values()), recipients) or 1
        done = counts["sent"] + counts["skipped"] + counts["failed"]
        detail = f"  sent {counts['sent']} skipped {counts['skipped']} failed {counts['failed']}"
        bar.show(done, total=total, detail=detail)
        return counts
