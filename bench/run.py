"""`make bench`: performance figures of the production topology, measured on this machine.

Builds the dataset (`manage.py bench_data`) in its own database, starts the production
topology (deploy/prodlike/run.py's pieces, on ports 8490-8492 with Redis database 12), loads
it with wrk (3 runs per figure, medians) and prints one table. Every ratio is against a
baseline measured in the same run: nginx serving the exact bytes of the anonymous report page
as a static file. Writes the table as Markdown and the raw numbers as JSON to bench/results/.

    python bench/run.py [--duration 10] [--connections 32] [--skip-fanout] [--skip-tracking]
        [--skip-nodes] [--skip-mix] [--mix-seconds 60] [--keep-running]
    python bench/run.py --only-provider [--provider-sizes 10000,100000]   # row 7 alone
    python bench/run.py --only-nodes                # row 9 alone: one node against two
    python bench/run.py --only-mix [--mix-seconds 60]   # row 10 alone: the load mix
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.prodlike.webclient, for the load mix
sys.path.insert(0, str(ROOT / "deploy" / "prodlike"))

import run as prodlike  # noqa: E402 (deploy/prodlike/run.py)

sys.path.insert(0, str(ROOT / "bench"))
from loadtools import (  # noqa: E402
    BIN,
    REPORT,
    browser_cookies,
    children,
    fetch,
    gunicorn_times,
    measure,
    probe,
    process_cpu_seconds,
    wrk,
)

RESULTS = ROOT / "bench" / "results"
BASELINE = "/__baseline/report.html"
APP_MISS_PORT = 8492
SEARCH_LUA = ROOT / "bench" / "search.lua"


def bench_topology() -> prodlike.Topology:
    topology = prodlike.Topology(
        name="bench", http_port=8490, app_port=8491, smtp_port=8435,
        database="publisher_bench", redis_db=12, keep_mail_bodies=False, demo_data=False,
        smtp_nice=10,
        # wrk is one address running thousands of anonymous searches: the search figure
        # measures search, not the per-address limit's 429 page.
        env_extra={"SEARCH_LIMIT_PER_MINUTE": "0", "SEARCH_LIMIT_PER_HOUR": "0"},
    )  # fmt: skip
    topology.nginx_server_extra = f"""
        # The baseline: the anonymous report page's bytes, as a static file.
        location ^~ /__baseline/ {{
            alias {topology.dir / "baseline"}/;
            access_log off;
        }}"""
    return topology


def start_miss_server(topology: prodlike.Topology) -> subprocess.Popen:
    """A second gunicorn like the first with the page cache off: every request a miss."""
    log = topology.dir / "logs" / "gunicorn-miss-access.log"
    log.unlink(missing_ok=True)
    env = {
        **topology.env(),
        "PAGE_CACHE_SECONDS": "0",
        "GUNICORN_BIND": f"127.0.0.1:{APP_MISS_PORT}",
        "GUNICORN_ACCESS_LOG": str(log),
    }
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "publisher.wsgi", "--config", "deploy/gunicorn.conf.py"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    prodlike.wait_for(lambda: prodlike.port_open(APP_MISS_PORT), timeout=60, what="gunicorn")
    return process


# The run --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--only-fanout", action="store_true", help="(for profiling)")
    parser.add_argument("--skip-tracking", action="store_true")
    parser.add_argument("--skip-nodes", action="store_true")
    parser.add_argument(
        "--only-nodes", action="store_true", help="only row 9: one web/worker node against two"
    )
    parser.add_argument("--skip-mix", action="store_true")
    parser.add_argument(
        "--only-mix", action="store_true", help="only row 10: the load mix through nginx"
    )
    parser.add_argument("--mix-seconds", type=int, default=60, help="seconds of the load mix")
    parser.add_argument("--keep-running", action="store_true")
    parser.add_argument(
        "--only-provider", action="store_true", help="only row 7: batches to the fake Postmark"
    )
    parser.add_argument(
        "--provider-sizes", default="10000,100000", help="recipients of row 7's runs"
    )
    args = parser.parse_args()
    provider_sizes = tuple(int(size) for size in args.provider_sizes.split(","))
    load = {"runs": args.runs, "duration": args.duration, "connections": args.connections}

    prodlike.ensure_debian_package("wrk", "wrk")
    if args.only_nodes:
        from nodes import measure_nodes
        from table import _nodes_rows

        nodes = measure_nodes(load)
        print(json.dumps(nodes, indent=2))
        for row in _nodes_rows(nodes):
            print(" | ".join(row))
        return
    topology = bench_topology()
    figures: dict[str, object] = {"started": datetime.now(UTC).isoformat(), "load": load}
    topology.prepare()
    prodlike.log("bench_data (idempotent: quick when the dataset exists)")
    topology.manage("bench_data")
    (topology.dir / "baseline").mkdir(exist_ok=True)
    topology.start()
    miss_server = None
    try:
        if args.only_provider:
            from providers import measure_provider_fanout

            prodlike.log("fan-out through the worker in batches to the fake Postmark API")
            figures["provider_fanout"] = measure_provider_fanout(
                topology, provider_sizes, page_seconds=args.duration
            )
            print(json.dumps(figures, indent=2))
            from table import _provider_rows

            for row in _provider_rows(figures["provider_fanout"], None):
                print(" | ".join(row))
            return
        if args.only_mix:
            from mix import measure_mix
            from table import _mix_rows

            figures["mix"] = measure_mix(topology, seconds=args.mix_seconds)
            print(json.dumps(figures["mix"], indent=2))
            for row in _mix_rows(figures["mix"]):
                print(" | ".join(row))
            return
        if not args.only_fanout:
            figures.update(measure_pages(topology, load))
            if not args.skip_mix:
                from mix import measure_mix

                figures["mix"] = measure_mix(topology, seconds=args.mix_seconds)
            miss_server = start_miss_server(topology)
            figures.update(measure_miss(topology, load, miss_server))
            prodlike.log("query counts (in-process, at 10,000 reports and at two)")
            figures["queries"] = json.loads(probe(topology, "queries"))
        if not args.skip_fanout:
            from fanout import measure_fanout

            prodlike.log("fan-out through the worker to the SMTP sink")
            figures["fanout"] = measure_fanout(topology, load)
            from providers import measure_provider_fanout

            prodlike.log("fan-out through the worker in batches to the fake Postmark API")
            figures["provider_fanout"] = measure_provider_fanout(
                topology, provider_sizes, page_seconds=args.duration
            )
    except BaseException:
        (RESULTS / "partial.json").parent.mkdir(parents=True, exist_ok=True)
        (RESULTS / "partial.json").write_text(json.dumps(figures, indent=2))
        raise
    finally:
        if miss_server is not None:
            os.killpg(miss_server.pid, 15)
            miss_server.wait(timeout=60)
        if not args.keep_running:
            topology.stop()
    if args.only_fanout:
        print(json.dumps(figures, indent=2))
        return
    if not args.skip_tracking:
        # After the topology stopped: the webhooks' gunicorn has the machine to itself.
        from tracking import measure_tracking

        prodlike.log("10,000 provider tracking events to the webhooks (bench/tracking.py)")
        figures["tracking"] = measure_tracking()
    if not args.skip_nodes:
        # Its own topology of two web and two worker nodes, once the bench's has stopped.
        from nodes import measure_nodes

        prodlike.log("one web and worker node against two (bench/nodes.py)")
        figures["nodes"] = measure_nodes(load)
    write_results(figures)


def measure_pages(topology: prodlike.Topology, load: dict) -> dict:
    nginx, app = topology.url, f"http://127.0.0.1:{topology.app_port}"
    # The baseline: exactly the bytes nginx and Django send an anonymous reader.
    _, _, page = fetch(nginx + REPORT)
    (topology.dir / "baseline" / "report.html").write_bytes(page)
    assert fetch(nginx + BASELINE)[2] == page
    subscriber = probe(topology, "session", "bench-subscriber@example.com")
    cookie = {"Cookie": browser_cookies(nginx + REPORT, session=subscriber)}
    # Correctness under the speed, on the real topology: a subscriber's page is private and
    # bypasses nginx's cache; the anonymous page after it has no body and no "Log out".
    _, headers, body = fetch(nginx + REPORT, cookie)
    assert "private" in headers["Cache-Control"] and headers["X-Cache-Status"] == "BYPASS"
    assert b"Log out" in body and b'id="report-body"' in body
    _, headers, body = fetch(nginx + REPORT)
    assert "public" in headers["Cache-Control"] and b"Log out" not in body
    assert b'id="report-body"' not in body
    # With the cookies a browser holds, the subscriber's page is the shared rendering's hit.
    for count in (0, 20, 200):
        _, headers, body = fetch(f"{app}/reports/bench-comments-{count}/", cookie)
        assert headers.get("X-Entitled-Page") in ("hit", "miss"), headers
        assert b'id="report-body"' in body

    prodlike.log(f"wrk: {load['runs']} runs of {load['duration']} s per figure")
    results = {"page_bytes": len(page)}
    results["static"] = measure(nginx + BASELINE, **load)
    results["nginx_anonymous"] = measure(nginx + REPORT, **load)
    results["app_anonymous_warm"] = measure(app + REPORT, **load)
    for count in (0, 20, 200):
        results[f"app_subscriber_{count}"] = measure(
            f"{app}/reports/bench-comments-{count}/", headers=cookie, **load
        )
    results["search"] = measure(f"{app}/search/?q=inverter", script=SEARCH_LUA, **load)
    # The same searches by a subscriber, matched against every body.
    results["search_subscriber"] = measure(
        f"{app}/search/?q=inverter", script=SEARCH_LUA, headers=cookie, **load
    )
    return results


def measure_miss(topology: prodlike.Topology, load: dict, server: subprocess.Popen) -> dict:
    url = f"http://127.0.0.1:{APP_MISS_PORT}{REPORT}"
    results = {"app_anonymous_miss": measure(url, **load)}
    # The CPU the web processes spend per request under load...
    pids = children(server.pid)
    before = process_cpu_seconds(pids)
    sample = wrk(url, duration=load["duration"], connections=load["connections"])
    spent = process_cpu_seconds(pids) - before
    results["miss_cpu_ms_per_request"] = spent * 1000 / sample["requests"]
    # ...and the server time per request without contention: one connection, gunicorn's clock.
    log = topology.dir / "logs" / "gunicorn-miss-access.log"
    offset = log.stat().st_size
    wrk(url, duration=load["duration"], connections=1)
    results["miss_server_ms_p50"] = statistics.median(gunicorn_times(log, offset))
    return results


def write_results(figures: dict) -> None:
    from table import markdown_table

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    table = markdown_table(figures)
    (RESULTS / f"{stamp}.json").write_text(json.dumps(figures, indent=2))
    (RESULTS / f"{stamp}.md").write_text(table + "\n")
    (RESULTS / "latest.md").write_text(table + "\n")
    (RESULTS / "latest.json").write_text(json.dumps(figures, indent=2))
    print()
    print(table)
    print(f"\nWritten to {RESULTS / (stamp + '.md')} and .json")


if __name__ == "__main__":
    main()
