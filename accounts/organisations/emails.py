from django.conf import settings
from django.urls import reverse

from accounts.models import OrganisationInvitation
from accounts.organisations.services import invitation_token
from publisher.mail.messages import email_build


def team_invitation_send(*, invitation_id: int) -> bool:
    invitation = (
        OrganisationInvitation.objects.select_related("organisation", "invited_by")
        .filter(pk=invitation_id, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if invitation is None:
        return False
    path = reverse("accounts:team_join", kwargs={"token": invitation_token(invitation)})
    email_build(
        name="team-invitation",
        to=invitation.email,
        context={
            "invitation": invitation,
            "organisation": invitation.organisation,
            "inviter": invitation.invited_by.public_name if invitation.invited_by else "Your team",
            "link": f"{settings.SITE_URL}{path}",
        },
    ).send()
    return True
