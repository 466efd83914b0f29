"""The admin's login form, with its own limit on failed attempts.

Staff accounts open the editor admin, so its password form gets a stricter limit than the
readers' login (allauth's): failures are counted per account and per client address in
the shared cache, and once a limit is reached the form refuses before checking the
password, so guessing the right one no longer helps. The client address is
`publisher.ratelimit.client_ip`, which honours ALLAUTH_TRUSTED_PROXY_COUNT behind nginx.
"""

import hashlib

from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError

from publisher.ratelimit import Limit, client_ip, limit_exceeded, limit_reached

LOCKED_MESSAGE = "Too many failed login attempts. Try again in {minutes} minutes."
ACCOUNT_LIMITS = [Limit(5, 15 * 60, LOCKED_MESSAGE.format(minutes=15))]
ADDRESS_LIMITS = [Limit(20, 60 * 60, LOCKED_MESSAGE.format(minutes=60))]


class RateLimitedAdminAuthenticationForm(AdminAuthenticationForm):
    def _keys(self) -> list[tuple[str, str, list[Limit]]]:
        username = (self.data.get("username") or "").strip().lower()
        account = hashlib.sha256(username.encode()).hexdigest()
        address = (client_ip(self.request) if self.request else None) or "unknown"
        return [
            ("admin-login-account", account, ACCOUNT_LIMITS),
            ("admin-login-address", address, ADDRESS_LIMITS),
        ]

    def clean(self):
        keys = self._keys()
        for scope, key, limits in keys:
            reached = limit_reached(scope, key, limits)
            if reached is not None:
                raise ValidationError(reached.message, code="rate_limited")
        try:
            return super().clean()
        except ValidationError:
            for scope, key, limits in keys:
                limit_exceeded(scope, key, limits)
            raise
