"""The publisher's dashboard on the bench dataset: server time and SQL queries of the page,
each chart and each CSV, measured in-process with Django's test client (no network).

    DATABASE_URL=postgres://…/publisher_bench .venv/bin/python bench/dashboard.py

Run `manage.py bench_data` on that database first. Prints one line per address: the median
of 5 requests after a warm-up, and the number of queries of the last one.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "publisher.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402

from accounts.models import NewsletterSubscriber, SubscriptionChange, User  # noqa: E402
from reports.dashboard.figures import FIGURES  # noqa: E402
from reports.management.commands.bench_data import EDITOR_EMAIL  # noqa: E402
from reports.models import ReportDayCount  # noqa: E402

RUNS = 5


def measure(client: Client, url: str) -> tuple[float, int]:
    client.get(url)  # warm-up: templates, connection
    times = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times) * 1000, len(queries)


def main() -> None:
    print(
        f"{User.objects.count():,} users, {NewsletterSubscriber.objects.count():,} newsletter "
        f"subscribers, {SubscriptionChange.objects.count():,} ledger rows, "
        f"{ReportDayCount.objects.count():,} day counts"
    )
    client = Client()
    client.force_login(User.objects.get(email=EDITOR_EMAIL))
    urls = [reverse("dashboard:page"), reverse("dashboard:page") + "?months=36"]
    urls += [reverse("dashboard:chart", args=[slug]) for slug in FIGURES]
    urls += [reverse("dashboard:csv", args=[slug]) for slug in FIGURES]
    for url in urls:
        milliseconds, queries = measure(client, url)
        print(f"{url:<40} {milliseconds:8.1f} ms  {queries:3d} queries")


if __name__ == "__main__":
    main()
