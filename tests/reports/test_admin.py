"""The report admin: saving derives citations and author slugs, revisions date themselves
and name the reports that cite the revised one, and the live preview shows both readers."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse

from reports.access import can_read_body
from reports.admin.preview import preview_subscriber
from reports.comments.services import can_post_comment
from reports.models import Citation, CommentBan, Report
from tests.support.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db
PREVIEW = reverse("admin:reports_report_preview")


@pytest.fixture
def admin_client(client_for):
    return client_for(UserFactory(is_staff=True, is_superuser=True, display_name="Ed Itor"))


def _form_data(report: Report, **changes) -> dict:
    data = {
        "title": report.title, "slug": report.slug, "kind": report.kind,
        "teaser": report.teaser, "body": report.body, "status": report.status,
        "author": report.author_id or "", "cover_alt": "", "revision_note": report.revision_note,
        "publish_at_0": "", "publish_at_1": "",
    }  # fmt: skip
    if report.is_free:
        data["is_free"] = "on"
    data.update(changes)
    return data


def test_saving_in_the_admin_syncs_citations_and_gives_the_author_a_slug(admin_client):
    cited = ReportFactory(slug="cited")
    author = UserFactory(display_name="Nia Writer", slug=None)
    report = ReportFactory(author=author)

    response = admin_client.post(
        reverse("admin:reports_report_change", args=[report.pk]),
        _form_data(report, body="See [the cited one](/reports/cited/)."),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert list(Citation.objects.values_list("citing", "cited")) == [(report.pk, cited.pk)]
    author.refresh_from_db()
    assert author.slug == "nia-writer"


def test_recording_a_revision_dates_it_and_lists_possibly_affected_reports(admin_client):
    cited = ReportFactory(slug="cited", title="The cited report")
    for title in ["Citer one", "Citer draft"]:
        citer = ReportFactory(title=title, body="[x](/reports/cited/)")
        Citation.objects.create(citing=citer, cited=cited)

    response = admin_client.post(
        reverse("admin:reports_report_change", args=[cited.pk]),
        _form_data(cited, revision_note="Corrected a standby figure."),
        follow=True,
    )

    cited.refresh_from_db()
    assert cited.revised_at is not None
    page = response.content.decode()
    assert "2 report(s) cite this one and may be affected" in page
    assert "Citer one" in page and "Citer draft" in page


def test_change_page_lists_citing_reports_as_possibly_affected(admin_client):
    cited = ReportFactory()
    Citation.objects.create(citing=ReportFactory(title="Depends on it"), cited=cited)

    page = admin_client.get(reverse("admin:reports_report_change", args=[cited.pk]))

    assert "Reports citing this one (possibly affected)" in page.content.decode()
    assert "Depends on it" in page.content.decode()


def test_saving_without_a_new_note_does_not_date_a_revision(admin_client):
    report = ReportFactory(revision_note="")

    admin_client.post(
        reverse("admin:reports_report_change", args=[report.pk]), _form_data(report, title="New")
    )

    report.refresh_from_db()
    assert (report.title, report.revised_at) == ("New", None)


def test_preview_shows_paywall_to_anonymous_and_body_to_subscriber(admin_client):
    response = admin_client.post(
        PREVIEW, {"teaser": "Public *teaser*.", "body": "## Secret\n\nPaid body <script>."}
    )

    panes = response.json()
    assert "<em>teaser</em>" in panes["anonymous"]
    assert "Subscribe to read the full report" in panes["anonymous"]
    assert "Paid body" not in panes["anonymous"]
    assert "Paid body &lt;script&gt;." in panes["subscriber"]
    assert "Subscribe to read the full report" not in panes["subscriber"]


def test_preview_of_a_free_report_shows_the_body_to_both(admin_client):
    panes = admin_client.post(PREVIEW, {"teaser": "T", "body": "Free body", "is_free": "on"}).json()

    assert "Free body" in panes["anonymous"] and "Free body" in panes["subscriber"]


@pytest.mark.parametrize("persona", ["anonymous", "free_reader", "subscriber"])
def test_preview_endpoint_is_staff_only(request, client_for, persona):
    client = client_for(request.getfixturevalue(persona))

    response = client.post(PREVIEW, {"teaser": "T", "body": "Paid body"})

    assert response.status_code == 302
    assert "Paid body" not in response.content.decode()


def test_preview_needs_post(admin_client):
    assert admin_client.get(PREVIEW).status_code == 405


def test_preview_subscriber_passes_the_access_rule_without_database_rows():
    paid = Report(is_free=False)

    assert can_read_body(preview_subscriber(), paid) is True
    assert can_read_body(AnonymousUser(), paid) is False


def test_change_form_loads_the_preview_script_with_the_nonce(admin_client):
    report = ReportFactory()

    response = admin_client.get(reverse("admin:reports_report_change", args=[report.pk]))

    page = response.content.decode()
    assert 'src="/static/reports/admin-preview.js" nonce="' in page
    assert "As an anonymous reader sees it" in page
    assert "View on site" in page


def test_a_ban_made_in_the_admin_names_the_moderator_and_stops_posting(admin_client):
    member = UserFactory(display_name="Loud Member")
    report = ReportFactory(is_free=True)

    response = admin_client.post(
        reverse("admin:reports_commentban_add"),
        {"user": member.pk, "reason": "Spam links", "until_0": "", "until_1": ""},
    )

    assert response.status_code == 302
    ban = CommentBan.objects.get(user=member)
    assert ban.created_by.display_name == "Ed Itor" and ban.reason == "Spam links"
    assert not can_post_comment(member, report)
