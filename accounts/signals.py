"""What a sign-in or a newly verified address sets off: joining an organisation by email
domain, and the cap on signed-in sessions.

The rules live in `accounts.organisations.services.organisation_autojoin` and
`accounts.sessions.services`; these receivers only call them at the moments they apply, and
tell the reader what happened.
"""

from allauth.account.signals import email_confirmed, user_logged_in
from django.conf import settings
from django.contrib import messages
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format

from accounts.models import User
from accounts.organisations.services import organisation_autojoin
from accounts.sessions.devices import device_summary
from accounts.sessions.services import (
    session_activity_record,
    session_cap_enforce,
    session_track_start,
)
from publisher.errors import ApplicationError


def _autojoin(request: HttpRequest | None, user: User) -> None:
    try:
        organisation = organisation_autojoin(user=user)
    except ApplicationError as error:
        if request is not None:
            messages.warning(request, error.message)
        return
    if organisation is not None and request is not None:
        messages.success(request, f"You joined the {organisation.name} team licence.")


@receiver(user_logged_in)
def join_by_domain_on_login(sender: object, request: HttpRequest, user: User, **kwargs: object):
    _autojoin(request, user)


@receiver(email_confirmed)
def join_by_domain_on_verification(
    sender: object, request: HttpRequest, email_address: object, **kwargs: object
) -> None:
    _autojoin(request, email_address.user)  # type: ignore[attr-defined]


@receiver(user_logged_in)
def cap_sessions_on_login(sender: object, request: HttpRequest, user: User, **kwargs: object):
    # allauth.usersessions' own receiver (connected first: its app comes before ours) has
    # recorded this session by now, so the count includes it.
    session_track_start(request=request)
    session_activity_record(request=request, user=user)
    ended = session_cap_enforce(request=request, user=user)
    for session in ended:
        signed_in = date_format(timezone.localtime(session.created_at), "M j, Y")
        messages.warning(
            request,
            f"You were signed out on your oldest device ({device_summary(session.user_agent)}, "
            f"signed in {signed_in}): your account can be signed in on "
            f"{settings.MAX_SESSIONS_PER_USER} devices at once. Your account page lists "
            "the others under Your sessions.",
        )
