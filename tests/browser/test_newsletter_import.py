"""An editor imports newsletter subscribers from the admin: the link on the subscribers'
list, the upload, the dry run's report, the import, and a progress page that follows a
running import by itself (no script), all under the site's CSP."""

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import NewsletterImport, NewsletterSubscriber
from tests.support.factories import PASSWORD, NewsletterSubscriberFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DATA = Path(__file__).parents[1] / "accounts" / "data"


def _log_in(page: Page, live_server, next_path: str) -> None:
    UserFactory(email="ed@example.com", is_staff=True, is_superuser=True)
    page.goto(f"{live_server.url}/admin/login/?next={next_path}")
    page.get_by_label("Email").fill("ed@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_editor_checks_a_file_then_imports_it(live_server, page: Page, screenshot):
    NewsletterSubscriberFactory(email="left@example.com", unsubscribed_at=timezone.now())
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text))
    _log_in(page, live_server, "/admin/accounts/newslettersubscriber/")

    page.get_by_role("link", name="Import subscribers").click()
    expect(page.get_by_role("heading", name="Import subscribers")).to_be_visible()
    page.get_by_label("CSV export").set_input_files(str(DATA / "substack-emails.csv"))
    page.get_by_label("Keep the consent the source recorded").check()
    screenshot("newsletter-import-form")
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_role("heading", name="Dry run: what the import would do")).to_be_visible()
    counts = page.get_by_role("table", name="Rows by outcome")
    expect(counts.get_by_role("row", name="Imported")).to_contain_text("2")
    rejected = page.get_by_role("table", name="Rows not imported")
    expect(rejected).to_contain_text("not-an-address")
    expect(rejected).to_contain_text("Unsubscribed here; an import never resubscribes")
    assert NewsletterSubscriber.objects.count() == 1
    with page.expect_download() as download:
        page.get_by_role("link", name="Download every row not imported (CSV)").click()
    assert download.value.suggested_filename.endswith("-not-imported.csv")
    screenshot("newsletter-import-dry-run")

    page.get_by_role("button", name="Import 2 subscribers").click()

    expect(page.get_by_role("heading", name="Imported")).to_be_visible()
    expect(page.locator(".import-summary")).to_have_text(
        "2 subscribers added. 5 rows not imported."
    )
    assert NewsletterSubscriber.objects.receiving().count() == 2
    screenshot("newsletter-import-done")
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p]


def test_progress_page_follows_a_running_import_without_script(live_server, browser, screenshot):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    job = NewsletterImport.objects.create(
        file_name="members.csv", content=b"x", source_format="ghost", consent="confirm",
        status=NewsletterImport.Status.IMPORTING, total_rows=4000, processed_rows=1000,
        report={},
    )  # fmt: skip
    _log_in(page, live_server, f"/admin/accounts/newslettersubscriber/import/{job.pk}/")

    bar = page.locator("progress")
    expect(bar).to_have_attribute("value", "1000")
    expect(bar).to_have_attribute("max", "4000")
    screenshot("newsletter-import-progress", target=page)

    NewsletterImport.objects.filter(pk=job.pk).update(processed_rows=3000)
    expect(bar).to_have_attribute("value", "3000", timeout=10_000)
    NewsletterImport.objects.filter(pk=job.pk).update(
        status=NewsletterImport.Status.DONE, processed_rows=4000,
        report={"total": 4000, "counts": {"imported": 3990, "invalid-email": 10},
                "first_rejected": [[7, "nobody@", "invalid-email", "Enter a valid address."]]},
    )  # fmt: skip

    expect(page.get_by_role("heading", name="Imported")).to_be_visible(timeout=10_000)
    expect(page.locator(".import-summary")).to_contain_text("3990 subscribers added")
    context.close()
