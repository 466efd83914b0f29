"""Sending: claim a batch of deliveries, render the report's email once, personalise it per
recipient and send over one reused connection, marking each row as it goes."""

import hashlib
import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from operator import attrgetter

from anymail.exceptions import AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import mailers
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection as db_connection
from django.db import transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone

from accounts.models import NewsletterSubscriber
from accounts.newsletter.services import (
    newsletter_normalize_email,
    newsletter_preferences_token_maker,
)
from publisher.lookups import AnyOf, any_of_sql, integer_array, text_array
from publisher.mail.messages import BulkEmail, list_headers, list_id, message_id
from publisher.mail.providers import batch_message, merge_field
from publisher.mail.text import html_to_text
from reports.images.markup import cover_email
from reports.models import (
    Delivery,
    Report,
)
from reports.notifications.recipients import report_recipients_sql
from reports.rendering import email_fragment, render_markdown

logger = logging.getLogger(__name__)


_FINISH_SQL = (  # the table name is our model's; every value is a query parameter
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, attempts = attempts + 1,"  # noqa: S608
    " claimed_by = '', error = %s, provider_message_id = %s WHERE id = %s"
)


_TOKEN_MARK = "T0KEN"  # noqa: S105 (a placeholder in a URL pattern)


@dataclass
class SendResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    released: int = 0
    transient_error: str = ""
    # Seconds the provider asked us to wait (a 429's Retry-After); 0: our own backoff.
    retry_after: float = 0

    def as_dict(self) -> dict[str, int | str | float]:
        return {
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": self.failed,
            "released": self.released,
            "transient_error": self.transient_error,
            "retry_after": self.retry_after,
        }


@dataclass(frozen=True)
class _Claimed:
    delivery_id: int
    report_id: int
    email: str
    token: str


def _claim(
    *, delivery_ids: list[int], claimant: str, now: datetime, result: SendResult
) -> list[_Claimed]:
    """Take the rows this task may send; skip and give up on the others, all in one commit."""
    with transaction.atomic():
        rows = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(AnyOf(F("pk"), delivery_ids))
            # A redelivery of this same task (worker lost) may resume its own claims.
            .filter(
                Q(status=Delivery.Status.QUEUED)
                | Q(status=Delivery.Status.SENDING, claimed_by=claimant)
            )
            .order_by("pk")
            .values_list("pk", "report_id", "subscriber_id", "attempts")
        )
        if not rows:
            return []
        by_report: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for pk, report_id, subscriber_id, attempts in rows:
            by_report[report_id].append((pk, subscriber_id, attempts))
        claim, skip, give_up = [], [], []
        attempts_cap = settings.NOTIFY_MAX_ATTEMPTS
        for report_id, report_rows in by_report.items():
            report = Report.objects.published().filter(pk=report_id).defer("body").first()
            eligible = set()
            if report is not None:
                eligible = _still_receiving(
                    report, [subscriber_id for _, subscriber_id, _ in report_rows]
                )
            for pk, subscriber_id, attempts in report_rows:
                if subscriber_id not in eligible:
                    skip.append(pk)
                elif attempts >= attempts_cap:
                    give_up.append(pk)
                else:
                    claim.append(pk)
        if skip:
            Delivery.objects.filter(AnyOf(F("pk"), skip)).update(
                status=Delivery.Status.SKIPPED,
                claimed_by="",
                error="Unsubscribed, opted out of this kind or topic, or report unpublished.",
            )
        if give_up:
            Delivery.objects.filter(AnyOf(F("pk"), give_up)).update(
                status=Delivery.Status.FAILED,
                claimed_by="",
                error=Concat(Value(f"Gave up after {attempts_cap} attempts. "), "error"),
            )
        Delivery.objects.filter(AnyOf(F("pk"), claim)).update(
            status=Delivery.Status.SENDING, claimed_at=now, claimed_by=claimant
        )
        result.skipped += len(skip)
        result.failed += len(give_up)
        claimed = (
            Delivery.objects.filter(AnyOf(F("pk"), claim))
            .order_by("report_id", "pk")
            .values_list("pk", "report_id", "subscriber__email", "subscriber__token")
        )
        return [_Claimed(*row) for row in claimed]


def _still_receiving(report: Report, subscriber_ids: list[int]) -> set[int]:
    """Which of these subscribers receive the report now (`report_recipients`)."""
    sql, params = report_recipients_sql(report=report)
    among, among_params = any_of_sql("chosen.recipient_id", subscriber_ids, db_connection.vendor)
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT chosen.recipient_id FROM ({sql}) AS chosen WHERE {among}",  # noqa: S608
            [*params, *among_params],
        )
        return {recipient_id for (recipient_id,) in cursor.fetchall()}


