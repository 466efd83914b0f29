"""Images in the editors' admin: the upload field of the report form (no JavaScript), the
drag-and-drop endpoint (staff only, CSRF, rate limited), the library's list, and covers."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from reports.models import Report, ReportImage
from reports.publishing import report_save
from tests.reports.test_images import GPS_IFD, assert_no_metadata, jpeg_with_gps, stored_files
from tests.support.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db

UPLOAD = reverse("admin:reports_report_image_upload")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def chief(client_for):
    return client_for(UserFactory(is_staff=True, is_superuser=True, display_name="Chief Editor"))


def photo(name: str = "bench.jpg", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_with_gps(**kwargs), content_type="image/jpeg")


def report_form(report: Report, **extra) -> dict:
    return {
        "title": report.title, "slug": report.slug, "kind": report.kind,
        "teaser": report.teaser, "body": report.body, "status": report.status,
        "author": report.author_id, "cover_alt": "", "revision_note": "",
        "publish_at_0": "", "publish_at_1": "", "body_image_alt": "", "body_image_caption": "",
        **extra,
    }  # fmt: skip


def test_the_report_form_adds_an_uploaded_image_to_the_body(chief, media):
    report = ReportFactory(body="## Findings\n\nText.")
    response = chief.post(
        reverse("admin:reports_report_change", args=[report.pk]),
        report_form(report, body_image=photo(), body_image_alt="The bench at noon",
                    body_image_caption="Our test bench"),
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    image = ReportImage.objects.get()
    report.refresh_from_db()
    assert report.body == f"## Findings\n\nText.\n\n![The bench at noon](image:{image.pk})\n"
    assert (image.alt, image.caption) == ("The bench at noon", "Our test bench")
    assert list(image.reports.all()) == [report]
    assert_no_metadata(image.file.name)


def test_the_report_form_refuses_an_image_without_alt_text_or_a_bad_file(chief, media):
    report = ReportFactory()
    url = reverse("admin:reports_report_change", args=[report.pk])

    page = chief.post(url, report_form(report, body_image=photo())).content.decode()
    assert "An image needs alt text." in page
    fake = SimpleUploadedFile("x.jpg", b"not an image", content_type="image/jpeg")
    page = chief.post(
        url, report_form(report, body_image=fake, body_image_alt="X")
    ).content.decode()
    assert "not an image we can read" in page
    assert stored_files(media) == [] and not ReportImage.objects.exists()


def test_the_upload_endpoint_returns_the_markdown_to_insert(chief, media):
    response = chief.post(UPLOAD, {"file": photo(), "alt": "Bench", "caption": "Noon"})

    assert response.status_code == 201
    image = ReportImage.objects.get()
    assert response.json() == {"id": image.pk, "markdown": f"![Bench](image:{image.pk})"}
    assert image.caption == "Noon"


def test_the_upload_endpoint_refuses_bad_files_with_a_message_and_stores_nothing(chief, media):
    bad = SimpleUploadedFile("x.png", b"<html>", content_type="image/png")
    response = chief.post(UPLOAD, {"file": bad, "alt": "X"})
    assert response.status_code == 400
    assert "not an image we can read" in response.json()["error"]
    response = chief.post(UPLOAD, {"file": photo(), "alt": " "})
    assert response.status_code == 400 and "alt text" in response.json()["error"]
    assert chief.post(UPLOAD, {"alt": "X"}).status_code == 400
    assert stored_files(media) == [] and not ReportImage.objects.exists()


def test_the_upload_endpoint_is_for_staff_only(client_for, media):
    for user in (None, UserFactory(display_name="Reader")):
        client = client_for(user) if user else Client()
        response = client.post(UPLOAD, {"file": photo(), "alt": "X"})
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert (
        client_for(UserFactory(is_staff=True))
        .post(UPLOAD, {"file": photo(), "alt": "X"})
        .status_code
        == 403
    )
    assert stored_files(media) == []


def test_the_upload_endpoint_needs_the_csrf_token(media):
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    assert client.post(UPLOAD, {"file": photo(), "alt": "X"}).status_code == 403
    assert stored_files(media) == []


def test_the_upload_endpoint_is_rate_limited(chief, media, settings):
    tiny = io.BytesIO()
    Image.new("RGB", (8, 8)).save(tiny, "PNG")
    for _ in range(30):
        file = SimpleUploadedFile("t.png", tiny.getvalue(), content_type="image/png")
        assert chief.post(UPLOAD, {"file": file, "alt": "Tiny"}).status_code == 201
    file = SimpleUploadedFile("t.png", tiny.getvalue(), content_type="image/png")
    response = chief.post(UPLOAD, {"file": file, "alt": "Tiny"})
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert ReportImage.objects.count() == 30


def test_the_library_lists_thumbnail_alt_caption_and_reports(chief, media):
    chief.post(UPLOAD, {"file": photo(), "alt": "Bench at noon", "caption": "The bench"})
    image = ReportImage.objects.get()
    ReportFactory(title="Heat pump test")
    report = Report.objects.get()
    report.body = f"![x](image:{image.pk})"
    report_save(report=report)

    page = chief.get(reverse("admin:reports_reportimage_changelist")).content.decode()
    small = image.renditions["items"][0]["fallback"]
    assert f'src="{default_storage.url(small)}"' in page
    assert "Bench at noon" in page and "The bench" in page and "Heat pump test" in page
    assert f"![Bench at noon](image:{image.pk})" in page


def test_the_library_uploads_and_edits_through_the_services(chief, media):
    response = chief.post(
        reverse("admin:reports_reportimage_add"),
        {"upload": photo(), "alt": "From the library", "caption": ""},
    )
    assert response.status_code == 302
    image = ReportImage.objects.get()
    assert image.renditions["items"] and image.uploaded_by is not None
    assert_no_metadata(image.file.name)
    response = chief.post(
        reverse("admin:reports_reportimage_change", args=[image.pk]),
        {"alt": "Edited alt", "caption": "Now captioned"},
    )
    assert response.status_code == 302
    image.refresh_from_db()
    assert (image.alt, image.caption) == ("Edited alt", "Now captioned")
    page = chief.post(reverse("admin:reports_reportimage_add"), {"alt": "X"}).content.decode()
    assert "Choose an image to upload." in page


def test_a_new_cover_is_stored_without_metadata_and_with_renditions(chief, media):
    report = ReportFactory()
    response = chief.post(
        reverse("admin:reports_report_change", args=[report.pk]),
        report_form(report, cover_image=photo("cover.jpg"), cover_alt="A test bench"),
    )
    assert response.status_code == 302
    report.refresh_from_db()
    cover = assert_no_metadata(report.cover_image.name)
    assert cover.size == (2000, 1000) and not cover.getexif().get_ifd(GPS_IFD)
    items = report.cover_renditions["items"]
    assert report.cover_renditions["source"] == report.cover_image.name
    assert [item["width"] for item in items] == [480, 960, 1600]
    for item in items:
        assert_no_metadata(item["webp"]) and assert_no_metadata(item["fallback"])
    # Exactly the cleaned original and its renditions: the upload itself was never stored.
    assert len(stored_files(media)) == 1 + 2 * 3
