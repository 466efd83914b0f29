import logging
import random
import uuid

from celery import shared_task
from django.conf import settings

from reports.comments.emails import comment_reply_notify
from reports.counting.folding import day_counts_fold
from reports.notifications.fanout import delivery_batch_insert, notification_fan_out
from reports.notifications.sending import SendResult, deliveries_send
from reports.notifications.sweep import deliveries_requeue_stale
from reports.publishing import reports_publish_due

logger = logging.getLogger(__name__)


@shared_task
def publish_due_reports() -> list[int]:
    return reports_publish_due()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def notify_comment_reply(comment_id: int) -> bool:
    return comment_reply_notify(comment_id=comment_id)


@shared_task
def notify_report(report_id: int) -> int:
    """Fan a published report out to its recipients; safe to run any number of times."""
    return notification_fan_out(report_id=report_id)


def retry_countdown(retries: int) -> float:
    """Exponential backoff with jitter: half the step fixed, half random, so a crowd of
    tasks refused by the same server does not come back at the same second."""
    step = min(settings.NOTIFY_RETRY_BACKOFF_MAX, settings.NOTIFY_RETRY_BACKOFF * 2**retries)
    return step / 2 + random.uniform(0, step / 2)


def _send_or_retry(task, result: SendResult) -> dict[str, int | str | float]:
    """Transient SMTP or provider trouble has put the unsent rows back: retry later; after
    NOTIFY_MAX_RETRIES the sweep and the attempt cap take over."""
    if result.transient_error:
        # Eagerly (make run) a retry would run again at once, without any backoff.
        if task.request.is_eager or task.request.retries >= settings.NOTIFY_MAX_RETRIES:
            logger.warning("Leaving the batch to the sweep: %s", result.transient_error)
        else:
            # A provider's 429 says when it will take more; never come back sooner.
            countdown = max(retry_countdown(task.request.retries), result.retry_after)
            raise task.retry(countdown=countdown)
    return result.as_dict()


def _claimant(task) -> str:
    return task.request.id or f"local-{uuid.uuid4()}"


@shared_task(bind=True, max_retries=None)
def send_deliveries(self, delivery_ids: list[int]) -> dict[str, int | str | float]:
    """Send these deliveries (the sweep's and resends' batches)."""
    return _send_or_retry(
        self, deliveries_send(delivery_ids=delivery_ids, claimant=_claimant(self))
    )


@shared_task(bind=True, max_retries=None)
def send_delivery_batch(self, batch_id: int) -> dict[str, int | str | float]:
    """Insert a fan-out batch's deliveries, then send them; a retry or a redelivery of the
    same task finds the rows in and resumes its own claims."""
    delivery_ids = delivery_batch_insert(batch_id=batch_id)
    return _send_or_retry(
        self, deliveries_send(delivery_ids=delivery_ids, claimant=_claimant(self))
    )


@shared_task
def requeue_stale_deliveries() -> int:
    return deliveries_requeue_stale()


@shared_task
def fold_day_counts() -> dict[str, int]:
    result = day_counts_fold()
    return {"hashes": result.hashes, "counts": result.counts}
