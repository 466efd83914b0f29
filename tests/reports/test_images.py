"""The image library: processing at upload (renditions, metadata stripped, bad files
refused), and library images in rendered Markdown."""

import io

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from reports.images.processing import ImageRejected
from reports.images.services import image_create, images_delete
from reports.models import ReportImage
from reports.rendering import email_fragment, render_markdown

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def jpeg_with_gps(width: int = 2000, height: int = 1000, *, orientation: int = 1) -> bytes:
    """A JPEG as a phone writes it: EXIF with a GPS position, a camera model, an orientation."""
    image = Image.new("RGB", (width, height), (200, 40, 40))
    # The left half red, the right half blue: a rotation shows in where the blue went.
    image.paste((40, 40, 200), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[0x0110] = "Phone X"  # Model
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def stored_files(root) -> list:
    return sorted(path for path in root.rglob("*") if path.is_file())


def assert_no_metadata(name: str) -> Image.Image:
    with default_storage.open(name, "rb") as file:
        image = Image.open(io.BytesIO(file.read()))
        image.load()
    assert not image.getexif(), name
    assert not image.getexif().get_ifd(GPS_IFD), name
    assert "exif" not in image.info and "icc_profile" not in image.info, name
    assert "xmp" not in image.info and "XML:com.adobe.xmp" not in image.info, name
    return image


def test_upload_stores_a_clean_original_and_renditions_in_webp_and_jpeg(media):
    image = image_create(file=upload(jpeg_with_gps()), alt="A red and blue field", caption="")

    assert (image.width, image.height) == (2000, 1000)
    items = image.renditions["items"]
    assert [item["width"] for item in items] == [480, 960, 1600]
    assert [item["height"] for item in items] == [240, 480, 800]
    for item in items:
        webp = assert_no_metadata(item["webp"])
        fallback = assert_no_metadata(item["fallback"])
        assert (webp.format, fallback.format) == ("WEBP", "JPEG")
        assert webp.size == fallback.size == (item["width"], item["height"])
    original = assert_no_metadata(image.file.name)
    assert original.format == "JPEG" and original.size == (2000, 1000)
    assert len(stored_files(media)) == 1 + 2 * 3


def test_orientation_is_applied_before_the_metadata_goes(media):
    # Orientation 6: the camera was held upright, so the stored picture is turned 90°.
    image = image_create(file=upload(jpeg_with_gps(800, 400, orientation=6)), alt="Turned")

    assert (image.width, image.height) == (400, 800)
    original = assert_no_metadata(image.file.name)
    assert original.size == (400, 800)
    top, bottom = original.getpixel((200, 100)), original.getpixel((200, 700))
    assert top[0] > top[2] and bottom[2] > bottom[0]  # red on top, blue below


def test_a_small_image_is_never_upscaled(media):
    buffer = io.BytesIO()
    Image.new("RGBA", (300, 200), (0, 0, 0, 0)).save(buffer, "PNG")
    image = image_create(file=upload(buffer.getvalue(), "dot.png"), alt="Transparent")

    items = image.renditions["items"]
    assert [(item["width"], item["height"]) for item in items] == [(300, 200)]
    assert image.renditions["fallback"] == "png"
    assert assert_no_metadata(items[0]["fallback"]).format == "PNG"


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "x.svg",
         "not an image we can read"),
        (b"GIF89a" + b"\0" * 100, "x.gif", "not an image we can read"),
        (jpeg_with_gps()[:400], "cut.jpg", "not an image we can read"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_usable_image_is_refused_and_nothing_stored(
    media, data, name, message
):
    with pytest.raises(ImageRejected, match=message):
        image_create(file=upload(data, name), alt="Something")
    assert stored_files(media) == []
    assert not ReportImage.objects.exists()


def test_a_gif_is_refused_by_format(media):
    buffer = io.BytesIO()
    Image.new("RGB", (10, 10)).save(buffer, "GIF")
    with pytest.raises(ImageRejected, match="JPEG, PNG or WebP"):
        image_create(file=upload(buffer.getvalue(), "x.gif"), alt="A gif")
    assert stored_files(media) == []


def test_a_decompression_bomb_is_refused_before_decoding(media):
    # A 10,000 x 10,000 PNG of one colour compresses to a few KB.
    buffer = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(buffer, "PNG")
    assert len(buffer.getvalue()) < 100_000
    with pytest.raises(ImageRejected, match="too many pixels"):
        image_create(file=upload(buffer.getvalue(), "bomb.png"), alt="A bomb")
    assert stored_files(media) == []


def test_an_oversized_file_and_a_missing_alt_text_are_refused(media):
    big = SimpleUploadedFile("big.jpg", b"\xff" * (8 * 1024 * 1024 + 1))
    with pytest.raises(ImageRejected, match="at most 8 MB"):
        image_create(file=big, alt="Big")
    with pytest.raises(ImageRejected, match="alt text"):
        image_create(file=upload(jpeg_with_gps()), alt="   ")
    assert stored_files(media) == []


def test_deleting_an_image_removes_its_files(media):
    image = image_create(file=upload(jpeg_with_gps()), alt="Doomed")
    images_delete(images=ReportImage.objects.filter(pk=image.pk))
    assert stored_files(media) == []


# Rendering -----------------------------------------------------------------------------


def test_a_library_image_renders_as_a_figure_with_webp_and_fallback_srcsets(media):
    image = image_create(file=upload(jpeg_with_gps()), alt="Library alt", caption="Lib caption")
    html = render_markdown(f'Intro.\n\n![Bench at noon](image:{image.pk} "Our bench")\n')

    figure = html[html.index("<figure") : html.index("</figure>")]
    assert '<figure class="image">' in figure
    assert '<source type="image/webp" srcset="' in figure
    for item in image.renditions["items"]:
        assert f"{default_storage.url(item['webp'])} {item['width']}w" in figure
        assert f"{default_storage.url(item['fallback'])} {item['width']}w" in figure
    assert 'sizes="' in figure
    assert 'width="2000" height="1000" alt="Bench at noon"' in figure
    assert 'loading="lazy"' in figure and 'decoding="async"' in figure
    assert "<figcaption>Our bench</figcaption>" in figure


def test_a_library_image_without_title_takes_the_library_caption_and_alt(media):
    image = image_create(file=upload(jpeg_with_gps()), alt="Library alt", caption="Lib caption")
    html = render_markdown(f"![](image:{image.pk})")
    assert 'alt="Library alt"' in html and "<figcaption>Lib caption</figcaption>" in html


def test_an_unknown_library_image_renders_its_alt_text_only(db):
    html = render_markdown('Before.\n\n![A chart that is gone](image:999999 "Gone")\n')
    assert "<img" not in html and "<picture" not in html and "image:" not in html
    assert "A chart that is gone" in html


def test_library_images_are_read_in_one_query(media, django_assert_num_queries):
    first = image_create(file=upload(jpeg_with_gps()), alt="One")
    second = image_create(file=upload(jpeg_with_gps()), alt="Two")
    with django_assert_num_queries(1):
        html = render_markdown(f"![a](image:{first.pk})\n\n![b](image:{second.pk}) and text")
    assert html.count("<picture") == 2
    with django_assert_num_queries(0):
        render_markdown("![foreign](https://example.org/x.png)")


def test_the_sanitizer_still_strips_what_editors_cannot_write(media):
    image = image_create(file=upload(jpeg_with_gps()), alt="Safe")
    html = render_markdown(
        f'![x" onerror="alert(1)](image:{image.pk} "<script>alert(2)</script>")\n\n'
        '<picture><source srcset="https://evil.example/x.webp"></picture>\n\n'
        "![y](javascript:alert(3))"
    )
    assert "onerror=" not in html.replace("onerror=&quot;", "")
    assert "<script" not in html and 'src="javascript:' not in html
    assert "<figcaption>&lt;script&gt;alert(2)&lt;/script&gt;</figcaption>" in html
    # The editor's own tags stay text.
    assert "&lt;picture&gt;" in html and '<source srcset="https://evil' not in html
    assert 'alt="x&quot; onerror=&quot;alert(1)"' in html


def test_images_not_from_the_library_stay_plain(db):
    html = render_markdown('![Chart](/static/demo/x.svg "Weighted")')
    assert "<picture" not in html and "srcset" not in html
    assert '<img src="/static/demo/x.svg"' in html


def test_an_email_gets_the_fallback_image_alone_with_an_absolute_address(media):
    image = image_create(file=upload(jpeg_with_gps()), alt="Mail")
    html = email_fragment(render_markdown(f"![Mail](image:{image.pk})"),
                          base_url="https://gridline.example/reports/x/")  # fmt: skip
    assert "<picture" not in html and "<source" not in html and "srcset" not in html
    assert 'src="https://gridline.example/media/images/' in html
    assert 'width="2000" height="1000"' in html
