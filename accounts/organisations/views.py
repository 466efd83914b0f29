"""Organisation licences: buying seats, the team page, and joining by invitation."""

import logging
from typing import cast
from urllib.parse import urlencode

from allauth.account.internal.decorators import login_not_required
from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.oauth2.views import OAuth2CallbackView
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.billing.checkout import portal_session_create
from accounts.billing.client import BillingUnavailable, local_checkout_enabled, teams_enabled
from accounts.billing.local_checkout import (
    LOCAL_INVOICE_ACTIONS,
    local_team_checkout_complete,
    local_team_invoice_change,
)
from accounts.billing.money import money_display
from accounts.http import AuthenticatedHttpRequest
from accounts.membership import invoice_access_ends_at, membership_grants_access
from accounts.models import Organisation
from accounts.organisations import services as organisations
from accounts.organisations.forms import InvoiceOrderForm
from accounts.organisations.invoicing import organisation_invoice_subscription_create
from accounts.organisations.pricing import (
    CURRENCY_SYMBOL,
    MAX_SEATS,
    min_seats,
    team_quote,
    team_seats_parse,
)
from accounts.organisations.sso import (
    SignedIDTokenAdapter,
    sso_authorization_origin,
    sso_provider_login_url,
)
from accounts.organisations.usage import EXPORT_MONTHS, IDLE_DAYS, PAGE_MONTHS, team_usage
from publisher.downloads import csv_download, csv_safe
from publisher.errors import ApplicationError
from publisher.ids import parse_id
from publisher.redirects import local_path
from publisher.site import site_url

logger = logging.getLogger(__name__)
REMOVALS_SHOWN = 50


def _pricing_teams() -> str:
    return f"{reverse('accounts:pricing')}#teams"


