"""Reading the topology's logs (var/<name>/logs/): what each got during one step of a test,
and the lines of the two access logs."""

import re
import secrets
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.support.waiting import wait_until

# deploy/gunicorn.conf.py's access log: '%(h)s "%(r)s" %(s)s %(B)s %(D)sus "%(a)s"'.
GUNICORN_LINE = re.compile(
    r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP\S*" (?P<status>\d+) \S+ (?P<us>\d+)us'
)
# nginx's "combined" format: ... "GET / HTTP/1.1" 200 1234 "referer" "user agent".
NGINX_LINE = re.compile(r'" (?P<status>\d{3}) \d+ "')
LOGS = ["gunicorn-access.log", "nginx-access.log", "nginx-error.log", "web.log"]


@dataclass(frozen=True)
class LogMark:
    """Where the logs end at one moment, to read what they got after it."""

    directory: Path
    offsets: dict[str, int]

    @classmethod
    def now(cls, topology) -> "LogMark":
        directory = topology.dir / "logs"
        return cls(directory, {name: _size(directory / name) for name in LOGS})

    def since(self, name: str) -> str:
        with (self.directory / name).open("rb") as handle:
            handle.seek(self.offsets[name])
            return handle.read().decode(errors="replace")


MARKER_PATH = "/healthz?log-marker="


def gunicorn_caught_up(topology) -> None:
    """Until gunicorn's access log has every request answered so far. gunicorn writes a
    request's line just after answering it; a marker request, sent once every earlier answer
    has arrived, is logged after them. Its line starts with MARKER_PATH: leave it out."""
    marker = MARKER_PATH + secrets.token_hex(6)
    with urllib.request.urlopen(topology.url + marker, timeout=10) as response:  # noqa: S310
        assert response.status == 200, response.status
    log = topology.dir / "logs" / "gunicorn-access.log"
    wait_until(
        lambda: f" {marker} ".encode() in log.read_bytes(),
        timeout=10,
        message=f"gunicorn to log {marker}",
    )


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def statuses(text: str, pattern: re.Pattern) -> Counter[int]:
    """Responses by status in an access log; `pattern` has a group named status."""
    return Counter(int(match["status"]) for match in pattern.finditer(text))
