"""Who receives a report's notification: confirmed newsletter subscribers who have not opted
out of its kind and topics, except suppressed addresses (a hard bounce, a complaint), which
get a skipped delivery row saying why instead of an email."""

from functools import lru_cache
from typing import Any

from django.db.models import F, QuerySet

from accounts.models import EmailSuppression, NewsletterSubscriber
from accounts.newsletter.services import newsletter_recipients
from reports.models import (
    NotificationPreference,
    Report,
)


def _topic_ids(report: Report) -> tuple[int, ...]:
    return tuple(sorted(report.topics.values_list("pk", flat=True)))


def _declining(kind: str, topic_ids: tuple[int, ...]) -> QuerySet[NotificationPreference]:
    return (
        NotificationPreference.objects.filter(all_reports=False)
        # Kinds are stored as a JSON list of slugs; a slug is matched with its quotes so
        # "test" never matches inside another word (portable to SQLite for `make run`).
        .exclude(kinds__icontains=f'"{kind}"')
        .exclude(topics__in=topic_ids)
    )


def _recipients(kind: str, topic_ids: tuple[int, ...]) -> QuerySet[NewsletterSubscriber]:
    declining = _declining(kind, topic_ids)
    return newsletter_recipients().exclude(pk__in=declining.values("subscriber_id"))


def _audience(kind: str, topic_ids: tuple[int, ...]) -> QuerySet[NewsletterSubscriber]:
    declining = _declining(kind, topic_ids)
    receiving = NewsletterSubscriber.objects.receiving()
    return receiving.exclude(pk__in=declining.values("subscriber_id"))


def _suppressed(kind: str, topic_ids: tuple[int, ...]) -> QuerySet[NewsletterSubscriber]:
    return _audience(kind, topic_ids).filter(
        email__in=EmailSuppression.objects.in_force().values("address")
    )


def report_recipients(*, report: Report) -> QuerySet[NewsletterSubscriber]:
    """Subscribers who receive this report: confirmed, subscribed and not opted out of it."""
    return _recipients(report.kind, _topic_ids(report))


def report_audience(*, report: Report) -> QuerySet[NewsletterSubscriber]:
    """Subscribers the report is for, suppressed or not: its recipients, and the suppressed
    addresses whose delivery rows record that they were not mailed and why."""
    return _audience(report.kind, _topic_ids(report))


def report_suppressed(*, report: Report) -> QuerySet[NewsletterSubscriber]:
    """The report's audience at suppressed addresses (no email goes to them)."""
    return _suppressed(report.kind, _topic_ids(report))


def report_recipients_sql(*, report: Report, suppressed: bool = False) -> tuple[str, Any]:
    """`report_recipients` (or `report_suppressed`) as SQL selecting `recipient_id` and
    `email`, with its parameters, for a send batch to narrow to its own subscribers.

    Compiled once per kind and topics in a process: the SQL depends on nothing else, and a
    fan-out asks for it in every batch, where building and compiling the queryset cost more
    CPU than the query took to run."""
    return _compiled(report.kind, _topic_ids(report), suppressed)


@lru_cache(maxsize=64)
def _compiled(kind: str, topic_ids: tuple[int, ...], suppressed: bool) -> tuple[str, Any]:
    chosen = (_suppressed if suppressed else _recipients)(kind, topic_ids)
    selected = chosen.order_by().annotate(recipient_id=F("pk")).values("recipient_id", "email")
    return selected.query.sql_with_params()
