"""Publish scheduled reports whose time has come: what the beat task does every minute,
for `make run` (no beat process) or an operator who wants it now."""

from django.core.management.base import BaseCommand

from reports.publishing import reports_publish_due


class Command(BaseCommand):
    help = "Publish scheduled reports whose publish_at has passed."

    def handle(self, *args: object, **options: object) -> None:
        published = reports_publish_due()
        self.stdout.write(self.style.SUCCESS(f"Published {len(published)} scheduled report(s)."))
