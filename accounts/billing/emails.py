"""Emails about a reader's subscription, sent by Celery after the change has committed."""

from django.conf import settings
from django.urls import reverse

from accounts.membership import membership_grants_access
from accounts.models import Membership
from publisher.mail.messages import email_build


def membership_email_send(*, membership_id: int, name: str) -> bool:
    membership = Membership.objects.select_related("user").filter(pk=membership_id).first()
    if membership is None or not membership.user.is_active:
        return False
    if name == "membership_welcome" and not membership_grants_access(membership):
        return False  # ended again before the email went out
    email_build(
        name=name,
        to=membership.user.email,
        context={
            "user": membership.user,
            "membership": membership,
            "account_link": f"{settings.SITE_URL}{reverse('accounts:account')}",
            "reports_link": f"{settings.SITE_URL}/",
        },
        headers={"Auto-Submitted": "auto-generated"},
    ).send()
    return True
