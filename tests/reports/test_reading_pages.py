"""The report page in full, and the home, topic, kind and author pages."""

import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from reports.admin.reports import ReportAdminForm
from reports.models import Report
from tests.support.factories import ReportFactory, TopicFactory, UserFactory

pytestmark = pytest.mark.django_db


def _html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _png(width: int = 1200, height: int = 630) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, "PNG")
    return SimpleUploadedFile("cover.png", buffer.getvalue(), content_type="image/png")


def _json_ld(page: str) -> dict:
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    return json.loads(block.group(1))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_report_header_shows_kind_author_link_and_publication_time(client):
    author = UserFactory(display_name="Tomas Lindqvist", slug="tomas-lindqvist")
    report = ReportFactory(
        kind=Report.Kind.INVESTIGATION,
        author=author,
        published_at=datetime(2021, 4, 16, 11, 58, tzinfo=UTC),
    )

    page = _html(client, report.get_absolute_url())

    assert ">Investigation</a>" in page
    assert '<a class="author" href="/authors/tomas-lindqvist/">Tomas Lindqvist</a>' in page
    assert "Published <time datetime=" in page
    assert "Apr 16, 2021, 07:58am EDT</time>" in page
    assert "Updated" not in page


def test_revision_note_shows_updated_time_and_note(client):
    report = ReportFactory(
        revised_at=datetime(2021, 12, 1, 15, 5, tzinfo=UTC),
        revision_note="Corrected the standby figure for the Kestrel HX-10.",
    )

    page = _html(client, report.get_absolute_url())

    assert "Updated <time" in page
    assert "Dec 1, 2021, 10:05am EST</time>" in page
    assert "Corrected the standby figure for the Kestrel HX-10." in page


def test_cover_image_has_dimensions_alt_text_and_loads_first(client, media):
    report = ReportFactory(cover_image=_png(), cover_alt="Five inverters on a test bench")

    page = _html(client, report.get_absolute_url())

    assert (report.cover_width, report.cover_height) == (1200, 630)
    img = re.search(r'<figure class="report__cover">\s*(<img [^>]+>)', page).group(1)
    for attribute in ['width="1200"', 'height="630"', 'alt="Five inverters on a test bench"',
                      'fetchpriority="high"', f'src="{report.cover_image.url}"']:  # fmt: skip
        assert attribute in img
    # Above the fold and usually the largest element: a lazy cover delays the page's paint.
    assert "lazy" not in img
    assert '<meta property="og:image" content="http://testserver/media/covers/' in page
    assert '<meta property="og:image:alt" content="Five inverters on a test bench">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    data = _json_ld(page)
    assert data["image"]["url"] == f"http://testserver{report.cover_image.url}"
    assert (data["image"]["width"], data["image"]["height"]) == (1200, 630)


def test_cover_image_requires_alt_text_and_a_real_image(media):
    report = ReportFactory.build(cover_image=_png(), cover_alt=" ")
    with pytest.raises(ValidationError, match="alt text"):
        report.full_clean(exclude=["author", "slug"])

    data = {"title": "T", "slug": "t", "kind": "test", "teaser": "T", "body": "B",
            "status": "draft", "cover_alt": "A chart"}  # fmt: skip
    fake = SimpleUploadedFile("cover.png", b"not an image", content_type="image/png")
    form = ReportAdminForm(data, {"cover_image": fake})
    assert not form.is_valid()
    assert "Upload a valid image" in str(form.errors["cover_image"])
    assert ReportAdminForm(data, {"cover_image": _png()}).is_valid()


