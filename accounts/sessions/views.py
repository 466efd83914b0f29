"""Your sessions: the devices signed in to the reader's account, each with a sign-out."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.http import AuthenticatedHttpRequest
from accounts.sessions.devices import device_summary
from accounts.sessions.selectors import session_list_for_user
from accounts.sessions.services import (
    session_adopt,
    session_sign_out,
    session_sign_out_others,
)


@login_required
@require_http_methods(["GET", "POST"])
def sessions(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        if request.POST.get("action") == "others":
            ended = session_sign_out_others(request=request, user=request.user)
            if ended:
                messages.success(
                    request, f"Signed out {ended} other device{'s' if ended != 1 else ''}."
                )
            else:
                messages.info(request, "No other device was signed in.")
            return redirect("accounts:sessions")
        raw = request.POST.get("session", "")
        session = (
            session_sign_out(request=request, user=request.user, session_id=int(raw))
            if raw.isascii() and raw.isdigit() and len(raw) < 19
            else None
        )
        if session is None:
            messages.error(request, "That device is no longer signed in, or it is this one.")
        else:
            messages.success(
                request, f"Signed out {device_summary(session.user_agent)} ({session.ip})."
            )
        return redirect("accounts:sessions")
    session_adopt(request=request, user=request.user)
    return render(
        request,
        "accounts/sessions.html",
        {
            "sessions": session_list_for_user(request=request, user=request.user),
            "max_sessions": settings.MAX_SESSIONS_PER_USER,
        },
    )
