"""Citations follow the links in a report's teaser and body, and only published citers
count on the cited report's page."""

import pytest

from reports.citations import citing_reports_published, report_sync_citations
from reports.models import Citation, Report
from reports.templatetags.report_tags import published_date
from tests.support.factories import ReportFactory

pytestmark = pytest.mark.django_db


def _cited(report: Report) -> set[str]:
    return set(Citation.objects.filter(citing=report).values_list("cited__slug", flat=True))


@pytest.fixture
def targets():
    return [ReportFactory(slug=slug) for slug in ["alpha", "beta", "gamma"]]


def test_links_in_teaser_and_body_create_citations(targets):
    report = ReportFactory(
        teaser="Builds on [alpha](/reports/alpha/).",
        body="See [beta](http://testserver/reports/beta/#results), [again](/reports/beta/).",
    )

    report_sync_citations(report=report)

    assert _cited(report) == {"alpha", "beta"}


def test_citations_follow_edits_adding_and_removing_links(targets):
    report = ReportFactory(teaser="[alpha](/reports/alpha/)", body="[beta](/reports/beta/)")
    report_sync_citations(report=report)

    report.body = "Now [gamma](/reports/gamma/) instead."
    report.save()
    report_sync_citations(report=report)
    assert _cited(report) == {"alpha", "gamma"}

    report.teaser = report.body = "No links any more."
    report.save()
    report_sync_citations(report=report)
    assert _cited(report) == set()


def test_sync_is_idempotent(targets):
    report = ReportFactory(body="[alpha](/reports/alpha/)")
    report_sync_citations(report=report)
    first = list(Citation.objects.values_list("pk", flat=True))

    report_sync_citations(report=report)

    assert list(Citation.objects.values_list("pk", flat=True)) == first


@pytest.mark.parametrize(
    "href",
    [
        "/reports/no-such-report/",
        "https://elsewhere.example/reports/alpha/",
        "/topics/alpha/",
        "/reports/",
        "mailto:alpha@example.com",
        "reports/alpha/",
    ],
)
def test_links_that_are_not_to_an_existing_report_are_not_citations(targets, href):
    report = ReportFactory(body=f"[x]({href})")

    assert report_sync_citations(report=report) == set()


def test_a_report_never_cites_itself():
    report = ReportFactory(slug="selfie", body="As [we said](/reports/selfie/).")

    assert report_sync_citations(report=report) == set()


def test_links_inside_code_are_not_citations(targets):
    report = ReportFactory(body="```\n[alpha](/reports/alpha/)\n```\n\n`[beta](/reports/beta/)`")

    assert report_sync_citations(report=report) == set()


def test_only_published_citers_count(targets):
    cited = targets[0]
    published = ReportFactory(title="Published citer", body="[a](/reports/alpha/)")
    draft = ReportFactory(
        title="Draft citer", body="[a](/reports/alpha/)", status=Report.Status.DRAFT,
        published_at=None,
    )  # fmt: skip
    scheduled = ReportFactory(
        title="Scheduled citer", body="[a](/reports/alpha/)", status=Report.Status.SCHEDULED,
        published_at=None,
    )  # fmt: skip
    for report in [published, draft, scheduled]:
        report_sync_citations(report=report)

    assert [r.title for r in citing_reports_published(report=cited)] == ["Published citer"]


def test_citing_reports_cost_one_query_however_many(targets, django_assert_num_queries):
    cited = targets[0]
    for n in range(25):
        report_sync_citations(report=ReportFactory(body=f"[{n}](/reports/alpha/)"))

    with django_assert_num_queries(1):
        citers = citing_reports_published(report=cited)
        rendered = [(r.title, r.published_at, r.teaser, r.author.get_full_name()) for r in citers]

    assert len(rendered) == 25


def test_report_page_lists_citing_reports_with_title_date_and_excerpt(client, targets):
    citer = ReportFactory(
        title="Six months later", teaser="We went back to the [alpha](/reports/alpha/) unit."
    )
    report_sync_citations(report=citer)

    page = client.get(targets[0].get_absolute_url()).content.decode()

    assert "1 report cites this report" in page
    assert "Six months later" in page
    assert f'href="{citer.get_absolute_url()}"' in page
    assert "We went back to the alpha unit." in page
    assert published_date(citer.published_at) in page


def test_report_page_says_how_many_reports_cite_it(client, targets):
    for _ in range(3):
        report_sync_citations(report=ReportFactory(body="[a](/reports/alpha/)"))

    assert "3 reports cite this report" in client.get("/reports/alpha/").content.decode()
    assert "cite this report" not in client.get("/reports/beta/").content.decode()
