"""Row 7 of `make bench`'s table: a report published to 10,000 and 100,000 subscribers
through the running Celery worker (2 processes) with `EMAIL_URL=postmark://…` pointed at the
local fake of Postmark's batch API (tests/support/providers_fake.py), run as the topology's
`providers` service at nice 10 like the SMTP sink: it stands in for a service on another
machine, so its own work (reading 4 MB of JSON a call) must not be what the page waits on.

The wall time runs from the publish call to the last batch the fake accepted; the sender's
CPU is the worker processes' user + system time over the run, per recipient; memory is the
largest worker process's peak resident set, at each size. The timed runs are unloaded; the
largest is then run once more with the anonymous report page loaded through nginx by row 6's
steady load from the publish on (once the page is cached again), and the page's p99 is
reported against the same load idle."""

import json
import threading
import time
import urllib.request

import psycopg
from fanout import STEADY, _counts, _MemorySampler, _restart_worker
from loadtools import REPORT, children, fetch, measure, probe, process_cpu_seconds, wrk

SIZES = (10_000, 100_000)
WARM_UP = 8_000  # four send tasks: both worker processes take some
FAKE_PORT = 8436


def _fake(method: str = "GET", path: str = "/_fake/summary") -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{FAKE_PORT}{path}", method=method)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        body = response.read()
    return json.loads(body) if body else {}


def _one_run(topology, size: int, database, *, page_seconds: int = 0) -> dict:
    report_id = int(probe(topology, "fanout-prepare", str(size)))
    page_during: dict = {}
    loader = threading.Thread(
        target=lambda: page_during.update(
            wrk(topology.url + REPORT, duration=page_seconds, **STEADY)
        )
    )
    worker = topology.pid("worker")
    cpu_before = process_cpu_seconds(children(worker))
    _fake("DELETE", "/_fake/sent")
    sampler = _MemorySampler(worker)
    sampler.start()
    started = time.monotonic()
    published = float(probe(topology, "publish", str(report_id)))
    if page_seconds:
        # Publishing retires the cached pages; the load starts once the page is cached
        # again, or its first readers would wait on nginx's cache lock (it polls every
        # 500 ms) and the p99 would measure the purge rather than the fan-out.
        fetch(topology.url + REPORT)
        loader.start()
    with database.cursor() as cursor:
        while True:
            # The fake's count first: counting 100,000 delivery rows ten times a second took
            # a core from the fan-out it measures. The rows are counted once every copy is
            # in, until the last batch's marks are.
            accepted = _fake()["copies"]
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
    at_fake = _fake(path="/_fake/summary?most")
    return {
        "recipients": size,
        "counts": counts,
        # the fake's clock is this machine's time.monotonic(), as `started` is
        "wall_s": at_fake["last_accepted"] - started,
        "marked_s": marked,
        "calls": at_fake["calls"],
        "copies_at_fake": at_fake["copies"],
        "addresses_at_fake": at_fake["addresses"],
        "most_copies_of_one": at_fake["most_copies_of_one"],
        "cpu_ms_per_recipient": cpu * 1000 / max(counts.get("sent", 0), 1),
        "peak_rss_mib": sampler.peak,
        "publish_s": published,
        "page_during": page_during,
    }


def measure_provider_fanout(
    topology, sizes: tuple[int, ...] = SIZES, *, page_seconds: int = 10
) -> dict:
    topology.email_provider, topology.provider_port = "postmark", FAKE_PORT
    topology.start_providers()
    _restart_worker(topology)  # its environment now names the fake (Topology.env)
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
        # A restarted worker's first tasks pay for imports, the URL resolver and the
        # templates' compilation, once per process (about 0.6 s of CPU each): a short fan-out
        # first, as production's long-lived workers have paid it long before.
        _one_run(topology, WARM_UP, database)
        probe(topology, "fanout-cleanup")
        for size in sizes:
            run = _one_run(topology, size, database)
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
        loaded = _one_run(topology, max(sizes), database, page_seconds=page_seconds)
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
        topology.stop(["providers"])
        topology.email_provider = ""
        _restart_worker(topology)
    return results
