from typing import Any

from django import forms
from django.contrib.auth.forms import AdminUserCreationForm as BaseAdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm
from django.http import HttpRequest

from accounts.models import User


class SignupDetailsForm(forms.Form):
    """Extra fields on allauth's signup form: how the reader appears on comments."""

    display_name = forms.CharField(
        label="Your name", max_length=80, required=False, help_text="Shown with your comments."
    )
    company = forms.CharField(label="Company", max_length=120, required=False)

    def signup(self, request: HttpRequest, user: User) -> None:
        user.display_name = self.cleaned_data["display_name"].strip()
        user.company = self.cleaned_data["company"].strip()
        user.save(update_fields=["display_name", "company"])


class AdminUserCreationForm(BaseAdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class AdminUserChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "company", "notify_on_reply"]
        labels = {"display_name": "Your name", "notify_on_reply": "Email me replies to my comments"}


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
