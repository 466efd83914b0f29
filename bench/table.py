"""The one table `make bench` prints: each figure, its baseline from the same run, the ratio,
the target it is held to and whether it was met. The `#` column groups the rows (0 is the
baseline; bench/README.md lists the groups)."""


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _rps(result: dict) -> str:
    return f"{result['rps']:,.0f} req/s, p99 {result['p99_ms']:.2f} ms"


def markdown_table(figures: dict) -> str:
    rows: list[tuple[str, str, str, str, str, str, str]] = []
    static = figures["static"]
    base = f"static {static['rps']:,.0f} req/s"

    def ratio(result: dict) -> float:
        return result["rps"] / static["rps"]

    rows.append(
        (
            "0",
            "nginx: the report page's bytes as a static file (baseline)",
            _rps(static),
            "",
            "1",
            "",
            "",
        )
    )
    anonymous = figures["nginx_anonymous"]
    rows.append(
        (
            "1",
            "anonymous report page through nginx (page cache)",
            _rps(anonymous),
            base,
            f"{ratio(anonymous):.2f}x",
            ">= 0.8x",
            _yes(ratio(anonymous) >= 0.8),
        )
    )
    p99 = anonymous["p99_ms"] / static["p99_ms"]
    rows.append(
        (
            "1",
            "  p99 of that against static's p99",
            f"{anonymous['p99_ms']:.2f} ms",
            f"static {static['p99_ms']:.2f} ms",
            f"{p99:.2f}x",
            "<= 1x",
            _yes(p99 <= 1.0),
        )
    )
    warm = figures["app_anonymous_warm"]
    rows.append(
        (
            "2",
            "anonymous report page from gunicorn, Django cache warm",
            _rps(warm),
            base,
            f"{ratio(warm):.3f}x",
            ">= 0.05x",
            _yes(ratio(warm) >= 0.05),
        )
    )
    miss = figures["app_anonymous_miss"]
    rows.append(
        (
            "2",
            "the same on a cache miss (page cache off)",
            _rps(miss),
            base,
            f"{ratio(miss):.3f}x",
            ">= 0.012x",
            _yes(ratio(miss) >= 0.012),
        )
    )
    server_ms = figures["miss_server_ms_p50"]
    rows.append(
        (
            "2",
            "  server time per request on a miss (p50, 1 connection)",
            f"{server_ms:.2f} ms",
            "",
            "",
            "<= 2.5 ms",
            _yes(server_ms <= 2.5),
        )
    )
    rows.append(
        (
            "2",
            "  web CPU per request on a miss, under load",
            f"{figures['miss_cpu_ms_per_request']:.2f} ms",
            "",
            "",
            "",
            "",
        )
    )

    queries = figures["queries"]
    by_comments = queries["subscriber_report_by_comments"]
    counts = "/".join(str(by_comments[key]["warm"]) for key in sorted(by_comments, key=int))
    cold = "/".join(str(by_comments[key]["cold"]) for key in sorted(by_comments, key=int))
    same = (
        len({v["warm"] for v in by_comments.values()}) == 1
        and len({v["cold"] for v in by_comments.values()}) == 1
    )
    hit_free = all(v["warm"] == 0 for v in by_comments.values())
    rows.append(
        (
            "3",
            "subscriber report page: SQL queries at 0/20/200/2,000 comments",
            f"{counts} (a hit of the shared rendering), {cold} (cold)",
            "",
            "",
            "0 on a hit, all equal",
            _yes(same and hit_free),
        )
    )
    twenty = figures.get("app_subscriber_20")
    if twenty:  # optional: a results file without it still renders
        rows.append(
            (
                "3",
                "subscriber report page (20 comments) from gunicorn, shared rendering warm",
                _rps(twenty),
                base,
                f"{ratio(twenty):.3f}x",
                ">= 0.02x",
                _yes(ratio(twenty) >= 0.02),
            )
        )
    zero, two_hundred = figures["app_subscriber_0"], figures["app_subscriber_200"]
    comments_ratio = two_hundred["rps"] / zero["rps"]
    rows.append(
        (
            "3",
            "subscriber report page, 200 comments against 0",
            _rps(two_hundred),
            f"0 comments {zero['rps']:,.0f} req/s",
            f"{comments_ratio:.2f}x",
            ">= 0.5x",
            _yes(comments_ratio >= 0.5),
        )
    )

    full, one = queries["pages_at_full"], queries["pages_at_two_reports"]
    for page in full:
        rows.append(
            (
                "4",
                f"SQL queries: {page}",
                f"{full[page]} at {queries['reports']:,} reports",
                f"{one[page]} at 2 reports",
                "",
                "equal",
                _yes(full[page] == one[page]),
            )
        )
    search = figures["search"]
    rows.append(
        (
            "4",
            "anonymous search under load (gunicorn, 8 queries rotating)",
            f"p50 {search['p50_ms']:.1f} ms, {search['rps']:,.0f} req/s",
            "",
            "",
            ">= 200 req/s, p50 <= 50 ms",
            _yes(search["rps"] >= 200 and search["p50_ms"] <= 50),
        )
    )
    subscriber_search = figures.get("search_subscriber")
    if subscriber_search:  # optional: a results file without it still renders
        rows.append(
            (
                "4",
                "subscriber search under load (the same queries, every body matched)",
                f"p50 {subscriber_search['p50_ms']:.1f} ms, {subscriber_search['rps']:,.0f} req/s",
                "",
                "",
                ">= 100 req/s",
                _yes(subscriber_search["rps"] >= 100),
            )
        )

    fanout = figures.get("fanout")
    if fanout:
        rows += _fanout_rows(fanout, base)
    else:
        rows.append(("5-6", "fan-out to newsletter subscribers", "not measured", "", "", "", ""))

    provider = figures.get("provider_fanout")
    if provider:
        rows += _provider_rows(provider, figures.get("fanout"))
    else:
        rows.append(("7", "fan-out in provider batches (Postmark)", "not measured", "", "", "", ""))
    tracking = figures.get("tracking")
    if tracking:
        rows.append(
            (
                "8",
                f"{tracking['events']:,} provider tracking events (deliveries, opens, bounces) "
                f"posted to the webhooks through gunicorn, {tracking['connections']} connections",
                f"{tracking['events_per_s']:,.0f} events/s ({tracking['seconds']:.1f} s)",
                "",
                "",
                "all applied, none twice",
                _yes(tracking["all_applied_once"]),
            )
        )
    else:
        rows.append(("8", "provider tracking events to the webhooks", "not measured", "", "",
                     "", ""))  # fmt: skip

    nodes = figures.get("nodes")
    if nodes:
        rows += _nodes_rows(nodes)
    else:
        rows.append(("9", "one web / worker node against two", "not measured", "", "", "", ""))

    mix = figures.get("mix")
    if mix:
        rows += _mix_rows(mix)
    else:
        rows.append(("10", "the load mix through nginx", "not measured", "", "", "", ""))

    header = ("#", "figure", "measured", "baseline (same run)", "ratio", "target", "met")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    note = (
        f"\n{figures['started']}; wrk -t2, {figures['load']['connections']} connections, "
        f"{figures['load']['runs']} runs of {figures['load']['duration']} s per figure (medians); "
        f"report page {figures['page_bytes']:,} bytes."
    )
    return "\n".join(lines) + "\n" + note


