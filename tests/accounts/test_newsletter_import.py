"""Importing newsletter subscribers from Substack, Mailchimp and Ghost exports: the rules
(accounts/newsletter/importing.py) and the `import_newsletter` command, on the sample files
in tests/accounts/data/."""

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import NewsletterSubscriber
from accounts.newsletter.importing import (
    MAX_ROWS,
    ConsentMode,
    ImportFileError,
    Outcome,
    SourceFormat,
    detect_format,
    newsletter_import,
)
from accounts.newsletter.services import newsletter_confirm
from tests.support.factories import NewsletterSubscriberFactory

pytestmark = pytest.mark.django_db

DATA = Path(__file__).parent / "data"


def _file(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _import(name: str, **options) -> object:
    options.setdefault("consent", ConsentMode.PRESERVE)
    return newsletter_import(data=_file(name), file_name=name, **options)


def _outcomes(report) -> dict[str, str]:
    return {row.email: row.outcome for row in report.rejected}


@pytest.fixture
def unsubscribed_here():
    return NewsletterSubscriberFactory(email="left@example.com", unsubscribed_at=timezone.now())


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("substack-emails.csv", SourceFormat.SUBSTACK),
        ("mailchimp-subscribed.csv", SourceFormat.MAILCHIMP),
        ("mailchimp-unsubscribed.csv", SourceFormat.MAILCHIMP),
        ("mailchimp-cleaned.csv", SourceFormat.MAILCHIMP),
        ("ghost-members.csv", SourceFormat.GHOST),
    ],
)
def test_each_export_is_known_by_its_header(name, expected):
    assert _import(name, dry_run=True).source_format == expected


def test_substack_rows_are_judged_one_by_one(unsubscribed_here):
    report = _import("substack-emails.csv")

    assert report.total == 7
    assert report.imported == 2
    assert _outcomes(report) == {
        "not-an-address": Outcome.INVALID_EMAIL,
        "GRACE@example.com": Outcome.DUPLICATE,
        "muted@example.com": Outcome.INACTIVE_AT_SOURCE,
        "x1y2@deletion-request.substack.com": Outcome.INACTIVE_AT_SOURCE,
        "left@example.com": Outcome.UNSUBSCRIBED_HERE,
    }
    ada = NewsletterSubscriber.objects.get(email="ada.lovelace@example.com")
    assert ada.is_receiving
    assert ada.consent_at == datetime(2024, 2, 10, 9, 15, tzinfo=UTC)
    assert ada.consent_source == "import:substack:substack-emails.csv"
    unsubscribed_here.refresh_from_db()
    assert unsubscribed_here.unsubscribed_at is not None and not unsubscribed_here.is_receiving


