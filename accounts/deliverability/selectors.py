"""Reads: which addresses must not be mailed. Every sending path asks these."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError

from accounts.models import EmailSuppression
from accounts.newsletter.services import newsletter_normalize_email


def addresses_suppressed(emails: Iterable[str]) -> set[str]:
    """Which of `emails` (as given) are suppressed; one query, whatever their number."""
    by_normalised: dict[str, list[str]] = {}
    for email in emails:
        try:
            normalised = newsletter_normalize_email(email)
        except ValidationError:
            continue
        by_normalised.setdefault(normalised, []).append(email)
    if not by_normalised:
        return set()
    found = (
        EmailSuppression.objects.in_force()
        .filter(address__in=list(by_normalised))
        .values_list("address", flat=True)
    )
    return {email for address in found for email in by_normalised[address]}
