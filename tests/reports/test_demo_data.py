"""The demo content of `make run` reads like a research publication: covers, authors with
bios and portraits, bodies of realistic length with tables and figures, citations, comment
threads, publication times spread over the day and the months before the load, scheduled
reports, and no prank videos. Loading it twice changes nothing."""

import re
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.db.models import Count, Q
from django.test import Client
from django.utils import timezone
from django.utils.html import escape
from PIL import Image

from accounts.models import Membership, User
from reports.comments.services import comment_delete, comment_hide
from reports.demo import artwork, content
from reports.demo.threads import THREADS
from reports.models import Citation, Comment, Report, ReportRevision
from reports.rendering import markdown_text, render_markdown
from reports.selectors import front_page

pytestmark = pytest.mark.django_db

DEMO = Path(content.__file__).resolve().parent
LONG_KINDS = {Report.Kind.TEST, Report.Kind.SHOOTOUT, Report.Kind.INVESTIGATION}
# Well-known prank videos ("Never Gonna Give You Up" and its best-known re-uploads).
PRANK_VIDEO_IDS = ["dQw4w9WgXcQ", "oHg5SJYRHA0", "xvFZjo5PgG0", "iik25wqIuFo"]


@pytest.fixture
def demo(demo_media):
    call_command("load_demo_data", verbosity=0)
    return demo_media


def _words(markdown: str) -> int:
    return len(markdown_text(markdown).split())