def _fanout_rows(fanout: dict, base: str) -> list[tuple[str, ...]]:
    rows = []
    for size, run in sorted(fanout["runs"].items(), key=lambda item: int(item[0])):
        label = f"{int(size):,} recipients"
        rows.append(
            (
                "5",
                f"fan-out to {label}: wall time, messages/s",
                f"{run['wall_s']:.1f} s, {run['messages_per_s']:,.0f}/s",
                "",
                "",
                "<= 120 s" if int(size) >= 100_000 else "",
                _yes(run["wall_s"] <= 120) if int(size) >= 100_000 else "",
            )
        )
        rows.append(
            (
                "5",
                f"  sender CPU per message ({label})",
                f"{run['cpu_ms_per_message']:.3f} ms",
                "",
                "",
                "<= 0.5 ms",
                _yes(run["cpu_ms_per_message"] <= 0.5),
            )
        )
        rows.append(
            (
                "5",
                f"  worker peak memory ({label})",
                f"{run['peak_rss_mib']:.0f} MiB",
                "",
                "",
                "<= 100 MiB",
                _yes(run["peak_rss_mib"] <= 100),
            )
        )
        rows.append(
            (
                "5",
                f"  enqueue: the publish call; every recipient queued ({label})",
                f"{run['publish_s'] * 1000:.0f} ms; {run['enqueue_s']:.2f} s",
                "",
                "",
                "<= 1 s",
                _yes(run["enqueue_s"] <= 1),
            )
        )
        rows.append(
            (
                "5",
                f"  SQL queries per send batch ({label})",
                f"{run['queries_per_batch']:.1f} per {run['batch_size']}",
                "",
                "",
                "",
                "",
            )
        )
    small, large = (fanout["runs"][key] for key in sorted(fanout["runs"], key=int))
    growth = large["peak_rss_mib"] / small["peak_rss_mib"]
    rows.append(
        (
            "5",
            "  worker memory, 100,000 against 10,000",
            f"{growth:.2f}x",
            "",
            "",
            "flat",
            _yes(growth <= 1.1),
        )
    )
    idle, busy = fanout["page_idle"], fanout["page_during"]
    slower = busy["p99_ms"] / idle["p99_ms"]
    rows.append(
        (
            "6",
            "anonymous report page p99 during the fan-out against idle",
            f"{busy['p99_ms']:.2f} ms",
            f"idle {idle['p99_ms']:.2f} ms",
            f"{slower:.2f}x",
            "<= 2x",
            _yes(slower <= 2),
        )
    )
    if "page_beside_busy_loops" in fanout:  # optional: a results file without it still renders
        floor = fanout["page_beside_busy_loops"]
        rows.append(
            (
                "6",
                "  reference: the same beside two idle-priority busy loops, no fan-out",
                f"{floor['p99_ms']:.2f} ms",
                f"idle {idle['p99_ms']:.2f} ms",
                f"{floor['p99_ms'] / idle['p99_ms']:.2f}x",
                "",
                "",
            )
        )
    if "paced" in fanout:
        paced = fanout["paced"]
        rows.append(
            (
                "6",
                f"  reference: a fan-out paced to {paced['rate_per_process']}/s per worker "
                f"process (NOTIFY_SEND_RATE): {paced['wall_s']:.1f} s, "
                f"{paced['messages_per_s']:,.0f}/s",
                f"{paced['page_during']['p99_ms']:.2f} ms",
                f"idle {idle['p99_ms']:.2f} ms",
                f"{paced['page_during']['p99_ms'] / idle['p99_ms']:.2f}x",
                "",
                "",
            )
        )
    return rows


