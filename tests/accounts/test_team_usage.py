"""Usage for the buyer: the team page and its CSV show each member's last activity and the
reports they read through their seat per month (counted by the reading mark, folded like the
report counts), idle members stand out with their seat's Remove at hand, and only the
team's admins see any of it, in a fixed number of queries."""

import csv
import io
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.usersessions.models import UserSession
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    Organisation,
    OrganisationInvitation,
    OrganisationMember,
    SeatMonthReads,
)
from accounts.organisations.services import member_remove
from accounts.organisations.usage import team_usage
from reports.counting.marks import mark_url
from tests.support.counting import BROWSER
from tests.support.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
MARK = re.compile(r'<img src="(/reading/[^"]+\.gif)" alt="" width="1" height="1" hidden>')
TEAM = reverse("accounts:team")
EXPORT = reverse("accounts:team_usage_csv")


def _team(*, seats: int = 10, name: str = "Acme Integrators"):
    owner = UserFactory(display_name="Ada Admin")
    organisation = Organisation.objects.create(
        name=name, owner=owner, seats=seats, status="active",
        current_period_end=timezone.now() + timedelta(days=300),
    )  # fmt: skip
    OrganisationMember.objects.create(organisation=organisation, user=owner, is_admin=True)
    return organisation, owner


def _member(organisation, **user):
    person = UserFactory(**user)
    OrganisationMember.objects.create(organisation=organisation, user=person)
    return person


def _read(user, report) -> None:
    """A browser's view of the report page as `user`, then the mark the page carries."""
    client = Client()
    client.force_login(user)
    page = client.get(report.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    assert page.status_code == 200
    (mark,) = MARK.findall(page.content.decode())
    assert client.get(mark, HTTP_USER_AGENT=BROWSER).status_code == 200


def _reads(organisation) -> dict[tuple[int, date], int]:
    return {
        (row.user_id, row.month): row.reads
        for row in SeatMonthReads.objects.filter(organisation=organisation)
    }


def _at(*args: int):
    return time_machine.travel(datetime(*args, tzinfo=NEW_YORK), tick=False)


# Counting -----------------------------------------------------------------------------------


def test_reads_through_a_seat_fold_into_each_members_month(counting):
    organisation, owner = _team()
    colleague = _member(organisation)
    paid = ReportFactory(is_free=False, published_at=datetime(2026, 1, 2, tzinfo=NEW_YORK))
    free = ReportFactory(is_free=True, published_at=datetime(2026, 1, 2, tzinfo=NEW_YORK))
    # 23:30 on October 31 in New York is November in UTC: still October's read.
    with _at(2026, 10, 31, 23, 30):
        _read(colleague, paid)
    with _at(2026, 11, 12, 9, 0):
        _read(colleague, paid)
        _read(colleague, free)
        _read(owner, paid)
        counting.fold()
    with _at(2026, 12, 1, 8, 0):
        _read(colleague, paid)
        result = counting.fold()

    assert result.counts == 2  # the December report count and the December seat read
    assert _reads(organisation) == {
        (colleague.pk, date(2026, 10, 1)): 1,
        (colleague.pk, date(2026, 11, 1)): 2,
        (owner.pk, date(2026, 11, 1)): 1,
        (colleague.pk, date(2026, 12, 1)): 1,
    }
    with _at(2026, 12, 1, 9, 0):
        usage = team_usage(organisation=organisation, months=3)
    assert usage.months == (date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1))
    assert {row.member.user_id: row.reads for row in usage.members} == {
        owner.pk: (0, 1, 0),
        colleague.pk: (1, 2, 1),
    }


def test_the_seat_read_travels_with_the_report_counts_and_names_no_report(counting):
    organisation, owner = _team()
    paid = ReportFactory(is_free=False)

    _read(owner, paid)

    assert counting.today() == {
        f"{paid.pk}:entitled_reads": 1,
        f"seat:{organisation.pk}:{owner.pk}": 1,
    }


