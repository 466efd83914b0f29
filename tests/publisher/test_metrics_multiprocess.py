"""gunicorn's several processes, one set of numbers: each worker writes its counters to
PROMETHEUS_MULTIPROC_DIR and any of them answers a scrape with the sum (deploy/
gunicorn.conf.py). A previous run's files are removed at start, and a dead worker's
counts stay in the sums."""

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from tests.support.integration_fixtures import ROOT, free_port
from tests.support.metrics import TOKEN, parse, sample
from tests.support.waiting import wait_until

RESPONSES = "django_http_responses_total_by_status_view_method_total"
HEALTHZ = {"status": "200", "view": "healthz", "method": "GET"}


def _get(url: str, token: str | None = None) -> str:
    request = urllib.request.Request(url)  # noqa: S310 (loopback)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.read().decode()


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.fixture
def gunicorn(db, tmp_path):
    folder = tmp_path / "web-metrics"
    folder.mkdir()
    (folder / "counter_424242.db").write_bytes(b"")  # left by a previous run
    port = free_port()
    db_settings = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "publisher.settings_test",
        "DATABASE_URL": (
            f"postgres://{db_settings['USER']}@{db_settings['HOST']}:{db_settings['PORT']}"
            f"/{db_settings['NAME']}"
        ),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "3",
        "GUNICORN_THREADS": "1",
        "GUNICORN_ACCESS_LOG": "",
        "METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(folder),
    }
    log = open(tmp_path / "gunicorn.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "publisher.wsgi",
         "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
        try:
            _get(f"{base}/healthz")
        except OSError:
            return False
        return len(_children(process.pid)) == 3

    try:
        wait_until(up, timeout=60, message="gunicorn to start its three workers")
        yield process, base, folder
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


@pytest.mark.integration
def test_every_worker_answers_for_all_of_them(gunicorn):
    process, base, folder = gunicorn
    assert not (folder / "counter_424242.db").exists()
    baseline = sample(parse(_get(f"{base}/metrics", TOKEN)), RESPONSES, **HEALTHZ)

    for _ in range(12):
        _get(f"{base}/healthz")

    # Each scrape may land on any worker; each adds up every worker's files.
    for _ in range(6):
        assert sample(parse(_get(f"{base}/metrics", TOKEN)), RESPONSES, **HEALTHZ) == baseline + 12

    victim = _children(process.pid)[0]
    os.kill(victim, signal.SIGKILL)
    wait_until(
        lambda: victim not in _children(process.pid) and len(_children(process.pid)) == 3,
        timeout=30,
        message="gunicorn to replace the killed worker",
    )
    for _ in range(3):
        assert sample(parse(_get(f"{base}/metrics", TOKEN)), RESPONSES, **HEALTHZ) == baseline + 12
