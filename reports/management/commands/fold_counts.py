"""Fold the counts waiting in Redis into the database now: what beat's task does every five
minutes, for an operator who wants today's figures on the dashboard at once."""

from django.core.management.base import BaseCommand, CommandError

from reports.counting.folding import day_counts_fold
from reports.counting.store import COUNT_ERRORS, counting_client


class Command(BaseCommand):
    help = "Fold the report counters kept in Redis into the daily counts in the database."

    def handle(self, *args: object, **options: object) -> None:
        if counting_client() is None:
            raise CommandError("Counting is off: set COUNTING_REDIS_URL (or REDIS_URL).")
        try:
            result = day_counts_fold()
        except COUNT_ERRORS as error:
            raise CommandError(f"Redis did not answer: {error}") from error
        self.stdout.write(
            self.style.SUCCESS(f"Folded {result.counts} count(s) from {result.hashes} hash(es).")
        )
