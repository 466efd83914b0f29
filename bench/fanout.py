"""Rows 5 and 6 of `make bench`'s table: publish one report to 10,000 and then 100,000 newsletter
subscribers through the running Celery worker (2 processes) and the loopback SMTP sink, and
load the anonymous report page through nginx meanwhile."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
from loadtools import REPORT, ROOT, children, fetch, measure, probe, process_cpu_seconds, wrk

SIZES = (10_000, 100_000)
# Row 6 compares the page's p99 under the same steady, unsaturated load (16 connections,
# 5 ms between requests each) while idle and while the fan-out runs.
STEADY = {"connections": 16, "script": ROOT / "bench" / "steady.lua"}
PAGE_SIZE = 4096
# Row 6's paced reference: 1,000 messages a second from the 2 worker processes, which still
# fans out to 100,000 within row 5's target of 120 s.
PACED_RATE = 500


def _rss_mib(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/statm").read_text().split()
    except FileNotFoundError:
        return 0.0
    return int(fields[1]) * PAGE_SIZE / 2**20


class _MemorySampler(threading.Thread):
    """The largest resident set of any worker process, sampled every 100 ms."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root, self.peak, self.peak_total = root, 0.0, 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.1):
            sizes = [_rss_mib(pid) for pid in children(self.root)]
            self.peak = max(self.peak, *sizes)
            self.peak_total = max(self.peak_total, sum(sizes))


def _page_beside_busy_loops(url: str, duration: int) -> dict:
    """The page under the same steady load beside two busy loops at idle scheduling priority
    (SCHED_IDLE, one per core): the p99 that any CPU-bound background work costs the page on
    this machine, however low its priority. Row 6's ratio is read against it."""
    loop = ["chrt", "--idle", "0", sys.executable, "-c", "while True: pass"]
    loops = [subprocess.Popen(loop) for _ in range(2)]
    try:
        return measure(url, runs=1, duration=duration, **STEADY)
    finally:
        for process in loops:
            process.kill()
            process.wait()


def _counts(cursor, report_id: int) -> dict[str, int]:
    cursor.execute(
        "SELECT status, count(*) FROM reports_delivery WHERE report_id = %s GROUP BY status",
        [report_id],
    )
    return dict(cursor.fetchall())


def _fanned_out(cursor, report_id: int) -> float | None:
    cursor.execute(
        "SELECT extract(epoch FROM fanned_out_at - requested_at) FROM reports_reportnotification"
        " WHERE report_id = %s AND fanned_out_at IS NOT NULL",
        [report_id],
    )
    row = cursor.fetchone()
    return float(row[0]) if row else None


def _one_run(topology, size: int, database, *, load: dict | None) -> dict:
    report_id = int(probe(topology, "fanout-prepare", str(size)))
    worker = topology.pid("worker")
    pids = children(worker)
    cpu_before = process_cpu_seconds(pids)
    sampler = _MemorySampler(worker)
    sampler.start()
    page_during: dict = {}
    if load:

        def loaded() -> None:
            page_during.update(wrk(topology.url + REPORT, duration=load["duration"] * 2, **STEADY))

        loader = threading.Thread(target=loaded)
    started = time.monotonic()
    published = float(probe(topology, "publish", str(report_id)))
    if load:
        # The load starts once the publish's retired page is cached again (bench/providers.py)
        fetch(topology.url + REPORT)
        loader.start()
    enqueue_s = None
    with database.cursor() as cursor:
        while True:
            counts = _counts(cursor, report_id)
            if enqueue_s is None:
                enqueue_s = _fanned_out(cursor, report_id)
            done = sum(counts.get(status, 0) for status in ("sent", "skipped", "failed"))
            if enqueue_s is not None and done >= size:
                break
            if time.monotonic() - started > 1800:
                raise SystemExit(f"Fan-out of {size} did not finish in 30 minutes: {counts}")
            time.sleep(0.1)
    wall = time.monotonic() - started
    cpu = process_cpu_seconds(children(worker)) - cpu_before
    sampler.stopped.set()
    sampler.join()
    if load:
        loader.join()
    return {
        "recipients": size,
        "counts": counts,
        "wall_s": wall,
        "messages_per_s": counts.get("sent", 0) / wall,
        "cpu_ms_per_message": cpu * 1000 / max(counts.get("sent", 0), 1),
        "peak_rss_mib": sampler.peak,
        "peak_rss_total_mib": sampler.peak_total,
        "publish_s": published,
        "enqueue_s": enqueue_s,
        "page_during": page_during,
    }


def _restart_worker(topology, **env: str) -> None:
    """Restart the worker with these settings added to its environment; return once ready.
    Its supervisor too, which starts it with the environment it read when it started."""
    log = topology.dir / "logs" / "worker.log"
    topology.stop(["supervisor", "worker"])
    offset = log.stat().st_size
    topology.env_extra = {**topology.env_extra, **env}
    topology.start_worker()
    topology.start_supervisor()
    deadline = time.monotonic() + 60
    while b" ready." not in log.read_bytes()[offset:]:
        if time.monotonic() > deadline:
            raise SystemExit(f"The worker did not start; see {log}.")
        time.sleep(0.2)


def _paced_run(topology, database, load: dict) -> dict:
    """The 100,000 fan-out again with NOTIFY_SEND_RATE set: what slowing it buys the page."""
    before = dict(topology.env_extra)
    _restart_worker(topology, NOTIFY_SEND_RATE=str(PACED_RATE))
    try:
        run = _one_run(topology, SIZES[-1], database, load=load)
    finally:
        topology.env_extra = before
        _restart_worker(topology)
    run["rate_per_process"] = PACED_RATE
    print(
        f"    paced fan-out {SIZES[-1]:,}: {run['wall_s']:.1f} s, "
        f"page p99 {run['page_during']['p99_ms']:.2f} ms",
        flush=True,
    )
    return run


def measure_fanout(topology, load: dict) -> dict:
    database = psycopg.connect(
        f"postgresql://postgres@127.0.0.1:5432/{topology.database}", autocommit=True
    )
    try:
        batch = json.loads(probe(topology, "batch-queries"))
        results: dict = {"batch": batch, "runs": {}}
        idle = measure(topology.url + REPORT, runs=1, duration=load["duration"] * 2, **STEADY)
        busy_loops = _page_beside_busy_loops(topology.url + REPORT, load["duration"] * 2)
        for size in SIZES:
            run = _one_run(topology, size, database, load=load if size == SIZES[-1] else None)
            run["batch_size"], run["queries_per_batch"] = batch["batch"], batch["queries"]
            results["runs"][str(size)] = run
            print(
                f"    fan-out {size:,}: {run['wall_s']:.1f} s, "
                f"{run['messages_per_s']:.0f}/s, {run['cpu_ms_per_message']:.3f} ms CPU/msg, "
                f"peak {run['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
        probe(topology, "fanout-cleanup")
        results["paced"] = _paced_run(topology, database, load)
        results["page_idle"] = idle
        results["page_beside_busy_loops"] = busy_loops
        results["page_during"] = results["runs"][str(SIZES[-1])]["page_during"]
    finally:
        probe(topology, "fanout-cleanup")
        database.close()
    return results
