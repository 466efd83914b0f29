from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import OrganisationInvitation
from accounts.organisations import invitation_token


def team_invitation_send(*, invitation_id: int) -> bool:
    invitation = (
        OrganisationInvitation.objects.select_related("organisation", "invited_by")
        .filter(pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if invitation is None:
        return False
    path = reverse("accounts:team_join", kwargs={"token": invitation_token(invitation)})
    context = {
        "invitation": invitation,
        "organisation": invitation.organisation,
        "inviter": invitation.invited_by.public_name if invitation.invited_by else "Your team",
        "link": f"{settings.SITE_URL}{path}",
        "site_name": settings.SITE_NAME,
    }
    subject = render_to_string("emails/team_invitation-subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("emails/team_invitation-body.txt", context),
        to=[invitation.email],
    )
    message.attach_alternative(
        render_to_string("emails/team_invitation-body.html", context), "text/html"
    )
    message.send()
    return True
