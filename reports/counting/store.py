"""The Redis counters: one hash per day in the site's time zone, one field per report and
counter ("12:paywall_views"), and one per organisation seat holder who read a report through
their seat that day ("seat:4:27", organisation 4, user 27: a number, never which report).

Incrementing is one pipelined round trip (HINCRBY for each counter and an EXPIRE), never a
database write. Redis being down costs a log line, never a page: the failure is logged once
until counting works again, and the counts of that time are lost.
"""

import logging
import threading
from datetime import date

import redis
from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# The day's counts wait here until a fold renames the hash away (folding.py).
DAY_PREFIX = "counting:day:"
# A renamed hash while it is being folded; a fold that crashed leaves it for the next one.
FOLDING_PREFIX = "counting:folding:"
# Counts no fold has taken after this long are dropped, so Redis never grows without bound
# when beat is stopped. Folds prune their records after the same time (folding.py).
KEEP_SECONDS = 30 * 24 * 60 * 60

COUNTERS = (
    "public_reads",
    "entitled_reads",
    "paywall_views",
    "checkouts_started",
    "subscriptions_paid",
    "gifts_opened",
)

# A seat holder's reads of the day, kept apart from the reports' fields by this prefix.
SEAT_PREFIX = "seat:"

COUNT_ERRORS = (RedisError, OSError)

_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()
_failing = threading.Event()


def counting_client() -> redis.Redis | None:
    """The Redis client counting talks to, or None when COUNTING_REDIS_URL is not set."""
    url = settings.COUNTING_REDIS_URL
    if not url:
        return None
    client = _clients.get(url)
    if client is None:
        with _clients_lock:
            client = _clients.get(url)
            if client is None:
                # Short timeouts: a Redis that hangs must not hold a request for long.
                client = _clients[url] = redis.Redis.from_url(
                    url, socket_connect_timeout=0.5, socket_timeout=0.5
                )
    return client


def day_key(day: date) -> str:
    return f"{DAY_PREFIX}{day.isoformat()}"


def field(report_id: int, counter: str) -> str:
    return f"{report_id}:{counter}"


def seat_field(organisation_id: int, user_id: int) -> str:
    return f"{SEAT_PREFIX}{organisation_id}:{user_id}"


def counts_add(
    *, report_id: int, counters: tuple[str, ...], seat: tuple[int, int] | None = None
) -> bool:
    """Add one to each of `counters` for the report today (site time zone), and one read to
    `seat` (organisation id, user id) when the reader read through an organisation's seat.
    Returns whether the counts reached Redis; never raises for Redis being away."""
    client = counting_client()
    if client is None:
        return False
    key = day_key(timezone.localdate())
    try:
        with client.pipeline(transaction=False) as pipe:
            for counter in counters:
                pipe.hincrby(key, field(report_id, counter), 1)
            if seat is not None:
                pipe.hincrby(key, seat_field(*seat), 1)
            pipe.expire(key, KEEP_SECONDS)
            pipe.execute()
    except COUNT_ERRORS:
        if not _failing.is_set():
            _failing.set()
            logger.warning("Counting is unavailable: Redis did not answer", exc_info=True)
        return False
    if _failing.is_set():
        _failing.clear()
        logger.info("Counting works again")
    return True
