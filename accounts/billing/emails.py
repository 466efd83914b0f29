"""Emails about a reader's subscription: claimed once per occasion in the transaction that
applies the change, sent by Celery after it commits."""

from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.billing.money import money_display
from accounts.membership import membership_grants_access
from accounts.models import Membership, MembershipEmail
from accounts.newsletter.services import newsletter_subscriber_for_user
from publisher.celery import enqueue
from publisher.mail.messages import email_build


def _welcome(membership: Membership) -> bool:
    return membership_grants_access(membership)


def _trialing(membership: Membership) -> bool:
    return membership.is_trialing and not membership.cancel_at_period_end


def _ending(membership: Membership) -> bool:
    return membership.cancel_at_period_end and membership_grants_access(membership)


def _ended(membership: Membership) -> bool:
    return not membership_grants_access(membership)


def _renewing(membership: Membership) -> bool:
    return (
        membership.plan == "annual"
        and membership.status == Membership.Status.ACTIVE
        and not membership.cancel_at_period_end
    )


def _always(membership: Membership) -> bool:
    return True


# Each email and what must still be true when it goes out: the membership may have moved on
# between the change and the send (a welcome for a subscription that already ended again, a
# renewal notice for one just set to end), and then the email would be wrong.
MEMBERSHIP_EMAILS = {
    "membership-welcome": _welcome,
    "trial-ending": _trialing,
    "trial-ending-add-card": _trialing,
    "payment-failed": _always,
    "subscription-ending": _ending,
    "subscription-ended": _ended,
    "renewal-upcoming": _renewing,
}


def membership_email_claim(
    membership: Membership, *, name: str, key: str, kind: str | None = None
) -> bool:
    """Claim the email `name` for the occasion `key` and send it once the current transaction
    commits. False, and nothing sent, when the occasion was claimed before (`kind`, the
    email's name by default, groups emails that tell the same thing)."""
    if name not in MEMBERSHIP_EMAILS:
        raise ValueError(f"Not a membership email: {name!r}")
    try:
        # A savepoint: a concurrent claim of the same occasion waits for ours to commit and
        # then fails here, leaving the rest of its transaction intact.
        with transaction.atomic():
            MembershipEmail.objects.create(
                membership=membership, kind=kind or name, key=str(key)[:255]
            )
    except IntegrityError:
        return False
    transaction.on_commit(
        partial(enqueue, "accounts.tasks.send_membership_email", membership.pk, name)
    )
    return True


def _absolute(name: str) -> str:
    return f"{settings.SITE_URL}{reverse(name)}"


def membership_email_send(*, membership_id: int, name: str) -> bool:
    # Tasks queued before the templates took kebab-case names carry "membership_welcome" or
    # "payment_failed"; they still find their email.
    name = name.replace("_", "-")
    if name not in MEMBERSHIP_EMAILS:
        raise ValueError(f"Not a membership email: {name!r}")
    membership = Membership.objects.select_related("user").filter(pk=membership_id).first()
    if membership is None or not membership.user.is_active:
        return False
    if not MEMBERSHIP_EMAILS[name](membership):
        return False
    next_charge = ""
    if membership.next_charge_amount is not None:
        next_charge = money_display(membership.next_charge_amount, membership.next_charge_currency)
    email_build(
        name=name,
        to=membership.user.email,
        context={
            "user": membership.user,
            "membership": membership,
            "next_charge": next_charge,
            "newsletter": newsletter_subscriber_for_user(user=membership.user),
            "account_link": _absolute("accounts:account"),
            "pricing_link": _absolute("accounts:pricing"),
            # Links to content go by URL name: accounts never imports reports.
            "preferences_link": _absolute("reports:newsletter_preferences"),
            "reports_link": f"{settings.SITE_URL}/",
        },
        headers={"Auto-Submitted": "auto-generated"},
    ).send()
    return True
