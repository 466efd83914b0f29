from celery import shared_task

from accounts.billing import memberships_reconcile


@shared_task
def reconcile_memberships() -> dict[str, int]:
    result = memberships_reconcile()
    return {"checked": result.checked, "changed": result.changed, "failed": result.failed}
