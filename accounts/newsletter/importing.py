"""Importing newsletter subscribers from Substack's, Mailchimp's and Ghost's exports.

Every rule lives here; the management command, the admin page and the Celery task only call
`newsletter_import` (or `newsletter_import_check` / `newsletter_import_run` for a stored
upload). Each row becomes one outcome:

- imported: a new address, active at the source;
- already subscribed here, or already awaiting confirmation here: skipped, not an error;
- rejected: an unreadable address, a second row for an address earlier in the file, an
  address that unsubscribed here (an unsubscribe is never undone by an import), or one that
  is not active at the source (unsubscribed, cleaned, email disabled, deleted).

The operator chooses the consent: `preserve` keeps the time and address the source recorded
(where its format has them), names the import as the consent's source and confirms the
subscriber; `confirm` sends the double opt-in email, and only the click confirms. A dry run
computes the same report and writes nothing. Running an import twice adds nothing the second
time: what the first added is then "already subscribed" or "awaiting confirmation".

Rows are handled in batches: per batch one query finds the addresses we hold and one insert
adds the new ones, whatever the batch's size.
"""

import csv
import io
import ipaddress
import secrets
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import partial
from itertools import islice

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import NewsletterImport, NewsletterSubscriber, User
from accounts.newsletter.emails import newsletter_confirmation_messages
from accounts.newsletter.services import _hash, newsletter_normalize_email
from publisher.celery import enqueue

# nginx lets 32 MB through to the import's upload (deploy/nginx-app.conf): the file and its form.
MAX_FILE_BYTES = 30 * 1024 * 1024
MAX_ROWS = 200_000
BATCH_SIZE = 1000
# Confirmation emails go out in tasks of this many, so one slow mail server holds up a few
# hundred addresses rather than the whole list, and a retry resends nothing already sent.
CONFIRMATION_BATCH = 200
FIRST_REJECTED = 20
# An upload checked but neither imported nor cancelled is discarded after this long, so
# lists of addresses do not linger in the database.
UNCONFIRMED_KEPT = timedelta(days=1)
CONSENT_SOURCE_LENGTH = 140


class ImportFileError(Exception):
    """A file we cannot import at all: the message says why, for the operator."""


class SourceFormat(StrEnum):
    AUTO = "auto"
    SUBSTACK = "substack"
    MAILCHIMP = "mailchimp"
    GHOST = "ghost"


class ConsentMode(StrEnum):
    PRESERVE = "preserve"
    CONFIRM = "confirm"


class Outcome(StrEnum):
    IMPORTED = "imported"
    ALREADY_SUBSCRIBED = "already-subscribed"
    AWAITING_CONFIRMATION = "awaiting-confirmation"
    INVALID_EMAIL = "invalid-email"
    DUPLICATE = "duplicate-in-file"
    UNSUBSCRIBED_HERE = "unsubscribed-here"
    INACTIVE_AT_SOURCE = "inactive-at-source"


OUTCOME_LABELS = {
    Outcome.IMPORTED: "Imported",
    Outcome.ALREADY_SUBSCRIBED: "Already subscribed here (skipped)",
    Outcome.AWAITING_CONFIRMATION: "Already awaiting confirmation here (skipped)",
    Outcome.INVALID_EMAIL: "Invalid email address",
    Outcome.DUPLICATE: "Duplicate within the file",
    Outcome.UNSUBSCRIBED_HERE: "Unsubscribed here before (never resubscribed)",
    Outcome.INACTIVE_AT_SOURCE: "Not subscribed at the source",
}
# Skipped rows are reported but are not errors: the address already has its own record here.
SKIPPED = frozenset({Outcome.ALREADY_SUBSCRIBED, Outcome.AWAITING_CONFIRMATION})
REJECTED_COLUMNS = ["line", "email", "outcome", "reason"]


@dataclass(frozen=True)
class Layout:
    """What identifies a platform's export and where its fields are (header names folded)."""

    label: str
    email: str
    # Columns whose presence says the file is this platform's export.
    signature: frozenset[str]
    # Consent time and address, first non-empty wins.
    consent_time: tuple[str, ...] = ()
    consent_ip: tuple[str, ...] = ()


