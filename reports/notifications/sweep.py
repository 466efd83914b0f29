"""Recovery and operators' tools: the periodic sweep that re-enqueues whatever a lost broker
message or a dead worker left behind, resending failed deliveries, and per-status counts."""

from datetime import datetime, timedelta
from itertools import batched

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from publisher.celery import enqueue
from reports.models import (
    Delivery,
    DeliveryBatch,
    ReportNotification,
)
from reports.notifications import fanout

SWEEP_PAGE_SIZE = 5000


def deliveries_enqueue(*, delivery_ids: list[int]) -> None:
    for batch in batched(delivery_ids, fanout.send_batch_size(), strict=False):
        enqueue("reports.tasks.send_deliveries", list(batch))


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
        fanout.notification_enqueue(
            notification_id=notification.pk, report_id=notification.report_id
        )
    enqueued = 0
    lost = DeliveryBatch.objects.filter(inserted_at__isnull=True, enqueued_at__lt=stale)
    while batches := list(lost.order_by("pk").values_list("pk", "size")[:SWEEP_PAGE_SIZE]):
        DeliveryBatch.objects.filter(pk__in=[pk for pk, _ in batches]).update(enqueued_at=now)
        fanout.delivery_batches_enqueue(batch_ids=[pk for pk, _ in batches])
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
        deliveries_enqueue(delivery_ids=ids)
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
    deliveries_enqueue(delivery_ids=ids)
    return len(ids)


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
