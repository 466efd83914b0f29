from pathlib import PurePosixPath
from typing import Any

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm as BaseAdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm
from django.http import HttpRequest

from accounts.fields import NameField
from accounts.models import COMPANY_MAX_LENGTH, DISPLAY_NAME_MAX_LENGTH, User
from accounts.organisations.services import invitation_for_path
from accounts.organisations.sso import organisation_requiring_sso, sso_required_message
from accounts.users import user_profile_update
from publisher.media import MEDIA_CONTENT_TYPES
from publisher.storage.names import picture_type


class SignupDetailsForm(forms.Form):
    """Extra fields on allauth's signup form: how the reader appears on comments."""

    display_name = NameField(
        label="Your name",
        max_length=DISPLAY_NAME_MAX_LENGTH,
        required=False,
        help_text="Shown with your comments.",
    )
    company = NameField(label="Company", max_length=COMPANY_MAX_LENGTH, required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # Signing up from a team invitation (its join page is where the signup returns to):
        # the invitation is bound to one address, so the account must be opened with it.
        invitation = invitation_for_path(self.data.get("next"))
        email = cleaned.get("email")
        # allauth's social signup form (a sign-in through an identity provider that needs
        # more details) derives from this one; it is the way in for these addresses.
        organisation = organisation_requiring_sso(email) if email else None
        if organisation is not None and not hasattr(self, "sociallogin"):
            self.add_error("email", sso_required_message(organisation))
        if invitation is not None and email and email.lower() != invitation.email:
            self.add_error(
                "email",
                f"This invitation to {invitation.organisation.name} is for {invitation.email}: "
                "sign up with that address to join the team.",
            )
        return cleaned

    def signup(self, request: HttpRequest, user: User) -> None:
        user_profile_update(
            user=user,
            display_name=self.cleaned_data["display_name"],
            company=self.cleaned_data["company"],
        )


class AdminUserCreationForm(BaseAdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class AdminUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"display_name": NameField, "company": NameField}

    def clean_portrait(self) -> Any:
        """Media stores a picture only under its own type's name (publisher/storage/): a
        PNG named .jpg is refused here, with a message, rather than at the save. Other
        extensions are the model's validator's to refuse."""
        portrait = self.cleaned_data.get("portrait")
        if not portrait or not hasattr(portrait, "content_type"):  # none, or the stored one
            return portrait
        if PurePosixPath(portrait.name).suffix.lower() in MEDIA_CONTENT_TYPES:
            portrait.seek(0)
            head = portrait.read(16)
            portrait.seek(0)
            if picture_type(portrait.name, head) is None:
                raise forms.ValidationError(
                    "Upload a JPEG, PNG or WebP whose name ends in its format "
                    "(.jpg, .png or .webp)."
                )
        return portrait


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "company", "notify_on_reply"]
        field_classes = {"display_name": NameField, "company": NameField}
        labels = {"display_name": "Your name", "notify_on_reply": "Email me replies to my comments"}
        help_texts = {
            "company": (
                "Shown next to your comments as self-declared. A seat in your company's team "
                "licence, or a verified address at its email domain, shows it as verified."
            )
        }


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password
