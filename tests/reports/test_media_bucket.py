"""Media on object storage: the real boto3 and django-storages against a local
S3-compatible server (tests/support/s3.py). An editor's uploads through the admin land in
the bucket, original and renditions, each under its own content type with a year's
immutable Cache-Control; pages name them at the bucket's (or a CDN's) address, which the
CSP allows; a new picture gets new URLs; deleting takes its objects."""

import re
import urllib.request
from pathlib import PurePosixPath

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse

from publisher.storage.names import MEDIA_CACHE_CONTROL, NotAPicture
from reports.models import ReportImage
from tests.reports.test_image_admin import photo, report_form
from tests.reports.test_images import assert_no_metadata
from tests.support.factories import ReportFactory, UserFactory
from tests.support.s3 import REGION, media_bucket_configure

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

TYPES = {".jpg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


@pytest.fixture
def chief(client_for):
    return client_for(UserFactory(is_staff=True, is_superuser=True, display_name="Chief Editor"))


def fetch(url: str) -> tuple[bytes, dict[str, str]]:
    """What a reader's browser gets for a picture's URL: no credentials, no signature."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return response.read(), {key.lower(): value for key, value in response.headers.items()}


def picture_urls(page: str) -> list[str]:
    """Every media URL a page's <img> and <source> elements name (src and each srcset
    entry), less the site's static pictures and its reading mark."""
    urls = re.findall(r'<img [^>]*src="([^"]+)"', page)
    for srcset in re.findall(r'srcset="([^"]+)"', page):
        urls += [entry.strip().split(" ")[0] for entry in srcset.split(",")]
    return [url for url in urls if not url.startswith(("/static/", "/reading/"))]


