"""Exactly one Celery beat sends the schedule (RedBeat's lock, publisher/settings.py).

RedBeat's own start-up waits for the lock silently when another beat holds it; an operator
who starts a second beat (a second machine, a unit enabled twice) should read why it sends
nothing. This says so before the wait begins, and once the lock is taken. It must not
import redbeat: its own start-up receiver would then be connected first, and wait first
(the scheduler is publisher/beat_scheduler.py).
"""

import logging

import redis
from celery.signals import beat_init

logger = logging.getLogger("publisher.beat")


@beat_init.connect
def announce_beat_lock(sender=None, **kwargs) -> None:
    scheduler = sender.scheduler
    lock_key = getattr(scheduler, "lock_key", None)
    if not lock_key:
        return
    client = redis.Redis.from_url(scheduler.app.conf.redbeat_redis_url)
    try:
        held = client.exists(lock_key)
        ttl = client.ttl(lock_key)
    except redis.RedisError:
        return  # RedBeat's own wait reports a Redis that cannot be reached
    finally:
        client.close()
    if held:
        logger.warning(
            "beat: another beat holds the lock %s, so this one sends nothing and waits; it "
            "takes over within %s s if that one stops (exactly one beat runs)",
            lock_key,
            max(ttl, 0),
        )
    else:
        logger.info("beat: taking the lock %s (exactly one beat runs)", lock_key)
