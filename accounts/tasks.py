from celery import shared_task

from accounts.billing import memberships_reconcile


@shared_task
def reconcile_memberships() -> dict[str, int]:
    result = memberships_reconcile()
    return {"checked": result.checked, "changed": result.changed, "failed": result.failed}


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_team_invitation(invitation_id: int) -> bool:
    from accounts.team_emails import team_invitation_send

    return team_invitation_send(invitation_id=invitation_id)