def upload_to_library(chief, *, alt: str = "The bench at noon", **photo_kwargs) -> ReportImage:
    response = chief.post(
        reverse("admin:reports_reportimage_add"),
        {"upload": photo(**photo_kwargs), "alt": alt, "caption": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return ReportImage.objects.get(alt=alt)


def image_keys(image: ReportImage) -> list[str]:
    items = image.renditions["items"]
    return sorted(
        [image.file.name, *(item[kind] for item in items for kind in ("webp", "fallback"))]
    )


def test_a_library_upload_lands_in_the_bucket_typed_and_cached_for_a_year(
    chief, media_bucket, tmp_path
):
    image = upload_to_library(chief)

    keys = image_keys(image)
    assert media_bucket.object_keys() == keys
    assert len(keys) == 1 + 2 * 3  # the original, and 480, 960 and 1600 in WebP and JPEG
    for key in keys:
        assert re.fullmatch(r"images/\d{4}/\d{2}/[\w.-]+\.[0-9a-f]{12}\.(jpg|webp)", key), key
        head = media_bucket.head(key)
        assert head["ContentType"] == TYPES[PurePosixPath(key).suffix], key
        assert head["CacheControl"] == MEDIA_CACHE_CONTROL == "public, max-age=31536000, immutable"
        # What a reader's browser is given at the picture's public URL, unsigned.
        url = default_storage.url(key)
        assert url == f"{media_bucket.server.endpoint}/{media_bucket.name}/{key}"
        body, headers = fetch(url)
        assert headers["content-type"] == TYPES[PurePosixPath(key).suffix]
        assert headers["cache-control"] == MEDIA_CACHE_CONTROL
        assert body[:3] == b"\xff\xd8\xff" or body[8:12] == b"WEBP"
    # Metadata was stripped before anything reached the bucket.
    assert_no_metadata(image.file.name)
    # Nothing went to the local disk (the fixture's MEDIA_ROOT).
    assert not any(tmp_path.iterdir())


def test_the_report_page_names_the_bucket_and_its_csp_allows_it(chief, client, media_bucket):
    image = upload_to_library(chief)
    report = ReportFactory(is_free=True, body=f"## Bench\n\n![The bench](image:{image.pk})\n")
    response = chief.post(
        reverse("admin:reports_report_change", args=[report.pk]),
        report_form(report, cover_image=photo("cover.jpg", width=2400, height=1260),
                    cover_alt="The lab", is_free="on"),
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    report.refresh_from_db()
    assert report.cover_renditions["source"] == report.cover_image.name
    assert report.cover_image.name.startswith("covers/")

    response = client.get(report.get_absolute_url())
    page = response.content.decode()
    urls = picture_urls(page)
    bucket_address = f"{media_bucket.origin}/{media_bucket.name}/"
    assert urls and all(url.startswith(bucket_address) for url in urls), urls
    named = {url.removeprefix(bucket_address) for url in urls}
    assert set(image_keys(image)) - {image.file.name} <= named
    assert {item["webp"] for item in report.cover_renditions["items"]} <= named
    assert "/media/" not in page
    img_src = next(
        part for part in response["Content-Security-Policy"].split(";") if "img-src" in part
    )
    assert media_bucket.origin in img_src.split()
    # Link previews carry the bucket's absolute address as it is.
    assert f'<meta property="og:image" content="{bucket_address}covers/' in page


def test_a_replaced_cover_gets_new_urls(chief, client, media_bucket):
    report = ReportFactory(is_free=True)
    url = reverse("admin:reports_report_change", args=[report.pk])
    red = photo("cover.jpg", width=1200, height=630)
    form = report_form(report, cover_image=red, cover_alt="Red", is_free="on")
    assert chief.post(url, form).status_code == 302
    report.refresh_from_db()
    first = report.cover_renditions
    first_page = client.get(report.get_absolute_url()).content.decode()

    # The same file name, other pixels: the editor replaces the picture.
    blue = photo("cover.jpg", width=1200, height=640)
    form = report_form(report, cover_image=blue, cover_alt="Blue", is_free="on")
    assert chief.post(url, form).status_code == 302
    report.refresh_from_db()
    second = report.cover_renditions

    assert second["source"] != first["source"]
    old = {first["source"], *(item[k] for item in first["items"] for k in ("webp", "fallback"))}
    new = {second["source"], *(item[k] for item in second["items"] for k in ("webp", "fallback"))}
    assert not old & new
    page = client.get(report.get_absolute_url()).content.decode()
    assert not any(default_storage.url(name) in page for name in old)
    assert all(default_storage.url(item["webp"]) in page for item in second["items"])
    assert any(default_storage.url(name) in first_page for name in old)
    # The old picture stays where emails already sent show it; its URL still shows it.
    assert old <= set(media_bucket.object_keys())
    assert fetch(default_storage.url(first["source"]))[0][:3] == b"\xff\xd8\xff"


def test_the_same_bytes_uploaded_twice_get_two_names_and_deleting_one_keeps_the_other(
    chief, client, media_bucket
):
    first = upload_to_library(chief, alt="First copy")
    second = upload_to_library(chief, alt="Second copy")
    assert not set(image_keys(first)) & set(image_keys(second))
    report = ReportFactory(
        is_free=True, body=f"![Kept](image:{second.pk})\n\n![Gone](image:{first.pk})"
    )

    response = chief.post(
        reverse("admin:reports_reportimage_delete", args=[first.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert media_bucket.object_keys() == image_keys(second)
    page = client.get(report.get_absolute_url()).content.decode()
    assert not any(default_storage.url(key) in page for key in image_keys(first))
    assert all(default_storage.url(item["webp"]) in page for item in second.renditions["items"])
    # Deleting what the bucket no longer holds is no error.
    default_storage.delete(first.file.name)


def test_the_bucket_refuses_anything_but_a_picture(media_bucket):
    with pytest.raises(NotAPicture):
        default_storage.save("images/page.jpg", ContentFile(b"<html><script>alert(1)</script>"))
    with pytest.raises(NotAPicture):
        default_storage.save("images/page.html", ContentFile(b"\xff\xd8\xff\xe0 a jpeg header"))
    jpeg = photo().read()
    with pytest.raises(NotAPicture):  # a JPEG's bytes under a PNG's name
        default_storage.save("images/wrong.png", ContentFile(jpeg))
    assert media_bucket.object_keys() == []


def test_pictures_behind_a_cdn_domain_are_named_and_allowed_there(
    chief, client, s3_server, settings, monkeypatch, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    # The CDN is played by the server's own address for the bucket, under a key prefix.
    cdn = f"{s3_server.endpoint}/cdn-media"
    bucket = media_bucket_configure(
        settings, monkeypatch, s3_server,
        f"s3://cdn-media/site?region={REGION}&endpoint_url={s3_server.endpoint}"
        f"&custom_domain={cdn}",
    )  # fmt: skip
    image = upload_to_library(chief)
    report = ReportFactory(is_free=True, body=f"![The bench](image:{image.pk})")

    response = client.get(report.get_absolute_url())

    assert all(key.startswith("site/images/") for key in bucket.object_keys())
    urls = picture_urls(response.content.decode())
    assert urls and all(url.startswith(f"{cdn}/site/images/") for url in urls), urls
    assert bucket.origin == s3_server.endpoint
    assert s3_server.endpoint in response["Content-Security-Policy"]
    body, headers = fetch(urls[0])
    assert headers["cache-control"] == MEDIA_CACHE_CONTROL and body


def test_the_local_disk_stays_the_default(chief, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    assert settings.STORAGES["default"]["BACKEND"].endswith("MediaFileSystemStorage")
    image = upload_to_library(chief)
    report = ReportFactory(is_free=True, body=f"![The bench](image:{image.pk})")

    response = client.get(report.get_absolute_url())

    assert (tmp_path / image.file.name).is_file()
    urls = picture_urls(response.content.decode())
    assert urls and all(url.startswith("/media/images/") for url in urls)
    img_src = next(p for p in response["Content-Security-Policy"].split(";") if "img-src" in p)
    assert img_src.split() == ["img-src", "'self'", "data:"]
