"""Pricing, checkout, billing portal and the Stripe webhook: thin views over billing services."""

import json
import logging
from datetime import datetime
from urllib.parse import urlencode

import stripe
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.billing.attribution import checkout_source
from accounts.billing.cancellation import (
    membership_cancellable,
    membership_resumable,
    subscription_cancel_at_period_end,
    subscription_resume,
)
from accounts.billing.checkout import (
    checkout_session_create,
    portal_session_create,
    trial_days_for,
)
from accounts.billing.client import PLANS, BillingUnavailable, local_checkout_enabled, teams_enabled
from accounts.billing.forms import CancellationForm
from accounts.billing.local_checkout import (
    LOCAL_ACTIONS,
    local_checkout_complete,
    local_subscription_change,
)
from accounts.billing.sync import UnresolvedCustomer
from accounts.billing.webhooks import stripe_event_handle
from accounts.http import AuthenticatedHttpRequest
from accounts.membership import membership_for, membership_grants_access
from accounts.models import Membership
from accounts.newsletter.services import newsletter_subscriber_for_user
from publisher.errors import ApplicationError
from publisher.ids import parse_id
from publisher.metrics import webhook_failure
from publisher.site import site_url

logger = logging.getLogger(__name__)
NEXT_SESSION_KEY = "subscribe_next"
# How far a signature's timestamp may be from our clock, either way.
WEBHOOK_TOLERANCE_SECONDS = 300
# Stripe's events nest a dozen levels at most (an event, its object, expanded items, their
# prices); far deeper is not from Stripe, and walking it could exhaust Python's stack.
EVENT_MAX_DEPTH = 64


def _safe_next(request: HttpRequest, value: str | None) -> str:
    """`value` when it is a path on this site (no scheme, host or control characters)."""
    if not value or not value.startswith("/") or not value.isprintable():
        return ""
    if url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return ""


def _absolute(name: str) -> str:
    """Where Stripe sends the reader back: SITE_URL, whatever Host the request named."""
    return site_url(reverse(name))


@require_safe
def pricing(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.GET.get("next"))
    subscribed = membership_grants_access(membership_for(request.user))
    return render(
        request,
        "accounts/pricing.html",
        {
            "next_url": next_url,
            "subscribed": subscribed,
            "plans": [
                {"id": "monthly", "name": "Monthly", "price": settings.PRICE_MONTHLY_DISPLAY},
                {"id": "annual", "name": "Annual", "price": settings.PRICE_ANNUAL_DISPLAY},
            ],
            "local_checkout": local_checkout_enabled(),
            "teams": teams_enabled(),
            "seat_price": settings.PRICE_SEAT_DISPLAY,
        },
    )


