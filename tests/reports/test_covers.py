"""Covers with renditions wherever a report is shown: its page (first, eagerly), the home
page's lead and cards, the lists, the reports citing it, link previews and the email."""

import io
import json
import re
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from reports.models import Citation, Report
from reports.publishing import report_publish, report_save
from tests.support.factories import NewsletterSubscriberFactory, ReportFactory, TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _cover_bytes(width: int = 2400, height: int = 1260) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 90, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


def covered(**fields) -> Report:
    """A published report whose cover went through `report_save`, as the admin saves it."""
    fields.setdefault("author", None)
    report = ReportFactory.build(cover_alt="A blue test card", **fields)
    report.cover_image.save("cover.jpg", ContentFile(_cover_bytes()), save=False)
    report = report_save(report=report)
    assert report.cover_renditions["items"]
    return report


def _html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _pictures(page: str) -> list[str]:
    return re.findall(r"<picture>.*?</picture>", page, re.S)


def test_the_report_page_serves_the_cover_with_webp_renditions_eagerly(client, media):
    report = covered()
    page = _html(client, report.get_absolute_url())

    cover = page[page.index('<figure class="report__cover">') :].split("</figure>")[0]
    for item in report.cover_renditions["items"]:
        assert f"{default_storage.url(item['webp'])} {item['width']}w" in cover
    assert '<source type="image/webp"' in cover
    assert 'width="2400" height="1260" alt="A blue test card"' in cover
    assert 'fetchpriority="high"' in cover and 'loading="lazy"' not in cover


def test_link_previews_use_a_rendition_at_most_1600_wide(client, media, settings):
    report = covered()
    page = _html(client, report.get_absolute_url())
    item = report.cover_renditions["items"][-1]
    assert item["width"] == 1600
    url = f"{settings.SITE_URL}{default_storage.url(item['fallback'])}"
    assert f'<meta property="og:image" content="{url}">' in page
    data = json.loads(re.search(r'application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert data["image"] == {"@type": "ImageObject", "url": url, "width": 1600, "height": 840}


def test_home_lead_and_cards_show_covers_the_cards_small_and_lazy(client, media):
    now = timezone.now()
    reports = [
        covered(kind=Report.Kind.TEST, published_at=now - timedelta(hours=n)) for n in range(6)
    ]
    page = _html(client, reverse("reports:home"))

    lead = page.split('aria-label="Lead report"')[1].split("</section>")[0]
    assert reports[0].get_absolute_url() in lead
    # The lead is the page's largest picture, at its top: fetched first.
    (lead_picture,) = _pictures(lead)
    assert 'fetchpriority="high"' in lead_picture and 'loading="lazy"' not in lead_picture
    cards = _pictures(page.split('aria-label="Lead report"')[1].split("</section>", 1)[1])
    assert len(cards) >= 1
    for picture in [lead_picture, *cards]:
        assert 'width="2400" height="1260" alt="A blue test card"' in picture
        assert ".webp 480w" in picture and 'decoding="async"' in picture
    for picture in cards:
        assert 'loading="lazy"' in picture
    # A card's fallback is the 480 px rendition.
    # (Named `cover-480w`, then the storage's suffix for a taken name if any, and the hash.)
    assert re.search(r'<img src="/media/covers/[^"]+-480w(_\w{7})?\.[0-9a-f]{12}\.jpg"', page)


def test_topic_kind_and_author_lists_and_citing_reports_show_covers(client, media, editor):
    topic = TopicFactory()
    cited = covered(author=editor)
    cited.topics.set([topic])
    citing = covered(body=f"See [it]({cited.get_absolute_url()}).")
    Citation.objects.get_or_create(citing=citing, cited=cited)
    editor.slug = "eddie"
    editor.save()

    for url in (
        reverse("reports:topic", args=[topic.slug]),
        reverse("reports:kind", args=[cited.kind]),
        reverse("reports:author", args=["eddie"]),
    ):
        assert _pictures(_html(client, url)), url
    report_page = _html(client, cited.get_absolute_url())
    citations = report_page.split('id="citations"')[1].split("</section>")[0]
    assert "<picture>" in citations and 'loading="lazy"' in citations


def test_covers_cost_no_query_per_card(client, media, django_assert_num_queries):
    # Each save retires the cached pages, so every request below renders anew.
    covered()
    with django_assert_num_queries(3):
        client.get(reverse("reports:home"))
    for _ in range(8):
        covered()
    with django_assert_num_queries(3):
        page = _html(client, reverse("reports:home"))
    assert len(_pictures(page)) >= 4


def test_the_notification_email_shows_the_cover_from_site_url(
    media, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://gridline.example"
    NewsletterSubscriberFactory()
    report = covered(status=Report.Status.DRAFT, published_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        report_publish(report_id=report.pk)

    (message,) = mailoutbox
    html = next(content for content, kind in message.alternatives if kind == "text/html")
    item = [i for i in report.cover_renditions["items"] if i["width"] <= 1200][-1]
    src = f"https://gridline.example{default_storage.url(item['fallback'])}"
    img = re.search(r'<img src="([^"]+)" width="(\d+)" height="(\d+)" alt="([^"]*)"', html)
    assert img.groups() == (src, "560", "294", "A blue test card")
    assert src.endswith(".jpg")  # no WebP for mail clients


def test_the_command_renders_covers_stored_before_renditions(media):
    legacy = ReportFactory(cover_alt="Old cover")
    legacy.cover_image.save("old.jpg", ContentFile(_cover_bytes(800, 420)), save=True)
    assert legacy.cover_renditions == {}
    out = io.StringIO()

    call_command("cover_renditions", stdout=out)

    legacy.refresh_from_db()
    assert [item["width"] for item in legacy.cover_renditions["items"]] == [480, 800]
    assert "Rendered the covers of 1 report(s)." in out.getvalue()
    call_command("cover_renditions", stdout=out)
    assert "Rendered the covers of 0 report(s)." in out.getvalue()
