"""The admin's live preview script runs under our CSP and shows both readers' views, in the
site's own styles, with a newly chosen cover shown before it is uploaded."""

import io

import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD, ReportFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1200, 630), (200, 80, 30)).save(buffer, "PNG")
    return buffer.getvalue()


def test_editor_types_markdown_and_sees_both_previews_update(live_server, page: Page, screenshot):
    UserFactory(email="ed@example.com", is_staff=True, is_superuser=True)
    report = ReportFactory(
        title="Bench notes", teaser="Old teaser.", body="Old body.", is_free=False
    )
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto(f"{live_server.url}/admin/login/?next=/admin/reports/report/{report.pk}/change/")
    page.get_by_label("Email").fill("ed@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    anonymous = page.frame_locator('[data-preview-variant="anonymous"]').locator("body")
    subscriber = page.frame_locator('[data-preview-variant="subscriber"]').locator("body")
    expect(subscriber).to_contain_text("Old body.")
    expect(subscriber.locator("h1")).to_have_text("Bench notes")

    page.locator("#id_body").fill("## Fresh findings\n\nThe new **paid** paragraph.")
    page.locator("#id_cover_image").set_input_files(
        {"name": "cover.png", "mimeType": "image/png", "buffer": _png()}
    )

    expect(subscriber.get_by_role("heading", name="Fresh findings")).to_be_visible()
    expect(subscriber).to_contain_text("The new paid paragraph.")
    expect(anonymous).to_contain_text("Subscribe to read the full report")
    expect(anonymous).not_to_contain_text("The new paid paragraph.")
    # The chosen file, read on the editor's machine, above the text in both panes.
    for pane in [anonymous, subscriber]:
        cover = pane.locator("[data-preview-cover] img")
        expect(cover).to_be_visible()
        assert cover.get_attribute("src").startswith("data:image/png;base64,")
    # The site's stylesheet applies inside the frame: the title in its type scale.
    size = subscriber.locator("h1").evaluate("h => getComputedStyle(h).fontSize")
    assert float(size.removesuffix("px")) > 28, size
    page.locator(".report-preview").scroll_into_view_if_needed()
    screenshot("admin-preview")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
