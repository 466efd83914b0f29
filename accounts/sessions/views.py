"""Signing out one device from Your sessions (allauth.usersessions' list, at
`usersessions_list`, whose own form signs out all the others)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from accounts.http import AuthenticatedHttpRequest
from accounts.sessions.devices import device_summary
from accounts.sessions.services import session_sign_out


@login_required
@require_POST
def session_sign_out_view(request: AuthenticatedHttpRequest) -> HttpResponse:
    raw = request.POST.get("session", "")
    session = (
        session_sign_out(request=request, user=request.user, session_id=int(raw))
        if raw.isascii() and raw.isdigit() and len(raw) < 19
        else None
    )
    if session is None:
        messages.error(request, "That device is no longer signed in, or it is this one.")
    else:
        device = device_summary(session.user_agent)
        messages.success(request, f"Signed out {device} ({session.ip}).")
    return redirect("usersessions_list")