def _provider_rows(provider: dict, smtp: dict | None) -> list[tuple[str, ...]]:
    """Row 7: the same fan-out through the fake Postmark batch API, against row 5's SMTP."""
    rows = []
    runs = sorted(provider["runs"].items(), key=lambda item: int(item[0]))
    for size, run in runs:
        label = f"{int(size):,} recipients"
        smtp_run = (smtp or {}).get("runs", {}).get(size)
        big = int(size) >= 100_000
        rows.append(
            (
                "7",
                f"Postmark batches, {label}: publish to last batch accepted ({run['calls']} calls)",
                f"{run['wall_s']:.1f} s",
                f"SMTP {smtp_run['wall_s']:.1f} s" if smtp_run else "",
                f"{run['wall_s'] / smtp_run['wall_s']:.2f}x" if smtp_run else "",
                "<= 20 s" if big else "",
                _yes(run["wall_s"] <= 20) if big else "",
            )
        )
        rows.append(
            (
                "7",
                f"  sender CPU per recipient ({label})",
                f"{run['cpu_ms_per_recipient']:.4f} ms",
                f"SMTP {smtp_run['cpu_ms_per_message']:.3f} ms" if smtp_run else "",
                f"{run['cpu_ms_per_recipient'] / smtp_run['cpu_ms_per_message']:.2f}x"
                if smtp_run
                else "",
                "<= 0.05 ms",
                _yes(run["cpu_ms_per_recipient"] <= 0.05),
            )
        )
        rows.append(
            (
                "7",
                f"  worker peak memory; copies at the fake, most of one address ({label})",
                f"{run['peak_rss_mib']:.0f} MiB; {run['copies_at_fake']:,}, "
                f"{run['most_copies_of_one']}",
                "",
                "",
                "one copy each",
                _yes(run["copies_at_fake"] == int(size) and run["most_copies_of_one"] == 1),
            )
        )
    loaded = provider.get("loaded") or {}
    idle, during = provider.get("page_idle"), loaded.get("page_during")
    if idle and during:
        rows.append(
            (
                "7",
                f"  anonymous page p99 during the {loaded['recipients']:,} fan-out "
                f"(steady load, row 6's; that run {loaded['wall_s']:.1f} s), against idle",
                f"{during['p99_ms']:.2f} ms",
                f"idle {idle['p99_ms']:.2f} ms",
                f"{during['p99_ms'] / idle['p99_ms']:.2f}x",
                "reported",
                "",
            )
        )
    if len(runs) >= 2:
        small, large = runs[0][1], runs[-1][1]
        growth = large["peak_rss_mib"] / small["peak_rss_mib"]
        rows.append(
            (
                "7",
                f"  worker memory, {int(runs[-1][0]):,} against {int(runs[0][0]):,}",
                f"{growth:.2f}x",
                "",
                "",
                "flat",
                _yes(growth <= 1.1),
            )
        )
    return rows