def _is_permanent(error: Exception) -> bool:
    """A refusal of this one message (5xx) is final; everything else may pass with time."""
    if isinstance(error, AnymailRecipientsRefused):
        return True  # a provider refused this recipient (its API answered, per recipient)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPSenderRefused):
        return False  # our sender or account: every message would fail, retry the batch
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    return isinstance(error, ValueError)  # an address the mailer cannot encode


def notification_email(*, report: Report, test: bool = False) -> BulkEmail:
    """The report's notification, rendered once; personalise with `.message(...)`."""
    report_url = settings.SITE_URL + report.get_absolute_url()
    teaser = email_fragment(render_markdown(report.teaser), base_url=report_url)
    return BulkEmail(
        name="report-notification",
        context={
            "report": report,
            "author_name": report.author.byline_name if report.author else "",
            "report_url": report_url,
            "teaser_html": teaser,
            "cover": cover_email(report),
            "teaser_text": html_to_text(teaser, base_url=report_url),
            "test": test,
        },
        personal=("unsubscribe_url", "preferences_url", "email"),
        extra_headers={"List-Id": list_id(label="new reports", name="reports")},
    )


@dataclass(frozen=True)
class _PersonalLinks:
    """The personal links' addresses with a placeholder for the token, reversed once per
    batch rather than per recipient."""

    unsubscribe: str
    preferences: str
    preferences_token: Callable[[str], str]

    @classmethod
    def build(cls) -> "_PersonalLinks":
        def template(name: str) -> str:
            return settings.SITE_URL + reverse(name, kwargs={"token": _TOKEN_MARK})

        return cls(
            unsubscribe=template("newsletter:unsubscribe"),
            preferences=template("reports:newsletter_preferences_link"),
            preferences_token=newsletter_preferences_token_maker(),
        )

    def values(self, *, token: str, email: str) -> dict[str, str]:
        """The personal values of one recipient's notification, from their subscriber token
        (the preferences link carries it signed, so it opens their choices without a login)."""
        return {
            "unsubscribe_url": self.unsubscribe.replace(_TOKEN_MARK, token),
            "preferences_url": self.preferences.replace(_TOKEN_MARK, self.preferences_token(token)),
            "email": email,
        }


def _release(rows: list[_Claimed], *, error: str, tried: int | list[int] | None) -> int:
    """Give claimed rows back to the queue after a transient error (only `tried` was tried)."""
    ids = [row.delivery_id for row in rows]
    Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.QUEUED, claimed_by="", claimed_at=None
    )
    if tried is not None:
        tried_ids = tried if isinstance(tried, list) else [tried]
        Delivery.objects.filter(pk__in=tried_ids).update(
            attempts=F("attempts") + 1, error=error[:2000]
        )
    return len(ids)


def deliveries_send(
    *, delivery_ids: list[int], claimant: str, now: datetime | None = None
) -> SendResult:
    """Claim, render and send a batch over one connection per report, marking each row.

    A transient error stops the batch: the unsent rows go back to the queue and the result
    says why, so the task can retry with backoff.
    """
    now = now or timezone.now()
    result = SendResult()
    claimed = _claim(delivery_ids=delivery_ids, claimant=claimant, now=now, result=result)
    links = _PersonalLinks.build()
    with db_connection.cursor() as cursor, _marks_without_flush(cursor):
        return _send_claimed(claimed, cursor, result, links)


@contextmanager
def _marks_without_flush(cursor: CursorWrapper) -> Iterator[None]:
    """Commit the per-message marks without waiting for the WAL flush to disk.

    Each mark is its own commit, and waiting for its fsync was most of a message's time in
    the sender. Without the wait, a mark is still committed (visible, ordered, durable
    against a killed worker) before the next message goes out, so a SIGKILL of the worker
    still leaves at most the message in flight unmarked. Only a crash of PostgreSQL itself
    can lose marks, those of the last few hundred milliseconds (3 x wal_writer_delay); the
    sweep then sends those messages again. That trade is for these marks alone: the session
    setting is restored before the connection serves anything else.
    """
    if db_connection.vendor != "postgresql":
        yield
        return
    cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        cursor.execute("RESET synchronous_commit")


