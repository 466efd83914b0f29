"""New-report notifications: fan-out in batches of recipients, then batched sending.

The fan-out writes one `DeliveryBatch` per SEND_BATCH_SIZE recipients (a range of their ids)
and enqueues a send task for each; that task inserts its range's `Delivery` rows, then
claims and sends them.

Exactly-once, as far as SMTP allows:
- `Delivery` is unique per (report, subscriber), and so is a batch per (report, first id):
  fanning out twice, or running a batch's task twice, inserts nothing new.
- A send task claims rows in a short transaction (`SELECT … FOR UPDATE SKIP LOCKED`, then
  status `sending` with its task id), so two tasks holding the same ids never both send one.
- Each row is marked `sent` right after the server accepted its message. A worker killed
  between those two steps leaves one row `sending` whose message may have gone out: that row,
  and only that row per killed task, can be sent twice. The Message-ID is derived from the
  Delivery id, so such a duplicate carries the same Message-ID (which many mailboxes fold).
  A crash of PostgreSQL itself can lose the last few hundred milliseconds of marks, whose
  messages then go out again (`_marks_without_flush` says why that trade is made).
- Nothing depends on broker messages surviving: `deliveries_requeue_stale` re-enqueues
  fan-outs that never finished, batches whose rows were never inserted, queued rows nobody
  sent, and claims left by dead workers.

Emails carry the teaser only. The report is loaded without its body, so the subscriber-only
text never reaches the template.
"""

import logging
import smtplib
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import batched, groupby
from operator import attrgetter

from django.conf import settings
from django.core.mail import mailers
from django.db import connection as db_connection
from django.db import transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Concat
from django.urls import reverse
from django.utils import timezone

from accounts.models import NewsletterSubscriber
from accounts.newsletter.services import newsletter_normalize_email, newsletter_recipients
from publisher.mail.messages import BulkEmail, message_id
from reports.models import (
    Delivery,
    DeliveryBatch,
    NotificationPreference,
    Report,
    ReportNotification,
)
from reports.rendering import render_markdown

logger = logging.getLogger(__name__)

SEND_BATCH_SIZE = 250
SWEEP_PAGE_SIZE = 5000
_FINISH_SQL = (  # the table name is our model's; every value is a query parameter
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, attempts = attempts + 1,"  # noqa: S608
    " claimed_by = '', error = %s WHERE id = %s"
)
_TOKEN_MARK = "T0KEN"  # noqa: S105 (a placeholder in a URL pattern)


def report_recipients(*, report: Report) -> QuerySet[NewsletterSubscriber]:
    """Subscribers who receive this report: confirmed, subscribed and not opted out of it."""
    topic_ids = list(report.topics.values_list("pk", flat=True))
    declining = (
        NotificationPreference.objects.filter(all_reports=False)
        # Kinds are stored as a JSON list of slugs; a slug is matched with its quotes so
        # "test" never matches inside another word (portable to SQLite for `make run`).
        .exclude(kinds__icontains=f'"{report.kind}"')
        .exclude(topics__in=topic_ids)
    )
    return newsletter_recipients().exclude(pk__in=declining.values("subscriber_id"))


def notification_request(*, report: Report) -> None:
    """Call inside the publishing transaction: record the notification, enqueue it on commit.

    Publishing again (or a rolled-back publish) therefore never fans out a second time.
    """
    notification, created = ReportNotification.objects.get_or_create(report=report)
    if created:
        transaction.on_commit(lambda: _enqueue_notify(notification.pk, report.pk))


def _enqueue_notify(notification_id: int, report_id: int) -> None:
    from reports.tasks import notify_report  # the tasks module imports this one

    try:
        notify_report.delay(report_id)
    except Exception:
        # The publish is committed; the sweep will enqueue the fan-out when the broker is back.
        logger.exception("Could not enqueue the notification of report %s", report_id)
        return
    ReportNotification.objects.filter(pk=notification_id).update(enqueued_at=timezone.now())


def _enqueue_sends(delivery_ids: list[int]) -> None:
    from reports.tasks import send_deliveries

    for batch in batched(delivery_ids, SEND_BATCH_SIZE, strict=False):
        send_deliveries.delay(list(batch))


def _enqueue_batches(batch_ids: list[int]) -> None:
    from reports.tasks import send_delivery_batch

    for batch_id in batch_ids:
        send_delivery_batch.delay(batch_id)


