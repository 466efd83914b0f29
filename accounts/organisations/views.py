"""Organisation licences: buying seats, the team page, and joining by invitation."""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.billing.checkout import portal_session_create
from accounts.billing.client import BillingUnavailable, local_checkout_enabled, teams_enabled
from accounts.billing.local_checkout import local_team_checkout_complete
from accounts.http import AuthenticatedHttpRequest
from accounts.membership import membership_grants_access
from accounts.organisations import services as organisations
from publisher.errors import ApplicationError
from publisher.ids import parse_id
from publisher.site import site_url

logger = logging.getLogger(__name__)
REMOVALS_SHOWN = 50


@require_POST
@login_required
def team_checkout(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not teams_enabled():
        raise Http404("Team licences are not offered.")
    seats = parse_id(request.POST.get("seats"), max_digits=4)
    try:
        if seats is None:
            raise ApplicationError("Enter a number of seats.")
        if not 1 <= seats <= organisations.MAX_SEATS:
            raise ApplicationError(f"Choose between 1 and {organisations.MAX_SEATS} seats.")
        organisation = organisations.organisation_start(
            owner=request.user, name=request.POST.get("name", "")
        )
        if local_checkout_enabled():
            local_team_checkout_complete(organisation=organisation, buyer=request.user, seats=seats)
            messages.success(request, f"Test licence for {seats} seats is active (no payment).")
            return redirect("accounts:team")
        url = organisations.organisation_checkout_session_create(
            organisation=organisation,
            seats=seats,
            buyer=request.user,
            success_url=site_url(reverse("accounts:team")),
            cancel_url=site_url(reverse("accounts:pricing")),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(f"{reverse('accounts:pricing')}#teams")
    except BillingUnavailable:
        logger.exception("Team checkout could not start for user %s", request.user.pk)
        messages.error(request, "We could not reach our payment provider. Please try again.")
        return redirect(f"{reverse('accounts:pricing')}#teams")
    return HttpResponseRedirect(url, status=303)


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
    members = list(organisation.members.select_related("user"))
    invitations = organisation.invitations.filter(accepted_at__isnull=True, revoked_at__isnull=True)
    return render(
        request,
        "accounts/team.html",
        {
            "organisation": organisation,
            "members": members,
            "invitations": invitations,
            # Removed people stay out of joining by domain; the page offers to invite them back.
            "removals": organisation.removals.all()[:REMOVALS_SHOWN],
            "licence_active": membership_grants_access(organisation),
            "seats_free": max(organisation.seats - len(members), 0),
        },
    )


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
        elif action == "billing":
            return _team_billing(request, organisation)
        else:
            raise ApplicationError("Unknown action.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("accounts:team")


def _team_billing(request: HttpRequest, organisation) -> HttpResponse:
    if local_checkout_enabled():
        messages.info(request, "Seat changes go through Stripe's billing portal in production.")
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


@login_required
@never_cache
def team_join(request: AuthenticatedHttpRequest, token: str) -> HttpResponse:
    try:
        invitation = organisations.invitation_from_token(token)
    except ApplicationError as error:
        return render(request, "accounts/team_join.html", {"error": error.message}, status=400)
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