@pytest.mark.parametrize("persona", ["subscriber", "editor", "free_reader"])
def test_readers_not_reading_through_a_seat_count_no_seat_read(request, persona, counting):
    """A seat holder who pays for themselves (or is staff) reads on their own account: the
    licence is not what they use, so it gets none of their reads."""
    organisation, _ = _team()
    reader = request.getfixturevalue(persona)
    if persona != "free_reader":
        OrganisationMember.objects.create(organisation=organisation, user=reader)
    paid = ReportFactory(is_free=False)

    _read(reader, paid)
    counting.fold()

    assert not any(name.startswith("seat:") for name in counting.today())
    assert _reads(organisation) == {}


def test_a_lapsed_licence_counts_no_seat_read(counting):
    organisation, owner = _team()
    organisation.status = "canceled"
    organisation.save()
    free = ReportFactory(is_free=True)

    _read(owner, free)

    assert counting.today() == {f"{free.pk}:entitled_reads": 1}


def test_a_seat_holders_mark_still_asks_the_database_nothing(counting):
    organisation, owner = _team()
    paid = ReportFactory(is_free=False)
    client = Client()
    client.force_login(owner)
    page = client.get(paid.get_absolute_url(), HTTP_USER_AGENT=BROWSER)
    (mark,) = MARK.findall(page.content.decode())

    with CaptureQueriesContext(connection) as queries:
        client.get(mark, HTTP_USER_AGENT=BROWSER)

    assert [query["sql"] for query in queries] == []
    assert counting.today()[f"seat:{organisation.pk}:{owner.pk}"] == 1


def test_a_mark_naming_a_seat_cannot_be_forged(client, counting):
    paid = ReportFactory(is_free=False)
    genuine = mark_url(report_id=paid.pk, kind="entitled", seat=(1, 2))
    token = genuine.removeprefix("/reading/").removesuffix(".gif")
    value, _, signature = token.rpartition(":")
    forged = f"/reading/{value.replace('.1.2', '.1.3')}:{signature}.gif"

    assert client.get(forged, HTTP_USER_AGENT=BROWSER).status_code == 404
    assert client.get(genuine, HTTP_USER_AGENT=BROWSER).status_code == 200
    assert counting.today() == {f"{paid.pk}:entitled_reads": 1, "seat:1:2": 1}


def test_the_fold_counts_only_people_holding_a_seat_there_now(counting):
    organisation, owner = _team()
    leaving = _member(organisation)
    paid = ReportFactory(is_free=False)
    _read(leaving, paid)
    _read(owner, paid)
    member_remove(
        organisation=organisation,
        admin=owner,
        member_id=OrganisationMember.objects.get(user=leaving).pk,
    )
    # A seat that never existed, as a kept mark of a deleted organisation would name.
    counting.client.hincrby(f"counting:day:{timezone.localdate().isoformat()}", "seat:999999:1", 3)

    counting.fold()

    month = timezone.localdate().replace(day=1)
    assert _reads(organisation) == {(owner.pk, month): 1}
    assert not SeatMonthReads.objects.exclude(organisation=organisation).exists()


def test_removing_a_member_forgets_their_reads():
    organisation, owner = _team()
    leaving = _member(organisation)
    SeatMonthReads.objects.create(
        organisation=organisation, user=leaving, month=date(2026, 11, 1), reads=4
    )
    SeatMonthReads.objects.create(
        organisation=organisation, user=owner, month=date(2026, 11, 1), reads=2
    )

    member_remove(
        organisation=organisation,
        admin=owner,
        member_id=OrganisationMember.objects.get(user=leaving).pk,
    )

    assert _reads(organisation) == {(owner.pk, date(2026, 11, 1)): 2}


def test_folds_keep_twelve_months_of_seat_reads(counting):
    organisation, owner = _team()
    for month in (date(2025, 12, 1), date(2026, 1, 1), date(2026, 12, 1)):
        SeatMonthReads.objects.create(organisation=organisation, user=owner, month=month, reads=1)

    with _at(2026, 12, 15, 12, 0):
        counting.fold()

    assert sorted(month for _, month in _reads(organisation)) == [
        date(2026, 1, 1),
        date(2026, 12, 1),
    ]


