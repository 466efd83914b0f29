"""The load proof: 10 minutes (LOAD_SECONDS) of wrk at 64 connections through nginx,
mixing anonymous pages, subscribers' report pages, searches by both, and subscribers'
comment posts (tests/prodlike/load.lua). Outcome: no socket error, no response outside
2xx/3xx (a 429 counts: the posts are paced under the production limits, which stay as they
are), exactly one new comment per accepted post, and no 5xx in gunicorn's or nginx's logs.
The figures (req/s, p50/p90/p99/max, per class) print at the end of the run.
"""

import json
import math
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.loadtools import wrk_figures, wrk_output
from deploy.prodlike import run as prodlike
from reports.comments.services import POST_LIMITS
from tests.prodlike.logs import GUNICORN_LINE, NGINX_LINE, LogMark, statuses
from tests.prodlike.topology import seed
from tests.prodlike.webclient import WebClient
from tests.support.figures import record
from tests.support.waiting import wait_until

LOAD_SECONDS = int(os.environ.get("LOAD_SECONDS", "600"))
CONNECTIONS = 64
THREADS = 2
SCRIPT = Path(__file__).with_name("load.lua")
ACCOUNTS = 300
# One comment post every POST_INTERVAL seconds per wrk thread, each by the thread's next
# subscriber: a subscriber posts once per ACCOUNTS / THREADS * POST_INTERVAL = 75 s.
POST_INTERVAL = 0.5
# wrk counts a request unanswered after this long as an error (a timeout): gunicorn's own
# limit (deploy/gunicorn.conf.py), past which gunicorn kills the request and nginx answers
# 502/504 (errors too). Anything faster is a slow answer, not a failed one, and shows in the
# p99 and max reported; other test suites share this 2-core machine's CPU.
WRK_TIMEOUT = 30
# No posts in the last seconds of the run: longer than wrk's timeout, so every post sent was
# answered (or timed out, an error) before wrk stopped, and the comment count is exact.
QUIET_TAIL = WRK_TIMEOUT + 5
SEARCHES = [
    "inverter", "heat+pump", "battery+warranty", "firmware+rollback", "standby+power",
    "commissioning", "capacity+fade", "grid+code",
]  # fmt: skip
CLASSES = ["anonymous_page", "subscriber_page", "anonymous_search", "subscriber_search",
           "comment_post", "unclassified"]  # fmt: skip


def test_pacing_stays_under_the_comment_limits() -> None:
    """The arithmetic the load relies on, checked against the production limits."""
    spacing = ACCOUNTS / THREADS * POST_INTERVAL
    for limit in POST_LIMITS:
        # The most posts of one subscriber a window of the limit (or the run) can hold, with
        # room to spare for requests that wait in a queue before Django counts them.
        window = min(limit.seconds, LOAD_SECONDS)
        assert math.floor(window / spacing) + 1 <= limit.count // 2, limit
    assert QUIET_TAIL < LOAD_SECONDS


def _lua(value: object) -> str:
    """A Lua literal for the data file (ASCII strings, lists, string-keyed tables)."""
    if isinstance(value, str):
        assert value.isascii()
        return json.dumps(value)
    if isinstance(value, list):
        return "{" + ", ".join(_lua(item) for item in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_lua(item)}" for key, item in value.items()) + "}"
    raise TypeError(value)


def _account(base: str, session: str, report: str) -> dict[str, str]:
    """A subscriber's cookies and form token, from a report page as their browser gets it."""
    client = WebClient(base, cookies={"sessionid": session})
    token = client.form_token(f"/reports/{report}/")
    assert "csrftoken" in client.cookies
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return {"cookie": cookie, "token": token}


def prepare(topology: prodlike.Topology) -> Path:
    """Subscribers with sessions and CSRF tokens, and the site's paths: the Lua data file."""
    site = seed(topology, "load-accounts", str(ACCOUNTS))
    with ThreadPoolExecutor(max_workers=8) as pool:
        accounts = list(
            pool.map(lambda s: _account(topology.url, s, site["paid"][0]), site["sessions"])
        )
    reports = [f"/reports/{slug}/" for slug in site["reports"]]
    anonymous = ["/", *reports, *(f"/topics/{slug}/" for slug in site["topics"]),
                 *(f"/kinds/{kind}/" for kind in site["kinds"])]  # fmt: skip
    data = {
        "origin": topology.url,
        "anonymous": anonymous,
        "reports": site["reports"],
        "searches": SEARCHES,
        "accounts": accounts,
    }
    path = topology.dir / "load-data.lua"
    path.write_text(f"return {_lua(data)}\n")
    return path