# A GET carries the plan a reader chose before they had an account (the paywall's plan
# buttons keep it through signup and email verification): like the POST, it only sends the
# reader to pay for their own subscription.
@require_http_methods(["GET", "POST"])
@login_required
def checkout(request: AuthenticatedHttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    plan = data.get("plan", "")
    if plan not in PLANS:
        messages.error(request, "Choose the monthly or the annual plan.")
        return redirect("accounts:pricing")
    if membership_grants_access(membership_for(request.user)):
        messages.info(request, "You already have a subscription. Manage it here.")
        return redirect("accounts:account")
    request.session[NEXT_SESSION_KEY] = _safe_next(request, data.get("next"))
    # The report whose paywall the reader came from, if `from` names one (counted as a
    # checkout started there); anything else starts an unattributed checkout.
    source = checkout_source(data.get("from"))
    if local_checkout_enabled():
        query = urlencode({"plan": plan, **({"from": source} if source else {})})
        return redirect(f"{reverse('accounts:local_checkout')}?{query}")
    success = _absolute("accounts:checkout_success") + "?session_id={CHECKOUT_SESSION_ID}"
    try:
        url = checkout_session_create(
            user=request.user,
            plan=plan,
            success_url=success,
            cancel_url=_absolute("accounts:pricing"),
            source_report_id=source,
        )
    except BillingUnavailable:
        logger.exception("Checkout could not start for user %s", request.user.pk)
        messages.error(request, "We could not reach our payment provider. Please try again.")
        return redirect("accounts:pricing")
    return HttpResponseRedirect(url, status=303)


@require_safe
@login_required
@never_cache
def checkout_success(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Returning from Checkout proves nothing: the page waits for the webhook to grant access.
    subscribed = membership_grants_access(membership_for(request.user))
    next_url = request.session.get(NEXT_SESSION_KEY) or reverse("reports:home")
    return render(
        request,
        "accounts/checkout_success.html",
        {
            "subscribed": subscribed,
            "next_url": next_url,
            # Subscribing starts new-report emails (newsletter_enrol_member): say so, with
            # the one-click way out.
            "newsletter": newsletter_subscriber_for_user(user=request.user) if subscribed else None,
        },
    )


@require_POST
@login_required
def billing_portal(request: AuthenticatedHttpRequest) -> HttpResponse:
    if local_checkout_enabled():
        return redirect("accounts:local_portal")
    try:
        url = portal_session_create(
            holder=membership_for(request.user), return_url=_absolute("accounts:account")
        )
    except BillingUnavailable:
        logger.exception("Billing portal could not start for user %s", request.user.pk)
        messages.error(request, "Billing is not available right now. Please try again shortly.")
        return redirect("accounts:account")
    return HttpResponseRedirect(url, status=303)


def _day(moment: datetime | None) -> str:
    return date_format(timezone.localtime(moment), "M j, Y") if moment else ""


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def subscription_cancel(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The confirmation page for "Cancel subscription" (a form: no JavaScript needed)."""
    membership = membership_for(request.user)
    if membership is not None and membership_resumable(membership):
        messages.info(
            request, f"Your subscription is set to end on {_day(membership.access_ends_at)}."
        )
        return redirect("accounts:account")
    if membership is None or not membership_cancellable(membership):
        messages.info(request, "You have no running subscription to cancel.")
        return redirect("accounts:account")
    form = CancellationForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            ended = subscription_cancel_at_period_end(
                user=request.user,
                reason=form.cleaned_data["reason"],
                detail=form.cleaned_data["detail"],
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
            status = error.status
        except BillingUnavailable:
            logger.exception("Cancelling failed for user %s", request.user.pk)
            form.add_error(
                None, "We could not reach our payment provider, so nothing changed. Try again."
            )
            status = 503
        else:
            messages.success(
                request,
                f"Your subscription ends on {_day(ended.access_ends_at)}. You keep full "
                "access until then, and can resume it here before that day.",
            )
            return redirect("accounts:account")
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "accounts/subscription_cancel.html",
        {"membership": membership, "form": form, "ends_at": membership.current_period_end},
        status=status,
    )


@require_POST
@login_required
def subscription_resume_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        membership = subscription_resume(user=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    except BillingUnavailable:
        logger.exception("Resuming failed for user %s", request.user.pk)
        messages.error(
            request, "We could not reach our payment provider, so nothing changed. Try again."
        )
    else:
        renews = _day(membership.current_period_end)
        messages.success(
            request,
            f"Your subscription goes on: your trial ends on {renews}, and then it renews."
            if membership.is_trialing
            else f"Your subscription goes on: it renews on {renews}.",
        )
    return redirect("accounts:account")


@login_required
def local_checkout(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not local_checkout_enabled():
        raise Http404("The local checkout is off.")
    plan = request.GET.get("plan") or request.POST.get("plan") or ""
    if plan not in PLANS:
        messages.error(request, "Choose the monthly or the annual plan.")
        return redirect("accounts:pricing")
    if membership_grants_access(membership_for(request.user)):
        messages.info(request, "You already have a subscription. Manage it here.")
        return redirect("accounts:account")
    # Checked and counted by `checkout` on the way here; the local form only carries it on.
    source = parse_id(request.GET.get("from") or request.POST.get("from"))
    if request.method == "POST":
        local_checkout_complete(user=request.user, plan=plan, source_report_id=source)
        return redirect("accounts:checkout_success")
    membership = Membership.objects.filter(user=request.user).first()
    return render(
        request,
        "accounts/local_checkout.html",
        {
            "plan": plan,
            "source": source,
            "trial_days": trial_days_for(membership) if membership else settings.STRIPE_TRIAL_DAYS,
            "trial_requires_card": settings.STRIPE_TRIAL_REQUIRES_CARD,
        },
    )


@login_required
def local_portal(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not local_checkout_enabled():
        raise Http404("The local billing portal is off.")
    membership = membership_for(request.user)
    if membership is None or not membership.stripe_subscription_id:
        messages.info(request, "There is no subscription to manage yet.")
        return redirect("accounts:pricing")
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action not in LOCAL_ACTIONS:
            messages.error(request, "Unknown billing action.")
        else:
            local_subscription_change(user=request.user, action=action)
            messages.success(request, "Your subscription was updated.")
        return redirect("accounts:account")
    return render(request, "accounts/local_portal.html", {"membership": membership})


# Event times are seconds since 1970; anything outside these years is not from Stripe.
_EVENT_TIME_RANGE = range(946684800, 4102444800)  # 2000-01-01 to 2100-01-01


def _signature_verify(payload: bytes, header: str | None) -> None:
    """Stripe's signature check, plus a bound on timestamps from the future.

    The SDK only refuses signatures older than the tolerance; one dated hours ahead (a
    captured request replayed with a forged clock at signing, or a signer with a broken
    clock) would otherwise stay valid until that time plus the tolerance."""
    stripe.WebhookSignature.verify_header(
        payload.decode("utf-8"), header, settings.STRIPE_WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SECONDS
    )
    # Read the timestamp as the SDK did: the first `t=` item, which the signature covers.
    items = [item.split("=") for item in (header or "").split(",")]
    timestamp = int(next(item[1] for item in items if item[0] == "t"))
    if timestamp > timezone.now().timestamp() + WEBHOOK_TOLERANCE_SECONDS:
        raise stripe.SignatureVerificationError(
            "Timestamp is ahead of the tolerance zone", header, payload.decode("utf-8")
        )


def _nesting_too_deep(value: object) -> bool:
    """Whether `value` nests lists and dicts deeper than any Stripe event (walked without
    recursion, so the check itself cannot overflow the stack)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        if depth > EVENT_MAX_DEPTH:
            return True
        pending.extend((child, depth + 1) for child in item)
    return False


def _event_from(payload: bytes) -> dict:
    """The event in a verified payload, with the fields every handler reads checked."""
    try:
        event = json.loads(payload)
    except RecursionError:
        raise ValueError("nested too deeply to parse") from None
    if _nesting_too_deep(event):
        raise ValueError("nested too deeply")
    if not (
        isinstance(event, dict)
        and isinstance(event["id"], str)
        and event["id"]
        and isinstance(event["type"], str)
        and isinstance(event["created"], int)
        and event["created"] in _EVENT_TIME_RANGE
        and isinstance(event["data"], dict)
        and isinstance(event["data"]["object"], dict)
    ):
        raise ValueError("not a Stripe event")
    return event


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest) -> HttpResponse:
    payload = request.body
    try:
        _signature_verify(payload, request.headers.get("Stripe-Signature"))
        event = _event_from(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError):
        webhook_failure(provider="stripe", reason="signature")
        return HttpResponse("Invalid signature.", status=400, content_type="text/plain")
    except (ValueError, KeyError, TypeError):
        webhook_failure(provider="stripe", reason="payload")
        return HttpResponse("Malformed event.", status=400, content_type="text/plain")
    try:
        outcome = stripe_event_handle(event=event)
    except (KeyError, TypeError, AttributeError, ValueError):
        # Signed by Stripe but not shaped like the object its type names: nothing was
        # applied (the handler's transaction rolled back); say so rather than crash.
        logger.exception("Stripe event %s has an unexpected shape", event["id"])
        webhook_failure(provider="stripe", reason="payload")
        return HttpResponse("Malformed event object.", status=400, content_type="text/plain")
    except UnresolvedCustomer:
        logger.warning("Stripe event %s names an unknown customer; asking for a retry", event["id"])
        return HttpResponse("Customer not known yet.", status=503, content_type="text/plain")
    except BillingUnavailable:
        logger.exception("Stripe event %s could not be synced", event["id"])
        return HttpResponse("Stripe unavailable.", status=503, content_type="text/plain")
    return HttpResponse(outcome, content_type="text/plain")
