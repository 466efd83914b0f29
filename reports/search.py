"""Full-text search over published reports, answering each reader from what they may read.

A report's public text is its title, teaser, topics' names and author's display name; its
body is public only when the report is free (reports/access.py). A reader who may read
every body (`is_entitled_reader`) is matched against whole documents; anyone else against
free reports' whole documents and paid reports' public text alone, so what they get
(which reports, in what order, how many) is what they would get if no paid body existed.
Every match is ranked on the public text (title A, teaser B, names D), the same for all
readers, and highlighted with ts_headline: the snippet comes from the teaser, and only for
reports this reader may read from the body as well, in a separate query restricted to those
ids, so body text is never even fetched for anyone else. SQLite (`make run`) gets a plain
substring match over the same text for the same readers, and teaser excerpts.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django import forms
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Q, TextField, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.organisations.networks import OfficeNetwork
from reports.access import Reader, can_read_body, is_entitled_reader
from reports.models import (
    SEARCH_CONFIG,
    Report,
    ReportQuerySet,
    Topic,
    stored_search_document,
    stored_search_public,
)
from reports.rendering import teaser_text
from reports.sharing import shorten

MAX_QUERY_LENGTH = 200
RESULTS_PER_PAGE = 10
# The teaser shown for a result, cut after a whole word (about 40 words).
SNIPPET_CHARS = 280
# ts_headline marks matches with these; they cannot occur in text typed into a form field,
# so after escaping the snippet they are the only places a <mark> may go.
_START, _STOP = "\x02", "\x03"
# ts_headline works on the Markdown source, and a fragment may start or end inside a link
# or a table, so links keep their text, and half links, table rules and markup go.
_MARKDOWN_CLEANUP = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\]\([^)]*\)?"), " "),
    (re.compile(r"\|?(?:\s*:?-{3,}:?\s*\|)+(?:\s*:?-{3,}:?)?"), " "),
    (re.compile(r"(?m)^\s{0,3}(?:#{1,6}|>|[-*+]|\d+\.)\s+"), ""),
    (re.compile(r"!?\[|[*_`|]+"), " "),
]


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Search reports",
        max_length=MAX_QUERY_LENGTH,
        required=False,
        error_messages={"max_length": f"Please keep searches under {MAX_QUERY_LENGTH} characters."},
    )
    kind = forms.ChoiceField(
        choices=[("", "All kinds"), *Report.Kind.choices],
        required=False,
        error_messages={"invalid_choice": "There is no such kind of report."},
    )
    topic = forms.ModelChoiceField(
        Topic.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label="All topics",
        error_messages={"invalid_choice": "There is no such topic."},
    )

    def clean_q(self) -> str:
        query = " ".join(self.cleaned_data["q"].split())
        if query and not any(character.isalnum() for character in query):
            raise forms.ValidationError("Please search for at least one word or number.")
        return query


@dataclass(frozen=True)
class SearchResult:
    report: Report
    snippet: SafeString


def snippet_html(headline: str) -> SafeString:
    """A ts_headline result as safe HTML: Markdown punctuation dropped, text escaped, and
    only our own match markers turned into <mark>."""
    for pattern, replacement in _MARKDOWN_CLEANUP:
        headline = pattern.sub(replacement, headline)
    html = str(escape(" ".join(headline.split())))
    html = html.replace(_START, "<mark>").replace(_STOP, "</mark>")
    if html.count("<mark>") != html.count("</mark>"):
        html = html.replace("<mark>", "").replace("</mark>", "")
    return mark_safe(html)  # noqa: S308 - escaped above; the only tags are our markers


def _headline(expression: str | Concat, query: SearchQuery) -> SearchHeadline:
    return SearchHeadline(
        expression,
        query,
        config=SEARCH_CONFIG,
        start_sel=_START,
        stop_sel=_STOP,
        max_words=30,
        min_words=12,
        max_fragments=2,
        fragment_delimiter=" … ",
    )


def _filtered(*, kind: str | None, topic: Topic | None) -> ReportQuerySet:
    reports = Report.objects.published().without_body().select_related("author")
    if kind:
        reports = reports.of_kind(kind)
    if topic:
        reports = reports.for_topic(topic)
    return reports


@contextmanager
def _matching_through_the_index() -> Iterator[None]:
    """Match on the stored document through its GIN index, never by reading it row by row.

    When a word occurs in nearly every report, the planner prices a sequential scan as
    cheaper than the index, unaware that testing a row means decompressing its ~30 KB
    body's vector stored out of line: a quarter of a second per search at 10,000 reports,
    where the index answers in a few milliseconds without reading any document. Set for
    this connection's session and reset right after (not SET LOCAL: that needs a
    transaction, whose BEGIN and COMMIT would make the page's query count depend on whether
    one was already open).
    """
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            yield
        finally:
            cursor.execute("RESET enable_seqscan")


def _matching_ids(query: SearchQuery, *, reads_every_body: bool) -> RawSQL:
    """The ids of the reports this reader's search matches, as a subquery that only the GIN
    indexes can answer: a materialized CTE is planned on its own, with these conditions
    alone, and with sequential scans off (`_matching_through_the_index`) its only plans are
    the indexes. The outer query never tests a document itself.

    A reader who may read every body is matched on whole documents. Anyone else is matched
    on free reports' whole documents (through an index of free reports alone) and on paid
    reports' public text (an index of paid reports alone): their search never reads a paid
    body's vector, so neither its answer nor the work it takes depends on one.
    """
    whole = Report.objects.order_by().alias(document=stored_search_document())
    if reads_every_body:
        matches = whole.filter(document=query).values("pk")
    else:
        free = whole.filter(is_free=True, document=query).values("pk")
        paid = (
            Report.objects.order_by()
            .alias(public=stored_search_public())
            .filter(is_free=False, public=query)
            .values("pk")
        )
        matches = free.union(paid, all=True).order_by()
    sql, params = matches.query.sql_with_params()
    # The SQL is our ORM's own, every value a parameter.
    matched = f"WITH matched AS MATERIALIZED ({sql}) SELECT * FROM matched"  # noqa: S608
    return RawSQL(matched, params)  # noqa: S611


def ranked_matches(
    reports: ReportQuerySet, query: SearchQuery, *, reads_every_body: bool
) -> ReportQuerySet:
    """Published reports matching `query` for this reader, best first, each with its
    teaser's headline.

    Ranked on the public text (a small stored vector), the same for every reader, so that
    the full documents, which only the index reads, stay on disk, and a paid body never
    moves a report up or down: a match in the body alone ranks below any match in the
    public text, then newest first.
    """
    return (
        reports.filter(pk__in=_matching_ids(query, reads_every_body=reads_every_body))
        .annotate(
            rank=SearchRank(stored_search_public(), query),
            # PostgreSQL computes this costly expression after the sort and limit: for the
            # page's reports only (checked in tests/reports/test_search.py).
            teaser_headline=_headline("teaser", query),
        )
        .order_by("-rank", "-published_at", "-id")
    )


def _postgres_page(
    *,
    text: str,
    reports: ReportQuerySet,
    reader: Reader,
    page_number: str | None,
    network: OfficeNetwork | None = None,
) -> Page:
    query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    matches = ranked_matches(
        reports, query, reads_every_body=is_entitled_reader(reader, network=network)
    )
    with _matching_through_the_index():
        page = Paginator(matches, RESULTS_PER_PAGE).get_page(page_number)
        page.object_list = list(page.object_list)
    entitled = [
        report.pk for report in page.object_list if can_read_body(reader, report, network=network)
    ]
    body_headlines = {}
    if entitled:
        body_headlines = dict(
            Report.objects.filter(pk__in=entitled)
            .annotate(
                headline=_headline(
                    Concat("teaser", Value("\n\n"), "body", output_field=TextField()), query
                )
            )
            .values_list("pk", "headline")
        )
    results = [
        SearchResult(
            report=report,
            snippet=snippet_html(
                body_headlines.get(report.pk) or report.teaser_headline  # type: ignore[attr-defined]
            ),
        )
        for report in page.object_list
    ]
    page.object_list = results  # type: ignore[assignment]  # the page lists results from here
    return page


def _fallback_page(
    *,
    text: str,
    reports: ReportQuerySet,
    reader: Reader,
    page_number: str | None,
    network: OfficeNetwork | None = None,
) -> Page:
    """Every word in the text this reader may read: the public text, and the body of free
    reports, or of every report for a reader who may read them all."""
    readable_body = Q() if is_entitled_reader(reader, network=network) else Q(is_free=True)
    for term in text.split():
        reports = reports.filter(
            Q(title__icontains=term)
            | Q(teaser__icontains=term)
            | Q(search_names__icontains=term)
            | (readable_body & Q(body__icontains=term))
        )
    page = Paginator(reports.order_by("-published_at", "-id"), RESULTS_PER_PAGE).get_page(
        page_number
    )
    results = [
        SearchResult(
            report=report,
            snippet=escape(shorten(teaser_text(report.teaser), SNIPPET_CHARS)),
        )
        for report in page.object_list
    ]
    page.object_list = results  # type: ignore[assignment]  # the page lists results from here
    return page


def search_reports(
    *,
    text: str,
    reader: Reader,
    network: OfficeNetwork | None = None,
    kind: str | None = None,
    topic: Topic | None = None,
    page_number: str | None = None,
) -> Page:
    """A page of `SearchResult`s for published reports matching `text`, best first.
    `network` is the request's network facts (reports/office.py), for the access rule."""
    reports = _filtered(kind=kind, topic=topic)
    page = _postgres_page if connection.vendor == "postgresql" else _fallback_page
    return page(text=text, reports=reports, reader=reader, network=network, page_number=page_number)
