from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.billing.reconcile import memberships_reconcile


class Command(BaseCommand):
    help = (
        "Compare every membership with Stripe and fix drift (the repair path for missed webhooks)."
    )

    def handle(self, *args: object, **options: object) -> None:
        if not settings.STRIPE_SECRET_KEY:
            raise CommandError("STRIPE_SECRET_KEY is not set: there is no Stripe to compare with.")
        result = memberships_reconcile()
        self.stdout.write(
            f"Checked {result.checked} memberships: {result.changed} corrected, "
            f"{result.failed} could not be read from Stripe."
        )
        if result.failed:
            raise CommandError(f"{result.failed} memberships could not be checked; see the log.")
