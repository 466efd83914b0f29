"""Row 8 of `make bench`'s table: one machine's figures against two nodes' on the same machine.

A topology of two web nodes behind nginx's upstream and two worker nodes on one broker
(deploy/prodlike/run.py, `web_nodes`, `worker_nodes`), on the bench's dataset. Through nginx:
the anonymous report page (served from nginx's cache) and a subscriber's page (past the cache,
to a node) with one web node in the upstream, then two; then the fan-out of one report to
10,000 subscribers with one worker node, then two. Each figure's baseline is nginx serving the
anonymous page's bytes as a static file, measured in the same run.

All nodes share this machine's two cores, so two nodes here show what the second costs and
that the work is shared, not what a second machine adds: deploy/README.md reads them.
"""

import time

import psycopg
import run as prodlike  # deploy/prodlike/run.py (bench/run.py puts it on the path)
from loadtools import REPORT, browser_cookies, fetch, measure, probe

BASELINE = "/__baseline/report.html"
FANOUT_SIZE = 10_000


def nodes_topology() -> prodlike.Topology:
    topology = prodlike.Topology(
        name="bench-nodes", http_port=8520, app_port=8521, smtp_port=8445, objects_port=8446,
        database="publisher_bench", redis_db=12, keep_mail_bodies=False, demo_data=False,
        smtp_nice=10, web_nodes=2, worker_nodes=2,
        env_extra={"SEARCH_LIMIT_PER_MINUTE": "0", "SEARCH_LIMIT_PER_HOUR": "0"},
    )  # fmt: skip
    topology.nginx_server_extra = f"""
        location ^~ /__baseline/ {{
            alias {topology.dir / "baseline"}/;
            access_log off;
        }}"""
    return topology


def _upstream(topology: prodlike.Topology, web_nodes: int) -> None:
    """nginx's upstream with this many web nodes (reloaded: no request is dropped)."""
    topology.web_nodes = web_nodes
    topology._start_nginx()


def _pages(topology: prodlike.Topology, load: dict, cookie: dict[str, str]) -> dict:
    return {
        "static": measure(topology.url + BASELINE, **load),
        "anonymous": measure(topology.url + REPORT, **load),
        "subscriber": measure(topology.url + REPORT, headers=cookie, **load),
    }


def _wait_ready(topology: prodlike.Topology, service: str, offset: int) -> None:
    log = topology.dir / "logs" / f"{service}.log"
    prodlike.wait_for(lambda: b" ready." in log.read_bytes()[offset:], timeout=60,
                      what=f"{service} to be ready")  # fmt: skip


def _fan_out(topology: prodlike.Topology, database) -> dict:
    report_id = int(probe(topology, "fanout-prepare", str(FANOUT_SIZE)))
    started = time.monotonic()
    probe(topology, "publish", str(report_id))
    with database.cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FILTER (WHERE status"
                " IN ('sent', 'skipped', 'failed')) FROM reports_delivery WHERE report_id = %s",
                [report_id],
            )
            sent, done = cursor.fetchone()
            if done >= FANOUT_SIZE:
                break
            if time.monotonic() - started > 900:
                raise SystemExit(f"The fan-out did not finish in 15 minutes ({done} done).")
            time.sleep(0.1)
    wall = time.monotonic() - started
    return {"recipients": FANOUT_SIZE, "sent": sent, "wall_s": wall, "messages_per_s": sent / wall}


def measure_nodes(load: dict) -> dict:
    topology = nodes_topology()
    topology.prepare()
    topology.manage("bench_data")
    (topology.dir / "baseline").mkdir(exist_ok=True)
    topology.start()
    try:
        # The workers' supervisor would start a stopped worker node again.
        topology.stop(["supervisor"])
        _, _, page = fetch(topology.url + REPORT)
        (topology.dir / "baseline" / "report.html").write_bytes(page)
        session = probe(topology, "session", "bench-subscriber@example.com")
        cookie = {"Cookie": browser_cookies(topology.url + REPORT, session=session)}
        figures: dict[str, object] = {}
        topology.stop(["web-2"])
        _upstream(topology, 1)
        prodlike.log("nginx with one web node in its upstream")
        figures["one_web_node"] = _pages(topology, load, cookie)
        topology.start_web(2)
        _upstream(topology, 2)
        prodlike.log("nginx with two web nodes in its upstream")
        figures["two_web_nodes"] = _pages(topology, load, cookie)

        url = f"postgresql://postgres@127.0.0.1:{topology.postgres_port}/{topology.database}"
        with psycopg.connect(url, autocommit=True) as database:
            topology.stop(["worker-2"])
            prodlike.log(f"fan-out to {FANOUT_SIZE:,} with one worker node")
            figures["one_worker_node"] = _fan_out(topology, database)
            log = topology.dir / "logs" / "worker-2.log"
            offset = log.stat().st_size if log.exists() else 0
            topology.start_worker(2)
            _wait_ready(topology, "worker-2", offset)
            prodlike.log(f"fan-out to {FANOUT_SIZE:,} with two worker nodes")
            figures["two_worker_nodes"] = _fan_out(topology, database)
        probe(topology, "fanout-cleanup")
        return figures
    finally:
        topology.stop()
