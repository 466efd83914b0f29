"""Gift links: a subscriber shares one report's full text for 14 days."""

import secrets
from datetime import datetime, timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from publisher.errors import ApplicationError
from reports.access import gift_unlocks_body, is_entitled_reader
from reports.models import GiftLink, Report

GIFT_DAYS = 14
GIFTS_PER_MONTH = 5
_SIGNER = signing.Signer(salt="reports.gift-link")


def _month_start(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def gifts_left_this_month(*, giver: User, now: datetime | None = None) -> int:
    now = now or timezone.now()
    used = GiftLink.objects.filter(giver=giver, created_at__gte=_month_start(now)).count()
    return max(GIFTS_PER_MONTH - used, 0)


def gift_token(gift: GiftLink) -> str:
    return _SIGNER.sign(gift.key)


def _none_left() -> ApplicationError:
    return ApplicationError(
        f"You have used this month's {GIFTS_PER_MONTH} gift links; more next month.", status=429
    )


def gift_refusal(
    *, giver: User, report: Report, left: int, now: datetime | None = None
) -> ApplicationError | None:
    """Why `giver` may not gift `report` now (with `left` gifts left this month), or None.

    What the confirmation page says before anything is spent; `gift_create` decides again
    under a lock."""
    if not is_entitled_reader(giver, now=now or timezone.now()):
        return ApplicationError("Gift links are for subscribers.", status=403)
    if not report.is_published or report.is_free:
        return ApplicationError("Only published paid reports can be gifted.")
    return _none_left() if left == 0 else None


def gift_create(*, giver: User, report: Report, now: datetime | None = None) -> GiftLink:
    now = now or timezone.now()
    if refusal := gift_refusal(giver=giver, report=report, left=GIFTS_PER_MONTH, now=now):
        raise refusal
    with transaction.atomic():
        # Serialise one giver's gifts so two quick clicks cannot both take the last one.
        User.objects.select_for_update().filter(pk=giver.pk).first()
        if gifts_left_this_month(giver=giver, now=now) == 0:
            raise _none_left()
        return GiftLink.objects.create(
            report=report,
            giver=giver,
            key=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + timedelta(days=GIFT_DAYS),
        )


def gift_from_token(token: str) -> GiftLink | None:
    try:
        key = _SIGNER.unsign(token)
    except signing.BadSignature:
        return None
    return GiftLink.objects.select_related("giver", "report").filter(key=key).first()


def gift_open(*, token: str) -> GiftLink:
    """The gift behind `token` if it still unlocks its report; ApplicationError says why not."""
    gift = gift_from_token(token)
    if gift is None:
        raise ApplicationError("This gift link is not valid.", status=404)
    if not gift_unlocks_body(gift, gift.report):
        raise ApplicationError("This gift link has expired or was withdrawn.", status=410)
    GiftLink.objects.filter(pk=gift.pk).update(opened_count=gift.opened_count + 1)
    return gift


def gift_revoke(*, giver: User, gift_id: int) -> None:
    updated = GiftLink.objects.filter(pk=gift_id, giver=giver, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if not updated:
        raise ApplicationError("No such gift link.", status=404)
