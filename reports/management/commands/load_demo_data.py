"""Demo content for local development (`make run`): reports with covers and comments, topics,
authors with portraits, and one account per persona. Safe to run repeatedly; see
`reports.demo.loading`."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from reports.demo.loading import demo_load


class Command(BaseCommand):
    help = "Load demo reports, topics, authors, comments and accounts (idempotent)."

    def handle(self, *args: object, **options: object) -> None:
        summary = demo_load(now=timezone.now())
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {summary.reports} reports ({summary.scheduled} scheduled), "
                f"{summary.topics} topics, {summary.accounts} accounts, "
                f"{summary.citations} citations, {summary.comments} comments."
            )
        )
