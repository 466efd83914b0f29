"""Real parts for integration tests: Celery workers on Redis, an SMTP sink, a private Redis.

Everything here is started by the test that asks for it and cleaned up after it: workers on
a queue of their own, only the Redis keys the test created (database 11, TEST_REDIS_URL),
and a private `redis-server` on a free port for tests that need to kill the broker.
Loaded from tests/conftest.py as a pytest plugin.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import kombu.pools
import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection

from publisher.celery import app as celery_app
from tests.support.clock import travelled_command
from tests.support.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
TEST_REDIS_URL = os.environ["TEST_REDIS_URL"]
# Integration tests' notes (timings, duplicates seen) printed at the end of the run.
NOTES: list[str] = []
# kombu's Redis transport keeps a list per priority step, named queue + separator + step.
PRIORITY_SEP = "\x06\x16"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpSink:
    """An aiosmtpd server keeping every message; `refusing` answers 451 to each recipient.

    It offers PIPELINING, as relays do, unless told not to (the mailer then goes step by step).
    """

    def __init__(self, *, pipelining: bool = True) -> None:
        self.port = free_port()
        self.pipelining = pipelining
        self.messages: list[tuple[list[str], bytes]] = []
        self.arrivals: list[float] = []
        self.refusals = 0
        self.refusing = False
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:  # aiosmtpd reads pipelined commands, it only does not say so
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusing:
            with self._lock:
                self.refusals += 1
            return "451 4.3.2 Not accepting messages right now, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.content))
            self.arrivals.append(time.monotonic())
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def count(self) -> int:
        with self._lock:
            return len(self.messages)

    def per_recipient(self) -> Counter[str]:
        with self._lock:
            return Counter(rcpt for rcpts, _ in self.messages for rcpt in rcpts)


class PrivateRedis:
    """A throwaway redis-server this test owns, so it may kill and restart it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        server = shutil.which("redis-server")
        assert server, "redis-server is needed for the broker-restart test"
        self.process = subprocess.Popen(
            [server, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url)
        wait_until(lambda: self._ping(client), timeout=10, message="the private redis-server")

    @staticmethod
    def _ping(client: redis.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


class PrivatePostgres:
    """A throwaway PostgreSQL cluster this test owns, so it may stop and start it: made
    with the machine's initdb in a temporary folder, as the postgres user when run as root
    (PostgreSQL refuses to run as root). Trust authentication, loopback only, no fsync.

    `standby_of` makes it a streaming replica of that (running) cluster instead: a base
    backup with the standby's settings written (`pg_basebackup -R`), replaying from it once
    started."""

    def __init__(self, *, standby_of: "PrivatePostgres | None" = None) -> None:
        self.port = free_port()
        versions = sorted(Path("/usr/lib/postgresql").iterdir(), key=lambda p: int(p.name))
        self.bin = versions[-1] / "bin"
        self.dir = Path(tempfile.mkdtemp(prefix="gridline-pg-"))
        self.data = self.dir / "data"
        self._as_owner: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as_owner = ["runuser", "-u", "postgres", "--"]
        if standby_of is not None:
            subprocess.run(
                [*self._as_owner, str(self.bin / "pg_basebackup"), "-h", "127.0.0.1",
                 "-p", str(standby_of.port), "-U", "postgres", "-D", str(self.data),
                 "-R", "-X", "stream", "--checkpoint=fast", "--no-sync"],
                check=True, stdout=subprocess.DEVNULL,
            )  # fmt: skip
            return
        subprocess.run(
            [*self._as_owner, str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
             "--auth=trust", "--no-sync", "-E", "UTF8"],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self._as_owner, str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", *args],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._pg_ctl("-l", str(self.dir / "postgres.log"), "-o", options, "start")

    def stop(self) -> None:
        """A fast shutdown: every client connection is cut, as in a restart or failover."""
        self._pg_ctl("-m", "fast", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class Worker:
    """`celery worker` in a process group of its own, so SIGKILL reaches its pool too. Its
    clock is the test's (tests/support/clock.py), travelled or not."""

    def __init__(self, *, queue: str, broker_url: str, env: dict[str, str], concurrency: int):
        self.queue = queue
        self.log_path = ROOT / "var" / f"worker-{queue}-{uuid.uuid4().hex[:6]}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        self.name = f"{self.log_path.stem}@{socket.gethostname()}"
        self._log = open(self.log_path, "w+")  # noqa: SIM115
        self.process = subprocess.Popen(
            travelled_command(
                "celery", "-A", "publisher", "worker", "-Q", queue, "-n", self.name,
                "--concurrency", str(concurrency), "--without-gossip", "--without-mingle",
                "--without-heartbeat", "--loglevel", "INFO",
            ),
            cwd=ROOT, env={**env, "CELERY_BROKER_URL": broker_url},
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        wait_until(self._ready, timeout=60, message="the Celery worker to start")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited early:\n{self.log_path.read_text()}")
        return "ready." in self.log_path.read_text()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def logged(self, text: str, *, since: int = 0) -> bool:
        """Whether the worker's log has `text` after byte offset `since`."""
        with self.log_path.open("rb") as log:
            log.seek(since)
            return text.encode() in log.read()

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, like a machine dying."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def kill_pool(self) -> list[int]:
        """SIGKILL the pool processes only; the main process notices and starts new ones."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        pids = [int(pid) for pid in children.read_text().split()]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        return pids

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


def _point_app_at(broker_url: str, queue: str) -> None:
    """Make this process's Celery app publish to `broker_url`, on `queue`, for real."""
    # kombu keeps connection and producer pools in global registries: drop them all, or a
    # later publish reuses a pool bound to the previous broker.
    kombu.pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = broker_url
    # The CELERY_BROKER_URL variable (set by settings_test) outranks broker_url when
    # publishing; the write URL outranks both.
    celery_app.conf.broker_write_url = broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue


class CeleryRig:
    """The queue, workers and SMTP sink of one integration test."""

    def __init__(self, sink: SmtpSink) -> None:
        self.queue = f"test-{uuid.uuid4().hex[:12]}"
        self.sink = sink
        self.broker_url = TEST_REDIS_URL
        self.workers: list[Worker] = []
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "publisher.settings_test",
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "TEST_CELERY_QUEUE": self.queue,
            "TEST_EMAIL_URL": sink.url,
            "SITE_URL": "https://gridline.test",
        }

    def use_broker(self, broker_url: str) -> None:
        self.broker_url = broker_url
        _point_app_at(broker_url, self.queue)

    def start_worker(self, *, concurrency: int = 2) -> Worker:
        worker = Worker(
            queue=self.queue, broker_url=self.broker_url, env=self.env, concurrency=concurrency
        )
        self.workers.append(worker)
        return worker

    def queued(self) -> int:
        """Task messages waiting in this rig's queue (kombu keeps one list per priority)."""
        broker = redis.Redis.from_url(self.broker_url)
        keys = [self.queue, *(f"{self.queue}{PRIORITY_SEP}{step}" for step in (3, 6, 9))]
        return sum(broker.llen(key) for key in keys)

    def idle(self) -> bool:
        """Nothing queued, and no live worker holding a task: none received and waiting,
        none scheduled for a retry (a countdown), none running."""
        if self.queued():
            return False
        live = [worker.name for worker in self.workers if worker.alive]
        if live:
            inspect = celery_app.control.inspect(destination=live, timeout=2, limit=len(live))
            for replies in (inspect.active(), inspect.reserved(), inspect.scheduled()):
                if not replies or set(replies) != set(live) or any(replies.values()):
                    return False
        # A running task may have queued another just before it finished.
        return not self.queued()

    def wait_until_idle(self, *, timeout: float = 60) -> None:
        """Until every task sent so far has run: idle twice in a row, so a message caught
        between the queue and a worker's hands cannot pass for idleness."""
        streak = 0

        def settled() -> bool:
            nonlocal streak
            streak = streak + 1 if self.idle() else 0
            return streak >= 2

        wait_until(
            settled, timeout=timeout, message=f"queue {self.queue} and its workers to be idle"
        )


@pytest.fixture
def smtp_sink(request) -> Iterator[SmtpSink]:
    """The sink; parametrize it indirectly with `{"pipelining": False}` for a plain server."""
    sink = SmtpSink(**getattr(request, "param", {}))
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def celery_rig(transactional_db, smtp_sink, settings) -> Iterator[CeleryRig]:
    """Workers on Redis db 11 and a private queue; this process publishes there too."""
    settings.SITE_URL = "https://gridline.test"
    client = redis.Redis.from_url(TEST_REDIS_URL)
    rig = CeleryRig(smtp_sink)
    rig.use_broker(TEST_REDIS_URL)
    try:
        yield rig
    finally:
        for worker in rig.workers:
            worker.stop()
        _point_app_at(TEST_REDIS_URL, "celery")
        celery_app.conf.task_always_eager = True
        # Only keys named after this rig's queue: other test runs may share database 11 at the
        # same moment, and kombu's shared bookkeeping (unacked, bindings of other queues)
        # belongs to them.
        ours = list(client.scan_iter(match=f"*{rig.queue}*"))
        if ours:
            client.delete(*ours)


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def celery_worker_queue(celery_rig) -> str:
    """One worker on a private queue (the shape older tests use)."""
    celery_rig.start_worker(concurrency=1)
    return celery_rig.queue


def pytest_terminal_summary(terminalreporter) -> None:
    if NOTES:
        terminalreporter.section("integration notes")
        for note in NOTES:
            terminalreporter.write_line(note)