@require_POST
@login_required
def team_checkout(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Buying a team licence, in two steps: the order with its total, to confirm; then the
    purchase, through Stripe Checkout or, without Stripe keys, the local test checkout."""
    if not teams_enabled():
        raise Http404("Team licences are not offered.")
    try:
        seats = team_seats_parse(request.POST.get("seats"))
        name = organisations.organisation_purchase_check(
            owner=request.user, name=request.POST.get("name", "")
        )
        if request.POST.get("confirmed") != "yes":
            return render(
                request,
                "accounts/team_confirm.html",
                {
                    "name": name,
                    "quote": team_quote(seats=seats),
                    "local_checkout": local_checkout_enabled(),
                    "invoice_query": urlencode({"name": name, "seats": seats}),
                },
            )
        organisation = organisations.organisation_start(owner=request.user, name=name)
        if local_checkout_enabled():
            local_team_checkout_complete(organisation=organisation, buyer=request.user, seats=seats)
            messages.success(request, f"Test licence for {seats} seats is active (no payment).")
            return redirect("accounts:team")
        url = organisations.organisation_checkout_session_create(
            organisation=organisation,
            seats=seats,
            buyer=request.user,
            success_url=site_url(reverse("accounts:team")),
            cancel_url=site_url(_pricing_teams()),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(_pricing_teams())
    except BillingUnavailable:
        logger.exception("Team checkout could not start for user %s", request.user.pk)
        messages.error(request, "We could not reach our payment provider. Please try again.")
        return redirect(_pricing_teams())
    return HttpResponseRedirect(url, status=303)


def _invoice_initial(request: AuthenticatedHttpRequest) -> dict[str, object]:
    """The order as the buyer left it (the confirmation page's name and seats), or the
    lapsed licence an admin renews, and the buyer's address to bill."""
    seat = organisations.admin_seat(request.user)
    initial: dict[str, object] = {"billing_email": request.user.email}
    if seat is not None:
        initial.update(name=seat.organisation.name, seats=seat.organisation.seats or min_seats())
    initial.update({k: v for k, v in request.GET.items() if k in ("name", "seats")})
    return initial


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def team_invoice(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Buying or renewing a team licence on invoice: the details that go on it, then the
    subscription Stripe invoices (or the local test checkout's, without Stripe keys)."""
    if not teams_enabled():
        raise Http404("Team licences are not offered.")
    form = InvoiceOrderForm(request.POST if request.method == "POST" else None,
                            initial=_invoice_initial(request))  # fmt: skip
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                # One transaction: an order Stripe refuses leaves no organisation behind.
                with transaction.atomic():
                    organisation = organisations.organisation_start(
                        owner=request.user, name=form.cleaned_data["name"]
                    )
                    organisation = organisation_invoice_subscription_create(
                        organisation=organisation,
                        buyer=request.user,
                        seats=form.cleaned_data["seats"],
                        details=form.details(),
                    )
            except ApplicationError as error:
                form.add_error(None, error.message)
                status = error.status if error.status != 400 else 409
            except BillingUnavailable:
                logger.exception("Invoice order failed for user %s", request.user.pk)
                form.add_error(
                    None, "We could not reach our payment provider, so nothing was ordered. "
                    "Please try again.",
                )  # fmt: skip
                status = 503
            else:
                messages.success(request, _invoice_ordered(organisation, form))
                return redirect("accounts:team")
    return render(
        request,
        "accounts/team_invoice.html",
        {
            "form": form,
            "local_checkout": local_checkout_enabled(),
            "grace_days": settings.PAST_DUE_GRACE_DAYS,
        },
        status=status,
    )


def _invoice_ordered(organisation: Organisation, form: InvoiceOrderForm) -> str:
    email = form.cleaned_data["billing_email"]
    if organisation.invoice_status == "open" and organisation.invoice_due_at:
        # The local checkout records the invoice Stripe would send; nothing is emailed.
        sent = (
            "is recorded (a test: no email)"
            if local_checkout_enabled()
            else (f"is on its way to {email}")
        )
        return (
            f"Invoice {organisation.invoice_number} {sent}, due on "
            f"{date_format(timezone.localtime(organisation.invoice_due_at), 'M j, Y')}. "
            "The licence is open now."
        )
    return f"Your order is placed: Stripe sends the invoice to {email} shortly."


@login_required
@never_cache
def team(request: AuthenticatedHttpRequest) -> HttpResponse:
    seat = organisations.admin_seat(request.user)
    if seat is None:
        messages.info(request, "Only a team's admins can manage it.")
        return redirect("accounts:account")
    organisation = seat.organisation
    if request.method == "POST":
        return _team_action(request, organisation)
    usage = team_usage(organisation=organisation, months=PAGE_MONTHS)
    members = [row.member for row in usage.members]
    invitations = organisation.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
    return render(
        request,
        "accounts/team.html",
        {
            "organisation": organisation,
            "members": members,
            "usage": usage,
            "idle_days": IDLE_DAYS,
            "invitations": invitations,
            "networks": list(organisation.networks.all()),
            # Removed people stay out of joining by domain; the page offers to invite them back.
            "removals": organisation.removals.all()[:REMOVALS_SHOWN],
            "licence_active": membership_grants_access(organisation),
            "seats_free": max(organisation.seats - len(members), 0),
            "quote": team_quote(seats=organisation.seats),
            "seats_at_least": max(min_seats(), len(members)),
            "max_seats": MAX_SEATS,
            "min_seats": min_seats(),
            "currency": CURRENCY_SYMBOL,
            "local_checkout": local_checkout_enabled(),
            "invoice": _invoice_summary(organisation),
        },
    )


def _invoice_summary(organisation: Organisation) -> dict[str, object] | None:
    """The licence's invoice as the team page shows it: due (amount, due date, Stripe's
    page to pay it), overdue (the day access ends), paid, or written off."""
    if not organisation.pays_by_invoice or not organisation.invoice_status:
        return None
    ends_at = invoice_access_ends_at(organisation)
    amount = organisation.invoice_amount_remaining
    if amount is None:
        amount = organisation.invoice_amount_due
    currency = organisation.invoice_currency
    return {
        "number": organisation.invoice_number,
        "status": organisation.invoice_status,
        "amount": money_display(amount, currency) if amount is not None else "",
        "due_at": organisation.invoice_due_at,
        "overdue": organisation.invoice_status == "open"
        and organisation.invoice_due_at is not None
        and organisation.invoice_due_at <= timezone.now(),
        "access_ends_at": ends_at,
        "hosted_url": organisation.invoice_hosted_url,
    }


@login_required
@never_cache
@require_safe
def team_usage_csv(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The team's usage as a spreadsheet: each member's reads for the last EXPORT_MONTHS
    months. The team's admins only; anyone else finds nothing here."""
    seat = organisations.admin_seat(request.user)
    if seat is None:
        raise Http404("No team to export.")
    organisation = seat.organisation
    usage = team_usage(organisation=organisation, months=EXPORT_MONTHS)
    today = timezone.localdate().isoformat()
    name = slugify(organisation.name) or "team"
    response, writer = csv_download(f"{name}-usage-{today}.csv")
    writer.writerow(
        ["member", "email", "joined", "last activity"]
        + [f"reads {month:%Y-%m}" for month in usage.months]
    )
    for row in usage.members:
        user = row.member.user
        last = row.last_activity
        writer.writerow(
            [
                csv_safe(user.display_name),
                csv_safe(user.email),
                timezone.localdate(row.member.joined_at).isoformat(),
                timezone.localtime(last).strftime("%Y-%m-%d %H:%M") if last else "",
                *row.reads,
            ]
        )
    return response


def _team_action(request: AuthenticatedHttpRequest, organisation) -> HttpResponse:
    action = request.POST.get("action", "")
    admin = request.user
    try:
        if action == "invite":
            email = request.POST.get("email", "").strip()
            try:
                validate_email(email)
            except ValidationError:
                raise ApplicationError("Enter a valid email address.") from None
            organisations.invitation_create(
                organisation=organisation, email=email, invited_by=admin
            )
            messages.success(request, f"Invitation sent to {email.lower()}.")
        elif action in ("remove", "make_admin", "revoke"):
            target = parse_id(request.POST.get("id"))
            if target is None:
                raise ApplicationError("Choose someone first.")
            if action == "remove":
                organisations.member_remove(
                    organisation=organisation, admin=admin, member_id=target
                )
                messages.success(request, "Removed from the team: their access has ended.")
            elif action == "make_admin":
                organisations.member_make_admin(
                    organisation=organisation, admin=admin, member_id=target
                )
                messages.success(request, "They can now manage the team.")
            else:
                organisations.invitation_revoke(
                    organisation=organisation, admin=admin, invitation_id=target
                )
                messages.success(request, "Invitation withdrawn.")
        elif action == "domains":
            organisations.organisation_domains_update(
                organisation=organisation,
                admin=admin,
                domains=request.POST.get("domains", ""),
                auto_join=request.POST.get("auto_join") == "on",
            )
            messages.success(request, "Joining by email domain updated.")
        elif action == "seats":
            return _team_seats(request, organisation)
        elif action == "billing":
            return _team_billing(request, organisation)
        elif action in LOCAL_INVOICE_ACTIONS and local_checkout_enabled():
            if not organisation.invoice_id:
                raise ApplicationError("This licence has no invoice.")
            local_team_invoice_change(organisation=organisation, admin=admin, action=action)
            messages.success(request, "Test invoice updated (no payment is involved).")
        else:
            raise ApplicationError("Unknown action.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("accounts:team")


def _team_seats(request: AuthenticatedHttpRequest, organisation) -> HttpResponse:
    """Changing the seats: the new total to confirm, then the change (Stripe's quantity, or
    the local test checkout's). Errors go back to the team page as messages."""
    if request.POST.get("confirmed") != "yes":
        seats = organisations.organisation_seats_check(
            organisation=organisation, seats=request.POST.get("seats")
        )
        return render(
            request,
            "accounts/team_seats.html",
            {
                "organisation": organisation,
                "current": team_quote(seats=organisation.seats),
                "quote": team_quote(seats=seats),
                "local_checkout": local_checkout_enabled(),
            },
        )
    try:
        seats = organisations.organisation_seats_change(
            organisation=organisation, admin=request.user, seats=request.POST.get("seats")
        )
    except BillingUnavailable:
        logger.exception("Seat change failed for organisation %s", organisation.pk)
        raise ApplicationError(
            "We could not reach our payment provider; the seats did not change. Please try again."
        ) from None
    messages.success(request, f"The licence now has {seats} seats.")
    return redirect("accounts:team")


def _team_billing(request: HttpRequest, organisation) -> HttpResponse:
    if local_checkout_enabled():
        messages.info(request, "Cards and invoices are managed in Stripe's billing portal.")
        return redirect("accounts:team")
    try:
        url = portal_session_create(
            holder=organisation, return_url=site_url(reverse("accounts:team"))
        )
    except BillingUnavailable:
        logger.exception("Team billing portal failed for organisation %s", organisation.pk)
        messages.error(request, "Billing is not available right now. Please try again shortly.")
        return redirect("accounts:team")
    return HttpResponseRedirect(url, status=303)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def team_join(request: HttpRequest, token: str) -> HttpResponse:
    """Who invited the reader to which organisation. Without an account yet, the page leads
    to signup with the invited address filled in (and the way back here), or to login."""
    try:
        invitation = organisations.invitation_from_token(token)
    except ApplicationError as error:
        return render(request, "accounts/team_join.html", {"error": error.message}, status=400)
    if not request.user.is_authenticated:
        if request.method == "POST":
            return redirect_to_login(request.get_full_path())
        return render(
            request,
            "accounts/team_join.html",
            {"invitation": invitation, "signup_query": _signup_query(request, invitation)},
        )
    if request.method == "POST":
        try:
            organisations.invitation_accept(token=token, user=request.user)
        except ApplicationError as error:
            return render(
                request,
                "accounts/team_join.html",
                {"error": error.message, "invitation": invitation},
                status=409,
            )
        messages.success(request, f"Welcome to the {invitation.organisation.name} licence.")
        return redirect("reports:home")
    return render(request, "accounts/team_join.html", {"invitation": invitation})


def _signup_query(request: HttpRequest, invitation) -> str:
    """The signup link's query: the invited address (allauth fills the field with it) and
    this page to come back to; the signup form refuses another address for it."""
    return urlencode({"email": invitation.email, "next": request.path})


@never_cache
@require_http_methods(["GET", "HEAD"])
def team_sso_login(request: HttpRequest, slug: str) -> HttpResponse:
    """An organisation's own sign-in page: one button to its identity provider. The button
    posts to allauth's provider login (a sign-in is never started by a mere link)."""
    organisation = Organisation.objects.filter(slug=slug, sso_app__isnull=False).first()
    if organisation is None or organisation.sso_app is None:
        raise Http404("No organisation signs in here.")
    response = render(
        request,
        "accounts/team_sso_login.html",
        {
            "organisation": organisation,
            "provider_login_url": sso_provider_login_url(organisation),
            "next": local_path(request.GET.get("next")),
        },
    )
    # The button's POST is redirected to the identity provider: browsers hold a redirected
    # form submission to the page's form-action policy too.
    if origin := sso_authorization_origin(organisation):
        policy = cast(dict[str, list[str]], settings.SECURE_CSP)
        form_action = [*policy["form-action"], origin]
        response._csp_config = {**policy, "form-action": form_action}  # type: ignore[attr-defined]
    return response


@login_not_required
def sso_callback(request: HttpRequest, provider_id: str) -> HttpResponse:
    """allauth's OpenID Connect callback, with the ID token's signature always checked
    (accounts.organisations.sso.SignedIDTokenAdapter)."""
    try:
        view = OAuth2CallbackView.adapter_view(SignedIDTokenAdapter(request, provider_id))
        return view(request)
    except SocialApp.DoesNotExist:
        raise Http404("No such identity provider.") from None
