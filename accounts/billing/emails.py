"""Emails about a reader's subscription, sent by Celery after the change has committed."""

from django.conf import settings
from django.urls import reverse

from accounts.membership import membership_grants_access
from accounts.models import Membership
from publisher.mail.messages import email_build

MEMBERSHIP_EMAILS = frozenset({"membership-welcome", "payment-failed"})


def membership_email_send(*, membership_id: int, name: str) -> bool:
    # Tasks queued before the templates took kebab-case names carry "membership_welcome" or
    # "payment_failed"; they still find their email.
    name = name.replace("_", "-")
    if name not in MEMBERSHIP_EMAILS:
        raise ValueError(f"Not a membership email: {name!r}")
    membership = Membership.objects.select_related("user").filter(pk=membership_id).first()
    if membership is None or not membership.user.is_active:
        return False
    if name == "membership-welcome" and not membership_grants_access(membership):
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
