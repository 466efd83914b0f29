"""The reader's account page and account deletion."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache

from accounts.billing.client import BillingUnavailable, local_checkout_enabled
from accounts.billing.invoices import invoice_history_for
from accounts.billing.selectors import membership_overview
from accounts.forms import AccountDeleteForm, ProfileForm
from accounts.http import AuthenticatedHttpRequest
from accounts.membership import membership_for, membership_grants_access, seat_for
from accounts.newsletter.services import newsletter_subscriber_for_user
from accounts.users import user_delete


@login_required
@never_cache
def account(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Your details were saved.")
        return redirect("accounts:account")
    membership = membership_for(request.user)
    seat = seat_for(request.user)
    return render(
        request,
        "accounts/account.html",
        {
            "form": form,
            "membership": membership,
            "overview": membership_overview(membership=membership),
            "has_access": membership_grants_access(membership),
            "entitled": (
                request.user.is_staff
                or membership_grants_access(membership)
                or (seat is not None and membership_grants_access(seat.organisation))
            ),
            "can_manage_billing": bool(membership and membership.stripe_customer_id),
            "billing_history": invoice_history_for(membership=membership),
            "local_checkout": local_checkout_enabled(),
            "trial_requires_card": settings.STRIPE_TRIAL_REQUIRES_CARD,
            "seat": seat,
            "max_sessions": settings.MAX_SESSIONS_PER_USER,
            "newsletter": newsletter_subscriber_for_user(user=request.user),
        },
    )


@login_required
@never_cache
def account_delete(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            user_delete(user=request.user)
        except BillingUnavailable:
            messages.error(
                request,
                "We could not cancel your subscription with our payment provider, so your "
                "account was not deleted. Please try again in a few minutes.",
            )
            return redirect("accounts:account")
        logout(request)
        messages.success(request, "Your account was deleted.")
        return redirect("reports:home")
    return render(request, "accounts/account_delete.html", {"form": form})
