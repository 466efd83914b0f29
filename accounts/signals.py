"""Joining an organisation by email domain when a reader logs in or verifies an address.

The rule lives in `accounts.organisations.services.organisation_autojoin`; these receivers only call
it at the two moments an address can newly count, and tell the reader what happened.
"""

from allauth.account.signals import email_confirmed, user_logged_in
from django.contrib import messages
from django.dispatch import receiver
from django.http import HttpRequest

from accounts.models import User
from accounts.organisations.services import organisation_autojoin
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