def test_mailchimp_keeps_the_confirmation_time_and_address():
    report = _import("mailchimp-subscribed.csv")

    assert report.imported == 2
    assert _outcomes(report) == {"bad@@example.org": Outcome.INVALID_EMAIL}
    lin = NewsletterSubscriber.objects.get(email="lin@example.org")
    assert lin.consent_at == datetime(2022, 3, 4, 10, 5, tzinfo=UTC)
    assert lin.consent_ip == "203.0.113.5"
    # Without a confirmation, the opt-in is the consent Mailchimp recorded.
    other = NewsletterSubscriber.objects.get(email="noconfirm@example.org")
    assert other.consent_at == datetime(2021, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert other.consent_ip == "198.51.100.8"


@pytest.mark.parametrize("name", ["mailchimp-unsubscribed.csv", "mailchimp-cleaned.csv"])
def test_mailchimp_unsubscribed_and_cleaned_files_import_nobody(name):
    report = _import(name)

    assert report.imported == 0
    assert report.counts[Outcome.INACTIVE_AT_SOURCE] == 1
    assert not NewsletterSubscriber.objects.exists()


def test_ghost_file_with_bom_and_crlf_and_mixed_case():
    report = _import("ghost-members.csv")

    assert report.imported == 2
    assert _outcomes(report) == {
        "quiet@example.net": Outcome.INACTIVE_AT_SOURCE,
        "deleted@example.net": Outcome.INACTIVE_AT_SOURCE,
        "mixed.case@example.net": Outcome.DUPLICATE,
        "": Outcome.INVALID_EMAIL,
    }
    assert set(NewsletterSubscriber.objects.values_list("email", flat=True)) == {
        "mixed.case@example.net",
        "paid@example.net",
    }


def test_a_dry_run_writes_nothing(unsubscribed_here, django_capture_on_commit_callbacks):
    with (
        CaptureQueriesContext(connection) as queries,
        django_capture_on_commit_callbacks() as callbacks,
    ):
        report = _import("substack-emails.csv", dry_run=True)

    assert report.imported == 2
    writes = [
        q["sql"] for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]  # fmt: skip
    assert writes == [] and callbacks == []
    assert list(NewsletterSubscriber.objects.values_list("email", flat=True)) == [
        "left@example.com"
    ]


def test_importing_twice_adds_nothing_the_second_time():
    first = _import("ghost-members.csv")
    second = _import("ghost-members.csv")

    assert first.imported == 2 and second.imported == 0
    assert second.counts[Outcome.ALREADY_SUBSCRIBED] == 2
    assert NewsletterSubscriber.objects.count() == 2


def test_an_address_here_awaiting_confirmation_is_left_as_it_is():
    pending = NewsletterSubscriberFactory(
        email="grace@example.com", confirmed_at=None, consent_source="home"
    )

    report = _import("substack-emails.csv")

    assert _outcomes(report)["grace@example.com"] == Outcome.AWAITING_CONFIRMATION
    pending.refresh_from_db()
    assert pending.confirmed_at is None and pending.consent_source == "home"


def test_confirm_mode_emails_each_new_subscriber_who_is_confirmed_only_by_the_link(
    mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        report = _import("ghost-members.csv", consent=ConsentMode.CONFIRM)

    assert report.imported == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["mixed.case@example.net", "paid@example.net"]
    subscriber = NewsletterSubscriber.objects.get(email="paid@example.net")
    assert not subscriber.is_receiving and subscriber.awaiting_confirmation
    assert subscriber.consent_source == "import:ghost:ghost-members.csv"
    message = next(m for m in mailoutbox if m.to == ["paid@example.net"])
    token = message.body.split("/newsletter/confirm/")[1].split("/")[0]
    assert newsletter_confirm(token=token) is not None
    subscriber.refresh_from_db()
    assert subscriber.is_receiving


def test_confirmation_tasks_run_twice_send_once(mailoutbox, django_capture_on_commit_callbacks):
    from accounts.tasks import send_newsletter_import_confirmations

    with django_capture_on_commit_callbacks(execute=True):
        _import("ghost-members.csv", consent=ConsentMode.CONFIRM)
    ids = list(NewsletterSubscriber.objects.values_list("pk", flat=True))

    assert send_newsletter_import_confirmations(ids) == 0
    assert len(mailoutbox) == 2


def test_queries_per_batch_are_bounded(django_capture_on_commit_callbacks):
    def rows(count: int) -> bytes:
        lines = ["email,email_disabled,created_at"]
        lines += [f"reader{n}@example.com,false,2024-01-01T00:00:00Z" for n in range(count)]
        return "\n".join(lines).encode()

    def queries_for(count: int, *, consent: ConsentMode) -> int:
        with CaptureQueriesContext(connection) as queries:
            newsletter_import(data=rows(count), file_name="x.csv", consent=consent, batch_size=50)
        NewsletterSubscriber.objects.all().delete()
        return len(queries.captured_queries)

    for consent in ConsentMode:
        two_batches = queries_for(100, consent=consent)
        eight_batches = queries_for(400, consent=consent)
        per_batch = (eight_batches - two_batches) / 6
        # A savepoint, the look-up, the insert and the savepoint's release.
        assert per_batch <= 4, (consent, two_batches, eight_batches)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"name,phone\nAda,123\n", "not a Substack, Mailchimp or Ghost export"),
        (b"email,subscribed\x00\n", "NUL"),
        (b"email,email_disabled\n" + b"\x81\x8d\x90", "could not be read"),
    ],
)
def test_a_bad_file_is_refused_with_a_reason_and_nothing_changes(data, message):
    with pytest.raises(ImportFileError, match=message):
        newsletter_import(data=data, file_name="bad.csv", consent=ConsentMode.PRESERVE)
    assert not NewsletterSubscriber.objects.exists()


