"""allauth's login, sign-in code and password reset forms, aware of organisations that
require single sign-on for their domains (accounts.organisations.sso).

Kept apart from accounts.forms: allauth's forms module imports that one (its signup form
derives from ACCOUNT_SIGNUP_FORM_CLASS), so importing allauth's forms there would be circular.
"""

from allauth.account.forms import LoginForm as AllauthLoginForm
from allauth.account.forms import RequestLoginCodeForm as AllauthRequestLoginCodeForm
from allauth.account.forms import ResetPasswordForm as AllauthResetPasswordForm
from allauth.core.exceptions import ImmediateHttpResponse
from django import forms
from django.contrib import messages
from django.http import HttpResponseRedirect

from accounts.organisations.sso import (
    organisation_requiring_sso,
    sso_login_url,
    sso_required_message,
)


def _refuse_sso_address(email: str) -> str:
    organisation = organisation_requiring_sso(email)
    if organisation is not None:
        raise forms.ValidationError(sso_required_message(organisation), code="sso_required")
    return email


class LoginForm(AllauthLoginForm):
    """allauth's login form, sending an address at a domain that requires single sign-on to
    its organisation's sign-in page (domain discovery) instead of checking a password."""

    def clean_login(self) -> str:
        login = super().clean_login()
        organisation = organisation_requiring_sso(login)
        if organisation is not None:
            request = self.request
            messages.info(
                request, f"{organisation.name} signs its people in through its own single sign-on."
            )
            next_path = request.POST.get("next") or request.GET.get("next") or ""
            raise ImmediateHttpResponse(
                HttpResponseRedirect(sso_login_url(organisation, next_path=next_path))
            )
        return login


class RequestLoginCodeForm(AllauthRequestLoginCodeForm):
    def clean_email(self) -> str:
        return _refuse_sso_address(super().clean_email())


class ResetPasswordForm(AllauthResetPasswordForm):
    def clean_email(self) -> str:
        return _refuse_sso_address(super().clean_email())
