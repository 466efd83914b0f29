"""Load and measurement helpers shared by bench/run.py and bench/fanout.py."""

import os
import re
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path

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
               script_args: list[str] | None = None, timeout: int = 10) -> str:  # fmt: skip
    """Run wrk (2 threads); its report, with whatever the script printed."""
    threads = min(2, connections)
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