def _html(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def test_every_report_has_a_generated_cover_with_alt_text(demo):
    reports = list(Report.objects.all())

    assert len(reports) == len(content.REPORTS)
    names = set()
    for report in reports:
        assert report.cover_image.storage.exists(report.cover_image.name), report.slug
        assert (report.cover_width, report.cover_height) == artwork.COVER_SIZE
        assert report.cover_image.size < 40 * 1024, report.slug
        with Image.open(report.cover_image.path) as image:
            assert image.format == "WEBP"
        assert report.cover_alt.startswith("Cover illustration: ")
        assert len(report.cover_alt.split()) >= 12, report.slug
        report.full_clean()  # the admin's rules: a valid image, at most 8 MB, alt text
        assert report.cover_renditions["source"] == report.cover_image.name
        assert [item["width"] for item in report.cover_renditions["items"]] == [480, 960, 1200]
        names.add(report.cover_image.name)
    assert len(names) == len(reports)  # every report its own picture


def test_covers_and_portraits_are_drawn_the_same_way_every_time():
    cover = artwork.cover_webp(slug="a-report", kind="shootout", count=5)

    assert artwork.cover_webp(slug="a-report", kind="shootout", count=5) == cover
    assert artwork.cover_webp(slug="another-report", kind="shootout", count=5) != cover
    portrait = artwork.portrait_webp(initials="MO", colour="#7a2e5c")
    assert artwork.portrait_webp(initials="MO", colour="#7a2e5c") == portrait
    assert artwork.cover_name(slug="a", kind="test", count=3) == artwork.cover_name(
        slug="a", kind="test", count=3
    )


def test_four_to_six_authors_with_bios_and_portraits_and_no_email_on_their_pages(
    demo, client, django_assert_max_num_queries
):
    authors = list(
        User.objects.filter(reports__in=Report.objects.published()).distinct().order_by("pk")
    )

    assert 4 <= len(authors) <= 6
    # Each process reads the office ranges once after they change (the demo adds some), not
    # per page: that read is not the author page's.
    client.get("/")
    for author in authors:
        assert len(author.bio.split()) >= 40, author.display_name
        assert author.portrait.storage.exists(author.portrait.name)
        assert (author.portrait_width, author.portrait_height) == (
            artwork.PORTRAIT_SIZE,
            artwork.PORTRAIT_SIZE,
        )
        author.full_clean()
        with django_assert_max_num_queries(3):  # the budget of tests/reports/test_query_counts.py
            page = _html(client, f"/authors/{author.slug}/")
        assert f'src="{author.portrait.url}"' in page
        assert f'alt="{author.display_name}"' in page
        first_paragraph = author.bio.split("\n\n")[0]
        assert "\n" not in first_paragraph  # one paragraph as typed, not the source's wrapping
        assert f"<p>{escape(first_paragraph)}</p>" in page
        assert author.email not in page
        report = Report.objects.published().filter(author=author).first()
        report_page = _html(client, report.get_absolute_url())
        assert f'<img class="report__portrait" src="{author.portrait.url}"' in report_page
        assert author.email not in report_page
    # Every author writes, and the archive is spread between them.
    counts = Report.objects.published().values("author").annotate(n=Count("id"))
    assert max(row["n"] for row in counts) <= 2 * min(row["n"] for row in counts) + 1


def test_bodies_are_realistic_trade_research_with_tables_figures_and_citations(demo):
    reports = list(Report.objects.all())
    paragraphs: dict[str, str] = {}

    for report in reports:
        words = _words(report.body)
        if report.kind in LONG_KINDS:
            assert 1500 <= words <= 4000, (report.slug, words)
            assert "<table>" in render_markdown(report.body), report.slug
        else:
            assert 250 <= words <= 1500, (report.slug, words)
        teaser = _words(report.teaser)
        assert 30 <= teaser <= 90, (report.slug, teaser)
        assert "lorem" not in report.body.lower()
        # No paragraph is shared between two reports: the bodies are written, not stamped out.
        for paragraph in report.body.split("\n\n"):
            if len(paragraph) > 120:
                assert paragraph not in paragraphs, (report.slug, paragraphs.get(paragraph))
                paragraphs[paragraph] = report.slug
    figures = [
        source
        for report in reports
        for source in re.findall(
            r'<img src="(/static/[^"]+)" alt="[^"]{40,}"', render_markdown(report.body)
        )
    ]
    assert len(set(figures)) >= 6
    for source in figures:
        assert finders.find(source.removeprefix(settings.STATIC_URL)), source
    # "N reports cite this report": several reports are cited by two or three others.
    cited = Report.objects.published().annotate(
        citers=Count(
            "citations_received",
            filter=Q(citations_received__citing__in=Report.objects.published()),
        )
    )
    assert sum(1 for report in cited if 2 <= report.citers <= 3) >= 4
    assert Citation.objects.count() >= 30


def test_the_lead_report_has_a_lively_thread_and_others_quieter_ones(demo):
    lead = front_page().lead
    now = timezone.now()

    assert lead is not None and lead.kind == Report.Kind.SHOOTOUT and not lead.is_free
    assert 22 <= lead.comment_count <= 26
    thread = Comment.objects.filter(report=lead)
    assert thread.filter(parent__isnull=False).count() >= 8
    commenters = set(thread.values_list("author", flat=True))
    assert len(commenters) >= 6
    assert User.objects.filter(pk__in=commenters, is_staff=True).exists()  # the author answers
    for report in Report.objects.published().exclude(pk=lead.pk):
        assert 0 <= report.comment_count <= 8, report.slug
    assert Report.objects.published().filter(comment_count=0).exists()
    for comment in Comment.objects.select_related("report", "parent"):
        assert comment.report.published_at < comment.created_at < now
        if comment.parent is not None:
            assert comment.parent.created_at < comment.created_at
    for report in Report.objects.all():
        assert report.comment_count == Comment.objects.filter(report=report).visible().count()
    # Everyone who comments on a paid report may read it: a member or staff.
    members = set(Membership.objects.filter(status="active").values_list("user", flat=True)) | set(
        User.objects.filter(is_staff=True).values_list("pk", flat=True)
    )
    paid_commenters = Comment.objects.filter(report__is_free=False).values_list("author", flat=True)
    assert set(paid_commenters) <= members


def test_publication_times_spread_over_days_and_months_before_the_load(demo):
    now = timezone.now()
    published = list(Report.objects.published().order_by("-published_at"))
    local = [timezone.localtime(report.published_at) for report in published]

    assert len({(t.hour, t.minute) for t in local}) == len(local)  # no two at the same time
    assert len({t.hour for t in local}) >= 8
    assert not any(t.hour == 0 and t.minute == 0 for t in local)
    assert now - published[0].published_at < timedelta(days=3)
    assert now - published[-1].published_at > timedelta(days=150)
    gaps = [a.published_at - b.published_at for a, b in pairwise(published)]
    assert max(gaps) < timedelta(days=40)
    scheduled = Report.objects.filter(status=Report.Status.SCHEDULED)
    assert scheduled.count() >= 2
    for report in scheduled:
        assert report.publish_at > now and report.published_at is None
        assert Client().get(report.get_absolute_url()).status_code == 404


def test_the_demo_is_recent_in_any_year(demo_media, time_machine):
    instant = datetime(2031, 7, 4, 9, 15, tzinfo=ZoneInfo(settings.TIME_ZONE))
    time_machine.move_to(instant, tick=False)

    call_command("load_demo_data", verbosity=0)

    newest = Report.objects.published().order_by("-published_at").first()
    assert timedelta(0) < instant - newest.published_at < timedelta(days=3)
    assert all(report.publish_at > instant for report in Report.objects.filter(status="scheduled"))
    page = _html(Client(), newest.get_absolute_url())
    assert f'datetime="{timezone.localtime(newest.published_at).isoformat()}"' in page


def test_loading_twice_changes_nothing(demo):
    def state():
        return {
            "reports": sorted(
                Report.objects.values_list(
                    "slug", "published_at", "publish_at", "cover_image", "comment_count"
                )
            ),
            "comments": Comment.objects.count(),
            "citations": Citation.objects.count(),
            "revisions": sorted(ReportRevision.objects.values_list("report__slug", "saved_at")),
            "users": sorted(User.objects.values_list("email", "portrait", "bio")),
            "memberships": Membership.objects.count(),
            "files": sorted(str(path.relative_to(demo)) for path in demo.rglob("*.webp")),
        }

    first = state()

    call_command("load_demo_data", verbosity=0)

    assert state() == first
    assert first["comments"] == sum(
        1 + len(item.get("replies", [])) for thread in THREADS.values() for item in thread
    )


def test_no_prank_videos_anywhere_in_the_demo():
    files = [path for path in DEMO.rglob("*") if path.is_file() and path.suffix in {".py", ".md"}]
    files += list((settings.BASE_DIR / "static" / "demo").glob("*"))

    assert len(files) > len(content.REPORTS)
    for path in files:
        text = path.read_text(encoding="utf-8")
        for video_id in PRANK_VIDEO_IDS:
            assert video_id not in text, path
        assert "rick astley" not in text.lower(), path
    # A video in the demo would have to be the publisher's own; it has none.
    for item in content.REPORTS:
        assert "<iframe" not in render_markdown(content.body(item["slug"])), item["slug"]


def test_the_demo_pages_show_covers_paywall_and_the_thread(demo, client_for):
    lead = front_page().lead
    anonymous, member = Client(), client_for(User.objects.get(email="subscriber@example.com"))

    home = _html(anonymous, "/")
    assert f'href="{lead.get_absolute_url()}"' in home.split('id="latest-title"')[0]
    teaser_page = _html(anonymous, lead.get_absolute_url())
    webp = lead.cover_image.storage.url(lead.cover_renditions["items"][0]["webp"])
    assert f'srcset="{webp} 480w' in teaser_page
    assert f'alt="{lead.cover_alt}"' in teaser_page
    assert "Subscribe to read the full report" in teaser_page
    assert "Seasonal efficiency" not in teaser_page  # a heading of the body
    assert f"Comments ({lead.comment_count})" in teaser_page
    full = _html(member, lead.get_absolute_url())
    assert "Seasonal efficiency" in full
    assert full.count('class="comment"') + full.count('class="comment ') >= lead.comment_count


def test_moderation_in_make_run_survives_the_next_load(demo):
    lead = front_page().lead
    editor = User.objects.get(email="editor@example.com")
    first, second = Comment.objects.filter(report=lead, parent__isnull=True)[:2]
    comment_delete(user=editor, comment=first)
    comment_hide(moderator=editor, comment=second, reason="Off topic.")
    count = Report.objects.get(pk=lead.pk).comment_count

    call_command("load_demo_data", verbosity=0)

    assert Report.objects.get(pk=lead.pk).comment_count == count
    assert not Comment.objects.filter(report=lead, body=THREADS[lead.slug][0]["body"]).exists()
    assert Comment.objects.get(pk=second.pk).hidden_at is not None


def test_two_reports_have_a_history_of_corrections_and_a_citing_report_says_so(demo, client):
    for slug, corrections in content.CORRECTIONS.items():
        report = Report.objects.get(slug=slug)
        revisions = list(ReportRevision.objects.filter(report=report).order_by("saved_at"))
        assert len(revisions) == 1 + len(corrections)
        assert revisions[0].saved_at == report.published_at
        assert [r.note for r in revisions[1:]] == [c["note"] for c in corrections]
        assert revisions[-1].body == report.body == content.body(slug)
        assert all(c["before"] in revisions[0].body for c in corrections)
        assert report.revised_at == max(r.saved_at for r in revisions if r.is_public)
        page = client.get(report.get_absolute_url()).content.decode()
        assert "Updates and corrections" in page
        assert all(escape(c["note"]) in page for c in corrections if c["note"])

    citing = client.get("/reports/ev-charger-randomised-delay-rule/").content.decode()
    assert "Cites a report updated on" in citing
    assert 'href="/reports/ev-charger-standby-power/#updates"' in citing
