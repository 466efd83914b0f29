import re

from django import forms

from accounts.newsletter.services import MAX_EMAIL_LENGTH, newsletter_normalize_email
from publisher.site import site_path

# The form a signup came from, recorded with the consent: the home page, a report page or
# the newsletter page. Anything else a client sends is recorded as the newsletter page.
_SOURCE = re.compile(r"home|newsletter|report:[-a-zA-Z0-9_]{1,120}")


class NewsletterSignupForm(forms.Form):
    email = forms.CharField(
        label="Email address",
        max_length=MAX_EMAIL_LENGTH + 66,  # room for spaces and IDNA expansion; checked below
        error_messages={"required": "Enter your email address."},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "placeholder": "you@example.com"}),
    )
    source = forms.CharField(required=False, widget=forms.HiddenInput)
    # The page the box sits on (a report), for the link back once the address is confirmed.
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_email(self) -> str:
        return newsletter_normalize_email(self.cleaned_data["email"])

    def clean_source(self) -> str:
        source = self.cleaned_data.get("source") or ""
        return source if _SOURCE.fullmatch(source) else "newsletter"

    def clean_next(self) -> str:
        return site_path(self.cleaned_data.get("next"))
