"""Media storage's configuration and rules: MEDIA_STORAGE_URL parsed into django-storages'
options (or refused with a message naming the fix), the media origin the CSP allows, and
the rules both backends keep (pictures only, names carrying their content's hash). The
bucket itself is tested against a local S3-compatible server in
tests/reports/test_media_bucket.py."""

import hashlib
import io
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from accounts.forms import AdminUserChangeForm
from publisher.env import LOCAL_MEDIA, media_storage_from_url, media_storage_parse
from publisher.storage.backends import MediaS3Storage
from publisher.storage.names import NotAPicture, hashed_name, picture_type, unhashed_stem
from tests.publisher.test_settings import PRODUCTION_ENV, _run_django
from tests.support.factories import UserFactory


def picture(fmt: str = "JPEG", colour=(200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def no_keys(monkeypatch):
    for name in ("AWS_S3_ACCESS_KEY_ID", "AWS_S3_SECRET_ACCESS_KEY", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "MEDIA_STORAGE_URL"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def test_unset_keeps_media_on_the_local_disk():
    assert media_storage_from_url("MEDIA_STORAGE_URL") == LOCAL_MEDIA
    assert LOCAL_MEDIA.origin == ""


def test_a_bucket_url_becomes_django_storages_options():
    media = media_storage_parse(
        "MEDIA_STORAGE_URL",
        "s3://gridline-media/site?region=auto&endpoint_url=https://acct.r2.example.com"
        "&custom_domain=media.gridline.example",
    )
    assert media.storage == {
        "BACKEND": "publisher.storage.backends.MediaS3Storage",
        "OPTIONS": {
            "bucket_name": "gridline-media",
            "region_name": "auto",
            "location": "site",
            "querystring_auth": False,
            "file_overwrite": False,
            "default_acl": None,
            "endpoint_url": "https://acct.r2.example.com",
            "addressing_style": "path",
            "custom_domain": "media.gridline.example",
            "url_protocol": "https:",
        },
    }
    assert media.origin == "https://media.gridline.example"


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        # AWS's own S3: the bucket's virtual host in its region.
        (
            "s3://gridline-media?region=eu-west-1",
            "https://gridline-media.s3.eu-west-1.amazonaws.com",
        ),
        # Another store: path-style on its endpoint, unless told otherwise.
        ("s3://media?region=us-east-1&endpoint_url=http://127.0.0.1:9000", "http://127.0.0.1:9000"),
        (
            "s3://media?region=auto&endpoint_url=https://store.example.com&addressing_style=virtual",
            "https://media.store.example.com",
        ),
        (
            "s3://media/p?region=auto&endpoint_url=https://store.example.com",
            "https://store.example.com",
        ),
        # A CDN in front: its host (https), or its URL as given.
        ("s3://media?region=eu-west-1&custom_domain=cdn.example.com/m", "https://cdn.example.com"),
        (
            "s3://media?region=eu-west-1&custom_domain=http://127.0.0.1:8600/m",
            "http://127.0.0.1:8600",
        ),
    ],
)
def test_the_csp_origin_is_the_one_the_storage_builds_urls_on(url, origin):
    media = media_storage_parse("MEDIA_STORAGE_URL", url)
    assert media.origin == origin
    # The storage's own URL for a picture (built by botocore; no request is made).
    storage = MediaS3Storage(**media.storage["OPTIONS"])
    built = urlsplit(storage.url("images/2026/12/bench.3f9a1c2e7b4d.jpg"))
    assert f"{built.scheme}://{built.netloc}" == origin
    assert built.path.endswith("/images/2026/12/bench.3f9a1c2e7b4d.jpg")
    assert not built.query  # public and unsigned: no key id, no signature


def test_the_region_may_come_from_aws_region(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    media = media_storage_parse("MEDIA_STORAGE_URL", "s3://gridline-media")
    assert media.storage["OPTIONS"]["region_name"] == "eu-central-1"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://bucket.example.com", "must start with s3:// (got 'https')"),
        ("s3://", "names no valid bucket"),
        ("s3://My_Bucket?region=x", "names no valid bucket ('My_Bucket')"),
        ("s3://media:9000?region=x", "names no valid bucket"),
        ("s3://media/a/../b?region=x", "invalid key prefix"),
        ("s3://media?region=x&acl=public-read", "unknown option 'acl'"),
        ("s3://media", "has no region: add ?region="),
        ("s3://media?region=x&addressing_style=auto", "addressing_style must be path or virtual"),
        ("s3://media?region=x&endpoint_url=ftp://store", "endpoint_url must start with one of"),
        ("s3://media?region=x&endpoint_url=https://store/media", "takes no path or query"),
        ("s3://media?region=x&custom_domain=https://", "custom_domain"),
        ("s3://media.example.com?region=eu-west-1", "a bucket name with dots"),
    ],
)
def test_a_malformed_url_is_refused_with_the_fix(url, message):
    with pytest.raises(ImproperlyConfigured, match="MEDIA_STORAGE_URL") as error:
        media_storage_parse("MEDIA_STORAGE_URL", url)
    assert message in str(error.value)


