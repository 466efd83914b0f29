"""`report_save` is the one way a report is written: whoever saves through it (the admin, the
demo and bench loaders, a script) gets the revision time, the author's page, citations,
publishing and a fresh page cache."""

import pytest
from django.urls import reverse
from django.utils import timezone

from reports.models import Citation, Report, ReportNotification
from reports.publishing import report_save
from tests.support.factories import ReportFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def report():
    return ReportFactory(slug="saved", title="Saved report", topics=[TopicFactory()])


def test_an_edit_through_the_service_retires_the_cached_anonymous_page_at_once(client, report):
    first = client.get(report.get_absolute_url())
    assert client.get(report.get_absolute_url()).headers["X-Page-Cache"] == "hit"
    assert "Saved report" in first.content.decode()

    report.title = "Retitled outside the admin"
    report_save(report=report)

    again = client.get(report.get_absolute_url())
    assert again.headers["X-Page-Cache"] == "miss"
    assert "Retitled outside the admin" in again.content.decode()
    assert "Retitled outside the admin" in client.get(reverse("reports:home")).content.decode()


def test_saving_gives_the_author_a_page_and_reads_citations_from_the_body(report):
    author = UserFactory(display_name="Ines Writer", slug=None, is_staff=True)
    citing = Report(
        slug="citing",
        title="Citing report",
        kind=Report.Kind.TEST,
        teaser="A teaser.",
        body="As [our earlier test](/reports/saved/) showed.",
        author=author,
    )

    report_save(report=citing, topics=list(report.topics.all()))

    author.refresh_from_db()
    assert author.slug == "ines-writer"
    assert list(Citation.objects.filter(citing=citing).values_list("cited__slug", flat=True)) == [
        "saved"
    ]
    assert list(citing.topics.all()) == list(report.topics.all())


def test_a_report_saved_as_published_is_published_and_notified_once(report):
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None)
    draft.status = Report.Status.PUBLISHED

    report_save(report=draft)
    report_save(report=draft)

    assert draft.published_at is not None
    assert ReportNotification.objects.filter(report=draft).count() == 1


def test_a_revision_stamps_its_time_and_a_plain_edit_does_not(report):
    report_save(report=report)
    assert report.revised_at is None

    at = timezone.now()
    report.revision_note = "Corrected the efficiency figure."
    report_save(report=report, revised=True, now=at)

    assert report.revised_at == at
