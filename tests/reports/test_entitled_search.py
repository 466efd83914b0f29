"""The entitled readers' shared search page (reports/entitled_page.py, reports/views/search.py):
a repeated search by any entitled reader is a hit without a query, personal parts and all;
nobody who may not read every body is ever given it, and a change of access or of any report
takes effect on the next search."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from accounts.organisations.networks import office_organisation_id_for
from reports.publishing import report_publish
from tests.reports.conftest import CANARY_WORD
from tests.reports.test_entitled_page import HIT, _without_tokens
from tests.support.factories import MembershipFactory, ReportFactory

pytestmark = pytest.mark.django_db

URL = reverse("reports:search")
TITLE = "Hybrid inverter shootout"


@pytest.fixture(autouse=True)
def _office_table_loaded():
    office_organisation_id_for("192.0.2.1")


def _search(client: Client, query: str = CANARY_WORD, **params):
    response = client.get(URL, {"q": query, **params})
    assert response.status_code == 200
    return response, response.content.decode()


def test_a_repeated_search_is_a_hit_without_a_query(
    client_for, subscriber, canary_report, django_assert_num_queries
):
    client = client_for(subscriber)
    miss, miss_html = _search(client)
    assert miss.headers[HIT] == "miss" and TITLE in miss_html

    with django_assert_num_queries(0):
        hit, hit_html = _search(client)

    assert hit.headers[HIT] == "hit"
    assert _without_tokens(hit_html) == _without_tokens(miss_html)
    assert "Sam" in hit_html and "Log out" in hit_html
    assert "private" in hit.headers["Cache-Control"] and not hit.cookies
    for name in ("Content-Security-Policy", "X-Frame-Options", "Cache-Control"):
        assert hit.headers[name] == miss.headers[name], name


def test_each_reader_sees_their_own_name(client_for, subscriber, canary_report):
    other = MembershipFactory(user__display_name="Olga Other").user
    _search(client_for(subscriber))
    olga = client_for(other)
    _search(olga)  # her first request makes her card
    response, html = _search(olga)

    assert response.headers[HIT] == "hit" and TITLE in html
    header = html[: html.index("</header>")]
    assert "Olga" in header and "Sam" not in header


def test_every_query_string_is_a_page_of_its_own(client_for, subscriber, canary_report):
    ReportFactory(title="Battery warranty terms", teaser="What the warranty covers.")
    client = client_for(subscriber)
    _search(client)
    _search(client, "warranty")

    response, html = _search(client, "warranty")

    assert response.headers[HIT] == "hit"
    assert "Battery warranty terms" in html and TITLE not in html
    assert _search(client, CANARY_WORD, kind="test")[0].headers[HIT] == "miss"


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "lapsed_subscriber"])
def test_readers_who_may_not_read_every_body_never_get_it(
    request, client_for, subscriber, canary_report, persona
):
    entitled = client_for(subscriber)
    _search(entitled)
    assert _search(entitled)[0].headers[HIT] == "hit"

    response, html = _search(client_for(request.getfixturevalue(persona)))

    assert HIT not in response.headers and TITLE not in html


def test_an_ended_membership_ends_the_hits_on_the_next_search(
    client_for, subscriber, canary_report
):
    client = client_for(subscriber)
    _search(client)
    assert _search(client)[0].headers[HIT] == "hit"

    Membership.objects.filter(user=subscriber).update(status="canceled")
    # A queryset update sends no signal: the services save the row.
    membership = Membership.objects.get(user=subscriber)
    membership.save()

    response, html = _search(client)
    assert HIT not in response.headers and TITLE not in html


def test_staff_search_is_rendered_for_them(client_for, editor, canary_report):
    client = client_for(editor)
    _search(client)

    response, html = _search(client)

    assert HIT not in response.headers and TITLE in html


def test_a_publish_shows_in_the_next_search(client_for, subscriber, canary_report):
    draft = ReportFactory(title="Another zorblaxian bench", published_at=None)
    client = client_for(subscriber)
    _search(client)
    assert "Another zorblaxian bench" not in _search(client)[1]

    report_publish(report_id=draft.pk)

    response, html = _search(client)
    assert response.headers[HIT] == "miss" and "Another zorblaxian bench" in html
