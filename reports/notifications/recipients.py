"""Who receives a report's notification: confirmed newsletter subscribers who have not opted
out of its kind and topics."""

from django.db.models import QuerySet

from accounts.models import NewsletterSubscriber
from accounts.newsletter.services import newsletter_recipients
from reports.models import (
    NotificationPreference,
    Report,
)


def report_recipients(*, report: Report) -> QuerySet[NewsletterSubscriber]:
    """Subscribers who receive this report: confirmed, subscribed and not opted out of it."""
    topic_ids = list(report.topics.values_list("pk", flat=True))
    declining = (
        NotificationPreference.objects.filter(all_reports=False)
        # Kinds are stored as a JSON list of slugs; a slug is matched with its quotes so
        # "test" never matches inside another word (portable to SQLite for `make run`).
        .exclude(kinds__icontains=f'"{report.kind}"')
        .exclude(topics__in=topic_ids)
    )
    return newsletter_recipients().exclude(pk__in=declining.values("subscriber_id"))