# Last activity and idle seats ---------------------------------------------------------------


def _session(user, last_seen: datetime, key: str) -> None:
    UserSession.objects.create(
        user=user, session_key=key, ip="203.0.113.7", user_agent=BROWSER, last_seen_at=last_seen
    )


def test_last_activity_is_the_latest_sign_in_or_device_seen_and_idle_after_thirty_days():
    now = datetime(2026, 12, 20, 12, 0, tzinfo=NEW_YORK)
    with _at(2026, 1, 5, 9, 0):
        organisation, owner = _team()
        active = _member(organisation)
        sleeping = _member(organisation)
        never = _member(organisation)
    with _at(2026, 12, 10, 9, 0):
        newcomer = _member(organisation)  # joined ten days ago, not signed in since
    owner.last_login = now - timedelta(days=2)
    active.last_login = now - timedelta(days=90)
    sleeping.last_login = now - timedelta(days=31)
    for person in (owner, active, sleeping):
        person.save(update_fields=["last_login"])
    _session(active, now - timedelta(days=3), "a" * 32)
    _session(active, now - timedelta(days=40), "b" * 32)
    _session(sleeping, now - timedelta(days=45), "c" * 32)

    usage = team_usage(organisation=organisation, months=3, now=now)

    rows = {row.member.user_id: row for row in usage.members}
    assert rows[owner.pk].last_activity == now - timedelta(days=2)
    assert rows[active.pk].last_activity == now - timedelta(days=3)
    assert rows[sleeping.pk].last_activity == now - timedelta(days=31)
    assert rows[never.pk].last_activity is None
    assert rows[newcomer.pk].last_activity is None
    assert {user_id for user_id, row in rows.items() if row.idle} == {sleeping.pk, never.pk}
    assert usage.idle_count == 2


# The team page ------------------------------------------------------------------------------


def test_the_team_page_shows_seats_members_activity_reads_and_invitations(client_for):
    organisation, owner = _team(seats=5)
    idle = _member(organisation, email="idle@acme.example", display_name="Ivo Idle")
    _member(organisation, email="keen@acme.example", display_name="Kim Keen")
    month = timezone.localdate().replace(day=1)
    SeatMonthReads.objects.create(organisation=organisation, user=idle, month=month, reads=17)
    idle.last_login = timezone.now() - timedelta(days=45)
    idle.save(update_fields=["last_login"])
    OrganisationMember.objects.filter(user=idle).update(
        joined_at=timezone.now() - timedelta(days=60)
    )
    OrganisationInvitation.objects.create(
        organisation=organisation,
        email="next@acme.example",
        invited_by=owner,
        expires_at=timezone.now() + timedelta(days=7),
    )

    html = client_for(owner).get(TEAM).content.decode()

    assert "3 of 5 seats used." in html
    assert "<strong>1 idle</strong>: no activity in 30 days." in html
    idle_row = re.search(r'<tr class="team-table__idle">(.*?)</tr>', html, re.S)
    assert idle_row is not None
    row = idle_row.group(1)
    assert "Ivo Idle" in row and "idle@acme.example" in row and "Idle</span>" in row
    assert '<td class="team-table__reads">17</td>' in row
    # Reclaiming the seat is one button away.
    idle_seat = OrganisationMember.objects.get(user=idle).pk
    assert f'name="id" value="{idle_seat}"' in row and 'value="remove"' in row
    assert html.count('class="team-table__idle"') == 1
    assert "next@acme.example" in html
    assert f'href="{EXPORT}"' in html


def test_removing_an_idle_member_from_the_team_page_frees_the_seat(client_for):
    organisation, owner = _team(seats=3)
    idle = _member(organisation)
    seat = OrganisationMember.objects.get(user=idle)

    response = client_for(owner).post(TEAM, {"action": "remove", "id": seat.pk})

    assert response.status_code == 302
    assert not OrganisationMember.objects.filter(pk=seat.pk).exists()


