"""The Celery queues' depth, read from the broker's Redis when Prometheus scrapes.

kombu's Redis transport keeps each queue as a list named after it, plus one list per
priority step (the name, kombu's separator and the step), and the messages delivered to a
worker but not yet acknowledged in one hash (`unacked`, acks_late). One pipelined round
trip reads them all, whatever the queues hold.
"""

from collections.abc import Iterator
from functools import cache

import redis
from django.conf import settings
from kombu.transport.redis import PRIORITY_STEPS
from kombu.transport.redis import Channel as RedisChannel
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

_PRIORITY_SEP = RedisChannel.sep
_UNACKED = RedisChannel.unacked_key


def queue_names() -> list[str]:
    """The queues the workers consume: Celery's default queue and any declared ones."""
    names = [getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")]
    for queue in getattr(settings, "CELERY_TASK_QUEUES", None) or []:
        name = getattr(queue, "name", queue)
        if name not in names:
            names.append(name)
    return names


@cache
def _client(url: str) -> redis.Redis:
    # Short timeouts: a broker outage must not hold a scrape past Prometheus' own timeout.
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def _list_names(queue: str) -> list[str]:
    return [queue if step == 0 else f"{queue}{_PRIORITY_SEP}{step}" for step in PRIORITY_STEPS]


class QueueDepthCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        url = settings.CELERY_BROKER_URL
        if not url or settings.CELERY_TASK_ALWAYS_EAGER:
            return  # tasks run in the web process: there is no queue
        depth = GaugeMetricFamily(
            "gridline_celery_queue_length",
            "Messages waiting in each Celery queue on the broker.",
            labels=["queue"],
        )
        unacked = GaugeMetricFamily(
            "gridline_celery_unacked_messages",
            "Messages delivered to a worker and not yet acknowledged (running or prefetched).",
        )
        up = GaugeMetricFamily("gridline_celery_broker_up", "1 when the broker answered.")
        names = queue_names()
        pipe = _client(url).pipeline(transaction=False)
        for name in names:
            for list_name in _list_names(name):
                pipe.llen(list_name)
        pipe.hlen(_UNACKED)
        try:
            lengths = pipe.execute()
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        steps = len(PRIORITY_STEPS)
        for index, name in enumerate(names):
            depth.add_metric([name], sum(lengths[index * steps : (index + 1) * steps]))
        unacked.add_metric([], lengths[-1])
        up.add_metric([], 1)
        yield from (depth, unacked, up)
