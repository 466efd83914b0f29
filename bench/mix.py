"""Row 10 of `make bench`'s table: the load mix of tests/prodlike/test_load.py on the bench's
dataset, through the bench topology's nginx.

64 connections for 60 s (`--mix-seconds`) after 10 s unmeasured, one wrk thread each
(bench/mix.lua): half anonymous pages (home, the 100 most recent reports but row 3's,
topics, kinds; nginx's cache), three tenths subscribers' pages of those reports (past the
cache, to Django), a tenth each anonymous and subscribers' searches, and four comment posts
a second by 300 bench subscribers, paced under the production limits as in test_load. The
comments go to reports of their own (bench/probe.py, MIX_COMMENTED), deleted before and
after the run: the dataset stays as bench_data left it, and row 3's comment threads keep
their sizes.

Per class: answers a second, p50 and p99 as wrk's threads saw them. Errors are socket errors
(a timeout is a request unanswered after gunicorn's 30 s) and answers outside 2xx/3xx; a 429
(a rate limit's refusal) is counted apart.
"""

import json

import run as prodlike  # deploy/prodlike/run.py (bench/run.py puts it on the path)
from loadtools import (
    MIX_ACCOUNTS,
    MIX_CONNECTIONS,
    MIX_WARMUP_SECONDS,
    mix_data,
    mix_latencies,
    mix_run,
    mix_statuses,
    probe,
)


def measure_mix(topology: prodlike.Topology, *, seconds: int) -> dict:
    site = json.loads(probe(topology, "mix-prepare", str(MIX_ACCOUNTS)))
    reports = [f"/reports/{slug}/" for slug in site["reports"]]
    anonymous = ["/", *reports, *(f"/topics/{slug}/" for slug in site["topics"]),
                 *(f"/kinds/{kind}/" for kind in site["kinds"])]  # fmt: skip
    data = mix_data(
        topology.dir / "mix-data.lua", origin=topology.url, sessions=site["sessions"],
        anonymous=anonymous, reports=site["reports"], commented=site["commented"],
    )  # fmt: skip
    prodlike.log(f"the load mix: {MIX_WARMUP_SECONDS} s unmeasured, then {seconds} s, "
                 f"{MIX_ACCOUNTS} subscribers")  # fmt: skip
    try:
        # The same mix without posts first, unmeasured, as every other row warms up: what
        # is measured is the site under load, not its first minute after a restart (every
        # page, card and session not yet in a cache).
        mix_run(topology.url + "/", data, seconds=MIX_WARMUP_SECONDS, post_seconds=0)
        # Posts until the end: the mix is the same throughout what is measured.
        output, result = mix_run(topology.url + "/", data, seconds=seconds, post_seconds=seconds)
    finally:
        deleted = int(probe(topology, "mix-cleanup"))
    statuses = mix_statuses(result)
    socket_errors = {kind: result["errors"][kind] for kind in ("connect", "read", "write",
                                                               "timeout")}  # fmt: skip
    refused = sum(counts.get(429, 0) for counts in statuses.values())
    outside = sum(
        count
        for counts in statuses.values()
        for status, count in counts.items()
        if not 200 <= status < 400 and status != 429
    )
    accepted = sum(statuses["comment_post"].get(status, 0) for status in (201, 302))
    print(output.split("LOAD-RESULT ", 1)[0], flush=True)
    return {
        "seconds": result["seconds"],
        "connections": MIX_CONNECTIONS,
        "requests": result["requests"],
        "rps": result["requests"] / result["seconds"],
        "classes": mix_latencies(result),
        "statuses": statuses,
        "socket_errors": socket_errors,
        "outside_2xx_3xx": outside,
        "refused_429": refused,
        "errors": sum(socket_errors.values()) + outside,
        "unclassified": sum(statuses["unclassified"].values()),
        "body_missing": result["body_missing"],
        "comments_accepted": accepted,
        "comments_deleted_after": deleted,
    }