def _mark_enqueued(
    queryset: QuerySet[Delivery], *, now: datetime, limit: int | None = None
) -> list[int]:
    """Stamp queued rows as handed to a send task; rows another process holds are skipped."""
    with transaction.atomic():
        ids = list(
            queryset.filter(status=Delivery.Status.QUEUED)
            .select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    return ids


# Issue 7: the fan-out writes one DeliveryBatch per SEND_BATCH_SIZE recipients, not one
# Delivery per recipient. Inserting 100,000 Delivery rows (index entries, foreign-key checks)
# took PostgreSQL 1-3 s before the last recipient was queued; 400 batch rows take a few
# milliseconds, and each send task inserts its own 250 rows just before it sends them.
_BATCH_BOUNDS = (
    "SELECT recipient_id, position, total FROM ("
    " SELECT recipient.recipient_id, row_number() OVER (ORDER BY recipient.recipient_id)"
    " AS position, count(*) OVER () AS total FROM ({recipients}) AS recipient"
    ") AS numbered WHERE position %% %s = 0 OR position = total ORDER BY position"
)
_BATCH_INSERT = (
    "INSERT INTO {table} (report_id, subscriber_id, status, attempts, created_at,"
    " enqueued_at, claimed_by, error)"
    " SELECT %s, recipient.recipient_id, %s, 0, %s, %s, '', '' FROM ({recipients}) AS recipient"
    " WHERE true"  # SQLite needs a WHERE before ON CONFLICT in INSERT … SELECT
    " ON CONFLICT (report_id, subscriber_id) DO NOTHING"
)


def _recipient_ids_sql(recipients: QuerySet[NewsletterSubscriber]) -> tuple[str, tuple]:
    return recipients.annotate(recipient_id=F("pk")).values("recipient_id").query.sql_with_params()


def _batch_bounds(recipients: QuerySet[NewsletterSubscriber]) -> list[tuple[int, int, int]]:
    """(after id, last id, size) of consecutive ranges of SEND_BATCH_SIZE recipients each.

    One query: PostgreSQL numbers the recipients' ids and returns every SEND_BATCH_SIZE-th
    (and the last), so nothing per recipient is read into Python."""
    sql, params = _recipient_ids_sql(recipients.order_by())
    with db_connection.cursor() as cursor:
        cursor.execute(_BATCH_BOUNDS.format(recipients=sql), [*params, SEND_BATCH_SIZE])
        rows = cursor.fetchall()
    bounds, after, counted = [], 0, 0
    for last_id, position, _ in rows:
        bounds.append((after, last_id, position - counted))
        after, counted = last_id, position
    return bounds


def notification_fan_out(*, report_id: int, now: datetime | None = None) -> int:
    """Split the report's recipients into batches and enqueue a send task for each; returns
    how many recipients the batches enqueued by this call hold.

    Safe to run again at any point: the batches are written once, in one statement, under a
    lock on the notification (a second run waits, then finds them), and a later run enqueues
    only batches whose rows are not in yet and that no task was given for NOTIFY_STALE_AFTER.
    If this task dies after its commit and before its last enqueue, the sweep re-enqueues
    the batches left once they are that old.
    """
    now = now or timezone.now()
    report = Report.objects.published().filter(pk=report_id).defer("body").first()
    if report is None:
        return 0
    ReportNotification.objects.get_or_create(report=report)
    stale = now - timedelta(seconds=settings.NOTIFY_STALE_AFTER)
    with transaction.atomic():
        notification = ReportNotification.objects.select_for_update().get(report=report)
        if DeliveryBatch.objects.filter(report_id=report_id).exists():
            waiting = DeliveryBatch.objects.filter(
                report_id=report_id, inserted_at__isnull=True, enqueued_at__lt=stale
            )
            batches = list(waiting.order_by("after_subscriber_id").values_list("pk", "size"))
            waiting.update(enqueued_at=now)
        else:
            created = DeliveryBatch.objects.bulk_create(
                DeliveryBatch(
                    report_id=report_id,
                    after_subscriber_id=after,
                    last_subscriber_id=last,
                    size=size,
                    enqueued_at=now,
                )
                for after, last, size in _batch_bounds(report_recipients(report=report))
            )
            batches = [(batch.pk, batch.size) for batch in created]
    _enqueue_batches([pk for pk, _ in batches])  # after the commit: a task must find its batch
    ReportNotification.objects.filter(pk=notification.pk).update(fanned_out_at=timezone.now())
    return sum(size for _, size in batches)


def delivery_batch_insert(*, batch_id: int, now: datetime | None = None) -> list[int]:
    """Insert the batch's missing Delivery rows; the ids of its rows still to be sent.

    Recipients are chosen again here (`report_recipients` within the batch's id range), so
    someone who unsubscribed since the fan-out gets no row at all. Running it twice inserts
    nothing new (ON CONFLICT on the unique constraint).
    """
    now = now or timezone.now()
    batch = DeliveryBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        return []
    after, last = batch.after_subscriber_id, batch.last_subscriber_id
    if batch.inserted_at is None:
        report = Report.objects.published().filter(pk=batch.report_id).defer("body").first()
        with transaction.atomic():
            if report is not None:  # unpublished since: nobody is sent it
                recipients = report_recipients(report=report).filter(pk__gt=after, pk__lte=last)
                sql, params = _recipient_ids_sql(recipients)
                with db_connection.cursor() as cursor:
                    cursor.execute(
                        _BATCH_INSERT.format(table=Delivery._meta.db_table, recipients=sql),
                        [batch.report_id, Delivery.Status.QUEUED, now, now, *params],
                    )
            DeliveryBatch.objects.filter(pk=batch_id).update(inserted_at=now)
    return list(
        Delivery.objects.filter(
            report_id=batch.report_id,
            subscriber_id__gt=after,
            subscriber_id__lte=last,
            status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING],
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass
class SendResult:
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    released: int = 0
    transient_error: str = ""

    def as_dict(self) -> dict[str, int | str]:
        return {
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": self.failed,
            "released": self.released,
            "transient_error": self.transient_error,
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
            .filter(pk__in=delivery_ids)
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
                eligible = set(
                    report_recipients(report=report)
                    .filter(pk__in=[subscriber_id for _, subscriber_id, _ in report_rows])
                    .values_list("pk", flat=True)
                )
            for pk, subscriber_id, attempts in report_rows:
                if subscriber_id not in eligible:
                    skip.append(pk)
                elif attempts >= attempts_cap:
                    give_up.append(pk)
                else:
                    claim.append(pk)
        Delivery.objects.filter(pk__in=skip).update(
            status=Delivery.Status.SKIPPED,
            claimed_by="",
            error="Unsubscribed, opted out of this kind or topic, or report unpublished.",
        )
        Delivery.objects.filter(pk__in=give_up).update(
            status=Delivery.Status.FAILED,
            claimed_by="",
            error=Concat(Value(f"Gave up after {attempts_cap} attempts. "), "error"),
        )
        Delivery.objects.filter(pk__in=claim).update(
            status=Delivery.Status.SENDING, claimed_at=now, claimed_by=claimant
        )
        result.skipped += len(skip)
        result.failed += len(give_up)
        claimed = (
            Delivery.objects.filter(pk__in=claim)
            .order_by("report_id", "pk")
            .values_list("pk", "report_id", "subscriber__email", "subscriber__token")
        )
        return [_Claimed(*row) for row in claimed]


def _is_permanent(error: Exception) -> bool:
    """A refusal of this one message (5xx) is final; everything else may pass with time."""
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
    return BulkEmail(
        name="report-notification",
        context={
            "report": report,
            "author_name": report.author.get_full_name() if report.author else "",
            "report_url": report_url,
            "teaser_html": render_markdown(report.teaser),
            "preferences_url": settings.SITE_URL + reverse("reports:newsletter_preferences"),
            "test": test,
        },
        personal=("unsubscribe_url", "email"),
    )


def _unsubscribe_url(token: str, *, template: str | None = None) -> str:
    """The personal unsubscribe link; pass `template` (from `_unsubscribe_template()`) to
    skip URL reversing per recipient."""
    return (template or _unsubscribe_template()).replace(_TOKEN_MARK, token)


def _unsubscribe_template() -> str:
    return settings.SITE_URL + reverse("newsletter:unsubscribe", kwargs={"token": _TOKEN_MARK})


def _release(rows: list[_Claimed], *, error: str, tried: int | None) -> int:
    """Give claimed rows back to the queue after a transient error (only `tried` was tried)."""
    ids = [row.delivery_id for row in rows]
    Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING).update(
        status=Delivery.Status.QUEUED, claimed_by="", claimed_at=None
    )
    if tried is not None:
        Delivery.objects.filter(pk=tried).update(attempts=F("attempts") + 1, error=error[:2000])
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
    unsubscribe_template = _unsubscribe_template()
    with db_connection.cursor() as cursor, _marks_without_flush(cursor):
        return _send_claimed(claimed, cursor, result, unsubscribe_template)


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
    claimed: list[_Claimed], cursor: CursorWrapper, result: SendResult, unsubscribe_template: str
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
            for row in rows:
                position += 1
                unsubscribe_url = _unsubscribe_url(row.token, template=unsubscribe_template)
                try:
                    message = bulk.message(
                        to=row.email,
                        values={"unsubscribe_url": unsubscribe_url, "email": row.email},
                        message_id=message_id(f"delivery-{row.delivery_id}.report-{report_id}"),
                        unsubscribe_url=unsubscribe_url,
                    )
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
                    return result
                _finish(cursor, row, status=Delivery.Status.SENT)
                result.sent += 1
                _pace.wait(settings.NOTIFY_SEND_RATE)
        finally:
            try:
                connection.close()
            except Exception:
                logger.warning("Closing the mail connection failed", exc_info=True)
    return result


class _Pacer:
    """Spaces this process's messages to at most `rate` a second (0: no limit).

    A relay or provider may accept only so many messages a second, and on a machine that
    also serves pages a fan-out at full speed costs readers some tail latency (issue 7,
    target 6). Time lost between messages (a slow reply, the next batch's claim) is made up
    only within CATCH_UP seconds, so a pause is never followed by a long burst.
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


def _finish(cursor: CursorWrapper, row: _Claimed, *, status: str, error: str = "") -> None:
    # One short autocommit UPDATE per message: the window in which a kill can leave a sent
    # message unmarked is this statement alone. Plain SQL on a reused cursor, because at
    # hundreds of messages a second the ORM's per-query overhead was most of the send cost.
    cursor.execute(
        _FINISH_SQL,
        [
            status,
            timezone.now() if status == Delivery.Status.SENT else None,
            error,
            row.delivery_id,
        ],
    )


def deliveries_requeue_stale(
    *,
    pending_for: timedelta | None = None,
    claimed_for: timedelta | None = None,
    now: datetime | None = None,
) -> int:
    """Re-enqueue what a lost message or a dead worker left behind; returns rows enqueued.

    - fan-outs not finished `pending_for` after they were last enqueued (or never enqueued);
    - batches whose rows are not in `pending_for` after their task was last enqueued;
    - rows `sending` for longer than any task may run (`claimed_for`): their worker died;
    - rows `queued` whose send task was last enqueued `pending_for` ago or never.
    Re-enqueueing a row whose first task is merely slow is harmless: only one claim wins.
    The count includes the recipients of re-enqueued batches.
    """
    now = now or timezone.now()
    if pending_for is None:
        pending_for = timedelta(seconds=settings.NOTIFY_STALE_AFTER)
    if claimed_for is None:
        claimed_for = timedelta(seconds=settings.NOTIFY_CLAIM_TIMEOUT)
    stale = now - pending_for
    unfinished = ReportNotification.objects.filter(fanned_out_at__isnull=True).filter(
        Q(enqueued_at__lt=stale) | Q(enqueued_at__isnull=True, requested_at__lt=stale)
    )
    for notification in unfinished:
        _enqueue_notify(notification.pk, notification.report_id)
    enqueued = 0
    lost = DeliveryBatch.objects.filter(inserted_at__isnull=True, enqueued_at__lt=stale)
    while batches := list(lost.order_by("pk").values_list("pk", "size")[:SWEEP_PAGE_SIZE]):
        DeliveryBatch.objects.filter(pk__in=[pk for pk, _ in batches]).update(enqueued_at=now)
        _enqueue_batches([pk for pk, _ in batches])
        enqueued += sum(size for _, size in batches)
    abandoned = Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_at__lt=now - claimed_for
    )
    abandoned.update(
        status=Delivery.Status.QUEUED, claimed_by="", claimed_at=None, enqueued_at=None
    )
    forgotten = Delivery.objects.filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
    cursor = 0
    while ids := _mark_enqueued(forgotten.filter(pk__gt=cursor), now=now, limit=SWEEP_PAGE_SIZE):
        cursor = ids[-1]
        _enqueue_sends(ids)
        enqueued += len(ids)
    return enqueued


def deliveries_resend_failed(*, report_id: int, now: datetime | None = None) -> int:
    """Give failed deliveries of a report a fresh set of attempts; returns how many."""
    now = now or timezone.now()
    Delivery.objects.filter(report_id=report_id, status=Delivery.Status.FAILED).update(
        status=Delivery.Status.QUEUED, attempts=0, error="", enqueued_at=None, claimed_by=""
    )
    ids = _mark_enqueued(
        Delivery.objects.filter(report_id=report_id, enqueued_at__isnull=True), now=now
    )
    _enqueue_sends(ids)
    return len(ids)


def notification_send_test(*, report_id: int, to: str) -> None:
    """Send the report's notification to one address (an editor), outside the fan-out."""
    address = newsletter_normalize_email(to)
    report = Report.objects.defer("body").select_related("author").get(pk=report_id)
    subscriber = NewsletterSubscriber.objects.filter(email=address).first()
    unsubscribe_url = _unsubscribe_url(subscriber.token if subscriber else "test-message")
    message = notification_email(report=report, test=True).message(
        to=address,
        values={"unsubscribe_url": unsubscribe_url, "email": address},
        message_id=message_id(f"test-{report_id}.{int(timezone.now().timestamp() * 1000)}"),
        unsubscribe_url=unsubscribe_url,
    )
    message.send(using="default")


def delivery_counts(*, report_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per report, how many deliveries are in each status (every status present, maybe 0)."""
    counts = {pk: dict.fromkeys(Delivery.Status.values, 0) for pk in report_ids}
    rows = (
        Delivery.objects.filter(report_id__in=report_ids)
        .values("report_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["report_id"]][row["status"]] = row["n"]
    return counts
