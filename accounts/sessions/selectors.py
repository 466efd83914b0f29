"""Reads about signed-in sessions: a reader's own list, and the admin's network report."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from allauth.usersessions.models import UserSession
from django.db.models import Count, Q
from django.http import HttpRequest

from accounts.models import SessionNetwork, User
from accounts.sessions.devices import device_summary
from accounts.sessions.services import NETWORK_REPORT_DAYS

REPORT_DAYS = NETWORK_REPORT_DAYS
REPORT_LIMIT = 200


@dataclass(frozen=True)
class SessionRow:
    id: int
    device: str
    ip: str
    signed_in_at: datetime
    last_seen_at: datetime
    current: bool


def session_list_for_user(*, request: HttpRequest, user: User) -> list[SessionRow]:
    """The user's signed-in sessions, this device first, then the most recently seen.
    allauth drops the rows whose session has ended on the way."""
    current = request.session.session_key
    rows = [
        SessionRow(
            id=session.pk,
            device=device_summary(session.user_agent),
            ip=session.ip,
            signed_in_at=session.created_at,
            last_seen_at=session.last_seen_at,
            current=session.session_key == current,
        )
        for session in UserSession.objects.purge_and_list(user)
    ]
    rows.sort(key=lambda row: row.last_seen_at, reverse=True)
    rows.sort(key=lambda row: not row.current)
    return rows


@dataclass(frozen=True)
class NetworkAlert:
    user: User
    day: date
    networks: list[str]


def session_network_alerts(
    *, today: date, threshold: int, days: int = REPORT_DAYS, limit: int = REPORT_LIMIT
) -> list[NetworkAlert]:
    """Accounts whose sessions came from more than `threshold` networks on one day of the
    last `days` (today included), most networks first: at most `limit` account-days, in
    three queries whatever the data."""
    since = today - timedelta(days=days - 1)
    recent = SessionNetwork.objects.filter(day__gte=since, day__lte=today)
    counted = list(
        recent.values("user_id", "day")
        .annotate(networks=Count("id"))
        .filter(networks__gt=threshold)
        .order_by("-networks", "-day", "user_id")[:limit]
    )
    if not counted:
        return []
    users = User.objects.in_bulk({row["user_id"] for row in counted})
    pairs = Q()
    for row in counted:
        pairs |= Q(user_id=row["user_id"], day=row["day"])
    networks: dict[tuple[int, date], list[str]] = defaultdict(list)
    for user_id, day, network in (
        recent.filter(pairs).order_by("network").values_list("user_id", "day", "network")
    ):
        networks[(user_id, day)].append(network)
    return [
        NetworkAlert(
            user=users[row["user_id"]],
            day=row["day"],
            networks=networks[(row["user_id"], row["day"])],
        )
        for row in counted
    ]