def _nodes_rows(nodes: dict) -> list[tuple[str, ...]]:
    """Row 9: through nginx with one web node in its upstream and with two, the anonymous
    page against that phase's static baseline and a subscriber's page (past the cache, to a
    node) against one node's; the fan-out with one worker node and two."""
    rows: list[tuple[str, ...]] = []
    single = nodes["one_web_node"]["subscriber"]
    for key, label in (("one_web_node", "one web node"), ("two_web_nodes", "two web nodes")):
        phase = nodes[key]
        static, anonymous, subscriber = phase["static"], phase["anonymous"], phase["subscriber"]
        rows.append((
            "9", f"anonymous report page through nginx, {label}", _rps(anonymous),
            f"static {static['rps']:,.0f} req/s", f"{anonymous['rps'] / static['rps']:.2f}x",
            "no errors", _yes(anonymous["non_2xx"] == 0),
        ))  # fmt: skip
        rows.append((
            "9", f"subscriber's report page through nginx (past its cache), {label}",
            _rps(subscriber), f"one node {single['rps']:,.0f} req/s",
            f"{subscriber['rps'] / single['rps']:.2f}x", "no errors",
            _yes(subscriber["non_2xx"] == 0),
        ))  # fmt: skip
    one, two = nodes["one_worker_node"], nodes["two_worker_nodes"]
    for run, label in ((one, "one worker node"), (two, "two worker nodes")):
        rows.append((
            "9", f"fan-out to {run['recipients']:,}, {label} (2 processes each)",
            f"{run['messages_per_s']:,.0f} msg/s ({run['wall_s']:.1f} s)",
            f"one node {one['messages_per_s']:,.0f} msg/s",
            f"{run['messages_per_s'] / one['messages_per_s']:.2f}x",
            "all sent", _yes(run["sent"] == run["recipients"]),
        ))  # fmt: skip
    return rows


MIX_LABELS = {
    "anonymous_page": "anonymous pages (nginx's cache)",
    "subscriber_page": "subscribers' report pages",
    "anonymous_search": "anonymous searches",
    "subscriber_search": "subscribers' searches",
    "comment_post": "subscribers' comment posts",
}
MIX_SUBSCRIBER_PAGE_P99_MS = 300


def _mix_rows(mix: dict) -> list[tuple[str, ...]]:
    """Row 10: test_load's mix on the bench dataset, per class of request; the errors."""
    rows: list[tuple[str, ...]] = [(
        "10", f"the load mix through nginx: {mix['connections']} connections, "
        f"{mix['seconds']:.0f} s, all requests",
        f"{mix['rps']:,.0f} req/s", "", "", "", "",
    )]  # fmt: skip
    for name, label in MIX_LABELS.items():
        figures = mix["classes"].get(name)
        if figures is None:
            continue
        page = name == "subscriber_page"
        rows.append((
            "10", f"  {label}",
            f"{figures['rps']:,.1f} req/s, p50 {figures['p50_ms']:.1f} ms, "
            f"p99 {figures['p99_ms']:.1f} ms",
            "", "",
            f"p99 <= {MIX_SUBSCRIBER_PAGE_P99_MS} ms" if page else "",
            _yes(figures["p99_ms"] <= MIX_SUBSCRIBER_PAGE_P99_MS) if page else "",
        ))  # fmt: skip
    socket = mix["socket_errors"]
    rows.append((
        "10", "  errors: socket (connect, read, write, timeout) and answers outside 2xx/3xx "
        "(429 apart)",
        f"{mix['errors']} ({socket['connect']}, {socket['read']}, {socket['write']}, "
        f"{socket['timeout']}; {mix['outside_2xx_3xx']}); 429: {mix['refused_429']}",
        "", "", "0", _yes(mix["errors"] == 0),
    ))  # fmt: skip
    return rows
