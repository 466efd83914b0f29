"""Search is no oracle on paid text: a reader who may not read a report's body gets exactly
the results, order and counts they would get if that body did not exist; a reader who may
read it finds the report by it. On PostgreSQL and on the SQLite path's substring match."""

import pytest
from django.urls import reverse

from reports.models import Report
from reports.publishing import report_save
from reports.search import search_reports
from tests.support.factories import ReportFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db
SEARCH = reverse("reports:search")
CANARY_PHRASE = "around month 68"
NOT_ENTITLED = ["anonymous", "free_reader", "lapsed_subscriber"]
ENTITLED = ["subscriber", "editor"]


@pytest.fixture
def topic():
    return TopicFactory(slug="home-batteries", name="Home batteries")


@pytest.fixture
def paid(topic):
    """A paid report whose body alone says the canary phrase."""
    return ReportFactory(
        slug="paid-canary",
        title="Battery warranty claims",
        kind=Report.Kind.INVESTIGATION,
        teaser="We followed forty claims to the end.",
        body=f"The pack failed {CANARY_PHRASE}, as the installer predicted.",
        topics=[topic],
    )


def _found(reader, text, **filters) -> tuple[list[str], int]:
    page = search_reports(text=text, reader=reader, **filters)
    return [result.report.slug for result in page.object_list], page.paginator.count


FILTERS = [{}, {"kind": "investigation"}, {"topic": True}, {"kind": "investigation", "topic": True}]


@pytest.mark.parametrize("persona", NOT_ENTITLED)
@pytest.mark.parametrize("filters", FILTERS, ids=["none", "kind", "topic", "kind+topic"])
@pytest.mark.parametrize("text", [CANARY_PHRASE, f'"{CANARY_PHRASE}"', "month 68 installer"])
def test_a_paid_body_alone_never_finds_its_report_for_readers_who_may_not_read_it(
    request, client_for, paid, topic, persona, filters, text
):
    reader = request.getfixturevalue(persona)
    filters = {**filters, **({"topic": topic} if filters.get("topic") else {})}

    assert _found(reader, text, **filters) == ([], 0)
    params = {"q": text, **filters, **({"topic": topic.slug} if "topic" in filters else {})}
    page = client_for(reader).get(SEARCH, params).content.decode()
    assert "No reports match" in page
    assert paid.get_absolute_url() not in page


@pytest.mark.parametrize("persona", ENTITLED)
@pytest.mark.parametrize("filters", FILTERS, ids=["none", "kind", "topic", "kind+topic"])
def test_readers_who_may_read_the_paid_body_find_the_report_by_it(
    request, client_for, paid, topic, persona, filters
):
    reader = request.getfixturevalue(persona)
    filters = {**filters, **({"topic": topic} if filters.get("topic") else {})}

    assert _found(reader, CANARY_PHRASE, **filters) == (["paid-canary"], 1)
    page = client_for(reader).get(SEARCH, {"q": CANARY_PHRASE}).content.decode()
    assert "1 report matches" in page
    assert "<mark>month</mark> <mark>68</mark>" in page


@pytest.mark.parametrize("persona", [*NOT_ENTITLED, *ENTITLED])
def test_free_reports_are_found_by_their_body_for_everyone(request, persona):
    ReportFactory(
        slug="free-one", teaser="Public.", body=f"It failed {CANARY_PHRASE}.", is_free=True
    )

    assert _found(request.getfixturevalue(persona), CANARY_PHRASE) == (["free-one"], 1)


QUERIES = [
    "battery",
    "battery month",
    '"battery warranty"',
    "claims -installer",
    "warranty -month",
    "battery or month",
    "installer",
    "68",
    "home batteries",
]


def _answers(reader, queries=QUERIES) -> list[tuple[list[str], int, list[str]]]:
    answers = []
    for text in queries:
        page = search_reports(text=text, reader=reader)
        answers.append(
            (
                [result.report.slug for result in page.object_list],
                page.paginator.count,
                [str(result.snippet) for result in page.object_list],
            )
        )
    return answers


