"""Readers' notification preferences: on the account (logged in) and through the personal
link in every notification email (no account needed)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedHttpRequest
from accounts.models import NewsletterSubscriber
from accounts.newsletter.services import (
    newsletter_email_hint,
    newsletter_set_for_user,
    newsletter_subscriber_for_preferences,
    newsletter_subscriber_for_user,
    newsletter_unsubscribe,
)
from publisher.errors import ApplicationError
from publisher.ratelimit import Limit, client_ip, limit_exceeded
from reports.models import NotificationPreference, Report, Topic
from reports.notifications.preferences import (
    notification_preference_for,
    notification_preference_update,
)

# Opening or saving preferences links, per address: far more than a person needs, and far
# too few to try tokens (which cannot be guessed anyway: they are signed).
LINK_LIMITS = [
    Limit(30, 60, "Too many requests from your network just now. Please wait a minute."),
    Limit(300, 3600, "Too many requests from your network just now. Please try again later."),
]


class ContentPreferencesForm(forms.Form):
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

    def receives(self, cleaned: dict) -> bool:
        return True

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        if (
            self.receives(cleaned)
            and cleaned.get("scope") == "chosen"
            and not (cleaned.get("kinds") or cleaned.get("topics"))
        ):
            raise forms.ValidationError(
                "Choose at least one kind or topic, or receive every report."
            )
        return cleaned


class NotificationPreferencesForm(ContentPreferencesForm):
    enabled = forms.BooleanField(label="Email me when a new report is published", required=False)
    field_order = ["enabled", "scope", "kinds", "topics"]

    def receives(self, cleaned: dict) -> bool:
        return bool(cleaned.get("enabled"))


def _initial(preference: NotificationPreference | None) -> dict:
    return {
        "scope": "all" if preference is None or preference.all_reports else "chosen",
        "kinds": preference.kinds if preference else [],
        "topics": list(preference.topics.all()) if preference and preference.pk else [],
    }


def _save_choices(subscriber: NewsletterSubscriber, data: dict) -> None:
    notification_preference_update(
        subscriber=subscriber,
        all_reports=data["scope"] == "all",
        kinds=data["kinds"],
        topics=list(data["topics"]),
    )


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
                _save_choices(subscriber, data)
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
                **_initial(preference),
            }
        )
    return render(
        request,
        "reports/newsletter_preferences.html",
        {"form": form, "subscriber": subscriber},
    )


def _link_refused(
    request: HttpRequest, message: str, status: int, *, retry_after: int | None = None
) -> HttpResponse:
    response = render(
        request, "reports/newsletter_link_invalid.html", {"message": message}, status=status
    )
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


# The link in an email is the reader's whole authority here: no login, no session needed.
# It is never cached (never_cache), and its page shows only a hint of the address, so a
# forwarded email does not tell its new reader whose subscription it is.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def newsletter_preferences_by_link(request: HttpRequest, token: str) -> HttpResponse:
    if exceeded := limit_exceeded("newsletter-preferences-link", client_ip(request), LINK_LIMITS):
        return _link_refused(request, exceeded.message, 429, retry_after=exceeded.seconds)
    try:
        subscriber = newsletter_subscriber_for_preferences(token=token)
    except ApplicationError as error:
        return _link_refused(request, error.message, error.status)
    if request.user.is_authenticated and subscriber.user_id == request.user.pk:
        return redirect("reports:newsletter_preferences")
    if request.method == "POST" and request.POST.get("action") == "unsubscribe":
        newsletter_unsubscribe(token=subscriber.token)
        return render(request, "newsletter/unsubscribed.html")
    if request.method == "POST" and subscriber.is_receiving:
        form = ContentPreferencesForm(request.POST)
        if form.is_valid():
            _save_choices(subscriber, form.cleaned_data)
            messages.success(request, "Your choices are saved.")
            return redirect(request.path)
        status = 400
    else:
        preference = notification_preference_for(subscriber=subscriber)
        form = ContentPreferencesForm(initial=_initial(preference))
        status = 200
    return render(
        request,
        "reports/newsletter_preferences_link.html",
        {
            "form": form,
            "subscriber": subscriber,
            "address_hint": newsletter_email_hint(subscriber.email),
        },
        status=status,
    )
