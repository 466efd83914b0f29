"""Search: PostgreSQL full text, weighted and ranked, with safe snippets and clear messages
for input it cannot use."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.urls import reverse

from reports.models import SEARCH_CONFIG, Report, stored_search_document
from reports.search import search_reports, snippet_html
from tests.support.factories import ReportFactory, TopicFactory

pytestmark = pytest.mark.django_db
SEARCH = reverse("reports:search")


def _titles(page) -> list[str]:
    return [result.report.title for result in page.object_list]


def _search(text: str, *, reader=None, **kwargs):
    return search_reports(text=text, reader=reader or AnonymousUser(), **kwargs)


def test_title_outranks_teaser_outranks_body(editor):
    ReportFactory(title="Body match", teaser="Nothing here.", body="A heatpump in the body.")
    ReportFactory(title="Teaser match", teaser="A heatpump in the teaser.", body="Nothing.")
    ReportFactory(title="Heatpump in the title", teaser="Nothing here.", body="Nothing.")

    assert _titles(_search("heatpump", reader=editor)) == [
        "Heatpump in the title",
        "Teaser match",
        "Body match",
    ]


def test_stemming_phrases_and_exclusions_work():
    ReportFactory(title="Inverters tested", teaser="We measured standby power.")
    ReportFactory(title="Batteries tested", teaser="We measured capacity fade.")

    assert _titles(_search("inverter")) == ["Inverters tested"]
    assert _titles(_search('"standby power"')) == ["Inverters tested"]
    assert _titles(_search("tested -capacity")) == ["Inverters tested"]


def test_drafts_scheduled_and_future_reports_are_never_found():
    ReportFactory(title="Secret draft heatpump", status=Report.Status.DRAFT, published_at=None)
    ReportFactory(title="Scheduled heatpump", status=Report.Status.SCHEDULED, published_at=None)

    assert _titles(_search("heatpump")) == []


def test_filters_by_kind_and_topic():
    pumps = TopicFactory(slug="heat-pumps")
    ReportFactory(title="Heat pump test", kind=Report.Kind.TEST, topics=[pumps])
    ReportFactory(title="Heat pump guide", kind=Report.Kind.GUIDE, topics=[pumps])
    ReportFactory(title="Heat pump news", kind=Report.Kind.NEWS)

    assert _titles(_search("heat pump", kind="guide")) == ["Heat pump guide"]
    assert sorted(_titles(_search("heat pump", topic=pumps))) == [
        "Heat pump guide",
        "Heat pump test",
    ]


def test_snippet_highlights_matches_and_escapes_everything_else():
    ReportFactory(
        title="Escaping",
        teaser="<script>x</script> <b>heatpump</b> & [its manual](/reports/m/) **said** so.",
    )

    snippet = _search("heatpump").object_list[0].snippet

    assert "<mark>heatpump</mark>" in snippet
    assert snippet.replace("<mark>", "").replace("</mark>", "").count("<") == 0
    assert "&amp;" in snippet
    assert "its manual" in snippet and "](/reports" not in snippet
    assert "**" not in snippet


def test_snippet_html_drops_unbalanced_markers():
    assert snippet_html("a \x02b c") == "a b c"
    assert snippet_html("<i>x</i> \x02y\x03") == "&lt;i&gt;x&lt;/i&gt; <mark>y</mark>"


def test_free_reports_get_body_snippets_for_everyone():
    ReportFactory(title="Free one", teaser="Public.", body="The frobnicator hums.", is_free=True)

    assert "<mark>frobnicator</mark> hums" in _search("frobnicator").object_list[0].snippet


def test_results_are_paginated():
    ReportFactory.create_batch(12, title="Heat pump report")

    first = _search("heat pump")
    second = _search("heat pump", page_number="2")

    assert (first.paginator.count, len(first.object_list), len(second.object_list)) == (12, 10, 2)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x" * 201}, "Please keep searches under 200 characters."),
        ({"q": "!!! ??? ---"}, "Please search for at least one word or number."),
        ({"q": "heat", "kind": "bogus"}, "There is no such kind of report."),
        ({"q": "heat", "topic": "no-such-topic"}, "There is no such topic."),
        ({"q": "nul\x00byte"}, "Null characters are not allowed."),
    ],
)
def test_bad_input_gets_a_clear_message_not_an_error(client, params, message):
    response = client.get(SEARCH, params)

    assert response.status_code == 200
    assert message in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "'",
        '"unbalanced',
        "a & b | !c <-> d:*",
        "-",
        "the and of",
        "(((",
        "Ünïcödé 🔋 逆变器 \u202e",
        "%' OR 1=1 --",
        "\\",
    ],
)
def test_odd_queries_never_fail(client, query):
    ReportFactory(title="Inverter")

    response = client.get(SEARCH, {"q": query, "page": "x"})

    assert response.status_code == 200


def test_empty_search_shows_a_hint(client):
    page = client.get(SEARCH).content.decode()

    assert "Type a word or phrase" in page


def test_no_results_says_so(client):
    page = client.get(SEARCH, {"q": "unobtainium"}).content.decode()

    assert "No reports match <strong>unobtainium</strong>" in page


def test_pagination_links_keep_the_query(client):
    ReportFactory.create_batch(12, title="Heat pump report")

    page = client.get(SEARCH, {"q": "heat pump", "kind": "test"}).content.decode()

    assert 'href="?q=heat+pump&amp;kind=test&amp;page=2"' in page


def test_search_uses_the_gin_index_on_the_stored_document():
    ReportFactory.create_batch(3)
    matches = (
        Report.objects.alias(document=stored_search_document())
        .filter(document=SearchQuery("inverter", search_type="websearch", config=SEARCH_CONFIG))
        .values("pk")
    )
    sql, params = matches.query.sql_with_params()

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "report_search_document" in plan, plan


def _plan(queryset) -> str:
    from reports.search import _matching_through_the_index

    sql, params = queryset.query.sql_with_params()
    with _matching_through_the_index(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN VERBOSE {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_a_word_in_every_report_is_matched_through_the_index_and_ranked_on_public_text():
    from reports.search import _filtered, ranked_matches

    ReportFactory.create_batch(30, title="Inverter", teaser="An inverter.", body="Inverter " * 50)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_report")
    query = SearchQuery("inverter", search_type="websearch", config=SEARCH_CONFIG)

    plan = _plan(
        ranked_matches(_filtered(kind=None, topic=None), query, reads_every_body=True)[:10]
    )

    assert "Bitmap Index Scan on report_search_document " in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "ts_rank(reports_report.search_public" in plan, plan
    assert "ts_rank(reports_report.search_document" not in plan, plan
    # The headline is computed above the sort, for the page's rows only.
    sort_output = plan.split("->  Sort")[1].split("Sort Key")[0]
    assert "ts_headline" not in sort_output, plan
    assert "ts_headline" in plan.split("->  Sort")[0], plan


def test_a_match_in_the_body_alone_ranks_below_title_and_teaser_matches_then_newest_first(editor):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    ReportFactory(title="Old body", teaser="x", body="frobnicator", published_at=now - timedelta(2))
    ReportFactory(title="New body", teaser="x", body="frobnicator", published_at=now - timedelta(1))
    ReportFactory(
        title="Teaser", teaser="A frobnicator.", body="x", published_at=now - timedelta(3)
    )

    assert _titles(_search("frobnicator", reader=editor)) == ["Teaser", "New body", "Old body"]


def test_a_reader_who_may_not_read_paid_bodies_is_matched_without_touching_their_vectors():
    """Free reports through an index of free reports alone, paid ones through an index of
    their public text: neither the answer nor the work depends on a paid body."""
    from reports.search import _filtered, ranked_matches

    ReportFactory.create_batch(20, title="Inverter", teaser="An inverter.", body="Inverter " * 50)
    ReportFactory.create_batch(5, title="Inverter", body="Inverter " * 50, is_free=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_report")
    query = SearchQuery("inverter", search_type="websearch", config=SEARCH_CONFIG)

    plan = _plan(
        ranked_matches(_filtered(kind=None, topic=None), query, reads_every_body=False)[:10]
    )

    assert "Bitmap Index Scan on report_search_document_free" in plan, plan
    assert "Bitmap Index Scan on report_search_public_paid" in plan, plan
    assert "Bitmap Index Scan on report_search_document " not in plan, plan
    assert "Seq Scan" not in plan, plan
    assert "ts_rank(reports_report.search_public" in plan, plan
