"""The Django side of `make bench`, run in the bench environment (production settings):

    python bench/probe.py session <email>    # prints a session key for that account
    python bench/probe.py queries            # prints query counts as JSON
    python bench/probe.py fanout-prepare N   # N receiving subscribers, a new draft; its id
    python bench/probe.py publish ID         # publishes it (the notification is enqueued)
    python bench/probe.py batch-queries      # SQL queries of one send batch, as JSON
    python bench/probe.py fanout-cleanup     # every bench subscriber receiving again
    python bench/probe.py mix-prepare N      # N subscribers' sessions and the mix's site map
    python bench/probe.py mix-cleanup        # the comments the mix posted deleted

Query counts come from Django's test client in this process, so they count exactly the
queries a view makes. The page cache is off here (loadtools.probe sets PAGE_CACHE_SECONDS=0) so
every view runs; the comment thread cache is not, and is measured cold and warm.
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "publisher.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY  # noqa: E402
from django.contrib.postgres.search import SearchQuery  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from publisher.cache.generations import (  # noqa: E402
    page_cache_invalidate_all,
    page_cache_invalidate_report,
)
from reports.management.commands.bench_data import (  # noqa: E402
    COMMENT_REPORTS,
    SUBSCRIBER_EMAIL,
)
from reports.models import Report, Topic, stored_search_document  # noqa: E402

HOST = {"HTTP_HOST": "127.0.0.1"}
SEARCH_WORDS = "inverter efficiency"
SEARCH = "/search/?q=inverter+efficiency"


def session(email: str) -> str:
    return _session(User.objects.get(email=email))


def _session(user: User) -> str:
    from importlib import import_module

    from django.conf import settings

    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, **HOST)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def _reading_pages(anonymous: Client, subscriber: Client) -> dict[str, int]:
    report = Report.objects.published().filter(topics__isnull=False).first()
    topic = report.topics.first()
    return {
        "home": _count(anonymous, "/"),
        "report (anonymous)": _count(anonymous, report.get_absolute_url()),
        "topic": _count(anonymous, f"/topics/{topic.slug}/"),
        "kind": _count(anonymous, f"/kinds/{report.kind}/"),
        "author": _count(anonymous, f"/authors/{report.author.slug}/"),
        "search (anonymous)": _count(anonymous, SEARCH),
        "search (subscriber)": _count(subscriber, SEARCH),
        "rss feed": _count(anonymous, "/feed/"),
        "atom feed": _count(anonymous, "/feed/atom/"),
        "topic feed": _count(anonymous, f"/feed/topics/{topic.slug}/"),
        "sitemap": _count(anonymous, "/sitemap.xml"),
    }


def queries() -> dict[str, object]:
    anonymous, subscriber = Client(), Client()
    subscriber.force_login(User.objects.get(email=SUBSCRIBER_EMAIL))
    comments = {}
    for count, slug in COMMENT_REPORTS.items():
        url = f"/reports/{slug}/"
        subscriber.get(url, **HOST)  # the page's other caches (body, related reports) warm
        # The comment thread cold, as after a new comment (and with it the page's cached
        # parts, kept under the report's generation: their citing/related queries).
        page_cache_invalidate_report(slug=slug)
        comments[count] = {"cold": _count(subscriber, url), "warm": _count(subscriber, url)}
    # Every cache cold (fragments too), so the counts are the views' own queries.
    page_cache_invalidate_all()
    at_full = _reading_pages(anonymous, subscriber)
    total = Report.objects.published().count()
    # The same pages with two published reports, one paid and one free, both matching the
    # search (each reader then gets its body matches' query answered, not cut off by the
    # cap): delete the rest in a transaction that is rolled back.
    with transaction.atomic():
        matching = (
            Report.objects.published()
            .filter(topics__isnull=False)
            .alias(document=stored_search_document())
            .filter(document=SearchQuery(SEARCH_WORDS, search_type="websearch", config="english"))
        )
        keep = [matching.filter(is_free=free).first().pk for free in (False, True)]
        Report.objects.exclude(pk__in=keep).delete()
        Topic.objects.exclude(reports__in=keep).delete()
        page_cache_invalidate_all()
        at_one = _reading_pages(anonymous, subscriber)
        transaction.set_rollback(True)
    return {
        "reports": total,
        "subscriber_report_by_comments": comments,
        "pages_at_full": at_full,
        "pages_at_two_reports": at_one,
    }


def _bench_subscribers():
    from accounts.models import NewsletterSubscriber

    return NewsletterSubscriber.objects.filter(email__startswith="bench-reader-")


def fanout_prepare(size: int) -> int:
    """Exactly `size` bench subscribers receiving, and a new draft report to publish."""
    from django.utils import timezone

    subscribers = _bench_subscribers()
    subscribers.update(unsubscribed_at=None)
    cutoff = subscribers.order_by("pk").values_list("pk", flat=True)[size : size + 1].first()
    if cutoff is not None:
        subscribers.filter(pk__gte=cutoff).update(unsubscribed_at=timezone.now())
    _vacuum("accounts_newslettersubscriber", "reports_delivery")
    template = Report.objects.get(slug="bench-report-100")
    report = Report.objects.create(
        slug=f"bench-fanout-{size}-{int(timezone.now().timestamp())}",
        title=f"Fan-out to {size:,} subscribers",
        kind=template.kind,
        author=template.author,
        teaser=template.teaser,
        body="The report itself, never in the email.",
        status=Report.Status.DRAFT,
    )
    report.topics.set(template.topics.all())
    return report.pk


def publish(report_id: int) -> float:
    """Publish (which enqueues the notification on commit); the seconds it took."""
    import time

    from reports.publishing import report_publish

    started = time.perf_counter()
    report_publish(report_id=report_id)
    return time.perf_counter() - started


def batch_queries() -> dict[str, int]:
    """Run one fan-out batch's work in this process (insert its rows, send them to the SMTP
    sink) and count its SQL queries."""
    from unittest import mock

    from django.utils import timezone

    from reports.notifications import fanout
    from reports.notifications.fanout import (
        SEND_BATCH_SIZE,
        delivery_batch_insert,
        notification_fan_out,
    )
    from reports.notifications.sending import deliveries_send

    report = Report.objects.get(pk=fanout_prepare(SEND_BATCH_SIZE))
    report.status, report.published_at = Report.Status.PUBLISHED, timezone.now()
    report.save(update_fields=["status", "published_at"])  # no notification: sent by hand
    batches: list[int] = []
    with mock.patch.object(
        fanout, "delivery_batches_enqueue", lambda batch_ids: batches.extend(batch_ids)
    ):
        notification_fan_out(report_id=report.pk)
    with CaptureQueriesContext(connection) as captured:
        delivery_ids = delivery_batch_insert(batch_id=batches[0])
        result = deliveries_send(delivery_ids=delivery_ids, claimant="bench-probe")
    return {"batch": len(delivery_ids), "queries": len(captured), "sent": result.sent}


def fanout_cleanup() -> None:
    """Every bench subscriber receiving again; the fan-out reports and their deliveries gone."""
    from reports.models import Delivery

    _bench_subscribers().update(unsubscribed_at=None)
    fanned_out = Report.objects.filter(slug__startswith="bench-fanout-")
    Delivery.objects.filter(report__in=fanned_out).delete()
    fanned_out.delete()  # and their batches
    page_cache_invalidate_all()
    _vacuum("accounts_newslettersubscriber", "reports_delivery", "reports_deliverybatch")


# The reports the load mix (bench/mix.py) posts comments to: none of bench_data's comment
# reports, whose threads keep their sizes for row 3, but among the recent reports the mix's
# subscribers read, so that their pages are rendered again after each new comment.
MIX_COMMENTED = [f"bench-report-{n}" for n in range(8)]
# The most recent reports but bench_data's comment reports: 1% of the subscribers' pages
# would be the 2 MB of a 2,000-comment thread, the p99 that one page's (row 3 measures it).
MIX_READ_REPORTS = 100


def mix_prepare(count: int) -> dict[str, object]:
    """Sessions for `count` bench subscribers (bench_data's readers with active memberships)
    and the site map the mix reads: the most recent reports, every topic and kind."""
    from accounts.models import Membership

    mix_cleanup()
    readers = User.objects.filter(
        email__startswith="bench-user-", membership__status=Membership.Status.ACTIVE
    ).order_by("pk")[:count]
    sessions = [_session(user) for user in readers]
    assert len(sessions) == count, f"{len(sessions)} bench subscribers, not {count}"
    published = Report.objects.published().filter(slug__startswith="bench-")
    read = published.exclude(slug__in=COMMENT_REPORTS.values()).order_by("-published_at")
    return {
        "sessions": sessions,
        "reports": list(read.values_list("slug", flat=True)[:MIX_READ_REPORTS]),
        "commented": MIX_COMMENTED,
        "topics": list(
            Topic.objects.filter(slug__startswith="bench-").values_list("slug", flat=True)
        ),
        "kinds": sorted(set(published.values_list("kind", flat=True))),
    }


def mix_cleanup() -> int:
    """The mix's reports as bench_data left them, without comments; how many were deleted."""
    from reports.models import Comment

    deleted, _ = Comment.objects.filter(report__slug__in=MIX_COMMENTED).delete()
    Report.objects.filter(slug__in=MIX_COMMENTED).update(comment_count=0)
    for slug in MIX_COMMENTED:
        page_cache_invalidate_report(slug=slug)
    _vacuum("reports_comment", "reports_report")
    return deleted


def _vacuum(*tables: str) -> None:
    """Clear the dead rows a run left, as autovacuum would in production (this machine's
    PostgreSQL runs without it), so that each run starts from the same state."""
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or [""]
    if command == "session":
        print(session(rest[0]))
    elif command == "queries":
        print(json.dumps(queries()))
    elif command == "fanout-prepare":
        print(fanout_prepare(int(rest[0])))
    elif command == "publish":
        print(publish(int(rest[0])))
    elif command == "batch-queries":
        print(json.dumps(batch_queries()))
    elif command == "mix-prepare":
        print(json.dumps(mix_prepare(int(rest[0]))))
    elif command == "mix-cleanup":
        print(mix_cleanup())
    elif command == "fanout-cleanup":
        fanout_cleanup()
        print("done")
    else:
        sys.exit(__doc__)
