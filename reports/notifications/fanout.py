"""The fan-out: a published report's recipients split into `DeliveryBatch` id ranges, a send
task enqueued for each, and each batch's `Delivery` rows inserted by its own task.

The fan-out writes one `DeliveryBatch` per SEND_BATCH_SIZE recipients rather than one
`Delivery` per recipient: a few hundred batch rows take milliseconds where 100,000 deliveries
(index entries, foreign-key checks) took PostgreSQL seconds before the last recipient was
queued. Each send task inserts its own range's rows just before it sends them.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import EmailSuppression, NewsletterSubscriber
from publisher.celery import enqueue
from publisher.mail.providers import mailer_batch_size
from reports.models import (
    Delivery,
    DeliveryBatch,
    Report,
    ReportNotification,
)
from reports.notifications.recipients import report_audience, report_recipients_sql

logger = logging.getLogger(__name__)

SEND_BATCH_SIZE = 250
# Through a provider's batch API a send task makes this many calls, each marked as it returns:
# a killed worker still re-sends at most one call's batch, while the task's own costs (its
# claim, the email's rendering, the broker's round trip) are shared by four calls. With one
# call a task, they were a third of the sender's CPU per recipient.
PROVIDER_CALLS_PER_TASK = 4


def send_batch_size() -> int:
    """Recipients per send task: SEND_BATCH_SIZE over SMTP, or PROVIDER_CALLS_PER_TASK of
    the provider's batches."""
    return max(SEND_BATCH_SIZE, mailer_batch_size() * PROVIDER_CALLS_PER_TASK)


def notification_request(*, report: Report) -> None:
    """Call inside the publishing transaction: record the notification, enqueue it on commit.

    Publishing again (or a rolled-back publish) therefore never fans out a second time.
    """
    notification, created = ReportNotification.objects.get_or_create(report=report)
    if created:
        transaction.on_commit(
            lambda: notification_enqueue(notification_id=notification.pk, report_id=report.pk)
        )


def notification_enqueue(*, notification_id: int, report_id: int) -> None:
    """Hand the fan-out to a worker and stamp when; a broker outage is left to the sweep."""

    try:
        enqueue("reports.tasks.notify_report", report_id)
    except Exception:
        # The publish is committed; the sweep will enqueue the fan-out when the broker is back.
        logger.exception("Could not enqueue the notification of report %s", report_id)
        return
    ReportNotification.objects.filter(pk=notification_id).update(enqueued_at=timezone.now())


def delivery_batches_enqueue(*, batch_ids: list[int]) -> None:
    for batch_id in batch_ids:
        enqueue("reports.tasks.send_delivery_batch", batch_id)


_BATCH_BOUNDS = (
    "SELECT recipient_id, position, total FROM ("
    " SELECT recipient.recipient_id, row_number() OVER (ORDER BY recipient.recipient_id)"
    " AS position, count(*) OVER () AS total FROM ({recipients}) AS recipient"
    ") AS numbered WHERE position %% %s = 0 OR position = total ORDER BY position"
)


_BATCH_INSERT = (
    "INSERT INTO {table} (report_id, subscriber_id, status, attempts, created_at,"
    " enqueued_at, claimed_by, error, provider_message_id)"
    " SELECT %s, recipient.recipient_id, %s, 0, %s, %s, '', '', ''"
    " FROM ({recipients}) AS recipient"
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
        cursor.execute(_BATCH_BOUNDS.format(recipients=sql), [*params, send_batch_size()])
        rows = cursor.fetchall()
    bounds, after, counted = [], 0, 0
    for last_id, position, _ in rows:
        bounds.append((after, last_id, position - counted))
        after, counted = last_id, position
    return bounds


_IN_RANGE = (
    "SELECT chosen.recipient_id, chosen.email FROM ({chosen}) AS chosen"
    " WHERE chosen.recipient_id > %s AND chosen.recipient_id <= %s"
)


def _insert_suppressed(*, report: Report, after: int, last: int, now: datetime) -> None:
    """Skipped rows for the suppressed addresses among the report's audience in the range."""
    sql, params = report_recipients_sql(report=report, suppressed=True)
    with db_connection.cursor() as cursor:
        cursor.execute(_IN_RANGE.format(chosen=sql), [*params, after, last])
        suppressed = {email: pk for pk, email in cursor.fetchall()}
    if not suppressed:
        return
    reasons = EmailSuppression.objects.in_force().filter(address__in=list(suppressed))
    Delivery.objects.bulk_create(
        [
            Delivery(
                report_id=report.pk,
                subscriber_id=suppressed[suppression.address],
                status=Delivery.Status.SKIPPED,
                created_at=now,
                error=_suppressed_because(suppression),
            )
            for suppression in reasons
        ],
        ignore_conflicts=True,
    )


def _suppressed_because(suppression: EmailSuppression) -> str:
    by = f" at {suppression.provider}" if suppression.provider else ""
    since = suppression.created_at.date().isoformat()
    return f"Suppressed address: {suppression.get_reason_display()}{by} (since {since})."


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
                # Over the audience, suppressed addresses included: their rows record why
                # they were not mailed (`delivery_batch_insert`).
                for after, last, size in _batch_bounds(report_audience(report=report))
            )
            batches = [(batch.pk, batch.size) for batch in created]
    # After the commit: a task must find its batch.
    delivery_batches_enqueue(batch_ids=[pk for pk, _ in batches])
    ReportNotification.objects.filter(pk=notification.pk).update(fanned_out_at=timezone.now())
    return sum(size for _, size in batches)


def delivery_batch_insert(*, batch_id: int, now: datetime | None = None) -> list[int]:
    """Insert the batch's missing Delivery rows; the ids of its rows still to be sent.

    Recipients are chosen again here (`report_recipients` within the batch's id range), so
    someone who unsubscribed since the fan-out gets no row at all. A suppressed address in
    the range gets a row already skipped, whose error says which suppression stopped it (the
    deliveries' admin shows it). Running it twice inserts nothing new (ON CONFLICT on the
    unique constraint).
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
                sql, params = report_recipients_sql(report=report)
                in_range = _IN_RANGE.format(chosen=sql)
                with db_connection.cursor() as cursor:
                    cursor.execute(
                        _BATCH_INSERT.format(table=Delivery._meta.db_table, recipients=in_range),
                        [batch.report_id, Delivery.Status.QUEUED, now, now, *params, after, last],
                    )
                _insert_suppressed(report=report, after=after, last=last, now=now)
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