@pytest.mark.parametrize("members", [3, 50])
def test_the_team_page_and_export_cost_the_same_queries_for_any_team(
    client_for, django_assert_max_num_queries, members
):
    organisation, owner = _team(seats=60)
    month = timezone.localdate().replace(day=1)
    for n in range(members - 1):
        person = _member(organisation)
        _session(person, timezone.now() - timedelta(days=n), f"{n:032d}")
        SeatMonthReads.objects.create(organisation=organisation, user=person, month=month, reads=n)
    client = client_for(owner)

    # Session, user, the admin's seat and organisation (4); members, their devices and their
    # reads (3); invitations, removals and the header's membership (3).
    with django_assert_max_num_queries(10):
        assert client.get(TEAM).status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get(EXPORT).status_code == 200


# The export ---------------------------------------------------------------------------------


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_export_lists_each_member_with_twelve_months_of_reads(client_for):
    with _at(2026, 3, 2, 10, 0):
        organisation, owner = _team()
        sly = _member(organisation, email="sly@acme.example", display_name="=HYPERLINK(1)")
    SeatMonthReads.objects.create(
        organisation=organisation, user=sly, month=date(2026, 11, 1), reads=5
    )
    SeatMonthReads.objects.create(
        organisation=organisation, user=sly, month=date(2026, 1, 1), reads=9
    )
    sly.last_login = datetime(2026, 12, 14, 16, 5, tzinfo=NEW_YORK)
    sly.save(update_fields=["last_login"])

    with _at(2026, 12, 15, 10, 0):
        response = client_for(owner).get(EXPORT)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="acme-integrators-usage-2026-12-15.csv"'
    )
    header, *rows = _rows(response)
    assert header == [
        "member", "email", "joined", "last activity",
        *(f"reads 2026-{month:02d}" for month in range(1, 13)),
    ]  # fmt: skip
    by_email = {row[1]: row for row in rows}
    assert by_email["sly@acme.example"] == [
        "'=HYPERLINK(1)", "sly@acme.example", "2026-03-02", "2026-12-14 16:05",
        "9", *(["0"] * 9), "5", "0",
    ]  # fmt: skip
    assert by_email[owner.email][:3] == ["Ada Admin", owner.email, "2026-03-02"]
    assert len(rows) == 2


def test_only_the_teams_admins_may_export(client_for, free_reader, subscriber):
    organisation, owner = _team()
    colleague = _member(organisation)
    _, other_admin = _team(name="Other Co")
    SeatMonthReads.objects.create(
        organisation=organisation, user=colleague, month=timezone.localdate().replace(day=1),
        reads=3,
    )  # fmt: skip

    anonymous = Client().get(EXPORT)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")
    for person in (colleague, free_reader, subscriber):
        assert client_for(person).get(EXPORT).status_code == 404
    assert client_for(other_admin).get(EXPORT).content.decode().count("\n") == 2
    assert colleague.email not in client_for(other_admin).get(EXPORT).content.decode()
    assert client_for(owner).post(EXPORT).status_code == 405


def test_a_team_without_members_but_its_admin_exports_one_row(client_for):
    _, owner = _team()

    assert len(_rows(client_for(owner).get(EXPORT))) == 2


def test_an_admin_whose_licence_ended_still_sees_the_usage(client_for):
    organisation, owner = _team()
    organisation.status = "canceled"
    organisation.save()

    assert client_for(owner).get(EXPORT).status_code == 200


@pytest.mark.parametrize("is_free", [True, False])
def test_naming_the_seat_in_the_mark_costs_a_report_page_no_query(
    client_for, django_assert_max_num_queries, is_free
):
    """The page's access check and its header load the reader's membership and seat
    anyway: a seat holder's report page costs the 12 queries it cost before its mark named
    the seat (a free reader's 9, the seat, its organisation, and the comment form's check
    for a ban, as the seat holder may comment)."""
    _, owner = _team()
    report = ReportFactory(is_free=is_free)
    client = client_for(owner)

    with django_assert_max_num_queries(12):
        page = client.get(report.get_absolute_url())

    assert len(MARK.findall(page.content.decode())) == 1
