"""The admin's live preview in the site's own styles: each reader's view is a whole
document with the site's stylesheet, the title and the cover above the text, shown in a
sandboxed frame; no script runs in it, and no address the editor typed becomes the cover."""

import html
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from tests.support.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db
PREVIEW = reverse("admin:reports_report_preview")


@pytest.fixture
def admin_client(client_for):
    return client_for(UserFactory(is_staff=True, is_superuser=True))


@pytest.fixture
def covered(settings, tmp_path):
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path)},
    }}  # fmt: skip
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 630), (30, 90, 160)).save(buffer, "PNG")
    cover = SimpleUploadedFile("cover.png", buffer.getvalue(), content_type="image/png")
    return ReportFactory(
        title="Wallbox shootout", cover_image=cover, cover_alt="Six wallboxes on a bench"
    )


def test_each_pane_is_a_document_in_the_site_styles_with_title_and_cover(admin_client, covered):
    documents = admin_client.post(
        PREVIEW,
        {"title": "Wallbox shootout, revised", "kind": "shootout", "teaser": "T.",
         "body": "Paid body.", "cover_alt": "Six wallboxes", "report": covered.pk},
    ).json()  # fmt: skip

    for name in ["anonymous", "subscriber"]:
        document = documents[name]
        assert document.startswith("<!DOCTYPE html>")
        assert '<link rel="stylesheet" href="/static/css/site.css">' in document
        assert "<script" not in document
        title = document.index('<h1 class="report__title">Wallbox shootout, revised</h1>')
        cover = document.index(f'src="{covered.cover_image.url}"')
        assert title < cover < document.index('class="report__teaser')
        assert 'alt="Six wallboxes"' in document and "Shootout" in document
    assert "Paid body." in documents["subscriber"] and "Paid body." not in documents["anonymous"]


def test_without_a_saved_cover_the_figure_waits_hidden_for_a_chosen_file(admin_client):
    documents = admin_client.post(PREVIEW, {"teaser": "T", "body": "B"}).json()

    figure = re.search(
        r"<figure[^>]*data-preview-cover[^>]*>\s*<img([^>]*)>", documents["anonymous"]
    )
    assert figure and " hidden" in figure.group(0) and "src=" not in figure.group(1)


def test_nonsense_in_the_preview_form_renders_without_error(admin_client):
    response = admin_client.post(
        PREVIEW, {"report": "x", "kind": "nope", "video_minutes": "-4", "cover_alt": "<b>"}
    )

    assert response.status_code == 200
    assert "<b>" not in response.json()["anonymous"]


def test_the_change_form_shows_sandboxed_frames_of_the_saved_version(admin_client, covered):
    page = admin_client.get(
        reverse("admin:reports_report_change", args=[covered.pk])
    ).content.decode()

    frames = re.findall(r"<iframe[^>]*>", page)
    assert len(frames) == 2
    for frame in frames:
        assert 'sandbox="allow-same-origin"' in frame and "allow-scripts" not in frame
        srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
        assert covered.cover_image.url in srcdoc and "Wallbox shootout" in srcdoc
    assert f'data-report-id="{covered.pk}"' in page
