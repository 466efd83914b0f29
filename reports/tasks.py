import logging
import random
import uuid

from celery import shared_task
from django.conf import settings

from reports.comment_emails import comment_reply_notify
from reports.notifications import deliveries_requeue_stale, deliveries_send, notification_fan_out
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


@shared_task(bind=True, max_retries=None)
def send_deliveries(self, delivery_ids: list[int]) -> dict[str, int | str]:
    """Send a batch of deliveries. Transient SMTP trouble puts the unsent rows back and
    retries later; after NOTIFY_MAX_RETRIES the sweep and the attempt cap take over."""
    result = deliveries_send(
        delivery_ids=delivery_ids, claimant=self.request.id or f"local-{uuid.uuid4()}"
    )
    if result.transient_error:
        # Eagerly (make run) a retry would run again at once, without any backoff.
        if self.request.is_eager or self.request.retries >= settings.NOTIFY_MAX_RETRIES:
            logger.warning("Leaving the batch to the sweep: %s", result.transient_error)
        else:
            raise self.retry(countdown=retry_countdown(self.request.retries))
    return result.as_dict()


@shared_task
def requeue_stale_deliveries() -> int:
    return deliveries_requeue_stale()
