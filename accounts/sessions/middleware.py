"""Per request: tell a device whose session we ended why it is signed out, and keep a
counted session's last-seen time and network current (accounts.sessions.services)."""

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts.sessions.services import (
    TRACKED_SESSION_KEY,
    EndReason,
    session_activity_record,
    session_adopt,
    session_ended_reason,
)
from publisher.redirects import local_path

NOTICES = {
    EndReason.CAP: (
        "You were signed out because your account signed in on another device: it can be "
        "signed in on {limit} devices at once. Log in again to continue here."
    ),
    EndReason.SIGNED_OUT: (
        "You were signed out from another of your devices. Log in again to continue here."
    ),
}


class SessionsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Without a session cookie there is nothing to track or explain, and the session
        # stays untouched (no `Vary: Cookie` on anonymous pages).
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return self.get_response(request)
        # The session (from the cache, with cached_db) says whether a sign-in of ours counted
        # it; the user is loaded only when something is to be recorded.
        if request.session.get(TRACKED_SESSION_KEY):
            session_activity_record(request=request)
            return self.get_response(request)
        if request.path == reverse("usersessions_list") and request.user.is_authenticated:
            # Your sessions always lists the device it is opened on.
            session_adopt(request=request, user=request.user)
            return self.get_response(request)
        # A cookie naming no stored session: one we may have ended.
        reason = session_ended_reason(request=request) if not request.session.session_key else None
        if reason is None:
            return self.get_response(request)
        messages.warning(request, NOTICES[reason].format(limit=settings.MAX_SESSIONS_PER_USER))
        login = reverse("account_login")
        if request.path == login:
            return self.get_response(request)
        target = local_path(request.get_full_path()) if request.method in ("GET", "HEAD") else ""
        return redirect(f"{login}?{urlencode({'next': target})}" if target else login)
