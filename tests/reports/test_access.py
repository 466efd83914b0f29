"""The one access rule, table-driven over personas and membership states."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import Membership
from reports.access import can_read_body
from reports.models import Report
from tests.support.factories import MembershipFactory, UserFactory

# Period ends relative to the moment each test reads: a module-level `timezone.now()`
# would be the wall clock at import, not the test's clock.
AHEAD = timedelta(days=10)
BEHIND = -timedelta(days=10)

# (persona, membership status, period end from now, cancel at period end, may read paid)
CASES = [
    ("anonymous", None, None, False, False),
    ("free reader", None, None, False, False),
    ("active", "active", AHEAD, False, True),
    ("active, renewal overdue in our copy", "active", BEHIND, False, True),
    ("trialing", "trialing", AHEAD, False, True),
    ("active, cancels at period end, period running", "active", AHEAD, True, True),
    ("active, cancels at period end, period over", "active", BEHIND, True, False),
    ("past_due within grace", "past_due", -timedelta(days=2), False, True),
    ("past_due beyond grace", "past_due", -timedelta(days=8), False, False),
    ("past_due without a period", "past_due", None, False, False),
    ("canceled", "canceled", AHEAD, False, False),
    ("unpaid", "unpaid", AHEAD, False, False),
    ("incomplete", "incomplete", AHEAD, False, False),
    ("incomplete_expired", "incomplete_expired", AHEAD, False, False),
    ("paused", "paused", AHEAD, False, False),
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
    now = timezone.now()
    reader = _reader(persona, status, None if period_end is None else now + period_end, cancel)
    paid = Report(slug="paid", is_free=False)
    free = Report(slug="free", is_free=True)

    assert can_read_body(reader, paid, now=now) is paid_access
    assert can_read_body(reader, free, now=now) is True


@pytest.mark.django_db
def test_grace_period_follows_setting(settings):
    settings.PAST_DUE_GRACE_DAYS = 1
    now = timezone.now()
    reader = MembershipFactory(
        status=Membership.Status.PAST_DUE, current_period_end=now - timedelta(days=2)
    ).user
    assert can_read_body(reader, Report(is_free=False), now=now) is False


@pytest.mark.django_db
def test_inactive_account_is_not_staff_reader():
    reader = UserFactory(is_staff=False)
    assert can_read_body(reader, Report(is_free=False), now=timezone.now()) is False


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("invoice_status", "due_in_days", "reads"),
    [("open", 5, True), ("open", -6, True), ("open", -8, False), ("paid", None, True),
     ("uncollectible", 5, False), ("", None, False)],
)  # fmt: skip
def test_a_seat_in_a_licence_paid_by_invoice_reads_while_its_invoice_allows(
    invoice_status, due_in_days, reads
):
    from accounts.models import Organisation, OrganisationMember

    now = timezone.now()
    organisation = Organisation.objects.create(
        name="Acme", status="past_due" if due_in_days and due_in_days < 0 else "active",
        collection_method="send_invoice", invoice_status=invoice_status, seats=3,
        current_period_end=now + timedelta(days=300),
        invoice_due_at=now + timedelta(days=due_in_days) if due_in_days is not None else None,
    )  # fmt: skip
    reader = UserFactory()
    OrganisationMember.objects.create(organisation=organisation, user=reader)

    assert can_read_body(reader, Report(is_free=False), now=now) is reads
    assert can_read_body(reader, Report(is_free=True), now=now)
