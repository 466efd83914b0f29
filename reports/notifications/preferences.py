"""Newsletter content preferences: every report, or only chosen kinds and topics."""

from django.db import transaction

from accounts.models import NewsletterSubscriber
from reports.models import NotificationPreference, Report, Topic


def notification_preference_for(*, subscriber: NewsletterSubscriber) -> NotificationPreference:
    """The subscriber's preference, or an unsaved one meaning "every report"."""
    preference = NotificationPreference.objects.filter(subscriber=subscriber).first()
    return preference or NotificationPreference(subscriber=subscriber, all_reports=True)


def notification_preference_update(
    *,
    subscriber: NewsletterSubscriber,
    all_reports: bool,
    kinds: list[str],
    topics: list[Topic],
) -> NotificationPreference:
    valid_kinds = [kind for kind in Report.Kind.values if kind in set(kinds)]
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.update_or_create(
            subscriber=subscriber,
            defaults={"all_reports": all_reports, "kinds": [] if all_reports else valid_kinds},
        )
        preference.topics.set([] if all_reports else topics)
    return preference