def _server_times(gunicorn_log: str) -> list[str]:
    """p50 and p99 of the time gunicorn spent per request (its %(D)s), by kind of request:
    the one per-class latency wrk cannot give (its latencies are of all requests together)."""
    times: dict[str, list[float]] = {}
    for line in GUNICORN_LINE.finditer(gunicorn_log):
        method, path = line["method"], line["path"]
        kind = ("comment post" if method == "POST" else "search" if path.startswith("/search/")
                else "report page" if path.startswith("/reports/") else "other page")  # fmt: skip
        times.setdefault(kind, []).append(int(line["us"]) / 1000)
    lines = []
    for kind, values in sorted(times.items()):
        values.sort()
        p50, p99 = values[len(values) // 2], values[int(len(values) * 0.99)]
        lines.append(f"  gunicorn {kind:13} {len(values):>7} requests, p50 {p50:.1f} ms, "
                     f"p99 {p99:.1f} ms")  # fmt: skip
    return lines


def _table(result: dict) -> list[str]:
    lines = [f"  {'class':18} {'sent':>8} {'answers':>8}  statuses / X-Cache-Status"]
    for name in CLASSES:
        counts = {int(k): v for k, v in result["status"].get(name, {}).items()}
        cache = result["cache"].get(name, {})
        if not counts and not result["sent"].get(name):
            continue
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        caching = ", ".join(f"{k} {v}" for k, v in sorted(cache.items()))
        lines.append(f"  {name:18} {result['sent'].get(name, 0):>8} {sum(counts.values()):>8}"
                     f"  {statuses} / {caching}")  # fmt: skip
    return lines


def test_ten_minutes_of_mixed_load_through_nginx_without_an_error(load_topology) -> None:
    topology = load_topology
    prodlike.ensure_debian_package("wrk", "wrk")
    data = prepare(topology)
    comments_before = seed(topology, "comment-count")
    mark = LogMark.now(topology)

    output = wrk_output(
        topology.url + "/", duration=LOAD_SECONDS, connections=CONNECTIONS, script=SCRIPT,
        script_args=[str(data), str(THREADS), str(LOAD_SECONDS - QUIET_TAIL), str(POST_INTERVAL)],
        timeout=WRK_TIMEOUT,
    )  # fmt: skip

    figures = wrk_figures(output)
    result = json.loads(output.split("LOAD-RESULT ", 1)[1].splitlines()[0])
    # nginx buffers its access log and writes it every 2 s: until each answer has its line.
    wait_until(
        lambda: len(NGINX_LINE.findall(mark.since("nginx-access.log"))) >= result["requests"],
        timeout=30,
        message=f"nginx to log the {result['requests']} requests wrk had answered",
    )
    comments_after = seed(topology, "comment-count")
    counts = {name: {int(k): v for k, v in result["status"].get(name, {}).items()}
              for name in CLASSES}  # fmt: skip
    accepted = sum(v for k, v in counts["comment_post"].items() if k in (201, 302))
    logs = {name: mark.since(name) for name in mark.offsets}
    gunicorn = statuses(logs["gunicorn-access.log"], GUNICORN_LINE)
    nginx = statuses(logs["nginx-access.log"], NGINX_LINE)
    nginx_errors = re.findall(r".*\[(?:error|crit|alert|emerg)\].*", logs["nginx-error.log"])

    print("\n" + output)
    table = _table(result) + _server_times(logs["gunicorn-access.log"])
    print("\n".join(table))
    latency, errors = result["latency_ms"], result["errors"]
    record(
        f"load: {LOAD_SECONDS} s, {CONNECTIONS} connections through nginx: "
        f"{result['requests']:,} requests, {figures['rps']:,.0f} req/s, "
        f"p50 {latency['p50']:.1f} ms, p90 {latency['p90']:.1f} ms, "
        f"p99 {latency['p99']:.1f} ms, max {latency['max']:.1f} ms; "
        f"socket errors (connect, read, write, timeout) {errors['connect']}, {errors['read']}, "
        f"{errors['write']}, {errors['timeout']}; responses >= 400: {errors['status']}; "
        f"{accepted} comments posted, {comments_after - comments_before} new in the database"
    )
    for line in table:
        record(f"load: {line.strip()}")

    assert result["errors"] == {"connect": 0, "read": 0, "write": 0, "timeout": 0, "status": 0}
    outside = {(n, k): v for n, c in counts.items() for k, v in c.items() if not 200 <= k < 400}
    assert not outside, outside
    assert not counts["unclassified"], counts["unclassified"]
    # Every answer matches a request of its class (one reader never got another's page)...
    # (wrk stops with up to CONNECTIONS requests unanswered, and asks the script for one
    # request it never sends; no post is sent in the last QUIET_TAIL seconds.)
    for name in CLASSES[:-1]:
        answered, sent = sum(counts[name].values()), result["sent"].get(name, 0)
        assert sent - CONNECTIONS - 1 <= answered <= sent, (name, sent, answered)
    assert sum(counts["comment_post"].values()) == result["sent"]["comment_post"]
    # ...and every subscriber's report page carried the report itself.
    assert result["body_missing"] == 0
    assert accepted > 0 and comments_after - comments_before == accepted
    # Every line of both logs was read (a change of log format cannot hide a 5xx)...
    assert sum(gunicorn.values()) == logs["gunicorn-access.log"].count("\n")
    assert sum(nginx.values()) == logs["nginx-access.log"].count("\n")
    # ...and none was a server error.
    assert not [s for s in gunicorn if s >= 500], gunicorn
    assert not [s for s in nginx if s >= 500], nginx
    assert not nginx_errors, nginx_errors[:5]
    assert "Traceback" not in logs["web.log"]
