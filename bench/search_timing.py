"""Search on the bench dataset, in-process with Django's test client (no network, no other
load): the server time (median of --runs requests after a warm-up; of it, the CPU time of
this process, Django's side) and the SQL queries of the search page for an anonymous reader
and a subscriber, common and rare words, the first page and later ones; with --explain,
EXPLAIN (ANALYZE, BUFFERS) of every query each page runs on the reports.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/publisher_bench \
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python bench/search_timing.py [--explain]

Run `manage.py bench_data` on that database and `manage.py collectstatic` first (`make
bench` does both). Production settings (DEBUG off), the search limit off as in `make
bench`; it only reads.
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "publisher.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "SECURE_SSL_REDIRECT": "false",
        "STRIPE_SECRET_KEY": "sk_test_search_timing",
        "STRIPE_WEBHOOK_SECRET": "whsec_search_timing",
        "STRIPE_PRICE_MONTHLY": "price_monthly",
        "STRIPE_PRICE_ANNUAL": "price_annual",
        "SEARCH_LIMIT_PER_MINUTE": "0",
        "SEARCH_LIMIT_PER_HOUR": "0",
    }
)

import django

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from reports.management.commands.bench_data import SUBSCRIBER_EMAIL  # noqa: E402
from reports.models import Report  # noqa: E402

# A word in every body and half the titles and teasers, on the first page, a later one and
# the last; three words and two words (bench/search.lua's); a word in 3% of the bodies and
# no public text.
SEARCHES = [
    "q=inverter",
    "q=inverter&page=5",
    "q=inverter&page=100",
    "q=heat+pump+defrost",
    "q=battery+warranty&page=3",
    "q=baxopelo",
]


def measure(client: Client, url: str, runs: int) -> tuple[float, float, int, str]:
    response = client.get(url)  # warm-up: templates, connection
    assert response.status_code == 200, (url, response.status_code)
    times, cpu = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as queries:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
    count = next(
        (line for line in response.content.decode().splitlines() if "search-page__count" in line),
        "",
    )
    summary = " ".join(count.split("<strong>")[0].split(">")[-1].split())
    return statistics.median(times) * 1000, statistics.median(cpu) * 1000, len(queries), summary


def explain(client: Client, url: str) -> None:
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                cursor.execute(sql)  # SET and RESET, in their place
                continue
            if "reports_report" not in sql:
                continue  # the session, the user, the form's topics
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
            print(f"\n--- {url}\n{sql[:400]}{'…' if len(sql) > 400 else ''}\n")
            print("\n".join(row[0] for row in cursor.fetchall()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    print(f"{Report.objects.count():,} reports")
    subscriber = Client()
    subscriber.force_login(User.objects.get(email=SUBSCRIBER_EMAIL))
    for reader, client in (("anonymous", Client()), ("subscriber", subscriber)):
        for search in SEARCHES:
            url = f"/search/?{search}"
            if args.explain:
                explain(client, url)
                continue
            wall, cpu, queries, summary = measure(client, url, args.runs)
            print(
                f"{reader:<10} {url:<30} {wall:6.1f} ms, Python {cpu:5.1f} ms CPU, "
                f"{queries} queries: {summary}"
            )


if __name__ == "__main__":
    main()
