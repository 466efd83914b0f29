"""Row 7 of `make bench`'s table: a report published to 10,000 and 100,000 subscribers
through the running Celery worker (2 processes) with `EMAIL_URL=postmark://…` pointed at the
local fake of Postmark's batch API (tests/support/providers_fake.py, in this process).

The wall time runs from the publish call to the last batch the fake accepted; the sender's
CPU is the worker processes' user + system time over the run, per recipient; memory is the
largest worker process's peak resident set, at each size."""

import sys
import time

import psycopg
from fanout import _counts, _MemorySampler, _restart_worker
from loadtools import ROOT, children, probe, process_cpu_seconds

sys.path.insert(0, str(ROOT))
from tests.support.providers_fake import FakeProviders

SIZES = (10_000, 100_000)


def _one_run(topology, size: int, database, fake: FakeProviders) -> dict:
    report_id = int(probe(topology, "fanout-prepare", str(size)))
    worker = topology.pid("worker")
    cpu_before = process_cpu_seconds(children(worker))
    calls_before = len(fake.calls)
    fake.counts.clear()
    sampler = _MemorySampler(worker)
    sampler.start()
    started = time.monotonic()
    published = float(probe(topology, "publish", str(report_id)))
    with database.cursor() as cursor:
        while True:
            counts = _counts(cursor, report_id)
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
    }


def measure_provider_fanout(topology, sizes: tuple[int, ...] = SIZES) -> dict:
    fake = FakeProviders(keep_copies=False).start()
    _restart_worker(topology, EMAIL_URL=f"postmark://bench-token@?api_url={fake.base_url}")
    database = psycopg.connect(
        f"postgresql://postgres@127.0.0.1:5432/{topology.database}", autocommit=True
    )
    results: dict = {"provider": "postmark", "runs": {}}
    try:
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
    finally:
        probe(topology, "fanout-cleanup")
        database.close()
        topology.env_extra.pop("EMAIL_URL", None)
        _restart_worker(topology)
        fake.stop()
    return results
