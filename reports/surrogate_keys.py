"""The surrogate keys of the publication's pages, and the keys a report's change purges.

A public page names what it shows (publisher/cache/cdn.py sends the names to the CDN in
`Surrogate-Key` and `Cache-Tag`):

- a listing names its listing, never each report on it: the home page `home`, a topic's
  page and feeds `topic-<id>`, a kind's `kind-<kind>`, an author's page `author-<id>`, the
  site's feeds `feed`, the sitemap `sitemap`, searches `search`. A listing can hold hundreds
  of reports, and both CDNs cap a response's keys (16 KB of header); a report's change
  purges the few listings it is on (before and after the change) instead.
- a report page names its report (`report-<id>`), its "N reports cite this report" list
  (`citations-<id>`: a widely cited report has many), and for its related reports, at most
  RELATED_LIMIT cards, each card's report (their edits) and the topics and kind they were
  drawn from (`related-topic-<id>`, `related-kind-<kind>`: a report entering or leaving
  them may enter the list).

So a change of one report purges: its page and the pages showing its card
(`report-<id>`); the listings it is on; the citation lists of the reports it cites; the
pages of the reports citing it whose header shows its public update; and, when it enters
or leaves a topic or a kind (published, unpublished, deleted, moved), the related lists
drawn from those. A draft is on no public page: editing one purges nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone

from publisher.cache.cdn import cdn_purge_configured
from publisher.cache.generations import page_cache_invalidate_all
from reports.models import Citation, Report

HOME = "home"
FEED = "feed"
SITEMAP = "sitemap"
SEARCH = "search"


def report_key(report_id: int) -> str:
    return f"report-{report_id}"


def citations_key(report_id: int) -> str:
    return f"citations-{report_id}"


def topic_key(topic_id: int) -> str:
    return f"topic-{topic_id}"


def kind_key(kind: str) -> str:
    return f"kind-{kind}"


def author_key(author_id: int) -> str:
    return f"author-{author_id}"


def related_topic_key(topic_id: int) -> str:
    return f"related-topic-{topic_id}"


def related_kind_key(kind: str) -> str:
    return f"related-kind-{kind}"


def report_page_keys(*, report: Report, related: Iterable[Report]) -> tuple[str, ...]:
    """What a report page names (the report's topics are prefetched)."""
    return (
        report_key(report.pk),
        citations_key(report.pk),
        *(related_topic_key(topic.pk) for topic in report.topics.all()),
        related_kind_key(report.kind),
        *(report_key(other.pk) for other in related),
    )


@dataclass(frozen=True)
class Placement:
    """Where a report is shown on public pages at one moment (nowhere unless published)."""

    report_id: int
    published: bool = False
    kind: str = ""
    author_id: int | None = None
    topic_ids: frozenset[int] = field(default_factory=frozenset)
    cited_ids: frozenset[int] = field(default_factory=frozenset)
    # Published reports citing this one whose header shows its public update.
    updated_in: frozenset[int] = field(default_factory=frozenset)

    def keys(self) -> set[str]:
        if not self.published:
            return set()
        return {
            report_key(self.report_id),
            HOME,
            FEED,
            SITEMAP,
            SEARCH,
            kind_key(self.kind),
            *(topic_key(pk) for pk in self.topic_ids),
            *([author_key(self.author_id)] if self.author_id else []),
            *(citations_key(pk) for pk in self.cited_ids),
            *(report_key(pk) for pk in self.updated_in),
        }

    def membership(self) -> set[str]:
        """The related lists it may be drawn into."""
        if not self.published:
            return set()
        return {related_kind_key(self.kind), *(related_topic_key(pk) for pk in self.topic_ids)}


def report_placement(*, report_id: int) -> Placement:
    """Where the report is shown now (four small queries for a published report)."""
    row = (
        Report.objects.published(now=timezone.now())
        .filter(pk=report_id)
        .values("kind", "author_id", "revised_at")
        .first()
    )
    if row is None:
        return Placement(report_id=report_id)
    topic_ids = Report.topics.through.objects.filter(report_id=report_id).values_list(
        "topic_id", flat=True
    )
    cited_ids = Citation.objects.filter(citing_id=report_id).values_list("cited_id", flat=True)
    updated_in: Iterable[int] = ()
    if row["revised_at"] is not None:
        # cited_reports_updated_since: a citing report shows updates made after it appeared.
        updated_in = (
            Report.objects.published()
            .filter(citations_made__cited_id=report_id, published_at__lt=row["revised_at"])
            .values_list("pk", flat=True)
        )
    return Placement(
        report_id=report_id,
        published=True,
        kind=row["kind"],
        author_id=row["author_id"],
        topic_ids=frozenset(topic_ids),
        cited_ids=frozenset(cited_ids),
        updated_in=frozenset(updated_in),
    )


def report_change_keys(*, before: Placement, after: Placement) -> set[str]:
    """The keys of every page a change from `before` to `after` may have changed."""
    keys = before.keys() | after.keys()
    if before.membership() != after.membership():
        keys |= before.membership() | after.membership()
    return keys


class ReportChange:
    """One write's change of some reports. Created inside the write's transaction before
    anything changes, it reads where they were shown (only with a CDN to purge);
    `invalidate` then retires every cached page, and once the write has committed purges
    at the CDN what the change touched, before and after."""

    def __init__(self, report_ids: Iterable[int] = ()) -> None:
        self._tracking = cdn_purge_configured()
        self.before: dict[int, Placement] = {}
        for pk in report_ids:
            self.include(pk)

    def include(self, report_id: int, *, created: bool = False) -> None:
        """Also this report, touched by the write (or `created` by it: shown nowhere
        before)."""
        if self._tracking and report_id not in self.before:
            self.before[report_id] = (
                Placement(report_id=report_id) if created else report_placement(report_id=report_id)
            )

    def keys(self) -> set[str]:
        keys: set[str] = set()
        for pk, before in self.before.items():
            keys |= report_change_keys(before=before, after=report_placement(report_id=pk))
        return keys

    def invalidate(self) -> None:
        page_cache_invalidate_all(cdn_keys=self.keys)
