"""Exactly one Celery beat sends the schedule (RedBeat's lock, publisher/settings.py).

RedBeat's own start-up waits for the lock silently when another beat holds it; an operator
who starts a second beat (a second machine, a unit enabled twice) should read why it sends
nothing. This says so before the wait begins, and once the lock is taken.
"""

import logging

import redbeat
import redis
from celery.signals import beat_init
from redbeat import schedulers as redbeat_schedulers

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


class RedBeatScheduler(redbeat.RedBeatScheduler):
    """RedBeat's scheduler, through a Redis outage. Without this a beat dies when Redis goes
    away (its tick reads the schedule there) and, when Redis comes back empty (it keeps
    nothing on disk), its lock and the schedule itself are gone: the lock's renewal fails.
    Here a tick that cannot reach Redis waits a second and tries again, and a beat whose lock
    is gone takes it again, waiting for it as at start-up, and stores the schedule again."""

    def tick(self, *args, **kwargs) -> float:
        try:
            return super().tick(*args, **kwargs)
        except redis.ConnectionError:
            logger.warning("beat: Redis cannot be reached; trying again in a second")
            return 1.0
        except redis.exceptions.LockError:
            logger.warning(
                "beat: the lock %s is no longer this beat's (Redis restarted or emptied); "
                "taking it again and storing the schedule",
                self.lock_key,
            )
            client = redbeat_schedulers.get_redis(self.app)
            lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
            lock.lua_extend = client.register_script(redbeat_schedulers.LUA_EXTEND_TO_SCRIPT)
            lock.acquire()
            self.lock = lock
            self.setup_schedule()
            return 0.0
