"""The worker's watchdog (publisher/worker_watchdog.py) judging a real worker on Redis: idle
with nothing queued, alive but not consuming, consuming again, silent, and unreachable."""

import pytest

from publisher.celery import app as celery_app
from publisher.worker_watchdog import NoVerdict, worker_stuck
from reports.tasks import publish_due_reports
from tests.support.integration_fixtures import CeleryRig

pytestmark = pytest.mark.integration

QUICK = {"interval": 0.5, "reply_timeout": 2}


def _judge(rig: CeleryRig, node: str, window: float = 3) -> str | None:
    return worker_stuck(celery_app, node=node, queue=rig.queue, window=window, **QUICK)


def test_a_worker_with_nothing_queued_is_healthy_at_once(celery_rig: CeleryRig):
    worker = celery_rig.start_worker(concurrency=1)
    assert _judge(celery_rig, worker.name, window=60) is None  # without waiting the window


def test_a_worker_that_stopped_consuming_is_stuck_and_one_consuming_again_is_not(
    celery_rig: CeleryRig,
):
    worker = celery_rig.start_worker(concurrency=1)
    # Alive and answering, but reading nothing from its queue: what a worker whose prefetch
    # slots were all lost looks like from outside.
    celery_app.control.cancel_consumer(celery_rig.queue, destination=[worker.name], reply=True)
    for _ in range(3):
        publish_due_reports.apply_async(queue=celery_rig.queue)

    why = _judge(celery_rig, worker.name)
    assert why is not None
    assert "answered idle" in why and "3 messages waited" in why and "finished no task" in why

    celery_app.control.add_consumer(celery_rig.queue, destination=[worker.name], reply=True)
    assert _judge(celery_rig, worker.name, window=30) is None
    celery_rig.wait_until_idle()


def test_a_worker_that_does_not_answer_gets_no_verdict(celery_rig: CeleryRig):
    """Starting, reconnecting or gone: systemd's business, and a restart would not help."""
    worker = celery_rig.start_worker(concurrency=1)
    worker.kill()
    publish_due_reports.apply_async(queue=celery_rig.queue)
    with pytest.raises(NoVerdict, match=f"{worker.name} did not answer for 3 s"):
        _judge(celery_rig, worker.name)


def test_an_unreachable_broker_is_no_verdict(celery_rig: CeleryRig, private_redis):
    celery_rig.use_broker(private_redis.url)
    worker = celery_rig.start_worker(concurrency=1)
    private_redis.kill()
    with pytest.raises(NoVerdict, match="cannot reach the broker"):
        _judge(celery_rig, worker.name)
