"""An editor puts pictures into a new report in the admin: a cover through its upload field
and a photograph dropped onto the body. Readers get renditions (WebP first, with width and
height), the home page and the notification email show the cover, and no stored file
keeps the camera's location."""

import base64
import io
import re

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from PIL import Image
from playwright.sync_api import Page, expect

from reports.models import Report, ReportImage
from tests.reports.test_images import GPS_IFD, jpeg_with_gps
from tests.support.factories import PASSWORD, NewsletterSubscriberFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALT = "The inverter on our bench, wired to the power analyser"


def _drop_image(page: Page, selector: str, data: bytes, name: str) -> None:
    """Drop a file onto an element as a person dragging it from their desktop would."""
    page.evaluate(
        """([selector, encoded, name]) => {
            const bytes = Uint8Array.from(atob(encoded), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
            const target = document.querySelector(selector);
            target.focus();
            const cursor = target.value.indexOf("## Method");
            target.setSelectionRange(cursor, cursor);
            for (const type of ["dragenter", "dragover", "drop"]) {
                const init = { bubbles: true, cancelable: true, dataTransfer: transfer };
                target.dispatchEvent(new DragEvent(type, init));
            }
        }""",
        [selector, base64.b64encode(data).decode(), name],
    )


def _stored_has_no_location(name: str) -> None:
    with default_storage.open(name, "rb") as file:
        image = Image.open(io.BytesIO(file.read()))
    exif = image.getexif()
    assert not exif and not exif.get_ifd(GPS_IFD) and "exif" not in image.info, name


def test_editor_adds_a_cover_and_a_dropped_photo_and_readers_get_renditions(
    live_server, page: Page, new_page, screenshot, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    settings.ROOT_URLCONF = "tests.support.media_urls"
    settings.SITE_URL = live_server.url
    UserFactory(email="ed@example.com", display_name="Ed Editor", is_staff=True, is_superuser=True)
    NewsletterSubscriberFactory(email="reader@example.com")
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/reports/report/add/")
    page.get_by_label("Email").fill("ed@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#id_title").fill("Bench notes: a hybrid inverter up close")
    page.locator("#id_kind").select_option("test")
    page.locator("#id_teaser").fill("What a week on the bench showed.")
    page.locator("#id_body").fill(
        "## Setup\n\nThe inverter on the bench.\n\n## Method\n\nWe measured."
    )
    page.locator("#id_is_free").check()
    page.locator("#id_cover_image").set_input_files(
        {"name": "cover.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps(2400, 1260)}
    )
    page.locator("#id_cover_alt").fill("A red and blue test card")

    # Dropping asks for the alt text, then a caption.
    answers = iter([ALT, "Our bench, week one"])
    page.on("dialog", lambda dialog: dialog.accept(next(answers)))
    _drop_image(page, "#id_body", jpeg_with_gps(), "bench.jpg")
    expect(page.locator(".report-images__status")).to_contain_text("Added bench.jpg")
    image = ReportImage.objects.get()
    body = page.locator("#id_body").input_value()
    assert f"The inverter on the bench.\n\n![{ALT}](image:{image.pk})\n\n## Method" in body

    # The preview panes are frames rendering the page in the site's own styles.
    subscriber_pane = page.locator('[data-preview-variant="subscriber"]')
    subscriber_view = page.frame_locator('[data-preview-variant="subscriber"]')
    expect(subscriber_view.locator("figure.image picture img")).to_have_attribute("alt", ALT)
    subscriber_pane.scroll_into_view_if_needed()
    screenshot("images-admin-preview")

    page.locator("#id_status").select_option("published")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messagelist")).to_contain_text("was added successfully")
    report = Report.objects.get()
    assert report.status == Report.Status.PUBLISHED
    assert list(report.images.all()) == [image]

    reader = new_page()
    reader.goto(f"{live_server.url}{report.get_absolute_url()}")
    figure = reader.locator("figure.image")
    webp = figure.locator('source[type="image/webp"]')
    srcset = webp.get_attribute("srcset")
    hashed = r"\.[0-9a-f]{12}\.webp"  # each name carries its content's hash
    assert re.fullmatch(
        rf"\S+-480w{hashed} 480w, \S+-960w{hashed} 960w, \S+-1600w{hashed} 1600w", srcset
    )
    img = figure.locator("img")
    assert (img.get_attribute("width"), img.get_attribute("height")) == ("2000", "1000")
    assert img.get_attribute("loading") == "lazy"
    expect(figure.locator("figcaption")).to_have_text("Our bench, week one")
    figure.scroll_into_view_if_needed()
    # The browser fetched a WebP rendition, and it decoded.
    reader.wait_for_function(
        "() => { const i = document.querySelector('figure.image img');"
        " return i.complete && i.naturalWidth > 0 && i.currentSrc.endsWith('.webp'); }"
    )
    cover = reader.locator(".report__cover img")
    assert cover.get_attribute("fetchpriority") == "high" and cover.get_attribute("loading") is None
    screenshot("images-report-page", target=reader)

    reader.goto(f"{live_server.url}/")
    lead = reader.locator(".front__lead picture img")
    expect(lead).to_have_attribute("alt", "A red and blue test card")
    reader.wait_for_function(
        "() => { const i = document.querySelector('.front__lead picture img');"
        " return i.complete && i.naturalWidth > 0; }"
    )
    screenshot("images-home", target=reader)

    (notification,) = [m for m in mail.outbox if m.to == ["reader@example.com"]]
    html = next(content for content, kind in notification.alternatives if kind == "text/html")
    src = re.search(
        r'<img src="([^"]+)" width="560" height="294" alt="A red and blue test card"', html
    )
    assert src and src.group(1).startswith(f"{live_server.url}/media/covers/")
    email = new_page()
    email.set_content(html)
    email.wait_for_function("() => [...document.images].every((i) => i.complete && i.naturalWidth)")
    screenshot("images-email", target=email)

    report.refresh_from_db()
    image.refresh_from_db()
    names = [image.file.name, report.cover_image.name] + [
        name
        for renditions in (image.renditions, report.cover_renditions)
        for item in renditions["items"]
        for name in (item["webp"], item["fallback"])
    ]
    for name in names:
        _stored_has_no_location(name)
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