def test_sharing_tags_canonical_and_json_ld(client):
    report = ReportFactory(
        title='Inverters </script><script>alert("x")</script>',
        teaser="The **public** teaser, shared everywhere.",
        is_free=False,
        author=UserFactory(display_name="Maren Okafor", slug="maren-okafor"),
    )

    page = _html(client, report.get_absolute_url())

    url = f"http://testserver{report.get_absolute_url()}"
    assert f'<link rel="canonical" href="{url}">' in page
    assert '<meta property="og:type" content="article">' in page
    assert (
        '<meta property="og:description" content="The public teaser, shared everywhere.">' in page
    )
    # No cover: the site's default image stands in, so previews still get a large card.
    assert '<meta property="og:image" content="http://testserver/static/og-default.png">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert "<script>alert" not in page
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    data = json.loads(block.group(1))
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == report.title
    assert data["author"] == {
        "@type": "Person",
        "name": "Maren Okafor",
        "url": "http://testserver/authors/maren-okafor/",
    }
    assert data["isAccessibleForFree"] is False
    assert data["datePublished"] == report.published_at.isoformat()
    assert data["image"] == {
        "@type": "ImageObject",
        "url": "http://testserver/static/og-default.png",
        "width": 1200,
        "height": 630,
    }


def test_csp_allows_json_ld_our_scripts_and_only_the_video_frames(client):
    report = ReportFactory(body="https://youtu.be/dQw4w9WgXcQ", is_free=True)

    response = client.get(report.get_absolute_url())

    policy = response["Content-Security-Policy"]
    # JSON-LD is a data block: never executed, so it needs no nonce (and cached HTML has none).
    assert '<script type="application/ld+json">' in response.content.decode()
    assert "script-src 'self'" in policy
    assert "frame-src https://www.youtube-nocookie.com https://player.vimeo.com" in policy
    assert "style-src 'self'" in policy and "unsafe-inline" not in policy
    assert '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"' in (
        response.content.decode()
    )


def test_free_report_json_ld_is_accessible_for_free_without_has_part(client):
    report = ReportFactory(is_free=True)

    page = _html(client, report.get_absolute_url())

    assert '"isAccessibleForFree": true' in page
    assert "hasPart" not in page


def test_related_reports_share_topics_or_kind_most_shared_then_newest_never_itself(client):
    now = timezone.now()
    pumps, batteries = TopicFactory(slug="pumps"), TopicFactory(slug="batteries")
    report = ReportFactory(title="Subject", kind=Report.Kind.TEST, topics=[pumps, batteries])
    ReportFactory(title="Both topics", kind=Report.Kind.NEWS, topics=[pumps, batteries],
                  published_at=now - timedelta(days=9))  # fmt: skip
    ReportFactory(title="One topic newer", kind=Report.Kind.NEWS, topics=[pumps],
                  published_at=now - timedelta(days=1))  # fmt: skip
    ReportFactory(title="One topic older", kind=Report.Kind.NEWS, topics=[batteries],
                  published_at=now - timedelta(days=5))  # fmt: skip
    ReportFactory(title="Same kind only", kind=Report.Kind.TEST,
                  published_at=now - timedelta(days=2))  # fmt: skip
    ReportFactory(title="Unrelated", kind=Report.Kind.GUIDE)
    ReportFactory(title="Draft sibling", topics=[pumps], status=Report.Status.DRAFT,
                  published_at=None)  # fmt: skip

    page = _html(client, report.get_absolute_url())
    related = page[page.index("Related reports") :]

    titles = re.findall(r'class="card__title"><a href="[^"]+">([^<]+)</a>', related)
    assert titles == ["Both topics", "One topic newer", "One topic older", "Same kind only"]


def test_home_has_a_lead_report_latest_and_sections_by_kind(client):
    now = timezone.now()
    ReportFactory(title="Lead story", kind=Report.Kind.NEWS, published_at=now - timedelta(hours=1))
    for n in range(10):
        ReportFactory(title=f"Test {n}", kind=Report.Kind.TEST,
                      published_at=now - timedelta(days=n + 1))  # fmt: skip
    TopicFactory(name="Heat pumps", slug="heat-pumps")

    page = _html(client, reverse("reports:home"))

    assert page.index("card--lead") < page.index("Lead story") < page.index(">Latest<")
    assert '<h2 class="section-title" id="kind-test"><a href="/kinds/test/">Tests</a>' in page
    assert page.count("Test 9") == 0  # 4 latest + 3 in the section: the oldest are left out
    assert '<a href="/topics/heat-pumps/">Heat pumps</a>' in page
    assert '<link rel="alternate" type="application/rss+xml"' in page