def test_a_chosen_format_must_match_the_file():
    with pytest.raises(ImportFileError, match="not a Mailchimp export: the column email address"):
        _import("ghost-members.csv", source_format=SourceFormat.MAILCHIMP)


def test_too_many_rows_are_refused_before_anything_is_written(monkeypatch):
    monkeypatch.setattr("accounts.newsletter.importing.MAX_ROWS", 3)
    with pytest.raises(ImportFileError, match="more than 3 rows"):
        _import("substack-emails.csv")
    assert MAX_ROWS > 3 and not NewsletterSubscriber.objects.exists()


def test_windows_1252_and_semicolons_as_excel_saves_them():
    data = "email;email_disabled;created_at\r\nRene@Exämple.com;false;\r\n".encode("cp1252")

    report = newsletter_import(data=data, file_name="x.csv", consent=ConsentMode.PRESERVE)

    assert report.imported == 1
    subscriber = NewsletterSubscriber.objects.get()
    assert subscriber.email == "rene@xn--exmple-cua.com" and subscriber.consent_at is None


def test_detect_format_knows_nothing_else():
    assert detect_format(["email", "name"]) is None


# The command ---------------------------------------------------------------------------


def test_command_dry_run_prints_the_summary_and_changes_nothing(tmp_path, unsubscribed_here):
    out = io.StringIO()
    rejected = tmp_path / "rejected.csv"

    call_command(
        "import_newsletter", str(DATA / "substack-emails.csv"), "--consent", "preserve",
        "--dry-run", "--rejected-report", str(rejected), stdout=out,
    )  # fmt: skip

    text = out.getvalue()
    assert "Would import 2 of 7 rows (substack export, consent: preserve)." in text
    assert "Unsubscribed here before (never resubscribed) (rejected)" in text
    assert "Dry run: nothing was changed." in text
    assert "rows checked" in text and "[####" in text
    assert NewsletterSubscriber.objects.count() == 1
    header, *rows = list(csv.reader(rejected.open(encoding="utf-8")))
    assert header == ["line", "email", "outcome", "reason"]
    assert rows[0][:3] == ["4", "not-an-address", "invalid-email"]
    assert {row[2] for row in rows} == {
        "invalid-email", "duplicate-in-file", "inactive-at-source", "unsubscribed-here",
    }  # fmt: skip


def test_command_imports_with_the_chosen_format_and_consent(
    mailoutbox, django_capture_on_commit_callbacks
):
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "import_newsletter", str(DATA / "mailchimp-subscribed.csv"), "--format", "mailchimp",
            "--consent", "confirm", stdout=out,
        )  # fmt: skip

    assert "Imported 2 of 3 rows (mailchimp export, consent: confirm)." in out.getvalue()
    assert len(mailoutbox) == 2
    assert not NewsletterSubscriber.objects.receiving().exists()


def test_command_refuses_a_file_it_cannot_import(tmp_path):
    wrong = tmp_path / "contacts.csv"
    wrong.write_text("name,phone\nAda,1\n")

    with pytest.raises(CommandError, match="not a Substack, Mailchimp or Ghost export"):
        call_command("import_newsletter", str(wrong), "--consent", "preserve")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_newsletter", str(tmp_path / "missing.csv"), "--consent", "preserve")


@pytest.mark.slow
def test_a_hundred_thousand_rows_import_in_bulk():
    lines = ["id,email,name,note,subscribed_to_emails,complimentary_plan,stripe_customer_id,"
             "created_at,deleted_at,labels,tiers"]  # fmt: skip
    lines += [
        f"{n:024x},reader{n}@example.com,Reader {n},,true,false,,2024-01-01T00:00:00.000Z,,,"
        for n in range(100_000)
    ]
    data = "\r\n".join(lines).encode()

    with CaptureQueriesContext(connection) as queries:
        report = newsletter_import(data=data, file_name="big.csv", consent=ConsentMode.PRESERVE)

    assert report.imported == 100_000
    assert NewsletterSubscriber.objects.receiving().count() == 100_000
    # 100 batches of 1,000: a look-up and an insert each, inside a savepoint.
    assert len(queries.captured_queries) <= 4 * 100 + 2
