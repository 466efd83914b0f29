"""Author pages show who writes: a portrait (its alt text the display name), the affiliation
and a bio, edited by staff in the admin; the report byline carries the portrait too. An
author's email address, or any part of it, appears nowhere readers look."""

import io
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.forms import AdminUserChangeForm
from accounts.models import PORTRAIT_MAX_BYTES, validate_portrait_size
from tests.support.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _picture(name: str = "portrait.png", *, size: int = 240, fmt: str = "PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (40, 80, 120)).save(buffer, fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def _author(**fields):
    author = UserFactory(
        email="nia.writer@newsroom.example", display_name="Nia Writer", slug="nia-writer", **fields
    )
    ReportFactory(author=author, title="A report by Nia")
    return author


def test_author_page_shows_portrait_affiliation_and_bio(client, media):
    author = _author(
        company="Gridline Research",
        bio="Nia covers heat pumps.\n\nShe was an installer for ten years.",
        portrait=_picture(),
    )

    page = client.get("/authors/nia-writer/").content.decode()

    assert (
        f'<img class="author-profile__portrait" src="{author.portrait.url}" width="112" '
        'height="112" alt="Nia Writer">'
    ) in page
    assert "<p>Nia covers heat pumps.</p>" in page
    assert "<p>She was an installer for ten years.</p>" in page
    assert "Gridline Research" in page
    assert (author.portrait_width, author.portrait_height) == (240, 240)


def test_report_byline_shows_the_portrait_beside_the_name(client, media):
    author = _author(portrait=_picture())
    report = author.reports.get()

    page = client.get(report.get_absolute_url()).content.decode()

    # Beside the name the picture adds nothing a screen reader should read twice.
    assert (
        f'<img class="report__portrait" src="{author.portrait.url}" width="40" height="40" alt="">'
        in page
    )
    assert '<a class="author" href="/authors/nia-writer/">Nia Writer</a>' in page


def test_an_author_without_a_portrait_or_bio_still_has_a_page(client):
    _author()

    page = client.get("/authors/nia-writer/").content.decode()

    assert "author-profile__portrait" not in page and "author-profile__bio" not in page
    assert "<h1" in page and "Nia Writer" in page


def test_a_new_bio_or_portrait_shows_at_once_on_cached_pages(client, media):
    author = _author(bio="The first bio.")
    report = author.reports.get()
    assert "The first bio." in client.get("/authors/nia-writer/").content.decode()
    assert 'class="report__portrait"' not in client.get(report.get_absolute_url()).content.decode()

    author.bio = "The second bio."
    author.portrait = _picture()
    author.save()

    assert "The second bio." in client.get("/authors/nia-writer/").content.decode()
    assert 'class="report__portrait"' in client.get(report.get_absolute_url()).content.decode()


def test_portraits_are_validated_like_covers(media):
    with pytest.raises(ValidationError, match="at most 2 MB"):
        validate_portrait_size(SimpleUploadedFile("big.png", b"x" * (PORTRAIT_MAX_BYTES + 1)))
    author = _author()
    data = {
        "email": author.email,
        "display_name": author.display_name,
        "date_joined": author.date_joined.strftime("%Y-%m-%d %H:%M:%S"),
        "bio": "A bio.",
    }

    not_an_image = SimpleUploadedFile("portrait.png", b"not an image", content_type="image/png")
    form = AdminUserChangeForm(data, {"portrait": not_an_image}, instance=author)
    assert not form.is_valid()
    assert "Upload a valid image" in str(form.errors["portrait"])
    gif = _picture("portrait.gif", fmt="GIF")
    form = AdminUserChangeForm(data, {"portrait": gif}, instance=author)
    assert not form.is_valid()
    assert "not allowed" in str(form.errors["portrait"])
    assert AdminUserChangeForm(data, {"portrait": _picture()}, instance=author).is_valid()


def test_staff_edit_the_bio_and_portrait_in_the_admin(client_for):
    admin = client_for(UserFactory(is_staff=True, is_superuser=True))
    author = _author()

    page = admin.get(reverse("admin:accounts_user_change", args=[author.pk])).content.decode()

    assert "Author page" in page
    assert 'name="bio"' in page and 'name="portrait"' in page
    assert 'enctype="multipart/form-data"' in page


def test_an_author_without_a_display_name_never_shows_part_of_their_email(client, settings):
    author = UserFactory(email="jo.private@newsroom.example", display_name="", slug="author-7")
    report = ReportFactory(author=author, title="Unsigned report")

    pages = [
        client.get(report.get_absolute_url()).content.decode(),
        client.get("/authors/author-7/").content.decode(),
        client.get("/").content.decode(),
        client.get("/feed/").content.decode(),
        client.get("/feed/atom/").content.decode(),
    ]

    for page in pages:
        assert "jo.private" not in page
    assert f'By <a class="author" href="/authors/author-7/">{settings.SITE_NAME}</a>' in pages[0]
    json_ld = json.loads(
        re.search(r'<script type="application/ld\+json">(.*?)</script>', pages[0], re.S).group(1)
    )
    assert json_ld["author"]["name"] == settings.SITE_NAME
