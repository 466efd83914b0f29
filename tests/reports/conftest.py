"""Shared data for the reading tests: a paid report carrying a canary sentence in its body,
and `corpus`, which fills the database quickly for the query-count tests."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from reports.models import Citation, Report, Topic
from tests.support.factories import ReportFactory, TopicFactory, UserFactory

# A word that appears only in the canary report's body, so a search for it finds the
# report through its body and must still show nothing but teaser text.
CANARY_WORD = "zorblaxian"
CANARY = f"Canary sentence 7f3a: the {CANARY_WORD} Aurel H8 idles at 9.4 watts in our lab."


@pytest.fixture
def canary_topic(db) -> Topic:
    return TopicFactory(slug="solar-inverters", name="Solar inverters")


@pytest.fixture
def canary_report(db, canary_topic) -> Report:
    return ReportFactory(
        slug="paid-report",
        title="Hybrid inverter shootout",
        kind=Report.Kind.SHOOTOUT,
        teaser="Five hybrid inverters, one bench, and a verdict.",
        body=f"## Results\n\n{CANARY}\n\n> {CANARY}\n",
        is_free=False,
        topics=[canary_topic],
        author=UserFactory(display_name="Tomas Lindqvist", slug="tomas-lindqvist", is_staff=True),
    )


@pytest.fixture
def corpus(db):
    """corpus(reports=200, citations=50) -> (target report, topic, author).

    Bulk inserts, so 200 reports cost a handful of queries to set up. Every report shares
    the target's topic, kind and author; the first `citations` of them cite the target.
    """

    def build(*, reports: int, citations: int = 0) -> tuple[Report, Topic, User]:
        topic = TopicFactory(slug="corpus-topic", name="Corpus topic")
        author = UserFactory(display_name="Corpus Author", slug="corpus-author", is_staff=True)
        target = ReportFactory(
            slug="target", kind=Report.Kind.TEST, author=author, topics=[topic], is_free=False
        )
        now = timezone.now()
        others = Report.objects.bulk_create(
            Report(
                slug=f"bulk-{n}",
                title=f"Bulk report {n} about inverter efficiency",
                kind=Report.Kind.TEST,
                teaser=f"Teaser {n} about [the target](/reports/target/) and inverters.",
                body=f"Body {n} about inverter efficiency.",
                status=Report.Status.PUBLISHED,
                published_at=now - timedelta(minutes=n + 1),
                author=author,
            )
            for n in range(reports - 1)
        )
        Report.topics.through.objects.bulk_create(
            Report.topics.through(report_id=report.pk, topic_id=topic.pk) for report in others
        )
        Citation.objects.bulk_create(
            Citation(citing=report, cited=target) for report in others[:citations]
        )
        return target, topic, author

    return build
