"""What search matches a report by besides its own text: its topics' names and its author's
display name, kept in `Report.search_names`.

PostgreSQL derives both stored search vectors from the row (migration 0011), so they can
only see what the row holds; this module keeps the row's copy of the names in the other
tables. Every way those names change calls it: `report_save` (a report's topics or author),
the admin after it saves a report's topics, renaming or deleting a topic
(`reports.publishing.topic_save`, `topics_delete`), and a user's new display name or a
deleted account (`reports.signals`, since `accounts` may not import `reports`).
"""

from collections.abc import Iterable

from django.db.models import QuerySet

from accounts.models import User
from reports.models import Report, Topic

UPDATE_BATCH_SIZE = 500


def search_names_for(*, topics: Iterable[Topic], author: User | None) -> str:
    """The names a report is found by: its topics' names (sorted, so the same set always
    gives the same text), then its author's display name. Never the email address, which
    is not public."""
    names = sorted(topic.name for topic in topics)
    if author is not None and author.display_name:
        names.append(author.display_name)
    return "\n".join(names)


def reports_refresh_search_names(*, reports: QuerySet[Report]) -> int:
    """Recompute the names of `reports` from their topics and authors and write those that
    changed; returns how many changed. Rewriting a row makes PostgreSQL recompute its
    vectors from a ~30 KB body, so unchanged rows are left alone."""
    changed = []
    rows = (
        reports.order_by()
        .select_related("author")
        .prefetch_related("topics")
        .only("pk", "search_names", "author__display_name")
    )
    for report in rows.iterator(chunk_size=UPDATE_BATCH_SIZE):
        names = search_names_for(topics=report.topics.all(), author=report.author)
        if names != report.search_names:
            report.search_names = names
            changed.append(report)
    Report.objects.bulk_update(changed, ["search_names"], batch_size=UPDATE_BATCH_SIZE)
    return len(changed)
