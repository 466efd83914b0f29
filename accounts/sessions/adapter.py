"""allauth.usersessions' adapter: every session it ends (Your sessions' "Sign out all other
devices") leaves the notice that tells the ended device why on its next request."""

from collections.abc import Iterable

from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from allauth.usersessions.models import UserSession

from accounts.sessions.services import EndReason, session_end


class UserSessionsAdapter(DefaultUserSessionsAdapter):
    def end_sessions(self, sessions: Iterable[UserSession]) -> None:
        for session in sessions:
            session_end(session=session, reason=EndReason.SIGNED_OUT)
