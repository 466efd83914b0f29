"""Search: PostgreSQL full text, weighted and ranked, with safe snippets and clear messages
for input it cannot use."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.contrib.postgres.search import SearchQuery
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from reports import search
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


def _plans(text: str, *, reader, page_number: str | None = None) -> list[tuple[str, str]]:
    """(SQL, EXPLAIN ANALYZE VERBOSE) of each query the search runs on the reports table,
    replayed in order with its planner settings."""
    with CaptureQueriesContext(connection) as queries:
        page = _search(text, reader=reader, page_number=page_number)
    assert page.object_list
    plans = []
    with connection.cursor() as cursor:
        for query in queries.captured_queries:
            sql = query["sql"]
            if not sql.startswith(("SELECT", "WITH")):
                cursor.execute(sql)
            elif "reports_report" in sql:
                cursor.execute(f"EXPLAIN (ANALYZE, VERBOSE) {sql}")
                plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
    return plans


def _inverter_everywhere(*, paid: int, free: int) -> None:
    ReportFactory.create_batch(paid, title="Inverter", teaser="An inverter.", body="Inverter " * 50)
    ReportFactory.create_batch(8, title="Charger", teaser="A charger.", body="Inverter " * 50)
    ReportFactory.create_batch(free, title="Inverter", body="Inverter " * 50, is_free=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE reports_report")


def _rows(plan: str, node: str) -> list[int]:
    """The actual rows of each plan node whose line starts with `node`."""
    return [
        int(line.split("rows=")[2].split()[0])
        for line in plan.splitlines()
        if line.strip().lstrip("->").strip().startswith(node) and "actual" in line
    ]


@pytest.mark.parametrize("persona", ["subscriber", "anonymous"])
def test_a_common_word_is_ranked_on_a_bounded_set_and_bodies_only_through_the_index(
    request, monkeypatch, persona
):
    """Ranking reads the public vectors of at most RESULTS_CAP + 1 reports; body vectors
    are matched through a GIN index alone (for anyone who may not read paid bodies, the
    index of free reports); headlines are computed for the page's reports alone."""
    monkeypatch.setattr(search, "RESULTS_CAP", 12)
    _inverter_everywhere(paid=25, free=5)
    reader = request.getfixturevalue(persona)

    plans = _plans("inverter", reader=reader, page_number="2")

    everything = "\n".join(plan for _, plan in plans)
    matching = "\n".join(plan for sql, plan in plans if "@@" in sql)
    assert "Seq Scan on public.reports_report" not in matching, matching
    assert "ts_rank(reports_report.search_document" not in everything, everything
    ranked = next(plan for sql, plan in plans if "candidates" in sql)
    assert "ts_rank(reports_report.search_public" in ranked, ranked
    assert max(_rows(ranked, "Limit")) == 13, ranked
    headlines = [plan for sql, plan in plans if "ts_headline" in sql]
    assert headlines
    for plan in headlines:
        assert int(plan.splitlines()[0].split("rows=")[2].split()[0]) <= 10, plan
    for line in everything.splitlines():
        if "search_document @@" in line:  # only ever an index's condition
            assert "Index Cond" in line or "Recheck Cond" in line, everything
    if persona == "anonymous":
        assert "Bitmap Index Scan on report_search_document " not in everything, everything


def test_only_a_word_left_out_reads_the_bodies_of_public_text_matches(subscriber):
    """A minus inside a word ("heat-pump") leaves nothing out: the public text is enough."""
    ReportFactory.create_batch(3, title="Heat-pump test", body="A heat-pump defrost cycle.")
    ReportFactory(title="Heat-pump defrost", teaser="x", body="x")
    ReportFactory(title="Heat-pump noise", teaser="x", body="Quiet.")

    def ranked(text: str) -> str:
        return next(plan for sql, plan in _plans(text, reader=subscriber) if "candidates" in sql)

    assert "search_document" not in ranked("heat-pump"), ranked("heat-pump")
    assert "search_document @@" in ranked("heat-pump -defrost")
    assert _titles(_search("heat-pump -defrost", reader=subscriber)) == ["Heat-pump noise"]


def test_a_search_lists_up_to_the_cap_and_says_there_are_more(client, monkeypatch):
    monkeypatch.setattr(search, "RESULTS_CAP", 25)
    ReportFactory.create_batch(31, title="Heat pump report")

    first, last = _search("heat pump"), _search("heat pump", page_number="3")
    beyond = _search("heat pump", page_number="4")

    assert (first.paginator.count, first.paginator.more, first.paginator.num_pages) == (25, True, 3)
    assert (len(first.object_list), len(last.object_list)) == (10, 5)
    assert beyond.number == 3 and _titles(beyond) == _titles(last)
    listed = [
        r.report.pk
        for p in ("1", "2", "3")
        for r in _search("heat pump", page_number=p).object_list
    ]
    assert len(set(listed)) == 25
    html = client.get(SEARCH, {"q": "heat pump"}).content.decode()
    assert "More than 25 reports match <strong>heat pump</strong>" in html
    assert "Page 1 of 3" in html


def test_a_search_at_the_cap_counts_every_result(monkeypatch):
    monkeypatch.setattr(search, "RESULTS_CAP", 25)
    ReportFactory.create_batch(20, title="Heat pump report")
    ReportFactory.create_batch(5, title="Other", teaser="Other.", body="A heat pump.", is_free=True)

    page = _search("heat pump", page_number="3")

    assert (page.paginator.count, page.paginator.more, len(page.object_list)) == (25, False, 5)
    assert set(_titles(page)) == {"Other"}


def test_the_search_page_costs_the_same_queries_on_every_page(
    client, monkeypatch, django_assert_num_queries
):
    """The public matches, the body matches, the page's reports with their snippets, the
    planner setting and its reset, the form's topics: whichever page, however many."""
    monkeypatch.setattr(search, "RESULTS_CAP", 25)
    ReportFactory.create_batch(12, title="Heat pump report")
    ReportFactory.create_batch(
        12, title="Other", teaser="Other.", body="A heat pump.", is_free=True
    )

    for number in ("1", "2", "3", "9"):
        with django_assert_num_queries(6):
            assert client.get(SEARCH, {"q": "heat pump", "page": number}).status_code == 200


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
