"""Reads from a PostgreSQL streaming replica, for the pages that can afford to be a little
behind.

With `DATABASE_REPLICA_URL` set, the `replica` database alias exists and `ReplicaRouter`
routes. Which requests read from it is decided once per request, in one place
(`ReplicaMiddleware.process_view`), from the view's URL name in `REPLICA_READ_VIEWS`: the
public pages for anonymous readers (report, listings, search), the feeds and the sitemap
for everyone, and the publisher's dashboard. Every other request, every write and every read
outside a request (tasks, commands) uses the primary.

Three things send a request that could read from the replica to the primary instead:

- its reader wrote a moment ago. A request with an unsafe method that wrote to the primary
  sets a signed cookie for `REPLICA_PIN_SECONDS`, so an author sees their own comment at once
  although the replica may not have replayed it yet. A cookie rather than a session flag:
  anonymous writers (a newsletter signup) get no session, and the cookie's signed timestamp
  expires it whatever the browser keeps.
- the replica is behind by more than `REPLICA_MAX_LAG_SECONDS`, or is not a standby at all
  (promoted, or misconfigured). Each process measures it at most every
  `REPLICA_CHECK_SECONDS`: the primary's current WAL position, then whether the replica has
  replayed up to it. If it has not, it holds at least everything committed before the last
  transaction it replayed, and everything the primary had written when this process last
  found it caught up: the lag is the shorter of the two times since. (The first alone would
  count a quiet hour as an hour's lag while the replica replays the first write after it.)
- the replica cannot be reached. A query that fails on it mid-request (it stopped between
  two checks, or cancelled the query for a conflict with its replay) has the page rendered
  again from the primary, so the reader gets their page rather than an error, and the
  process checks again at once.

Each change of the replica's state is logged once per process, not once per request.
"""

import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.signing import BadSignature
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponseBase

logger = logging.getLogger(__name__)

REPLICA_ALIAS = "replica"
PIN_COOKIE = "primary_pin"
# Where a request notes that its response came from the replica (request.META), for the
# caches that decide after the view whether to keep it (publisher/cache/pages.py).
_SERVED_FROM_REPLICA = "publisher.replica.served"
_PIN_SALT = "publisher.replica.pin"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_WRITES = ("INSERT", "UPDATE", "DELETE", "MERGE")

# Who may read a view from the replica (REPLICA_READ_VIEWS' values).
ANONYMOUS = "anonymous"
EVERYONE = "everyone"

# The alias this request's reads go to; unset (the primary) outside the chosen views.
_reads_from: ContextVar[str | None] = ContextVar("publisher_replica_reads_from", default=None)


def replica_configured() -> bool:
    return REPLICA_ALIAS in connections.settings


class ReplicaRouter:
    """Reads go where the request's decision says, everything else to the primary. Explicit
    aliases both ways: Django would otherwise send a write of an object read from the
    replica back to the replica."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return _reads_from.get() or DEFAULT_DB_ALIAS

    def db_for_write(self, model: type, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        same_data = {DEFAULT_DB_ALIAS, REPLICA_ALIAS}
        if obj1._state.db in same_data and obj2._state.db in same_data:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # A standby is read-only: its schema arrives by replication.
        return False if db == REPLICA_ALIAS else None


@dataclass
class _Health:
    usable: bool = False
    reason: str = "not checked yet"
    checked_at: float | None = None  # time.monotonic()
    caught_up_at: float | None = None  # when it had last replayed all the primary had written


_health = _Health()
_checking = threading.Lock()

# On the replica: whether it is a standby, whether it has replayed up to the primary's WAL
# position (the parameter), and the time since the last transaction it replayed (infinite
# when it has replayed none).
_LAG_SQL = """
SELECT pg_is_in_recovery(),
       COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, false),
       COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8,
                'Infinity'::float8)
"""


def _measure() -> tuple[bool, str] | None:
    """(usable, why) from the replica's state now; None when the primary itself cannot
    answer, which says nothing about the replica."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn()")
            (primary_position,) = cursor.fetchone()
    except DatabaseError:
        return None
    try:
        with connections[REPLICA_ALIAS].cursor() as cursor:
            cursor.execute(_LAG_SQL, [primary_position])
            in_recovery, caught_up, since_last_replayed = cursor.fetchone()
    except DatabaseError as error:
        _close_replica()
        return False, f"is unreachable ({str(error).strip() or type(error).__name__})"
    if not in_recovery:
        return False, "is not a standby (promoted, or not a replica of the primary)"
    now = time.monotonic()
    if caught_up:
        _health.caught_up_at = now
        lag = 0.0
    elif _health.caught_up_at is not None:
        lag = min(since_last_replayed, now - _health.caught_up_at)
    else:
        lag = since_last_replayed
    if lag > settings.REPLICA_MAX_LAG_SECONDS:
        return False, (
            f"is {lag:.1f} s behind the primary (REPLICA_MAX_LAG_SECONDS is "
            f"{settings.REPLICA_MAX_LAG_SECONDS})"
        )
    return True, "is streaming"