def _send_claimed(
    claimed: list[_Claimed], cursor: CursorWrapper, result: SendResult, links: _PersonalLinks
) -> SendResult:
    position = 0  # claimed[position:] are the rows not tried yet
    for report_id, group in groupby(claimed, key=attrgetter("report_id")):
        rows = list(group)
        report = Report.objects.defer("body").select_related("author").get(pk=report_id)
        bulk = notification_email(report=report)
        connection = mailers.default
        try:
            connection.open()
        except Exception as error:
            result.released += _release(claimed[position:], error=repr(error), tried=None)
            result.transient_error = repr(error)
            return result
        try:
            batch_size = getattr(connection, "batch_size", 0)
            if batch_size > 1:
                position = _send_batches(
                    claimed,
                    position,
                    len(rows),
                    batch_size,
                    connection,
                    bulk,
                    cursor,
                    links,
                    result,
                )
                if result.transient_error:
                    return result
                continue
            for row in rows:
                position += 1
                values = links.values(token=row.token, email=row.email)
                try:
                    message = bulk.message(
                        to=row.email,
                        values=values,
                        message_id=message_id(f"delivery-{row.delivery_id}.report-{report_id}"),
                        unsubscribe_url=values["unsubscribe_url"],
                    )
                    # A provider's API (SES) hands these back with its tracking events.
                    message.metadata = _tracking_metadata(row)
                    connection.send_messages([message])
                except Exception as error:
                    if _is_permanent(error):
                        _finish(
                            cursor, row, status=Delivery.Status.FAILED, error=repr(error)[:2000]
                        )
                        result.failed += 1
                        continue
                    result.released += _release(
                        claimed[position - 1 :], error=repr(error), tried=row.delivery_id
                    )
                    result.transient_error = repr(error)
                    result.retry_after = _retry_after(error)
                    return result
                # A provider's API (SES) names the copy; SMTP leaves it empty.
                status = getattr(message, "anymail_status", None)
                provider_id = (status.message_id or "") if status is not None else ""
                _finish(cursor, row, status=Delivery.Status.SENT, provider_id=provider_id)
                result.sent += 1
                _pace.wait(settings.NOTIFY_SEND_RATE)
        finally:
            try:
                connection.close()
            except Exception:
                logger.warning("Closing the mail connection failed", exc_info=True)
    return result


def _tracking_metadata(row: _Claimed) -> dict[str, str]:
    # The report's id is what the events are counted by (REPORT_METADATA_KEY).
    return {"delivery": str(row.delivery_id), "report_id": str(row.report_id)}


def _send_batches(
    claimed: list[_Claimed],
    position: int,
    count: int,
    batch_size: int,
    connection: BaseEmailBackend,
    bulk: BulkEmail,
    cursor: CursorWrapper,
    links: _PersonalLinks,
    result: SendResult,
) -> int:
    """Send claimed[position:position + count] (one report) in provider batches of at most
    `batch_size`, each one API call and then one commit marking its rows; returns the new
    position. A killed worker between a call and its mark leaves that one batch `sending`:
    the sweep sends it again (where the provider keeps idempotency keys, it is not).
    """
    merged = bulk.merge_template(merge_field)
    idempotent = getattr(connection, "idempotent_batches", False)
    end = position + count
    while position < end:
        chunk = claimed[position : min(end, position + batch_size)]
        recipients, headers, metadata = {}, {}, {}
        for row in chunk:
            values = links.values(token=row.token, email=row.email)
            recipients[row.email] = bulk.merge_values(values)
            headers[row.email] = list_headers(values["unsubscribe_url"])
            # The provider's tracking events hand these back: the report's id is what they
            # are counted by (accounts.deliverability.events.REPORT_METADATA_KEY).
            metadata[row.email] = {
                "delivery": str(row.delivery_id),
                "report_id": str(row.report_id),
            }
        ids = [row.delivery_id for row in chunk]
        message = batch_message(
            subject=merged.subject,
            text=merged.text,
            html=merged.html,
            from_email=bulk.from_email,
            headers=bulk.extra_headers,
            recipients=recipients,
            recipient_headers=headers,
            recipient_metadata=metadata,
            # The same rows always make the same key, whichever attempt sends them.
            idempotency_key=_batch_key(ids) if idempotent else None,
        )
        try:
            connection.send_messages([message])
        except AnymailRecipientsRefused:
            pass  # every recipient refused: their statuses say so, marked below
        except Exception as error:
            # Anymail's errors carry the provider's answer in their text, not their repr.
            described = f"{type(error).__name__}: {error}"
            result.released += _release(claimed[position:], error=described, tried=ids)
            result.transient_error = described
            result.retry_after = _retry_after(error)
            return position
        _finish_batch(cursor, chunk, message.anymail_status.recipients, result)
        position += len(chunk)
    return position


def _batch_key(delivery_ids: list[int]) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(delivery_ids))).encode()).hexdigest()
    return f"deliveries-{digest[:40]}"


