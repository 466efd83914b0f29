"""Reads about signed-in sessions: the admin's report of networks per account and day."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Count, Q

from accounts.models import SessionNetwork, User
from accounts.sessions.services import NETWORK_REPORT_DAYS

REPORT_DAYS = NETWORK_REPORT_DAYS
REPORT_LIMIT = 200


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