def _close_replica() -> None:
    try:
        connections[REPLICA_ALIAS].close()
    except DatabaseError:
        logger.debug("Closing the broken replica connection failed", exc_info=True)


def _record(usable: bool, reason: str) -> None:
    if usable != _health.usable or _health.checked_at is None:
        if usable:
            logger.info("Reading public pages from the replica: it %s", reason)
        else:
            logger.warning("Reading public pages from the primary: the replica %s", reason)
    _health.usable, _health.reason, _health.checked_at = usable, reason, time.monotonic()


def replica_usable(*, recheck: bool = False) -> bool:
    """Whether reads may go to the replica now: as last measured in this process, measured
    again when that is older than REPLICA_CHECK_SECONDS (or `recheck`). One thread
    measures at a time; the others meanwhile go by the last measurement."""
    checked_at = _health.checked_at
    fresh = (
        checked_at is not None
        and time.monotonic() - checked_at < settings.REPLICA_CHECK_SECONDS
        and not recheck
    )
    if fresh or not _checking.acquire(blocking=checked_at is None or recheck):
        return _health.usable
    try:
        measured = _measure()
        if measured is None:
            return False
        _record(*measured)
        return _health.usable
    finally:
        _checking.release()


def replica_health_forget() -> None:
    """Forget the last measurement (tests, and nothing else, need this)."""
    _health.usable, _health.reason, _health.checked_at = False, "not checked yet", None
    _health.caught_up_at = None


def reading_from_replica() -> bool:
    """Whether the reads being made now go to the replica."""
    return _reads_from.get() == REPLICA_ALIAS


def served_from_replica(request: HttpRequest) -> bool:
    """Whether this request's response was rendered from the replica."""
    return bool(request.META.get(_SERVED_FROM_REPLICA))


def replica_may_lack(*, written_at: float) -> bool:
    """Whether the replica might not hold a change committed at `written_at` (a Unix time).

    When reads last went to it, it was at most REPLICA_MAX_LAG_SECONDS behind, as measured
    at most REPLICA_CHECK_SECONDS ago, and replay only moves forward: a change older than
    both together is on it."""
    if not replica_configured():
        return False
    settle = settings.REPLICA_MAX_LAG_SECONDS + settings.REPLICA_CHECK_SECONDS
    return time.time() - written_at < settle


def _pinned(request: HttpRequest) -> bool:
    try:
        request.get_signed_cookie(PIN_COOKIE, salt=_PIN_SALT, max_age=settings.REPLICA_PIN_SECONDS)
    except (KeyError, BadSignature):
        return False
    return True


def _may_read_replica(request: HttpRequest) -> bool:
    match = request.resolver_match
    who = settings.REPLICA_READ_VIEWS.get(match.view_name) if match else None
    if who is None or request.method not in _SAFE_METHODS:
        return False
    # Asked here for every view, so the session and the user come from the primary: a
    # session made a moment ago may not be on the replica yet.
    authenticated = request.user.is_authenticated
    if who == ANONYMOUS and authenticated:
        return False
    return not _pinned(request) and replica_usable()


def _noting_writes(wrote: list[bool]) -> Callable[..., Any]:
    def wrapper(execute, sql, params, many, context):
        if not wrote and sql.lstrip()[:6].upper().startswith(_WRITES):
            wrote.append(True)
        return execute(sql, params, many, context)

    return wrapper


class ReplicaMiddleware:
    """Last in MIDDLEWARE: its `process_view` decides, after every other middleware's, where
    the view reads from, and calls the view itself so it can render it again from the
    primary when the replica fails under it. It also pins a writer's reads to the primary."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if not replica_configured() or request.method in _SAFE_METHODS:
            return self.get_response(request)
        wrote: list[bool] = []
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(_noting_writes(wrote)):
            response = self.get_response(request)
        if wrote:
            response.set_signed_cookie(
                PIN_COOKIE,
                "1",
                salt=_PIN_SALT,
                max_age=settings.REPLICA_PIN_SECONDS,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponseBase],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponseBase | None:
        if not replica_configured() or not _may_read_replica(request):
            return None
        token = _reads_from.set(REPLICA_ALIAS)
        try:
            response = _rendered(view_func(request, *view_args, **view_kwargs))
            request.META[_SERVED_FROM_REPLICA] = True
            return response
        except (OperationalError, InterfaceError):
            # The replica went away, or cancelled the query for a conflict with its replay.
            # These views only read, so the primary renders the page again; checking now
            # tells the next requests whether to stay away (and logs it once).
            _close_replica()
            replica_usable(recheck=True)
        finally:
            _reads_from.reset(token)
        return view_func(request, *view_args, **view_kwargs)


def _rendered(response: HttpResponseBase) -> HttpResponseBase:
    # A template response (the sitemap's) reads while it renders: render it here, where a
    # failing replica can still be stepped around.
    render = getattr(response, "render", None)
    if callable(render) and not getattr(response, "is_rendered", True):
        return render()
    return response
