"""The one access rule, table-driven over personas and membership states."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import Membership
from reports.access import can_read_body
from reports.models import Report
from tests.support.factories import MembershipFactory, UserFactory

NOW = timezone.now()
FUTURE = NOW + timedelta(days=10)
PAST = NOW - timedelta(days=10)

# (persona, membership status, period end, cancel at period end, may read a paid report)
CASES = [
    ("anonymous", None, None, False, False),
    ("free reader", None, None, False, False),
    ("active", "active", FUTURE, False, True),
    ("active, renewal overdue in our copy", "active", PAST, False, True),
    ("trialing", "trialing", FUTURE, False, True),
    ("active, cancels at period end, period running", "active", FUTURE, True, True),
    ("active, cancels at period end, period over", "active", PAST, True, False),
    ("past_due within grace", "past_due", NOW - timedelta(days=2), False, True),
    ("past_due beyond grace", "past_due", NOW - timedelta(days=8), False, False),
    ("past_due without a period", "past_due", None, False, False),
    ("canceled", "canceled", FUTURE, False, False),
    ("unpaid", "unpaid", FUTURE, False, False),
    ("incomplete", "incomplete", FUTURE, False, False),
    ("incomplete_expired", "incomplete_expired", FUTURE, False, False),
    ("paused", "paused", FUTURE, False, False),
    ("staff", None, None, False, True),
]


def _reader(persona: str, status: str | None, period_end, cancel: bool):
    if persona == "anonymous":
        return AnonymousUser()
    if persona == "staff":
        return UserFactory(is_staff=True)
    if status is None:
        return UserFactory()
    return MembershipFactory(
        status=status, current_period_end=period_end, cancel_at_period_end=cancel
    ).user


@pytest.mark.django_db
@pytest.mark.parametrize(("persona", "status", "period_end", "cancel", "paid_access"), CASES)
def test_access_rule(persona, status, period_end, cancel, paid_access):
    reader = _reader(persona, status, period_end, cancel)
    paid = Report(slug="paid", is_free=False)
    free = Report(slug="free", is_free=True)

    assert can_read_body(reader, paid, now=NOW) is paid_access
    assert can_read_body(reader, free, now=NOW) is True


@pytest.mark.django_db
def test_grace_period_follows_setting(settings):
    settings.PAST_DUE_GRACE_DAYS = 1
    reader = MembershipFactory(
        status=Membership.Status.PAST_DUE, current_period_end=NOW - timedelta(days=2)
    ).user
    assert can_read_body(reader, Report(is_free=False), now=NOW) is False


@pytest.mark.django_db
def test_inactive_account_is_not_staff_reader():
    reader = UserFactory(is_staff=False)
    assert can_read_body(reader, Report(is_free=False), now=NOW) is False