LAYOUTS = {
    # Substack's "Total Email List" (signups) and "Subscribers" exports.
    SourceFormat.SUBSTACK: Layout(
        label="Substack",
        email="email",
        signature=frozenset({"email", "email_disabled"}),
        consent_time=("created_at",),
    ),
    # Mailchimp's audience export: a ZIP of subscribed, unsubscribed and cleaned CSV files.
    SourceFormat.MAILCHIMP: Layout(
        label="Mailchimp",
        email="email address",
        signature=frozenset({"email address"}),
        consent_time=("confirm_time", "optin_time"),
        consent_ip=("confirm_ip", "optin_ip"),
    ),
    # Ghost's members export (Members → Export).
    SourceFormat.GHOST: Layout(
        label="Ghost",
        email="email",
        signature=frozenset({"email", "subscribed_to_emails"}),
        consent_time=("created_at",),
    ),
}
# Substack keeps the rows of readers who asked to be deleted, under addresses like this.
SUBSTACK_DELETED_DOMAIN = "@deletion-request.substack.com"


@dataclass(frozen=True)
class SourceRow:
    line: int
    email: str
    consent_at: datetime | None
    consent_ip: str | None
    # Why the source does not send to this address, or "" when it does.
    inactive_reason: str


@dataclass(frozen=True)
class RejectedRow:
    line: int
    email: str
    outcome: Outcome
    reason: str


