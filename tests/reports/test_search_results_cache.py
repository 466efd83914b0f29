"""Search results rendered once per kind of reader and query (reports/views/search.py): a
repeated search costs a cache read, readers who may read every body and readers who may not
never share an entry, and a report's change shows in the next search."""

import re

import pytest
from django.urls import reverse

from accounts.organisations.networks import office_organisation_id_for
from reports.models import Report
from reports.publishing import report_publish
from tests.reports.conftest import CANARY, CANARY_WORD
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db

URL = reverse("reports:search")


@pytest.fixture(autouse=True)
def _office_table_loaded():
    office_organisation_id_for("192.0.2.1")


def _results(client, query: str) -> str:
    response = client.get(URL, {"q": query})
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index('class="search-page') :]


def test_a_repeated_search_is_answered_from_the_rendered_results(
    client_for, subscriber, canary_report, django_assert_max_num_queries
):
    client = client_for(subscriber)
    first = _results(client, CANARY_WORD)

    # The session's reader and membership: the results and the form's topic list cost
    # nothing.
    with django_assert_max_num_queries(2):
        again = _results(client, CANARY_WORD)

    assert again == first and "Hybrid inverter shootout" in again


def test_the_form_kept_with_the_results_shows_the_filters_asked_for(
    client_for, subscriber, canary_report
):
    topic = canary_report.topics.create(name="Inverters", slug="inverters")
    query = {"q": CANARY_WORD, "kind": canary_report.kind, "topic": topic.slug}
    client = client_for(subscriber)
    client.get(URL, query)
    html = client.get(URL, query).content.decode()

    assert re.search(r'<option value="inverters"[^>]* selected>Inverters</option>', html)
    assert re.search(rf'<option value="{canary_report.kind}"[^>]* selected>', html)
    assert f'value="{CANARY_WORD}"' in html and "Hybrid inverter shootout" in html


@pytest.mark.parametrize("persona", ["anonymous", "free_reader"])
def test_readers_who_may_not_read_a_body_never_get_an_entitled_readers_results(
    request, client_for, subscriber, canary_report, persona
):
    assert "Hybrid inverter shootout" in _results(client_for(subscriber), CANARY_WORD)

    html = _results(client_for(request.getfixturevalue(persona)), CANARY_WORD)

    assert "Hybrid inverter shootout" not in html and CANARY not in html
    assert "No reports match" in html


def test_and_the_other_way_round(client_for, subscriber, free_reader, canary_report):
    assert "No reports match" in _results(client_for(free_reader), CANARY_WORD)

    assert "Hybrid inverter shootout" in _results(client_for(subscriber), CANARY_WORD)


def test_a_report_published_since_is_in_the_next_search(client_for, subscriber):
    client = client_for(subscriber)
    assert "No reports match" in _results(client, "gravimetric")
    draft = ReportFactory(
        slug="gravimetric", title="Gravimetric storage test", status=Report.Status.DRAFT
    )

    report_publish(report_id=draft.pk)

    assert "Gravimetric storage test" in _results(client, "gravimetric")


def test_other_query_strings_are_other_entries(client, canary_report):
    assert "Hybrid inverter shootout" in _results(client, "inverter")
    html = client.get(URL, {"q": "inverter", "kind": "test"}).content.decode()
    assert "No reports match" in html and "with these filters" in html
