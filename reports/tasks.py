from celery import shared_task

from reports.publishing import reports_publish_due


@shared_task
def publish_due_reports() -> list[int]:
    return reports_publish_due()
