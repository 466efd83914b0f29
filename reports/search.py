"""Full-text search over published reports, answering each reader from what they may read.

A report's public text is its title, teaser, topics' names and author's display name; its
body is public only when the report is free (reports/access.py). A reader who may read
every body (`is_entitled_reader`) is matched against whole documents; anyone else against
free reports' whole documents and paid reports' public text alone, so what they get
(which reports, in what order, how many) is what they would get if no paid body existed.

The results come in two runs, the same for every reader:

1. Reports whose public text matches, best first: ranked on the public text (title A,
   teaser B, names D), then newest first. Only the newest RESULTS_CAP + 1 of them are
   ranked, so a word in half the archive's titles costs a thousand small vectors, never
   all of them; a reader who wants an older one adds a word, a kind or a topic.
2. Then reports found only in a body this reader may read, newest first: a body cannot
   rank one report above another for one reader and not for the next, and a word in every
   body says nothing about which report is about it. Taken from the newest down through
   the date index, as far as the page needs.

A search lists at most RESULTS_CAP results (100 pages), which is further than anyone
reads: past it the page says "More than 1,000 reports match", and counting stops at the
cap, so a common word never counts the whole archive. A reader looking for one report
narrows the search; a reader surveying a subject wants the best and the newest, which
come first.

Snippets come from ts_headline, for the page's ten reports alone: over the teaser for a
report found by its public text, over the body for one found in a body this reader may
read (body text is never read for any other). SQLite (`make run`)
gets a plain substring match over the same text for the same readers, newest first, and
teaser excerpts.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape as escape_html

from django import forms
from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import Case, Q, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat
from django.forms.utils import flatatt
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from accounts.organisations.networks import OfficeNetwork
from reports.access import Reader, is_entitled_reader
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
# The most results a search lists (the module's docstring says why).
RESULTS_CAP = 1_000
# The teaser shown for a result, cut after a whole word (about 40 words).
SNIPPET_CHARS = 280
# ts_headline marks matches with these; they cannot occur in text typed into a form field,
# so after escaping the snippet they are the only places a <mark> may go.
_START, _STOP = "\x02", "\x03"
# Where websearch_to_tsquery may read a minus as "leave out": at the start, after a space,
# an opening parenthesis or a quotation mark (never inside a hyphenated word: "wi-fi").
_LEAVES_OUT = re.compile(r"""(?:^|[\s("])-""")
# ts_headline works on the Markdown source, and a fragment may start or end inside a link
# or a table, so links keep their text, and half links, table rules and markup go.
_MARKDOWN_CLEANUP = [
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),
    (re.compile(r"\]\([^)]*\)?"), " "),
    (re.compile(r"\|?(?:\s*:?-{3,}:?\s*\|)+(?:\s*:?-{3,}:?)?"), " "),
    (re.compile(r"(?m)^\s{0,3}(?:#{1,6}|>|[-*+]|\d+\.)\s+"), ""),
    (re.compile(r"!?\[|[*_`|]+"), " "),
]


class PlainSelect(forms.Select):
    """A <select> whose options are joined in Python: Django renders each option through a
    template of its own, which for the topic filter's hundred topics took 4.5 ms, half of
    what a search page costs. No option groups; the same markup otherwise."""

    def render(
        self,
        name: str,
        value: object,
        attrs: dict[str, object] | None = None,
        renderer: object = None,
    ) -> SafeString:
        selected = set(self.format_value(value))
        options = "".join(
            f'<option value="{escape_html(str(choice))}"'
            f"{' selected' if str(choice) in selected else ''}>{escape_html(str(label))}</option>"
            for choice, label in self.choices
        )
        attributes = flatatt(self.build_attrs(self.attrs, attrs) | {"name": name})
        # Every value and label escaped above; the attributes by flatatt.
        return mark_safe(f"<select{attributes}>{options}</select>")  # noqa: S308


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
        widget=PlainSelect,
        error_messages={"invalid_choice": "There is no such kind of report."},
    )
    topic = forms.ModelChoiceField(
        Topic.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label="All topics",
        widget=PlainSelect,
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
    reports = Report.objects.published()
    if kind:
        reports = reports.of_kind(kind)
    if topic:
        reports = reports.for_topic(topic)
    return reports


class SearchPaginator(Paginator):
    """Pages over the first RESULTS_CAP of `found` results (counted up to the cap and one
    more); `more` says the search found more than it lists."""

    def __init__(self, found: int) -> None:
        super().__init__(range(min(found, RESULTS_CAP)), RESULTS_PER_PAGE)
        self.more = found > RESULTS_CAP
        self.cap = RESULTS_CAP


@contextmanager
def _matching_through_the_index() -> Iterator[None]:
    """Match on the stored documents through their GIN indexes, never by reading them row
    by row.

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


def _public_matches(
    reports: ReportQuerySet, query: SearchQuery, *, text: str, reads_every_body: bool
) -> ReportQuerySet:
    """The reports whose public text matches, for this reader: the first run of results.

    Without a word left out ("-word"), a report whose public text matches also matches as
    a whole, and the small public vector, kept in the row, is all that is read. A word
    left out must be missing from the body the reader may read as well: that reads those
    bodies' vectors, for the reports whose public text matches."""
    matches = reports.alias(public=stored_search_public()).filter(public=query)
    if not _LEAVES_OUT.search(text):
        return matches
    readable = Q(document=query) if reads_every_body else Q(is_free=False) | Q(document=query)
    return matches.alias(document=stored_search_document()).filter(readable)


def _ranked_public_page(
    matches: ReportQuerySet, query: SearchQuery, *, offset: int, limit: int
) -> tuple[int, list[int]]:
    """How many public-text matches there are (up to RESULTS_CAP + 1), and the ids of the
    page's among them: the newest RESULTS_CAP + 1, ranked on the public text, then newest
    first. One query; ts_rank runs on those candidates alone."""
    candidates = (
        matches.order_by("-published_at", "-id")
        .annotate(rank=SearchRank(stored_search_public(), query))
        .values("id", "published_at", "rank")[: RESULTS_CAP + 1]
    )
    sql, params = candidates.query.sql_with_params()
    # The SQL is our ORM's own, every value a parameter.
    ranked = (
        f"WITH candidates AS MATERIALIZED ({sql}) "  # noqa: S608
        "SELECT (SELECT count(*) FROM candidates), ARRAY(SELECT id FROM candidates "
        "ORDER BY rank DESC, published_at DESC, id DESC OFFSET %s LIMIT %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(ranked, (*params, offset, limit))
        found, ids = cursor.fetchone()
    return found, ids


def _newest_body_page(
    reports: ReportQuerySet,
    query: SearchQuery,
    *,
    reads_every_body: bool,
    most: int,
    offset: int,
    limit: int,
) -> tuple[int, list[int]]:
    """How many reports this reader finds only in a body they may read (up to `most`), and
    the ids of `limit` of them from `offset`, newest first. One query.

    The bodies' vectors are matched through a GIN index alone: a materialized CTE is
    planned on its own, with that condition alone, and with sequential scans off
    (`_matching_through_the_index`) its only plan is the index, which yields ids without
    reading any document. A reader who may not read paid bodies is matched through the
    index of free reports alone, so their search never reads a paid body's vector, not
    even in the index. The reports are then taken newest first through the date index,
    stopping at `most`."""
    whole = Report.objects.order_by().alias(document=stored_search_document())
    if not reads_every_body:
        whole = whole.filter(is_free=True)
    matched_sql, matched_params = whole.filter(document=query).values("pk").query.sql_with_params()
    in_body = (
        reports.alias(public=stored_search_public())
        .exclude(public=query)
        .filter(pk__in=RawSQL("SELECT pk FROM matched", ()))
        .order_by("-published_at", "-id")
        .values("id", "published_at")
    )
    sql, params = in_body.query.sql_with_params()
    # The SQL is our ORM's own, every value a parameter.
    newest = (
        f"WITH matched AS MATERIALIZED ({matched_sql}), "  # noqa: S608
        # LIMIT as a parameter: it may be 0, which the ORM's slicing makes no query at all.
        f"in_body AS MATERIALIZED ({sql} LIMIT %s) "
        "SELECT (SELECT count(*) FROM in_body), ARRAY(SELECT id FROM in_body "
        "ORDER BY published_at DESC, id DESC OFFSET %s LIMIT %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(newest, (*matched_params, *params, most, offset, limit))
        found, ids = cursor.fetchone()
    return found, ids


def _page_ids(
    *,
    text: str,
    reports: ReportQuerySet,
    query: SearchQuery,
    reads_every_body: bool,
    number: int,
) -> tuple[int, list[int], list[int]]:
    """How many results this search has (up to RESULTS_CAP + 1) and the ids on page
    `number`: the public-text matches', then the body matches' (the module's docstring).
    Two queries, whatever the page: past the cap the second asks for nothing and ends at
    once, and the page's query count stays the same."""
    offset = (number - 1) * RESULTS_PER_PAGE
    limit = min(RESULTS_PER_PAGE, RESULTS_CAP - offset)  # the last page ends at the cap
    public = _public_matches(reports, query, text=text, reads_every_body=reads_every_body)
    in_public, ids = _ranked_public_page(public, query, offset=offset, limit=limit)
    in_body, body_ids = _newest_body_page(
        reports,
        query,
        reads_every_body=reads_every_body,
        most=max(0, RESULTS_CAP + 1 - in_public),
        offset=max(0, offset - in_public),
        limit=limit - len(ids),
    )
    return in_public + in_body, ids, body_ids


def _requested_page(page_number: str | None) -> int:
    """The page asked for, as Paginator.get_page reads it, within the cap's pages."""
    try:
        number = int(page_number or 1)
    except ValueError:
        return 1
    return min(max(number, 1), -(-RESULTS_CAP // RESULTS_PER_PAGE))


def _postgres_page(
    *,
    text: str,
    reports: ReportQuerySet,
    reader: Reader,
    page_number: str | None,
    network: OfficeNetwork | None = None,
) -> Page:
    query = SearchQuery(text, search_type="websearch", config=SEARCH_CONFIG)
    reads_every_body = is_entitled_reader(reader, network=network)
    number = _requested_page(page_number)
    with _matching_through_the_index():
        found, in_public, in_body = _page_ids(
            text=text, reports=reports, query=query, reads_every_body=reads_every_body,
            number=number,
        )  # fmt: skip
        page = SearchPaginator(found).get_page(page_number)
        if page.number != number:  # past the last page: Paginator shows the last one
            found, in_public, in_body = _page_ids(
                text=text, reports=reports, query=query, reads_every_body=reads_every_body,
                number=page.number,
            )  # fmt: skip
    # A report found by its public text shows its teaser's headline; one found in a body
    # (one this reader may read, as in the matching: reports/access.py), that body's. Both
    # computed for the page's reports alone: the query names their ids.
    in_readable_body = Q(pk__in=in_body) if reads_every_body else Q(pk__in=in_body, is_free=True)
    shown = (
        reports.without_body()
        .select_related("author")
        .filter(pk__in=in_public + in_body)
        .order_by()  # listed in the order of the ids
        .annotate(
            rank=SearchRank(stored_search_public(), query),
            headline=Case(
                When(
                    in_readable_body,
                    then=_headline(
                        Concat("teaser", Value("\n\n"), "body", output_field=TextField()), query
                    ),
                ),
                default=_headline("teaser", query),
            ),
        )
        .in_bulk()
    )
    results = [
        SearchResult(report=shown[pk], snippet=snippet_html(shown[pk].headline))
        for pk in in_public + in_body
        if pk in shown  # unpublished since, if at all
    ]
    page.object_list = results  # the page lists results from here
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
    newest = reports.without_body().select_related("author").order_by("-published_at", "-id")
    page = Paginator(newest, RESULTS_PER_PAGE).get_page(page_number)
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
