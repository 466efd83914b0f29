"""Load and measurement helpers shared by bench/run.py, its rows' modules and
tests/prodlike/test_load.py (the mixed load of bench/mix.lua)."""

import json
import os
import re
import statistics
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.prodlike.webclient import WebClient

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
REPORT = "/reports/bench-report-100/"


# wrk ----------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def wrk_output(url: str, *, duration: int, connections: int,
               headers: dict[str, str] | None = None, script: Path | None = None,
               script_args: list[str] | None = None, timeout: int = 10,
               threads: int | None = None) -> str:  # fmt: skip
    """Run wrk (2 threads unless told); its report, with whatever the script printed."""
    threads = threads or min(2, connections)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        f"{timeout}s",
    ]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def wrk_figures(output: str) -> dict[str, float]:
    """The figures of a wrk report (run with --latency)."""
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": _ms(percentiles["50"]),
        "p90_ms": _ms(percentiles["90"]),
        "p99_ms": _ms(percentiles["99"]),
        "max_ms": _ms(re.search(r"^\s+Latency(?:\s+\S+){2}\s+(\S+)", output, re.M).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "",
    }


def wrk(url: str, **kwargs) -> dict[str, float]:
    return wrk_figures(wrk_output(url, **kwargs))


def measure(url: str, *, runs: int, duration: int, connections: int, **kwargs) -> dict:
    """A short warm-up, then `runs` runs; the medians of req/s and latencies."""
    wrk(url, duration=2, connections=connections, **kwargs)
    samples = [wrk(url, duration=duration, connections=connections, **kwargs) for _ in range(runs)]
    rps = [round(sample["rps"]) for sample in samples]
    print(f"    {url}: req/s {rps}, p99 {[s['p99_ms'] for s in samples]} ms", flush=True)
    return {
        "rps": statistics.median(s["rps"] for s in samples),
        "p50_ms": statistics.median(s["p50_ms"] for s in samples),
        "p99_ms": statistics.median(s["p99_ms"] for s in samples),
        "non_2xx": sum(s["non_2xx"] for s in samples),
        "runs": samples,
    }


# The mixed load (bench/mix.lua) -----------------------------------------------------------

MIX_SCRIPT = ROOT / "bench" / "mix.lua"
MIX_CONNECTIONS = 64
MIX_ACCOUNTS = 300
# One comment post every MIX_POST_INTERVAL seconds per wrk thread (one per connection), each
# by the thread's next subscriber: a subscriber posts once per MIX_ACCOUNTS // MIX_CONNECTIONS
# * MIX_POST_INTERVAL = 64 s at the least (75 s on average), four posts a second in all.
MIX_POST_INTERVAL = 16.0
# The bench's row 10 runs the mix this long before the run it measures.
MIX_WARMUP_SECONDS = 10
# wrk counts a request unanswered after this long as an error (a timeout): gunicorn's own
# limit (deploy/gunicorn.conf.py), past which gunicorn kills the request and nginx answers
# 502/504 (errors too). Anything faster is a slow answer, not a failed one, and shows in the
# latencies reported.
MIX_WRK_TIMEOUT = 30
MIX_SEARCHES = [
    "inverter", "heat+pump", "battery+warranty", "firmware+rollback", "standby+power",
    "commissioning", "capacity+fade", "grid+code",
]  # fmt: skip
MIX_CLASSES = ["anonymous_page", "subscriber_page", "anonymous_search", "subscriber_search",
               "comment_post", "unclassified"]  # fmt: skip


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


def _mix_account(base: str, session: str, report: str) -> dict[str, str]:
    """A subscriber's cookies and form token, from a report page as their browser gets it."""
    client = WebClient(base, cookies={"sessionid": session})
    token = client.form_token(f"/reports/{report}/")
    assert "csrftoken" in client.cookies
    cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
    return {"cookie": cookie, "token": token}


