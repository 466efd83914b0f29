"""The admin's subscriber import: upload, dry run report, confirmation, progress, summary,
and who may use it. Celery runs eagerly here, after each request's commit."""

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import NewsletterImport, NewsletterSubscriber
from tests.support.factories import NewsletterSubscriberFactory, UserFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"
START = reverse("admin:accounts_newslettersubscriber_import")


@pytest.fixture
def chief(client_for):
    return client_for(UserFactory(email="chief@example.com", is_staff=True, is_superuser=True))


def _upload(client, name="substack-emails.csv", *, data=None, consent="preserve", fmt="auto"):
    content = data if data is not None else (DATA / name).read_bytes()
    return client.post(
        START,
        {"file": SimpleUploadedFile(name, content, "text/csv"), "source_format": fmt,
         "consent": consent},
    )  # fmt: skip


def _job_url(job: NewsletterImport) -> str:
    return reverse("admin:accounts_newslettersubscriber_import_job", args=[job.pk])


def test_the_subscriber_list_links_to_the_import(chief):
    page = chief.get(reverse("admin:accounts_newslettersubscriber_changelist"))

    assert f'href="{START}">Import subscribers</a>' in page.content.decode()


def test_dry_run_report_then_confirm_then_summary(chief, django_capture_on_commit_callbacks):
    NewsletterSubscriberFactory(email="left@example.com", unsubscribed_at=timezone.now())

    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(chief)

    job = NewsletterImport.objects.get()
    assert response.status_code == 302 and response["Location"] == _job_url(job)
    assert job.status == NewsletterImport.Status.CHECKED and job.report["total"] == 7
    # The dry run changed nothing.
    assert NewsletterSubscriber.objects.count() == 1
    page = chief.get(_job_url(job)).content.decode()
    assert "Dry run: what the import would do" in page
    assert '<th scope="row">Imported</th><td>2</td>' in page
    assert "not-an-address" in page and "Enter a valid email address" in page
    assert "Unsubscribed here; an import never resubscribes an address" in page
    assert 'value="Import 2 subscribers"' in page
    assert 'http-equiv="refresh"' not in page

    rejected = chief.get(
        reverse("admin:accounts_newslettersubscriber_import_rejected", args=[job.pk])
    )
    header, *rows = list(csv.reader(io.StringIO(rejected.content.decode())))
    assert header == ["line", "email", "outcome", "reason"] and len(rows) == 5

    with django_capture_on_commit_callbacks(execute=True):
        confirm = chief.post(
            reverse("admin:accounts_newslettersubscriber_import_confirm", args=[job.pk])
        )

    assert confirm.status_code == 302
    job.refresh_from_db()
    assert job.status == NewsletterImport.Status.DONE and bytes(job.content) == b""
    assert NewsletterSubscriber.objects.receiving().count() == 2
    summary = chief.get(_job_url(job)).content.decode()
    assert "2 subscribers added. 5 rows not imported." in summary


