"""The editors' admin: the publication's name in its header, an author chooser that offers
staff only, and a moderation queue that shows what a moderator decides on."""

import pytest
from django.urls import reverse

from reports.models import Comment, CommentBan, CommentFlag
from reports.templatetags.report_tags import published_date
from tests.support.factories import MembershipFactory, ReportFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chief(client_for):
    return client_for(UserFactory(is_staff=True, is_superuser=True, display_name="Chief Editor"))


def test_the_admin_carries_the_publications_name(chief, settings):
    page = chief.get(reverse("admin:index")).content.decode()

    assert f"{settings.SITE_NAME} newsroom" in page
    assert "Django administration" not in page
    assert f"<title>Reports, readers and members | {settings.SITE_NAME} newsroom</title>" in page


def test_author_chooser_offers_staff_and_never_readers(chief):
    UserFactory(email="writer@example.com", display_name="Wren Writer", is_staff=True)
    UserFactory(email="reader@example.com", display_name="Wren Reader")

    found = chief.get(
        reverse("admin:autocomplete"),
        {"term": "wren", "app_label": "reports", "model_name": "report", "field_name": "author"},
    ).json()

    assert [r["text"] for r in found["results"]] == ["Wren Writer"]


def test_a_reader_cannot_be_made_a_reports_author(chief):
    reader = UserFactory(display_name="Just Reading")
    report = ReportFactory()

    response = chief.post(
        reverse("admin:reports_report_change", args=[report.pk]),
        {
            "title": report.title, "slug": report.slug, "kind": report.kind,
            "teaser": report.teaser, "body": report.body, "status": report.status,
            "author": reader.pk, "cover_alt": "", "revision_note": "",
            "publish_at_0": "", "publish_at_1": "",
        },
    )  # fmt: skip

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    report.refresh_from_db()
    assert report.author_id != reader.pk


def test_the_report_list_filters_by_those_who_wrote_reports_only(chief):
    ReportFactory(author=UserFactory(display_name="Ada Author", is_staff=True))
    UserFactory(display_name="Rita Reader")

    page = chief.get(reverse("admin:reports_report_changelist")).content.decode()

    assert "Ada Author" in page
    assert "Rita Reader" not in page


@pytest.fixture
def flagged():
    report = ReportFactory(title="Chiller shootout")
    writer = MembershipFactory(user__display_name="Loud Commenter").user
    comment = Comment.objects.create(
        report=report, author=writer, body="Buy cheap pumps at spam.example", body_html="<p>x</p>"
    )
    reporter = MembershipFactory(user__display_name="Careful Reader").user
    return CommentFlag.objects.create(comment=comment, reporter=reporter, reason="Advertising")


def test_the_flag_queue_shows_excerpt_reason_reporter_and_report_without_add(chief, flagged):
    page = chief.get(reverse("admin:reports_commentflag_changelist")).content.decode()

    for shown in ["Buy cheap pumps at spam.example", "Advertising", "Careful Reader",
                  "Loud Commenter", "Chiller shootout"]:  # fmt: skip
        assert shown in page
    assert "Comment " + str(flagged.comment.pk) + " on" not in page
    assert reverse("admin:reports_commentflag_add") not in page
    assert chief.get(reverse("admin:reports_commentflag_add")).status_code == 403


def test_banning_from_the_queue_bans_the_author_and_resolves_the_flag(chief, flagged):
    done = chief.post(
        reverse("admin:reports_commentflag_changelist"),
        {"action": "ban_authors", "_selected_action": [str(flagged.pk)]},
        follow=True,
    )

    assert "Banned from commenting: 1 member." in done.content.decode()
    ban = CommentBan.objects.get()
    assert ban.user == flagged.comment.author and ban.until is None
    flagged.refresh_from_db()
    assert flagged.resolved_at is not None


def test_staff_are_never_banned_from_the_queue(chief, flagged):
    flagged.comment.author.is_staff = True
    flagged.comment.author.save()

    done = chief.post(
        reverse("admin:reports_commentflag_changelist"),
        {"action": "ban_authors", "_selected_action": [str(flagged.pk)]},
        follow=True,
    )

    assert "Staff are never banned: 1 skipped." in done.content.decode()
    assert not CommentBan.objects.exists()


def test_the_flag_queue_needs_a_fixed_number_of_queries(
    chief, flagged, django_assert_max_num_queries
):
    for _ in range(5):
        comment = Comment.objects.create(
            report=ReportFactory(), author=MembershipFactory().user, body="more", body_html="x"
        )
        CommentFlag.objects.create(comment=comment, reporter=flagged.reporter, reason="r")

    with django_assert_max_num_queries(12):
        assert chief.get(reverse("admin:reports_commentflag_changelist")).status_code == 200


def test_the_report_list_says_status_and_date_in_one_column(chief):
    published = ReportFactory(title="Out already")
    draft = ReportFactory(title="Still a draft", status="draft", published_at=None)

    rows = chief.get(reverse("admin:reports_report_changelist")).content.decode()

    assert f"Published {published_date(published.published_at)}" in rows
    assert draft.get_status_display() in rows
