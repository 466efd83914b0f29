"""Home and report pages: the paywall, the canary, and bounded queries."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from reports.comments.services import comment_create
from reports.models import Comment, Report
from tests.support.factories import ReportFactory, TopicFactory

CANARY = "Canary sentence 7f3a: the Aurel H8 idles at 9.4 watts in our lab."


@pytest.fixture
def paid_report(db):
    return ReportFactory(
        slug="paid-report",
        title="Hybrid inverter shootout",
        teaser="Five hybrid inverters, one bench.",
        body=f"## Results\n\n{CANARY}\n",
        is_free=False,
    )


@pytest.fixture
def free_report(db):
    return ReportFactory(
        slug="free-report", title="Free news", body="Free body text for all.", is_free=True
    )


def _get(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "lapsed_subscriber"])
def test_non_entitled_reader_never_receives_body_text(request, client_for, paid_report, persona):
    client = client_for(request.getfixturevalue(persona))

    for url in [reverse("reports:home"), paid_report.get_absolute_url()]:
        assert CANARY not in _get(client, url)
        assert "Canary sentence" not in _get(client, url)


@pytest.mark.parametrize("persona", ["anonymous", "free_reader"])
def test_non_entitled_reader_sees_teaser_and_paywall(request, client_for, paid_report, persona):
    page = _get(client_for(request.getfixturevalue(persona)), paid_report.get_absolute_url())

    assert "Five hybrid inverters, one bench." in page
    assert "Subscribe to read the full report" in page
    assert 'id="report-body"' not in page


def test_anonymous_paywall_offers_login_and_subscribe_back_to_report(client, paid_report):
    page = _get(client, paid_report.get_absolute_url())

    assert f'href="/accounts/login/?next=/reports/{paid_report.slug}/"' in page
    assert f'href="/subscribe/?next=/reports/{paid_report.slug}/"' in page
    # Each plan: signup, then that plan's checkout, then back here (test_paywall.py).
    assert "/accounts/signup/?next=%2Fsubscribe%2Fcheckout%2F%3Fplan%3Dannual" in page


@pytest.mark.parametrize("persona", ["subscriber", "editor"])
def test_entitled_reader_reads_body(request, client_for, paid_report, persona):
    page = _get(client_for(request.getfixturevalue(persona)), paid_report.get_absolute_url())

    assert CANARY in page
    assert "Subscribe to read the full report" not in page


def test_free_report_body_is_public(client, free_report):
    page = _get(client, free_report.get_absolute_url())

    assert "Free body text for all." in page
    assert "Subscribe to read the full report" not in page


def test_home_lists_published_reports_newest_first(client, db):
    now = timezone.now()
    ReportFactory(title="Older report", published_at=now - timedelta(days=2))
    ReportFactory(title="Newer report", published_at=now - timedelta(hours=1))
    ReportFactory(title="Draft report", status=Report.Status.DRAFT, published_at=None)
    ReportFactory(title="Future report", published_at=now + timedelta(days=1))

    page = _get(client, reverse("reports:home"))

    assert page.index("Newer report") < page.index("Older report")
    assert "Draft report" not in page
    assert "Future report" not in page


def test_drafts_and_future_reports_are_not_found_for_readers(client, subscriber, client_for, db):
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None)
    scheduled = ReportFactory(status=Report.Status.SCHEDULED, published_at=None)

    for report in [draft, scheduled]:
        assert client.get(report.get_absolute_url()).status_code == 404
        assert client_for(subscriber).get(report.get_absolute_url()).status_code == 404


def test_editor_previews_a_draft(client_for, editor, db):
    draft = ReportFactory(status=Report.Status.DRAFT, published_at=None, body="Draft body words")

    page = _get(client_for(editor), draft.get_absolute_url())

    assert "Not published" in page
    assert "Draft body words" in page


def test_unknown_report_is_a_404_page(client, db):
    response = client.get("/reports/no-such-report/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_home_pagination_rejects_nonsense_page_numbers(client, db):
    ReportFactory.create_batch(3)

    for page in ["2", "abc", "-1", "999999999999999999999"]:
        assert client.get(reverse("reports:home"), {"page": page}).status_code == 200


@pytest.mark.parametrize("count", [1, 40])
def test_home_page_queries_are_bounded(client, django_assert_max_num_queries, db, count):
    topics = TopicFactory.create_batch(5)
    ReportFactory.create_batch(count, topics=topics)

    with django_assert_max_num_queries(4):
        _get(client, reverse("reports:home"))


@pytest.mark.parametrize("topic_count", [1, 30])
@pytest.mark.parametrize("persona", ["anonymous", "subscriber"])
def test_report_page_queries_are_bounded(
    request, client_for, django_assert_max_num_queries, db, topic_count, persona
):
    client = client_for(request.getfixturevalue(persona))
    report = ReportFactory(topics=TopicFactory.create_batch(topic_count))
    ReportFactory.create_batch(20)

    with django_assert_max_num_queries(10):
        _get(client, report.get_absolute_url())


def test_time_elements_carry_datetimes_to_the_second(client_for, subscriber, settings):
    # HTML allows at most three digits of a fraction of a second; Django's "c" format
    # writes six, so every <time datetime> is written to the second, in the site's zone.
    settings.TIME_ZONE = "America/New_York"
    moment = datetime(2026, 4, 16, 11, 58, 7, 123456, tzinfo=UTC)
    report = ReportFactory(slug="timed", is_free=False, published_at=moment)
    Report.objects.filter(pk=report.pk).update(revised_at=moment + timedelta(days=1))
    comment = comment_create(author=subscriber, report=report, body="Noted.")
    Comment.objects.filter(pk=comment.pk).update(created_at=moment + timedelta(days=2))
    client = client_for(subscriber)

    values = [
        *re.findall(r'<time datetime="([^"]*)"', _get(client, "/")),
        *re.findall(r'<time datetime="([^"]*)"', _get(client, report.get_absolute_url())),
    ]

    assert values == [
        "2026-04-16T07:58:07-04:00",
        "2026-04-16T07:58:07-04:00",
        "2026-04-17T07:58:07-04:00",
        "2026-04-18T07:58:07-04:00",
    ]