@dataclass
class ImportReport:
    source_format: SourceFormat
    total: int = 0
    counts: Counter[Outcome] = field(default_factory=Counter)
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.counts[Outcome.IMPORTED]

    def rejected_csv(self) -> str:
        """Every row not imported (skipped ones too), with its reason, as CSV."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(REJECTED_COLUMNS)
        for row in self.rejected:
            writer.writerow([row.line, _csv_safe(row.email), row.outcome.value, row.reason])
        return out.getvalue()

    def as_json(self) -> dict:
        """Counts and the first rejected rows, for the admin page."""
        return {
            "format": self.source_format.value,
            "total": self.total,
            "counts": {outcome.value: self.counts[outcome] for outcome in Outcome},
            "first_rejected": [
                [r.line, r.email, r.outcome.value, r.reason] for r in self.rejected[:FIRST_REJECTED]
            ],
        }


def _csv_safe(value: str) -> str:
    # A spreadsheet runs a cell starting with one of these as a formula.
    return f"'{value}" if value[:1] in ("=", "+", "-", "@") else value


# Reading the file ----------------------------------------------------------------------


def _decode(data: bytes) -> str:
    """The file's text. Exports are UTF-8 (often with a BOM, as Excel saves them); a file
    re-saved by Excel may be UTF-16 or Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFileError(
                "The file says it is UTF-16 but is not readable as such."
            ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ImportFileError(
            "The file's characters could not be read. Save it as CSV (UTF-8) and try again."
        ) from None


def _delimiter(first_line: str) -> str:
    # Excel in many European locales saves CSV with semicolons; "Unicode text" uses tabs.
    return max([",", ";", "\t"], key=first_line.count)


def _read_table(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The folded header and the (line number, cells) of each non-empty row."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(
            f"The file is {len(data) / 2**20:.1f} MB; at most {MAX_FILE_BYTES // 2**20} MB can "
            "be imported at once. Split it into smaller files."
        )
    text = _decode(data)
    if "\x00" in text:
        raise ImportFileError("The file contains NUL characters: it is not a CSV export.")
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise ImportFileError("The file is empty: it has no header row.")
        rows: list[tuple[int, list[str]]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise ImportFileError(
                    f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files."
                )
            rows.append((reader.line_num, cells))
    except csv.Error as error:
        raise ImportFileError(
            f"The file is not valid CSV (line {reader.line_num}): {error}."
        ) from None
    return [cell.strip().lstrip("\ufeff").casefold() for cell in header], rows


def detect_format(header: Sequence[str]) -> SourceFormat | None:
    """The platform whose export has this (folded) header, if any."""
    columns = set(header)
    # Mailchimp's header is the most distinctive; Ghost's before Substack's, whose
    # signature is the smaller.
    for fmt in (SourceFormat.MAILCHIMP, SourceFormat.GHOST, SourceFormat.SUBSTACK):
        if LAYOUTS[fmt].signature <= columns:
            return fmt
    return None


def _resolve_format(header: list[str], requested: SourceFormat) -> SourceFormat:
    if requested == SourceFormat.AUTO:
        detected = detect_format(header)
        if detected is None:
            shown = ", ".join(header[:8]) + (", …" if len(header) > 8 else "")
            raise ImportFileError(
                "This is not a Substack, Mailchimp or Ghost export we know: its header is "
                f"“{shown}”. Substack's has email and email_disabled, Mailchimp's "
                "Email Address, Ghost's email and subscribed_to_emails."
            )
        return detected
    missing = sorted(LAYOUTS[requested].signature - set(header))
    if missing:
        raise ImportFileError(
            f"This is not a {LAYOUTS[requested].label} export: the column"
            f"{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"{'are' if len(missing) > 1 else 'is'} missing."
        )
    return requested


def _parse_time(value: str, now: datetime) -> datetime | None:
    """ISO 8601 (Ghost, Substack) or Mailchimp's `YYYY-MM-DD HH:MM:SS`, which carries no
    offset and is taken as UTC. Unreadable or future times count as unknown."""
    value = value.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment if moment <= now else None


def _parse_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _true(value: str) -> bool:
    return value.strip().casefold() in {"true", "1", "yes"}


def _inactive_reason(fmt: SourceFormat, cell: Callable[[str], str], email: str) -> str:
    if fmt == SourceFormat.MAILCHIMP:
        if cell("unsub_time"):
            return "Unsubscribed in Mailchimp"
        if cell("clean_time"):
            return "Cleaned in Mailchimp (the address bounced)"
    elif fmt == SourceFormat.GHOST:
        if cell("deleted_at"):
            return "Deleted in Ghost"
        if not _true(cell("subscribed_to_emails")):
            return "Not subscribed to emails in Ghost"
    elif fmt == SourceFormat.SUBSTACK:
        if email.strip().casefold().endswith(SUBSTACK_DELETED_DOMAIN):
            return "Asked Substack to delete their account"
        if _true(cell("email_disabled")):
            return "Email disabled in Substack"
    return ""


def _source_rows(
    fmt: SourceFormat, header: list[str], rows: list[tuple[int, list[str]]], now: datetime
) -> Iterator[SourceRow]:
    layout = LAYOUTS[fmt]
    index = {name: position for position, name in reversed(list(enumerate(header)))}

    for line, cells in rows:

        def cell(name: str, cells: list[str] = cells) -> str:
            position = index.get(name)
            return cells[position].strip() if position is not None and position < len(cells) else ""

        email = cell(layout.email)
        consent_at = next(
            (t for name in layout.consent_time if (t := _parse_time(cell(name), now))), None
        )
        consent_ip = next((ip for name in layout.consent_ip if (ip := _parse_ip(cell(name)))), None)
        yield SourceRow(
            line=line,
            email=email,
            consent_at=consent_at,
            consent_ip=consent_ip,
            inactive_reason=_inactive_reason(fmt, cell, email),
        )


# Applying the rules ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Accepted:
    row: SourceRow
    email: str


def newsletter_import(
    *,
    data: bytes,
    file_name: str,
    source_format: SourceFormat = SourceFormat.AUTO,
    consent: ConsentMode,
    dry_run: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    now: datetime | None = None,
) -> ImportReport:
    """Import (or, with `dry_run`, only judge) every row of a platform's export.

    Raises ImportFileError, before anything is written, for a file that cannot be imported
    at all (too large, unreadable, not one of the three layouts). `on_progress(done, total)`
    is called after each batch.
    """
    now = now or timezone.now()
    header, rows = _read_table(data)
    fmt = _resolve_format(header, source_format)
    report = ImportReport(source_format=fmt, total=len(rows))
    source = f"import:{fmt.value}:{file_name}"[:CONSENT_SOURCE_LENGTH]
    seen: dict[str, int] = {}
    done = 0
    if on_progress:
        on_progress(0, report.total)
    source_rows = _source_rows(fmt, header, rows, now)
    while batch := list(islice(source_rows, batch_size)):
        accepted = _judge_in_file(batch, seen, report)
        for _attempt in range(3):
            try:
                _apply_batch(
                    accepted, report=report, consent=consent, source=source,
                    dry_run=dry_run, now=now,
                )  # fmt: skip
                break
            except IntegrityError:
                # A reader signed one of these addresses up while the batch was being
                # written: judge the batch again, now that their row exists.
                continue
        else:
            raise ImportFileError(
                "The subscriber list kept changing during the import; run it again."
            )
        done += len(batch)
        if on_progress:
            on_progress(done, report.total)
    report.rejected.sort(key=lambda r: r.line)
    return report


def _reject(report: ImportReport, row: SourceRow, outcome: Outcome, reason: str) -> None:
    report.counts[outcome] += 1
    report.rejected.append(RejectedRow(row.line, row.email, outcome, reason))


def _judge_in_file(
    batch: list[SourceRow], seen: dict[str, int], report: ImportReport
) -> list[_Accepted]:
    """The rules that need only the file: a readable address, its first row, active there."""
    accepted = []
    for row in batch:
        try:
            email = newsletter_normalize_email(row.email)
        except ValidationError as error:
            _reject(report, row, Outcome.INVALID_EMAIL, error.messages[0])
            continue
        if email in seen:
            _reject(report, row, Outcome.DUPLICATE, f"The same address as line {seen[email]}")
            continue
        seen[email] = row.line
        if row.inactive_reason:
            _reject(report, row, Outcome.INACTIVE_AT_SOURCE, row.inactive_reason)
            continue
        accepted.append(_Accepted(row=row, email=email))
    return accepted


def _apply_batch(
    accepted: list[_Accepted],
    *,
    report: ImportReport,
    consent: ConsentMode,
    source: str,
    dry_run: bool,
    now: datetime,
) -> None:
    """Judge a batch against the subscribers we hold and add the new ones: one query to
    find them, one to insert. The report changes only once the batch is written, so a
    batch judged again after a conflict counts once."""
    with transaction.atomic():
        known = {
            email: (confirmed_at, unsubscribed_at)
            for email, confirmed_at, unsubscribed_at in NewsletterSubscriber.objects.filter(
                email__in=[a.email for a in accepted]
            ).values_list("email", "confirmed_at", "unsubscribed_at")
        }
        outcomes: list[tuple[_Accepted, Outcome]] = []
        new: list[NewsletterSubscriber] = []
        for item in accepted:
            state = known.get(item.email)
            if state is None:
                outcomes.append((item, Outcome.IMPORTED))
                new.append(_new_subscriber(item, consent=consent, source=source, now=now))
            elif state[1] is not None:
                outcomes.append((item, Outcome.UNSUBSCRIBED_HERE))
            elif state[0] is not None:
                outcomes.append((item, Outcome.ALREADY_SUBSCRIBED))
            else:
                outcomes.append((item, Outcome.AWAITING_CONFIRMATION))
        if new and not dry_run:
            created = NewsletterSubscriber.objects.bulk_create(new)
            if consent == ConsentMode.CONFIRM:
                ids = [subscriber.pk for subscriber in created]
                for start in range(0, len(ids), CONFIRMATION_BATCH):
                    transaction.on_commit(
                        partial(
                            enqueue,
                            "accounts.tasks.send_newsletter_import_confirmations",
                            ids[start : start + CONFIRMATION_BATCH],
                        )
                    )
    reasons = {
        Outcome.UNSUBSCRIBED_HERE: "Unsubscribed here; an import never resubscribes an address",
        Outcome.ALREADY_SUBSCRIBED: "Already receives the emails",
        Outcome.AWAITING_CONFIRMATION: "Signed up here and has not confirmed yet",
    }
    for item, outcome in outcomes:
        if outcome == Outcome.IMPORTED:
            report.counts[outcome] += 1
        else:
            _reject(report, item.row, outcome, reasons[outcome])


def _new_subscriber(
    item: _Accepted, *, consent: ConsentMode, source: str, now: datetime
) -> NewsletterSubscriber:
    if consent == ConsentMode.PRESERVE:
        # The source's own record of the consent: when (and from where) the reader asked.
        return NewsletterSubscriber(
            email=item.email,
            consent_at=item.row.consent_at,
            consent_ip=item.row.consent_ip,
            consent_source=source,
            confirmed_at=now,
        )
    # Asked again: the consent that counts is the click on the link we are about to send.
    return NewsletterSubscriber(email=item.email, consent_at=now, consent_source=source)


# The confirmation emails of an import ------------------------------------------------------


def newsletter_import_send_confirmations(*, subscriber_ids: list[int]) -> int:
    """Send the double opt-in email to imported subscribers who have not had one; the count.

    Each link is made and its hash stored, under a row lock, before the email goes out, so a
    second run of the same task finds the links sent and sends nothing (a worker lost in
    between leaves those addresses without an email rather than mailing them twice).
    """
    now = timezone.now()
    with transaction.atomic():
        subscribers = list(
            NewsletterSubscriber.objects.select_for_update(skip_locked=True).filter(
                pk__in=subscriber_ids,
                confirmation_sent_at__isnull=True,
                confirmed_at__isnull=True,
                unsubscribed_at__isnull=True,
            )
        )
        tokens = {}
        for subscriber in subscribers:
            token = secrets.token_urlsafe(32)
            tokens[subscriber.pk] = token
            subscriber.confirmation_token_hash = _hash(token)
            subscriber.confirmation_sent_at = now
        NewsletterSubscriber.objects.bulk_update(
            subscribers, ["confirmation_token_hash", "confirmation_sent_at"]
        )
    newsletter_confirmation_messages(
        subscribers=[(subscriber, tokens[subscriber.pk]) for subscriber in subscribers]
    )
    return len(subscribers)


# A stored upload, for the admin page -----------------------------------------------------


def newsletter_import_create(
    *,
    data: bytes,
    file_name: str,
    source_format: SourceFormat,
    consent: ConsentMode,
    user: User,
) -> NewsletterImport:
    """Store an upload and queue its dry run. The file's size and layout are checked here,
    so a wrong file is refused at once and nothing is stored."""
    header, rows = _read_table(data)
    fmt = _resolve_format(header, source_format)
    NewsletterImport.objects.filter(
        status=NewsletterImport.Status.CHECKED, created_at__lt=timezone.now() - UNCONFIRMED_KEPT
    ).delete()
    job = NewsletterImport.objects.create(
        file_name=file_name[:255],
        content=data,
        source_format=fmt.value,
        consent=consent.value,
        total_rows=len(rows),
        created_by=user,
    )
    transaction.on_commit(partial(enqueue, "accounts.tasks.check_newsletter_import", job.pk))
    return job


def newsletter_imports_recent(*, limit: int = 10) -> list[NewsletterImport]:
    """The latest uploads, newest first, for the import page (their files left out)."""
    return list(
        NewsletterImport.objects.defer("content", "rejected_csv", "report")
        .select_related("created_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def newsletter_import_confirm(*, job_id: int) -> bool:
    """Queue the import of a checked upload; False when it was not waiting (a second click)."""
    with transaction.atomic():
        started = NewsletterImport.objects.filter(
            pk=job_id, status=NewsletterImport.Status.CHECKED
        ).update(status=NewsletterImport.Status.IMPORTING, processed_rows=0)
        if started:
            transaction.on_commit(partial(enqueue, "accounts.tasks.run_newsletter_import", job_id))
    return bool(started)


def newsletter_import_check(*, job_id: int) -> None:
    """The dry run of a stored upload: its report, nothing else written."""
    _run_stored(job_id=job_id, dry_run=True)


def newsletter_import_run(*, job_id: int) -> None:
    """The import of a stored upload; the file is deleted once it ran."""
    _run_stored(job_id=job_id, dry_run=False)


def _run_stored(*, job_id: int, dry_run: bool) -> None:
    expected = NewsletterImport.Status.CHECKING if dry_run else NewsletterImport.Status.IMPORTING
    job = NewsletterImport.objects.filter(pk=job_id, status=expected).first()
    if job is None:  # already ran (a task delivered twice) or deleted
        return

    def progress(done: int, total: int) -> None:
        NewsletterImport.objects.filter(pk=job_id).update(processed_rows=done, total_rows=total)

    def fail(message: str) -> None:
        NewsletterImport.objects.filter(pk=job_id).update(
            status=NewsletterImport.Status.FAILED, error=message, content=b"",
            finished_at=timezone.now(),
        )  # fmt: skip

    try:
        report = newsletter_import(
            data=bytes(job.content),
            file_name=job.file_name,
            source_format=SourceFormat(job.source_format),
            consent=ConsentMode(job.consent),
            dry_run=dry_run,
            on_progress=progress,
        )
    except ImportFileError as error:
        fail(str(error))
        return
    except Exception:
        # Batches written so far stay (each is whole); running the file again adds the rest.
        fail("The import stopped on an unexpected error. Upload the file again to finish it.")
        raise
    finished = {
        "report": report.as_json(),
        "rejected_csv": report.rejected_csv(),
        "processed_rows": report.total,
        "total_rows": report.total,
    }
    if dry_run:
        NewsletterImport.objects.filter(pk=job_id).update(
            status=NewsletterImport.Status.CHECKED, **finished
        )
    else:
        NewsletterImport.objects.filter(pk=job_id).update(
            status=NewsletterImport.Status.DONE, content=b"", finished_at=timezone.now(),
            **finished,
        )  # fmt: skip
