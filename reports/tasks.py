from celery import shared_task

from reports.comment_emails import comment_reply_notify
from reports.publishing import reports_publish_due


@shared_task
def publish_due_reports() -> list[int]:
    return reports_publish_due()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def notify_comment_reply(comment_id: int) -> bool:
    return comment_reply_notify(comment_id=comment_id)
