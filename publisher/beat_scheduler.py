"""The beat's scheduler: RedBeat's (publisher/beat.py, publisher/settings.py)."""

import logging

import redbeat
import redis
from redbeat import schedulers as redbeat_schedulers

logger = logging.getLogger("publisher.beat")


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
