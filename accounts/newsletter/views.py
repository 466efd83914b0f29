"""Newsletter pages: signup, confirmation (a button, never a bare GET) and unsubscribe."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from accounts.newsletter.forms import NewsletterSignupForm
from accounts.newsletter.services import (
    SignupAnswer,
    newsletter_confirm,
    newsletter_confirmed_by_link,
    newsletter_signup,
    newsletter_subscriber_by_token,
    newsletter_subscriber_for_confirmation,
    newsletter_unsubscribe,
)
from publisher.csrf import csrf_token_only_with_session
from publisher.errors import ApplicationError
from publisher.mail.messages import ONE_CLICK
from publisher.ratelimit import client_ip
from publisher.site import site_path


# The signup box sits on publicly cached pages, without a CSRF token for anonymous readers:
# see publisher/csrf.py.
@csrf_token_only_with_session
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = NewsletterSignupForm(
        request.POST if request.method == "POST" else None, initial={"source": "newsletter"}
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        try:
            answer = newsletter_signup(
                email=email,
                ip=client_ip(request),
                source=form.cleaned_data["source"],
                user=request.user if request.user.is_authenticated else None,
                next_path=form.cleaned_data["next"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
            status = error.status
        else:
            return _answer(request, answer, email=email)
    elif request.method == "POST":
        status = 400
    return render(request, "newsletter/signup.html", {"form": form}, status=status)


def _answer(request: HttpRequest, answer: SignupAnswer, *, email: str) -> HttpResponse:
    if answer == SignupAnswer.STARTED:
        messages.success(
            request,
            f"Done: we will email {email} when a new report is published. "
            "Choose which kinds and topics below, or keep every report.",
        )
    elif answer == SignupAnswer.ALREADY_RECEIVING:
        messages.info(request, f"You already get new-report emails at {email}.")
    else:
        # The same answer whatever the address's state, so it reveals nothing.
        return redirect("newsletter:check_inbox", permanent=False)
    # Only ever a logged-in reader's own address: their preferences page says the rest.
    return redirect("reports:newsletter_preferences")


@require_safe
def check_inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "newsletter/check_inbox.html")


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    # The page the signup came from, carried in the link; only ever a path on this site.
    next_url = site_path(request.POST.get("next") or request.GET.get("next"))
    context = {"next_url": next_url}
    # GET only shows a button: mail scanners that open every link must not confirm.
    if request.method == "POST":
        subscriber = newsletter_confirm(token=token)
        if subscriber is not None:
            return render(
                request, "newsletter/confirmed.html", {**context, "subscriber": subscriber}
            )
    elif newsletter_subscriber_for_confirmation(token=token) is not None:
        return render(request, "newsletter/confirm.html", context)
    # A link opened again after it confirmed: the same answer as the first time, without the
    # address, and only for the link's own subscriber while they still receive the emails.
    if newsletter_confirmed_by_link(token=token):
        return render(request, "newsletter/confirmed.html", context)
    return render(request, "newsletter/link_invalid.html", {"kind": "confirm"}, status=404)


@csrf_exempt  # RFC 8058: mail providers POST without cookies or a CSRF token; the token decides.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("List-Unsubscribe") != ONE_CLICK.split("=", 1)[1]:
            return render(request, "newsletter/link_invalid.html", {"kind": "bad"}, status=400)
        if newsletter_unsubscribe(token=token):
            return render(request, "newsletter/unsubscribed.html")
    elif (subscriber := newsletter_subscriber_by_token(token=token)) is not None:
        return render(request, "newsletter/unsubscribe.html", {"subscriber": subscriber})
    return render(request, "newsletter/link_invalid.html", {"kind": "unsubscribe"}, status=404)