def _retry_after(error: Exception) -> float:
    """A 429's Retry-After in seconds (0 when absent or an HTTP date we do not honour)."""
    response = getattr(error, "response", None)
    if response is None or getattr(response, "status_code", None) != 429:
        return 0
    try:
        return max(0.0, float(response.headers.get("Retry-After", "0")))
    except ValueError:
        return 0


_REFUSED = {"rejected", "invalid", "failed"}

# A batch's marks in one statement, its rows' values as arrays: on PostgreSQL a statement per
# row cost the sender more CPU than the provider call itself.
_MARK_BATCH_SQL = (  # the table name is our model's; every value is a query parameter
    f"UPDATE {Delivery._meta.db_table} AS delivery SET status = mark.status,"  # noqa: S608
    " sent_at = CASE WHEN mark.status = %s THEN %s::timestamptz END,"
    " attempts = delivery.attempts + 1, claimed_by = '',"
    " error = mark.error, provider_message_id = mark.provider_message_id"
    " FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[])"
    " AS mark(id, status, error, provider_message_id) WHERE delivery.id = mark.id"
)


def _finish_batch(
    cursor: CursorWrapper, chunk: list[_Claimed], statuses: dict, result: SendResult
) -> None:
    """Mark a batch's rows in one commit, each with its own outcome and provider id."""
    now = timezone.now()
    marks: list[tuple[str, str, str, int]] = []  # status, error, provider's id, row
    for row in chunk:
        status = statuses.get(row.email)
        provider_status = status.status if status is not None else "unknown"
        message_id = ((status.message_id or "") if status is not None else "")[:200]
        if provider_status in _REFUSED:
            error = f"The provider answered {provider_status}."
            marks.append((Delivery.Status.FAILED, error, message_id, row.delivery_id))
            result.failed += 1
        else:
            marks.append((Delivery.Status.SENT, "", message_id, row.delivery_id))
            result.sent += 1
    if not marks:
        return
    if db_connection.vendor != "postgresql":
        with transaction.atomic():
            cursor.executemany(
                _FINISH_SQL,
                [
                    (status, now if status == Delivery.Status.SENT else None, error, mid, pk)
                    for status, error, mid, pk in marks
                ],
            )
        return
    outcomes, errors, message_ids, ids = (list(column) for column in zip(*marks, strict=True))
    cursor.execute(
        _MARK_BATCH_SQL,
        [
            Delivery.Status.SENT,
            now,
            integer_array(ids),
            text_array(outcomes),
            text_array(errors),
            text_array(message_ids),
        ],
    )


class _Pacer:
    """Spaces this process's messages to at most `rate` a second (0: no limit).

    A relay or provider may accept only so many messages a second, and on a machine that
    also serves pages a fan-out at full speed costs readers some tail latency. Time lost
    between messages (a slow reply, the next batch's claim) is made up only within CATCH_UP
    seconds, so a pause is never followed by a long burst.
    """

    CATCH_UP = 0.1

    def __init__(self) -> None:
        self.next_at = 0.0

    def wait(self, rate: float) -> None:
        if rate <= 0:
            return
        now = time.monotonic()
        if self.next_at > now:
            time.sleep(self.next_at - now)
        self.next_at = max(self.next_at, now - self.CATCH_UP) + 1 / rate


_pace = _Pacer()  # one per worker process


def _finish(
    cursor: CursorWrapper, row: _Claimed, *, status: str, error: str = "", provider_id: str = ""
) -> None:
    # One short autocommit UPDATE per message: the window in which a kill can leave a sent
    # message unmarked is this statement alone. Plain SQL on a reused cursor, because at
    # hundreds of messages a second the ORM's per-query overhead was most of the send cost.
    cursor.execute(
        _FINISH_SQL,
        [
            status,
            timezone.now() if status == Delivery.Status.SENT else None,
            error,
            str(provider_id)[:200],
            row.delivery_id,
        ],
    )


def notification_send_test(*, report_id: int, to: str) -> None:
    """Send the report's notification to one address (an editor), outside the fan-out."""
    address = newsletter_normalize_email(to)
    report = Report.objects.defer("body").select_related("author").get(pk=report_id)
    subscriber = NewsletterSubscriber.objects.filter(email=address).first()
    values = _PersonalLinks.build().values(
        token=subscriber.token if subscriber else "test-message", email=address
    )
    message = notification_email(report=report, test=True).message(
        to=address,
        values=values,
        message_id=message_id(f"test-{report_id}.{int(timezone.now().timestamp() * 1000)}"),
        unsubscribe_url=values["unsubscribe_url"],
    )
    message.send(using="default")