def _world(*, paid_body: str) -> None:
    topic = TopicFactory(slug="home-batteries", name="Home batteries")
    author = UserFactory(display_name="Ines Okafor", slug="ines-okafor", is_staff=True)
    texts = [
        ("a-free", "Battery teardown", "What is inside a home battery.", True),
        ("b-paid", "Battery warranty claims", "We followed forty claims.", False),
        ("c-paid", "Installer survey", "Which installers answer the phone.", False),
        ("d-paid", "Warranty small print", "Battery warranties, clause by clause.", False),
    ]
    for slug, title, teaser, is_free in texts:
        body = "A free body about the installer." if is_free else paid_body
        report = Report(
            slug=slug, title=title, kind=Report.Kind.TEST, teaser=teaser, body=body,
            is_free=is_free, status=Report.Status.PUBLISHED, author=author,
        )  # fmt: skip
        report_save(report=report, topics=[topic])


@pytest.mark.parametrize("persona", NOT_ENTITLED)
def test_results_order_counts_and_snippets_do_not_depend_on_paid_bodies(request, persona):
    reader = request.getfixturevalue(persona)
    _world(paid_body="Nothing to see.")
    without = _answers(reader)

    for report in Report.objects.filter(is_free=False):
        report.body = f"The battery month 68 installer warranty claims {CANARY_PHRASE}."
        report_save(report=report)
    with_words = _answers(reader)

    assert with_words == without
    assert any(slugs for slugs, _, _ in without)  # the queries do find public text


def test_the_same_paid_bodies_do_change_a_subscribers_results(subscriber):
    """Positive control for the test above: the bodies it changes are searchable text."""
    _world(paid_body="Nothing to see.")
    without = _answers(subscriber)

    for report in Report.objects.filter(is_free=False):
        report.body = f"The battery month 68 installer warranty claims {CANARY_PHRASE}."
        report_save(report=report)

    assert _answers(subscriber) != without


@pytest.mark.parametrize("persona", NOT_ENTITLED)
def test_two_paid_reports_differing_only_in_body_are_indistinguishable(request, persona):
    reader = request.getfixturevalue(persona)
    topic = TopicFactory(slug="home-batteries", name="Home batteries")
    author = UserFactory(display_name="Ines Okafor", slug="ines-okafor", is_staff=True)
    for slug, body in [
        ("twin-plain", "Nothing to see."),
        ("twin-words", f"Failed {CANARY_PHRASE}."),
    ]:
        report = Report(
            slug=slug, title="Battery warranty claims", kind=Report.Kind.TEST,
            teaser="We followed forty claims.", body=body, status=Report.Status.PUBLISHED,
            author=author,
        )  # fmt: skip
        report_save(report=report, topics=[topic])

    for text in ["battery", "battery month", "claims -month", "68", "okafor", "batteries"]:
        page = search_reports(text=text, reader=reader)
        ranks = {result.report.slug: result.report.rank for result in page.object_list}
        assert set(ranks) in ({"twin-plain", "twin-words"}, set()), text
        assert len(set(ranks.values())) <= 1, text
        assert page.paginator.count == len(ranks), text


@pytest.mark.parametrize("persona", [*NOT_ENTITLED, *ENTITLED])
def test_reports_are_found_by_topic_and_author_names_even_across_fields(request, paid, persona):
    reader = request.getfixturevalue(persona)
    paid.author.display_name = "Ines Okafor"
    paid.author.save()

    assert _found(reader, "okafor") == (["paid-canary"], 1)
    assert _found(reader, "okafor warranty home batteries") == (["paid-canary"], 1)


