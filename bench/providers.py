"""Row 7 of `make bench`'s table: a report published to 10,000 and 100,000 subscribers
through the running Celery worker (2 processes) with `EMAIL_URL=postmark://…` pointed at the
local fake of Postmark's batch API (tests/support/providers_fake.py, in this process).

The wall time runs from the publish call to the last batch the fake accepted; the sender's
CPU is the worker processes' user + system time over the run, per recipient; memory is the
largest worker process's peak resident set, at each size. The timed runs are
unloaded; the largest is then run once more with the anonymous report page loaded through
nginx by row 6's steady load from the publish on, and the page's p99 is reported against the
same load idle."""

import sys
import threading
import time

import psycopg
from fanout import STEADY, _counts, _MemorySampler, _restart_worker
from loadtools import REPORT, ROOT, children, measure, probe, process_cpu_seconds, wrk

sys.path.insert(0, str(ROOT))
from tests.support.providers_fake import FakeProviders

SIZES = (10_000, 100_000)


def _one_run(topology, size: int, database, fake: FakeProviders, *, page_seconds: int = 0) -> dict:
    report_id = int(probe(topology, "fanout-prepare", str(size)))
    page_during: dict = {}
    loader = threading.Thread(
        target=lambda: page_during.update(
            wrk(topology.url + REPORT, duration=page_seconds, **STEADY)
        )
    )
    worker = topology.pid("worker")
    cpu_before = process_cpu_seconds(children(worker))
    calls_before = len(fake.calls)
    fake.counts.clear()
    sampler = _MemorySampler(worker)
    sampler.start()
    started = time.monotonic()
    published = float(probe(topology, "publish", str(report_id)))
    if page_seconds:
        loader.start()
    copies_before = fake.copies
    with database.cursor() as cursor:
        while True:
            # The fake's own count first: counting 100,000 delivery rows ten times a second
            # took a core from the fan-out it measures. The rows are counted once every copy
            # is in, until the last batch's marks are.
            accepted = fake.copies - copies_before
            counts = _counts(cursor, report_id) if accepted >= size else {}
            done = sum(counts.get(status, 0) for status in ("sent", "skipped", "failed"))
            if done >= size:
                break
            if time.monotonic() - started > 1800:
                raise SystemExit(f"Provider fan-out of {size} did not finish in 30 min: {counts}")
            time.sleep(0.1)
    marked = time.monotonic() - started
    cpu = process_cpu_seconds(children(worker)) - cpu_before
    sampler.stopped.set()
    sampler.join()
    if page_seconds:
        loader.join()
    recipients_at_fake = fake.sends_per_recipient()
    return {
        "recipients": size,
        "counts": counts,
        "wall_s": fake.last_accepted - started,
        "marked_s": marked,
        "calls": len(fake.calls) - calls_before,
        "copies_at_fake": sum(recipients_at_fake.values()),
        "most_copies_of_one": max(recipients_at_fake.values(), default=0),
        "cpu_ms_per_recipient": cpu * 1000 / max(counts.get("sent", 0), 1),
        "peak_rss_mib": sampler.peak,
        "publish_s": published,
        "page_during": page_during,
    }


def measure_provider_fanout(
    topology, sizes: tuple[int, ...] = SIZES, *, page_seconds: int = 10
) -> dict:
    fake = FakeProviders(keep_copies=False).start()
    _restart_worker(topology, EMAIL_URL=f"postmark://bench-token@?api_url={fake.base_url}")
    database = psycopg.connect(
        f"postgresql://postgres@127.0.0.1:5432/{topology.database}", autocommit=True
    )
    results: dict = {"provider": "postmark", "runs": {}}
    try:
        # The page under the steady load with the worker idle, then during the largest run:
        # as long as that fan-out is expected to take, so the load covers it and no more.
        results["page_idle"] = measure(
            topology.url + REPORT, runs=1, duration=page_seconds, **STEADY
        )
        for size in sizes:
            run = _one_run(topology, size, database, fake)
            results["runs"][str(size)] = run
            probe(topology, "fanout-cleanup")
            print(
                f"    Postmark batches {size:,}: {run['wall_s']:.1f} s to the last batch, "
                f"{run['calls']} calls, {run['cpu_ms_per_recipient']:.4f} ms CPU/recipient, "
                f"peak {run['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
        # The largest fan-out once more with the page loaded from the publish on: the timed
        # runs above are unloaded, as row 5's target is about the sender.
        loaded = _one_run(topology, max(sizes), database, fake, page_seconds=page_seconds)
        results["loaded"] = loaded
        probe(topology, "fanout-cleanup")
        print(
            f"    Postmark batches {loaded['recipients']:,} with the page loaded: "
            f"{loaded['wall_s']:.1f} s, page p99 {loaded['page_during']['p99_ms']:.2f} ms",
            flush=True,
        )
    finally:
        probe(topology, "fanout-cleanup")
        database.close()
        topology.env_extra.pop("EMAIL_URL", None)
        _restart_worker(topology)
        fake.stop()
    return results
