"""Reading from an office network: the access rule's office reason, through requests as the
site receives them behind nginx (ALLAUTH_TRUSTED_PROXY_COUNT=1: the client address is the
X-Forwarded-For entry nginx appended)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from accounts.models import Organisation
from accounts.organisations.networks import (
    OfficeNetwork,
    office_networks_forget,
    organisation_network_add,
)
from publisher.errors import ApplicationError
from reports.access import can_read_body, is_entitled_reader, office_licence
from reports.comments.services import comment_create
from reports.models import Comment, Report
from reports.office import SESSION_KEY
from tests.reports.conftest import CANARY, CANARY_WORD

OFFICE = "203.0.113.40"
NEIGHBOUR = "203.0.114.40"  # the next /24 along
OFFICE_V6 = "2001:db8:4:1::25"
NEIGHBOUR_V6 = "2001:db8:5::25"
MARKER = "Reading through Acme Cooling"


@pytest.fixture(autouse=True)
def _fresh_table():
    office_networks_forget()
    yield
    office_networks_forget()


@pytest.fixture
def acme(db) -> Organisation:
    organisation = Organisation.objects.create(
        name="Acme Cooling", status="active", seats=5,
        current_period_end=timezone.now() + timedelta(days=30),
    )  # fmt: skip
    organisation_network_add(organisation=organisation, cidr="203.0.113.0/24", label="London")
    organisation_network_add(organisation=organisation, cidr="2001:db8:4::/48")
    return organisation


def _from(address: str, *, forged: str | None = None) -> dict[str, str]:
    """What gunicorn receives from nginx for a reader at `address` (who may have sent an
    X-Forwarded-For of their own, which nginx keeps and appends the peer to)."""
    chain = f"{forged}, {address}" if forged else address
    return {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": chain}


def _page(client: Client, report: Report, address: str, **kwargs):
    return client.get(report.get_absolute_url(), **_from(address, **kwargs))


def test_the_rule_grants_a_paid_licence_network_and_nothing_else(acme, canary_report):
    now = timezone.now()
    anonymous = AnonymousUser()
    network = OfficeNetwork(OFFICE, acme)

    assert can_read_body(anonymous, canary_report, network=network, now=now)
    assert office_licence(network, now=now) == acme
    assert not can_read_body(anonymous, canary_report, network=None, now=now)
    # The licence ends (cancelled at the end of its period): the range grants nothing.
    acme.cancel_at_period_end = True
    assert not can_read_body(anonymous, canary_report, network=network,
                             now=acme.current_period_end + timedelta(days=1))  # fmt: skip
    acme.status = "canceled"
    assert not is_entitled_reader(anonymous, network=network, now=now)
    assert office_licence(network, now=now) is None


@pytest.mark.parametrize("address", [OFFICE, OFFICE_V6, f"::ffff:{OFFICE}"])
def test_an_anonymous_reader_in_the_office_reads_the_paid_report_marked_and_private(
    acme, canary_report, address
):
    client = Client()
    response = _page(client, canary_report, address)
    text = response.content.decode()

    assert response.status_code == 200
    assert CANARY in text
    assert MARKER in text
    assert "Subscribe to read the full report" not in text
    # A small session marks the reader, so no shared cache serves or stores their pages.
    assert "private" in response["Cache-Control"]
    assert "sessionid" in response.cookies
    assert client.session[SESSION_KEY] == {"id": acme.pk, "name": "Acme Cooling"}
    # The second request carries the session; it reads again, private again.
    again = _page(client, canary_report, address)
    assert CANARY in again.content.decode() and "private" in again["Cache-Control"]


@pytest.mark.parametrize("address", [NEIGHBOUR, NEIGHBOUR_V6, "127.0.0.1"])
def test_a_neighbouring_address_reads_nothing(acme, canary_report, address):
    response = _page(Client(), canary_report, address)
    text = response.content.decode()

    assert CANARY not in text and MARKER not in text
    assert "Subscribe to read the full report" in text


def test_a_forged_x_forwarded_for_grants_nothing(acme, canary_report):
    response = _page(Client(), canary_report, NEIGHBOUR, forged=OFFICE)

    assert CANARY not in response.content.decode()
    assert "sessionid" not in response.cookies


def test_an_expired_licence_grants_nothing(acme, canary_report):
    Organisation.objects.filter(pk=acme.pk).update(
        current_period_end=timezone.now() - timedelta(days=1), cancel_at_period_end=True
    )
    response = _page(Client(), canary_report, OFFICE)

    assert CANARY not in response.content.decode()
    assert MARKER not in response.content.decode()


def test_the_office_reader_never_gets_the_teaser_the_page_cache_keeps_for_everyone_else(
    acme, canary_report
):
    outside = _page(Client(), canary_report, NEIGHBOUR)
    assert "public" in outside["Cache-Control"]  # stored for every anonymous reader
    assert _page(Client(), canary_report, NEIGHBOUR).headers.get("X-Page-Cache") == "hit"

    first = _page(Client(), canary_report, OFFICE)  # no cookie yet

    assert first.headers.get("X-Page-Cache") != "hit"
    assert CANARY in first.content.decode()
    # And the office reader's page was stored for nobody.
    assert CANARY not in _page(Client(), canary_report, NEIGHBOUR).content.decode()


def test_leaving_the_range_ends_access_and_drops_the_marker(acme, canary_report):
    client = Client()
    assert CANARY in _page(client, canary_report, OFFICE).content.decode()

    away = _page(client, canary_report, NEIGHBOUR)

    assert CANARY not in away.content.decode() and MARKER not in away.content.decode()
    assert SESSION_KEY not in client.session
    assert CANARY in _page(client, canary_report, OFFICE).content.decode()


def test_a_logged_in_free_reader_in_the_office_reads_too(acme, canary_report, free_reader):
    client = Client()
    client.force_login(free_reader)

    text = _page(client, canary_report, OFFICE).content.decode()

    assert CANARY in text and MARKER in text


def test_search_in_the_office_matches_the_body(acme, canary_report):
    inside = Client().get(f"/search/?q={CANARY_WORD}", **_from(OFFICE)).content.decode()
    outside = Client().get(f"/search/?q={CANARY_WORD}", **_from(NEIGHBOUR)).content.decode()

    assert canary_report.title in inside
    assert canary_report.title not in outside


def test_comments_still_need_a_personal_account(acme, canary_report, free_reader):
    anonymous = Client()
    page = _page(anonymous, canary_report, OFFICE).content.decode()
    assert "Subscribers only." in page and "Log in" in page

    member = Client()
    member.force_login(free_reader)
    page = _page(member, canary_report, OFFICE).content.decode()
    assert "Subscribers only." in page
    posted = member.post(
        f"{canary_report.get_absolute_url()}comments/",
        {"body": "Posting from the office."},
        **_from(OFFICE),
    )
    assert posted.status_code in {302, 403}
    assert not Comment.objects.exists()
    with pytest.raises(ApplicationError, match="Comments are for subscribers"):
        comment_create(author=free_reader, report=canary_report, body="From the office.")


def test_a_page_from_the_office_costs_a_bounded_number_of_queries(
    acme, canary_report, django_assert_max_num_queries
):
    client = Client()
    _page(client, canary_report, OFFICE)
    with django_assert_max_num_queries(12):
        response = _page(client, canary_report, OFFICE)
    assert CANARY in response.content.decode()


def test_subscribers_elsewhere_read_under_their_own_membership_unmarked(
    acme, canary_report, subscriber
):
    client = Client()
    client.force_login(subscriber)
    text = _page(client, canary_report, NEIGHBOUR).content.decode()
    assert CANARY in text and MARKER not in text
