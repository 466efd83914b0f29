"""10,000 provider tracking events posted to the webhooks through gunicorn, as fast as the
client can send them: all applied, none twice, and the events a second.

    .venv/bin/python bench/tracking.py [--events 10000] [--connections 16]

Runs alone (its own database `publisher_bench_tracking`, emptied of events first, and its
own gunicorn on port 8497 with deploy/gunicorn.conf.py and production settings), and as a
row of `make bench`. The events are deliveries (60%), opens (30%) and hard bounces (10%),
spread over Amazon SES, Postmark, Mailgun and Resend, each shaped and authenticated as that
provider sends it (tests/support/provider_events.py); every request is built and signed
before the clock starts. Then 1,000 of them are posted again, as providers redeliver, and
the database must hold exactly one event per original, one suppression per bounced address.
"""

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "deploy" / "prodlike"))

import psycopg  # noqa: E402
import run as prodlike  # noqa: E402 (deploy/prodlike/run.py)

from tests.support import provider_events as pe  # noqa: E402

PORT = 8497
DATABASE = "publisher_bench_tracking"
REPORT_ID = 1


def topology() -> prodlike.Topology:
    return prodlike.Topology(
        name="bench-tracking", app_port=PORT, http_port=8500, database=DATABASE, redis_db=12,
        demo_data=False,
        env_extra={
            "ANYMAIL_WEBHOOK_SECRET": pe.WEBHOOK_SECRET,
            "MAILGUN_WEBHOOK_SIGNING_KEY": pe.MAILGUN_KEY,
            "RESEND_SIGNING_SECRET": pe.RESEND_SECRET,
            "GUNICORN_ACCESS_LOG": "",
        },
    )  # fmt: skip


def build_requests(count: int) -> tuple[list[pe.Request], dict[str, int]]:
    """`count` distinct events, each to its own address; the expected outcome counts."""
    at = datetime.now(UTC) - timedelta(minutes=1)
    requests, expected = [], {"delivered": 0, "opened": 0, "bounced": 0}
    for n in range(count):
        email = f"reader{n}@example.com"
        kind = "bounced" if n % 10 == 0 else "opened" if n % 10 < 4 else "delivered"
        expected[kind] += 1
        provider = n % 4
        if provider == 0:
            record = {"delivered": "Delivery", "opened": "Open", "bounced": "Bounce"}[kind]
            request = pe.postmark(record, email=email, at=at, event_id=n + 1,
                                  report_id=REPORT_ID)  # fmt: skip
        elif provider == 1:
            event = {"delivered": "Delivery", "opened": "Open", "bounced": "Bounce"}[kind]
            request = pe.ses(event, email=email, at=at, sns_id=f"sns-{n}", report_id=REPORT_ID)
        elif provider == 2:
            event = {"delivered": "delivered", "opened": "opened", "bounced": "failed"}[kind]
            request = pe.mailgun(event, email=email, at=at, report_id=REPORT_ID)
        else:
            event = {"delivered": "email.delivered", "opened": "email.opened",
                     "bounced": "email.bounced"}[kind]  # fmt: skip
            request = pe.resend(event, email=email, at=at, svix_id=f"msg_{n}",
                                report_id=REPORT_ID)  # fmt: skip
        requests.append(request)
    return requests, expected


def post_all(requests: list[pe.Request], connections: int) -> tuple[float, dict[int, int]]:
    """Post every request over `connections` keep-alive connections; (seconds, statuses)."""
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    chunks = [requests[i::connections] for i in range(connections)]

    def worker(chunk: list[pe.Request]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
        seen: dict[int, int] = {}
        for path, body, headers in chunk:
            for _attempt in range(2):  # gunicorn closes idle keep-alive connections
                try:
                    conn.request("POST", path, body=body, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    break
                except (http.client.HTTPException, ConnectionError):
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            seen[response.status] = seen.get(response.status, 0) + 1
        conn.close()
        with lock:
            for status, n in seen.items():
                statuses[status] = statuses.get(status, 0) + n

    threads = [threading.Thread(target=worker, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, statuses


def database_counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT outcome, count(*) FROM accounts_emailevent GROUP BY outcome"
        ).fetchall()
        suppressions = conn.execute("SELECT count(*) FROM accounts_emailsuppression").fetchone()
    return {**dict(rows), "suppressions": suppressions[0] if suppressions else 0}


def measure_tracking(*, events: int = 10_000, connections: int = 16) -> dict:
    top = topology()
    for sub in ["run", "logs"]:
        (top.dir / sub).mkdir(parents=True, exist_ok=True)
    prodlike.ensure_database(DATABASE, top.postgres_port)
    top.manage("migrate", "--noinput", stdout=subprocess.DEVNULL)
    dsn = top.env()["DATABASE_URL"]
    with psycopg.connect(dsn) as conn:
        conn.execute("TRUNCATE accounts_emailevent, accounts_emailsuppression")
    requests, expected = build_requests(events)
    log = (top.dir / "logs" / "gunicorn.log").open("ab")
    server = subprocess.Popen(
        [str(prodlike.BIN / "gunicorn"), "publisher.wsgi", "--config", "deploy/gunicorn.conf.py"],
        cwd=ROOT, env={**top.env(), "GUNICORN_BIND": f"127.0.0.1:{PORT}"}, stdout=log,
        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        prodlike.wait_for(lambda: prodlike.port_open(PORT), timeout=60, what="gunicorn")
        seconds, statuses = post_all(requests, connections)
        redelivered = requests[: min(1000, events)]
        _, again = post_all(redelivered, connections)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)
    counts = database_counts(dsn)
    applied = {k: counts.get(k, 0) for k in expected}
    return {
        "events": events,
        "connections": connections,
        "seconds": seconds,
        "events_per_s": events / seconds,
        "statuses": statuses,
        "redelivered": len(redelivered),
        "redelivered_statuses": again,
        "expected": expected,
        "applied": applied,
        "suppressions": counts["suppressions"],
        "all_applied_once": applied == expected
        and counts["suppressions"] == expected["bounced"]
        and statuses == {200: events}
        and again == {200: len(redelivered)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    result = measure_tracking(events=args.events, connections=args.connections)
    print(json.dumps(result, indent=2))
    print(
        f"{result['events']:,} tracking events in {result['seconds']:.1f} s: "
        f"{result['events_per_s']:,.0f} events/s; all applied, none twice: "
        f"{'yes' if result['all_applied_once'] else 'NO'}"
    )
    sys.exit(0 if result["all_applied_once"] else 1)


if __name__ == "__main__":
    main()
