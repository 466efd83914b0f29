"""The topology the cross-reader and load suites share: `make prodlike`'s pieces on their own
ports (nginx 8580, gunicorn 8581, SMTP sink 8525), database `publisher_prodlike_load` and
Redis database 14, under var/prodlike-load/.

Every session starts from nothing: whatever an earlier, interrupted run left running is
stopped, its logs deleted, the database dropped and migrated again and Redis database 14
emptied, so the comment counts, log lines and rate-limit windows the suites assert on are
this run's alone (and a run here is a run on a fresh machine). PostgreSQL and Redis
themselves belong to the machine.
"""

import json
import subprocess
from collections.abc import Iterator

import pytest
import redis

from deploy.prodlike import run as prodlike

SEED = prodlike.ROOT / "tests" / "prodlike" / "seed.py"


def load_topology_spec() -> prodlike.Topology:
    return prodlike.Topology(
        name="prodlike-load", http_port=8580, app_port=8581, smtp_port=8525,
        database="publisher_prodlike_load", redis_db=14, keep_mail_bodies=False,
    )  # fmt: skip


def reset_run(topology: prodlike.Topology) -> None:
    """Nothing of an earlier run in the machine's PostgreSQL: its processes, logs, database."""
    topology.stop()
    for log in (topology.dir / "logs").glob("*.log"):
        log.unlink()
    prodlike.ensure_postgresql()
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force",
         topology.database],
        check=True,
    )  # fmt: skip


def reset_state(topology: prodlike.Topology) -> None:
    """Nothing of an earlier run: its processes, logs, database and Redis keys."""
    reset_run(topology)
    prodlike.ensure_redis()
    # Only this topology's database: other programs keep their keys (never FLUSHALL).
    client = redis.Redis(host="127.0.0.1", port=6379, db=topology.redis_db)
    for key in client.scan_iter(count=1000):
        client.delete(key)
    client.close()


def seed(topology: prodlike.Topology, *args: str) -> object:
    """Run a command of tests/prodlike/seed.py in the topology's environment; its JSON."""
    completed = subprocess.run(
        [str(prodlike.BIN / "python"), str(SEED), *args],
        cwd=prodlike.ROOT, env=topology.env(), capture_output=True, text=True,
    )  # fmt: skip
    if completed.returncode:
        raise AssertionError(f"seed.py {' '.join(args)} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def load_topology() -> Iterator[prodlike.Topology]:
    topology = load_topology_spec()
    reset_state(topology)
    try:
        topology.start()
        yield topology
    finally:
        topology.stop()