@pytest.mark.parametrize("count", [13, 25])
def test_topic_kind_and_author_pages_are_paginated(client, count):
    topic = TopicFactory(slug="pumps", name="Heat pumps", description="Pumps that heat.")
    author = UserFactory(display_name="Ada Author", slug="ada-author")
    ReportFactory.create_batch(count, topics=[topic], kind=Report.Kind.GUIDE, author=author)
    ReportFactory(title="Elsewhere", kind=Report.Kind.NEWS)

    for url, heading in [
        ("/topics/pumps/", "Heat pumps"),
        ("/kinds/guide/", "Guides"),
        ("/authors/ada-author/", "Ada Author"),
    ]:
        first = _html(client, url)
        pages = -(-count // 12)
        last = _html(client, f"{url}?page={pages}")
        assert f'<h1 class="page-title">{heading}</h1>' in first
        assert f"{count} reports" in first
        assert first.count('class="card"') == 12
        assert last.count('class="card"') == count - 12 * (pages - 1)
        assert f"Page {pages} of {pages}" in last
        assert "Elsewhere" not in first + last
        assert client.get(url, {"page": "abc"}).status_code == 200


def test_unknown_topic_kind_and_author_are_404(client):
    UserFactory(display_name="Never Authored", slug="never-authored")

    for url in ["/topics/nope/", "/kinds/nope/", "/authors/nope/", "/authors/never-authored/"]:
        assert client.get(url).status_code == 404, url


def test_author_with_only_drafts_has_no_page(client):
    author = UserFactory(slug="draft-author")
    ReportFactory(author=author, status=Report.Status.DRAFT, published_at=None)

    assert client.get("/authors/draft-author/").status_code == 404


def test_default_sharing_image_is_a_large_card_png():
    from django.contrib.staticfiles import finders

    with Image.open(finders.find("og-default.png")) as image:
        assert (image.format, image.size) == ("PNG", (1200, 630))


@pytest.mark.parametrize(
    ("url", "kind", "canonical"),
    [
        ("/", "WebSite", "https://research.example/"),
        ("/topics/heat-pumps/", "CollectionPage", "https://research.example/topics/heat-pumps/"),
        ("/kinds/test/", "CollectionPage", "https://research.example/kinds/test/"),
        (
            "/authors/maren-okafor/",
            "CollectionPage",
            "https://research.example/authors/maren-okafor/",
        ),
    ],
)
def test_home_and_list_pages_carry_sharing_tags_and_an_absolute_image(
    client, settings, url, kind, canonical
):
    settings.SITE_URL = "https://research.example"
    ReportFactory(
        kind=Report.Kind.TEST,
        topics=[TopicFactory(slug="heat-pumps", name="Heat pumps")],
        author=UserFactory(display_name="Maren Okafor", slug="maren-okafor"),
    )

    page = _html(client, url)

    image = "https://research.example/static/og-default.png"
    assert f'<link rel="canonical" href="{canonical}">' in page
    assert f'<meta property="og:url" content="{canonical}">' in page
    assert f'<meta property="og:image" content="{image}">' in page
    assert '<meta property="og:image:width" content="1200">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    data = _json_ld(page)
    assert data["@type"] == kind
    assert data["url"] == canonical
    assert data["image"] == {"@type": "ImageObject", "url": image, "width": 1200, "height": 630}


def test_list_page_canonical_keeps_the_page_number(client, settings):
    settings.REPORTS_PER_PAGE = 1
    ReportFactory.create_batch(2, kind=Report.Kind.TEST)

    page = _html(client, "/kinds/test/?page=2&utm_source=x")

    assert '<link rel="canonical" href="http://testserver/kinds/test/?page=2">' in page
    assert _json_ld(page)["url"] == "http://testserver/kinds/test/?page=2"
