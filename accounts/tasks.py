from celery import shared_task
from django.conf import settings
from django.urls import reverse

from accounts.billing.sync import memberships_reconcile
from accounts.models import NewsletterSubscriber
from publisher.mail.messages import email_build


@shared_task
def reconcile_memberships() -> dict[str, int]:
    result = memberships_reconcile()
    return {"checked": result.checked, "changed": result.changed, "failed": result.failed}


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_team_invitation(invitation_id: int) -> bool:
    from accounts.organisations.emails import team_invitation_send

    return team_invitation_send(invitation_id=invitation_id)


@shared_task
def send_newsletter_confirmation(subscriber_id: int, token: str) -> None:
    """Email the double opt-in link. Takes the raw token: only its hash is stored."""
    subscriber = NewsletterSubscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.is_receiving:
        return
    confirm_url = settings.SITE_URL + reverse("newsletter:confirm", kwargs={"token": token})
    message = email_build(
        name="newsletter-confirm",
        to=subscriber.email,
        context={"confirm_url": confirm_url, "email": subscriber.email},
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.send(using="default")


@shared_task(autoretry_for=(OSError,), retry_backoff=True, retry_jitter=True, max_retries=5)
def send_membership_email(membership_id: int, name: str) -> bool:
    from accounts.billing.emails import membership_email_send

    return membership_email_send(membership_id=membership_id, name=name)
