from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedHttpRequest
from accounts.newsletter.services import (
    newsletter_set_for_user,
    newsletter_subscriber_for_user,
)
from publisher.errors import ApplicationError
from publisher.ratelimit import client_ip
from reports.models import Report, Topic
from reports.notifications.preferences import (
    notification_preference_for,
    notification_preference_update,
)


class NotificationPreferencesForm(forms.Form):
    enabled = forms.BooleanField(label="Email me when a new report is published", required=False)
    scope = forms.ChoiceField(
        label="Which reports",
        choices=[("all", "Every report"), ("chosen", "Only the kinds and topics I choose")],
        widget=forms.RadioSelect,
        initial="all",
    )
    kinds = forms.MultipleChoiceField(
        label="Kinds",
        choices=Report.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    topics = forms.ModelMultipleChoiceField(
        label="Topics",
        queryset=Topic.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if (
            cleaned.get("enabled")
            and cleaned.get("scope") == "chosen"
            and not (cleaned.get("kinds") or cleaned.get("topics"))
        ):
            raise forms.ValidationError(
                "Choose at least one kind or topic, or receive every report."
            )
        return cleaned


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def newsletter_preferences(request: AuthenticatedHttpRequest) -> HttpResponse:
    subscriber = newsletter_subscriber_for_user(user=request.user)
    if request.method == "POST":
        form = NotificationPreferencesForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                subscriber = newsletter_set_for_user(
                    user=request.user, enabled=data["enabled"], ip=client_ip(request)
                )
            except ApplicationError as error:
                messages.error(request, error.message)
                return redirect("reports:newsletter_preferences")
            if subscriber is not None and data["enabled"]:
                notification_preference_update(
                    subscriber=subscriber,
                    all_reports=data["scope"] == "all",
                    kinds=data["kinds"],
                    topics=list(data["topics"]),
                )
            if data["enabled"] and subscriber is not None and not subscriber.is_receiving:
                messages.info(request, "Check your inbox: confirm the address to start.")
            else:
                messages.success(request, "Your notification settings are saved.")
            return redirect("reports:newsletter_preferences")
    else:
        preference = notification_preference_for(subscriber=subscriber) if subscriber else None
        form = NotificationPreferencesForm(
            initial={
                "enabled": bool(subscriber and subscriber.is_receiving),
                "scope": "all" if preference is None or preference.all_reports else "chosen",
                "kinds": preference.kinds if preference else [],
                "topics": list(preference.topics.all()) if preference and preference.pk else [],
            }
        )
    return render(
        request,
        "reports/newsletter_preferences.html",
        {"form": form, "subscriber": subscriber},
    )