@pytest.mark.parametrize("persona", NOT_ENTITLED)
def test_a_word_left_out_is_left_out_of_public_text_only(request, paid, persona):
    """`-month` leaves out reports whose readable text says it; a paid body is not read."""
    reader = request.getfixturevalue(persona)

    assert _found(reader, "warranty -month") == (["paid-canary"], 1)


def test_a_word_left_out_of_a_readable_body_leaves_the_report_out(subscriber, paid):
    assert _found(subscriber, "warranty -month") == ([], 0)


@pytest.mark.parametrize("persona", [*NOT_ENTITLED, *ENTITLED])
def test_the_sqlite_path_matches_the_same_text_for_the_same_readers(request, paid, persona):
    from reports.search import _fallback_page, _filtered

    reader = request.getfixturevalue(persona)
    ReportFactory(
        slug="free-one", teaser="Public.", body=f"It failed {CANARY_PHRASE}.", is_free=True
    )
    paid.author.display_name = "Ines Okafor"
    paid.author.save()

    def found(text: str) -> list[str]:
        page = _fallback_page(
            text=text, reports=_filtered(kind=None, topic=None), reader=reader, page_number=None
        )
        return sorted(result.report.slug for result in page.object_list)

    paid_by_body = ["free-one", "paid-canary"] if persona in ENTITLED else ["free-one"]
    assert found(CANARY_PHRASE) == paid_by_body
    assert found("installer") == (["paid-canary"] if persona in ENTITLED else [])
    assert found("okafor batteries warranty") == ["paid-canary"]


@pytest.mark.parametrize("persona", NOT_ENTITLED)
def test_pages_past_the_cap_do_not_depend_on_paid_bodies(request, monkeypatch, persona):
    """With more matches than a search lists, and matches in public text and in free
    bodies on the same pages: every page, its count and its snippets are the same whatever
    the paid bodies say."""
    from reports import search

    monkeypatch.setattr(search, "RESULTS_CAP", 14)
    reader = request.getfixturevalue(persona)
    for n in range(9):
        ReportFactory(slug=f"paid-public-{n}", title=f"Battery test {n}", body="Nothing.")
    for n in range(4):
        ReportFactory(slug=f"free-body-{n}", title=f"Free {n}", teaser="x", body="A battery.",
                      is_free=True)  # fmt: skip
    for n in range(6):
        ReportFactory(slug=f"paid-other-{n}", title=f"Other {n}", teaser="x", body="Nothing.")

    def answers(text: str) -> list[tuple]:
        pages = [search_reports(text=text, reader=reader, page_number=n) for n in ("1", "2")]
        return [
            (
                [result.report.slug for result in page.object_list],
                [str(result.snippet) for result in page.object_list],
                page.paginator.count,
                page.paginator.more,
            )
            for page in pages
        ]

    without = [answers(text) for text in ("battery", "battery test", "free battery")]
    for report in Report.objects.filter(is_free=False):
        report.body = f"Battery test free battery {CANARY_PHRASE}."
        report_save(report=report)
    with_words = [answers(text) for text in ("battery", "battery test", "free battery")]

    assert with_words == without
    assert without[0][0][2] == 13 and without[0][1][0][-1].startswith("free-body-")


def test_the_same_paid_bodies_do_change_a_subscribers_pages_past_the_cap(subscriber, monkeypatch):
    """Positive control for the test above: the subscriber finds the paid bodies, and the
    count reaches the cap."""
    from reports import search

    monkeypatch.setattr(search, "RESULTS_CAP", 14)
    for n in range(9):
        ReportFactory(slug=f"paid-public-{n}", title=f"Battery test {n}", body="Nothing.")
    for n in range(6):
        ReportFactory(slug=f"paid-other-{n}", title=f"Other {n}", teaser="x", body="A battery.")

    page = search_reports(text="battery", reader=subscriber, page_number="2")

    assert (page.paginator.count, page.paginator.more) == (14, True)
    assert [r.report.slug for r in page.object_list][-1].startswith("paid-other-")
