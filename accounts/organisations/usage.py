"""What a team licence is used for, for its admins: per member, when they were last active
and how many reports they read through their seat each month, so the buyer sees the value
and can reclaim idle seats.

Reads come from `SeatMonthReads` (folded from the report pages' reading marks by
reports.counting); last activity is the latest of the member's last sign-in and the
last-seen time of their signed-in devices (accounts.sessions keeps it current). Three
queries whatever the team's size.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from allauth.usersessions.models import UserSession
from django.db.models import Max
from django.utils import timezone

from accounts.models import Organisation, OrganisationMember, SeatMonthReads

# A member with no activity in this many days (counting joining as activity) is idle.
IDLE_DAYS = 30
# Months on the team page (this one and the two before) and in the export.
PAGE_MONTHS = 3
EXPORT_MONTHS = 12


@dataclass(frozen=True)
class MemberUsage:
    member: OrganisationMember
    last_activity: datetime | None
    # Reads per month of the range, oldest first.
    reads: tuple[int, ...]
    idle: bool


@dataclass(frozen=True)
class TeamUsage:
    # Each month's first day, oldest first.
    months: tuple[date, ...]
    members: list[MemberUsage]

    @property
    def idle_count(self) -> int:
        return sum(1 for usage in self.members if usage.idle)


def months_up_to(*, today: date, months: int) -> tuple[date, ...]:
    """The first days of the `months` calendar months ending with `today`'s, oldest first."""
    year, month = today.year, today.month
    firsts = []
    for _ in range(months):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return tuple(reversed(firsts))


def _latest(*moments: datetime | None) -> datetime | None:
    present = [moment for moment in moments if moment is not None]
    return max(present) if present else None


def team_usage(
    *, organisation: Organisation, months: int, now: datetime | None = None
) -> TeamUsage:
    """Every member of `organisation` (in joining order) with their last activity, reads
    for each of the last `months` months (site time zone) and whether they are idle."""
    now = now or timezone.now()
    firsts = months_up_to(today=timezone.localdate(now), months=months)
    members = list(organisation.members.select_related("user"))
    user_ids = [member.user_id for member in members]
    last_seen = dict(
        UserSession.objects.filter(user_id__in=user_ids)
        .values("user_id")
        .annotate(last=Max("last_seen_at"))
        .values_list("user_id", "last")
    )
    reads: dict[tuple[int, date], int] = {
        (user_id, month): number
        for user_id, month, number in SeatMonthReads.objects.filter(
            organisation=organisation, user_id__in=user_ids, month__gte=firsts[0]
        ).values_list("user_id", "month", "reads")
    }
    idle_before = now - timedelta(days=IDLE_DAYS)
    usages = []
    for member in members:
        last_activity = _latest(member.user.last_login, last_seen.get(member.user_id))
        usages.append(
            MemberUsage(
                member=member,
                last_activity=last_activity,
                reads=tuple(reads.get((member.user_id, month), 0) for month in firsts),
                idle=max(last_activity or member.joined_at, member.joined_at) < idle_before,
            )
        )
    return TeamUsage(months=firsts, members=usages)