def mix_data(path: Path, *, origin: str, sessions: list[str], anonymous: list[str],
             reports: list[str], commented: list[str]) -> Path:  # fmt: skip
    """The script's data file: the anonymous readers' paths, the reports subscribers read
    and those they comment on (slugs), and each subscriber's cookies and CSRF token."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        accounts = list(pool.map(lambda s: _mix_account(origin, s, commented[0]), sessions))
    data = {
        "origin": origin,
        "anonymous": anonymous,
        "reports": reports,
        "commented": commented,
        "searches": MIX_SEARCHES,
        "accounts": accounts,
    }
    path.write_text(f"return {_lua(data)}\n")
    return path


def mix_run(url: str, data: Path, *, seconds: int, post_seconds: float) -> tuple[str, dict]:
    """The mixed load for `seconds`, posting comments for the first `post_seconds`: wrk's
    report and the script's result (its LOAD-RESULT line)."""
    output = wrk_output(
        url, duration=seconds, connections=MIX_CONNECTIONS, threads=MIX_CONNECTIONS,
        script=MIX_SCRIPT, timeout=MIX_WRK_TIMEOUT,
        script_args=[str(data), str(MIX_CONNECTIONS), str(post_seconds), str(MIX_POST_INTERVAL)],
    )  # fmt: skip
    return output, json.loads(output.split("LOAD-RESULT ", 1)[1].splitlines()[0])


def _percentile(buckets: list[tuple[int, int]], share: float) -> float:
    """The value (ms) below which `share` of a histogram's samples lie."""
    rank, seen = share * sum(count for _, count in buckets), 0
    for tenths, count in buckets:
        seen += count
        if seen >= rank:
            return tenths / 10
    return buckets[-1][0] / 10


def mix_latencies(result: dict) -> dict[str, dict[str, float]]:
    """Per class of request sent: answers, answers a second, p50, p90, p99 and max (ms),
    from the script's histograms (tenths of a millisecond)."""
    figures = {}
    for name, histogram in result["latency"].items():
        buckets = sorted((int(tenths), count) for tenths, count in histogram.items())
        answers = sum(count for _, count in buckets)
        figures[name] = {
            "answers": answers,
            "rps": answers / result["seconds"],
            "p50_ms": _percentile(buckets, 0.5),
            "p90_ms": _percentile(buckets, 0.9),
            "p99_ms": _percentile(buckets, 0.99),
            "max_ms": buckets[-1][0] / 10,
        }
    return figures


def mix_statuses(result: dict) -> dict[str, dict[int, int]]:
    """Answers by status, per class of answer."""
    return {
        name: {int(status): count for status, count in result["status"].get(name, {}).items()}
        for name in MIX_CLASSES
    }


# Helpers --------------------------------------------------------------------------------------


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, dict(response.headers), response.read()


def probe(topology, *args: str) -> str:
    env = {**topology.env(), "PAGE_CACHE_SECONDS": "0"}
    return subprocess.run(
        [str(BIN / "python"), str(ROOT / "bench" / "probe.py"), *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout.strip().splitlines()[-1]  # fmt: skip


def gunicorn_times(log: Path, since: int) -> list[float]:
    """Per-request server times (ms) from gunicorn's access log, after byte offset `since`."""
    with log.open("rb") as handle:
        handle.seek(since)
        text = handle.read().decode(errors="replace")
    return [int(us) / 1000 for us in re.findall(r" (\d+)us ", text)]


def process_cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes and their children (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += sum(int(value) for value in fields[11:15]) / ticks
    return total


def children(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        path = task / "children"
        if path.exists():
            for child in path.read_text().split():
                found += children(int(child))
    return found


def browser_cookies(url: str, *, session: str) -> str:
    """The Cookie header of a signed-in browser: the session and the CSRF cookie Django set
    on its first page (a browser without the latter is always answered by Django)."""
    request = urllib.request.Request(url, headers={"Cookie": f"sessionid={session}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        set_cookies = response.headers.get_all("Set-Cookie") or []
    csrf = next(value.split(";")[0] for value in set_cookies if value.startswith("csrftoken="))
    return f"sessionid={session}; {csrf}"
