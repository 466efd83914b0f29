"""Celery tasks of the accounts app: each loads by id and calls a service."""

from celery import shared_task

from accounts.billing.emails import membership_email_send
from accounts.billing.reconcile import memberships_reconcile
from accounts.newsletter.emails import newsletter_confirmation_send
from accounts.newsletter.importing import (
    newsletter_import_check,
    newsletter_import_run,
    newsletter_import_send_confirmations,
)
from accounts.organisations.emails import team_invitation_send
from accounts.sessions.services import session_networks_prune


@shared_task
def reconcile_memberships() -> dict[str, int]:
    result = memberships_reconcile()
    return {"checked": result.checked, "changed": result.changed, "failed": result.failed}


@shared_task
def prune_session_networks() -> int:
    return session_networks_prune()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_team_invitation(invitation_id: int) -> bool:
    return team_invitation_send(invitation_id=invitation_id)


@shared_task
def send_newsletter_confirmation(subscriber_id: int, token: str, next_path: str = "") -> None:
    newsletter_confirmation_send(subscriber_id=subscriber_id, token=token, next_path=next_path)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_membership_email(membership_id: int, name: str) -> bool:
    return membership_email_send(membership_id=membership_id, name=name)


@shared_task
def check_newsletter_import(import_id: int) -> None:
    newsletter_import_check(job_id=import_id)


@shared_task
def run_newsletter_import(import_id: int) -> None:
    newsletter_import_run(job_id=import_id)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_newsletter_import_confirmations(subscriber_ids: list[int]) -> int:
    return newsletter_import_send_confirmations(subscriber_ids=subscriber_ids)
