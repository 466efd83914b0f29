"""Request types for the type checker, and the user of a request that must have one."""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """A request that passed `login_required` (or the admin's staff check): its user is a
    `User`, never `AnonymousUser`. Annotating such views with it tells mypy so."""

    user: User


def request_user(request: HttpRequest) -> User:
    """The logged-in user of a request that passed an authentication check (the admin's, in
    methods whose signature Django fixes as `HttpRequest`). Anything else is refused."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user
