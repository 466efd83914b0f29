"""The load proof: 10 minutes (LOAD_SECONDS) of wrk at 64 connections through nginx,
mixing anonymous pages, subscribers' report pages, searches by both, and subscribers'
comment posts (bench/mix.lua, shared with `make bench`'s row 10). Outcome: no socket error,
no response outside 2xx/3xx (a 429 counts: the posts are paced under the production limits,
which stay as they are), exactly one new comment per accepted post, and no 5xx in
gunicorn's or nginx's logs. The figures (req/s, p50/p90/p99/max, per class) print at the
end of the run.
"""

import math
import os
import re
from pathlib import Path

from bench.loadtools import (
    MIX_ACCOUNTS,
    MIX_CLASSES,
    MIX_CONNECTIONS,
    MIX_POST_INTERVAL,
    MIX_WRK_TIMEOUT,
    mix_data,
    mix_latencies,
    mix_run,
    mix_statuses,
    wrk_figures,
)
from deploy.prodlike import run as prodlike
from reports.comments.services import POST_LIMITS
from tests.prodlike.logs import GUNICORN_LINE, NGINX_LINE, LogMark, statuses
from tests.prodlike.topology import seed
from tests.support.figures import record
from tests.support.waiting import wait_until

LOAD_SECONDS = int(os.environ.get("LOAD_SECONDS", "600"))
# No posts in the last seconds of the run: longer than wrk's timeout, so every post sent was
# answered (or timed out, an error) before wrk stopped, and the comment count is exact.
QUIET_TAIL = MIX_WRK_TIMEOUT + 5


def test_pacing_stays_under_the_comment_limits() -> None:
    """The arithmetic the load relies on, checked against the production limits."""
    # The thread with the fewest subscribers comes back to each the soonest.
    spacing = MIX_ACCOUNTS // MIX_CONNECTIONS * MIX_POST_INTERVAL
    for limit in POST_LIMITS:
        # The most posts of one subscriber a window of the limit (or the run) can hold, with
        # room to spare for requests that wait in a queue before Django counts them.
        window = min(limit.seconds, LOAD_SECONDS)
        assert math.floor(window / spacing) + 1 <= limit.count // 2, limit
    assert QUIET_TAIL < LOAD_SECONDS


def prepare(topology: prodlike.Topology) -> Path:
    """Subscribers with sessions and CSRF tokens, and the site's paths: the Lua data file."""
    site = seed(topology, "load-accounts", str(MIX_ACCOUNTS))
    reports = [f"/reports/{slug}/" for slug in site["reports"]]
    anonymous = ["/", *reports, *(f"/topics/{slug}/" for slug in site["topics"]),
                 *(f"/kinds/{kind}/" for kind in site["kinds"])]  # fmt: skip
    return mix_data(
        topology.dir / "load-data.lua", origin=topology.url, sessions=site["sessions"],
        anonymous=anonymous, reports=site["reports"],
        # Each post to the next of the reports (the first one paid: the accounts' form
        # tokens are read from it).
        commented=[*site["paid"][:1], *site["reports"]],
    )  # fmt: skip


def _server_times(gunicorn_log: str) -> list[str]:
    """p50 and p99 of the time gunicorn spent per request (its %(D)s), by kind of request:
    the server's share of the latencies wrk's threads saw."""
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
    lines = [f"  {'class':18} {'sent':>8} {'answers':>8} {'req/s':>7} {'p50':>7} {'p90':>7} "
             f"{'p99':>7} {'max':>8} ms  statuses / X-Cache-Status"]  # fmt: skip
    latencies = mix_latencies(result)
    for name, counts in mix_statuses(result).items():
        cache = result["cache"].get(name, {})
        if not counts and not result["sent"].get(name):
            continue
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
        caching = ", ".join(f"{k} {v}" for k, v in sorted(cache.items()))
        figures = latencies.get(name)
        timing = (f"{figures['rps']:>7.1f} {figures['p50_ms']:>7.1f} {figures['p90_ms']:>7.1f} "
                  f"{figures['p99_ms']:>7.1f} {figures['max_ms']:>8.1f}" if figures
                  else f"{'':>7} {'':>7} {'':>7} {'':>7} {'':>8}")  # fmt: skip
        lines.append(f"  {name:18} {result['sent'].get(name, 0):>8} {sum(counts.values()):>8} "
                     f"{timing}     {statuses} / {caching}")  # fmt: skip
    return lines


def test_ten_minutes_of_mixed_load_through_nginx_without_an_error(load_topology) -> None:
    topology = load_topology
    prodlike.ensure_debian_package("wrk", "wrk")
    data = prepare(topology)
    comments_before = seed(topology, "comment-count")
    mark = LogMark.now(topology)

    output, result = mix_run(
        topology.url + "/", data, seconds=LOAD_SECONDS, post_seconds=LOAD_SECONDS - QUIET_TAIL
    )

    figures = wrk_figures(output)
    # nginx buffers its access log and writes it every 2 s: until each answer has its line.
    wait_until(
        lambda: len(NGINX_LINE.findall(mark.since("nginx-access.log"))) >= result["requests"],
        timeout=30,
        message=f"nginx to log the {result['requests']} requests wrk had answered",
    )
    comments_after = seed(topology, "comment-count")
    counts = mix_statuses(result)
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
        f"load: {LOAD_SECONDS} s, {MIX_CONNECTIONS} connections through nginx: "
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
    # (wrk stops with up to MIX_CONNECTIONS requests unanswered, and asks the script for one
    # request it never sends; no post is sent in the last QUIET_TAIL seconds.)
    for name in MIX_CLASSES[:-1]:
        answered, sent = sum(counts[name].values()), result["sent"].get(name, 0)
        assert sent - MIX_CONNECTIONS - 1 <= answered <= sent, (name, sent, answered)
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