def test_a_second_confirmation_imports_nothing_more(chief, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _upload(chief, "ghost-members.csv", consent="confirm")
    job = NewsletterImport.objects.get()
    confirm = reverse("admin:accounts_newslettersubscriber_import_confirm", args=[job.pk])
    with django_capture_on_commit_callbacks(execute=True) as first:
        chief.post(confirm)
    with django_capture_on_commit_callbacks(execute=True) as second:
        chief.post(confirm)

    assert len(first) >= 1 and second == []
    assert NewsletterSubscriber.objects.count() == 2


def test_confirm_mode_sends_the_emails(chief, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _upload(chief, "ghost-members.csv", consent="confirm")
    job = NewsletterImport.objects.get()
    assert mailoutbox == []

    with django_capture_on_commit_callbacks(execute=True):
        chief.post(reverse("admin:accounts_newslettersubscriber_import_confirm", args=[job.pk]))

    assert sorted(m.to[0] for m in mailoutbox) == ["mixed.case@example.net", "paid@example.net"]
    assert not NewsletterSubscriber.objects.receiving().exists()
    page = chief.get(_job_url(job)).content.decode()
    assert "each was sent a confirmation email" in page


def test_a_running_import_shows_its_progress_and_refreshes(chief):
    job = NewsletterImport.objects.create(
        file_name="big.csv", content=b"x", source_format="ghost", consent="preserve",
        status=NewsletterImport.Status.IMPORTING, total_rows=4000, processed_rows=1000,
    )  # fmt: skip

    page = chief.get(_job_url(job))

    html = page.content.decode()
    assert "no-store" in page["Cache-Control"]
    assert '<meta http-equiv="refresh" content="2">' in html
    assert 'value="1000" max="4000"' in html and "1000 of 4000 rows" in html


def test_the_pages_query_counts_are_bounded(chief, django_assert_max_num_queries):
    job = NewsletterImport.objects.create(
        file_name="a.csv", content=b"x", source_format="ghost", consent="preserve",
        status=NewsletterImport.Status.CHECKED, total_rows=3,
        report={"total": 3, "counts": {"imported": 3}, "first_rejected": []},
    )  # fmt: skip
    chief.get(START)  # the session and the user, loaded once

    with django_assert_max_num_queries(6):
        assert chief.get(_job_url(job)).status_code == 200
    with django_assert_max_num_queries(6):
        assert chief.get(START).status_code == 200


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,phone\nAda,1\n", "not a Substack, Mailchimp or Ghost export"),
        (b"", "The submitted file is empty"),
        (b"\x00\x01binary", "NUL characters"),
    ],
)
def test_a_bad_file_gets_a_message_and_changes_nothing(chief, data, message):
    response = _upload(chief, "contacts.csv", data=data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not NewsletterImport.objects.exists() and not NewsletterSubscriber.objects.exists()


def test_a_chosen_format_that_does_not_fit_is_explained(chief):
    response = _upload(chief, "ghost-members.csv", fmt="mailchimp")

    assert response.status_code == 400
    assert "This is not a Mailchimp export" in response.content.decode()


def test_a_file_over_the_limit_is_refused(chief, monkeypatch):
    monkeypatch.setattr("accounts.newsletter.import_views.MAX_FILE_BYTES", 10)

    response = _upload(chief)

    assert response.status_code == 400 and "at most 0 MB" in response.content.decode()
    assert not NewsletterImport.objects.exists()


def test_uploads_are_rate_limited(chief, monkeypatch):
    from publisher.ratelimit import Limit

    monkeypatch.setattr(
        "accounts.newsletter.import_views.UPLOAD_LIMIT", Limit(1, 3600, "Too many uploads.")
    )
    _upload(chief, data=b"name\nx\n")

    response = _upload(chief)

    assert response.status_code == 429 and "Too many uploads." in response.content.decode()
    assert not NewsletterImport.objects.exists()


def test_the_form_needs_its_csrf_token(client_for):
    from django.test import Client

    staff = UserFactory(email="boss@example.com", is_staff=True, is_superuser=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)

    response = _upload(client)

    assert response.status_code == 403 and not NewsletterImport.objects.exists()


def test_staff_without_the_permission_and_readers_are_kept_out(client_for, free_reader):
    clerk = UserFactory(email="clerk@example.com", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_newslettersubscriber"))
    job = NewsletterImport.objects.create(
        file_name="a.csv", content=b"x", source_format="ghost", consent="preserve",
        status=NewsletterImport.Status.CHECKED,
    )  # fmt: skip
    urls = [START, _job_url(job)]

    for url in urls:
        assert client_for(clerk).get(url).status_code == 403
        assert client_for(free_reader).get(url).status_code == 302  # to the admin's login
    assert _upload(client_for(clerk)).status_code == 403
    confirm = reverse("admin:accounts_newslettersubscriber_import_confirm", args=[job.pk])
    assert client_for(clerk).post(confirm).status_code == 403
    page = client_for(clerk).get(reverse("admin:accounts_newslettersubscriber_changelist"))
    assert "Import subscribers" not in page.content.decode()
    job.refresh_from_db()
    assert job.status == NewsletterImport.Status.CHECKED


def test_cancel_discards_the_checked_file(chief, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _upload(chief)
    job = NewsletterImport.objects.get()

    response = chief.post(
        reverse("admin:accounts_newslettersubscriber_import_cancel", args=[job.pk])
    )

    assert response.status_code == 302 and not NewsletterImport.objects.exists()
    assert not NewsletterSubscriber.objects.exists()


def test_an_unknown_import_is_not_found(chief):
    assert (
        chief.get(reverse("admin:accounts_newslettersubscriber_import_job", args=[999])).status_code
        == 404
    )


def test_the_import_page_lists_recent_imports(chief, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _upload(chief, "ghost-members.csv")

    page = chief.get(START).content.decode()

    job = NewsletterImport.objects.get()
    assert f'href="{_job_url(job)}">ghost-members.csv</a>' in page
    assert "Checked, waiting for confirmation" in page and "chief@example.com" in page


def test_an_unconfirmed_upload_is_discarded_after_a_day(chief, django_capture_on_commit_callbacks):
    with (
        time_machine.travel(timezone.now() - timedelta(days=2)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        _upload(chief, "ghost-members.csv")
    old = NewsletterImport.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        _upload(chief, "substack-emails.csv")

    assert not NewsletterImport.objects.filter(pk=old.pk).exists()
    assert NewsletterImport.objects.count() == 1


def test_a_file_that_fails_in_the_task_says_why_and_is_emptied(chief):
    from accounts.newsletter.importing import newsletter_import_check

    job = NewsletterImport.objects.create(
        file_name="x.csv", content=b"name\nx\n", source_format="auto", consent="preserve",
    )  # fmt: skip

    newsletter_import_check(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == NewsletterImport.Status.FAILED and bytes(job.content) == b""
    page = chief.get(_job_url(job)).content.decode()
    assert "not a Substack, Mailchimp or Ghost export" in page
