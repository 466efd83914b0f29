"""The Django side of `make bench`, run in the bench environment (production settings):

    python bench/probe.py session <email>    # prints a session key for that account
    python bench/probe.py queries            # prints query counts as JSON

Query counts come from Django's test client in this process, so they count exactly the
queries a view makes. The page cache is off here (bench/run.py sets PAGE_CACHE_SECONDS=0) so
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
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from publisher.caching import page_cache_invalidate_report  # noqa: E402
from reports.management.commands.bench_data import (  # noqa: E402
    COMMENT_REPORTS,
    SUBSCRIBER_EMAIL,
)
from reports.models import Report, Topic  # noqa: E402

HOST = {"HTTP_HOST": "127.0.0.1"}
SEARCH = "/search/?q=inverter+efficiency"


def session(email: str) -> str:
    from importlib import import_module

    from django.conf import settings

    user = User.objects.get(email=email)
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
        page_cache_invalidate_report(slug=slug)
        url = f"/reports/{slug}/"
        comments[count] = {"cold": _count(subscriber, url), "warm": _count(subscriber, url)}
    at_full = _reading_pages(anonymous, subscriber)
    total = Report.objects.published().count()
    # The same pages with a single published report: delete the rest in a transaction that
    # is rolled back.
    with transaction.atomic():
        keep = Report.objects.published().filter(topics__isnull=False).first()
        Report.objects.exclude(pk=keep.pk).delete()
        Topic.objects.exclude(reports=keep).delete()
        at_one = _reading_pages(anonymous, subscriber)
        transaction.set_rollback(True)
    return {
        "reports": total,
        "subscriber_report_by_comments": comments,
        "pages_at_full": at_full,
        "pages_at_one_report": at_one,
    }


if __name__ == "__main__":
    if sys.argv[1:2] == ["session"]:
        print(session(sys.argv[2]))
    elif sys.argv[1:2] == ["queries"]:
        print(json.dumps(queries()))
    else:
        sys.exit(__doc__)
