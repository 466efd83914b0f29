"""One person, one account: at most MAX_SESSIONS_PER_USER signed-in sessions at once.

allauth's `usersessions` keeps a row per signed-in session (`UserSession`, written by its
`user_logged_in` receiver). When a sign-in makes one too many, the oldest other session is
ended: its session is deleted from the session store, so that device's next request is
signed out, and a marker keyed by the ended session (a hash of its key) tells that request
why. Staff are exempt: editors work from several machines at once, and ending an editor's
session mid-edit would lose their work; the cap protects individual subscriptions.

Each counted session also records, at most every few minutes, when it was last seen and the
network it came from that day (`SessionNetwork`), for the admin's report of accounts used
from an unusual number of places.
"""

import hashlib
import logging
from datetime import date, datetime, timedelta
from enum import StrEnum

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import SessionNetwork, User
from accounts.sessions.devices import network_of
from publisher.cache.generations import CACHE_ERRORS
from publisher.ratelimit import client_ip

logger = logging.getLogger(__name__)

# Set in a session when allauth's login counted it: only those are tracked (a session made
# any other way, such as the admin's own login, has no row to keep current).
TRACKED_SESSION_KEY = "_usersession_tracked"
SEEN_EVERY_SECONDS = 300
# How far back the admin's report of networks per day looks (accounts.sessions.selectors).
NETWORK_REPORT_DAYS = 30
_ENDED_PREFIX = "sessions:ended:"
_SEEN_PREFIX = "sessions:seen:"


class EndReason(StrEnum):
    """Why a device was signed out, for the notice it gets on its next request."""

    CAP = "cap"
    SIGNED_OUT = "signed_out"


def _hashed(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def _ended_marker_key(session_key: str) -> str:
    return _ENDED_PREFIX + _hashed(session_key)


def session_end(*, session: UserSession, reason: EndReason) -> None:
    """End the session (its device's next request is signed out) and leave the notice that
    tells that device why."""
    # The marker lives as long as the ended session's cookie could, so the device hears
    # why whenever it comes back.
    try:
        cache.set(_ended_marker_key(session.session_key), str(reason), settings.SESSION_COOKIE_AGE)
    except CACHE_ERRORS:
        logger.warning("Could not leave the signed-out notice for a session", exc_info=True)
    session.end()


def session_cap_enforce(*, request: HttpRequest, user: User) -> list[UserSession]:
    """End the oldest of the user's other sessions while they hold more than
    MAX_SESSIONS_PER_USER, right after `request` signed in. Returns the sessions ended
    (none for staff)."""
    if user.is_staff:
        return []
    current = request.session.session_key
    with transaction.atomic():
        # Two sign-ins at once must not each leave the other's session standing.
        User.objects.select_for_update().filter(pk=user.pk).first()
        # allauth's purge drops rows whose session has gone; the signing-in session is
        # kept as it is: its stored copy holds the user only once the response saves it.
        sessions = sorted(
            (
                session
                for session in UserSession.objects.filter(user=user)
                if session.session_key == current or not session.purge()
            ),
            key=lambda s: (s.created_at, s.pk),
        )
        excess = len(sessions) - settings.MAX_SESSIONS_PER_USER
        if excess <= 0:
            return []
        ended = [s for s in sessions if s.session_key != current][:excess]
        for session in ended:
            session_end(session=session, reason=EndReason.CAP)
    return ended


def session_sign_out(*, request: HttpRequest, user: User, session_id: int) -> UserSession | None:
    """Sign out one of the user's other devices. None when `session_id` is not one of them
    (someone else's, already ended, or this very device, which signs out with Log out)."""
    session = UserSession.objects.filter(user=user, pk=session_id).first()
    if session is None or session.session_key == request.session.session_key:
        return None
    session_end(session=session, reason=EndReason.SIGNED_OUT)
    return session


def session_ended_reason(*, request: HttpRequest) -> EndReason | None:
    """Why the session this signed-out request's cookie names was ended, if we ended it;
    the marker is used up, so the notice shows once."""
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not cookie:
        return None
    key = _ended_marker_key(cookie)
    try:
        reason = cache.get(key)
        if reason is None:
            return None
        cache.delete(key)
    except CACHE_ERRORS:
        return None
    try:
        return EndReason(reason)
    except ValueError:
        return None


def session_track_start(*, request: HttpRequest) -> None:
    """Mark the session a sign-in just created as one counted under the cap."""
    request.session[TRACKED_SESSION_KEY] = True


def session_adopt(*, request: HttpRequest, user: User) -> None:
    """Count this signed-in session from now on if no sign-in of ours recorded it (one
    from before sessions were counted, or from the admin's own login), so Your sessions
    always lists the device it is opened on."""
    if request.session.get(TRACKED_SESSION_KEY):
        return
    UserSession.objects.create_from_request(request, user=user)
    session_track_start(request=request)


def session_seen_key(*, request: HttpRequest, session_key: str | None, now: datetime) -> str | None:
    """The cache key that says this session was recorded from this request's network today
    within SEEN_EVERY_SECONDS; None when there is nothing to record (no key, no address).
    Answers served without Django's middleware (reports.entitled_page) look it up to know
    that the request would record nothing."""
    ip = client_ip(request)
    if not session_key or not ip:
        return None
    try:
        network = network_of(ip)
    except ValueError:
        return None
    day = timezone.localdate(now)
    return f"{_SEEN_PREFIX}{_hashed(session_key)}:{network}:{day.isoformat()}"


def session_activity_record(
    *, request: HttpRequest, user: User | None = None, now: datetime | None = None
) -> None:
    """Keep the session's last-seen time and address current, and note its network for the
    day: at most once every SEEN_EVERY_SECONDS per session and network, so a reader's
    requests cost no query in between. The address is the trusted-proxy rule's
    (`publisher.ratelimit.client_ip`), never a raw X-Forwarded-For."""
    key = request.session.session_key
    now = now or timezone.now()
    seen = session_seen_key(request=request, session_key=key, now=now)
    if seen is None:
        return
    try:
        fresh = cache.add(seen, 1, SEEN_EVERY_SECONDS)
    except CACHE_ERRORS:
        return
    if not fresh:
        return
    # The user only now: a request between two records costs no query at all.
    if user is None:
        if not request.user.is_authenticated:
            return
        user = request.user
    ip = client_ip(request) or ""  # known: there is no seen key without an address
    UserSession.objects.filter(session_key=key, user=user).update(last_seen_at=now, ip=ip)
    SessionNetwork.objects.bulk_create(
        [
            SessionNetwork(
                user=user, day=timezone.localdate(now), network=network_of(ip), first_seen_at=now
            )
        ],
        ignore_conflicts=True,
    )


def session_networks_prune(*, today: date | None = None) -> int:
    """Forget the networks of days the admin's report no longer looks at; returns how many
    rows went."""
    today = today or timezone.localdate()
    deleted, _ = SessionNetwork.objects.filter(
        day__lt=today - timedelta(days=NETWORK_REPORT_DAYS - 1)
    ).delete()
    return deleted
