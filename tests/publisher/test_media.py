"""Uploaded files as Django serves them with DEBUG on: pictures only, never sniffed."""

import pytest
from django.http import Http404
from django.test import RequestFactory

from publisher.media import serve_media


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "covers").mkdir()
    return tmp_path


def test_a_picture_is_served_inert_under_its_own_type(media):
    (media / "covers" / "a.webp").write_bytes(b"RIFF....WEBP")
    response = serve_media(RequestFactory().get("/media/covers/a.webp"), "covers/a.webp")

    assert response["Content-Type"] == "image/webp"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "default-src 'none'" in response["Content-Security-Policy"]


@pytest.mark.parametrize("name", ["a.svg", "a.html", "a", "a.png.js"])
def test_anything_but_a_picture_is_not_served(media, name):
    (media / "covers" / name).write_bytes(b"<script>alert(1)</script>")
    with pytest.raises(Http404):
        serve_media(RequestFactory().get(f"/media/covers/{name}"), f"covers/{name}")