def test_keys_in_the_url_are_refused_without_repeating_them():
    with pytest.raises(ImproperlyConfigured) as error:
        media_storage_parse("MEDIA_STORAGE_URL", "s3://AKIAEXAMPLE:s3cr3t-value@media?region=x")
    message = str(error.value)
    assert "AWS_S3_ACCESS_KEY_ID" in message and "AWS_S3_SECRET_ACCESS_KEY" in message
    assert "s3cr3t-value" not in message and "AKIAEXAMPLE" not in message


def test_half_a_key_pair_is_refused(monkeypatch):
    monkeypatch.setenv("AWS_S3_ACCESS_KEY_ID", "AKIAEXAMPLE")
    with pytest.raises(ImproperlyConfigured, match="go together"):
        media_storage_parse("MEDIA_STORAGE_URL", "s3://media?region=eu-west-1")


def test_keys_stay_in_the_environment_not_in_settings(monkeypatch):
    monkeypatch.setenv("AWS_S3_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_S3_SECRET_ACCESS_KEY", "s3cr3t-value")
    media = media_storage_parse("MEDIA_STORAGE_URL", "s3://media?region=eu-west-1")
    assert "s3cr3t-value" not in repr(media) and "AKIAEXAMPLE" not in repr(media)
    # django-storages reads them from the environment itself.
    storage = MediaS3Storage(**media.storage["OPTIONS"])
    assert (storage.access_key, storage.secret_key) == ("AKIAEXAMPLE", "s3cr3t-value")


def test_a_malformed_url_stops_the_start():
    result = _run_django({**PRODUCTION_ENV, "MEDIA_STORAGE_URL": "s3://media"}, "check")

    assert result.returncode != 0
    assert "MEDIA_STORAGE_URL has no region: add ?region=" in result.stderr


def test_the_deploy_check_is_clean_with_media_on_a_cdn():
    env = {
        **PRODUCTION_ENV,
        "MEDIA_STORAGE_URL": "s3://gridline-media?region=eu-west-1&custom_domain=media.example.com",
    }
    result = _run_django(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr


def test_the_deploy_check_warns_of_media_over_plain_http():
    env = {
        **PRODUCTION_ENV,
        "MEDIA_STORAGE_URL": "s3://media?region=us-east-1&endpoint_url=http://10.0.0.5:9000",
    }
    result = _run_django(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0
    assert "publisher_storage.W001" in result.stderr
    assert "http://10.0.0.5:9000 over plain HTTP" in result.stderr


# The rules both backends keep, on the local disk.


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def test_stored_names_carry_the_hash_of_their_content(media):
    data = picture()
    name = default_storage.save("images/2026/12/bench.jpg", ContentFile(data))

    digest = hashlib.sha256(data).hexdigest()[:12]
    assert name == f"images/2026/12/bench.{digest}.jpg"
    assert (media / name).read_bytes() == data
    other = default_storage.save("images/2026/12/bench.jpg", ContentFile(picture(colour=(1, 2, 3))))
    assert other != name and unhashed_stem(other) == "bench"


def test_the_same_bytes_twice_get_two_names(media):
    data = picture("PNG")
    first = default_storage.save("images/a.png", ContentFile(data))
    second = default_storage.save("images/a.png", ContentFile(data))

    assert first != second and unhashed_stem(first) == unhashed_stem(second) == "a"
    default_storage.delete(first)
    assert default_storage.exists(second)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("images/page.html", picture()),
        ("images/page.jpg", b"<html><script>alert(1)</script></html>"),
        ("images/shape.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>"),
        ("images/mislabelled.png", picture("JPEG")),
        ("images/anim.gif", picture("GIF")),
    ],
)
def test_anything_but_a_picture_under_its_own_name_is_refused(media, name, data):
    with pytest.raises(NotAPicture):
        default_storage.save(name, ContentFile(data))
    assert not any(media.rglob("*.*"))


def test_a_long_name_keeps_its_hash_within_the_field(media):
    name = default_storage.save("covers/2026/12/" + "x" * 200 + ".jpg", ContentFile(picture()), 100)
    assert len(name) <= 100 - 8 and unhashed_stem(name).startswith("x")
    assert picture_type(name, picture()) == "image/jpeg"


def test_names_and_types():
    assert hashed_name("a/b.JPG", "0123456789abcdef") == "a/b.0123456789ab.jpg"
    assert unhashed_stem("a/b.0123456789ab.jpg") == "b"
    assert unhashed_stem("a/b_Ab3dE9x.0123456789ab.jpg") == "b"
    assert unhashed_stem("a/bench-480w.jpg") == "bench-480w"
    assert picture_type("x.webp", picture("WEBP")) == "image/webp"
    assert picture_type("x.webp", picture("PNG")) is None


def test_the_default_storage_is_the_local_disk_in_the_tests():
    assert type(storages["default"]).__name__ == "MediaFileSystemStorage"


@pytest.mark.django_db
def test_a_portrait_named_for_another_format_is_refused_with_a_message(media):
    author = UserFactory(is_staff=True, display_name="Ada Author")
    data = {
        "email": author.email,
        "display_name": author.display_name,
        "date_joined": author.date_joined.strftime("%Y-%m-%d %H:%M:%S"),
        "bio": "A bio.",
    }
    png_as_jpg = SimpleUploadedFile("portrait.jpg", picture("PNG"), content_type="image/jpeg")
    form = AdminUserChangeForm(data, {"portrait": png_as_jpg}, instance=author)

    assert not form.is_valid()
    assert "whose name ends in its format" in str(form.errors["portrait"])
