"""The Celery worker's liveness check: is this machine's worker doing the work queued for it?

systemd restarts a worker that exits (`Restart=always`), but not one that is alive and
idle while its queue fills up. After its broker restarts, kombu's Redis transport can leave a
worker in exactly that state: an acknowledgement that fails while Redis is down keeps its
prefetch slot taken for good, and once every slot is lost the worker never reads from the
queue again, without an error or a log line (deploy/README.md, "The worker's watchdog").

    python -m publisher.worker_watchdog [--node celery@HOST] [--window 60]

asks the worker (Celery's remote control, as `celery inspect` does) what it is running and
how many tasks it has finished, and counts the messages waiting in its queue. The worker is
healthy as soon as it runs or holds a task, finishes one, or has nothing waiting. Only when
for the whole window it answers idle while messages wait, and finishes nothing, does the
check exit with status 1, for its caller to restart the worker: the timer's unit in
production (deploy/systemd/gridline-worker-watchdog.*), the prod-like topology's supervisor
on this machine (deploy/prodlike/run.py). It never restarts anything itself, and exits 0
when the worker is healthy and when it cannot judge: the broker is down too (the worker
reconnects by itself once it is back), or the worker does not answer. A worker that does not
answer is starting (on a loaded machine that takes a minute), reconnecting, or gone, which
systemd handles; restarting it would only start it over.
"""

import argparse
import socket
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

import django
from celery import Celery
from kombu.exceptions import OperationalError

from publisher.celery import app as celery_app

STUCK = 1


@dataclass(frozen=True)
class Sample:
    answered: bool
    holding: int  # tasks running, or received and waiting for a pool process
    finished: int  # tasks finished since the worker started
    waiting: int  # messages in the worker's queue


class NoVerdict(Exception):
    """The check cannot judge the worker: the broker is unreachable, or the worker silent."""


def _sample(app: Celery, *, node: str, queue: str, reply_timeout: float) -> Sample:
    connection = app.connection_for_read()
    unreachable: tuple[type[BaseException], ...] = (
        OSError,
        OperationalError,
        *connection.connection_errors,
    )
    try:
        with connection:
            connection.ensure_connection(max_retries=1)
            # The transport's channel (kombu's stubs know only the abstract one).
            channel: Any = connection.default_channel
            try:
                waiting = channel.queue_declare(queue=queue, passive=True).message_count
            except connection.channel_errors:
                waiting = 0  # Redis keeps no empty list: an empty queue does not exist
            inspect = app.control.inspect(
                destination=[node], timeout=reply_timeout, limit=1, connection=connection
            )
            active = (inspect.active() or {}).get(node)
            if active is None:  # no answer: the next two questions would wait as long
                return Sample(answered=False, holding=0, finished=0, waiting=waiting)
            reserved = (inspect.reserved() or {}).get(node)
            stats = (inspect.stats() or {}).get(node)
    except unreachable as exc:
        raise NoVerdict(f"cannot reach the broker ({exc!r})") from exc
    if reserved is None or stats is None:
        return Sample(answered=False, holding=0, finished=0, waiting=waiting)
    return Sample(
        answered=True,
        holding=len(active) + len(reserved),
        finished=sum(stats.get("total", {}).values()),
        waiting=waiting,
    )


def worker_stuck(
    app: Celery,
    *,
    node: str,
    queue: str,
    window: float,
    interval: float = 5,
    reply_timeout: float = 5,
) -> str | None:
    """Why the worker must be restarted, or None when it is healthy; NoVerdict when it
    cannot be judged. Stuck means: answering idle while messages wait, from a first such
    answer to one `window` seconds later, with no sign of work in between."""
    deadline = time.monotonic() + window  # for a first answer
    idle_since: Sample | None = None
    while True:
        current = _sample(app, node=node, queue=queue, reply_timeout=reply_timeout)
        if current.answered:
            if current.holding or not current.waiting:
                return None
            if idle_since is None:
                idle_since, deadline = current, time.monotonic() + window
            elif current.finished != idle_since.finished:
                return None
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    if idle_since is None:
        raise NoVerdict(f"{node} did not answer for {window:.0f} s")
    if not current.answered:
        raise NoVerdict(f"{node} answered idle, then stopped answering")
    return (
        f"{node} answered idle for {window:.0f} s while {current.waiting} messages waited in"
        f" {queue!r}, and finished no task"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--node",
        default=f"celery@{socket.gethostname()}",
        help="the worker's node name (celery worker -n); default: %(default)s",
    )
    parser.add_argument(
        "--window",
        type=float,
        default=60,
        help="seconds of evidence before calling it stuck; default: %(default)s",
    )
    args = parser.parse_args(argv)

    try:
        django.setup()
        queue = celery_app.conf.task_default_queue
        why = worker_stuck(celery_app, node=args.node, queue=queue, window=args.window)
    except NoVerdict as exc:
        print(f"worker watchdog: {exc}; leaving {args.node} alone")
        return 0
    except Exception:
        # Exit status 1 restarts the worker: a check that cannot run must not say so.
        traceback.print_exc()
        print(f"worker watchdog: the check itself failed; leaving {args.node} alone")
        return 0
    if why is None:
        print(f"worker watchdog: {args.node} is consuming {queue!r}")
        return 0
    print(f"worker watchdog: {why}: restart it")
    return STUCK


if __name__ == "__main__":
    sys.exit(main())
