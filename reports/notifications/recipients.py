"""Who receives a report's notification: confirmed newsletter subscribers who have not opted
out of its kind and topics, except suppressed addresses (a hard bounce, a complaint), which
get a skipped delivery row saying why instead of an email."""

from django.db.models import QuerySet

from accounts.models import EmailSuppression, NewsletterSubscriber
from accounts.newsletter.services import newsletter_recipients
from reports.models import (
    NotificationPreference,
    Report,
)


def _declining(report: Report) -> QuerySet[NotificationPreference]:
    topic_ids = list(report.topics.values_list("pk", flat=True))
    return (
        NotificationPreference.objects.filter(all_reports=False)
        # Kinds are stored as a JSON list of slugs; a slug is matched with its quotes so
        # "test" never matches inside another word (portable to SQLite for `make run`).
        .exclude(kinds__icontains=f'"{report.kind}"')
        .exclude(topics__in=topic_ids)
    )


def report_recipients(*, report: Report) -> QuerySet[NewsletterSubscriber]:
    """Subscribers who receive this report: confirmed, subscribed and not opted out of it."""
    declining = _declining(report)
    return newsletter_recipients().exclude(pk__in=declining.values("subscriber_id"))


def report_audience(*, report: Report) -> QuerySet[NewsletterSubscriber]:
    """Subscribers the report is for, suppressed or not: its recipients, and the suppressed
    addresses whose delivery rows record that they were not mailed and why."""
    declining = _declining(report)
    receiving = NewsletterSubscriber.objects.receiving()
    return receiving.exclude(pk__in=declining.values("subscriber_id"))


def report_suppressed(*, report: Report) -> QuerySet[NewsletterSubscriber]:
    """The report's audience at suppressed addresses (no email goes to them)."""
    return report_audience(report=report).filter(
        email__in=EmailSuppression.objects.in_force().values("address")
    )
